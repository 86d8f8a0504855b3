#!/bin/sh
# `clustersim sweep`: a sweep over 2 settings x 2 values x 3 seeds whose
# runs.csv rows are the single runs' summary rows (and digests); the
# aggregate's 95% interval against a hand computation; a sweep killed
# midway resumes without redoing finished runs and ends as an uninterrupted
# one; part of a sweep runs on a second "host" through GNU parallel's
# --sshlogin and an sshd this test starts on 127.0.0.1; JUnit files are
# valid. CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-sweep-XXXXXX")
sshd_pid=""
cleanup() {
    [ -n "$sshd_pid" ] && kill "$sshd_pid" 2> /dev/null && wait "$sshd_pid" 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
checks=0

. tests/lib.sh

if ! command -v parallel > /dev/null 2>&1; then
    echo "sweep: GNU parallel is not installed (Debian package parallel): FAIL"
    exit 1
fi

scn=$(pwd)/scenarios/catastrophe.json
cat > "$tmp/plan.json" << EOF
{
  "scenario": "$scn",
  "axes": [
    {"key": "HOST_FAILURE_RATIO", "values": [0.05, 0.2]},
    {"key": "HOST_FAILURE_BACKEND_NUM_THRESHOLD", "values": [50, 70]}
  ],
  "seeds": [7, 8, 9],
  "set": ["users.count=2000"],
  "metrics": ["logins_failed", "moves", "imbalance_end"]
}
EOF

echo "sweep: 2 settings x 2 values x 3 seeds"
"$bin" sweep "$tmp/plan.json" --out "$tmp/a" --junit "$tmp/a.xml" > "$tmp/a.out" 2> "$tmp/a.err"
rc=$?
check "[ $rc -eq 0 ] || [ $rc -eq 1 ]" "the sweep exited $rc: $(cat "$tmp/a.err")"
check "[ \$(tr -d '\r' < '$tmp/a/runs.csv' | wc -l) -eq 13 ]" "runs.csv has not 12 rows"
check "[ \$(tr -d '\r' < '$tmp/a/aggregate.csv' | wc -l) -eq 13 ]" "aggregate.csv has not 4 cells x 3 metrics"
# report.html: a chart of every metric against every axis (2 axes x 3
# metrics), each cell's mean with its interval, nothing outside the page
check "[ \$(grep -o '<figure>' '$tmp/a/report.html' | wc -l) -eq 6 ]" "report.html has not 6 charts"
check "[ \$(grep -o '<circle' '$tmp/a/report.html' | wc -l) -eq 24 ]" "report.html has not 4 cells x 2 axes x 3 metrics points"
check "! grep -qE 'http:|src=|<link' '$tmp/a/report.html'" "report.html refers to something outside itself"
check "[ -d '$tmp/a/runs/HOST_FAILURE_RATIO=0.2,HOST_FAILURE_BACKEND_NUM_THRESHOLD=70/seed-9' ]" \
    "a run's directory is not named from its cell and seed"
check "! ls '$tmp/a/runs/'*/seed-7/*.sqlite > /dev/null 2>&1" "a sweep's run kept its GeoDB (not lean)"

echo "sweep: runs.csv rows are the single runs' summary rows and digests"
for cell in "0.05 50" "0.2 70" "0.05 70"; do
    set -- $cell
    "$bin" run "$scn" --seed 8 --lean --out "$tmp/single-$1-$2" --set users.count=2000 \
        --set HOST_FAILURE_RATIO=$1 --set HOST_FAILURE_BACKEND_NUM_THRESHOLD=$2 > "$tmp/single.out" 2>&1
    src=$?
    digest=$(sed -n 's/^digest: //p' "$tmp/single.out")
    summary=$(tr -d '\r' < "$tmp/single-$1-$2/summary.csv" | sed -n 2p)
    printf '%s,%s,"HOST_FAILURE_RATIO=%s,HOST_FAILURE_BACKEND_NUM_THRESHOLD=%s",8,%s,%s,%s\n' \
        "$1" "$2" "$1" "$2" "$src" "$digest" "$summary" > "$tmp/row"
    check "tr -d '\r' < '$tmp/a/runs.csv' | grep -qxF -f '$tmp/row'" \
        "the sweep's row of HOST_FAILURE_RATIO=$1, threshold $2, seed 8 is not the single run's: $(cat "$tmp/row")"
done

echo "sweep: the 95% interval of one cell, by hand"
# logins_failed of cell 0.2,50: the values from runs.csv (its cell field is
# quoted and holds commas: drop it first), then mean, sd and t(0.975, 2).
tr -d '\r' < "$tmp/a/runs.csv" | sed 's/"[^"]*"/CELL/' > "$tmp/runs.plain"
col=$(head -n 1 "$tmp/runs.plain" | tr ',' '\n' | grep -nx logins_failed | cut -d: -f1)
awk -F, -v c="$col" '$1 == "0.2" && $2 == "50" { print $c }' "$tmp/runs.plain" > "$tmp/values"
want=$(awk '{ x[NR] = $1; s += $1 } END {
    m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2; sd = sqrt(v / (NR - 1));
    h = 4.302652729911275 * sd / sqrt(NR); printf "%d %.4f %.4f %.4f %.4f", NR, m, sd, m - h, m + h }' "$tmp/values")
got=$(tr -d '\r' < "$tmp/a/aggregate.csv" | sed 's/"[^"]*"/CELL/' |
    awk -F, '$1 == "0.2" && $2 == "50" && $4 == "logins_failed" { printf "%d %.4f %.4f %.4f %.4f", $5, $6, $7, $8, $9 }')
check "[ '$want' = '$got' ] && [ \$(wc -l < '$tmp/values') -eq 3 ]" \
    "aggregate's n mean sd ci95 '$got' differ from the hand computation '$want'"

echo "sweep: cell names are safe directory names; a bad plan fails before anything runs"
printf '{"scenario": "%s", "seeds": [1], "set": ["users.count=500"],
 "axes": [{"key": "description", "values": ["a/b c", "../up"]}]}\n' "$scn" > "$tmp/names.json"
"$bin" sweep "$tmp/names.json" --out "$tmp/n" --quiet > "$tmp/n.out" 2>&1
ls "$tmp/n/runs" > "$tmp/n.cells" 2>&1
check "[ \$(wc -l < '$tmp/n.cells') -eq 2 ] && grep -q '^description=a_b_c~[0-9a-f]*$' '$tmp/n.cells' && grep -q '^description=.._up~[0-9a-f]*$' '$tmp/n.cells'" \
    "cell directories are not safe names: $(tr '\n' ' ' < "$tmp/n.cells")"
check "[ \$(find '$tmp/n/runs' -name summary.csv | wc -l) -eq 2 ]" "the runs of unusual cells did not complete"
echo '{"scenario": "x.json", "seeds": [1], "axis": []}' > "$tmp/bad.json"
"$bin" sweep "$tmp/bad.json" --out "$tmp/bad" > /dev/null 2> "$tmp/bad.err"
rc=$?
check "[ $rc -eq 2 ] && grep -q \"unknown key 'axis' in the plan\" '$tmp/bad.err'" "a plan's unknown key: $(cat "$tmp/bad.err")"
printf '{"scenario": "%s", "seeds": [1], "axes": [{"key": "sites.DC9.proxies", "values": [3]}]}\n' "$scn" > "$tmp/bad2.json"
"$bin" sweep "$tmp/bad2.json" --out "$tmp/bad2" > /dev/null 2> "$tmp/bad2.err"
rc=$?
check "[ $rc -eq 2 ] && grep -q -- '--set sites.DC9.proxies=3: no site DC9' '$tmp/bad2.err' && [ ! -d '$tmp/bad2/runs' ]" \
    "a plan's bad override did not fail once, before anything ran: $(cat "$tmp/bad2.err")"

# Found by fuzz_plan: 4 axes of 1000 values overflowed the int cell count
# (UBSan; the release build said "out of memory"), and 100000 seeds grew
# their array one seed at a time (minutes under ASan).
printf '{"scenario": "x.json", "seeds": [1], "axes": [%s]}\n' \
    "$(for k in a b c d; do printf '{"key": "%s", "range": {"from": 0, "to": 999, "step": 1}},' $k; done | sed 's/,$//')" \
    > "$tmp/huge.json"
"$bin" sweep "$tmp/huge.json" --out "$tmp/huge" > /dev/null 2> "$tmp/huge.err"
rc=$?
check "[ $rc -eq 2 ] && grep -q 'more than 1000000 runs' '$tmp/huge.err'" \
    "4 axes of 1000 values were not refused as too many runs: $(cat "$tmp/huge.err")"
echo '{"scenario": "x.json", "seeds": {"from": 0, "count": 100000}, "axes": [{"key": "k", "values": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]}]}' > "$tmp/seeds.json"
timeout 20 "$bin" sweep "$tmp/seeds.json" --out "$tmp/seeds" > /dev/null 2> "$tmp/seeds.err"
rc=$?
check "[ $rc -eq 2 ] && grep -q 'more than 1000000 runs' '$tmp/seeds.err'" \
    "100000 seeds x 11 values were not refused promptly (exit $rc): $(cat "$tmp/seeds.err")"

# Found by fuzz_plan: an axis refused after its first value leaked the
# values read so far (LeakSanitizer fails the ASan build's exit code).
echo '{"scenario": "x.json", "seeds": [1], "axes": [{"key": "k", "values": [1, null]}]}' > "$tmp/half.json"
"$bin" sweep "$tmp/half.json" --out "$tmp/half" > /dev/null 2> "$tmp/half.err"
rc=$?
check "[ $rc -eq 2 ] && grep -q 'axes\[0\].values\[1\]: expected a number' '$tmp/half.err'" \
    "a half-read axis: exit $rc: $(cat "$tmp/half.err")"

echo "sweep: JUnit and --help"
check "xmllint --noout --schema tests/junit.xsd '$tmp/a.xml' 2> /dev/null" "the sweep's JUnit file is not valid"
check "[ \$(grep -c '<testcase' '$tmp/a.xml') -eq 12 ]" "the sweep's JUnit has not one case per run"
for cmd in sweep baseline "baseline record" "baseline check" run; do
    check "'$bin' $cmd --help > '$tmp/help' 2>&1 && grep -q '^usage: clustersim' '$tmp/help'" \
        "clustersim $cmd --help does not print its usage and exit 0"
done

echo "sweep: a sweep killed midway resumes and ends as an uninterrupted one"
"$bin" sweep "$tmp/plan.json" --out "$tmp/b" --jobs 1 > "$tmp/b1.out" 2> "$tmp/b1.err" &
sweep_pid=$!
# Poll until two runs have finished, then kill. The bound (~10 min) is only
# a safety net: the condition, not the clock, ends the wait, so a loaded
# machine (or the sanitizer build) makes it slower, not failed.
i=0
while [ "$(ls "$tmp"/b/runs/*/*.out 2> /dev/null | wc -l)" -lt 2 ] && [ $i -lt 6000 ] &&
    kill -0 $sweep_pid 2> /dev/null; do
    sleep 0.1
    i=$((i + 1))
done
kill -TERM $sweep_pid 2> /dev/null
wait $sweep_pid
rc=$?
done_before=$(ls "$tmp"/b/runs/*/*.out 2> /dev/null | wc -l)
check "[ $rc -ne 0 ] && [ $done_before -ge 2 ] && [ $done_before -lt 12 ]" \
    "the sweep was not stopped midway (exit $rc, $done_before runs done)"
# Runs stopped by parallel may take a moment to exit (a safety bound of
# ~2 min, for a loaded machine).
i=0
while ps -eo args | grep -F "$tmp/b/" | grep -v grep > /dev/null && [ $i -lt 1200 ]; do
    sleep 0.1
    i=$((i + 1))
done
check "! ps -eo args | grep -F '$tmp/b/' | grep -v grep > /dev/null" \
    "the killed sweep left processes running: $(ps -eo pid,args | grep -F "$tmp/b/" | grep -v grep)"
for f in "$tmp"/b/runs/*/*.out; do
    [ -f "$f" ] && stat -c '%n %i %y' "$f"
done > "$tmp/b.before"
"$bin" sweep "$tmp/plan.json" --out "$tmp/b" > "$tmp/b2.out" 2> "$tmp/b2.err"
for f in $(cut -d' ' -f1 "$tmp/b.before"); do stat -c '%n %i %y' "$f"; done > "$tmp/b.after"
check "cmp -s '$tmp/b.before' '$tmp/b.after'" "the resumed sweep redid finished runs"
check "grep -q '($done_before resumed)' '$tmp/b2.out'" "the resumed sweep does not say it resumed $done_before runs"
check "cmp -s '$tmp/a/runs.csv' '$tmp/b/runs.csv' && cmp -s '$tmp/a/aggregate.csv' '$tmp/b/aggregate.csv'" \
    "the resumed sweep's runs.csv or aggregate.csv differ from the uninterrupted sweep's"
"$bin" sweep "$tmp/plan.json" --out "$tmp/b" > "$tmp/b3.out" 2>&1
check "grep -q '(12 resumed)' '$tmp/b3.out'" "a finished sweep rerun did not skip all 12 runs"
# A report that no longer matches its digest is redone.
one=$(ls -d "$tmp"/b/runs/*/seed-7 | head -n 1)
echo "tampered" >> "$one/summary.csv"
"$bin" sweep "$tmp/plan.json" --out "$tmp/b" > "$tmp/b4.out" 2>&1
check "grep -q '(11 resumed)' '$tmp/b4.out' && cmp -s '$tmp/a/runs.csv' '$tmp/b/runs.csv'" \
    "a run whose report fails its digest was not redone"

echo "sweep: part of a sweep on a second host through --sshlogin"
sshd=$(command -v sshd || echo /usr/sbin/sshd)
if [ "$(id -u)" -ne 0 ] || [ ! -x "$sshd" ] || ! command -v ssh-keygen > /dev/null 2>&1; then
    echo "  SKIP: cannot start sshd here (needs root and openssh-server)"
else
    s="$tmp/ssh"
    mkdir -p "$s" /run/sshd
    chmod 700 "$s"
    ssh-keygen -q -t ed25519 -N '' -f "$s/host_key" > /dev/null
    ssh-keygen -q -t ed25519 -N '' -f "$s/client_key" > /dev/null
    cp "$s/client_key.pub" "$s/authorized_keys"
    port=$((20000 + $$ % 20000))
    cat > "$s/sshd_config" << EOF
Port $port
ListenAddress 127.0.0.1
HostKey $s/host_key
AuthorizedKeysFile $s/authorized_keys
PidFile $s/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
StrictModes no
UsePAM no
LogLevel ERROR
EOF
    "$sshd" -D -e -f "$s/sshd_config" 2> "$s/sshd.log" &
    sshd_pid=$!
    login="ssh -p $port -i $s/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1"
    i=0
    until $login true 2> /dev/null || [ $i -ge 600 ] || ! kill -0 $sshd_pid 2> /dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    if ! $login true 2> "$s/ssh.err"; then
        echo "  SKIP: sshd did not start or let us in: $(cat "$s/sshd.log" "$s/ssh.err" | head -n 3)"
    else
        "$bin" sweep "$tmp/plan.json" --out "$tmp/c" --sshlogin ":" --sshlogin "1/$login" \
            > "$tmp/c.out" 2> "$tmp/c.err"
        remote=$(awk -F'\t' 'NR > 1 && $2 ~ /127\.0\.0\.1/' "$tmp/c/joblog.txt" | wc -l)
        echo "  $remote of 12 runs went through ssh to 127.0.0.1:$port"
        check "[ $remote -ge 1 ]" "no run went through the ssh host (joblog: $(cut -f2 "$tmp/c/joblog.txt" | sort | uniq -c | tr '\n' ' '))"
        check "cmp -s '$tmp/a/runs.csv' '$tmp/c/runs.csv'" \
            "the multi-host sweep's runs.csv differs from the local one: $(cat "$tmp/c.err" | head -n 5)"
    fi
    kill $sshd_pid 2> /dev/null
    wait $sshd_pid 2> /dev/null
    sshd_pid=""
    check "! kill -0 \$(cat '$s/sshd.pid' 2> /dev/null || echo 999999) 2> /dev/null" "sshd is still running"
fi

echo "sweep: $checks checks, $failures failed"
[ $failures -eq 0 ]
