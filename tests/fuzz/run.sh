#!/usr/bin/env bash
# Runs every fuzz target for a fixed time: tests/fuzz/run.sh BUILDDIR SECONDS
# Seeds come from the bundled captures and from frames gencap and wrapcap
# write.
set -euo pipefail
build=${1:?build dir}
secs=${2:-20}
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/cw-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/capture" "$work/decode" "$work/sip" "$work/sipws" "$work/rtp" "$work/web" "$work/tunnel"
for f in "$src"/captures/public/*.pcap "$src"/captures/public/*.pcapng; do
    # Small seeds fuzz faster: the first 4 KiB keeps headers and a few packets.
    head -c 4096 "$f" >"$work/capture/$(basename "$f")"
done
# The same in the other byte order and with nanoseconds: callwatch's own
# reader takes pcap and pcapng in both, and must agree with libpcap on each.
python3 - "$work/capture" <<'PY'
import glob, os, struct, sys
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.pcap"))):
    data = open(path, "rb").read()
    if len(data) < 24 or data[:4] != b"\xd4\xc3\xb2\xa1":
        continue
    be, ns = bytearray(struct.pack(">IHHiIII", *struct.unpack("<IHHiIII", data[:24]))), bytearray(data[:24])
    ns[:4] = b"\x4d\x3c\xb2\xa1"
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        body = data[off + 16:off + 16 + caplen]
        be += struct.pack(">IIII", sec, frac, caplen, wirelen) + body
        ns += struct.pack("<IIII", sec, frac * 1000 % 2**32, caplen, wirelen) + body
        off += 16 + caplen
    open(path + ".be", "wb").write(be)
    open(path + ".ns", "wb").write(ns)
# pcapng likewise: big-endian, and nanosecond time (if_tsresol 9).
def blocks(data):
    off = 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack("<II", data[off:off + 8])
        if blen < 12 or off + blen > len(data):
            return
        yield btype, data[off + 8:off + blen - 4]
        off += blen
def block(order, btype, body):
    return struct.pack(order + "II", btype, len(body) + 12) + body + struct.pack(order + "I", len(body) + 12)
def options(order, raw, drop=-1):
    out, o = b"", 0
    while o + 4 <= len(raw):
        code, olen = struct.unpack("<HH", raw[o:o + 4])
        if code != drop:
            out += struct.pack(order + "HH", code, olen) + raw[o + 4:o + 4 + ((olen + 3) & ~3)]
        o += 4 + ((olen + 3) & ~3)
    return out
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.pcapng"))):
    data = open(path, "rb").read()
    if data[8:12] != b"\x4d\x3c\x2b\x1a":
        continue
    be, ns = b"", b""
    for btype, body in blocks(data):
        if btype == 0x0A0D0D0A:
            be += block(">", btype, struct.pack(">IHHq", *struct.unpack("<IHHq", body[:16])) + options(">", body[16:]))
            ns += block("<", btype, body)
        elif btype == 1:
            be += block(">", btype, struct.pack(">HHI", *struct.unpack("<HHI", body[:8])) + options(">", body[8:]))
            ns += block("<", btype, body[:8] + struct.pack("<HHB3x", 9, 1, 9) + options("<", body[8:], 9))
        elif btype == 6:
            ifid, hi, lo, cap, orig = struct.unpack("<IIIII", body[:20])
            be += block(">", btype, struct.pack(">IIIII", ifid, hi, lo, cap, orig) + body[20:])
            t = ((hi << 32 | lo) * 1000) % 2**64
            ns += block("<", btype, struct.pack("<IIIII", ifid, t >> 32, t & 0xffffffff, cap, orig) + body[20:])
        else:
            be += block(">", btype, body)
            ns += block("<", btype, body)
    open(path + ".be", "wb").write(be)
    open(path + ".ns", "wb").write(ns)
PY
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
# Tunnel seeds: SIP and RTP frames in every encapsulation wrapcap writes,
# nested, and as mirror sockets receive them.
mkdir -p "$work/tunnel"
[ -x "$build/tests/wrapcap" ] || make -C "$build" tests/wrapcap >/dev/null
"$build/tests/wrapcap" seeds "$work/tunnel"
# SIP seeds: whole messages with SDP, a response with a Reason, two in a row.
printf 'INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nFrom: "A" <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1@h\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\nContent-Length: 98\r\n\r\nv=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=sendrecv\r\n' >"$work/sip/invite"
printf 'BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK2\r\nFrom: <sip:b@h>;tag=2\r\nTo: <sip:a@h>;tag=1\r\nCall-ID: c1@h\r\nCSeq: 2 BYE\r\nReason: Q.850;cause=41\r\nl: 0\r\n\r\nSIP/2.0 200 OK\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK2\r\nFrom: <sip:b@h>;tag=2\r\nTo: <sip:a@h>;tag=1\r\nCall-ID: c1@h\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n' >"$work/sip/bye"

# SIP over WebSocket seeds (a first octet picking the piece and buffer
# sizes, then frames): a masked INVITE in two fragments with a ping
# between, an unmasked response with a 16-bit length, a close; and an
# upgrade request as it is sent.
python3 - "$work/sipws" <<'PY'
import os, struct, sys
out = sys.argv[1]
def frame(op, fin, payload, mask=None):
    b = bytes([(0x80 if fin else 0) | op])
    m = 0x80 if mask else 0
    if len(payload) < 126:
        b += bytes([m | len(payload)])
    elif len(payload) < 65536:
        b += bytes([m | 126]) + struct.pack(">H", len(payload))
    else:
        b += bytes([m | 127]) + struct.pack(">Q", len(payload))
    if mask:
        b += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return b + payload
inv = (b"INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK1\r\n"
       b"From: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: ws1\r\n"
       b"CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
ok = b"SIP/2.0 200 OK\r\n" + b"X-Pad: " + b"p" * 200 + b"\r\nCall-ID: ws1\r\nCSeq: 1 INVITE\r\n\r\n"
k = b"\x37\xfa\x21\x3d"
open(os.path.join(out, "frames"), "wb").write(bytes([0x45]) + frame(1, False, inv[:40], k) +
    frame(9, True, b"", k) + frame(0, True, inv[40:], k) + frame(2, True, ok) + frame(8, True, b"\x03\xe8"))
open(os.path.join(out, "upgrade"), "wb").write(b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Protocol: sip\r\n\r\n" + frame(1, True, inv, k))
PY

# RTP seeds: runs of UDP payloads from the bundled captures, each framed as
# length, arrival step (ms) and bytes; and single RTCP packets as they are.
python3 - "$src/captures/public" "$work/rtp" <<'PY' 2>/dev/null || true
import struct, sys, os, glob
src, out = sys.argv[1], sys.argv[2]
def payloads(path):
    data = open(path, "rb").read()
    if len(data) < 24 or data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return
    ns = data[:4] == b"\x4d\x3c\xb2\xa1"
    link = struct.unpack("<I", data[20:24])[0]
    skip = {1: 14, 101: 0, 113: 16}.get(link)
    if skip is None:
        return
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen = struct.unpack("<III", data[off:off + 12])
        frame = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ip = frame[skip:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 15) * 4:]
        yield sec * 1000 + (frac // 1000000 if ns else frac // 1000), bytes(udp[8:])
n = 0
for path in sorted(glob.glob(os.path.join(src, "*.pcap"))):
    run, last = b"", None
    for ms, p in payloads(path):
        if len(p) >= 8 and p[0] >> 6 == 2 and 192 <= p[1] <= 223 and n < 400:
            open(os.path.join(out, "rtcp%04d" % n), "wb").write(p)
            n += 1
        if len(p) < 12 or p[0] >> 6 != 2 or len(p) > 255:
            continue
        dt = 0 if last is None else max(-128, min(127, ms - last))
        last = ms
        run += bytes([len(p), dt & 0xff]) + p
        if len(run) > 3000:
            open(os.path.join(out, "rtp%04d" % n), "wb").write(run)
            n += 1
            run, last = b"", None
    if run:
        open(os.path.join(out, "rtp%04d" % n), "wb").write(run)
        n += 1
PY
printf '\x80\xa0\x00\x01' >"$work/rtp/tiny"

# Web seeds: query strings as the dashboard sends them.
printf 'metric=calls.active&start=1800000000&end=2027-01-15T09:00:00%%2B01:00' >"$work/web/series"
printf 'from=2026-11-26T14:00:00Z&to=1800000000.5&outcome=dropped&sort=mos&order=desc&limit=5&offset=2&party=a+b%%40c' >"$work/web/calls"
printf 'YWxpY2U6c2VjcmV0' >"$work/web/auth"


status=0
targets=()
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] && targets+=("$(basename "$bin")")
done
[ "${#targets[@]}" -gt 0 ] || { echo "no fuzz targets in $build/tests/fuzz" >&2; exit 1; }
for target in "${targets[@]}"; do
    bin="$build/tests/fuzz/$target"
    mkdir -p "$work/${target#fuzz_}"
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
