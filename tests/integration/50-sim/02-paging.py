# SPDX-License-Identifier: MIT
"""cellgate-sim reads every page of the list routes (docs/api/README.md,
"Paging"), against a scripted server whose pages hold 2 items whatever
?limit says:

- set-up: GET /v1/cells follows next_after (cursor escaped) until null,
  so it registers only the topology's cells that are on no page (reading
  the first page only, it would POST cells the server has);
- the rollout monitor: GET /v1/rollouts follows next_after (integer ids,
  newest first) and refreshes every rollout of every page, so the JSON
  report lists all of them;
- a server whose cells cursor does not advance, or an empty page with a
  cursor, fails the set-up (exit 1, the message says why) instead of
  looping; a server without next_after (before paging) is one page."""
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SIM_BIN = os.path.join(harness.BIN_DIR, "sim", "cellgate-sim")
SLOW = 3 if harness.SANITIZED else 1
PAGE = 2
# The topology: five cells; the server knows four of them, on three pages.
TOPO = {"hosts_per_cell": 1, "cells": [
    {"id": c, "region": "us-east-1", "zone": "use1-az1"}
    for c in ("a-1", "b.2", "c_3", "d-4", "e-5")]}
KNOWN = ["a-1", "b.2", "c_3", "e-5"]  # sorted; d-4 is missing
ROLLOUTS = list(range(7, 0, -1))   # newest first
TIME = "2026-11-22T15:55:29.005Z"

state = {"mode": "ok", "seen": [], "posted": [], "got": set()}
lock = threading.Lock()


def page(items, key, q):
    after = q.get("after", [None])[0]
    rest = [x for x in items if after is None or key(x) > after]
    out = rest[:PAGE]
    return out, (key(out[-1]) if len(rest) > PAGE else None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, data=None, etag=None):
        raw = json.dumps(data).encode() if data is not None else b""
        self.send_response(code)
        if data is not None:
            self.send_header("Content-Type", "application/json")
        if etag:
            self.send_header("ETag", '"%s"' % etag)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query, keep_blank_values=True)
        with lock:
            state["seen"].append(self.path)
            mode = state["mode"]
        if u.path == "/v1/agent/pubkey":
            return self.reply(200, {"key_id": "0" * 16, "public_key": "00" * 32,
                                    "algorithm": "ed25519"})
        if u.path == "/v1/cells":
            cells = [c for c in TOPO["cells"] if c["id"] in KNOWN]
            out, nxt = page(cells, lambda c: c["id"], q)
            if mode == "stuck":
                nxt = "a-1"
                out = cells[:1]
            elif mode == "empty":
                out, nxt = [], "zzz"
            elif mode == "old":
                return self.reply(200, {"cells": cells[:PAGE]})
            return self.reply(200, {"cells": out, "next_after": nxt})
        if u.path == "/v1/agent/desired":
            if self.headers.get("If-None-Match"):
                time.sleep(0.5)
                return self.reply(304, etag="e1")
            return self.reply(200, {"assignments": [], "etag": "e1"}, etag="e1")
        if u.path == "/v1/rollouts":
            items = [{"id": i, "config": "app", "kind": "forward", "from_version": 0,
                      "to_version": 1, "state": "completed", "step": 1, "created_by": "t",
                      "created_at": TIME, "expedited": False} for i in ROLLOUTS]
            after = q.get("after", [None])[0]
            rest = [x for x in items if after is None or x["id"] < int(after)]
            out = rest[:PAGE]
            nxt = out[-1]["id"] if len(rest) > PAGE else None
            return self.reply(200, {"rollouts": out, "next_after": nxt})
        if u.path.startswith("/v1/rollouts/"):
            rid = int(u.path.rsplit("/", 1)[1])
            with lock:
                state["got"].add(rid)
            return self.reply(200, {"id": rid, "config": "app", "kind": "forward",
                                    "state": "completed", "from_version": 0, "to_version": 1,
                                    "created_at": TIME, "ended_at": TIME, "steps_total": 1,
                                    "events": [], "steps": [{"cells": ["a-1"]}]})
        if u.path == "/v1/configs/app/versions/1":
            return self.reply(200, {"number": 1, "created_at": TIME})
        return self.reply(404, {"error": {"code": "not_found", "message": "no " + u.path,
                                          "details": {}}})

    def do_POST(self):
        u = urlsplit(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"null")
        if u.path == "/v1/cells":
            with lock:
                state["posted"].append(body["id"])
            return self.reply(201, body)
        if u.path == "/v1/tokens":
            return self.reply(201, {"id": 9, "name": body["name"], "token": "tok-" + body["cell"]})
        if u.path == "/v1/agent/report":
            return self.reply(204)
        return self.reply(404, {"error": {"code": "not_found", "message": "no", "details": {}}})


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d" % srv.server_address[1]
work = harness.tempfile.mkdtemp(prefix="cgsimpage.")
topo = os.path.join(work, "topo.json")
with open(topo, "w") as f:
    json.dump(TOPO, f)


def run_sim(duration, extra=()):
    out = os.path.join(work, "sim.json")
    if os.path.exists(out):
        os.unlink(out)
    r = subprocess.run([SIM_BIN, "--server", url, "--token", "admin", "--topology", topo,
                        "--rps", "10", "--report-ms", "1000", "--wait", "1",
                        "--startup-ms", "100", "--monitor-ms", "200", "--summary-ms", "0",
                        "--json-out", out, "--token-prefix", "pg", "--duration", str(duration)]
                       + list(extra), capture_output=True, text=True, timeout=120 * SLOW)
    rep = None
    if os.path.exists(out):
        with open(out) as f:
            rep = json.load(f)
    return r, rep


n = 0
try:
    r, rep = run_sim(3 * SLOW)
    harness.check(r.returncode == 0, "sim exited %d: %s" % (r.returncode, r.stderr[-2000:]))
    cells_q = [p for p in state["seen"] if p.startswith("/v1/cells")]
    harness.check(cells_q == ["/v1/cells?limit=1000", "/v1/cells?limit=1000&after=b.2"],
                  "cells pages %s" % cells_q)
    harness.check(state["posted"] == ["d-4"], "registered %s (only d-4 is missing)"
                  % state["posted"])
    harness.check("4 cells known to the server, 1 registered now" in r.stderr,
                  "set-up line: %s" % r.stderr[-1000:])
    n += 1
    lists = [p for p in state["seen"] if p.startswith("/v1/rollouts?")]
    harness.check(lists[:4] == ["/v1/rollouts?limit=1000", "/v1/rollouts?limit=1000&after=6",
                                "/v1/rollouts?limit=1000&after=4",
                                "/v1/rollouts?limit=1000&after=2"], "rollout pages %s" % lists)
    harness.check(state["got"] == set(ROLLOUTS), "rollouts refreshed %s" % sorted(state["got"]))
    harness.check(rep and sorted(x["id"] for x in rep["rollouts"]) == sorted(ROLLOUTS),
                  "rollouts in the report %s" % (rep and [x["id"] for x in rep["rollouts"]]))
    # final rollouts are not fetched again: later rounds read the list only
    gets = [p for p in state["seen"] if p.startswith("/v1/rollouts/")]
    harness.check(len(gets) == len(ROLLOUTS), "rollouts fetched %s" % gets)
    n += 1

    for mode, why in (("stuck", "does not advance"), ("empty", "does not advance")):
        state["mode"] = mode
        del state["seen"][:]
        r, _ = run_sim(2)
        cells_q = [p for p in state["seen"] if p.startswith("/v1/cells")]
        harness.check(r.returncode == 1 and why in r.stderr and len(cells_q) <= 2,
                      "%s cursor: exit %d, %d pages, %s" % (mode, r.returncode, len(cells_q),
                                                            r.stderr[-500:]))
    n += 1
    state["mode"] = "old"
    del state["seen"][:]
    del state["posted"][:]
    r, _ = run_sim(1)
    cells_q = [p for p in state["seen"] if p.startswith("/v1/cells")]
    harness.check(r.returncode == 0 and cells_q == ["/v1/cells?limit=1000"] and
                  sorted(state["posted"]) == ["c_3", "d-4", "e-5"],
                  "old server: exit %d, %s, posted %s" % (r.returncode, cells_q, state["posted"]))
    n += 1
finally:
    srv.shutdown()
    harness.shutil.rmtree(work, ignore_errors=True)

harness.done("50-sim/02-paging", n)
