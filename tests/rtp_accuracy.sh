#!/usr/bin/env bash
# RTP statistics against TShark 4.0 (-z rtp,streams), stream by stream.
#
# For every stream tshark lists in a public capture's FILE.tshark.txt (its
# rtp,streams table, and for the RTP-only rtpproxy files the heuristic
# table of section 5), and in two generated captures analysed by tshark
# here, rtpcheck must find the same stream and:
#   - on the same packets as tshark (rtpcheck --frames with the frames
#     tshark dissected as RTP): packets = Pkts exactly; ws_lost = Lost;
#     lost = Lost where there are no duplicates nor sequence resets; mean
#     and max jitter and max delta within 1 % (plus half a unit of the
#     third decimal tshark prints);
#   - on every packet (plain rtpcheck): packets = Pkts plus the RTP packets
#     of the stream that tshark dissected as another protocol (it follows
#     signalling: after a T.38 offer it decodes the port as T.38 even when
#     the offer is declined and RTP goes on); where there are none, the
#     same figures as above.
# Where tshark's Lost contradicts RFC 3550 (duplicates make it smaller,
# sequence restarts make it negative), lost is checked against the count of
# never-received sequence numbers: rtpproxy's own analyser output
# (psent/plost/duplicates) for the rtpproxy captures, the construction for
# the generated ones.
. "$CW_TESTLIB"
set -e

if ! command -v tshark >/dev/null 2>&1; then
    fail "tshark is required (Debian package tshark)"
    finish
fi
RTPCHECK=${CW_RTPCHECK:?CW_RTPCHECK not set}
HEUR="-o rtp.heuristic_rtp:TRUE"

# tshark_rows TEXT: "BLOCK SRC SPORT DST DPORT SSRC PKTS LOST MEANJ MAXJ MAXD"
# for every stream row of every rtp,streams table; BLOCK counts the tables.
tshark_rows() {
    awk '/RTP Streams/ { blk++; inb = 1; next }
         inb && /^=+$/ { inb = 0; next }
         inb && /Src IP addr/ { next }
         inb && NF >= 16 {
             n = NF; if ($n == "X") n--
             print blk, $3, $4, $5, $6, $7, $(n - 8), $(n - 7), $(n - 1), $n, $(n - 3)
         }' "$1"
}

# field LINE KEY: the value of KEY=... in an rtpcheck line.
field() {
    local l=" $1 " v
    v=${l#* "$2"=}
    [ "$v" = "$l" ] || printf '%s\n' "${v%% *}"
}

# close_to WHAT GOT WANT: within 1 % plus tshark's print rounding.
close_to() {
    if awk -v g="$2" -v w="$3" 'BEGIN { d = g - w; if (d < 0) d = -d; a = w < 0 ? -w : w;
                                       exit !(d <= 0.01 * a + 0.0006) }'; then
        pass "$1 $2 ~ $3"
    else
        fail "$1: got $2, tshark $3"
    fi
}

# dissect CAPTURE OPTS: one tshark pass over the UDP frames.  Writes the
# numbers of the frames tshark dissected as RTP to $T/frames, and to
# $T/others the RTP-shaped payloads it dissected as something else, counted
# per stream key "SRC SPORT DST DPORT 0xSSRC".
dissect() {
    # shellcheck disable=SC2086
    tshark -r "$1" $2 -Y udp -T fields -e frame.number -e rtp.ssrc -e rtcp.pt -e ip.src \
        -e ipv6.src -e udp.srcport -e ip.dst -e ipv6.dst -e udp.dstport -e udp.payload \
        2>/dev/null >"$T/udp"
    awk -F'\t' '$2 != "" { print $1 }' "$T/udp" >"$T/frames"
    awk -F'\t' '$2 != "" || $3 != "" { next }
                { p = $10; if (length(p) < 24) next
                  v = substr(p, 1, 1); b = substr(p, 3, 2)
                  if (v !~ /^[89abAB]$/ || (b >= "c0" && b <= "df")) next
                  s = $4 != "" ? $4 : $5; d = $7 != "" ? $7 : $8
                  n[s " " $6 " " d " " $9 " 0x" toupper(substr(p, 17, 8))]++ }
           END { for (k in n) print k, n[k] }' "$T/udp" >"$T/others"
}

# check_rows NAME CAPTURE ROWS OPTS-BY-BLOCK...: compares every row.
# ROWS is a file from tshark_rows; "$4" is tshark's options for block 1,
# "$5" for block 2.
check_rows() {
    local name=$1 cap=$2 rows=$3 blk src sport dst dport ssrc pkts lost meanj maxj maxd
    local opts key ours same extra got b
    "$RTPCHECK" "$cap" >"$T/all" || fail "$name: rtpcheck failed"
    for b in 1 2; do
        if [ "$b" = 1 ]; then opts=$4; else opts=$5; fi
        grep -q "^$b " "$rows" || continue
        dissect "$cap" "$opts"
        mv "$T/others" "$T/others.$b"
        "$RTPCHECK" --frames "$T/frames" "$cap" >"$T/same.$b" ||
            fail "$name: rtpcheck --frames failed"
    done
    while read -r blk src sport dst dport ssrc pkts lost meanj maxj maxd; do
        key="$src $sport $dst $dport $ssrc"
        same=$(awk -v k="$key" 'index($0, k " ") == 1' "$T/same.$blk")
        if [ -z "$same" ]; then
            fail "$name $key: not found on tshark's packets"
            continue
        fi
        expect_eq "$name $ssrc packets (tshark's packets)" "$(field "$same" packets)" "$pkts"
        expect_eq "$name $ssrc tshark-style lost" "$(field "$same" ws_lost)" "$lost"
        if [ "$(field "$same" dups)" = 0 ] && [ "$(field "$same" resets)" = 0 ]; then
            expect_eq "$name $ssrc lost" "$(field "$same" lost)" "$lost"
        fi
        close_to "$name $ssrc mean jitter" "$(field "$same" jitter_mean)" "$meanj"
        close_to "$name $ssrc max jitter" "$(field "$same" jitter_max)" "$maxj"
        close_to "$name $ssrc max delta" "$(field "$same" max_delta)" "$maxd"

        # Every packet: our own figures.
        ours=$(awk -v k="$key" 'index($0, k " ") == 1' "$T/all")
        if [ -z "$ours" ]; then
            fail "$name $key: not found"
            continue
        fi
        extra=$(awk -v k="$key" 'index($0, k " ") == 1 { print $NF }' "$T/others.$blk")
        extra=${extra:-0}
        got=$(field "$ours" packets)
        expect_eq "$name $ssrc packets = tshark $pkts + $extra RTP it dissected otherwise" \
            "$got" "$((pkts + extra))"
        if [ "$extra" = 0 ]; then
            close_to "$name $ssrc all packets: mean jitter" "$(field "$ours" jitter_mean)" "$meanj"
            close_to "$name $ssrc all packets: max jitter" "$(field "$ours" jitter_max)" "$maxj"
            close_to "$name $ssrc all packets: max delta" "$(field "$ours" max_delta)" "$maxd"
            if [ "$(field "$ours" dups)" = 0 ] && [ "$(field "$ours" resets)" = 0 ]; then
                expect_eq "$name $ssrc all packets: lost" "$(field "$ours" lost)" "$lost"
            fi
        fi
        printf '%s\n' "$ours" >>"$T/checked"
    done <"$rows"
}

# rtpproxy's analyser (pcount/psent/plost/duplicates per SSRC): the RFC
# 3550 figures for its captures.
check_extractaudio() {
    local out=$1 ssrc psent plost dups ours
    while read -r ssrc psent plost dups; do
        ours=$(awk -v s="$ssrc" '$5 == s' "$T/checked" | head -1)
        if [ -z "$ours" ]; then
            fail "$(basename "$out"): stream $ssrc not checked"
            continue
        fi
        expect_eq "rtpproxy $ssrc expected = psent" "$(field "$ours" expected)" "$psent"
        expect_eq "rtpproxy $ssrc lost = plost" "$(field "$ours" lost)" "$plost"
        expect_eq "rtpproxy $ssrc duplicates" "$(field "$ours" dups)" "$dups"
    done < <(awk -F', *' '/^pcount=/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
                                                                     v[kv[1]] = kv[2] } }
                          /^ssrc_changes=/ { for (i = 1; i <= NF; i++) { split($i, kv, "=");
                                                                          v[kv[1]] = kv[2] }
                                             print toupper(v["ssrc"]), v["psent"], v["plost"],
                                                   v["duplicates"] }' "$out" |
        sed 's/^0X/0x/')
}

: >"$T/checked"
shopt -s nullglob
declare -A seen
files=("$CW_CAPTURES"/public/*.tshark.txt)
if [ -d "$CW_SHARED_CAPTURES" ]; then
    files+=("$CW_SHARED_CAPTURES"/*.tshark.txt)
else
    echo "note: $CW_SHARED_CAPTURES not present; checking the bundled captures only"
fi
nrows=0
for txt in "${files[@]}"; do
    cap=${txt%.tshark.txt}
    name=$(basename "$cap")
    [ -n "${seen[$name]:-}" ] && continue
    seen[$name]=1
    tshark_rows "$txt" >"$T/rows"
    nrows=$((nrows + $(wc -l <"$T/rows")))
    [ -s "$T/rows" ] || continue
    check_rows "$name" "$cap" "$T/rows" "" "$HEUR"
done
[ "$nrows" -gt 0 ] || fail "no tshark rtp,streams rows found"
for out in "$CW_CAPTURES"/public/rtpproxy_*.extractaudio-output.txt; do
    check_extractaudio "$out"
done

# Generated captures: tshark analyses them here.
for scen in rtp rtp-sdp; do
    cap="$T/$scen.pcapng"
    "$CW_GENCAP" "$scen" "$cap" >"$T/expect"
    opts=""
    [ "$scen" = rtp ] && opts="-d udp.port==40002,rtp"
    # shellcheck disable=SC2086
    tshark -r "$cap" $opts -q -z rtp,streams >"$T/gen.txt" 2>/dev/null
    tshark_rows "$T/gen.txt" >"$T/rows"
    expect_eq "$scen: tshark streams" "$(wc -l <"$T/rows")" "$(wc -l <"$T/expect")"
    check_rows "$scen" "$cap" "$T/rows" "$opts" ""
    # The construction: every figure exactly.
    while read -r _ src sport dst dport ssrc rest; do
        ours=$(awk -v k="$src $sport $dst $dport $ssrc" 'index($0, k " ") == 1' "$T/all")
        for kv in $rest; do
            expect_eq "$scen $ssrc ${kv%%=*} (construction)" "$(field "$ours" "${kv%%=*}")" "${kv#*=}"
        done
    done <"$T/expect"
done

finish
