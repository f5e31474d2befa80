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

# Per-site series: a [group] counts the calls, streams and traffic of its
# subnets in its own RRD files.
cat >"$T/groups.ini" <<'INI'
[group office]
subnets = 10.1.0.0/24, 2001:db8:1::/48
[group siteb]
subnets = 10.2.0.20/32
INI
run_cw -c "$T/groups.ini" -r "$T/sip.pcap" -d "$T/gdata" --report json
expect_eq "groups: exit" "$rc" 0
rrd_sum() { # FILE DS: the sum of a DS over the capture
    rrdtool fetch "$1" AVERAGE -r 10 -s 1699999990 -e 1700000100 |
        awk -v ds="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == ds) c = i + 1}
                        NR > 2 && $c != "-nan" && $c != "nan" {s += $c} END {printf "%d\n", s + 0.5}'
}
expect_eq "groups: office attempts = every call" "$(rrd_sum "$T/gdata/group-office.calls.rrd" attempts)" \
    "$(jq length "$T/expected.json")"
expect_eq "groups: office dropped" "$(rrd_sum "$T/gdata/group-office.calls.rrd" dropped)" \
    "$(jq '[.[] | select(.outcome == "dropped")] | length' "$T/expected.json")"
expect_eq "groups: office failed" "$(rrd_sum "$T/gdata/group-office.calls.rrd" failed)" \
    "$(jq '[.[] | select(.outcome == "failed")] | length' "$T/expected.json")"
expect_eq "groups: siteb has the one call to 10.2.0.20" "$(rrd_sum "$T/gdata/group-siteb.calls.rrd" attempts)" 1
expect_eq "groups: siteb traffic is that call's packets" \
    "$(rrdtool fetch "$T/gdata/group-siteb.traffic.rrd" AVERAGE -r 10 -s 1699999990 -e 1700000100 |
       awk 'NR > 2 && $3 != "-nan" {s += $3} END {printf "%d\n", s * 10 + 0.5}')" \
    "$(tshark -r "$T/sip.pcap" -Y 'ip.addr == 10.2.0.20' 2>/dev/null | wc -l)"

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
