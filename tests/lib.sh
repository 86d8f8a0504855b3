# Shared by the end-to-end suites (sourced from the repository's root, after
# the suite has set failures=0 and checks=0): failure counting, a checked
# assertion, the rows of a CSV file without the CR of CRLF, and the
# comparison of two reports. Not executable: scripts/run-tests runs only
# the suites.

fail() {
    echo "  FAIL: $*"
    failures=$((failures + 1))
}

# check CONDITION MESSAGE: CONDITION is evaluated by the shell; MESSAGE is
# printed as a failure when it does not hold.
check() {
    checks=$((checks + 1))
    if ! eval "$1"; then
        fail "$2"
    fi
}

rows() {
    tr -d '\r' < "$1"
}

# same_reports NAME A B: every file of report directory A but report.html
# (it names its own directory) is byte for byte the one in B, the GeoDB
# files included; at least 8 files are compared.
same_reports() {
    n=0
    for f in "$2"/*; do
        file=$(basename "$f")
        case $file in report.html) continue ;; esac
        n=$((n + 1))
        check "cmp -s '$f' '$3/$file'" "$1: $file differs between the two"
    done
    check "[ $n -ge 8 ]" "$1: only $n files compared"
}
