#!/bin/sh
# Conformance of clustersim's director with the real Dovecot 2.3.19 director
# (tests/oracle/director-oracle.sh starts it standalone on loopback).
#
# Part 1, placement: for several host/vhost/tag/down configurations and
# username formats, thousands of usernames (mixed case, non-ASCII UTF-8, no
# domain, numeric) are looked up in both: the real director's USER-LOOKUP
# "hashed" field (the Hashed: line of `doveadm director status USER`)
# against `clustersim director lookup` after the same hosts were configured
# with `clustersim doveadm director add/update/down`.
#
# Part 2, behaviour over time: one timeline of logins and admin commands
# (update to 0, flush with and without -F, down/up, move, remove, add, tags,
# expiry with director_user_expire=10) runs on the real director in real
# time; every command's exit code, stdout and stderr and, after each step,
# `status`, `status USER` for every user and `map -f USERS` are recorded.
# The same timeline then runs on clustersim with -o director_now set to the
# second each real step ran in, and every recorded output must be identical.
# Nothing is normalised: doveadm runs with TZ=UTC, the zone clustersim
# prints dates in, and the virtual clock is the real epoch second. What
# differs is only the harness: the login helpers' output (the oracle's
# "user,host" lines against clustersim's CSV with a header and CRLF) is
# compared after removing the header and the CRs.
#
# Real steps start 0.25 s into their second (the director's expiry timers
# fire at the start of a second; a kick lasts 2.00-2.01 s, so nothing in the
# timeline touches a kicked user 2 s after its move). A step that does not
# finish within its second makes the run invalid (not a mismatch), and the
# timeline is run again, at most 5 times; the real side runs with a
# real-time priority so that other load does not make it late (p2_run_real).
#
# Needs root and dovecot-core. It fails when they are missing, so that CI
# cannot pass without running it; developers without them can set
# CLUSTERSIM_SKIP_ORACLE=1. Prints the match rate of each part and exits
# non-zero unless both are 100%. DIRCONF_PARTS="1" or "2" runs one part
# only, when working on the suite itself (then the other part counts 0/0).
set -u

here=$(cd "$(dirname "$0")" && pwd)
bin=${CLUSTERSIM:-$here/../clustersim}
case $bin in
    /*) ;;
    *) bin=$(pwd)/$bin ;;
esac
TZ=UTC
export TZ
say() {
    echo "director-conformance: $*"
}

if [ "${CLUSTERSIM_SKIP_ORACLE:-}" = 1 ]; then
    say "SKIP (CLUSTERSIM_SKIP_ORACLE=1): not compared with the real director"
    exit 0
fi
if ! command -v dovecot >/dev/null 2>&1 || ! command -v doveadm >/dev/null 2>&1; then
    say "FAIL: dovecot-core is not installed (apt-get install -y dovecot-core);" \
        "set CLUSTERSIM_SKIP_ORACLE=1 to skip this suite"
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        exec sudo -n env CLUSTERSIM="$bin" TZ=UTC sh "$0" "$@"
    fi
    say "FAIL: the real director needs root (run as root or with passwordless sudo);" \
        "set CLUSTERSIM_SKIP_ORACLE=1 to skip this suite"
    exit 1
fi
[ -x "$bin" ] || { say "FAIL: no clustersim binary at $bin"; exit 1; }

ORACLE_LIB=1
. "$here/oracle/director-oracle.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-dirconf-XXXXXX") || exit 1
cleanup() {
    oracle_stop
    [ -n "${DIRCONF_KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
started=$(date +%s)

# ---------------------------------------------------------------------------
# Part 1: placement

# About 2,400 usernames: mixed case, UTF-8 (2- to 4-byte), with and without
# a domain, dots and spaces, and a few numeric ones (USER-LOOKUP would take
# those as hashes, so the oracle hashes them through doveadm first).
gen_users() {
    awk 'BEGIN {
        n = split("alice Bob CHARLIE dörte JÜRGEN Åsa łukasz Ωmega пётр 用户 ゆうこ " \
                  "x_y first.last MiXeD 𝔘nicode o_brien", base, " ")
        m = split("@example.com|@Example.COM||@ex.com|@例子.中国|@Sub.Domain.ORG||" \
                  "@xn--bcher-kva.de|@a@b", dom, "|")
        for (i = 0; i < 2380; i++)
            printf "%s%d%s\n", base[i % n + 1], i, dom[int(i / n) % m + 1]
        for (i = 0; i < 12; i++)
            printf "two words %d@example.com\n", i
        for (i = 1; i <= 10; i++)
            printf "%d\n", i * 7919
        print "007"
        print "4294967295"
        print "4294967296"
    }'
}

p1_compared=0
p1_matched=0

# p1_compare NAME: compares $work/real.csv and $work/sim.csv line by line.
p1_compare() {
    tr -d '\r' < "$work/sim.raw" | sed 1d > "$work/sim.csv"
    n=$(wc -l < "$work/real.csv")
    same=$(paste -d '\n' "$work/real.csv" "$work/sim.csv" |
        awk 'NR % 2 == 1 { a = $0; next } a == $0 { s++ } END { print s + 0 }')
    if [ "$(wc -l < "$work/sim.csv")" -ne "$n" ]; then
        say "  $1: clustersim printed $(wc -l < "$work/sim.csv") lines for $n users"
    fi
    if [ "$same" -ne "$n" ]; then
        say "  $1: $same/$n placements match; first differences (real, clustersim):"
        diff "$work/real.csv" "$work/sim.csv" | head -6
    fi
    p1_compared=$((p1_compared + n))
    p1_matched=$((p1_matched + same))
}

# p1_config NAME HASH SERVERS TAGS -- COMMAND...: one real director and one
# GeoDB configured alike by the doveadm commands (";"-separated, run by
# both); then every user is looked up in every tag of TAGS (space-separated,
# "-" for the default tag).
p1_config() {
    name=$1 fmt=$2 servers=$3 tags=$4
    shift 5
    oracle_start "$servers" "$fmt" 900 || return 1
    db=$work/p1-$name.sqlite
    rm -f "$db"
    # `up` of a host that is up changes nothing; it creates the state.
    first=${servers%% *}
    first=${first%%@*}
    first=${first%%-*}
    set -- up "$first" ";" "$@"
    while [ $# -gt 0 ]; do
        cmd=""
        while [ $# -gt 0 ] && [ "$1" != ";" ]; do
            cmd="$cmd $1"
            shift
        done
        [ $# -gt 0 ] && shift
        # shellcheck disable=SC2086
        oracle_doveadm $cmd >/dev/null 2>&1
        # shellcheck disable=SC2086
        "$bin" doveadm --geodb "$db" -o "director_mail_servers=$servers" \
            -o "director_username_hash=$fmt" director $cmd >/dev/null 2>&1
    done
    for tag in $tags; do
        [ "$tag" = - ] && tag=
        oracle_lookup "$tag" < "$work/users.txt" > "$work/real.csv"
        "$bin" director lookup --geodb "$db" --tag "$tag" < "$work/users.txt" > "$work/sim.raw"
        p1_compare "$name/${tag:-(default tag)}"
    done
    oracle_stop
}

part1() {
    gen_users > "$work/users.txt"
    say "part 1: $(wc -l < "$work/users.txt") usernames per lookup"
    p1_config plain %Lu "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5" - --
    p1_config vhosts %Lu "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5" - -- \
        update 127.0.0.2 1 ";" update 127.0.0.3 250 ";" update 127.0.0.4 0 ";" \
        down 127.0.0.5 ";" add 127.0.0.6 1000 ";" add ::1 37 ";" add 127.0.0.100 3
    p1_config tags %Lu "127.0.0.2@a 127.0.0.3@a 127.0.0.4@b 127.0.0.5" "a b - nosuch" -- \
        add 127.0.0.6@b 20 ";" down 127.0.0.3 ";" add -t c 127.0.0.7 ";" down 127.0.0.7 ";" \
        add 127.0.0.8@a 0
    p1_config range-u %u "127.0.0.2-127.0.0.9" - -- update 127.0.0.5 0 ";" update 127.0.0.9 7
    p1_config name-v6 %Ln "::1 127.0.0.2 127.0.0.3" - -- update ::1 300 ";" down 127.0.0.2
    p1_config domain "%{domain}" "127.0.0.2 127.0.0.3 127.0.0.4" - -- remove 127.0.0.3 ";" \
        add 127.0.0.10 5
    p1_config user-upper "%U{user}" "127.0.0.20 127.0.0.21" - -- add 127.0.0.22 150
}

# ---------------------------------------------------------------------------
# Part 2: behaviour over time

P2_SERVERS="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5@t1"
P2_EXPIRE=10
# The second a step's real actions may start in, after the timers of that
# second fired.
P2_OFFSET=0.25
P2_USERS="alice@example.com Bob carol@Example.COM dörte@ex.com ÉRIC frank@x.org gina"
P2_USERS="$P2_USERS hank@ex.com Iñigo jo@例子.中国"
P2_TAGGED="tina tom"
# Tracked by `status USER`: every user, a hash given as a number (the hash
# of alice@example.com), and lookups in tag t1.
P2_STATUS="$P2_USERS 3244357836 zed newuser1 newuser2"

# next WHAT: names the next output of this mode: $f, with WHAT in $f.what.
# Shell built-ins only (no command substitution, no cat): in real mode
# every process started inside a step costs time a loaded machine may not
# give (see p2_run_real); the outputs are put together afterwards
# (assemble).
next() {
    seq=$((seq + 1))
    f="$work/$mode/$((10000 + seq))"
    printf '%s\n' "$1" > "$f.what"
}

# assemble MODE: turns each recorded doveadm run (exit code, stdout, stderr
# in $f.rc, $f.out, $f.err) into the one file $f that is compared.
assemble() {
    for rcf in "$work/$1"/*.rc; do
        [ -e "$rcf" ] || continue
        f=${rcf%.rc}
        { echo "exit $(cat "$rcf")"; cat "$f.out"; echo "-- stderr"; cat "$f.err"; } > "$f"
        rm -f "$rcf" "$f.out" "$f.err"
    done
}

# at K: the next step runs in second T0+K. Real mode waits for it and
# checks that the previous step ended within its own second.
at() {
    target=$((t0 + $1))
    if [ "$mode" = real ]; then
        [ -n "${step_t:-}" ] && [ "$(date +%s)" -ne "$step_t" ] && late=$((late + 1))
        delay=$(awk -v t="$target" -v off="$P2_OFFSET" -v now="$(date +%s.%N)" \
            'BEGIN { d = t + off - now; printf "%.3f", (d > 0 ? d : 0) }')
        sleep "$delay"
        [ "$(date +%s)" -ne "$target" ] && late=$((late + 1))
    fi
    step_t=$target
}

sim_doveadm() {
    "$bin" doveadm --geodb "$work/p2.sqlite" "$@"
}

# dcmd [-f FMT] ARG...: `doveadm [-f FMT] director ARG...` on this mode's
# director; records exit code, stdout and stderr.
dcmd() {
    fmtopt=
    if [ "$1" = -f ]; then
        fmtopt="-f $2"
        shift 2
    fi
    next "$step_t: doveadm $fmtopt director $*"
    if [ "$mode" = real ]; then
        # shellcheck disable=SC2086
        # The running config service's socket as the config: doveadm then
        # reads its settings from it instead of running doveconf to parse
        # the file (one process instead of three, a third of the time).
        doveadm -c "$ORACLE_DIR/run/config" $fmtopt director "$@" > "$f.out" 2> "$f.err"
    else
        # shellcheck disable=SC2086
        sim_doveadm $fmtopt -o "director_mail_servers=$P2_SERVERS" \
            -o "director_user_expire=$P2_EXPIRE" -o "director_now=$step_t" \
            director "$@" > "$f.out" 2> "$f.err"
    fi
    echo $? > "$f.rc"
}

# login TAG USER...: logins through the director ("-" is the default tag).
login() {
    tag=$1
    shift
    [ "$tag" = - ] && tag=
    next "$step_t: login ${tag:-(default tag)} $*"
    if [ "$mode" = real ]; then
        args=
        for u in "$@"; do
            args="$args $u${tag:+:$tag}"
        done
        # shellcheck disable=SC2086
        oracle_login $args > "$f" 2>&1
    else
        printf '%s\n' "$@" |
            "$bin" director login --geodb "$work/p2.sqlite" --tag "$tag" \
                -o "director_mail_servers=$P2_SERVERS" -o "director_user_expire=$P2_EXPIRE" \
                -o "director_now=$step_t" 2>&1 | tr -d '\r' | sed 1d > "$f"
    fi
}

check() {
    dcmd status
    for u in $P2_STATUS; do
        dcmd status "$u"
    done
    dcmd status alice@example.com t1
    dcmd status tina t1
    dcmd map -f "$work/p2-users.txt"
}

# start: the real director is running with its config; clustersim's state
# comes into being with a write that carries the same config (a login of
# nobody). Not recorded: only the real side has a process to start.
start() {
    [ "$mode" = sim ] || return 0
    "$bin" director login --geodb "$work/p2.sqlite" -o "director_mail_servers=$P2_SERVERS" \
        -o "director_user_expire=$P2_EXPIRE" -o "director_now=$step_t" < /dev/null > /dev/null
}

# The timeline. Kicks (moves, resets) last 2 s: no user is logged in or
# moved again within 3 s of its move.
timeline() {
    at 0
    start
    check
    # shellcheck disable=SC2086
    login - $P2_USERS
    # shellcheck disable=SC2086
    login t1 $P2_TAGGED
    check
    at 1
    dcmd move alice@example.com 127.0.0.4
    dcmd move Bob 127.0.0.4
    dcmd move zed 127.0.0.3
    dcmd kick gina
    check
    at 2
    dcmd move alice@example.com 127.0.0.3
    dcmd move carol@Example.COM 127.0.0.9
    dcmd update 127.0.0.2 0
    dcmd up 127.0.0.9
    dcmd update 127.0.0.9 5
    check
    at 4
    login - carol@Example.COM
    dcmd down 127.0.0.3
    dcmd down 127.0.0.3
    login - newuser1 newuser2
    check
    at 5
    dcmd up 127.0.0.3
    dcmd flush 127.0.0.4
    check
    at 6
    dcmd flush -F 127.0.0.2
    dcmd flush 127.0.0.9
    dcmd -f tab status
    check
    at 8
    login - Bob gina
    dcmd update 127.0.0.2 100
    check
    at 10
    check
    at 11
    dcmd -f tab map -f "$work/p2-users.txt"
    check
    check
    at 12
    dcmd flush all
    check
    at 13
    dcmd remove 127.0.0.4
    dcmd remove 127.0.0.4
    dcmd dump
    check
    dcmd add 127.0.0.4
    dcmd add 127.0.0.4 2000
    dcmd add 127.0.0.4@t1
    dcmd add -t t1 127.0.0.6 5
    dcmd dump
    check
    at 15
    dcmd flush -F all
    # shellcheck disable=SC2086
    login t1 $P2_TAGGED
    check
    at 16
    dcmd move gina 127.0.0.5
    dcmd -f flow status gina t1
    dcmd map -f "$work/p2-users.txt" 127.0.0.5
    dcmd map -f "$work/p2-users.txt" 127.0.0.9
    dcmd map -u Bob
    dcmd -f tab map -u Iñigo
    dcmd map -f "$work/p2-users.txt" -h 2677887420
    check
    # The expiry walk stops at a live head: late1 and late5 (hashed to .3
    # and .2) expire at 27 behind alice, moved in place at 18 (expires 28).
    at 17
    login - alice@example.com late1 late5
    at 18
    dcmd move alice@example.com 127.0.0.4
    at 20
    check
    at 23
    dcmd down 127.0.0.5
    dcmd -f tab status
    check
    # flush -F frees the live head without a walk: the expired entries
    # behind it stay counted until map walks the list.
    at 27
    dcmd status
    dcmd flush -F 127.0.0.4
    dcmd status
    dcmd map -f "$work/p2-users.txt"
    dcmd status
    at 28
    check
    at 30
    check
}

# The real timeline races the wall clock: each step's commands must run
# within their second, and on a busy machine the processes they start wait
# for a CPU. So the real side starts as few processes per step as it can
# (next, assemble), and runs ahead of other load: this shell, and so the
# director it starts and every doveadm, is scheduled round-robin real-time
# (chrt -r 10; the suite runs as root, and the kernel's real-time
# throttling still leaves other processes 5% of each second), or at nice
# -15 where real-time scheduling is not allowed, while the real timeline
# runs; back to normal after. A busy machine then delays it by
# milliseconds, not seconds. A run with a late step is still invalid (not a
# mismatch) and is run again, up to P2_ATTEMPTS times.
P2_ATTEMPTS=5

p2_run_real() {
    old_nice=$(ps -o ni= -p $$ | tr -d ' ')
    chrt -r -p 10 $$ > /dev/null 2>&1 || renice -n -15 -p $$ > /dev/null 2>&1 ||
        say "part 2: cannot raise the priority (chrt, renice)"
    attempt=1 late=1
    while [ "$attempt" -le "$P2_ATTEMPTS" ]; do
        rm -rf "$work/real"
        mkdir -p "$work/real"
        oracle_start "$P2_SERVERS" %Lu "$P2_EXPIRE" || break
        mode=real seq=0 late=0 step_t=
        t0=$(($(date +%s) + 2))
        timeline
        [ "$(date +%s)" -ne "$step_t" ] && late=$((late + 1))
        oracle_stop
        [ "$late" -eq 0 ] && break
        say "part 2: $late real steps overran their second (a loaded machine); running again"
        attempt=$((attempt + 1))
    done
    chrt -o -p 0 $$ > /dev/null 2>&1
    renice -n "${old_nice:-0}" -p $$ > /dev/null 2>&1
    if [ "$attempt" -gt "$P2_ATTEMPTS" ] || [ "$late" -ne 0 ]; then
        say "part 2: FAIL: the real steps kept overrunning their seconds"
        return 1
    fi
    [ "$attempt" -gt 1 ] && say "part 2: a valid real run after $attempt attempts"
    assemble real
    return 0
}

p2_compared=0
p2_matched=0

part2() {
    # shellcheck disable=SC2086
    printf '%s\n' $P2_USERS $P2_TAGGED zed newuser1 newuser2 late1 late5 > "$work/p2-users.txt"
    p2_run_real || return 0
    mkdir -p "$work/sim"
    rm -f "$work/p2.sqlite"
    mode=sim seq=0 step_t=
    timeline
    assemble sim
    shown=0
    for f in "$work"/real/[0-9]*; do
        case $f in *.what) continue ;; esac
        n=${f##*/}
        p2_compared=$((p2_compared + 1))
        if cmp -s "$f" "$work/sim/$n"; then
            p2_matched=$((p2_matched + 1))
        elif [ "$shown" -lt 8 ]; then
            shown=$((shown + 1))
            say "  differs: $(cat "$f.what")"
            diff "$f" "$work/sim/$n" | head -12 | sed 's/^/    /'
        fi
    done
}

# ---------------------------------------------------------------------------

rate() {
    awk -v m="$1" -v n="$2" 'BEGIN { printf "%d/%d matched (%.2f%%)", m, n, n ? 100 * m / n : 0 }'
}

# DIRCONF_PARTS="1" or "2" runs one part (when working on the suite).
for part in ${DIRCONF_PARTS:-1 2}; do
    "part$part"
done
elapsed=$(($(date +%s) - started))
say "part 1, placement: $(rate "$p1_matched" "$p1_compared")"
say "part 2, behaviour over time: $(rate "$p2_matched" "$p2_compared")"
say "runtime ${elapsed} s"
if [ "$p1_compared" -eq 0 ] || [ "$p1_matched" -ne "$p1_compared" ] ||
    [ "$p2_compared" -eq 0 ] || [ "$p2_matched" -ne "$p2_compared" ]; then
    say "FAIL: below 100%"
    exit 1
fi
say "ok: 100% of both parts"
