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

. tests/lib.sh

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
check "grep -q 'make fuzz FUZZ_SECONDS=' '$ci/made'" "CI does not run the fuzz targets for a bounded time"

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
        elif ! grep -Eq 'clustersim run: .*(\.csv|\.html|stdout).*(write|No space)' "$out.err"; then
            bad="$bad $n(message: $(head -c 200 "$out.err"))"
        elif [ -n "$(report_files "$out")" ]; then
            bad="$bad $n(left $(report_files "$out" | tr '\n' ' '))"
        fi
        n=$((n + 1))
    done
    checks=$((checks + 1))
    [ -z "$bad" ] || fail "runs with one failed write (write number: problem):$bad"
fi

# limited_run_fails BLOCKS NAME PATTERN WHAT: $tmp/NAME.json run into
# $tmp/NAME-fail with files limited to BLOCKS 512-byte blocks (SIGXFSZ
# ignored: the write that passes the limit fails with EFBIG) must exit 2,
# say what failed (PATTERN, in $tmp/NAME-fail.out) and leave no report.
limited_run_fails() {
    (
        trap '' XFSZ
        ulimit -f "$1"
        exec "$bin" run "$tmp/$2.json" --out "$tmp/$2-fail"
    ) > "$tmp/$2-fail.out" 2>&1
    rc=$?
    check "[ $rc -eq 2 ]" "$4 gave exit $rc"
    check "grep -q '$3' '$tmp/$2-fail.out'" "$4 is not named: $(tail -1 "$tmp/$2-fail.out")"
    check "[ -z \"\$(report_files $tmp/$2-fail)\" ]" "$4 left $(report_files "$tmp/$2-fail")"
}

# Past its first 50,000 rows timeseries.csv is written by a second thread,
# which the write() counts above never reach (strace counts per thread).
# A file size limit (RLIMIT_FSIZE, SIGXFSZ ignored: write() fails with
# EFBIG) that timeseries.csv passes only after 60,000 rows fails a write
# of that thread: the run must fail naming the file and leave no report.
cat > "$tmp/rows.json" <<'JSON'
{ "name": "rows", "duration": "26h",
  "sites": [ { "name": "DC1", "backends": { "count": 40, "name": "be%02d.example.com" } } ],
  "users": { "count": 2000 } }
JSON
"$bin" run "$tmp/rows.json" --out "$tmp/rows-ref" > /dev/null 2>&1
rows=$(($(wc -l < "$tmp/rows-ref/timeseries.csv") - 1))
at=$(head -n 60001 "$tmp/rows-ref/timeseries.csv" | wc -c)
check "[ $rows -gt 60000 ]" "rows.json has only $rows timeseries rows"
limited_run_fails $((at / 512)) rows 'clustersim run: .*timeseries.csv: write failed' \
    "a failed write of the timeseries thread"

# The first replica's users are written by a second thread while the
# first places them: a GeoDB write failure there (the file size limit
# again, under the 20 MB the users need) fails the run, naming the file,
# and leaves no report.
cat > "$tmp/big.json" <<'JSON'
{ "name": "big", "duration": "10m",
  "sites": [ { "name": "DC1", "backends": { "count": 8, "name": "be%d.example.com" } } ],
  "users": { "count": 200000 } }
JSON
limited_run_fails 8192 big 'clustersim run: .*geodb.sqlite: .*I/O error' \
    "a failed GeoDB write of the initial users"

# A two-site scenario: its report has other files (geodb-DC1.sqlite,
# geodb-DC2.sqlite) than the small one's (geodb.sqlite).
cat > "$tmp/two.json" <<'JSON'
{ "name": "two", "duration": "1h",
  "sites": [ { "name": "DC1", "backends": { "count": 2, "name": "be%d.dc1.example.com" } },
             { "name": "DC2", "backends": { "count": 2, "name": "be%d.dc2.example.com" } } ],
  "users": { "count": 500 } }
JSON
# A run long enough to be interrupted (minutes; it is killed within seconds).
cat > "$tmp/long.json" <<'JSON'
{ "name": "long", "duration": "30d",
  "sites": [ { "name": "DC1", "backends": { "count": 8, "name": "be%d.example.com" } } ],
  "users": { "count": 50000 } }
JSON

# Everything in a directory, hidden files too, one line.
listing() {
    ls -A "$1" 2> /dev/null | tr '\n' ' '
}

echo "robustness: a failed run leaves nothing, a reused --out only the new report"
mkdir -p "$tmp/late/out/sites.csv"
"$bin" run "$tmp/small.json" --out "$tmp/late/out" > "$tmp/late.out" 2>&1
check "[ $? -eq 2 ]" "an --out holding a directory sites.csv does not exit 2"
check "grep -q 'clustersim run: .*sites.csv' '$tmp/late.out'" "the error does not name sites.csv"
check "[ \"\$(listing $tmp/late/out)\" = 'sites.csv ' ]" \
    "a failed run left files in --out: $(listing "$tmp/late/out")"
check "[ \"\$(listing $tmp/late)\" = 'out ' ]" "a failed run left files beside --out: $(listing "$tmp/late")"
"$bin" run "$tmp/small.json" --out "$tmp/fresh" > /dev/null 2>&1
"$bin" run "$tmp/two.json" --out "$tmp/reused/out" > /dev/null 2>&1
"$bin" run "$tmp/small.json" --out "$tmp/reused/out" > "$tmp/reused.out" 2>&1
check "[ $? -eq 0 ]" "a run into an earlier report's directory failed"
check "[ \"\$(listing $tmp/reused/out)\" = \"\$(listing $tmp/fresh)\" ]" \
    "a reused --out holds $(listing "$tmp/reused/out"), a fresh one $(listing "$tmp/fresh")"
check "[ \"\$(listing $tmp/reused)\" = 'out ' ]" "a run left files beside --out: $(listing "$tmp/reused")"
# report.html shows the replay command, which names --out: compared with
# the directory's name replaced.
sed "s|$tmp/reused/out|$tmp/fresh|g" "$tmp/reused/out/report.html" > "$tmp/reused.html"
check "cmp -s '$tmp/fresh/report.html' '$tmp/reused.html'" "reused --out: report.html differs from a fresh run's"
for f in $(ls "$tmp/fresh" | grep -v '^report.html$'); do
    check "cmp -s '$tmp/fresh/$f' '$tmp/reused/out/$f'" "reused --out: $f differs from a fresh run's"
done

if command -v strace > /dev/null 2>&1 && strace -qq -o /dev/null true 2> /dev/null; then
    # A write failure late in a run into an earlier report's directory: the
    # earlier report stays as it was.
    rm -rf "$tmp/keep"
    "$bin" run "$tmp/two.json" --out "$tmp/keep/out" > /dev/null 2>&1
    cp -r "$tmp/keep/out" "$tmp/keep-copy"
    strace -f -qq -o /dev/null -e trace=write -e inject=write:error=ENOSPC:when=$((nwrites - 3)) \
        "$bin" run "$tmp/small.json" --out "$tmp/keep/out" > /dev/null 2>&1
    check "[ $? -eq 2 ]" "a run with a late write failure does not exit 2"
    check "[ \"\$(listing $tmp/keep)\" = 'out ' ]" "a failed run left $(listing "$tmp/keep")"
    check "diff -r '$tmp/keep/out' '$tmp/keep-copy' > /dev/null" "a failed run changed the earlier report"
    # The other sites' GeoDB files are copies of the first, two at once
    # (copy_file_range): a failed copy names the lowest replica whose copy
    # failed, exits 2 and leaves no report.
    cat > "$tmp/three.json" <<'JSON'
{ "name": "three", "duration": "10m",
  "sites": [ { "name": "DC1", "backends": { "count": 2, "name": "be%d.dc1.example.com" } },
             { "name": "DC2", "backends": { "count": 2, "name": "be%d.dc2.example.com" } },
             { "name": "DC3", "backends": { "count": 2, "name": "be%d.dc3.example.com" } } ],
  "users": { "count": 500 } }
JSON
    rm -rf "$tmp/cp"
    strace -f -qq -o /dev/null -e trace=copy_file_range -e inject=copy_file_range:error=ENOSPC \
        "$bin" run "$tmp/three.json" --out "$tmp/cp/out" > "$tmp/cp.out" 2>&1
    check "[ $? -eq 2 ]" "a failed copy of a replica's file does not exit 2"
    check "grep -q 'cannot copy .*geodb-DC1.sqlite to .*geodb-DC2.sqlite: No space left' '$tmp/cp.out'" \
        "a failed copy is not named (the lowest replica): $(tail -1 "$tmp/cp.out")"
    check "[ -z \"\$(listing $tmp/cp)\" ]" "a failed copy left $(listing "$tmp/cp")"
    # Killed at each rename that puts the report in place: --out holds the
    # earlier report or nothing, never a mix; the next run cleans up.
    for k in 1 2 3; do
        rm -rf "$tmp/kr"
        "$bin" run "$tmp/two.json" --out "$tmp/kr/out" > /dev/null 2>&1
        strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
            -e inject=rename,renameat,renameat2:signal=KILL:when=$k \
            "$bin" run "$tmp/small.json" --out "$tmp/kr/out" > /dev/null 2>&1
        got=$(listing "$tmp/kr/out")
        check "[ -z '$got' ] || [ '$got' = \"\$(listing $tmp/keep-copy)\" ] || [ '$got' = \"\$(listing $tmp/fresh)\" ]" \
            "killed at rename $k: --out holds a mix: $got"
        "$bin" run "$tmp/small.json" --out "$tmp/kr/out" > /dev/null 2>&1
        check "[ \"\$(listing $tmp/kr)\" = 'out ' ]" "the run after one killed at rename $k left $(listing "$tmp/kr")"
    done
fi

echo "robustness: SIGTERM and SIGINT leave nothing behind"
# env --default-signal: a background job of a script starts with SIGINT
# ignored, and an ignored signal stays ignored.
for sig in TERM INT; do
    rm -rf "$tmp/sig"
    mkdir "$tmp/sig"
    env --default-signal="$sig" "$bin" run "$tmp/long.json" --out "$tmp/sig/out" > /dev/null 2>&1 &
    pid=$!
    i=0
    while [ -z "$(ls -A "$tmp/sig")" ] && [ $i -lt 6000 ] && kill -0 $pid 2> /dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
    sleep 1
    staged=$(du -sk "$tmp/sig" | cut -f1)
    kill -"$sig" $pid
    wait $pid 2> /dev/null
    rc=$?
    check "[ $rc -gt 128 ]" "SIG$sig: the run exited $rc, not by the signal"
    check "[ -z \"\$(listing $tmp/sig)\" ]" "SIG$sig left ${staged} KB: $(listing "$tmp/sig")"
done

echo "robustness: bounded input, contained output"
# A director state to ask.
"$bin" doveadm --geodb "$tmp/dir.sqlite" -o "director_mail_servers=10.0.0.1 10.0.0.2" \
    director up 10.0.0.1 > /dev/null 2>&1
printf 'alice\nbob\r\n\n' | "$bin" director lookup --geodb "$tmp/dir.sqlite" > "$tmp/lookup.out" 2>&1
check "[ $? -eq 0 ] && [ \$(grep -c '^alice,\|^bob,' '$tmp/lookup.out') -eq 2 ]" "director lookup of two users"
# /dev/zero is one endless line: the reader must give up, not grow (the
# ulimit turns unbounded growth into a failure instead of a swapping machine;
# not under AddressSanitizer, which reserves terabytes of address space).
vlimit="ulimit -v 1000000"
sh -c 'ulimit -v 1000000; "$0" version' "$bin" > /dev/null 2>&1 || vlimit=":"
($vlimit; timeout 20 "$bin" director lookup --geodb "$tmp/dir.sqlite" < /dev/zero) > "$tmp/zero.out" 2>&1
rc=$?
check "[ $rc -eq 64 ]" "director lookup < /dev/zero exited $rc, not 64"
check "grep -q 'Error: stdin line 1: longer than' '$tmp/zero.out'" "director lookup < /dev/zero: no clear error"
($vlimit; timeout 20 "$bin" director login --geodb "$tmp/dir.sqlite" < /dev/zero) > "$tmp/zero.out" 2>&1
rc=$?
check "[ $rc -eq 64 ]" "director login < /dev/zero exited $rc, not 64"
# Seeds: digits only, in range.
for seed in 18446744073709551616 ' 5' '+5' '-1' 0x 0x10000000000000000 5x ''; do
    "$bin" run "$tmp/small.json" --seed "$seed" --out "$tmp/seed" > "$tmp/seed.out" 2>&1
    rc=$?
    check "[ $rc -eq 2 ] && grep -q -- '--seed.*expected' '$tmp/seed.out'" "--seed '$seed' exited $rc without an error"
done
"$bin" run "$tmp/small.json" --seed 18446744073709551615 --out "$tmp/seed" > "$tmp/seed.out" 2>&1
check "grep -q '^seed=18446744073709551615$' '$tmp/seed.out'" "--seed 2^64-1 not accepted"
"$bin" run "$tmp/small.json" --seed 0x1f --out "$tmp/seed" > "$tmp/seed.out" 2>&1
check "grep -q '^seed=31$' '$tmp/seed.out'" "--seed 0x1f not accepted"
# Scenario names used as report directories under reports/ (no --out).
mkdir -p "$tmp/names/work"
for name in '..' '../../x' 'a/b' '.'; do
    sed "s|\"name\": \"small\"|\"name\": \"$name\"|" "$tmp/small.json" > "$tmp/names/s.json"
    (cd "$tmp/names/work" && "$bin" run ../s.json > ../out 2>&1)
    rc=$?
    check "[ $rc -eq 2 ] && grep -q 'scenario name' '$tmp/names/out'" "scenario name '$name' exited $rc without an error"
    check "[ -z \"\$(ls -A $tmp/names/work)\" ] && [ \"\$(listing $tmp/names)\" = 'out s.json work ' ]" \
        "scenario name '$name' wrote $(listing "$tmp/names") / $(listing "$tmp/names/work")"
done
# An --out longer than the paths clustersim keeps: an error, not a cut path.
long=$(printf '%0400d' 0 | tr 0 d)
"$bin" run "$tmp/small.json" --out "$tmp/longout/$long" > "$tmp/long.out" 2>&1
rc=$?
check "[ $rc -eq 2 ] && grep -q 'longer than' '$tmp/long.out'" "an --out of 400+ bytes exited $rc without an error"
check "[ ! -e '$tmp/longout' ]" "an --out of 400+ bytes created $(ls -R "$tmp/longout" 2> /dev/null | head -c 200)"

echo "robustness: a rejected doveadm write creates no GeoDB; reads leave no -wal/-shm"
mkdir -p "$tmp/dv"
cd "$tmp/dv" || exit 1
"$bin" doveadm --geodb new.sqlite cluster backend update --status offline be1.example.com > out 2>&1
rc=$?
check "[ $rc -eq 68 ]" "update of a missing backend in a new file exited $rc, not 68"
"$bin" doveadm --geodb new.sqlite cluster site add 'bad name!' > out 2>&1
rc=$?
check "[ $rc -eq 64 ]" "site add with a bad name in a new file exited $rc, not 64"
: > empty.sqlite
"$bin" doveadm --geodb empty.sqlite cluster backend update --status offline be1.example.com > out 2>&1
check "[ $? -eq 68 ] && [ ! -s empty.sqlite ]" "a rejected write on a 0-byte file made it $(wc -c < empty.sqlite) bytes"
echo bob | "$bin" director login --geodb login.sqlite -o director_mail_servers=bad > out 2>&1
check "[ $? -eq 64 ]" "director login with a bad director_mail_servers did not exit 64"
check "[ \"\$(listing .)\" = 'empty.sqlite out ' ]" "rejected writes left $(listing .)"
"$bin" doveadm --geodb new.sqlite cluster site add DC1 > out 2>&1
check "[ $? -eq 0 ] && [ -s new.sqlite ]" "site add in a new file did not create it"
"$bin" doveadm --geodb empty.sqlite cluster site add DC1 > out 2>&1
check "[ $? -eq 0 ] && [ -s empty.sqlite ]" "site add in a 0-byte file did not initialise it"
"$bin" doveadm --geodb new.sqlite cluster site list > out 2>&1
check "[ $? -eq 0 ] && grep -q DC1 out" "site list after site add"
"$bin" doveadm --geodb "$tmp/dir.sqlite" director status > out 2>&1
echo alice | "$bin" director lookup --geodb "$tmp/dir.sqlite" > out 2>&1
check "[ \"\$(listing .)\" = 'empty.sqlite new.sqlite out ' ]" "reads left $(listing .)"
check "[ -z \"\$(ls $tmp | grep 'sqlite-')\" ]" "reads left $(ls "$tmp" | grep 'sqlite-' | tr '\n' ' ')"
cd - > /dev/null || exit 1

echo "robustness: hostile GeoDB contents give errors, not aborts"
mkdir -p "$tmp/hg"
cd "$tmp/hg" || exit 1
"$bin" doveadm --geodb ok.sqlite -o 'director_mail_servers=10.0.0.1 10.0.0.2' director add 10.0.0.3 > out 2>&1 &&
    "$bin" doveadm --geodb ok.sqlite cluster site add DC1 > out 2>&1 &&
    "$bin" doveadm --geodb ok.sqlite cluster backend add --site DC1 be1.example.com > out 2>&1 &&
    "$bin" doveadm --geodb ok.sqlite cluster site add DC3 > out 2>&1 &&
    "$bin" doveadm --geodb ok.sqlite cluster user batch move site --count 5 DC1 DC3 > out 2>&1
echo alice | "$bin" director login --geodb ok.sqlite > out 2>&1
check "[ $? -eq 0 ]" "cannot set up the GeoDB for the hostile contents"
# Each damage: one SQL statement. Every command on the damaged file (a
# write, a read, a director login) must exit 75 with a message naming the
# damage, never abort, and leave the file as it was.
# With a third argument "writes", only the writing commands are refused.
hostile() {
    cp ok.sqlite bad.sqlite
    sqlite3 bad.sqlite "PRAGMA ignore_check_constraints = ON; $1"
    sum=$(cksum < bad.sqlite)
    cmds="cluster_site_add_DC2 cluster_backend_list director_status_alice"
    [ "${3:-}" = writes ] && cmds="cluster_site_add_DC2"
    for cmd in $cmds cluster_backend_update_--load-factor_5_be1.example.com; do
        cmd=$(echo "$cmd" | tr _ ' ')
        "$bin" doveadm --geodb bad.sqlite $cmd > out 2>&1
        rc=$?
        check "[ $rc -eq 75 ] && grep -Eq '$2' out" \
            "'$1', then '$cmd': exit $rc, $(head -c 300 out)"
    done
    echo bob | "$bin" director login --geodb bad.sqlite > out 2>&1
    rc=$?
    check "[ $rc -eq 75 ] && grep -Eq '$2' out" "'$1', then director login: exit $rc, $(head -c 300 out)"
    check "[ \"$sum\" = \"\$(cksum < bad.sqlite)\" ]" "'$1': a refused command changed the file"
}
if command -v sqlite3 > /dev/null 2>&1; then
    damaged='damaged GeoDB'
    hostile "UPDATE meta SET value = '9223372036854775807' WHERE key = 'clock_us'" "$damaged: meta clock_us"
    hostile "UPDATE meta SET value = '-5' WHERE key = 'clock_us'" "$damaged: meta clock_us"
    hostile "UPDATE meta SET value = 'x' WHERE key = 'clock_us'" "$damaged: meta clock_us"
    hostile "UPDATE meta SET value = '4611686018427387904' WHERE key = 'clock_us'" 'clock .* is at its end' writes
    hostile "UPDATE sites SET name_ts = 9223372036854775807" "$damaged: sites .*name_ts"
    hostile "UPDATE sites SET del_ts = -1" "$damaged: sites .*del_ts"
    hostile "UPDATE backends SET load_factor = 1000" "$damaged: backends .*load_factor"
    hostile "UPDATE backends SET lf_ts = 'soon'" "$damaged: backends .*lf_ts"
    hostile "UPDATE user_moves SET count = 9223372036854775807" "$damaged: user_moves .*count"
    hostile "UPDATE director_settings SET clock_s = 9223372036854775807" "$damaged: director_settings .*clock_s"
    hostile "UPDATE director_settings SET user_expire_s = 9223372036854775807" "$damaged: director_settings .*user_expire_s"
    hostile "UPDATE director_users SET timestamp_s = 9223372036854775807" "$damaged: director_users .*timestamp_s"
    hostile "UPDATE director_hosts SET last_updown_change_s = -9223372036854775807" "$damaged: director_hosts"
    hostile "UPDATE director_tags SET timer_at_s = 9223372036854775807" "$damaged: director_tags"
    hostile "ALTER TABLE backends DROP COLUMN lf_w" "$damaged: table backends"
    # A new id after uuid_counter's last value.
    cp ok.sqlite bad.sqlite
    sqlite3 bad.sqlite "UPDATE meta SET value = '18446744073709551615' WHERE key = 'uuid_counter'"
    "$bin" doveadm --geodb bad.sqlite cluster site add DC2 > out 2>&1
    rc=$?
    check "[ $rc -eq 75 ] && grep -q '$damaged: meta uuid_counter' out" "uuid_counter at its end: exit $rc, $(head -c 300 out)"
else
    echo "  SKIPPED: the sqlite3 command line tool is not installed"
fi

echo "robustness: a GeoDB in a directory the user cannot write: the error says so"
# Root may write anywhere: run as nobody when setpriv can (and the binary is
# reachable by nobody), else skip.
ro="$tmp/ro"
mkdir -p "$ro"
cp ok.sqlite "$ro/geodb.sqlite"
chmod 755 "$tmp" "$ro"
chmod 644 "$ro/geodb.sqlite"
as_nobody="setpriv --reuid=nobody --regid=nogroup --clear-groups"
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv > /dev/null 2>&1 ||
    ! $as_nobody "$bin" version > /dev/null 2>&1; then
    echo "  SKIPPED: needs root, setpriv, and a binary that the user nobody may run"
else
    $as_nobody "$bin" doveadm --geodb "$ro/geodb.sqlite" cluster site list > out 2>&1
    rc=$?
    check "[ $rc -eq 75 ] && grep -q 'cannot read: its directory .* is not writable' out" \
        "read in an unwritable directory: exit $rc, $(head -c 300 out)"
    check "! grep -qi 'not a GeoDB' out" "a valid GeoDB in an unwritable directory was called not a GeoDB"
    $as_nobody "$bin" doveadm --geodb "$ro/geodb.sqlite" cluster site add DC2 > out 2>&1
    rc=$?
    check "[ $rc -eq 75 ] && grep -q 'the file is not writable' out" \
        "write of a read-only file: exit $rc, $(head -c 300 out)"
    chmod 666 "$ro/geodb.sqlite"
    $as_nobody "$bin" doveadm --geodb "$ro/geodb.sqlite" cluster site add DC2 > out 2>&1
    rc=$?
    check "[ $rc -eq 75 ] && grep -q 'cannot write: its directory .* is not writable' out" \
        "write in an unwritable directory: exit $rc, $(head -c 300 out)"
fi
chmod 700 "$tmp"
cd - > /dev/null || exit 1

echo "robustness: $checks checks, $failures failed"
[ $failures -eq 0 ]
