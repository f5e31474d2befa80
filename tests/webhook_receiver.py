#!/usr/bin/env python3
"""A webhook receiver for callwatch's tests: records every POST body, one
JSON document per line, and answers 500 to the first FAIL requests.

usage: webhook_receiver.py PORTFILE OUTFILE [FAIL]
Binds 127.0.0.1 on a free port and writes the port to PORTFILE."""
import http.server
import json
import sys

portfile, outfile = sys.argv[1], sys.argv[2]
failures = int(sys.argv[3]) if len(sys.argv) > 3 else 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global failures
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if failures > 0:
            failures -= 1
            self.send_response(500)
            self.end_headers()
            return
        with open(outfile, "a") as f:
            f.write(json.dumps({"path": self.path, "body": json.loads(body)}) + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
