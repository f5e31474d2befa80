#!/usr/bin/env bash
# The network lab end to end (captures/lab/, see its README.md).
#
# Live: brings the lab up, runs a short incident (four calls, a TCP/445 scan
# saturating the firewall's 512 kbit/s uplink, three calls dropping) with
# callwatch capturing the firewall's WAN veth and polling the firewall's
# snmpd, and checks that the drops_with_congestion incident is raised within
# 60 s of the first drop, names the scanner, and that every call ends as
# the scenario made it end.
# Offline: analyses every committed recording captures/lab/NAME.pcap with
# its SNMP series (NAME.link.xml, NAME.cpu.xml restored with rrdtool) and
# NAME.ini, and compares the report with NAME.expected.json: each call's
# outcome, final code and end reason; each RTP stream's packets and loss
# against tshark's; the incident's kind, window and talker.
#
# Needs root (network namespaces); skipped otherwise.  Takes about 2-3
# minutes, most of it the live incident (CW_LAB_LIVE=no leaves it out).
. "$CW_TESTLIB"
set -e
LAB=$CW_CAPTURES/lab
if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: the lab needs root (network namespaces)"
    exit 77
fi
for t in ip iptables tc tcpdump snmpd snmpget sipp rrdtool tshark jq cc pkg-config; do
    command -v "$t" >/dev/null || {
        echo "FAIL: $t is missing (quickstart.sh TEST_PACKAGES installs it)" >&2
        exit 1
    }
done

export CWLAB_RUN=$T/lab-run
export CWLAB_OUT=$T/live
cw_pid=
cleanup() {
    [ -n "$cw_pid" ] && kill "$cw_pid" 2>/dev/null || true
    "$LAB/lab.sh" down >/dev/null 2>&1 || true
    rm -rf "$T"
}
trap cleanup EXIT

# The one part of an expected file a check needs: jq on it.
xq() { jq -r "$2" "$1"; }

# check_report NAME REPORT EXPECTED: the report against the ground truth.
check_report() {
    local name=$1 rep=$2 exp=$3 id want got n k
    expect_eq "$name: number of calls" "$(jq '.calls | length' "$rep")" "$(jq '.calls | length' "$exp")"
    for id in $(xq "$exp" '.calls[].call_id'); do
        want=$(jq -c --arg id "$id" '.calls[] | select(.call_id == $id) | [.outcome, .sip_code, .end_reason]' "$exp")
        got=$(jq -c --arg id "$id" '[.calls[] | select(.call_id == $id)]
            | if length == 1 then .[0] | [.outcome, .sip_code, .end_reason] else "found \(length) times" end' "$rep")
        expect_eq "$name: $id" "$got" "$want"
    done
    # A dropped call ends when its media stopped (within a packet interval
    # and a step of the last packet before the silence).
    for id in $(xq "$exp" '.calls[] | select(.outcome == "dropped") | .call_id'); do
        want=$(jq --arg id "$id" '.calls[] | select(.call_id == $id) | .media_end' "$exp")
        got=$(jq --arg id "$id" '.calls[] | select(.call_id == $id) | .end // 0' "$rep")
        expect_eq "$name: $id ends when its media stopped ($want)" \
            "$(jq -n --argjson g "$got" --argjson w "$want" '($g - $w) | fabs < 1')" true
    done
    # Every RTP stream tshark sees, with its packets and loss.
    n=$(jq '.tshark.rtp_streams | length' "$exp")
    if [ "$n" -gt 0 ]; then
        expect_eq "$name: RTP streams" "$(jq '.streams | length' "$rep")" "$n"
        for k in $(seq 0 $((n - 1))); do
            want=$(jq -c ".tshark.rtp_streams[$k] | [.src, .dst, (.ssrc | ascii_downcase), .packets, .lost]" "$exp")
            got=$(jq -c --argjson w "$want" '[.streams[] | select(.src == $w[0] and .dst == $w[1]
                    and (.ssrc | ascii_downcase) == $w[2])]
                | if length == 1 then .[0] | [.src, .dst, (.ssrc | ascii_downcase), .packets, .lost]
                  else "found \(length) times" end' "$rep")
            expect_eq "$name: stream $(jq -r '"\(.[0]) > \(.[1]) \(.[2])"' <<<"$want") [packets, lost]" "$got" "$want"
        done
    fi
    # A loss impairment: exactly what impair dropped is lost.
    for k in $(jq -r '.impairments[] | select(.kind == "loss") | .streams[] | "\(.src)|\(.dst)|\(.dropped)"' "$exp"); do
        IFS='|' read -r s d want <<<"$k"
        expect_eq "$name: $s > $d lost what the firewall dropped" \
            "$(jq --arg s "$s" --arg d "$d" '[.streams[] | select(.src == $s and .dst == $d) | .lost] | add' "$rep")" "$want"
    done
    # A jitter impairment: the delayed stream's jitter as tshark measures it.
    for k in $(jq -r '.impairments[] | select(.kind == "jitter") | .streams[] | "\(.src)|\(.dst)"' "$exp"); do
        IFS='|' read -r s d <<<"$k"
        want=$(jq --arg s "$s" --arg d "$d" '.tshark.rtp_streams[] | select(.src == $s and .dst == $d) | .jitter_max_ms' "$exp")
        got=$(jq --arg s "$s" --arg d "$d" '[.streams[] | select(.src == $s and .dst == $d) | .jitter_max_ms] | max // -1' "$rep")
        expect_eq "$name: $s > $d max jitter $got ms near tshark's $want ms" \
            "$(jq -n --argjson g "$got" --argjson w "$want" '($g - $w) | fabs <= ([0.5, $w * 0.05] | max)')" true
    done
    # Incidents: the expected kind overlapping its window, naming the talker;
    # none of that kind where none is expected.
    if [ "$(jq '.incidents | length' "$exp")" -eq 0 ]; then
        expect_eq "$name: no drops_with_congestion" \
            "$(jq '[.incidents[] | select(.kind == "drops_with_congestion")] | length' "$rep")" 0
    fi
    for k in $(jq -r '.incidents[] | "\(.kind)|\(.start)|\(.end)|\(.talker)|\(.dropped_calls)"' "$exp" | tr ' ' '_'); do
        local kind s e talker drops inc
        IFS='|' read -r kind s e talker drops <<<"$k"
        talker=${talker//_/ }
        inc="[.incidents[] | select(.kind == \"$kind\" and .start <= $e and .end >= $s)]"
        expect_eq "$name: one $kind overlapping $s..$e" "$(jq "$inc | length" "$rep")" 1
        expect_eq "$name: $kind opened within 60 s of the first drop ($s)" \
            "$(jq "$inc | .[0].start // 0 | . >= $s - 60 and . <= $s + 60" "$rep")" true
        expect_eq "$name: $kind dropped calls" "$(jq "$inc | .[0].dropped_calls // 0 | . >= $drops" "$rep")" true
        expect_eq "$name: $kind talker" \
            "$(jq -r "$inc | .[0].top_talkers // [] | map(\"\(.src) \(.proto)/\(.dport)\") | index(\"$talker\") != null" "$rep")" true
        expect_eq "$name: $kind link evidence from the SNMP series (>= 80 %)" \
            "$(jq "$inc | .[0].evidence.link.util_max_pct // 0 | . >= 80" "$rep")" true
    done
}

# ---------------------------------------------------------------- live
# CW_LAB_LIVE=no leaves the live part out (the offline checks still run):
# for a second build's `make check` in the same CI run, say.
if [ "${CW_LAB_LIVE:-yes}" != no ]; then
"$LAB/lab.sh" up
cat >"$T/on-incident.sh" <<SH
#!/bin/sh
echo "\$(date +%s.%N) \$CALLWATCH_EVENT \$CALLWATCH_INCIDENT \$CALLWATCH_KIND" >>"$T/alerts.log"
cat >/dev/null
SH
chmod +x "$T/on-incident.sh"
cat >"$T/live.ini" <<INI
[probe]
rtp_timeout = 10
step = 10

[link wan0]
snmp = 127.0.0.1:161
community = cwlab
ifname = wan0
speed = 512k
interval = 5

[cpu fw1]
snmp = 127.0.0.1:161
community = cwlab
preset = ucd
interval = 5

[alert]
exec = $T/on-incident.sh
INI
ip netns exec cwlab-fw "$CW_BIN" -i wan0 -c "$T/live.ini" -d "$T/data" --web off --report json \
    >"$T/live-report.json" 2>"$T/live.err" &
cw_pid=$!
sleep 2
kill -0 "$cw_pid" 2>/dev/null || {
    cat "$T/live.err" >&2
    fail "live: callwatch did not start"
}
"$LAB/lab.sh" run incident
set +e
kill -TERM "$cw_pid"
wait "$cw_pid"
rc=$?
set -e
cw_pid=
expect_eq "live: callwatch exit on SIGTERM" "$rc" 0
exp=$CWLAB_OUT/incident.expected.json
first_drop=$(jq '[.calls[] | select(.outcome == "dropped") | .media_end] | min' "$exp")
# The lab itself must have done its part: the scan starved the echo calls'
# media for longer than rtp_timeout plus callwatch's 1 s tick.
expect_eq "live: the scan silenced 3 calls both ways for > 11.5 s ($(jq -c '[.calls[] | .media_silence_s // empty | . * 10 | round / 10]' "$exp"))" \
    "$(jq '[.calls[] | select(.outcome == "dropped" and (.media_silence_s // 0) > 11.5)] | length' "$exp")" 3
opened=$(awk '$2 == "open" && $4 == "drops_with_congestion" { print $1; exit }' "$T/alerts.log" 2>/dev/null || true)
expect_match "live: drops_with_congestion raised (alerts: $(tr '\n' ';' <"$T/alerts.log" 2>/dev/null))" "${opened:-none}" '^[0-9.]+$'
if [ -n "$opened" ]; then
    expect_eq "live: raised $(jq -n "$opened - $first_drop | . * 10 | round / 10") s after the first drop (<= 60 s)" \
        "$(jq -n "$opened - $first_drop | . >= 0 and . <= 60")" true
fi
if jq -e . "$T/live-report.json" >/dev/null 2>&1; then
    check_report live "$T/live-report.json" "$exp"
else
    fail "live: no JSON report ($(head -c 300 "$T/live.err"))"
fi
"$LAB/lab.sh" down
fi

# ---------------------------------------------------------------- recordings
n=0
for exp in "$LAB"/*.expected.json; do
    [ -e "$exp" ] || continue
    name=$(basename "$exp" .expected.json)
    d=$T/off/$name
    mkdir -p "$d"
    rrdtool restore -f "$LAB/$name.link.xml" "$d/$name.link.rrd"
    rrdtool restore -f "$LAB/$name.cpu.xml" "$d/$name.cpu.rrd"
    sed "s|^rrd = |rrd = $d/|" "$LAB/$name.ini" >"$d/$name.ini"
    run_cw -c "$d/$name.ini" -r "$LAB/$name.pcap" --report json
    expect_eq "$name: exit" "$rc" 0
    echo "$out" >"$d/report.json"
    if jq -e . "$d/report.json" >/dev/null 2>&1; then
        check_report "$name" "$d/report.json" "$exp"
    else
        fail "$name: no JSON report ($err)"
    fi
    n=$((n + 1))
done
expect_eq "at least three lab recordings" "$([ "$n" -ge 3 ] && echo yes)" yes
finish
