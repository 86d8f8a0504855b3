#!/bin/sh
# The layering rule holds on this tree, and scripts/check-layering really
# catches a wrong-way include: each planted violation (one per copy of the
# tree) must make it fail, naming the file and line.
set -u

tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-layering-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

echo "layering: the tree follows the layers; planted wrong-way includes are caught"
checks=$((checks + 1))
if scripts/check-layering . > "$tmp/clean.out" 2>&1; then
    echo "  ok   this tree"
else
    fail "this tree breaks the layering:"
    sed 's/^/    /' "$tmp/clean.out"
fi

# plant FILE LINE-TO-ADD EXPECTED-MESSAGE-PART
plant() {
    checks=$((checks + 1))
    copy="$tmp/tree$checks"
    mkdir -p "$copy"
    cp -R core sim "$copy/"
    mkdir -p "$(dirname "$copy/$1")"
    printf '%s\n' "$2" >> "$copy/$1"
    if scripts/check-layering "$copy" > "$tmp/out$checks" 2>&1; then
        fail "'$2' in $1 was not caught"
    elif ! grep -q "$1:[0-9]*: .*$3" "$tmp/out$checks"; then
        fail "'$2' in $1: the message does not name the line and '$3':"
        sed 's/^/    /' "$tmp/out$checks"
    else
        echo "  ok   caught: $1: $2"
    fi
}

plant sim/geodb/geodb.c '#include "sim/world/world.h"' 'geodb/ may not include'
plant sim/doveadm/doveadm.c '#include "sim/adapters/ctl_adapter.h"' 'doveadm/ may not include'
plant sim/base/csv.c '#include "sim/geodb/geodb.h"' 'base/ may not include'
plant sim/scenario/scenario.c '#include "sim/geodb/geodb.h"' 'scenario/ may not include'
plant sim/world/traffic.c '#include "sim/adapters/ctl_adapter.h"' 'world/ may not include'
plant sim/world/traffic.c '#include <sqlite3.h>' 'only sim/geodb/'
plant sim/world/moves.c '#include "sim/world/timeline.h"' 'comes after moves'
plant sim/world/world.h '#include "sim/world/replication.h"' 'comes after world'
plant core/balance.c '#include "sim/base/csv.h"' 'core/ may not include'
plant core/balance.c 'static FILE *f;' 'must not use'
plant sim/extra/thing.c '#include "sim/base/csv.h"' 'not a known layer'

echo "layering: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
