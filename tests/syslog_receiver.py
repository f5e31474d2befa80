#!/usr/bin/env python3
"""Receives syslog datagrams on a unix socket and appends them to a file.
usage: syslog_receiver.py SOCKET OUTFILE"""
import os
import socket
import sys

path, outfile = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
with open(outfile + ".ready", "w"):
    pass
while True:
    data = s.recv(65536)
    with open(outfile, "ab") as f:
        f.write(data + b"\n")
