#!/bin/sh
# From 65,536 users the first replica's users are written on a second
# thread while the first thread places them, a step of users at a time
# (CLUSTERSIM_WRITER_THREAD_USERS moves the bound); below it they are
# written after placement, on the loop's thread. The reports must not
# depend on it: each scenario here runs both ways and every file, the
# GeoDB replicas included, is compared byte for byte. split-brain.json has
# three sites whose files are copies of the first; catastrophe.json is
# preplaced on one; director-rebalance.json places nobody at start (the
# writer has nothing to write). CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-writer-thread-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

for scn in scenarios/split-brain.json scenarios/catastrophe.json scenarios/director-rebalance.json; do
    name=$(basename "$scn" .json)
    echo "writer-thread: $name, the first replica written on a second thread and after placement"
    both_ways CLUSTERSIM_WRITER_THREAD_USERS "$scn" "$tmp/$name"
    check "grep -q 'writer_thread=1' '$tmp/$name-thread.out'" "$name: the writer did not run on a thread"
    check "grep -q 'writer_thread=0' '$tmp/$name-inline.out'" "$name: the writer ran on a thread"
    same_reports "$name" "$tmp/$name-thread" "$tmp/$name-inline"
done

echo "writer-thread: $checks checks, $failures failed"
[ $failures -eq 0 ]
