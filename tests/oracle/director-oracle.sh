#!/bin/sh
# Runs the real Dovecot 2.3 director (Debian 12 dovecot-core 2.3.19.1)
# standalone on loopback as a test oracle for clustersim's director model
# (../shared/reference/director.md section 8). It is both a library, to be
# sourced (set ORACLE_LIB=1 first), and a driver:
#
#   director-oracle.sh run [--hash FMT] [--expire SECS] SERVERS -- CMD [ARG...]
#       Starts a private director, runs CMD with ORACLE_CONF and ORACLE_DIR
#       exported, then stops it (kill -TERM, wait) and exits with CMD's status.
#   director-oracle.sh start [--hash FMT] [--expire SECS] SERVERS
#       Starts one and prints the config path; stop it with `stop CONF`.
#   director-oracle.sh stop CONF
#   director-oracle.sh -c CONF doveadm ARG...     doveadm -c CONF director ARG...
#   director-oracle.sh -c CONF admin LINE...      raw director-admin protocol: each
#       LINE is one command with tabs written as '\t'; prints the reply lines
#   director-oracle.sh -c CONF login USER[:TAG]... logins through director-authreply;
#       prints "user,host" per login
#   director-oracle.sh -c CONF lookup [--tag TAG] < USERS
#       prints "user,host" (no CSV quoting): where each user is hashed now
#       (empty host when none), as `clustersim director lookup` does. A
#       username may not contain a tab; a decimal uint32 name is hashed by
#       doveadm first, since USER-LOOKUP would take it as the hash itself
#   director-oracle.sh -c CONF hash USER...        the user hash, as doveadm computes it
#
# Without -c, the subcommands use $ORACLE_CONF (exported by `run`).
#
# Timing caveats measured on 2.3.19.1: the expiry timer fires at the start
# of the expiring second; a kick (move, reset) lasts 2.00-2.01 s, so an
# operation exactly 2 s after a move races with its end: leave 3 s.
#
# SERVERS is director_mail_servers, e.g. "127.0.0.2 127.0.0.3@tag". Only
# 127.0.0.0/8 and ::1 are accepted: nothing may reach another address.
# Needs root, dovecot-core (apt-get install -y dovecot-core) and perl-base.

ORACLE_EXPIRE_DEFAULT=900
ORACLE_START_TIMEOUT_S=30

oracle_die() {
    echo "director-oracle: $*" >&2
    exit 1
}

# Refuses any mail server that is not loopback.
oracle_check_servers() {
    for tok in $1; do
        range=${tok%%@*}
        for ip in "${range%%-*}" "${range#*-}"; do
            case $ip in
                127.*|::1) ;;
                *) oracle_die "refusing non-loopback mail server '$tok'" ;;
            esac
        done
    done
}

# oracle_write_conf DIR SERVERS HASH_FMT EXPIRE_S
oracle_write_conf() {
    cat > "$1/dovecot.conf" <<EOF
base_dir = $1/run
state_dir = $1/state
log_path = $1/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
director_servers =
director_mail_servers = $2
director_username_hash = $3
director_user_expire = $4s
service director {
  process_min_avail = 1
  unix_listener director-admin {
  }
  unix_listener director-authreply {
  }
}
EOF
}

# oracle_start SERVERS [HASH_FMT] [EXPIRE_S]: sets ORACLE_DIR, ORACLE_CONF and
# ORACLE_PID (a child of this shell, so oracle_stop can wait for it).
oracle_start() {
    servers=$1
    fmt=${2:-%Lu}
    expire=${3:-$ORACLE_EXPIRE_DEFAULT}
    command -v dovecot >/dev/null 2>&1 ||
        oracle_die "dovecot not installed: apt-get install -y dovecot-core"
    oracle_check_servers "$servers"
    ORACLE_DIR=$(mktemp -d /tmp/dirorc.XXXXXX) || oracle_die "mktemp failed"
    mkdir -p "$ORACLE_DIR/run" "$ORACLE_DIR/state"
    ORACLE_CONF=$ORACLE_DIR/dovecot.conf
    oracle_write_conf "$ORACLE_DIR" "$servers" "$fmt" "$expire"
    dovecot -F -c "$ORACLE_CONF" > "$ORACLE_DIR/stdout.log" 2>&1 &
    ORACLE_PID=$!
    echo "$ORACLE_PID" > "$ORACLE_DIR/pid"
    export ORACLE_DIR ORACLE_CONF ORACLE_PID
    i=0
    while ! doveadm -c "$ORACLE_CONF" director status >/dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt $((ORACLE_START_TIMEOUT_S * 10)) ] ||
            ! kill -0 "$ORACLE_PID" 2>/dev/null; then
            cat "$ORACLE_DIR/stdout.log" "$ORACLE_DIR/dovecot.log" >&2 2>/dev/null
            oracle_stop
            oracle_die "director did not start"
        fi
        sleep 0.1
    done
}

# Stops the director started by oracle_start in this shell and removes its
# directory.
oracle_stop() {
    if [ -n "${ORACLE_PID:-}" ]; then
        kill -TERM "$ORACLE_PID" 2>/dev/null
        wait "$ORACLE_PID" 2>/dev/null
        ORACLE_PID=
    fi
    if [ -n "${ORACLE_DIR:-}" ] && [ -d "$ORACLE_DIR" ]; then
        rm -rf "$ORACLE_DIR"
    fi
    ORACLE_DIR=
}

# Stops a director started by another shell (`start`): it is not our child,
# so wait by polling its pid.
oracle_stop_conf() {
    dir=$(dirname "$1")
    [ -f "$dir/pid" ] || oracle_die "no pid file in $dir"
    pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    case $dir in
        /tmp/dirorc.*) rm -rf "$dir" ;;
    esac
}

oracle_doveadm() {
    doveadm -c "$ORACLE_CONF" director "$@"
}

oracle_socket() {
    doveadm -c "$ORACLE_CONF" config -h base_dir | sed "s|\$|/$1|"
}

# Sends raw director-admin commands (one per argument, '\t' for tabs) and
# prints every reply line. Multi-line replies (HOST-LIST, USER-LIST) end with
# an empty line, which is printed too.
oracle_admin() {
    perl -e '
        use strict; use IO::Socket::UNIX;
        $| = 1;
        $SIG{PIPE} = "IGNORE";
        my $s = IO::Socket::UNIX->new(Peer => shift @ARGV) or die "connect: $!\n";
        print $s "VERSION\tdirector-doveadm\t1\t0\n";
        my $hs = <$s>;
        defined $hs && $hs =~ /^VERSION\tdirector-doveadm\t1\t/ or die "bad handshake\n";
        my %multi = map { $_ => 1 } qw(HOST-LIST HOST-LIST-REMOVED USER-LIST DIRECTOR-LIST);
        for my $cmd (@ARGV) {
            $cmd =~ s/\\t/\t/g;
            print $s "$cmd\n";
            my ($verb) = split /\t/, $cmd;
            my $got = 0;
            while (defined(my $l = <$s>)) {
                $got = 1;
                print $l;
                last if !$multi{$verb} || $l eq "\n";
            }
            # The director drops the connection on a malformed command.
            if (!$got) {
                print "<disconnected>\n";
                exit 1;
            }
        }' "$(oracle_socket director-admin)" "$@"
}

# Logs users in through director-authreply as a login process would; prints
# "user,host" for each (host empty when the reply carried none).
oracle_login() {
    perl -e '
        use strict; use IO::Socket::UNIX;
        my $s = IO::Socket::UNIX->new(Peer => shift @ARGV) or die "connect: $!\n";
        print $s "VERSION\tdirector-authreply-client\t1\t0\n";
        my $hs = <$s>;
        my $id = 0;
        for my $arg (@ARGV) {
            my ($user, $tag) = split /:/, $arg, 2;
            $id++;
            my $line = "OK\t$id\tuser=$user\tproxy";
            $line .= "\tdirector_tag=$tag" if defined $tag && $tag ne "";
            print $s "$line\n";
            my $r = <$s>;
            defined $r or die "director closed the connection\n";
            chomp $r;
            my ($host) = $r =~ /\thost=([^\t]*)/;
            print "$user,", (defined $host ? $host : ""), "\n";
        }' "$(oracle_socket director-authreply)" "$@"
}

# The hash doveadm computes for a user (director_username_hash applied).
oracle_hash() {
    for u in "$@"; do
        doveadm -c "$ORACLE_CONF" director map -u "$u" | awk '{ print $1 }'
    done
}

# Reads usernames on stdin; prints "user,hashed_ip". Uses USER-LOOKUP, whose
# third field is the current ring's choice. A name that parses as a decimal
# uint32 would be taken as a hash by USER-LOOKUP, so such names are hashed
# by doveadm first and looked up by their hash.
oracle_lookup() {
    tag=$1
    perl -e '
        use strict; use IO::Socket::UNIX;
        my ($sock, $tag, $conf) = @ARGV;
        my $s = IO::Socket::UNIX->new(Peer => $sock) or die "connect: $!\n";
        print $s "VERSION\tdirector-doveadm\t1\t0\n";
        my $hs = <$s>;
        while (defined(my $u = <STDIN>)) {
            chomp $u;
            next if $u eq "";
            my $key = $u;
            if ($u =~ /^[0-9]+$/ && $u <= 4294967295) {
                open(my $p, "-|", "doveadm", "-c", $conf, "director", "map", "-u", $u)
                    or die "doveadm: $!\n";
                my $h = <$p>;
                close $p;
                ($key) = $h =~ /^\s*([0-9]+)/;
            }
            print $s "USER-LOOKUP\t$key\t$tag\n";
            my $r = <$s>;
            defined $r or die "director closed the connection\n";
            chomp $r;
            my @f = split /\t/, $r, -1;
            die "unexpected reply: $r\n" if @f < 3;
            print "$u,$f[2]\n";
        }' "$(oracle_socket director-admin)" "$tag" "$ORACLE_CONF"
}

# Parses [--hash FMT] [--expire SECS] SERVERS into ORACLE_OPT_*; sets
# ORACLE_OPT_SHIFT to the number of arguments consumed.
oracle_parse_start_args() {
    ORACLE_OPT_HASH=%Lu
    ORACLE_OPT_EXPIRE=$ORACLE_EXPIRE_DEFAULT
    ORACLE_OPT_SHIFT=0
    while [ $# -gt 0 ]; do
        case $1 in
            --hash) ORACLE_OPT_HASH=$2; shift 2; ORACLE_OPT_SHIFT=$((ORACLE_OPT_SHIFT + 2)) ;;
            --expire) ORACLE_OPT_EXPIRE=$2; shift 2; ORACLE_OPT_SHIFT=$((ORACLE_OPT_SHIFT + 2)) ;;
            *) break ;;
        esac
    done
    [ $# -gt 0 ] || oracle_die "missing SERVERS"
    ORACLE_OPT_SERVERS=$1
    ORACLE_OPT_SHIFT=$((ORACLE_OPT_SHIFT + 1))
}

oracle_main() {
    if [ "${1:-}" = "-c" ]; then
        ORACLE_CONF=$2
        ORACLE_DIR=$(dirname "$2")
        shift 2
    fi
    cmd=${1:-}
    [ -n "$cmd" ] || oracle_die "usage: see the top of $0"
    shift
    case $cmd in
        run)
            oracle_parse_start_args "$@"
            shift "$ORACLE_OPT_SHIFT"
            [ "${1:-}" = "--" ] && shift
            [ $# -gt 0 ] || oracle_die "run: missing command"
            oracle_start "$ORACLE_OPT_SERVERS" "$ORACLE_OPT_HASH" "$ORACLE_OPT_EXPIRE"
            trap 'oracle_stop' INT TERM
            "$@"
            rc=$?
            oracle_stop
            return "$rc"
            ;;
        start)
            oracle_parse_start_args "$@"
            oracle_start "$ORACLE_OPT_SERVERS" "$ORACLE_OPT_HASH" "$ORACLE_OPT_EXPIRE"
            echo "$ORACLE_CONF"
            ;;
        stop) oracle_stop_conf "${1:?stop CONF}" ;;
        doveadm) oracle_doveadm "$@" ;;
        admin) oracle_admin "$@" ;;
        login) oracle_login "$@" ;;
        hash) oracle_hash "$@" ;;
        lookup)
            tag=
            if [ "${1:-}" = "--tag" ]; then
                tag=$2
                shift 2
            fi
            oracle_lookup "$tag"
            ;;
        *) oracle_die "unknown command '$cmd'" ;;
    esac
}

if [ -z "${ORACLE_LIB:-}" ]; then
    set -u
    oracle_main "$@"
fi
