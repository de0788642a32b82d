#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""drills: how long each change drill takes in real time (docs/drills.md,
"How long drills take"; bench/README.md "drills").

One cellgated with 100 cells in 3 regions x 3 zones and H hosts per cell
known from one report each (the drill simulates them: at most 32 a cell),
a config and a flags config with the plan canary (1 cell, 900 s) -> 10 %
(1,800 s) -> 50 % (1,800 s) -> 100 % (600 s); then every scenario N times
through POST /v1/configs/NAME/drills. One line per scenario:

  drill_known_bad cells=100 hosts=1000 virtual_s=.. p50_ms=.. max_ms=.. n=N goal_ms=.. ok=yes
  ... drill_all ...

No peer: the goal is that "all" stays well inside one control-lane
request (goal_ms=10000 for all five; a scenario's budget, --drill-budget,
is 60 s). Knobs: --hosts, --n, DRILL_HOSTS and DRILL_N through
bench/run.sh. Starts one cellgated on 127.0.0.1 (ephemeral port), stopped by
PID on exit."""
import argparse
import atexit
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ui_render as ur  # noqa: E402  (its Server and cleanup)

PLAN = {"waves": [
    {"name": "canary", "cells": 1, "bake_s": 900, "min_requests": 5000},
    {"name": "zone", "percent": 10, "bake_s": 1800, "min_requests": 10000},
    {"name": "half", "percent": 50, "bake_s": 1800, "min_requests": 20000},
    {"name": "rest", "percent": 100, "bake_s": 600}],
    "gates": {"error_rate": {"max": 0.02, "max_ratio": 2, "min_delta": 0.002}},
    "stuck_timeout_s": 3600, "on_stuck": "halt", "on_gate_failure": "rollback"}
FLAGS = {"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": True, "off": False},
                                    "defaultVariant": "on"}}}
SCENARIOS = ["known-bad", "invalid-document", "stuck-wave", "flag-flip", "rollback-path"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--hosts", type=int, default=int(os.environ.get("DRILL_HOSTS", "10")))
    ap.add_argument("--n", type=int, default=int(os.environ.get("DRILL_N", "3")))
    a = ap.parse_args()
    atexit.register(ur.cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    os.makedirs(a.work, exist_ok=True)
    srv = ur.Server(a.build, os.path.join(a.work, "cg-drills"))
    cells = []
    for r in range(3):
        for z in range(3):
            for k in range(12 if (r, z) == (0, 0) else 11):
                c = "r%d-z%d-c%02d" % (r, z, k)
                st, b = srv.api("POST", "/v1/cells", {"id": c, "region": "reg%d" % r,
                                                      "zone": "reg%d-z%d" % (r, z)})
                if st != 201:
                    raise SystemExit("cell: %s %s" % (st, b))
                cells.append(c)
    for c in cells:
        for i in range(a.hosts):
            st, b = srv.api("POST", "/v1/agent/report", {
                "host": "%s-h%d" % (c, i), "cell": c, "seq": 1, "window_ms": 10000,
                "configs": [], "health": {"requests": 100, "errors": 0}})
            if st != 204:
                raise SystemExit("report: %s %s" % (st, b))
    srv.api("PUT", "/v1/plans/p", PLAN)
    srv.api("POST", "/v1/configs", {"name": "app", "plan": "p", "contract": {
        "schema": {"type": "object", "required": ["v"]}}})
    srv.api("POST", "/v1/configs/app/versions", {"v": 1})
    srv.api("POST", "/v1/configs", {"name": "ff", "kind": "flags", "plan": "p",
                                    "contract": {"max_bytes": 65536}})
    srv.request("POST", "/v1/configs/ff/versions", json.dumps(FLAGS),
                {"Authorization": "Bearer " + srv.token})
    times = {s: [] for s in SCENARIOS + ["all"]}
    virt = {}
    hosts = 0
    for _ in range(a.n):
        for s in SCENARIOS:
            cfg = "ff" if s == "flag-flip" else "app"
            st, b = srv.api("POST", "/v1/configs/%s/drills" % cfg, {"scenario": s})
            d = b["drills"][0] if st == 200 else None
            if not d or d["outcome"] != "passed":
                raise SystemExit("drill %s: %s %s" % (s, st, json.dumps(b)[:2000]))
            times[s].append(d["real_ms"])
            virt[s] = d["figures"].get("virtual_s", 0)
            hosts = d["figures"].get("hosts", hosts)
        t0 = time.perf_counter()
        st, b = srv.api("POST", "/v1/configs/ff/drills", {"scenario": "all"})
        if st != 200 or b["outcome"] != "passed":
            raise SystemExit("drill all: %s %s" % (st, json.dumps(b)[:2000]))
        times["all"].append((time.perf_counter() - t0) * 1000.0)
    for s in SCENARIOS + ["all"]:
        v = times[s]
        goal = 10000 if s == "all" else 60000
        print("drill_%s cells=%d hosts=%d virtual_s=%s p50_ms=%.0f max_ms=%.0f n=%d goal_ms=%d ok=%s"
              % (s.replace("-", "_"), len(cells), hosts, virt.get(s, "-"), ur.quantile(v, 0.5),
                 max(v), len(v), goal, "yes" if max(v) <= goal else "no"), flush=True)


if __name__ == "__main__":
    main()
