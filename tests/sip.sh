#!/usr/bin/env bash
# SIP call tracking end to end: generated calls of every outcome, and the
# public captures, checked call by call.
. "$CW_TESTLIB"
set -e

# ---- generated: every outcome, UDP, TCP split and coalesced, IPv4/IPv6 fragments
"$CW_GENCAP" sip "$T/sip.pcap" "$T/expected.json" >/dev/null
run_cw -r "$T/sip.pcap" -d "$T/data" --report json
expect_eq "generated: exit" "$rc" 0
echo "$out" >"$T/report.json"
expect_eq "generated: no malformed" "$(jq -c .capture.malformed "$T/report.json")" '{}'
expect_eq "generated: number of calls" "$(jq '.calls | length' "$T/report.json")" "$(jq length "$T/expected.json")"
for id in $(jq -r '.[].call_id' "$T/expected.json"); do
    want=$(jq -c --arg id "$id" '.[] | select(.call_id == $id) | [.outcome, .sip_code, .end_reason, .setup_ms]' "$T/expected.json")
    got=$(jq -c --arg id "$id" '[.calls[] | select(.call_id == $id)] | if length == 1 then .[0] | [.outcome, .sip_code, .end_reason, .setup_ms] else "found \(length) times" end' "$T/report.json")
    expect_eq "generated: $id" "$got" "$want"
done
# Every SIP message tshark sees (several may share a TCP segment), once.
tshark_msgs=$(tshark -r "$T/sip.pcap" -Y sip -T fields -e sip.CSeq 2>/dev/null | tr ',' '\n' | grep -c .)
expect_eq "generated: SIP messages = tshark" "$(jq .capture.sip_messages "$T/report.json")" "$tshark_msgs"
# The call records in the database match the report.
expect_eq "database: calls" "$(sqlite3 "$T/data/calls.sqlite" 'select count(*) from calls')" "$(jq '.calls | length' "$T/report.json")"
expect_eq "database: outcomes" \
    "$(sqlite3 "$T/data/calls.sqlite" "select call_id || '=' || outcome from calls order by call_id" | tr '\n' ' ')" \
    "$(jq -r '.calls | sort_by(.call_id) | map(.call_id + "=" + .outcome) | join(" ")' "$T/report.json") "
expect_eq "database: ladder kept" "$(sqlite3 "$T/data/calls.sqlite" "select json_array_length(record, '\$.messages') from calls where call_id = 'challenge'")" 8

# A narrower SIP port list ignores SIP elsewhere: tcp-coalesced uses 5080.
printf '[probe]\nsip_ports = 5060\n' >"$T/ports.ini"
run_cw -c "$T/ports.ini" -r "$T/sip.pcap" --report json
expect_eq "sip_ports: call on 5080 ignored" "$(echo "$out" | jq '[.calls[] | select(.call_id == "tcp-coalesced")] | length')" 0
expect_eq "sip_ports: others kept" "$(echo "$out" | jq '.calls | length')" $(( $(jq length "$T/expected.json") - 1 ))

# ---- public captures: outcome and final code of every call
check_public() {
    local file=$1 want=$2 got
    run_cw -r "$file" --report json
    expect_eq "$(basename "$file"): exit" "$rc" 0
    got=$(echo "$out" | jq -r '[.calls[] | "\(.outcome):\(.sip_code // 0)"] | sort | join(" ")')
    expect_eq "$(basename "$file"): calls" "$got" "$want"
}

P=$CW_CAPTURES/public
check_public "$P/sip-over-tcp.pcap" "answered:200"
check_public "$P/rtp-protocol.pcap" "answered:200"
check_public "$P/sip-488-codec-reject.pcapng" "failed:488"
check_public "$P/sip-routing-error.pcapng" "failed:404 failed:404"
check_public "$P/b2bua-asterisk.pcapng" "answered:200 answered:200"
check_public "$P/register-invite-reinvite-bye.pcap" "answered:200"
check_public "$P/rtpproxy_lost.a.pcap" ""

S=$CW_SHARED_CAPTURES
if [ -d "$S" ]; then
    check_public "$S/aaa.pcap" "cancelled:408 failed:403 failed:403 failed:480"
    check_public "$S/ipv6frag.pcap" "answered:200"
    check_public "$S/SIP_DTMF2.cap" "active:200 failed:603"
    check_public "$S/SIP_CALL_RTP_G711.pcap" "active:0 active:200"
    check_public "$S/sip-rtp-g711.pcap" "active:200 answered:200"
    check_public "$S/Asterisk_ZFONE_XLITE.pcap" "answered:200"
    # The media seen at this capture point stops at 65 s, 40 s before the
    # BYE of that leg: by the definition, dropped.
    check_public "$S/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap" "answered:200 dropped:200"
else
    echo "note: $S not present; the unbundled public captures were not checked"
fi

finish
