# Shared by the end-to-end suites (sourced from the repository's root, after
# the suite has set failures=0 and checks=0): failure counting, a checked
# assertion, and the rows of a CSV file without the CR of CRLF. Not
# executable: scripts/run-tests runs only the suites.

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
