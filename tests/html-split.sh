#!/bin/sh
# report.html reads a large timeseries.csv in two parts on two cores
# (above 16 MB; CLUSTERSIM_HTML_SPLIT_BYTES moves the threshold). The
# page must not depend on it: the same run drawn from one part and from
# two gives byte-identical pages, on a scenario whose rows of the same
# backend and time bucket fall on both sides of the split. CLUSTERSIM
# names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-html-split-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

for scn in scenarios/balance-healthy.json scenarios/site-outage.json; do
    name=$(basename "$scn" .json)
    echo "html-split: $name drawn from one part and from two"
    for split in one two; do
        case $split in one) bytes=999999999999 ;; two) bytes=1 ;; esac
        rm -rf "$tmp/out"
        CLUSTERSIM_HTML_SPLIT_BYTES=$bytes "$bin" run "$scn" --out "$tmp/out" --lean \
            > "$tmp/$split.log" 2>&1 || fail "$name ($split part(s)) did not complete"
        cp "$tmp/out/report.html" "$tmp/$name-$split.html" 2>/dev/null
    done
    check "[ -s '$tmp/$name-one.html' ] && cmp -s '$tmp/$name-one.html' '$tmp/$name-two.html'" \
        "$name: report.html differs when timeseries.csv is read in two parts"
done

echo "html-split: $checks checks, $failures failed"
[ $failures -eq 0 ]
