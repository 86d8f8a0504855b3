#!/bin/sh
# Claims that hold on any seed: every bundled scenario passes on two seeds
# other than its own (make seeds runs more; the closing notes record 100).
set -u
bin=${CLUSTERSIM:-./clustersim}
echo "seeds: every bundled scenario on seeds 2000 and 2001"
if CLUSTERSIM="$bin" scripts/seeds -n 2 --from 2000 > "${TMPDIR:-/tmp}/seeds.$$" 2>&1; then
    sed 's/^/  /' "${TMPDIR:-/tmp}/seeds.$$" | grep -v '^  |---'
    rm -f "${TMPDIR:-/tmp}/seeds.$$"
    echo "seeds: 1 checks, 0 failed"
    exit 0
fi
sed 's/^/  /' "${TMPDIR:-/tmp}/seeds.$$"
rm -f "${TMPDIR:-/tmp}/seeds.$$"
echo "seeds: 1 checks, 1 failed"
exit 1
