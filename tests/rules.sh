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

echo "rules: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
