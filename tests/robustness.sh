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

echo "robustness: $checks checks, $failures failed"
[ $failures -eq 0 ]
