#!/usr/bin/env bash
# The corners of call accounting seen in real captures, end to end on
# generated captures: calls seen only from the middle of their dialogs,
# media addresses and SSRCs used again by a later call (a day later, in a
# second file), RTP no SDP announced (several SSRCs on one address pair, a
# DTMF digit of three packets), ICMP errors quoting SIP and RTP, and SIP
# over WebSocket.  tshark checks what it can see: SIP messages, RTP streams.
. "$CW_TESTLIB"
set -e

# check_calls NAME REPORT EXPECTED: every expected call, once, as expected.
check_calls() {
    local name=$1 report=$2 expected=$3 id want got
    expect_eq "$name: number of calls" "$(jq '.calls | length' "$report")" "$(jq length "$expected")"
    for id in $(jq -r '.[].call_id' "$expected"); do
        want=$(jq -c --arg id "$id" '.[] | select(.call_id == $id) |
            [.outcome, .sip_code, .end_reason, .partial, .transport, .streams]' "$expected")
        got=$(jq -c --arg id "$id" '[.calls[] | select(.call_id == $id)] |
            if length == 1 then .[0] | [.outcome, .sip_code, .end_reason, (.partial // false),
                                      .transport, (.streams | map(.packets))]
            else "found \(length) times" end' "$report")
        expect_eq "$name: $id" "$got" "$want"
    done
}

# tshark_sip FILE [OPTS]: SIP messages tshark reads, ICMP quotes aside.
tshark_sip() {
    # shellcheck disable=SC2086
    tshark -r "$1" ${2:-} -Y 'sip && !icmp && !icmpv6' -T fields -e sip.CSeq 2>/dev/null |
        tr ',' '\n' | grep -c .
}

# rrd_sum FILE DS: the sum of a DS over the capture's steps.
rrd_sum() {
    rrdtool fetch "$1" AVERAGE -r 10 -s 1699999990 -e 1700000100 |
        awk -v ds="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == ds) c = i + 1}
                        NR > 2 && $c != "-nan" && $c != "nan" {s += $c} END {printf "%d\n", s + 0.5}'
}

# ---- partial dialogs
"$CW_GENCAP" partial "$T/partial.pcap" "$T/partial.json"
cat >"$T/partial.ini" <<'INI'
[group lab]
subnets = 10.20.0.0/16
INI
run_cw -c "$T/partial.ini" -r "$T/partial.pcap" -d "$T/pdata" --report json
expect_eq "partial: exit" "$rc" 0
echo "$out" >"$T/partial.out"
check_calls partial "$T/partial.out" "$T/partial.json"
expect_eq "partial: SIP messages = tshark" "$(jq .capture.sip_messages "$T/partial.out")" \
    "$(tshark_sip "$T/partial.pcap")"
expect_eq "partial: whole calls without partial" \
    "$(jq -c '[.calls[] | select(has("partial") | not) | .call_id]' "$T/partial.out")" '["whole-1"]'
expect_eq "partial: streams without a call" "$(jq '[.streams[] | select(.call_id == null)] | length' "$T/partial.out")" 0
# Counted nowhere: one attempt, one answer, no drop, in the calls.* series
# and the group's.
expect_eq "partial: calls.attempts" "$(rrd_sum "$T/pdata/calls.rrd" attempts)" 1
expect_eq "partial: calls.answered" "$(rrd_sum "$T/pdata/calls.rrd" answered)" 1
expect_eq "partial: calls.dropped" "$(rrd_sum "$T/pdata/calls.rrd" dropped)" 0
expect_eq "partial: group attempts" "$(rrd_sum "$T/pdata/group-lab.calls.rrd" attempts)" 1
expect_eq "partial: group dropped" "$(rrd_sum "$T/pdata/group-lab.calls.rrd" dropped)" 0
expect_eq "partial: database keeps them" \
    "$(sqlite3 "$T/pdata/calls.sqlite" "select count(*) from calls where json_extract(record, '\$.partial')")" 4
run_cw -r "$T/partial.pcap" --report text
expect_match "partial: text totals" "$out" 'Calls: 1 \(and 4 partial\)'
expect_match "partial: text marks them" "$(echo "$out" | grep -c '\] *partial$')" '^4$'

# ---- media addresses and SSRCs used again, a day later
"$CW_GENCAP" reuse "$T/a.pcap" "$T/b.pcap" "$T/reuse.json"
run_cw -r "$T/a.pcap" -r "$T/b.pcap" --report json
expect_eq "reuse: exit" "$rc" 0
echo "$out" >"$T/reuse.out"
check_calls reuse "$T/reuse.out" "$T/reuse.json"
expect_eq "reuse: six streams" "$(jq '.streams | length' "$T/reuse.out")" 6
run_cw -r "$T/a.pcap" --report json
expect_eq "reuse: the first file alone" "$(echo "$out" | jq -c '[.calls[0].streams[].packets]')" \
    "$(jq -c '.[0].streams' "$T/reuse.json")"

# A real SIPp scenario run twice (captures/lab/README.md): one stream a
# direction per call, where tshark lists one of twice the packets.
run_cw -r "$CW_CAPTURES/lab/sipp-twice.pcap" --report json
expect_eq "sipp twice: exit" "$rc" 0
expect_eq "sipp twice: calls and their streams" \
    "$(echo "$out" | jq -c '[.calls[] | [.outcome, [.streams[] | [.ssrc, .packets]]]]')" \
    '[["answered",[["0xCA110000",150],["0xCA110000",150]]],["answered",[["0xCA110000",150],["0xCA110000",150]]]]'
expect_eq "sipp twice: tshark's packets per direction" \
    "$(tshark -r "$CW_CAPTURES/lab/sipp-twice.pcap" -q -z rtp,streams 2>/dev/null |
        awk '$7 == "0xCA110000" { print $9 }' | sort -u)" 300

# ---- RTP no SDP announced: the streams tshark's heuristic finds
"$CW_GENCAP" unannounced "$T/un.pcap"
run_cw -r "$T/un.pcap" --report json
expect_eq "unannounced: exit" "$rc" 0
got=$(echo "$out" | jq -r '.streams[] | "\(.src) \(.dst) \(.ssrc) \(.packets)"' | sort)
want=$(tshark -r "$T/un.pcap" -o rtp.heuristic_rtp:TRUE -q -z rtp,streams 2>/dev/null |
    awk '$4 ~ /^[0-9]+$/ && $7 ~ /^0x/ { n = NF; if ($n == "X") n--;
         print $3 ":" $4, $5 ":" $6, $7, $(n - 8) }' | sort)
expect_eq "unannounced: streams = tshark's" "$got" "$want"
expect_eq "unannounced: four streams" "$(echo "$got" | grep -c .)" 4
expect_eq "unannounced: in order of first packet" "$(echo "$out" | jq -c '[.streams[].ssrc]')" \
    '["0x000000A1","0x000000A2","0x000000B1","0x000000A3"]'

# ---- ICMP errors that quote SIP and RTP
"$CW_GENCAP" icmp "$T/icmp.pcap"
run_cw -r "$T/icmp.pcap" --report json
expect_eq "icmp: exit" "$rc" 0
echo "$out" >"$T/icmp.out"
expect_eq "icmp: only the real call" "$(jq -c '[.calls[].call_id]' "$T/icmp.out")" '["icmp-real"]'
expect_eq "icmp: its two streams only" "$(jq -c '[.streams[].call_id]' "$T/icmp.out")" \
    '["icmp-real","icmp-real"]'
expect_eq "icmp: SIP messages = tshark's outside ICMP" "$(jq .capture.sip_messages "$T/icmp.out")" \
    "$(tshark_sip "$T/icmp.pcap")"
expect_eq "icmp: tshark reads SIP inside ICMP" \
    "$(tshark -r "$T/icmp.pcap" -Y 'sip && (icmp || icmpv6)' 2>/dev/null | wc -l)" 2
expect_eq "icmp: packets = tshark" "$(jq .capture.packets "$T/icmp.out")" "$(tshark_count "$T/icmp.pcap")"
expect_eq "icmp: nothing malformed" "$(jq -c .capture.malformed "$T/icmp.out")" '{}'
expect_eq "icmp: ICMPv4 counted in traffic" \
    "$(jq -c '[.top_talkers[] | select(.proto == "icmp") | [.src, .packets]]' "$T/icmp.out")" \
    '[["10.50.0.99",11]]'
expect_eq "icmp: ICMPv6 counted in traffic" \
    "$(jq -c '[.top_talkers[] | select(.proto == "icmpv6") | [.src, .packets]]' "$T/icmp.out")" \
    '[["2001:db8:50::99",11]]'

# ---- SIP over WebSocket
"$CW_GENCAP" ws "$T/ws.pcap" "$T/ws.json"
run_cw -r "$T/ws.pcap" --report json
expect_eq "ws: exit" "$rc" 0
echo "$out" >"$T/ws.out"
check_calls ws "$T/ws.out" "$T/ws.json"
expect_eq "ws: nothing malformed" "$(jq -c .capture.malformed "$T/ws.out")" '{}'
# tshark follows the HTTP upgrade on any port by itself.
expect_eq "ws: SIP messages = tshark" "$(jq .capture.sip_messages "$T/ws.out")" \
    "$(tshark_sip "$T/ws.pcap")"
# Cut short: a capture that ends inside a frame loses that message only.
head -c $(( $(stat -c %s "$T/ws.pcap") - 700 )) "$T/ws.pcap" >"$T/ws-cut.pcap"
run_cw -r "$T/ws-cut.pcap" --report json
expect_eq "ws: cut short, exit" "$rc" 0
expect_eq "ws: cut short, nothing malformed" "$(echo "$out" | jq -c '.capture.malformed')" '{}'

finish
