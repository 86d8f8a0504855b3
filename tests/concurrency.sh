#!/bin/sh
# Concurrent doveadm writers (issue 14, item 1): operators run doveadm from
# several shells against one GeoDB. Four writers make 200 load-factor
# updates each against one file. A trigger (created here with the sqlite3
# CLI, not by clustersim) logs every update that took effect and every value
# the stored clock took. Every command that exits 0 must have applied its
# change, none may be lost, and the clock never goes backwards. A command
# that cannot get the lock must fail (75) and say so, never succeed silently.
# CLUSTERSIM names the binary under test; WRITERS and UPDATES scale it.
set -u

bin=${CLUSTERSIM:-./clustersim}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
writers=${WRITERS:-4}
updates=${UPDATES:-200}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-concurrency-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() {
    echo "  FAIL: $*"
    failures=$((failures + 1))
}

echo "concurrency: $writers writers x $updates backend updates on one GeoDB"
if ! command -v sqlite3 > /dev/null 2>&1; then
    echo "  SKIPPED: the sqlite3 command line tool is not installed (scripts/install-deps installs it)"
    exit 0
fi

db="$tmp/geodb.sqlite"
"$bin" doveadm --geodb "$db" cluster site add DC1 > /dev/null &&
    "$bin" doveadm --geodb "$db" cluster backend add --site DC1 be1.dc1.example.com > /dev/null ||
    { echo "  FAIL: cannot set up the GeoDB"; exit 1; }
sqlite3 "$db" <<'SQL' || { echo "  FAIL: cannot add the triggers"; exit 1; }
CREATE TABLE applied (n INTEGER PRIMARY KEY, lf_ts INTEGER, lf INTEGER);
CREATE TRIGGER applied_lf AFTER UPDATE OF lf_ts ON backends WHEN NEW.lf_ts <> OLD.lf_ts
BEGIN INSERT INTO applied (lf_ts, lf) VALUES (NEW.lf_ts, NEW.load_factor); END;
CREATE TABLE clocks (n INTEGER PRIMARY KEY, clock INTEGER);
CREATE TRIGGER clock_update AFTER UPDATE ON meta WHEN NEW.key = 'clock_us'
BEGIN INSERT INTO clocks (clock) VALUES (CAST(NEW.value AS INTEGER)); END;
SQL
before=$(sqlite3 "$db" "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'clock_us'")

# One writer: its updates in turn, each command's exit code and stderr kept.
writer() {
    i=1
    while [ $i -le $updates ]; do
        "$bin" doveadm --geodb "$db" cluster backend update --load-factor $(((i * 7 + $1) % 101)) \
            be1.dc1.example.com > /dev/null 2> "$tmp/err.$1.$i"
        echo $? >> "$tmp/rc.$1"
        i=$((i + 1))
    done
}

w=1
while [ $w -le $writers ]; do
    writer $w &
    w=$((w + 1))
done
wait

total=$((writers * updates))
ok=$(cat "$tmp"/rc.* | grep -c '^0$')
busy=$(cat "$tmp"/rc.* | grep -c '^75$')
other=$((total - ok - busy))
applied=$(sqlite3 "$db" "SELECT count(*) FROM applied")
back=$(sqlite3 "$db" "SELECT count(*) FROM clocks a JOIN clocks b ON b.n = a.n + 1 WHERE b.clock <= a.clock")
first=$(sqlite3 "$db" "SELECT clock FROM clocks ORDER BY n LIMIT 1")
ts_back=$(sqlite3 "$db" "SELECT count(*) FROM applied a JOIN applied b ON b.n = a.n + 1 WHERE b.lf_ts <= a.lf_ts")
echo "  $ok of $total exited 0, $busy exited 75, $other otherwise; $applied applied"
[ "$other" -eq 0 ] || fail "$other commands exited with neither 0 nor 75"
[ "$applied" -eq "$ok" ] || fail "$ok commands exited 0 but $applied updates took effect"
[ "$back" -eq 0 ] || fail "the stored clock went backwards or stood still $back times"
[ "$ts_back" -eq 0 ] || fail "an applied update was older than the one before it $ts_back times"
[ "${first:-0}" -gt "$before" ] || fail "the first stored clock ($first) is not after the initial one ($before)"
# Under four writers the 5 s busy timeout is enough: nothing may fail.
[ "$busy" -eq 0 ] || fail "$busy commands could not get the lock within the busy timeout"
for rc_file in "$tmp"/rc.*; do
    w=${rc_file##*.}
    i=0
    while read -r rc; do
        i=$((i + 1))
        [ "$rc" -eq 75 ] || continue
        grep -Eqi 'locked|busy' "$tmp/err.$w.$i" ||
            fail "writer $w update $i exited 75 without saying the GeoDB was locked: $(head -1 "$tmp/err.$w.$i")"
    done < "$rc_file"
done
echo "concurrency: a writer that cannot get the lock fails and says so"
# Another process holds the write lock until told to let go: the command
# runs only once the lock is seen held, and the holder keeps it until the
# command has given up, so no clock decides the outcome.
mkfifo "$tmp/release"
(printf '.timeout 600000\nBEGIN IMMEDIATE;\n'; cat "$tmp/release"; printf 'COMMIT;\n') | sqlite3 "$db" &
holder=$!
i=0
while sqlite3 "$db" "PRAGMA busy_timeout = 0; BEGIN IMMEDIATE; ROLLBACK;" > /dev/null 2>&1 &&
    [ $i -lt 6000 ]; do
    sleep 0.1 # the holder has not taken the lock yet
    i=$((i + 1))
done
"$bin" doveadm --geodb "$db" cluster backend update --load-factor 1 be1.dc1.example.com \
    > /dev/null 2> "$tmp/locked.err"
rc=$?
echo > "$tmp/release"
wait $holder
[ $rc -eq 75 ] || fail "a command that could not get the lock exited $rc, not 75"
grep -q 'stayed locked by another command.*nothing was changed, retry' "$tmp/locked.err" ||
    fail "no clear message for a locked GeoDB: $(cat "$tmp/locked.err")"
after=$(sqlite3 "$db" "SELECT count(*) FROM applied")
[ "$after" -eq "$applied" ] || fail "the command that could not get the lock changed the file"

integrity=$(sqlite3 "$db" "PRAGMA integrity_check")
[ "$integrity" = ok ] || fail "integrity_check: $integrity"

echo "concurrency: $failures failed"
[ $failures -eq 0 ]
