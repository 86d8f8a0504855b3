#!/bin/sh
# grafana/ (issue 12): the dashboard is valid JSON (python3 -m json.tool,
# when python3 is there), every panel has a data source and a PromQL
# expression, and every metric an expression names appears in the
# metrics.om of a run (two sites and a partition, so that every family has
# samples). The provisioning files name the dashboard's data source uid.
set -u

bin=${CLUSTERSIM:-./clustersim}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-grafana-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0
dash=grafana/dashboard.json

. tests/lib.sh

echo "grafana: dashboard.json"
if command -v python3 > /dev/null 2>&1; then
    check "python3 -m json.tool '$dash' > /dev/null" "$dash is not valid JSON"
else
    echo "  (python3 missing: the JSON parse is skipped, the checks below still run)"
fi
panels=$(grep -c '"type": "timeseries"' "$dash")
exprs=$(grep -c '"expr": ' "$dash")
sources=$(grep -c '"uid": "clustersim"' "$dash")
check "[ $panels -ge 10 ]" "$panels panels"
check "[ $exprs -eq $panels ]" "$panels panels, $exprs expressions"
check "[ $sources -eq $((2 * panels)) ]" "not every panel and target has the data source"
check "grep -q 'uid: clustersim' grafana/provisioning/datasources/prometheus.yaml" \
    "the data source provisioning does not give uid clustersim"
check "grep -q 'type: file' grafana/provisioning/dashboards/clustersim.yaml" \
    "no dashboard provider"

"$bin" run scenarios/split-brain.json --out "$tmp/run" --openmetrics > /dev/null 2>&1
om="$tmp/run/metrics.om"
check "[ -s '$om' ]" "no metrics.om"
for m in $(grep '"expr": ' "$dash" | grep -oE '(dovecot|clustersim)_[a-z_]+' | sort -u); do
    check "grep -q '^$m{' '$om'" "the dashboard queries $m, which metrics.om lacks"
done
for q in 'dovecot_cluster_controller_host_users\[\$__interval\]' \
    'dovecot_cluster_backend_check_failure_total\[\$__rate_interval:\]'; do
    check "grep -q '$q' '$dash'" "seed 000's query with $q missing"
done

echo "grafana: $checks checks, $failures failed"
[ $failures -eq 0 ]
