#!/usr/bin/env python3
"""faultsrv.py - a small real HTTP server on 127.0.0.1 that misbehaves on
purpose, for tests/integration/faults.sh.

    faultsrv.py DOCROOT PORTFILE LOGFILE

It serves DOCROOT (with single byte ranges) and writes the port it bound to
PORTFILE.  Paths under these prefixes misbehave:

  /flaky/NAME    per path: the 1st request gets a 500, the 2nd a 200 whose
  /flaky2/NAME   body stops halfway (the connection is closed), every later
                 one is served normally, ranges included
  /html/NAME     200 with an HTML page, whatever NAME is
  /badjson/NAME  200 with a body that is not JSON

Each request appends "METHOD PATH STATUS RANGE" to LOGFILE (RANGE is the
Range header or "-").  It stops by itself after 300 seconds.
"""
import http.server
import os
import re
import sys
import threading
import time

DOCROOT, PORTFILE, LOGFILE = sys.argv[1:4]
DEADLINE = time.monotonic() + 300
counts = {}
lock = threading.Lock()


def log(method, path, status, rng):
    with lock:
        with open(LOGFILE, "a") as f:
            f.write(f"{method} {path} {status} {rng or '-'}\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_body(self, status, body, ctype="application/octet-stream", extra=None, cut=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if cut is not None:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        self.wfile.flush()
        if cut is not None:
            self.close_connection = True

    def serve_file(self, name, rng):
        path = os.path.join(DOCROOT, name)
        if "/" in name or name.startswith(".") or not os.path.isfile(path):
            log("GET", self.path, 404, rng)
            self.send_body(404, b"not found\n", "text/plain")
            return
        with open(path, "rb") as f:
            data = f.read()
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and int(m.group(1)) < len(data):
            start = int(m.group(1))
            log("GET", self.path, 206, rng)
            self.send_body(206, data[start:], extra={
                "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
            return
        log("GET", self.path, 200, rng)
        self.send_body(200, data)

    def do_GET(self):
        rng = self.headers.get("Range")
        parts = self.path.lstrip("/").split("/", 1)
        if len(parts) == 2 and parts[0] in ("flaky", "flaky2"):
            name = parts[1]
            with lock:
                counts[self.path] = counts.get(self.path, 0) + 1
                n = counts[self.path]
            if n == 1:
                log("GET", self.path, 500, rng)
                self.send_body(500, b"<html>internal error</html>\n", "text/html")
                return
            if n == 2 and os.path.isfile(os.path.join(DOCROOT, name)):
                with open(os.path.join(DOCROOT, name), "rb") as f:
                    data = f.read()
                log("GET", self.path, "200-cut", rng)
                self.send_body(200, data, cut=len(data) // 2)
                return
            self.serve_file(name, rng)
        elif len(parts) == 2 and parts[0] == "html":
            log("GET", self.path, 200, rng)
            self.send_body(200, b"<!DOCTYPE html><html><body>Welcome to our portal</body></html>\n",
                           "text/html")
        elif len(parts) == 2 and parts[0] == "badjson":
            log("GET", self.path, 200, rng)
            self.send_body(200, b'{"format": "airpack-index/1", "releases": [\n', "application/json")
        else:
            self.serve_file(self.path.lstrip("/"), rng)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
server.timeout = 1
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
while time.monotonic() < DEADLINE:
    server.handle_request()
