# SPDX-License-Identifier: MIT
"""Rollouts survive SIGKILL of the server (I2, I4, I6, I8): rollouts run
against a real cellgated driven by synthetic agent reports; the server is
killed with SIGKILL at random moments (at least 30 times) and restarted.
Afterwards every rollout has continued from where it was: no step started
twice, no cell assigned twice by one rollout, generations only grow, every
rollout completed, and the audit chain verifies."""
import json, os, random, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

KILLS = int(os.environ.get("CG_ROLLOUT_KILLS", "30"))
rnd = random.Random(int(os.environ.get("CG_SEED", "99")))
CELLS = ["r%d-z%d-c%d" % (r, z, c) for r in range(3) for z in range(2) for c in range(2)]

s = h.Server(extra_args=["--tick-ms", "50"]).start()
for c in CELLS:
    st, b = s.api("POST", "/v1/cells", {"id": c, "region": "region-" + c[1], "zone": c[:5]})
    h.check(st == 201, "cell %s" % b)
plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 0, "min_requests": 20},
                  {"name": "rest", "percent": 100, "bake_s": 0, "min_requests": 20}],
        "gates": {"error_rate": {"max": 0.5}}}
st, b = s.api("PUT", "/v1/plans/quick", plan)
h.check(st == 201, "plan %s" % b)
st, b = s.api("POST", "/v1/configs", {"name": "app", "contract": {"schema": {"type": "object"}}, "plan": "quick"})
h.check(st == 201, "config %s" % b)

stop = threading.Event()


def reporter():
    """Every host applies its cell's assignment at once and reports."""
    seq = 0
    while not stop.is_set():
        try:
            st, b = s.api("GET", "/v1/configs/app/assignments")
            if st == 200:
                cur = {a["cell"]: a for a in b["assignments"]}
                seq += 1
                for c in CELLS:
                    a = cur.get(c)
                    cfgs = [] if not a else [{"config": "app", "version": a["version"],
                                              "generation": a["generation"], "outcome": "applied",
                                              "lkg_version": a["version"],
                                              "lkg_generation": a["generation"]}]
                    s.api("POST", "/v1/agent/report", {"host": c + "-h0", "cell": c, "seq": seq,
                                                       "window_ms": 100, "configs": cfgs,
                                                       "health": {"requests": 50, "errors": 0}})
        except (OSError, TypeError, AttributeError):
            pass  # server down: the agent would back off; so do we
        time.sleep(0.05)


t = threading.Thread(target=reporter, daemon=True)
t.start()

rollouts = []
kills = 0
version = 0
deadline = time.time() + 240
while kills < KILLS and time.time() < deadline:
    version += 1
    st, b = s.api("POST", "/v1/configs/app/versions", {"v": version})
    h.check(st == 201, "publish %s %s" % (st, b))
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": version, "reason": "test"})
    h.check(st == 201, "rollout start %s %s" % (st, b))
    rid = b["id"]
    rollouts.append(rid)
    # Kill it a few times while it runs, then let it finish.
    for _ in range(3):
        time.sleep(rnd.uniform(0.05, 0.6))
        s.kill9()
        kills += 1
        s.start()
    end = time.time() + 60
    while time.time() < end:
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        if st == 200 and b["ended_at"]:
            break
        time.sleep(0.1)
    h.check(b["state"] == "completed", "rollout %d ended %s: %s" % (rid, b["state"], json.dumps(b["events"])[-800:]))
stop.set()
t.join(10)

# Invariants from the persisted events and the audit log.
recs = h.audit_all(s)
bad = h.audit_verify(recs)
h.check(bad is None, "audit chain broken at %s" % bad)
last_gen = {}
for rid in rollouts:
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    starts = [e["detail"]["step"] for e in b["events"] if e["kind"] == "step.start"]
    h.check(len(starts) == len(set(starts)), "rollout %d started a step twice: %s" % (rid, starts))
    h.check(starts == sorted(starts), "rollout %d steps out of order: %s" % (rid, starts))
    seen = set()
    for e in b["events"]:
        if e["kind"] == "step.start":
            cells = set(e["detail"]["cells"])
            h.check(not (cells & seen), "rollout %d assigned %s twice" % (rid, cells & seen))
            seen |= cells
    h.check(seen == set(CELLS), "rollout %d did not cover the fleet: %s" % (rid, set(CELLS) - seen))
st, b = s.api("GET", "/v1/configs/app/assignments")
for a in b["assignments"]:
    h.check(a["version"] == version, "cell %s ends on %s, not %s" % (a["cell"], a["version"], version))
st, cfg = s.api("GET", "/v1/configs/app")
h.check(cfg["live_version"] == version, "live version %s" % cfg["live_version"])
# The config's generation grew by one per assignment change: one per step
# started and never reused (I2).
steps_started = sum(1 for r in recs if r["action"] == "rollout.step")
h.check(cfg["generation"] == steps_started, "generation %d for %d steps" % (cfg["generation"], steps_started))
s.stop()
print("rollouts: %d, kills: %d" % (len(rollouts), kills))
h.done("kill9-rollouts", kills)
