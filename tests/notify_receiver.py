#!/usr/bin/env python3
"""A service manager's notification socket, for tests/service.sh.

notify_receiver.py SOCKET LOG: binds an AF_UNIX datagram socket at SOCKET
(the NOTIFY_SOCKET a unit gets) and appends one line per datagram to LOG:
the monotonic time in seconds, a space, and the datagram with its newlines
written as '|'.  Runs until killed."""
import os
import socket
import sys
import time


def main():
    path, log = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)  # the probe may run as another user
    with open(log, "a", buffering=1) as out:
        out.write("%.3f LISTENING\n" % time.monotonic())
        while True:
            data = s.recv(4096)
            text = data.decode("utf-8", "replace").rstrip("\n").replace("\n", "|")
            out.write("%.3f %s\n" % (time.monotonic(), text))


if __name__ == "__main__":
    main()
