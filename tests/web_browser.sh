#!/usr/bin/env bash
# The dashboard in a real browser: headless Chromium driven over the
# DevTools protocol (tests/browser/dashboard.js, Node's own modules only)
# loads the overview, checks graphs and tables, zooms by dragging, filters
# and sorts calls, opens a call (its SIP ladder) and an incident, and proves
# that a From display name carrying HTML and script shows as text and runs
# nothing.
. "$CW_TESTLIB"
. "$CW_WEBLIB"
. "$CW_PGLIB"
set -e
trap 'pg_cleanup; cw_web_cleanup' EXIT

CHROMIUM=${CW_CHROMIUM:-/usr/bin/chromium}
"$CW_WEBGEN" "$T/web.pcap" "$T/web.json" >/dev/null
# A first run makes the database; an incident is added to it as the
# correlator would, then the dashboard serves both.
run_cw -r "$T/web.pcap" -d "$T/data" --report json
expect_eq "reference run" "$rc" 0
echo "$out" >"$T/report.json"
cap_start=$(jq '.capture.start' "$T/report.json")
cap_end=$(jq '.capture.end' "$T/report.json")
inc_start=$(jq '.capture.start + 3900 | floor' "$T/report.json")
inc_end=$((inc_start + 600))
record=$(jq -cn --argjson s "$inc_start" --argjson e "$inc_end" '{id: 7, kind: "drops_with_congestion",
    start: $s, end: $e, dropped_calls: 3, calls_affected: 5,
    evidence: {traffic_peak_bps: 95000000, link: {name: "wan0", util_max_pct: 97}, cpu: {name: "fw1", max_pct: 99}},
    top_talkers: [{src: "10.20.0.17", proto: "tcp", dport: 445, packets: 120000, bytes: 7200000, fanout: 4312}]}')
sqlite3 "$T/data/calls.sqlite" "INSERT INTO incidents (id, kind, start, end, record) VALUES (7, 'drops_with_congestion', $inc_start, $inc_end, '$record')"
start_cw "$T/browser.log" -r "$T/web.pcap" -d "$T/data" --web 127.0.0.1:0
PROBE_PID=$CW_PID PROBE_URL=$URL
get /api/incidents
expect_eq "the incident is served" "$(jq '.incidents | length' "$T/body")" 1

# The central dashboard over two sites: the same capture analysed as sites
# A and B into one PostgreSQL database, their series in the folders of a
# base directory the central dashboard reads.
pg_setup
for s in A B; do
    printf '[probe]\nsite = %s\n[calldb]\nurl = %s\n' "$s" "$PGURL" >"$T/$s.ini"
    run_cw -c "$T/$s.ini" -r "$T/web.pcap" -d "$T/sites/$s" --web off --report json
    expect_eq "site $s analysed" "$rc" 0
done
printf '[probe]\nsite = hq\n[calldb]\nurl = %s\n' "$PGURL" >"$T/central.ini"
WAIT_FOR=dashboard start_cw "$T/central.log" --central -c "$T/central.ini" -d "$T/sites" --web 127.0.0.1:0
CENTRAL_URL=$URL
get /api/status
expect_eq "central: two sites" "$(jq -c '[.sites[].site]' "$T/body")" '["A","B"]'
URL=$PROBE_URL CW_PID=$PROBE_PID

export CW_CENTRAL_URL="$CENTRAL_URL" CW_SITE="$(jq -r .site "$T/report.json")"
export CW_EVIL_ID CW_INCIDENT_ID=7 CW_CAPTURE_START="$cap_start" CW_CAPTURE_END="$cap_end"
CW_EVIL_ID=$(jq -r '.[] | select(.call_id | startswith("evil")) | .call_id' "$T/web.json")
set +e
timeout 120 node "$CW_BROWSER" "$CHROMIUM" "$URL" "$T/profile" "${CW_SHOTS:-$T/shots}" >"$T/browser.out" 2>&1
brc=$?
set -e
cat "$T/browser.out"
while IFS= read -r line; do
    case $line in
    "ok - "*) checks=$((checks + 1)) ;;
    "FAIL: "*) failures=$((failures + 1)) ;;
    esac
done <"$T/browser.out"
expect_eq "browser driver exit" "$brc" 0
expect_match "browser driver summary" "$(tail -1 "$T/browser.out")" '^[1-9][0-9]* passed, 0 failed$'
stop_cw TERM
expect_eq "SIGTERM: exit 0" "$stop_rc" 0
finish
