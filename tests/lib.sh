# Shared by the end-to-end suites (sourced from the repository's root, after
# the suite has set failures=0 and checks=0): failure counting, a checked
# assertion, the rows of a CSV file without the CR of CRLF, and runs of a
# scenario with its second-core work on and off, compared. Not executable: scripts/run-tests runs only
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

# both_ways VAR SCENARIO OUT: SCENARIO run twice with --stats, the users
# bound in environment variable VAR at 0 (the work on its second thread
# whatever the size: OUT-thread) and at its largest (never: OUT-inline),
# output in OUT-thread.out and OUT-inline.out. $bin is the binary.
both_ways() {
    for how in thread inline; do
        case $how in thread) bound=0 ;; inline) bound=4294967295 ;; esac
        if ! env "$1=$bound" "$bin" run "$2" --out "$3-$how" --stats > "$3-$how.out" 2>&1; then
            fail "$(basename "$2" .json) with $1=$bound did not complete: $(tail -1 "$3-$how.out")"
        fi
    done
}
