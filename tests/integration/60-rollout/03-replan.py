# SPDX-License-Identifier: MIT
"""The controller re-plans a rollout when the fleet changes under it
(docs/plans.md "Re-planning during a rollout"): cells added while the
canary bakes (via `cellgate cell add`) are taken by a later step, the
cells already changed are not assigned again, and a "replanned" event shows in
GET /v1/rollouts/{id} and `cellgate rollout status`. Without a fleet change
the steps stay exactly as planned. A rollback after a re-plan returns every
cell, the joined one to the version the rollout started from. Synthetic
reports from one healthy host per cell drive the gates."""
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = [("r1-a-c1", "r1", "r1-a"), ("r1-a-c2", "r1", "r1-a"), ("r1-b-c1", "r1", "r1-b"),
         ("r2-a-c1", "r2", "r2-a"), ("r2-b-c1", "r2", "r2-b"), ("r2-b-c2", "r2", "r2-b")]
ZONE = {}


class Fleet(threading.Thread):
    """One host per cell, every 50 ms: the cell's assignment as applied (or
    nothing), with healthy traffic. Cells added later report too."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq, self.cells = s, threading.Event(), 0, []

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/app/assignments")
                cur = {a["cell"]: a for a in b["assignments"]} if st == 200 else {}
                self.seq += 1
                for c in list(self.cells):
                    a = cur.get(c)
                    cfgs = [] if not a else [{"config": "app", "version": a["version"],
                                              "generation": a["generation"], "outcome": "applied",
                                              "lkg_version": a["version"],
                                              "lkg_generation": a["generation"]}]
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + c, "cell": c, "seq": self.seq, "window_ms": 50,
                        "configs": cfgs, "health": {"requests": 40, "errors": 0}})
            except (OSError, TypeError, AttributeError, KeyError):
                pass
            self.stop.wait(0.05)


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "status %s %s" % (st, b))
    return b


def wait_for(s, rid, pred, what, timeout=30 * SLOW):
    end = time.time() + timeout
    b = None
    while time.time() < end:
        b = status(s, rid)
        if pred(b):
            return b
        h.check(not b["ended_at"] or pred(b), "rollout %d ended %s while waiting for %s: %s"
                % (rid, b["state"], what, json.dumps(b["events"])[-1500:]))
        time.sleep(0.05)
    h.fail("timed out waiting for %s; last status %s" % (what, json.dumps(b)[-2000:]))


def assignments(s):
    st, b = s.api("GET", "/v1/configs/app/assignments")
    h.check(st == 200, "assignments %s %s" % (st, b))
    return {a["cell"]: a for a in b["assignments"]}


def start(s, version, plan):
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": version, "plan": plan,
                                           "reason": "v%d" % version})
    h.check(st == 201, "start %s %s" % (st, b))
    return b["id"]


def add_cell(s, fleet, cell, region, zone):
    r = s.cli("cell", "add", cell, "--region", region, "--zone", zone)
    h.check(r.returncode == 0, "cell add %s: %s %s" % (cell, r.stdout, r.stderr))
    ZONE[cell] = (region, zone)
    fleet.cells.append(cell)


def step_of(steps, cell):
    hits = [i for i, st in enumerate(steps) if cell in st["cells"]]
    h.check(len(hits) == 1, "cell %s is in steps %s" % (cell, hits))
    return hits[0]


def events(b, kind):
    return [e["detail"] for e in b["events"] if e["kind"] == kind]


with h.Server(extra_args=["--tick-ms", "50"]) as s:
    fleet = Fleet(s)
    for c, region, zone in CELLS:
        add_cell(s, fleet, c, region, zone)
    fleet.start()
    h.check(s.api("POST", "/v1/configs", {"name": "app", "contract": {"schema": {"type": "object"}}})[0]
            == 201, "config")
    gates = {"error_rate": {"max": 0.5}}
    h.check(s.api("PUT", "/v1/plans/fast", {
        "waves": [{"name": "canary", "cells": 1, "bake_s": 0},
                  {"name": "rest", "percent": 100, "bake_s": 0}], "gates": gates})[0] == 201, "plan")
    h.check(s.api("PUT", "/v1/plans/slow", {
        "waves": [{"name": "canary", "cells": 1, "bake_s": 2, "min_requests": 20},
                  {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 20}],
        "gates": gates})[0] == 201, "plan")
    for v in (1, 2, 3):
        h.check(s.api("POST", "/v1/configs/app/versions", {"v": v})[0] == 201, "publish %d" % v)

    # (d) no fleet change: the steps are the ones planned, no event
    rid = start(s, 1, "fast")
    planned = status(s, rid)["steps"]
    b = wait_for(s, rid, lambda b: b["state"] == "completed", "v1 to complete")
    h.check(b["steps"] == planned, "steps changed without a fleet change")
    h.check(not events(b, "replanned"), "replanned without a fleet change: %s" % events(b, "replanned"))
    h.check(b["detail"]["fleet"]["cells"] == len(CELLS), "detail.fleet %s" % b["detail"].get("fleet"))
    n += 1

    # cells join while the canary bakes
    rid = start(s, 2, "slow")
    b = wait_for(s, rid, lambda b: b["step"] == 0 and b["step_state"] == "bake", "the canary")
    before = b["steps"]
    canary = before[0]["cells"][0]
    gen0 = assignments(s)[canary]["generation"]
    added = ["r1-a-c9", "r2-c-c1", "r3-a-c1"]
    add_cell(s, fleet, added[0], "r1", "r1-a")  # an existing zone
    add_cell(s, fleet, added[1], "r2", "r2-c")  # a new zone
    add_cell(s, fleet, added[2], "r3", "r3-a")  # a new region
    b = wait_for(s, rid, lambda b: b["state"] == "completed", "v2 to complete")
    steps = b["steps"]
    cur = assignments(s)
    # (a) the new cells got v2 in a later step
    for c in added:
        h.check(step_of(steps, c) >= 1, "%s not in a later step: %s" % (c, steps))
        h.check(cur[c]["version"] == 2, "%s on %s" % (c, cur[c]))
    n += 1
    # (b) the canary kept its step and was not assigned again; every cell once
    h.check(steps[0] == before[0], "the done step changed: %s -> %s" % (before[0], steps[0]))
    h.check(cur[canary]["generation"] == gen0, "canary re-assigned: gen %s -> %s"
            % (gen0, cur[canary]["generation"]))
    for c in fleet.cells:
        step_of(steps, c)
        h.check(cur[c]["version"] == 2, "%s on %s" % (c, cur[c]))
    starts = [set(e["cells"]) for e in events(b, "step.start")]
    h.check(sum(len(x) for x in starts) == len(set().union(*starts)) == len(fleet.cells),
            "cells assigned twice or missed: %s" % starts)
    n += 1
    # I5: one zone per region per step
    for st in steps:
        zones = {}
        for c in st["cells"]:
            region, zone = ZONE[c]
            zones.setdefault(region, set()).add(zone)
        h.check(all(len(z) == 1 for z in zones.values()), "step %s: %s" % (st["step"], zones))
    n += 1
    # (c) the event, in the API and in the CLI
    ev = events(b, "replanned")
    h.check(len(ev) == 1, "replanned events: %s" % ev)
    h.check(sorted(ev[0]["added"]) == sorted(added) and ev[0]["added_count"] == 3
            and ev[0]["removed_count"] == 0 and ev[0]["step"] == 1
            and ev[0]["steps_before"] == len(before) and ev[0]["steps_after"] == len(steps),
            "event %s" % ev[0])
    h.check(b["detail"]["replans"] == 1 and b["detail"]["fleet"]["cells"] == len(fleet.cells),
            "detail %s" % b["detail"])
    r = s.cli("rollout", "status", str(rid))
    h.check(r.returncode == 0 and "replanned: step 2" in r.stdout
            and "3 cells added" in r.stdout, "rollout status: %s %s" % (r.stdout, r.stderr))
    recs = h.audit_all(s)
    h.check(len([x for x in recs if x["action"] == "rollout.replan"]) == 1, "audit rollout.replan")
    h.check(h.audit_verify(recs) is None, "audit chain")
    n += 1

    # (e) a rollback after a re-plan returns every cell
    rid = start(s, 3, "slow")
    wait_for(s, rid, lambda b: b["step"] == 0 and b["step_state"] == "bake", "the canary")
    add_cell(s, fleet, "r2-a-c9", "r2", "r2-a")
    end = time.time() + 30 * SLOW
    while assignments(s).get("r2-a-c9", {}).get("version") != 3:
        h.check(time.time() < end and not status(s, rid)["ended_at"],
                "the joined cell never got v3: %s" % json.dumps(status(s, rid))[-1500:])
        time.sleep(0.02)
    r = s.cli("rollback", "app", "-m", "bad")
    h.check(r.returncode == 0, "rollback: %s %s" % (r.stdout, r.stderr))
    b = wait_for(s, rid, lambda b: b["state"] == "rolled_back", "the rollback")
    cur = assignments(s)
    h.check(all(cur[c]["version"] == 2 for c in fleet.cells),
            "not every cell back on 2: %s" % {c: cur[c]["version"] for c in fleet.cells})
    h.check(b["detail"]["joined"]["r2-a-c9"] == 2 and b["detail"]["prev"]["r2-a-c9"] == 0,
            "detail %s" % b["detail"])
    h.check(events(b, "rolled_back")[0]["cells_without_previous_version"] == [], "rolled_back")
    n += 1
    fleet.stop.set()
    fleet.join(10)
h.done("replan", n)
