# SPDX-License-Identifier: MIT
"""`rollout list` counts steps as `rollout status` does: three rollouts of a
3-step plan (canary, then "rest" split into two steps) at different
progress points -- one completed, one waiting for approval before its
second step, one aborted in its first -- each shows STEP "N/3" in the
list, the same N/3 its `rollout status` header shows, and the server's
list summaries carry steps_total. (The list used to print the 0-based
index plus one with no total: a completed rollout showed step 4 of a
3-step plan.)"""
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
CELLS = [("c1", "r1", "z1"), ("c2", "r1", "z2"), ("c3", "r2", "z3"), ("c4", "r2", "z4")]
CONFIGS = ["done", "gated", "stopped"]
SLOW = 3 if h.SANITIZED else 1


def ok(r, what):
    h.check(r.returncode == 0, "%s: exit %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, r.stdout, r.stderr))
    return r


class Fleet(threading.Thread):
    """One healthy host per cell, reporting every config's assignment as
    applied every 150 ms."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                by_cell = {}
                for cfg in CONFIGS:
                    st, b = self.s.api("GET", "/v1/configs/%s/assignments" % cfg)
                    for a in (b or {}).get("assignments", []) if st == 200 else []:
                        by_cell.setdefault(a["cell"], []).append({
                            "config": cfg, "version": a["version"],
                            "generation": a["generation"], "outcome": "applied",
                            "lkg_version": a["version"], "lkg_generation": a["generation"]})
                for cell, cfgs in by_cell.items():
                    self.seq += 1
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + cell, "cell": cell, "seq": self.seq, "window_ms": 150,
                        "configs": cfgs, "health": {"requests": 40, "errors": 0}})
            except OSError:
                pass
            self.stop.wait(0.15)


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "status %s %s" % (st, b))
    return b


def wait_for(s, rid, pred, what, timeout=40 * SLOW):
    end = time.time() + timeout
    while time.time() < end:
        b = status(s, rid)
        if pred(b):
            return b
        time.sleep(0.1)
    h.fail("timed out waiting for %s; last status %s" % (what, json.dumps(b)[:2000]))


def start(s, cfg, plan):
    r = ok(s.cli("rollout", "start", cfg, "2", "--plan", plan, "-m", "go"), "start " + cfg)
    return int(r.stdout.split()[2].rstrip(":"))


def list_steps(s):
    """{rollout id: STEP column} of `cellgate rollout list`."""
    r = ok(s.cli("rollout", "list"), "rollout list")
    lines = r.stdout.splitlines()
    head = lines[0].split()
    h.check(head[:7] == ["ID", "CONFIG", "KIND", "FROM", "TO", "STATE", "STEP"], "%r" % lines[0])
    return {int(l.split()[0]): l.split()[6] for l in lines[1:]}


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    for c, reg, z in CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})[0] == 201, c)
    for cfg in CONFIGS:
        h.check(s.api("POST", "/v1/configs", {"name": cfg, "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})[0] == 201, cfg)
        for k in (60, 62):
            st, _, b = s.request("POST", "/v1/configs/%s/versions?message=v" % cfg,
                                 json.dumps(h.features(k)))
            h.check(st == 201, "publish %s" % b)
        ok(s.cli("assign", cfg, "1", "--cell", "c1", "--cell", "c2", "--cell", "c3", "--cell",
                 "c4", "-m", "baseline"), "assign baseline " + cfg)
    fast = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1}],
            "gates": {"error_rate": {"max": 0.05, "max_ratio": 2.0}}}
    gated = json.loads(json.dumps(fast))
    gated["waves"][1]["approval"] = True
    h.check(s.api("PUT", "/v1/plans/fast", fast)[0] == 201, "plan fast")
    h.check(s.api("PUT", "/v1/plans/gated", gated)[0] == 201, "plan gated")

    fleet = Fleet(s)
    fleet.start()
    try:
        done = start(s, "done", "fast")
        gate = start(s, "gated", "gated")
        stop = start(s, "stopped", "fast")
        ok(s.cli("rollout", "abort", str(stop), "-m", "stop"), "abort")
        wait_for(s, done, lambda b: b["state"] == "completed", "rollout done to complete")
        wait_for(s, gate, lambda b: b["state"] == "waiting_approval", "the approval")
    finally:
        fleet.stop.set()
        fleet.join(5)

    for rid in (done, gate, stop):
        b = status(s, rid)
        h.check(b["steps_total"] == 3, "rollout %d has %s steps, not 3" % (rid, b["steps_total"]))
    st, b = s.api("GET", "/v1/rollouts")
    h.check(st == 200 and {x["id"]: x["steps_total"] for x in b["rollouts"]}
            == {done: 3, gate: 3, stop: 3}, "list summaries lack steps_total: %s" % b); n += 1

    steps = list_steps(s)
    h.check(steps == {done: "3/3", gate: "2/3", stop: "1/3"},
            "STEP column %s (want completed 3/3, waiting for step 2 2/3, aborted 1/3)" % steps)
    n += 1
    r = ok(s.cli("rollout", "status", str(gate)), "rollout status")
    h.check("step 2/3" in r.stdout.splitlines()[0], "status header %r" % r.stdout); n += 1
    b = json.loads(ok(s.cli("rollout", "list", "--json"), "rollout list --json").stdout)
    h.check(all(x["steps_total"] == 3 for x in b["rollouts"]), "--json %s" % b); n += 1

h.done("40-cli/28-rollout-list-steps", n)
