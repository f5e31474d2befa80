#!/usr/bin/env bash
# Incidents end to end: the branch-office scenario raises exactly one
# drops_with_congestion incident naming the scanner; its controls raise
# none; the webhook, the exec program and syslog each get the opening and
# the resolution exactly once.
. "$CW_TESTLIB"
set -e
HERE=$(cd "$(dirname "$CW_TESTLIB")" && pwd)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$T"
}
trap cleanup EXIT

"$CW_GENCAP" incident "$T/incident.pcap" >/dev/null
for v in no-scan no-drops ramp; do "$CW_GENCAP" incident "$T/$v.pcap" "$v" >/dev/null; done
base=1700000000

# ---- the scenario and its controls
run_cw -r "$T/incident.pcap" --report json
expect_eq "incident: exit" "$rc" 0
echo "$out" >"$T/report.json"
expect_eq "incident: one drops_with_congestion" \
    "$(jq '[.incidents[] | select(.kind == "drops_with_congestion")] | length' "$T/report.json")" 1
inc='.incidents[] | select(.kind == "drops_with_congestion")'
# The scan runs from 600 to 720 s; the drops from 630 to 654 s.
expect_eq "incident: overlaps the scan" \
    "$(jq "$inc | (.start - $base) <= 654 and (.end - $base) >= 630" "$T/report.json")" true
expect_eq "incident: raised within 60 s of the first drop" \
    "$(jq "$inc | (.start - $base) >= 540 and (.start - $base) <= 690" "$T/report.json")" true
expect_eq "incident: dropped calls" "$(jq "$inc | .dropped_calls" "$T/report.json")" \
    "$(jq '[.calls[] | select(.outcome == "dropped")] | length' "$T/report.json")"
expect_eq "incident: scanner named" \
    "$(jq -r "$inc | .top_talkers | map(select(.scanner)) | .[0] | \"\(.src) \(.proto)/\(.dport)\"" "$T/report.json")" \
    "10.20.0.17 tcp/445"
expect_match "incident: summary" "$(jq -r "$inc | .summary" "$T/report.json")" "calls dropped.*10\.20\.0\.17 tcp/445 to [0-9]+ hosts"
expect_eq "incident: traffic peak above 800 kbit/s" "$(jq "$inc | .evidence.traffic_peak_bps > 800000" "$T/report.json")" true
expect_eq "incident: top talkers in the report" "$(jq -r '.top_talkers | map(select(.scanner)) | .[0].dport' "$T/report.json")" 445

for v in no-scan no-drops ramp; do
    run_cw -r "$T/$v.pcap" --report json
    expect_eq "control $v: exit" "$rc" 0
    expect_eq "control $v: no drops_with_congestion" \
        "$(echo "$out" | jq '[.incidents[] | select(.kind == "drops_with_congestion")] | length')" 0
done
run_cw -r "$T/no-scan.pcap" --report json
expect_eq "control no-scan: drops alone are call_degradation" \
    "$(echo "$out" | jq -c '[.incidents[].kind]')" '["call_degradation"]'

# ---- delivery: webhook (Alertmanager format), exec, syslog
python3 "$HERE/webhook_receiver.py" "$T/port" "$T/hooks.jsonl" 1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
cat >"$T/page.sh" <<SH
#!/bin/sh
{ cat; echo " \$CALLWATCH_EVENT \$CALLWATCH_INCIDENT \$CALLWATCH_KIND"; } >>"$T/exec.out"
SH
chmod +x "$T/page.sh"
cat >"$T/alert.ini" <<INI
[alert]
syslog = yes
webhook = http://127.0.0.1:$(cat "$T/port")/api/v2/alerts
exec = $T/page.sh
INI
# syslog(3) writes to /dev/log: callwatch runs in a mount namespace whose
# /dev holds the receiver's socket (and the few devices a process needs).
mkdir "$T/dev"
mknod -m 666 "$T/dev/null" c 1 3
mknod -m 666 "$T/dev/zero" c 1 5
mknod -m 666 "$T/dev/urandom" c 1 9
mknod -m 666 "$T/dev/random" c 1 8
python3 "$HERE/syslog_receiver.py" "$T/dev/log" "$T/syslog.out" &
pids+=($!)
for _ in $(seq 100); do [ -e "$T/syslog.out.ready" ] && break; sleep 0.1; done
set +e
unshare -m sh -c "mount --bind '$T/dev' /dev && exec '$CW_BIN' -c '$T/alert.ini' -r '$T/incident.pcap' -d '$T/data' --report json" >"$T/out" 2>"$T/err"
rc=$?
set -e
expect_eq "delivery: exit" "$rc" 0
sleep 0.5
expect_eq "webhook: one opening, one resolution (after a 500 and a retry)" \
    "$(jq -c '[.body[0] | has("endsAt")]' "$T/hooks.jsonl" | tr -d '\n')" '[false][true]'
expect_eq "webhook: Alertmanager path" "$(jq -r .path "$T/hooks.jsonl" | sort -u)" "/api/v2/alerts"
expect_eq "webhook: alert name" "$(jq -r '.body[0].labels.alertname' "$T/hooks.jsonl" | sort -u)" "CallsDroppedWithCongestion"
expect_match "webhook: startsAt RFC 3339" "$(jq -r '.body[0].startsAt' "$T/hooks.jsonl" | head -1)" '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$'
expect_eq "webhook: incident in the annotations" \
    "$(jq -r '.body[0].annotations.description | fromjson | .kind' "$T/hooks.jsonl" | sort -u)" "drops_with_congestion"
expect_eq "exec: two runs, incident JSON on stdin" \
    "$(grep -o '^{.*} [a-z]* [0-9]* [a-z_]*$' "$T/exec.out" | sed 's/^{.*} //' | tr '\n' ';')" \
    "open 1 drops_with_congestion;resolved 1 drops_with_congestion;"
expect_eq "exec: JSON parses" "$(grep -o '^{.*}' "$T/exec.out" | jq -s 'map(.id) | unique')" "$(printf '[\n  1\n]')"
expect_eq "syslog: opening and resolution" \
    "$(grep -o 'incident=1 state=[a-z]* kind=[a-z_]*' "$T/syslog.out" | tr '\n' ';')" \
    "incident=1 state=open kind=drops_with_congestion;incident=1 state=resolved kind=drops_with_congestion;"
expect_match "syslog: structured fields" "$(head -1 "$T/syslog.out")" 'callwatch\[[0-9]+\]: incident=1 .*dropped_calls=[0-9]+ .*top_talker="10\.20\.0\.17 tcp/445'
expect_eq "database: incident stored resolved" \
    "$(sqlite3 "$T/data/calls.sqlite" "select kind || ' ' || json_extract(record, '\$.state') from incidents")" \
    "drops_with_congestion resolved"

# A second run into the same database continues the incident ids.
run_cw -r "$T/incident.pcap" -d "$T/data" --report json
expect_eq "database: ids continue" "$(echo "$out" | jq '[.incidents[].id]')" "$(printf '[\n  2\n]')"

finish
