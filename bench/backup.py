#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""backup: how long `cellgated backup create`, `verify` and `restore` and
`GET /v1/state` take on a store with 10,000 hosts' worth of reports
(bench/README.md "backup"; docs/operations.md "Backups and restore").

One cellgated, one cellgate-sim with 1,000 cells and 10,000 hosts
reporting every 10 s (their applied and last-known-good views are rows of
the store), a config assigned to every cell and a rollout of it baking;
then, while the hosts go on reporting, N backups are created, each
verified and restored into a new directory, and the state is replayed N
times. One line each:

  backup_create hosts=10000 db_bytes=.. audit_records=.. p50_ms=.. max_ms=.. n=N
  backup_verify ... / backup_restore ... / state_at records=.. p50_ms=.. max_ms=..
  history_save hosts=.. saved_hosts=.. bytes=.. saves=.. last_ms=..

The last line is the periodic save of the hosts' health histories
(--history-save-every 5 here, docs/correlation.md "Health history"): the
file's size and how long the newest save took while the hosts reported.

No peer and no goal: the figures are for the operator's planning (a
backup is a read of the store; it never blocks a request). Knobs: --shape,
--n, BACKUP_SHAPE and BACKUP_N through bench/run.sh."""
import argparse
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ui_render as ur  # noqa: E402  (its Server, fleet helpers and cleanup)


def timed(argv):
    t0 = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    dt = (time.perf_counter() - t0) * 1000.0
    if r.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(argv[:3]), r.stderr[-1000:]))
    return dt


def line(name, extra, times):
    print("%s %s p50_ms=%.1f max_ms=%.1f n=%d" % (name, extra, ur.quantile(times, 0.5),
                                                   max(times), len(times)), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--shape", default=os.environ.get("BACKUP_SHAPE", "10,10,10,10"))
    ap.add_argument("--n", type=int, default=int(os.environ.get("BACKUP_N", "5")))
    ap.add_argument("--settle", type=float, default=25.0)
    a = ap.parse_args()
    atexit.register(ur.cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    os.makedirs(a.work, exist_ok=True)
    r, z, c, hh = (int(x) for x in a.shape.split(","))
    hosts = r * z * c * hh
    srv = ur.Server(a.build, os.path.join(a.work, "cg-bk"), ["--history-save-every", "5"])
    ready = os.path.join(a.work, "sim.ready")
    simlog = os.path.join(a.work, "sim.log")
    sim = subprocess.Popen(
        [os.path.join(a.build, "sim", "cellgate-sim"), "--server", "http://127.0.0.1:%d" % srv.port,
         "--token", srv.token, "--regions", str(r), "--zones", str(z), "--cells", str(c),
         "--hosts", str(hh), "--summary-ms", "0", "--monitor-ms", "0", "--ready-file", ready,
         "--startup-ms", "5000", "--rps", "10", "--token-prefix", "bk", "--duration", "3600"],
        stdout=subprocess.DEVNULL, stderr=open(simlog, "wb"), stdin=subprocess.DEVNULL,
        preexec_fn=ur.raise_nofile)
    ur.PIDS.append(sim)
    end = time.time() + 300
    while not os.path.exists(ready):
        if sim.poll() is not None or time.time() > end:
            raise SystemExit("cellgate-sim not ready: " + open(simlog).read()[-2000:])
        time.sleep(0.2)
    cells, after = [], ""
    while True:
        st, b = srv.api("GET", "/v1/cells?limit=1000" + ("&after=" + after if after else ""))
        cells += [x["id"] for x in b["cells"]]
        after = b.get("next_after")
        if not after:
            break
    srv.api("PUT", "/v1/plans/slow", {"waves": [{"name": "canary", "cells": 1, "bake_s": 3600},
                                                {"name": "rest", "percent": 100, "bake_s": 0}]})
    st, b = srv.api("POST", "/v1/configs", {"name": "web", "plan": "slow",
                                            "contract": {"schema": {"type": "object"}}})
    if st != 201:
        raise SystemExit("config: %s %s" % (st, b))
    for v in range(1, 21):
        st, b = srv.api("POST", "/v1/configs/web/versions", {"v": v, "items": list(range(50 + v))})
        if st != 201:
            raise SystemExit("publish: %s %s" % (st, b))
    st, b = srv.api("POST", "/v1/configs/web/assign",
                    {"version": 19, "cells": cells, "force": True, "reason": "bench"})
    if st != 201:
        raise SystemExit("assign: %s %s" % (st, b))
    srv.api("POST", "/v1/rollouts", {"config": "web", "version": 20})
    time.sleep(a.settle)  # every host reports its view of web (a row each)
    st, b = srv.api("GET", "/v1/hosts?limit=1")
    print("  %d cells, %d simulated hosts reporting" % (len(cells), hosts), file=sys.stderr)
    server = os.path.join(a.build, "server", "cellgated")
    key = os.path.join(srv.data, "signing.key")
    created, verified, restored, states = [], [], [], []
    m = None
    for i in range(a.n):
        out = os.path.join(a.work, "b%d" % i)
        created.append(timed([server, "backup", "create", "--data", srv.data, out]))
        verified.append(timed([server, "backup", "verify", out]))
        dest = os.path.join(a.work, "r%d" % i)
        restored.append(timed([server, "backup", "restore", out, "--data", dest, "--key", key]))
        m = json.load(open(os.path.join(out, "manifest.json")))
        shutil.rmtree(out)
        shutil.rmtree(dest)
        t0 = time.perf_counter()
        st, b = srv.api("GET", "/v1/state")
        states.append((time.perf_counter() - t0) * 1000.0)
        if st != 200:
            raise SystemExit("state: %s %s" % (st, b))
    extra = "hosts=%d db_bytes=%d audit_records=%d" % (hosts, m["files"]["cellgate.db"]["size"],
                                                      m["audit"]["records"])
    line("backup_create", extra, created)
    line("backup_verify", extra, verified)
    line("backup_restore", extra, restored)
    line("state_at", "records=%d" % b["records"], states)
    st, _, body = srv.request("GET", "/metrics", None, {"Authorization": "Bearer " + srv.token})
    mt = {}
    for ln in body.decode().splitlines():
        if ln.startswith("cellgate_health_history_"):
            k, v = ln.rsplit(" ", 1)
            mt[k] = float(v)
    hist = os.path.join(srv.data, "health-history")
    print("history_save hosts=%d saved_hosts=%d bytes=%d saves=%d last_ms=%.1f" % (
        hosts, mt.get("cellgate_health_history_saved_hosts", 0),
        os.path.getsize(hist) if os.path.exists(hist) else 0,
        mt.get('cellgate_health_history_saves_total{result="ok"}', 0),
        mt.get("cellgate_health_history_last_save_duration_seconds", 0) * 1000), flush=True)


if __name__ == "__main__":
    main()
