#!/usr/bin/env bash
# Every capture we have, generated or public, read exactly as libpcap and
# tshark read it: the same packet count, every link type and format.
. "$CW_TESTLIB"
set -e

for link in ethernet sll sll2 raw null loop; do
    for fmt in pcap pcap-ns pcapng; do
        f="$T/$link-$fmt.cap"
        "$CW_GENCAP" link "$link" "$fmt" "$f" >"$T/expect"
        run_cw -r "$f" --report json
        expect_eq "$link/$fmt exit" "$rc" 0
        expect_eq "$link/$fmt packets" "$(echo "$out" | jq .capture.packets)" "$(tshark_count "$f")"
        expect_eq "$link/$fmt udp" "$(echo "$out" | jq .capture.udp)" 50
        expect_eq "$link/$fmt malformed" "$(echo "$out" | jq '.capture.malformed | length')" 0
        # Written at 1700000000.123456789: microsecond pcap keeps .123456, the
        # nanosecond formats round to .123457 (a double holds ~0.24 us here).
        want=123457
        [ "$fmt" = pcap ] && want=123456
        expect_eq "$link/$fmt start" "$(echo "$out" | jq '(.capture.start * 1e6 | round) % 1000000')" "$want"
    done
done

shopt -s nullglob
files=("$CW_CAPTURES"/public/*.pcap "$CW_CAPTURES"/public/*.pcapng)
if [ -d "$CW_SHARED_CAPTURES" ]; then
    files+=("$CW_SHARED_CAPTURES"/*.pcap "$CW_SHARED_CAPTURES"/*.pcapng "$CW_SHARED_CAPTURES"/*.cap)
else
    echo "note: $CW_SHARED_CAPTURES not present; checking the bundled captures only"
fi
[ "${#files[@]}" -gt 0 ] || fail "no captures found under $CW_CAPTURES/public"
for f in "${files[@]}"; do
    name=$(basename "$f")
    run_cw -r "$f" --report json
    expect_eq "$name exit" "$rc" 0
    expect_eq "$name packets = tshark" "$(echo "$out" | jq .capture.packets)" "$(tshark_count "$f")"
    # Decoding finds nothing malformed; ipv6frag.pcap has one SIP message
    # with Content-Type twice, which libosip2 refuses (counted apart).
    expect_eq "$name malformed" "$(echo "$out" | jq -c '.capture.malformed | del(.sip_unparseable)')" '{}'
done

finish
