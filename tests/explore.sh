#!/bin/sh
# `clustersim explore`: a small bounded exploration passes on this build and
# writes runs.csv and one replayable scenario per run; the same seed gives
# the same files whatever the job count; a run's file is redrawn from its
# seed alone (--one) and replays with `clustersim run` to the same digest;
# a failing run is shrunk (ddmin) to a smaller file that fails the same
# way; every run's file states the controller invariants and liveness it
# checks (docs/explore.md). CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-explore-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

echo "explore: 12 runs of seed 3 pass, runs.csv lists them"
"$bin" explore --runs 12 --seed 3 --jobs 2 --out "$tmp/a" > "$tmp/a.out" 2> "$tmp/a.err"
rc=$?
check "[ $rc -eq 0 ]" "explore exited $rc on this build: $(grep -A4 '^failure' "$tmp/a.out" | head -20)"
check "[ \"\$(rows '$tmp/a/runs.csv' | head -1)\" = 'seed,sites,backends,users,duration_s,kinds,entries,result,violated,at_s,minimal_entries' ]" \
    "runs.csv header"
check "[ \$(rows '$tmp/a/runs.csv' | wc -l) -eq 13 ]" "runs.csv has not 12 rows"
check "[ \$(rows '$tmp/a/runs.csv' | grep -c ',pass,') -eq 12 ]" "not every run passed"
check "[ \$(ls '$tmp/a/runs/'*.json | wc -l) -eq 12 ]" "not one scenario file per run"
check "head -1 '$tmp/a.out' | grep -q '^explore seed=3 runs=12$'" "the seed is not printed first"
check "grep -q '^  kind\\.' '$tmp/a.out' && grep -q '^  users=' '$tmp/a.out'" "the drawn parameters are not printed"
check "grep -q 'explore: 12/12 runs' '$tmp/a.err'" "no progress on stderr"
f=$(ls "$tmp"/a/runs/*.json | head -1)
for key in unusable_destination_moves_max catastrophe_mismatches_max catastrophe_evacuations_max \
    critical_batch_excess_max disabled_feature_actions_max logins_failed_recent_max \
    cool_time_violations_max lost_users_max; do
    check "grep -q '\"$key\": 0' '$f'" "$(basename "$f") does not check $key"
done
check "grep -q '^  geodb.replication_delay_ms=' '$tmp/a.out' && grep -q '^  site.DC1.clock_skew_ms=' '$tmp/a.out' && grep -q '^  workload.logins_per_user_day=' '$tmp/a.out'" \
    "the drawn skew, replication delay and load level are not printed"

# Every fault kind appears in the 12 runs' files (swarm: each run enables
# about half of them), the spikes and clock steps included.
check "cat '$tmp'/a/runs/*.json | grep -q '\"spike\":{\"load\"'" "no run drew a load spike"
check "cat '$tmp'/a/runs/*.json | grep -q '\"spike\":{\"replication_delay\"'" "no run drew a replication delay spike"
check "cat '$tmp'/a/runs/*.json | grep -q '\"fault\":{\"site\":\"DC[0-9]*\",\"clock_skew\"'" "no run drew a clock step"

echo "explore: a bounded exploration of ${EXPLORE_RUNS:=200} runs (seed 5) passes on this build"
"$bin" explore --runs "$EXPLORE_RUNS" --seed 5 --jobs 2 --out "$tmp/big" > "$tmp/big.out" 2> "$tmp/big.err"
rc=$?
check "[ $rc -eq 0 ]" "explore of $EXPLORE_RUNS runs exited $rc: $(grep -A4 '^failure' "$tmp/big.out" | head -20)"
check "[ \$(rows '$tmp/big/runs.csv' | grep -c ',pass,') -eq $EXPLORE_RUNS ]" "not every run passed"
tail -1 "$tmp/big.err"

echo "explore: the same seed gives the same files with one job"
"$bin" explore --runs 12 --seed 3 --jobs 1 --out "$tmp/b" > "$tmp/b.out" 2> /dev/null
check "cmp -s '$tmp/a/runs.csv' '$tmp/b/runs.csv'" "runs.csv differs between --jobs 2 and --jobs 1"
for f in "$tmp"/a/runs/*.json; do
    check "cmp -s '$f' '$tmp/b/runs/$(basename "$f")'" "$(basename "$f") differs between two explorations"
done
sed "s|$tmp/a|DIR|g" "$tmp/a.out" > "$tmp/a.norm"
sed "s|$tmp/b|DIR|g" "$tmp/b.out" > "$tmp/b.norm"
check "cmp -s '$tmp/a.norm' '$tmp/b.norm'" "what explore prints differs between two explorations"

echo "explore: a run is its seed: --one redraws it, clustersim run replays it"
seed=$(rows "$tmp/a/runs.csv" | sed -n 4p | cut -d, -f1)
"$bin" explore --one "$seed" --out "$tmp/c" > /dev/null 2>&1
check "cmp -s '$tmp/a/runs/$seed.json' '$tmp/c/runs/$seed.json'" "--one $seed draws another file"
"$bin" run "$tmp/a/runs/$seed.json" --out "$tmp/replay" --lean > "$tmp/replay.out" 2>&1
rc=$?
check "[ $rc -eq 0 ]" "clustersim run of run $seed's file exited $rc"
check "[ \"\$(grep '^digest:' '$tmp/replay.out')\" = \"\$(grep '^digest:' '$tmp/a/runs/$seed.out')\" ]" \
    "the replay's digest is not the run's"

echo "explore: a failing run is shrunk to a smaller file that fails the same way"
# A base whose users are not placed at t=0 fails 'every user has a
# location' whatever the schedule: ddmin must remove every entry.
cat > "$tmp/base.json" <<'JSON'
{ "name": "unplaced", "duration": "1h",
  "sites": [ { "name": "DC1", "backends": { "count": 4, "name": "be%02d.dc1.example.com" } } ],
  "users": { "count": 3000, "preplaced": false } }
JSON
"$bin" explore "$tmp/base.json" --runs 1 --seed 9 --out "$tmp/d" --shrink-runs 40 > "$tmp/d.out" 2>&1
rc=$?
check "[ $rc -eq 1 ]" "explore of a failing base exited $rc, not 1"
fseed=$(rows "$tmp/d/runs.csv" | sed -n 2p | cut -d, -f1)
check "rows '$tmp/d/runs.csv' | sed -n 2p | grep -q ',fail,cluster: users: expected == 3000,5400,0$'" \
    "runs.csv does not name the violated expectation and the minimal size: $(rows "$tmp/d/runs.csv" | sed -n 2p)"
check "[ -f '$tmp/d/failures/$fseed/original.json' ] && [ -f '$tmp/d/failures/$fseed/minimal.json' ]" \
    "failures/$fseed/ lacks original.json or minimal.json"
check "[ \$(wc -c < '$tmp/d/failures/$fseed/minimal.json') -lt \$(wc -c < '$tmp/d/failures/$fseed/original.json') ]" \
    "minimal.json is not smaller than original.json"
check "grep -q '^  minimal: 0 entries' '$tmp/d.out'" "the sizes are not reported"
"$bin" run "$tmp/d/failures/$fseed/minimal.json" --out "$tmp/min" --lean > "$tmp/min.out" 2>&1
check "grep -q 'cluster: users: expected == 3000' '$tmp/min.out'" "minimal.json does not fail the same way"

echo "explore: bad arguments exit 2"
"$bin" explore --runs 0 --out "$tmp/e" > /dev/null 2>&1
check "[ $? -eq 2 ]" "--runs 0 did not exit 2"
"$bin" explore --runs 2 > /dev/null 2>&1
check "[ $? -eq 2 ]" "no --out did not exit 2"

echo "explore: what explore found on main stays fixed (tests/explore-found/)"
for f in tests/explore-found/*.json; do
    "$bin" run "$f" --out "$tmp/found" --lean > "$tmp/found.out" 2>&1
    check "[ $? -eq 0 ]" "$f fails again: $(grep '^FAIL' "$tmp/found.out" | head -n 3)"
done

if [ "$failures" -ne 0 ]; then
    echo "explore: $failures of $checks checks FAILED"
    exit 1
fi
echo "explore: all $checks checks passed"
