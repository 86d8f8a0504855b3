#!/bin/sh
# Proxy statistics replicate as deltas (GEODB_STATS_DELTAS=yes, the
# default): each merge takes only the rows of the sites whose writes the
# target lacks. The oracle is the whole-table merge (=no): on scenarios
# with partitions, crashed sites, delay spikes, clock steps and deleted
# rows, both must leave every GeoDB replica and report file byte-identical
# (only overrides.csv, which records the setting, and report.html, which
# shows it, may differ). CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-stats-deltas-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

for scn in tests/stats-deltas.json scenarios/split-brain.json scenarios/spikes.json \
    scenarios/site-outage.json; do
    name=$(basename "$scn" .json)
    echo "stats-deltas: $name, deltas against whole-table merges"
    for v in yes no; do
        if ! "$bin" run "$scn" --out "$tmp/$name-$v" --set GEODB_STATS_DELTAS=$v \
            > "$tmp/$name-$v.out" 2>&1; then
            fail "$name with GEODB_STATS_DELTAS=$v did not complete: $(tail -1 "$tmp/$name-$v.out")"
        fi
    done
    n=0
    for f in "$tmp/$name-yes"/*; do
        file=$(basename "$f")
        case $file in overrides.csv | report.html) continue ;; esac
        n=$((n + 1))
        check "cmp -s '$f' '$tmp/$name-no/$file'" "$name: $file differs between deltas and whole merges"
    done
    check "[ $n -ge 8 ]" "$name: only $n files compared"
    check "ls '$tmp/$name-yes'/geodb-*.sqlite > /dev/null 2>&1" "$name: no GeoDB replica was compared"
done
# The deletion (statistics of the removed backend) really happened, so the
# switch back to whole merges was exercised too.
check "grep -q 'deleted [0-9]* proxy_dest_stats rows' '$tmp/stats-deltas-yes/events.csv'" \
    "stats-deltas.json deleted no statistics rows"

echo "stats-deltas: $checks checks, $failures failed"
[ $failures -eq 0 ]
