#!/bin/sh
# The controller's documented rules at their boundaries: every scenario in
# tests/rules/ probes one rule just under, exactly at or just over where it
# changes what happens (see each file's description), and its expectations
# are claims about the system, so each runs on several seeds and must pass
# on all of them. CLUSTERSIM names the binary under test; RULES_SEEDS the
# seeds (default 1 2 3 4 5).
set -u

bin=${CLUSTERSIM:-./clustersim}
seeds=${RULES_SEEDS:-1 2 3 4 5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-rules-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

echo "rules: every boundary scenario passes on seeds $seeds"
for s in tests/rules/*.json; do
    name=$(basename "$s" .json)
    bad=""
    for seed in $seeds; do
        checks=$((checks + 1))
        if ! "$bin" run "$s" --seed "$seed" --out "$tmp/$name" > "$tmp/$name.out" 2>&1; then
            failures=$((failures + 1))
            bad="$bad $seed"
            grep -E '^FAIL|^clustersim' "$tmp/$name.out" | head -5 | sed 's/^/    /'
        fi
    done
    if [ -z "$bad" ]; then
        echo "  ok   $name"
    else
        echo "  FAIL $name on seeds$bad"
    fi
done

# A move whose source is across a partition is not finished from the
# cut-off side (palomar.md 5.3), which moves.csv shows: no batch move
# completed "immediate" during the partition, unless the old behaviour is
# asked for (then some are: the probe sees the difference).
immediate_batch() { # report dir -> batch moves completed at once during 1h..1h30m
    tr -d '\r' < "$1/moves.csv" |
        awk -F, '$3 == "batch" && $8 == "immediate" && $1 >= 3600 && $1 < 5400 { n++ } END { print n + 0 }'
}
s=tests/rules/batch-move-across-partition.json
for mode in wait finish; do
    checks=$((checks + 1))
    "$bin" run "$s" --set UNREACHABLE_SOURCE_MOVES=$mode --out "$tmp/bp-$mode" > /dev/null 2>&1
    n=$(immediate_batch "$tmp/bp-$mode")
    if { [ $mode = wait ] && [ "$n" -ne 0 ]; } || { [ $mode = finish ] && [ "$n" -eq 0 ]; }; then
        failures=$((failures + 1))
        echo "  FAIL batch-move-across-partition: $n batch moves finished from the cut-off side ($mode)"
    else
        echo "  ok   batch-move-across-partition: $n batch moves finished from the cut-off side ($mode)"
    fi
done

echo "rules: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
