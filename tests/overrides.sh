#!/bin/sh
# `--set PATH=VALUE` overrides of scenario values: an override means the
# same as the edited file (same simulation), is checked like the file (a
# bad one exits 2 naming the override), is printed in the header and
# recorded in overrides.csv; a run without --set writes no overrides.csv.
# Also --lean (no GeoDB files, a digest of what is kept), --stdout and
# --junit of `clustersim run`. CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-overrides-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

scn=scenarios/catastrophe.json

echo "overrides: an override simulates what the edited file does"
sed -e 's/"count": 50000/"count": 4000/' -e 's/"duration": "3h"/"duration": "2h30m"/' \
    -e 's/"count": 10, /"count": 12, /' "$scn" > "$tmp/edited.json"
"$bin" run "$tmp/edited.json" --out "$tmp/edited" > "$tmp/edited.out" 2>&1
"$bin" run "$scn" --out "$tmp/over" --set users.count=4000 --set duration=2h30m \
    --set sites.DC1.backends.count=12 > "$tmp/over.out" 2>&1
for f in timeseries.csv sites.csv moves.csv events.csv summary.csv geodb.sqlite; do
    check "cmp -s '$tmp/edited/$f' '$tmp/over/$f'" "$f differs between the override and the edited file"
done
check "grep -q '^override users.count=4000$' '$tmp/over.out'" "the header does not list the override"
check "grep -q 'users=4000' '$tmp/over.out'" "the header's figures ignore the override"
check "[ -f '$tmp/over/overrides.csv' ] && [ ! -f '$tmp/edited/overrides.csv' ]" \
    "overrides.csv is missing, or written without overrides"
check "tr -d '\r' < '$tmp/over/overrides.csv' | grep -qx 'scenario,sites.DC1.backends.count,12'" \
    "overrides.csv does not record the override"

echo "overrides: a setting and a timeline time by path"
"$bin" run "$scn" --out "$tmp/set" --set HOST_FAILURE_RATIO=0.3 --set timeline.10.at=100m \
    --set settings.HOST_LOAD_BALANCE_MIN_SAMPLES=30 > "$tmp/set.out" 2>&1
check "grep -q '^param HOST_FAILURE_RATIO=0.3' '$tmp/set.out'" "the setting did not apply"
check "grep -q '^param HOST_LOAD_BALANCE_MIN_SAMPLES=30$' '$tmp/set.out'" "settings.NAME did not apply"
check "tr -d '\r' < '$tmp/set/overrides.csv' | grep -qx 'setting,HOST_FAILURE_RATIO,0.3'" \
    "overrides.csv does not record the setting"

echo "overrides: a bad override exits 2 and names itself"
# bad ARG EXPECTED-MESSAGE
bad() {
    "$bin" run "$scn" --out "$tmp/bad" --set "$1" > "$tmp/bad.out" 2> "$tmp/bad.err"
    rc=$?
    check "[ $rc -eq 2 ]" "--set $1 exited $rc, not 2"
    printf -- '--set %s: %s\n' "$1" "$2" > "$tmp/bad.want"
    check "grep -qF -f '$tmp/bad.want' '$tmp/bad.err'" "--set $1: message is not '$2': $(cat "$tmp/bad.err")"
}
bad sites.DC9.backends.count=60 "no site DC9"
bad timeline.99.at=40m "timeline has 12 entries (0..11)"
bad users.count=abc 'users.count: expected an integer 1..50000000, got "abc"'
bad users.cuont=5 "unknown key 'cuont' in users"
bad timeline.3.fault.crash=maybe "timeline[3].fault.crash: expected true or false"
bad workload.session_sigma=9 "workload.session_sigma: expected"
bad settings.HOST_FAILURE_RATIO=7 "settings.HOST_FAILURE_RATIO: expected a decimal"
check "[ ! -e '$tmp/bad' ]" "a rejected override left a report"

echo "overrides: --lean keeps no GeoDB file and its digest covers what it keeps"
"$bin" run "$scn" --out "$tmp/lean" --lean --stdout "$tmp/lean.out" > /dev/null 2>&1
check "[ ! -e '$tmp/lean/geodb.sqlite' ] && [ -f '$tmp/lean/summary.csv' ]" "--lean kept the GeoDB"
check "tail -n 1 '$tmp/lean.out' | grep -qx 'exit: 0'" "--stdout has no exit line"
check "[ ! -e '$tmp/lean.out.tmp' ]" "--stdout left its temporary file"
"$bin" run "$scn" --out "$tmp/lean2" --lean > "$tmp/lean2.out" 2>&1
check "[ \"\$(grep '^digest:' '$tmp/lean.out')\" = \"\$(grep '^digest:' '$tmp/lean2.out')\" ]" \
    "two lean runs have different digests"

echo "overrides: run --junit and --help"
"$bin" run "$scn" --out "$tmp/ju" --set HOST_FAILURE_BACKEND_NUM_THRESHOLD=70 --lean \
    --junit "$tmp/run.xml" > "$tmp/ju.out" 2>&1
check "[ -s '$tmp/run.xml' ]" "no JUnit file"
if command -v xmllint > /dev/null 2>&1; then
    check "xmllint --noout --schema tests/junit.xsd '$tmp/run.xml' 2> '$tmp/xsd.err'" \
        "run's JUnit is not valid: $(cat "$tmp/xsd.err" 2>/dev/null)"
fi
n=$(grep -c '<testcase' "$tmp/run.xml")
e=$(grep '^result:' "$tmp/ju.out" | sed 's/.*(\([0-9]*\) expectations.*/\1/')
check "[ '$n' = '$e' ]" "JUnit has $n test cases for $e expectations"
if command -v xmllint > /dev/null 2>&1; then
    grep '^FAIL ' "$tmp/ju.out" | sed 's/^FAIL //' > "$tmp/fail-lines"
    xmllint --xpath '//failure/@message' "$tmp/run.xml" | sed 's/^ *message="//;s/"$//' |
        sed 's/&gt;/>/g;s/&lt;/</g;s/&quot;/"/g;s/&amp;/\&/g' > "$tmp/fail-messages"
    check "[ -s '$tmp/fail-lines' ] && cmp -s '$tmp/fail-lines' '$tmp/fail-messages'" \
        "the failures' messages differ from stdout's FAIL lines"
fi
check "'$bin' run --help | grep -q '^usage: clustersim run'" "run --help prints no usage"

echo "overrides: a second run into a directory being written is refused"
"$bin" run scenarios/baseline.json --out "$tmp/busy" > /dev/null 2>&1 &
first=$!
# Bounded by the first run's life: it ends, or its staging directory shows.
while [ ! -d "$tmp/.busy.tmp" ] && kill -0 $first 2> /dev/null; do :; done
"$bin" run "$scn" --out "$tmp/busy" > /dev/null 2> "$tmp/busy.err"
rc=$?
wait $first
rc1=$?
check "[ $rc1 -eq 0 ] && [ -f '$tmp/busy/summary.csv' ]" "the first run did not finish (exit $rc1)"
if [ $rc -ne 0 ] || grep -q . "$tmp/busy.err"; then
    check "[ $rc -eq 2 ] && grep -q 'another clustersim run is writing a report into this directory' '$tmp/busy.err'" \
        "the second run was not refused clearly (exit $rc): $(cat "$tmp/busy.err")"
else
    echo "  (the first run finished before the second started: nothing to check)"
fi

echo "overrides: $checks checks, $failures failed"
[ $failures -eq 0 ]
