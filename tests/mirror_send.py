#!/usr/bin/env python3
"""Sends mirror datagrams to a probe, as a MikroTik sniffer (TZSP) or a
cloud's traffic mirroring (VXLAN) would.

    mirror_send.py PAYLOADS HOST PORT [PACE]

PAYLOADS is what `wrapcap payloads` writes: a 4-byte big-endian length,
then one datagram's payload, again and again.  Every 50 datagrams the
sender pauses PACE seconds (default 0.005), so that a loaded machine's
socket buffer does not overflow; the probe stamps each datagram with the
time it arrived, so the pauses are part of what it measures."""
import socket
import struct
import sys
import time


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    path, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pace = float(sys.argv[4]) if len(sys.argv) == 5 else 0.005
    data = open(path, "rb").read()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    off = sent = 0
    while off + 4 <= len(data):
        (n,) = struct.unpack(">I", data[off:off + 4])
        sock.sendto(data[off + 4:off + 4 + n], (host, port))
        off += 4 + n
        sent += 1
        if sent % 50 == 0:
            time.sleep(pace)
    print("sent %d" % sent)


if __name__ == "__main__":
    main()
