#!/bin/sh
# Threshold regression baselines: the committed baselines/bundled.csv
# passes unchanged code on seeds other than the recorded ones (a seed
# change is not a regression), and catches a planted threshold change
# (HOST_FAILURE_BACKEND_NUM_THRESHOLD=70 turns catastrophe protection off in
# the catastrophe scenario); the JUnit file of a check is valid and its
# failures carry the FAIL lines. After a change of the controller's
# behaviour on purpose, re-record with `make baseline`.
# CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-baseline-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

echo "baseline: the bundled baseline holds on new seeds (1001..1003)"
"$bin" baseline check baselines/bundled.csv --seeds 3 --quiet --work "$tmp/new" \
    --junit "$tmp/pass.xml" > "$tmp/pass.out" 2>&1
rc=$?
check "[ $rc -eq 0 ]" "the bundled baseline fails on new seeds (exit $rc; if the controller changed on purpose, run make baseline):
$(grep -v '^ok' "$tmp/pass.out")"

echo "baseline: HOST_FAILURE_BACKEND_NUM_THRESHOLD=70 is caught in the catastrophe scenario"
"$bin" baseline check baselines/bundled.csv --seeds 3 --quiet --work "$tmp/planted" \
    --set HOST_FAILURE_BACKEND_NUM_THRESHOLD=70 --junit "$tmp/fail.xml" > "$tmp/fail.out" 2>&1
rc=$?
check "[ $rc -eq 1 ]" "the planted threshold change was not caught (exit $rc)"
check "grep -q '^FAIL scenarios/catastrophe.json moves:' '$tmp/fail.out'" \
    "the catastrophe scenario's moves did not fail: $(grep catastrophe "$tmp/fail.out" | head -n 3)"
check "! grep '^FAIL' '$tmp/fail.out' | grep -qv catastrophe" \
    "a scenario the threshold does not affect failed: $(grep '^FAIL' "$tmp/fail.out" | grep -v catastrophe)"

echo "baseline: the JUnit files are valid, one case per metric, failures as on stdout"
for x in pass fail; do
    check "xmllint --noout --schema tests/junit.xsd '$tmp/$x.xml' 2> /dev/null" "$x.xml is not valid JUnit"
    check "[ \$(grep -c '<testcase' '$tmp/$x.xml') -eq \$(tail -n +2 baselines/bundled.csv | wc -l) ]" \
        "$x.xml has not one test case per baseline metric"
done
grep '^FAIL ' "$tmp/fail.out" | sed 's/^FAIL //' > "$tmp/fail-lines"
xmllint --xpath '//failure/@message' "$tmp/fail.xml" | sed 's/^ *message="//;s/"$//' |
    sed 's/&gt;/>/g;s/&lt;/</g;s/&quot;/"/g;s/&amp;/\&/g' > "$tmp/fail-messages"
check "[ -s '$tmp/fail-lines' ] && cmp -s '$tmp/fail-lines' '$tmp/fail-messages'" \
    "the JUnit failures' messages differ from the FAIL lines"

echo "baseline: record writes what check reads"
"$bin" baseline record --seeds 2 --quiet --work "$tmp/rec" --metrics moves,logins_failed \
    --out "$tmp/mine.csv" scenarios/catastrophe.json > /dev/null 2>&1
check "[ \$(tr -d '\r' < '$tmp/mine.csv' | head -n 1) = 'scenario,metric,n,mean,sd,seed_from' ] && [ \$(wc -l < '$tmp/mine.csv') -eq 3 ]" \
    "baseline record wrote an unexpected file: $(cat "$tmp/mine.csv" 2>/dev/null)"

echo "baseline: $checks checks, $failures failed"
[ $failures -eq 0 ]
