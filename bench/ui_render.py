#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ui_render: how long the dashboard takes to render its pages with a big
fleet (bench/README.md "ui_render").

One cellgated on a fresh data dir, one cellgate-sim with 1,000 cells
(10 regions x 10 zones x 10 cells) and 10,000 hosts reporting every 10 s;
a config with 20 versions assigned to every cell (so every host reports
it), a rollout of it baking, a login for a session cookie; then each page
(overview, cells, hosts of a cell, the rollout, the config, a diff, audit,
delivery, changes, why) is fetched N times over one keep-alive connection,
and one line per page is printed:

  ui_render page=NAME p50_ms=.. p99_ms=.. bytes=.. goal_p99_ms=50 ok=yes|no

ok is yes when p99 <= 50 ms and the page <= 100 KB. Times are the client's
(request sent to body read, 127.0.0.1). Knobs: --shape R,Z,C,H, --n, the
environment UI_RENDER_SHAPE and UI_RENDER_N through bench/run.sh. Every
process it starts is stopped by its PID."""
import argparse
import atexit
import http.client
import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
import urllib.parse

PIDS = []
GOAL_MS = 50.0
MAX_BYTES = 100 * 1024


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def cleanup():
    for p in PIDS:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def quantile(v, q):
    s = sorted(v)
    k = max(1, -(-len(s) * q // 1))  # nearest rank, ceil(q * n)
    return s[int(k) - 1]


class Server:
    def __init__(self, build, data, extra=()):
        self.data, self.log = data, data + ".log"
        pf = data + ".port"
        self.proc = subprocess.Popen(
            [os.path.join(build, "server", "cellgated"), "serve", "--data", data, "--listen",
             "127.0.0.1:0", "--port-file", pf] + list(extra), stdout=open(self.log, "wb"),
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=raise_nofile)
        PIDS.append(self.proc)
        end = time.time() + 30
        while not (os.path.exists(pf) and open(pf).read().strip()):
            if self.proc.poll() is not None or time.time() > end:
                raise SystemExit("cellgated did not start: " + open(self.log).read()[-2000:])
            time.sleep(0.05)
        self.port = int(open(pf).read().strip())
        self.token = None
        while not self.token and time.time() < end:
            m = re.search(r"cg_[A-Za-z0-9_]+", open(self.log).read())
            self.token = m.group(0) if m else None
            time.sleep(0.05)
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise

    def api(self, method, path, body=None):
        hd = {"Authorization": "Bearer " + self.token}
        if body is not None:
            body = json.dumps(body)
            hd["Content-Type"] = "application/json"
        st, _, b = self.request(method, path, body, hd)
        return st, (json.loads(b) if b and b[:1] in (b"{", b"[") else b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--shape", default=os.environ.get("UI_RENDER_SHAPE", "10,10,10,10"),
                    help="regions,zones,cells,hosts (per zone, per cell)")
    ap.add_argument("--n", type=int, default=int(os.environ.get("UI_RENDER_N", "50")))
    ap.add_argument("--settle", type=float, default=15.0,
                    help="seconds of reports before timing (every host reports every 10 s)")
    a = ap.parse_args()
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    os.makedirs(a.work, exist_ok=True)
    r, z, c, hh = (int(x) for x in a.shape.split(","))
    srv = Server(a.build, os.path.join(a.work, "cg-ui"))
    ready = os.path.join(a.work, "sim.ready")
    simlog = os.path.join(a.work, "sim.log")
    sim = subprocess.Popen(
        [os.path.join(a.build, "sim", "cellgate-sim"), "--server", "http://127.0.0.1:%d" % srv.port,
         "--token", srv.token, "--regions", str(r), "--zones", str(z), "--cells", str(c),
         "--hosts", str(hh), "--summary-ms", "0", "--monitor-ms", "0", "--ready-file", ready,
         "--startup-ms", "5000", "--rps", "10", "--token-prefix", "ui", "--duration", "3600"],
        stdout=subprocess.DEVNULL, stderr=open(simlog, "wb"), stdin=subprocess.DEVNULL,
        preexec_fn=raise_nofile)
    PIDS.append(sim)
    end = time.time() + 300
    while not os.path.exists(ready):
        if sim.poll() is not None or time.time() > end:
            raise SystemExit("cellgate-sim not ready: " + open(simlog).read()[-2000:])
        time.sleep(0.2)
    print("  sim ready: %d cells, %d hosts" % (r * z * c, r * z * c * hh), file=sys.stderr)
    # a config on every cell, 20 versions, a rollout of the newest baking
    cells, after = [], ""
    while True:
        st, b = srv.api("GET", "/v1/cells?limit=1000" + ("&after=" + after if after else ""))
        cells += [x["id"] for x in b["cells"]]
        after = b.get("next_after")
        if not after:
            break
    st, b = srv.api("PUT", "/v1/plans/slow", {"waves": [
        {"name": "canary", "cells": 1, "bake_s": 3600},
        {"name": "rest", "percent": 100, "bake_s": 0}]})
    if st not in (200, 201):
        raise SystemExit("plan: %s %s" % (st, b))
    st, b = srv.api("POST", "/v1/configs", {"name": "web", "plan": "slow",
                                            "contract": {"schema": {"type": "object"}}})
    if st != 201:
        raise SystemExit("config: %s %s" % (st, b))
    for v in range(1, 21):
        doc = {"v": v, "items": ["item-%d-%d" % (v, k) for k in range(50 + v)]}
        st, b = srv.api("POST", "/v1/configs/web/versions?message=" +
                        urllib.parse.quote("version %d of the web config" % v), doc)
        if st != 201:
            raise SystemExit("publish: %s %s" % (st, b))
    st, b = srv.api("POST", "/v1/configs/web/assign",
                    {"version": 19, "cells": cells, "force": True, "reason": "bench"})
    if st != 201:
        raise SystemExit("assign: %s %s" % (st, b))
    st, b = srv.api("POST", "/v1/rollouts", {"config": "web", "version": 20})
    if st != 201:
        raise SystemExit("rollout: %s %s" % (st, b))
    rid = b["id"]
    time.sleep(a.settle)
    st, hd, _ = srv.request("POST", "/ui/login", urllib.parse.urlencode({"token": srv.token}),
                            {"Content-Type": "application/x-www-form-urlencoded"})
    m = re.match(r"cg_session=([^;]+)", hd.get("set-cookie", ""))
    if st != 303 or not m:
        raise SystemExit("login: %s %s" % (st, hd))
    cookie = {"Cookie": "cg_session=" + m.group(1)}
    pages = [("overview", "/ui/"), ("cells", "/ui/cells"),
             ("hosts", "/ui/hosts?cell=" + urllib.parse.quote(cells[0])),
             ("rollout", "/ui/rollouts/%d" % rid), ("config", "/ui/configs/web"),
             ("diff", "/ui/configs/web/diff?a=1&b=20"), ("audit", "/ui/audit"),
             ("delivery", "/ui/delivery"), ("changes", "/ui/changes?config=web"),
             ("why", "/ui/why?cell=" + urllib.parse.quote(cells[0]) + "&window=30m")]
    for name, path in pages:
        times, size = [], 0
        for i in range(a.n + 2):
            t0 = time.perf_counter()
            st, _, body = srv.request("GET", path, headers=cookie)
            dt = (time.perf_counter() - t0) * 1000.0
            if st != 200:
                raise SystemExit("%s: %s %s" % (path, st, body[-300:]))
            size = len(body)
            if i >= 2:  # two warm-up fetches
                times.append(dt)
        p50, p99 = quantile(times, 0.5), quantile(times, 0.99)
        print("ui_render page=%s p50_ms=%.2f p99_ms=%.2f bytes=%d goal_p99_ms=%d ok=%s n=%d"
              % (name, p50, p99, size, GOAL_MS, "yes" if p99 <= GOAL_MS and size <= MAX_BYTES
                 else "no", len(times)), flush=True)


if __name__ == "__main__":
    main()
