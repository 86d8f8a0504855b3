#!/bin/sh
# metrics.om against the real thing (issue 12): a run's `--openmetrics`
# output must
#  - end with "# EOF" and pass `promtool check metrics` (promtool 2.42
#    lints the Prometheus text format, where a counter's family is named
#    with its _total suffix: its "no help text" for a counter whose
#    OpenMetrics family has # HELP is expected; any other finding fails);
#  - backfill (`promtool tsdb create-blocks-from openmetrics`);
#  - answer seed 000's dashboard queries, from a real Prometheus started
#    here on 127.0.0.1 over the backfilled data, with the run's CSV figures:
#    users per host at given times (timeseries.csv host_users), and the
#    backend check failure ratio per instance over a window (check_failures
#    over checks_online + checks_offline of the same rows).
# Prometheus is a test dependency (scripts/install-deps prometheus); without
# promtool and prometheus the test says so and skips. The server it starts
# is killed when the test ends, however it ends; Debian's own prometheus
# service (if any) is never used or touched.
set -u

bin=${CLUSTERSIM:-./clustersim}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
if ! command -v promtool > /dev/null 2>&1 || ! command -v prometheus > /dev/null 2>&1 ||
    ! command -v curl > /dev/null 2>&1; then
    echo "openmetrics: SKIPPED: promtool, prometheus or curl not installed" \
        "(scripts/install-deps prometheus curl)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-om-XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2> /dev/null
        wait "$pid" 2> /dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
failures=0
checks=0

. tests/lib.sh

scenario=degraded-backend
start=1767571200 # the default start, 2026-01-05T00:00:00Z
out="$tmp/run"
echo "openmetrics: $scenario --openmetrics"
"$bin" run "scenarios/$scenario.json" --out "$out" --openmetrics > "$tmp/run.log" 2>&1
om="$out/metrics.om"
check "[ -s '$om' ]" "no metrics.om"
check "[ \"\$(tail -n 1 '$om')\" = '# EOF' ]" "metrics.om does not end with # EOF"
"$bin" run "scenarios/$scenario.json" --out "$tmp/plain" > /dev/null 2>&1
check "[ ! -e '$tmp/plain/metrics.om' ]" "metrics.om written without --openmetrics"

echo "openmetrics: promtool check metrics"
promtool check metrics < "$om" > "$tmp/lint" 2>&1
grep -v -E '^[a-z_]+_total no help text$' "$tmp/lint" > "$tmp/lint.rest"
check "[ ! -s '$tmp/lint.rest' ]" "promtool check metrics: $(head -3 "$tmp/lint.rest")"
for c in $(sed -n 's/^\([a-z_]*\)_total no help text$/\1/p' "$tmp/lint"); do
    check "grep -q '^# HELP $c ' '$om'" "counter $c has no # HELP"
done

echo "openmetrics: promtool tsdb create-blocks-from openmetrics"
promtool tsdb create-blocks-from openmetrics "$om" "$tmp/data" > "$tmp/backfill" 2>&1
check "[ $? -eq 0 ]" "backfill failed: $(tail -3 "$tmp/backfill")"

echo "openmetrics: a real Prometheus over the backfilled data"
printf 'global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n' \
    > "$tmp/prometheus.yml"
# A free port: try a few at random until one serves.
ready=0
for attempt in 1 2 3 4 5; do
    port=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 30000))
    prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
        --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$port" \
        > "$tmp/prometheus.log" 2>&1 &
    pid=$!
    # Wait while it lives (a loaded machine starts it slowly; the bound of
    # ~2 min is a safety net); a port already taken makes it exit at once.
    for i in $(seq 1 600); do
        if curl -sf "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1; then
            ready=1
            break
        fi
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.2
    done
    [ $ready = 1 ] && break
    kill "$pid" 2> /dev/null
    wait "$pid" 2> /dev/null
    pid=""
done
check "[ $ready = 1 ]" "prometheus did not start: $(tail -3 "$tmp/prometheus.log")"

# query EXPR TIME_S: the value of a one-series answer at start + TIME_S, or
# per series "LABELVALUE VALUE" lines with label LABEL (query_range, one step).
query() {
    t=$((start + $2))
    curl -sf "http://127.0.0.1:$port/api/v1/query_range" --data-urlencode "query=$1" \
        --data-urlencode "start=$t" --data-urlencode "end=$t" --data-urlencode "step=60"
}
# The "LABEL":"X" ... [T,"V"] pairs of a matrix answer, one per line.
pairs() {
    tr '{' '\n' | sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*\\[[0-9.]*,\"\\([^\"]*\\)\"\\].*/\\1 \\2/p"
}
csv() {
    tr -d '\r' < "$out/$1"
}

if [ $ready = 1 ]; then
    # Users per host: seed 000's query with $__interval = 1m, at three times.
    for t in 1800 5400 $(csv timeseries.csv | awk -F, 'END { print $1 }'); do
        query 'sum by (host) (last_over_time(dovecot_cluster_controller_host_users[1m]))' $t |
            pairs host | sort > "$tmp/q.$t"
        csv timeseries.csv | awk -F, -v t=$t 'NR > 1 && $1 == t && $22 != "" { print $3, $22 }' |
            sort > "$tmp/c.$t"
        check "[ -s '$tmp/c.$t' ] && cmp -s '$tmp/q.$t' '$tmp/c.$t'" \
            "host users at $t s: Prometheus $(head -2 "$tmp/q.$t" | tr '\n' ' ') / CSV $(head -2 "$tmp/c.$t" | tr '\n' ' ')"
    done
    # The check failure ratio per instance, [5m:] subqueries at 1m steps:
    # the counters' increase from t-5m to t (2.x ranges include their left end),
    # i.e. the CSV rows of t-4m..t.
    t=$(csv timeseries.csv | awk -F, 'NR > 1 && $25 > 0 && $1 >= 600 { print $1 + 120; exit }')
    check "[ -n '$t' ]" "no check failures in the run to compare"
    if [ -n "$t" ]; then
        query 'sum by(instance) (rate(dovecot_cluster_backend_check_failure_total[5m:])) / sum by(instance) (rate(dovecot_cluster_backend_check_finished_total[5m:]))' $t |
            pairs instance > "$tmp/ratio.q"
        csv timeseries.csv | awk -F, -v t=$t 'NR > 1 && $1 > t - 300 && $1 <= t {
                f[$2] += $25; n[$2] += $23 + $24 }
            END { for (s in f) printf "%s-controller %.6f\n", s, f[s] / n[s] }' | sort > "$tmp/ratio.c"
        awk '{ printf "%s %.6f\n", $1, $2 }' "$tmp/ratio.q" | sort > "$tmp/ratio.q6"
        check "[ -s '$tmp/ratio.c' ] && cmp -s '$tmp/ratio.q6' '$tmp/ratio.c'" \
            "failure ratio at $t s: Prometheus $(cat "$tmp/ratio.q6") / CSV $(cat "$tmp/ratio.c")"
    fi
    # The online checks per backend: one series per backend host.
    query 'sum by(backend_host, instance) (rate(dovecot_cluster_backend_check_finished_total{status="online"}[5m]))' 3600 |
        pairs backend_host > "$tmp/online.q"
    n=$(grep -c . "$tmp/online.q")
    m=$(csv timeseries.csv | awk -F, 'NR > 1 && $1 == 3600' | wc -l)
    check "[ $n -eq $m ]" "online checks: $n series, $m backends: $(cat "$tmp/online.q" | tr "\n" " ")"
fi

echo "openmetrics: $checks checks, $failures failed"
[ $failures -eq 0 ]
