#!/usr/bin/env python3
"""ocitoken.py - a minimal token server for the registry's token auth, for
tests/integration/oci.sh only.

    ocitoken.py PORTFILE KEY.pem CERT.pem USER:PASSWORD SERVICE ISSUER LOG LIFETIME

Listens on a free 127.0.0.1 port (written to PORTFILE) and answers
GET /token?service=S&scope=repository:NAME:ACTIONS with {"token": JWT}: an
RS256 JWT signed with KEY.pem (openssl dgst), its certificate in the x5c
header, granting what the scope asks.  Basic credentials other than
USER:PASSWORD get 401.  Every request is one line in LOG.  It stops itself
after LIFETIME seconds."""
import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

portfile, key, cert, creds, service, issuer, log, lifetime = sys.argv[1:9]


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def cert_der():
    out = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"],
                         check=True, capture_output=True)
    return out.stdout


DER = base64.b64encode(cert_der()).decode()


def token(sub, scopes):
    now = int(time.time())
    access = []
    for sc in scopes:
        parts = sc.split(":")
        if len(parts) == 3 and parts[0] == "repository":
            access.append({"type": "repository", "name": parts[1],
                           "actions": parts[2].split(",")})
    header = {"alg": "RS256", "typ": "JWT", "x5c": [DER]}
    claims = {"iss": issuer, "sub": sub, "aud": service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": b64url(os.urandom(12)),
              "access": access}
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key],
                         input=signing.encode(), check=True, capture_output=True).stdout
    return signing + "." + b64url(sig)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        auth = self.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(creds.encode()).decode()
        ok = u.path == "/token" and auth == want
        with open(log, "a") as f:
            f.write("%s scope=%s auth=%s\n" % (u.path, ",".join(q.get("scope", [])),
                                                "ok" if ok else "refused"))
        if not ok:
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"details": "bad credentials"}')
            return
        body = json.dumps({"token": token(creds.split(":")[0], q.get("scope", []))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = HTTPServer(("127.0.0.1", 0), Handler)
threading.Timer(float(lifetime), srv.shutdown).start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
