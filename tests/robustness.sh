#!/bin/sh
# Robustness tests (issue 14, "Nothing lost, nothing half-written"): run the
# binary as a user would under failures -- injected write errors, late
# failures, signals, hostile input -- and check that nothing that looks
# complete is left behind and that every failure is reported. Also checks
# that CI runs every stage. CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-robustness-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

fail() {
    echo "  FAIL: $*"
    failures=$((failures + 1))
}

check() {
    checks=$((checks + 1))
    if ! eval "$1"; then
        fail "$2"
    fi
}

echo "robustness: CI runs every stage and fails at the end"
ci="$tmp/ci"
mkdir -p "$ci/.ci" "$ci/scripts" "$ci/bin"
cp .ci/run "$ci/.ci/run"
printf '#!/bin/sh\nexit 0\n' > "$ci/scripts/install-deps"
# A make whose first stage fails: the sanitizer stage must still run.
printf '#!/bin/sh\necho "make $*" >> "%s/made"\n[ "$1" = test ] && exit 3\nexit 0\n' "$ci" > "$ci/bin/make"
chmod +x "$ci/.ci/run" "$ci/scripts/install-deps" "$ci/bin/make"
PATH="$ci/bin:$PATH" sh "$ci/.ci/run" > "$ci/out" 2>&1
check "[ $? -ne 0 ]" "CI passed although make test failed"
check "grep -q 'make SANITIZE=1 test' '$ci/made'" "CI stopped before the sanitizer stage after a failure"
check "grep -q 'FAILED' '$ci/out'" "CI does not report the failed stage"

# A small scenario: a few thousand report bytes in every CSV file, a run
# that takes milliseconds, so that every write() can be made to fail.
cat > "$tmp/small.json" <<'JSON'
{ "name": "small", "duration": "6h",
  "sites": [ { "name": "DC1", "backends": { "count": 4, "name": "be%d.example.com" } } ],
  "users": { "count": 2000 },
  "timeline": [ { "at": "end", "expect": { "users_min": 1 } } ] }
JSON

# The report files of a run, under their final names.
report_files() {
    ls "$1" 2> /dev/null | grep -E '\.(csv|sqlite)$'
}

# LeakSanitizer cannot run under ptrace: no leak check under strace.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
export ASAN_OPTIONS

echo "robustness: a failed write() never gives PASS"
if ! command -v strace > /dev/null 2>&1; then
    echo "  SKIPPED: strace is not installed (scripts/install-deps strace installs it)"
elif ! strace -qq -o /dev/null true 2> /dev/null; then
    echo "  SKIPPED: strace cannot trace here (ptrace not permitted)"
else
    # Every write() of the run (stdout and the CSV files; SQLite uses
    # pwrite64) fails in turn, once, with ENOSPC.
    "$bin" run "$tmp/small.json" --out "$tmp/w-ref" > "$tmp/w-ref.out" 2>&1
    nwrites=$(strace -f -qq -e trace=write -o "$tmp/w-trace" \
        "$bin" run "$tmp/small.json" --out "$tmp/w-count" > /dev/null 2>&1; grep -c '^[0-9]* *write(' "$tmp/w-trace")
    check "[ $nwrites -gt 20 ]" "only $nwrites writes counted"
    bad=""
    n=1
    while [ $n -le $nwrites ]; do
        out="$tmp/w$n"
        strace -f -qq -o /dev/null -e trace=write -e inject=write:error=ENOSPC:when=$n \
            "$bin" run "$tmp/small.json" --out "$out" > "$out.out" 2> "$out.err"
        rc=$?
        if [ $rc -ne 2 ]; then
            bad="$bad $n(exit $rc)"
        elif ! grep -Eq 'clustersim run: .*(\.csv|stdout).*(write|No space)' "$out.err"; then
            bad="$bad $n(message: $(head -c 200 "$out.err"))"
        elif [ -n "$(report_files "$out")" ]; then
            bad="$bad $n(left $(report_files "$out" | tr '\n' ' '))"
        fi
        n=$((n + 1))
    done
    checks=$((checks + 1))
    [ -z "$bad" ] || fail "runs with one failed write (write number: problem):$bad"
fi

echo "robustness: $checks checks, $failures failed"
[ $failures -eq 0 ]
