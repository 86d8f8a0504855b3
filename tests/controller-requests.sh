#!/bin/sh
# The controller's manual operations from the command line (`doveadm
# cluster controller ...`, seed 004): standalone, a command queues a request
# in the GeoDB file and `status` lists it, while a rejected one leaves the
# file byte-identical; in a simulation the timeline's doveadm form moves
# exactly the users its controller form moves (manual-operations.json with
# its controller entries replaced), a request to a crashed site's controller
# fails (exit 75, row failed), as does one whose controller cannot read its
# metrics (Prometheus down), and director mode, which has no controller,
# leaves it queued. CLUSTERSIM names the binary under test.
set -u

bin=${CLUSTERSIM:-./clustersim}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/clustersim-ctlreq-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
checks=0

. tests/lib.sh

echo "controller-requests: standalone, a command queues a request and status lists it"
db=$tmp/geodb.sqlite
dv() { "$bin" doveadm --geodb "$db" "$@"; }
dv cluster site add DC1 > /dev/null
dv cluster backend add --site DC1 be01.dc1.example.com > /dev/null
id1=$(dv cluster controller force-move be01.dc1.example.com 40)
id2=$(dv cluster controller rebalance DC1)
check '[ "$id1" = 1 ] && [ "$id2" = 2 ]' "the requests' ids are $id1 and $id2, not 1 and 2"
list=$(dv -f tab cluster controller status | cut -f 1-5,7)
want=$(printf 'id\taction\tsite\tbackend\tpercent\tstate\n1\tforce-move\tDC1\tbe01.dc1.example.com\t40\tqueued\n2\trebalance\tDC1\t-\t-\tqueued')
check '[ "$list" = "$want" ]' "status lists: $list"
cp "$db" "$tmp/before.sqlite"
dv cluster controller force-move be01.dc1.example.com 101 2> "$tmp/err"
rc=$?
check '[ $rc -eq 64 ] && grep -q "invalid percentage" "$tmp/err"' "percent 101 exited $rc: $(cat "$tmp/err")"
dv cluster controller rebalance DC9 2> "$tmp/err"
rc=$?
check '[ $rc -eq 68 ] && grep -q "Site DC9 doesn.t exist" "$tmp/err"' "an unknown site exited $rc"
check 'cmp -s "$db" "$tmp/before.sqlite"' "a rejected command changed the GeoDB file"

echo "controller-requests: the doveadm form moves the users the controller form moves"
sed -e 's|{ "at": "1h", "controller": "force-move", "backend": "be03.dc1.example.com", "percent": 30 }|{ "at": "1h", "doveadm": "cluster controller force-move be03.dc1.example.com 30" }|' \
    -e 's|{ "at": "1h30m", "controller": "rebalance" }|{ "at": "1h30m", "doveadm": "cluster controller rebalance DC1" }|' \
    scenarios/manual-operations.json > "$tmp/manual-cli.json"
n=$(grep -c '"doveadm": "cluster controller' "$tmp/manual-cli.json")
check '[ "$n" -eq 2 ]' "manual-operations.json no longer has the two controller entries the sed replaces"
"$bin" run scenarios/manual-operations.json --out "$tmp/api" > "$tmp/api.out" 2>&1
rc_api=$?
"$bin" run "$tmp/manual-cli.json" --out "$tmp/cli" > "$tmp/cli.out" 2>&1
rc_cli=$?
check '[ $rc_api -eq 0 ] && [ $rc_cli -eq 0 ]' "the runs exited $rc_api (controller form) and $rc_cli (doveadm form)"
check 'cmp -s "$tmp/api/moves.csv" "$tmp/cli/moves.csv"' "moves.csv differs between the two forms"
moves=$(rows "$tmp/cli/moves.csv" | awk -F, '$3 == "force_move"' | wc -l)
check '[ "$moves" -gt 0 ]' "the doveadm form's force move moved nobody"
status=$("$bin" doveadm --geodb "$tmp/cli/geodb.sqlite" -f tab cluster controller status | cut -f 2,7,9)
want=$(printf 'action\tstate\tresult\nforce-move\tdone\t%s moves requested\nrebalance\tdone\t0 moves requested' "$moves")
check '[ "$status" = "$want" ]' "the answered requests read: $status"

echo "controller-requests: a crashed or blind controller fails the request; director mode leaves it queued"
cat > "$tmp/down.json" <<'JSON'
{
  "name": "controller-request-site-down",
  "seed": 3,
  "duration": "20m",
  "sites": [
    { "name": "DC1", "backends": { "count": 3, "name": "be%02d.dc1.example.com" } },
    { "name": "DC2", "backends": { "count": 3, "name": "be%02d.dc2.example.com" } }
  ],
  "users": { "count": 3000 },
  "timeline": [
    { "at": "5m", "site": "DC2", "doveadm": "cluster controller force-move be01.dc1.example.com 20" },
    { "at": "10m", "fault": { "site": "DC1", "crash": true } },
    { "at": "11m", "site": "DC2", "doveadm": "cluster controller rebalance DC1", "expect_rc": 75 },
    { "at": "12m", "fault": { "site": "DC2", "prometheus": "down" } },
    { "at": "13m", "site": "DC2", "doveadm": "cluster controller force-move be01.dc2.example.com 10", "expect_rc": 75 }
  ]
}
JSON
"$bin" run "$tmp/down.json" --out "$tmp/down" > "$tmp/down.out" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "the site-down run exited $rc: $(grep -E '^FAIL|clustersim' "$tmp/down.out" | head -3)"
status=$("$bin" doveadm --geodb "$tmp/down/geodb-DC2.sqlite" -f tab cluster controller status | cut -f 2,3,7,9)
want=$(printf 'action\tsite\tstate\tresult\nforce-move\tDC1\tdone\t%s\nrebalance\tDC1\tfailed\tthe controller of DC1 did not answer (site down)\nforce-move\tDC2\tfailed\tthe controller of DC2 could not carry it out (see events.csv)' \
    "$(rows "$tmp/down/moves.csv" | awk -F, '$3 == "force_move"' | wc -l | tr -d ' ') moves requested")
check '[ "$status" = "$want" ]' "the requests in DC2's replica read: $status"
check 'grep -q "exit 75: Error: controller request 2: the controller of DC1 did not answer" "$tmp/down/events.csv"' \
    "events.csv does not show the failed request"
cat > "$tmp/director.json" <<'JSON'
{
  "name": "controller-request-director",
  "seed": 3,
  "mode": "director",
  "duration": "10m",
  "sites": [ { "name": "DC1", "backends": { "count": 3, "name": "be%02d.dc1.example.com" } } ],
  "users": { "count": 1000 },
  "timeline": [
    { "at": "5m", "doveadm": "cluster controller force-move be01.dc1.example.com 20" }
  ]
}
JSON
"$bin" run "$tmp/director.json" --out "$tmp/director" > "$tmp/director.out" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "the director-mode run exited $rc: $(grep -E '^FAIL|clustersim' "$tmp/director.out" | head -3)"
state=$("$bin" doveadm --geodb "$tmp/director/geodb.sqlite" -f tab cluster controller status | awk -F '\t' 'NR == 2 { print $7 }')
check '[ "$state" = queued ]' "director mode left the request $state, not queued"

echo "controller-requests: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
