#!/bin/sh
# The workload's draws are made ahead on a second thread for runs of
# 100,000 users or more (CLUSTERSIM_DRAW_THREAD_USERS moves the bound), and
# drawn again when a load spike changes the multiplier they assumed. The
# reports must not depend on it: each scenario here runs with the draws on
# the thread and on the loop's own, and every file, the GeoDB replicas
# included, is compared byte for byte. spikes.json starts and ends a load
# spike, so the thread's draws are rolled back; director-rebalance.json
# routes through the director. CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-draw-thread-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

for scn in scenarios/spikes.json scenarios/split-brain.json scenarios/director-rebalance.json; do
    name=$(basename "$scn" .json)
    echo "draw-thread: $name, draws on a second thread against draws in the loop"
    both_ways CLUSTERSIM_DRAW_THREAD_USERS "$scn" "$tmp/$name"
    check "grep -q 'draw_thread=1' '$tmp/$name-thread.out'" "$name: the draws did not run on a thread"
    check "grep -q 'draw_thread=0 draw_rollbacks=0' '$tmp/$name-inline.out'" \
        "$name: the draws did not run in the loop"
    same_reports "$name" "$tmp/$name-thread" "$tmp/$name-inline"
done
# A load spike started and ended: the thread's draws were rolled back.
check "grep -Eq 'draw_rollbacks=[2-9]' '$tmp/spikes-thread.out'" \
    "spikes: the load spike rolled back no draws"

echo "draw-thread: $checks checks, $failures failed"
[ $failures -eq 0 ]
