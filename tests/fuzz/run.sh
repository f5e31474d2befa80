#!/usr/bin/env bash
# Runs every fuzz target for a fixed time: tests/fuzz/run.sh BUILDDIR SECONDS
# Seeds come from the bundled captures and from frames gencap writes.
set -euo pipefail
build=${1:?build dir}
secs=${2:-20}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/cw-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/capture" "$work/decode" "$work/sip" "$work/web"
for f in "$src"/captures/public/*.pcap "$src"/captures/public/*.pcapng; do
    # Small seeds fuzz faster: the first 4 KiB keeps headers and a few packets.
    head -c 4096 "$f" >"$work/capture/$(basename "$f")"
done
# Decode seeds: raw frames behind a link-type byte and a flag byte.
python3 - "$src/captures/public" "$work/decode" <<'PY' 2>/dev/null || true
import struct, sys, os, glob
src, out = sys.argv[1], sys.argv[2]
n = 0
for path in sorted(glob.glob(os.path.join(src, "*.pcap"))):
    data = open(path, "rb").read()
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        continue
    link = struct.unpack("<I", data[20:24])[0]
    sel = {1: 0, 113: 1, 276: 2, 101: 3}.get(link, 0)
    off = 24
    for _ in range(20):
        if off + 16 > len(data):
            break
        caplen = struct.unpack("<I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + caplen]
        open(os.path.join(out, "seed%04d" % n), "wb").write(bytes([sel, 0]) + frame)
        n += 1
        off += 16 + caplen
PY
printf '\x00\x00' >"$work/decode/empty"
# SIP seeds: whole messages with SDP, a response with a Reason, two in a row.
printf 'INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: "A" <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1@h\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 98\r\n\r\nv=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=sendrecv\r\n' >"$work/sip/invite"
printf 'BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK2\r\nFrom: <sip:b@h>;tag=2\r\nTo: <sip:a@h>;tag=1\r\nCall-ID: c1@h\r\nCSeq: 2 BYE\r\nReason: Q.850;cause=41\r\nl: 0\r\n\r\nSIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK2\r\nFrom: <sip:b@h>;tag=2\r\nTo: <sip:a@h>;tag=1\r\nCall-ID: c1@h\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n' >"$work/sip/bye"

# Web seeds: query strings as the dashboard sends them.
printf 'metric=calls.active&start=1800000000&end=2027-01-15T09:00:00%%2B01:00' >"$work/web/series"
printf 'from=2026-11-26T14:00:00Z&to=1800000000.5&outcome=dropped&sort=mos&order=desc&limit=5&offset=2&party=a+b%%40c' >"$work/web/calls"
printf 'YWxpY2U6c2VjcmV0' >"$work/web/auth"

status=0
for target in fuzz_decode fuzz_capture fuzz_sip fuzz_web; do
    bin="$build/tests/fuzz/$target"
    corpus="$work/${target#fuzz_}"
    echo "fuzzing $target for ${secs}s"
    if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -artifact_prefix="$work/" "$corpus" >"$work/$target.log" 2>&1; then
        tail -50 "$work/$target.log"
        for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
            [ -e "$a" ] && { echo "artifact: $a"; od -A x -t x1z "$a" | head -20; cp "$a" /tmp/ || true; }
        done
        status=1
    else
        grep -E 'stat::number_of_executed_units|Done' "$work/$target.log" | head -3
    fi
done
exit $status
