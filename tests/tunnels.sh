#!/usr/bin/env bash
# Captures wrapped in every encapsulation callwatch reads (wrapcap) give
# the report the unwrapped capture gives: the same calls with the same
# outcomes, the same streams with the same statistics.  Also nesting, the
# depth bound, outer fragments, the UDP port settings, and tshark's view of
# the wrapped captures: it decodes every one of these, and must see the
# same SIP and RTP as in the unwrapped capture.
. "$CW_TESTLIB"
set -e

WRAP=${CW_WRAPCAP:?CW_WRAPCAP not set}
mapfile -t kinds < <("$WRAP" list)
[ "${#kinds[@]}" -ge 20 ] || fail "wrapcap list gives ${#kinds[@]} kinds"

# The counters a kind's packets go into.
counters() {
    case $1 in
    mpls*) echo mpls ;;
    pppoe) echo pppoe ;;
    erspan*) echo "gre erspan" ;;
    gre*) echo gre ;;
    vxlan) echo vxlan ;;
    geneve*) echo geneve ;;
    ipip | ip6ip) echo ipip ;;
    gtpu*) echo gtpu ;;
    tzsp*) echo tzsp ;;
    esac
}

# The kinds that carry the whole Ethernet frame: the packet's length, and
# so the top talkers, stay what they were.
carries_ethernet() {
    case $1 in mpls-pw | gre-eth | erspan* | vxlan | geneve | geneve-opts | tzsp*) return 0 ;; esac
    return 1
}

# report CAPTURE OUT [ARGS...]: callwatch's JSON report of CAPTURE in OUT.
report() {
    local f=$1 o=$2
    shift 2
    "$CW_BIN" -r "$f" --report json --web off -q "$@" >"$o"
}

# What must not change: every call and every stream, key by key; then
# the top talkers, the malformed frames and the encapsulations, one line
# each.
summary() {
    jq -S -c -r '{calls, streams}, .top_talkers, (.capture.malformed | del(.sip_unparseable)),
        (.capture.encapsulation // {} | to_entries | map("\(.key):\(.value)") | sort | join(","))' "$1"
}

captures=("$CW_CAPTURES"/public/*.pcap "$CW_CAPTURES"/public/*.pcapng "$CW_CAPTURES/lab/incident.pcap")
"$CW_GENCAP" sip "$T/gen-sip.pcap" "$T/gen-sip.expected" >/dev/null
"$CW_GENCAP" rtp-sdp "$T/gen-rtp-sdp.pcap" >/dev/null
"$CW_GENCAP" rtp "$T/gen-rtp.pcap" >/dev/null
captures+=("$T/gen-sip.pcap" "$T/gen-rtp-sdp.pcap" "$T/gen-rtp.pcap")

for f in "${captures[@]}"; do
    name=$(basename "$f")
    report "$f" "$T/plain.json"
    { read -r cs; read -r tt; } < <(summary "$T/plain.json")
    [ "$cs" != '{"calls":[],"streams":[]}' ] || fail "$name: no calls and no streams to compare"
    for k in "${kinds[@]}"; do
        wrapped=$("$WRAP" "$k" "$f" "$T/w.pcap" | awk '{ print $4 }')
        report "$T/w.pcap" "$T/w.json"
        { read -r wcs; read -r wtt; read -r wmal; read -r wenc; } < <(summary "$T/w.json")
        if [ "$wcs" = "$cs" ]; then
            pass "$name in $k: calls and streams as unwrapped"
        else
            fail "$name in $k: calls or streams differ: $(diff <(echo "$cs" | jq .) <(echo "$wcs" | jq .) | head -5)"
        fi
        want=$(for c in $(counters "$k"); do echo "$c:$wrapped"; done | sort | paste -sd,)
        expect_eq "$name in $k: packets out of each" "$wenc" "$want"
        expect_eq "$name in $k: malformed" "$wmal" '{}'
        if carries_ethernet "$k"; then
            expect_eq "$name in $k: top talkers as unwrapped" "$([ "$wtt" = "$tt" ] && echo same)" same
        fi
    done
done

# Nested, innermost first: VXLAN in GRE in MPLS; GTP-U in IP in IP in
# PPPoE; TZSP in ERSPAN III in IPv6 in MPLS (four, the bound).
f="$T/gen-sip.pcap"
report "$f" "$T/plain.json"
cs=$(summary "$T/plain.json" | head -1)
for nest in vxlan,gre,mpls gtpu-ext,ipip,pppoe tzsp-tags,erspan3-sub,ip6ip,mpls3 \
    vxlan,vxlan,vxlan,vxlan geneve-opts,gre-all,ipip,mpls-pw; do
    "$WRAP" "$nest" "$f" "$T/w.pcap" >/dev/null
    report "$T/w.pcap" "$T/w.json"
    expect_eq "sip in $nest: calls and streams as unwrapped" \
        "$([ "$(summary "$T/w.json" | head -1)" = "$cs" ] && echo same)" same
    expect_eq "sip in $nest: malformed" "$(summary "$T/w.json" | sed -n 3p)" '{}'
done
"$WRAP" vxlan,vxlan,vxlan,vxlan "$f" "$T/w.pcap" >/dev/null
report "$T/w.pcap" "$T/w.json"
expect_eq "four VXLAN deep: vxlan packets" "$(jq .capture.encapsulation.vxlan "$T/w.json")" \
    "$((4 * $(jq .capture.packets "$T/w.json")))"
# A fifth is past the bound: every frame is counted, none decoded.
"$WRAP" vxlan,vxlan,vxlan,vxlan,vxlan "$f" "$T/w.pcap" >/dev/null
report "$T/w.pcap" "$T/w.json"
expect_eq "five deep: encap_too_deep" "$(jq .capture.malformed.encap_too_deep "$T/w.json")" \
    "$(jq .capture.packets "$T/w.json")"
expect_eq "five deep: no calls" "$(jq '.calls | length' "$T/w.json")" 0

# Outer IPv4 fragments are reassembled, then decapsulated.
for k in gre vxlan erspan2; do
    "$WRAP" --fragment 300 "$k" "$f" "$T/w.pcap" >/dev/null
    report "$T/w.pcap" "$T/w.json"
    expect_eq "sip in fragmented $k: calls and streams as unwrapped" \
        "$([ "$(summary "$T/w.json" | head -1)" = "$cs" ] && echo same)" same
    expect_match "sip in fragmented $k: reassembled" "$(jq .capture.reassembled "$T/w.json")" '^[1-9]'
done

# The UDP ports are settings: VXLAN turned off leaves the outer packets
# as they are (UDP to port 4789, no calls); moved to its port, it is read.
"$WRAP" vxlan "$f" "$T/w.pcap" >/dev/null
printf '[probe]\nvxlan_ports =\n' >"$T/off.ini"
report "$T/w.pcap" "$T/w.json" -c "$T/off.ini"
expect_eq "vxlan_ports off: no encapsulation" "$(jq .capture.encapsulation "$T/w.json")" null
expect_eq "vxlan_ports off: no calls" "$(jq '.calls | length' "$T/w.json")" 0
printf '[probe]\nvxlan_ports = 4790, 4789\ntzsp_ports = 37008-37010\n' >"$T/on.ini"
report "$T/w.pcap" "$T/w.json" -c "$T/on.ini"
expect_eq "vxlan_ports 4790, 4789: calls and streams as unwrapped" \
    "$([ "$(summary "$T/w.json" | head -1)" = "$cs" ] && echo same)" same
printf '[probe]\ngeneve_ports = 4789\n' >"$T/both.ini"
run_cw -r "$T/w.pcap" --report json -c "$T/both.ini"
expect_eq "a port in two lists: exit" "$rc" 2
expect_match "a port in two lists: says where" "$err" "both.ini:2: geneve_ports: port 4789 is also in vxlan_ports"

# tshark decodes each of these (a pseudowire once told its label carries
# Ethernet with a control word): in every kind it sees the SIP messages
# and RTP streams it sees unwrapped, and so does callwatch.  One capture
# with SIP and RTP in every kind, another in a few.
command -v tshark >/dev/null || fail "tshark is required (Debian package tshark)"
for f in "$CW_CAPTURES/public/b2bua-asterisk.pcapng" "$T/gen-rtp-sdp.pcap"; do
    name=$(basename "$f")
    tshark -r "$f" -q -z sip,stat -z rtp,streams 2>/dev/null >"$T/tshark.plain"
    grep -q 'RTP Streams' "$T/tshark.plain" || fail "$name: tshark printed no RTP table"
    some=("${kinds[@]}")
    [ "$name" = b2bua-asterisk.pcapng ] || some=(mpls-pw erspan1 erspan3-sub geneve-opts gtpu-ext tzsp-tags)
    for k in "${some[@]}"; do
        "$WRAP" "$k" "$f" "$T/w.pcap" >/dev/null
        as=()
        [ "$k" != mpls-pw ] || as=(-d mpls.label==16,pwethcw)
        tshark -r "$T/w.pcap" "${as[@]}" -q -z sip,stat -z rtp,streams 2>/dev/null >"$T/tshark.w"
        expect_eq "$name in $k: tshark's sip,stat and rtp,streams as unwrapped" \
            "$(cmp -s "$T/tshark.plain" "$T/tshark.w" && echo same)" same
        report "$T/w.pcap" "$T/w.json"
        # Every stream tshark lists, callwatch lists with as many packets.
        awk '/RTP Streams/ { on = 1; next } on && /^=+$/ { on = 0 }
             on && NF >= 16 && $3 ~ /^[0-9]/ {
                 n = NF; if ($n == "X") n--
                 print $3 ":" $4, $5 ":" $6, $7, $(n - 8) }' "$T/tshark.w" | sort >"$T/ts.streams"
        [ -s "$T/ts.streams" ] || fail "$name in $k: tshark lists no stream"
        jq -r '.streams[] | "\(.src) \(.dst) \(.ssrc) \(.packets)"' "$T/w.json" | sort >"$T/cw.streams"
        expect_eq "$name in $k: tshark's streams in callwatch's" \
            "$(comm -23 "$T/ts.streams" "$T/cw.streams" | head -3)" ""
    done
done

finish
