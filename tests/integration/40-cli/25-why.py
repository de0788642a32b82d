# SPDX-License-Identifier: MIT
"""`cellgate why` (docs/cli.md, docs/correlation.md "Ranking") against a
real server: usage errors exit 2 before any request (no scope, two
scopes, a bad --at); the server's 400s exit 2 with its message (a bad
--window, another --metric, an unknown cell name); a cell whose hosts
report a steady error rate has no onset and nothing is blamed (table and
--json); an unreachable server exits 3. The blaming itself is in
60-rollout/06-correlate.py."""
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def steady(s, stop):
    seq = 0
    while not stop.is_set():
        for i in range(2):
            seq += 1
            s.api("POST", "/v1/agent/report", {
                "host": "h%d" % i, "cell": "c1", "seq": seq, "window_ms": 200,
                "configs": [{"config": "cfg", "version": 1, "generation": 1,
                             "outcome": "applied", "lkg_version": 1, "lkg_generation": 1}],
                "health": {"requests": 100, "errors": 1}})
        stop.wait(0.2)


def main(s):
    global n
    h.check(s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})[0] == 201, "cell")
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "contract": {}})[0] == 201, "config")
    h.check(s.api("POST", "/v1/configs/cfg/versions", {"v": 1})[0] == 201, "publish")
    h.check(s.api("POST", "/v1/configs/cfg/assign", {"version": 1, "cells": ["c1"],
                                                      "force": True})[0] == 201, "assign")
    stop = threading.Event()
    t = threading.Thread(target=steady, args=(s, stop), daemon=True)
    t.start()
    try:
        time.sleep(3)
        for args, why in ((["why"], "no scope"), (["why", "--cell", "c1", "--host", "h0"], "two"),
                          (["why", "--cell", "c1", "--at", "soon"], "bad --at")):
            r = s.cli(*args)
            h.check(r.returncode == 2 and r.stderr, "%s: %d %r" % (why, r.returncode, r.stderr)); n += 1
        for args, word in ((["--window", "ages"], "window"), (["--metric", "latency"], "--history-slow-ms"),
                           (["--metric", "p99"], "metric"),
                           (["--window", "30s"], "window")):
            r = s.cli("why", "--cell", "c1", *args)
            h.check(r.returncode == 2 and word in r.stderr,
                    "server 400 %s: %d %r" % (args, r.returncode, r.stderr)); n += 1
        r = s.cli("why", "--cell", "c1", "--window", "5m")
        h.check(r.returncode == 0 and "no fault onset found" in r.stdout
                and "blamed: no change" in r.stdout, "steady %r %r" % (r.stdout, r.stderr)); n += 1
        r = s.cli("why", "--host", "h0", "--host", "h1", "--window", "5m", "--json")
        b = json.loads(r.stdout) if r.returncode == 0 else {}
        h.check(b.get("verdict") == "none" and b["onset"]["found"] is False
                and b["scope"]["hosts"] == ["h0", "h1"], "json %r %r" % (r.stdout, r.stderr)); n += 1
    finally:
        stop.set()
        t.join()


if __name__ == "__main__":
    with h.Server() as s:
        main(s)
        r = s.cli("why", "--cell", "c1", "--server", "http://127.0.0.1:1")
    h.check(r.returncode == 3, "unreachable %d %r" % (r.returncode, r.stderr)); n += 1
    h.done("cli-why", n)
