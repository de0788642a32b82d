# SPDX-License-Identifier: MIT
"""A rollout end to end with real cellgate-agent processes (one per cell):
the controller assigns wave by wave, agents verify, validate and apply,
report, and the rollout completes on convergence. Then a version the hosts
refuse (their check command rejects it) fails the canary's apply-failure
gate and is rolled back automatically; no cell outside the canary ever had
it assigned, and every host keeps its last-known-good."""
import json, os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentkit as k
import harness as h

CELLS = ["c0", "c1", "c2", "c3"]
root = k.tmpdir()
with h.Server(extra_args=["--tick-ms", "100"]) as s:
    toks = k.setup_fleet(s, CELLS)
    plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 0},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 0}],
            "gates": {"max_apply_failures": 0}, "stuck_timeout_s": 120}
    st, b = s.api("PUT", "/v1/plans/quick", plan)
    k.check(st == 201, "plan %s" % b)
    st, b = s.api("PUT", "/v1/configs/features/plan", {"plan": "quick"})
    check_sh = os.path.join(root, "check.sh")
    with open(check_sh, "w") as f:
        f.write("#!/bin/sh\n! grep -q BAD \"$1\"\n")
    os.chmod(check_sh, 0o755)
    pub = k.pubkey(s)
    agents = [k.Agent(root, "h-" + c, c, toks[c], pub, [s.url], check_cmd=check_sh,
                      report_interval=1, wait=2).start() for c in CELLS]
    try:
        v1, body1 = k.publish(s, h.features(60))
        st, r = s.api("POST", "/v1/rollouts", {"config": "features", "version": v1, "reason": "v1"})
        k.check(st == 201, "rollout start %s %s" % (st, r))
        rid = r["id"]
        k.wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % rid)[1]["state"] == "completed", 90,
                   "rollout of v1 to complete")
        for a in agents:
            k.wait_for(lambda: a.content() == body1, 30, "%s to hold v1" % a.name)
        st, cfg = s.api("GET", "/v1/configs/features")
        k.check(cfg["live_version"] == v1, "live version %s" % cfg)

        bad = h.features(62)
        bad["features"][0]["name"] = "BAD"
        v2, _ = k.publish(s, bad)
        st, r = s.api("POST", "/v1/rollouts", {"config": "features", "version": v2, "reason": "v2"})
        k.check(st == 201, "rollout start %s %s" % (st, r))
        rid = r["id"]
        k.wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % rid)[1]["state"] == "rolled_back", 90,
                   "the refused version to be rolled back")
        st, r = s.api("GET", "/v1/rollouts/%d" % rid)
        assigned = set()
        for e in r["events"]:
            if e["kind"] == "step.start":
                assigned |= set(e["detail"]["cells"])
        k.check(len(assigned) == 1, "cells outside the canary got the refused version: %s" % assigned)
        k.check(any(e["kind"] == "rollback.start" and "apply_failures" in json.dumps(e["detail"])
                    for e in r["events"]), "rollback reason not recorded: %s" % r["events"])
        for a in agents:
            k.check(a.content() == body1, "%s does not hold its last-known-good" % a.name)
            k.check(a.alive(), "%s died" % a.name)
        st, b = s.api("GET", "/v1/configs/features/assignments")
        k.check(all(x["version"] == v1 for x in b["assignments"]), "assignments after rollback %s" % b)
    finally:
        for a in agents:
            a.stop()
k.rmtree(root)
h.done("agent-rollout", 2)
