#!/bin/sh
# End-to-end scenario tests: run the simulator as a user would and check
# what it writes. Every bundled scenario must pass its own expectations; a
# rerun must be byte-identical; the CSV files must have the documented
# shape; bad input must exit 2 with a position, a failed expectation exit 1
# with a replay command; a killed run must not leave a report that looks
# complete. CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-scenarios-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

echo "scenarios: every bundled scenario passes its expectations"
for s in scenarios/*.json; do
    name=$(basename "$s" .json)
    case $name in bench*) continue ;; esac
    if "$bin" run "$s" --out "$tmp/$name" > "$tmp/$name.out" 2>&1; then
        echo "  ok   $name: $(grep '^result:' "$tmp/$name.out")"
    else
        fail "$name exited $?"
        grep -E '^FAIL|^replay|clustersim' "$tmp/$name.out" | head -20
    fi
    checks=$((checks + 1))
done

echo "scenarios: the README's tour shows the digests the code prints"
# The digest line that follows the README's first line containing $1.
readme_digest() {
    awk -v cmd="$1" 'index($0, cmd) { found = 1 } found && /^digest: / { print $2; exit }' README.md
}
tour=$(readme_digest "./clustersim run scenarios/backend-outage.json")
got=$(grep '^digest:' "$tmp/backend-outage.out" | cut -d' ' -f2)
check "[ -n '$tour' ] && [ '$tour' = '$got' ]" "README.md shows backend-outage's digest as '$tour'; the run prints '$got'"
tour=$(readme_digest "--set PROXY_CHECK_FAILURES=10 --out reports/slow-checks")
got=$("$bin" run scenarios/backend-outage.json --set PROXY_CHECK_FAILURES=10 --out "$tmp/slow-checks" \
    2> /dev/null | grep '^digest:' | cut -d' ' -f2)
check "[ -n '$tour' ] && [ '$tour' = '$got' ]" "README.md shows the slow-checks digest as '$tour'; the run prints '$got'"

echo "scenarios: every counter an expectation reads equals the reports"
# Each bundled scenario runs again with expectations at the end that read
# the failure counters (cluster and every site); what they read must equal
# summary.csv and the sum of sites.csv's per-interval columns.
counter_metrics="logins logins_failed deliveries deliveries_failed"
for s in scenarios/*.json; do
    name=$(basename "$s" .json)
    case $name in bench*) continue ;; esac
    [ -f "$tmp/$name/summary.csv" ] || continue
    sites=$(rows "$tmp/$name/sites.csv" | awk -F, 'NR > 1 && !seen[$2]++ { print $2 }')
    extra='{ "at": "end", "expect": { "failed_users_min": 0, "moved_users_min": 0'
    for m in $counter_metrics; do extra="$extra, \"${m}_min\": 0"; done
    extra="$extra } },"
    for site in $sites; do
        extra="$extra { \"at\": \"end\", \"expect\": { \"site\": \"$site\""
        for m in $counter_metrics; do extra="$extra, \"${m}_min\": 0"; done
        extra="$extra } },"
    done
    sed "s/\"timeline\": \[/\"timeline\": [ $extra/" "$s" > "$tmp/$name-counters.json"
    "$bin" run "$tmp/$name-counters.json" --out "$tmp/$name-counters" > /dev/null 2>&1
    rows "$tmp/$name-counters/summary.csv" > "$tmp/c-summary"
    rows "$tmp/$name-counters/sites.csv" > "$tmp/c-sites"
    rows "$tmp/$name-counters/expectations.csv" > "$tmp/c-expect"
    # "subject metric value" from each report, then compared line by line
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { n = split("logins logins_failed deliveries deliveries_failed failed_users moved_users", m, " ")
          for (k = 1; k <= n; k++) print "cluster", m[k], $col[m[k]] }' "$tmp/c-summary" > "$tmp/c-want"
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { for (k in col) if (k ~ /^(logins|logins_failed|deliveries|deliveries_failed)$/) sum[$2 " " k] += $col[k] }
        END { for (key in sum) print "site " key, sum[key] }' "$tmp/c-sites" >> "$tmp/c-want"
    awk -F, 'NR > 1 && $4 !~ /\// { sub(/^site /, "site ", $3); print $3, $4, $6 }' "$tmp/c-expect" |
        sort -u > "$tmp/c-got"
    sort -u "$tmp/c-want" > "$tmp/c-want.sorted"
    missing=$(comm -23 "$tmp/c-want.sorted" "$tmp/c-got" | head -3 | tr '\n' ';')
    checks=$((checks + 1))
    if [ -n "$missing" ] || [ ! -s "$tmp/c-got" ]; then
        fail "$name: an expectation counter differs from the reports: $missing"
    fi
done

echo "scenarios: no digest depends on the order SQLite returns unordered rows in"
# CLUSTERSIM_REVERSE_UNORDERED=1 (for tests only) turns on SQLite's
# reverse_unordered_selects: every query or INSERT ... SELECT without an
# ORDER BY then sees its rows the other way round.
for s in scenarios/*.json; do
    name=$(basename "$s" .json)
    case $name in bench*) continue ;; esac
    CLUSTERSIM_REVERSE_UNORDERED=1 "$bin" run "$s" --out "$tmp/rev-$name" > "$tmp/rev-$name.out" 2>&1
    d_fwd=$(grep '^digest:' "$tmp/$name.out")
    d_rev=$(grep '^digest:' "$tmp/rev-$name.out")
    check "[ -n \"$d_fwd\" ] && [ \"$d_fwd\" = \"$d_rev\" ]" \
        "$name: digest '$d_rev' with reversed unordered selects, '$d_fwd' without"
    rm -rf "$tmp/rev-$name"
done

echo "scenarios: a rerun with the same seed is byte-identical"
"$bin" run scenarios/baseline.json --out "$tmp/rerun" > "$tmp/rerun.out" 2>&1
for f in timeseries.csv sites.csv moves.csv events.csv expectations.csv summary.csv geodb.sqlite; do
    check "cmp -s '$tmp/baseline/$f' '$tmp/rerun/$f'" "baseline $f differs between runs"
done
d1=$(tail -n 1 "$tmp/baseline.out")
d2=$(tail -n 1 "$tmp/rerun.out")
check "[ \"$d1\" = \"$d2\" ]" "digest lines differ: $d1 / $d2"
check "echo '$d1' | grep -Eq '^digest: [0-9a-f]{32}$'" "the last line is not the digest: $d1"
"$bin" run scenarios/baseline.json --seed 43 --out "$tmp/seed43" > "$tmp/seed43.out" 2>&1
d3=$(tail -n 1 "$tmp/seed43.out")
check "[ \"$d1\" != \"$d3\" ]" "another seed gave the same digest"

echo "scenarios: the reports have the documented shape"
out="$tmp/baseline"
check "[ \"\$(rows $out/timeseries.csv | head -n 1)\" = 'time_s,site,backend,status,load_factor,users,sessions,resident,cpu,memory,metacache,logins_ok,logins_failed,deliveries_ok,deliveries_failed,redirects,moves_in,moves_out,health,failure_ratio,score,host_users,checks_online,checks_offline,check_failures' ]" \
    "timeseries.csv header"
# 10 backends x (one row per minute of 24 h, plus t=0)
check "[ \$(rows $out/timeseries.csv | wc -l) -eq \$((10 * 1441 + 1)) ]" "timeseries.csv row count"
check "[ \$(rows $out/timeseries.csv | awk -F, 'NF != 25' | wc -l) -eq 0 ]" "timeseries.csv field count"
cr=$(printf '\r')
check "[ \$(grep -c \"$cr\\$\" $out/timeseries.csv) -eq \$(wc -l < $out/timeseries.csv) ]" \
    "timeseries.csv lines end with CRLF"
check "rows $out/timeseries.csv | awk -F, 'NR > 1 && \$1 % 60 != 0 { exit 1 }'" \
    "timeseries.csv rows every 60 s"
check "rows $out/timeseries.csv | awk -F, 'NR > 1 && \$1 == 86400 { s += \$6 } END { exit s != 100000 }'" \
    "timeseries.csv users add up to the user count"
check "[ \"\$(rows $out/moves.csv | head -n 1)\" = 'time_s,user,reason,from_site,from_backend,to_site,to_backend,completion,requested_s' ]" \
    "moves.csv header"
check "[ \"\$(rows $out/sites.csv | head -n 1)\" = 'time_s,site,status,backends,online,users,sessions,desired_backends,imbalance,catastrophe,logins,logins_failed,deliveries,deliveries_failed' ]" \
    "sites.csv header"
check "[ \$(rows $out/sites.csv | wc -l) -eq 1442 ]" "sites.csv row count"
check "[ \"\$(rows $out/events.csv | head -n 1)\" = 'time_s,site,source,kind,subject,dryrun,detail' ]" \
    "events.csv header"
check "[ \"\$(rows $out/expectations.csv | head -n 1)\" = 'time_s,line,subject,assertion,expected,actual,result' ]" \
    "expectations.csv header"
check "[ \$(rows $out/expectations.csv | grep -c ',pass\$') -eq 11 ]" "expectations.csv outcomes"
check "[ \$(rows $out/summary.csv | wc -l) -eq 2 ]" "summary.csv is one row"
check "rows $out/summary.csv | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[\$i] = i } NR == 2 { exit !(\$c[\"users\"] == 100000 && \$c[\"logins\"] > 0 && \$c[\"expectations_failed\"] == 0) }'" \
    "summary.csv figures"
check "[ \"\$(sqlite3 $out/geodb.sqlite 'SELECT count(*) FROM users_v WHERE route_ts > del_ts')\" = 100000 ]" \
    "the final GeoDB holds every user"
check "[ -z \"\$(ls -A $out | grep '^\\.')\" ]" "temporary files left in the report"
failover=$(rows "$tmp/backend-outage/moves.csv" | awk -F, '$3 == "failover"' | wc -l)
check "[ $failover -gt 1000 ]" "backend-outage moves.csv lists the failovers ($failover)"

echo "scenarios: multi-site replicas, partitions and merges"
sb="$tmp/split-brain"
check "[ \"\$(rows $sb/replicas.csv | head -n 1)\" = 'time_s,replica,partition_group,users,moving,stale_users,hinted_users,in_flight,unreachable_sites' ]" \
    "replicas.csv header"
# two replicas x (one row per minute of 4 h, plus t=0)
check "[ \$(rows $sb/replicas.csv | wc -l) -eq \$((2 * 241 + 1)) ]" "replicas.csv row count"
# The partition shows: DC2 in group 1 and DC1 unreachable from it, only in 1h..1h30m.
check "rows $sb/replicas.csv | awk -F, '\$2 == \"DC2\" { apart = \$3 == 1; inside = \$1 > 3600 && \$1 < 5400; if (apart != inside && \$1 != 3600 && \$1 != 5400) exit 1 }'" \
    "replicas.csv partition groups do not match the partition"
check "rows $sb/replicas.csv | awk -F, '\$2 == \"DC2\" && \$1 == 4800 { found = \$9 == \"DC1\" } END { exit !found }'" \
    "replicas.csv does not show DC1 unreachable from DC2 during the partition"
# Divergence grows while apart; the writes held back for the other side
# (hints) are all replayed within a minute of the heal.
check "rows $sb/replicas.csv | awk -F, 'NR > 1 && \$2 == \"DC1\" && \$1 == 5340 { d = \$6 } NR > 1 && \$1 >= 5460 && \$7 > 0 { late = 1 } END { exit !(d > 100 && !late) }'" \
    "replicas.csv: stale users do not rise while apart, or hints remain after the heal"
# Every replica holds the same users and topology at the end.
for q in 'SELECT username, site_id, backend_id, alt_backend_id, moving, route_ts, route_w, preferred_site_id FROM users_v ORDER BY username' \
         'SELECT * FROM sites ORDER BY id' 'SELECT * FROM backends ORDER BY id' \
         'SELECT * FROM user_moves ORDER BY id' 'SELECT * FROM site_reachability ORDER BY 1, 2'; do
    a=$(sqlite3 "$sb/geodb-DC1.sqlite" "$q" | cksum)
    b=$(sqlite3 "$sb/geodb-DC2.sqlite" "$q" | cksum)
    check "[ '$a' = '$b' ]" "the replicas differ at the end: $q"
done
check "[ \"\$(sqlite3 $sb/geodb-DC1.sqlite 'SELECT count(*) FROM users_v WHERE route_ts > del_ts AND backend_id IN (SELECT id FROM backends WHERE name_ts > del_ts)')\" = 40000 ]" \
    "split-brain: a user without a live backend in the merged GeoDB"
# With the default SITE_UNREACHABLE=fail nobody writes another site's
# users, so the merge relocates nobody; the price is failed accesses.
"$bin" run scenarios/split-brain.json --set SITE_UNREACHABLE=fail --out "$tmp/sb-fail" > "$tmp/sb-fail.out" 2>&1
summary_of() { # file column
    rows "$1" | awk -F, -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 2 { print $c[col] }'
}
check "[ \"\$(summary_of $tmp/sb-fail/summary.csv merge_relocations)\" = 0 ]" \
    "split-brain with SITE_UNREACHABLE=fail relocated users at the merge"
check "[ \$(summary_of $tmp/sb-fail/summary.csv unreachable_accesses) -gt 1000 ]" \
    "split-brain with SITE_UNREACHABLE=fail did not fail roaming accesses"
check "[ \$(summary_of $sb/summary.csv merge_relocations) -gt 0 ]" \
    "split-brain with failover relocated nobody (the scenario tests nothing)"
# balance-healthy's warm-up ends: HOST_LOAD_BALANCE_MIN_SAMPLES (240 at a
# 15 s scrape) is reached at 1h, so backends are scored from then on and its
# "no balancing move" expectation is about decisions taken, not skipped.
check "rows $tmp/balance-healthy/timeseries.csv | awk -F, 'NR > 1 && \$1 == 3540 && \$21 != \"\" { early = 1 } NR > 1 && \$1 == 3600 && \$21 != \"\" { n++ } END { exit early || n != 40 }'" \
    "balance-healthy: the 40 backends are not scored from 1h on (HOST_LOAD_BALANCE_MIN_SAMPLES unreached?)"
# A planned drain: nobody force-moved after the stop at 5h, nobody back.
check "[ \$(rows $tmp/planned-drain/moves.csv | awk -F, '\$3 == \"site_force_move\" && \$1 > 18000' | wc -l) -eq 0 ]" \
    "planned-drain: force-moves after the stop"
at5=$(rows "$tmp/planned-drain/sites.csv" | awk -F, '$1 == 18000 && $2 == "DC1" { print $6 }')
at8=$(rows "$tmp/planned-drain/sites.csv" | awk -F, '$1 == 28800 && $2 == "DC1" { print $6 }')
check "[ '$at5' = '$at8' ]" "planned-drain: DC1's users changed after the stop ($at5 -> $at8)"
check "[ \$(rows $tmp/planned-drain/moves.csv | awk -F, '\$3 == \"site_force_move\" && \$4 != \"DC1\"' | wc -l) -eq 0 ]" \
    "planned-drain: a force-move out of another site"
# A batch move: its row says done with as many users as moves.csv lists.
batch=$(rows "$tmp/site-evacuate/moves.csv" | awk -F, '$3 == "batch"' | wc -l)
for f in geodb-DC1.sqlite geodb-DC2.sqlite; do
    check "[ \"\$(sqlite3 $tmp/site-evacuate/$f \"SELECT state || ' ' || moved FROM user_moves WHERE kind = 'batch'\")\" = 'done $batch' ]" \
        "site-evacuate: the batch row in $f is not 'done $batch'"
done
check "[ \$(rows $tmp/site-evacuate/moves.csv | awk -F, '\$3 == \"batch\" && \$5 != \"be06.dc1.example.com\"' | wc -l) -eq 0 ]" \
    "site-evacuate: the batch moved users of another backend"

echo "scenarios: director mode"
dr="$tmp/director-rebalance"
check "[ \"\$(rows $dr/director.csv | head -n 1)\" = 'time_s,command,host,backend,tag,vhosts,state,users' ]" \
    "director.csv header"
ncmd=$(grep -c '"doveadm": "director' scenarios/director-rebalance.json)
check "[ \$(rows $dr/director.csv | wc -l) -eq \$((5 * $ncmd + 1)) ]" \
    "director.csv: not one row per host after each of the $ncmd director commands"
# The documented start: about 80/70/60/10/10 of 230 users; the end: 230 users
# and nobody off the ring's choice (expectations), each host within 30% of
# the mean (what hashing 230 users over 500 vhosts gives).
check "[ \$(rows $dr/director.csv | awk -F, '\$2 == \"director status\"' | wc -l) -eq 10 ]" \
    "director.csv: not two status tables of five hosts"
# The users column of the last status table, one figure per host.
final=$(rows "$dr/director.csv" | awk -F, '$2 == "director status" { if ($1 != t) { t = $1; s = "" } s = s " " $8 } END { print s }')
check "echo '$final' | awk '{ for (i = 1; i <= NF; i++) sum += \$i; mean = sum / NF; for (i = 1; i <= NF; i++) if (\$i < 0.7 * mean || \$i > 1.3 * mean) exit 1; exit !(NF == 5 && sum == 230) }'" \
    "director.csv: the final users per host ($final) are not 230 over 5 hosts each within 30% of the mean"
"$bin" run scenarios/director-rebalance.json --out "$tmp/dr2" > /dev/null 2>&1
for f in director.csv timeseries.csv moves.csv events.csv; do
    check "cmp -s '$dr/$f' '$tmp/dr2/$f'" "director mode: $f differs between runs"
done
# Adding a backend moves at most the users the new one wins (1/(n+1) of
# 20,000 = 1,818) in both modes; moves.csv says who moved.
for m in director palomar; do
    n=$(rows "$tmp/compare-$m/moves.csv" | awk -F, 'NR > 1 && $1 >= 7200 && $1 < 21600 && !seen[$2]++' | wc -l)
    check "[ $n -gt 500 ] && [ $n -le 2000 ]" "compare-$m: $n users moved after the new backend (expected 500..2000)"
done
check "[ \$(rows $tmp/compare-director/moves.csv | awk -F, 'NR > 1 && \$3 != \"director\"' | wc -l) -eq 0 ]" \
    "compare-director: a move of another reason than director"

echo "scenarios: exit codes and messages"
cat > "$tmp/bad.json" <<'EOF'
{ "name": "bad", "duration": "1h",
  "sites": [ { "name": "DC1", "backends": { "count": 2, "name": "be%d.example.com" } } ],
  "users": { "count": 10, "prefered": true } }
EOF
"$bin" run "$tmp/bad.json" --out "$tmp/bad" > "$tmp/bad.out" 2>&1
check "[ $? -eq 2 ]" "an unknown key does not exit 2"
check "grep -q 'bad.json:3:27: unknown key .prefered.' '$tmp/bad.out'" "no file:line:column for an unknown key"
check "[ ! -e '$tmp/bad' ]" "a rejected scenario created its report directory"
"$bin" run scenarios/baseline.json --set HOST_FAILURE_RATIO=lots --out "$tmp/set" > "$tmp/set.out" 2>&1
check "[ $? -eq 2 ]" "a bad --set does not exit 2"
check "grep -q 'HOST_FAILURE_RATIO' '$tmp/set.out'" "a bad --set is not named"
"$bin" run "$tmp/missing.json" > "$tmp/missing.out" 2>&1
check "[ $? -eq 2 ]" "a missing scenario does not exit 2"
cat > "$tmp/fails.json" <<'EOF'
{ "name": "fails", "duration": "10m",
  "sites": [ { "name": "DC1", "backends": { "count": 2, "name": "be%d.example.com" } } ],
  "users": { "count": 100 },
  "timeline": [ { "at": "end", "expect": { "users_max": 5 } } ] }
EOF
"$bin" run "$tmp/fails.json" --seed 5 --out "$tmp/fails" > "$tmp/fails.out" 2>&1
check "[ $? -eq 1 ]" "a failed expectation does not exit 1"
check "grep -q '^FAIL .*fails.json:4: at 600 s: cluster: users: expected <= 5, got 100' '$tmp/fails.out'" \
    "the failure is not printed with its line"
check "grep -q '^replay: clustersim run .*fails.json --seed 5' '$tmp/fails.out'" \
    "no replay command"
check "[ -f '$tmp/fails/expectations.csv' ]" "a failed run has no report"

echo "scenarios: a killed run leaves no report that looks complete"
# Killed once it has written its first samples, so mid-run whatever the
# machine's speed (bench runs for minutes after that); the loop only bounds
# the wait for that moment, and the exit status proves the kill landed.
"$bin" run scenarios/bench.json --out "$tmp/killed" > /dev/null 2>&1 &
pid=$!
started=0
i=0
while [ $i -lt 6000 ] && kill -0 $pid 2> /dev/null; do
    # The report is staged in .killed.tmp beside --out until it is complete.
    if [ -f "$tmp/.killed.tmp/timeseries.csv" ] &&
        [ "$(rows "$tmp/.killed.tmp/timeseries.csv" | wc -l)" -ge 2 ]; then
        started=1
        break
    fi
    sleep 0.1
    i=$((i + 1))
done
kill -9 $pid 2> /dev/null
wait $pid 2> /dev/null
status=$?
check "[ $started -eq 1 ]" "the run never wrote a sample to its staged timeseries.csv before the kill"
check "[ $status -eq 137 ]" "the run was not killed mid-run (exit status $status)"
for f in timeseries.csv moves.csv events.csv expectations.csv summary.csv replicas.csv \
         geodb-DC1.sqlite geodb-DC2.sqlite geodb-DC3.sqlite; do
    check "[ ! -e '$tmp/killed/$f' ]" "a killed run left $f under its final name"
done
check "[ ! -e '$tmp/killed' ]" "a killed run left its report directory"
"$bin" run scenarios/baseline.json --out "$tmp/killed" > /dev/null 2>&1
check "[ $? -eq 0 ] && [ ! -e '$tmp/.killed.tmp' ] && [ -f '$tmp/killed/summary.csv' ]" \
    "the next run into the killed run's directory did not clear its staging directory"

echo "scenarios: the settings table of docs/controller.md is the registry's"
"$bin" settings --markdown > "$tmp/settings.md"
sed -n '/<!-- settings:begin -->/,/<!-- settings:end -->/p' docs/controller.md | sed '1d;$d' > "$tmp/doc-settings.md"
check "[ -s '$tmp/doc-settings.md' ]" "docs/controller.md has no settings table between the settings markers"
check "cmp -s '$tmp/settings.md' '$tmp/doc-settings.md'" \
    "docs/controller.md's settings table differs from 'clustersim settings --markdown' (run scripts/update-settings-doc)"

echo "scenarios: $checks checks, $failures failed"
[ $failures -eq 0 ]
