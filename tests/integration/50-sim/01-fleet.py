# SPDX-License-Identifier: MIT
"""cellgate-sim against a real cellgated: a few hundred simulated hosts
(3 regions x 3 zones x 4 cells x 8 hosts) register, follow a good rollout
to completion, and show a bad version (its "sim" object raises the error
rate) to the first wave's gate, which rolls it back. The sim's JSON report
must agree with the server: the bad version ran only on first-step cells,
every host ran the good one, and the rollout timeline is complete."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SIM_BIN = os.path.join(harness.BIN_DIR, "sim", "cellgate-sim")
HOSTS = 3 * 3 * 4 * 8
SLOW = 3 if harness.SANITIZED else 1

PLAN = {
    "waves": [
        {"name": "canary", "cells": 1, "bake_s": 3, "min_requests": 1000},
        {"name": "zone", "percent": 12, "bake_s": 2, "min_requests": 2000},
        {"name": "rest", "percent": 100, "bake_s": 1},
    ],
    "gates": {"error_rate": {"max": 0.05, "max_ratio": 2.0, "min_delta": 0.005},
              "min_converged": 1.0},
    "stuck_timeout_s": 120, "on_stuck": "halt", "on_gate_failure": "rollback",
}


def wait_for(pred, secs, what):
    end = time.time() + secs * SLOW
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    harness.fail("timed out waiting for " + what)


def publish(s, doc):
    st, _, body = s.request("POST", "/v1/configs/feat/versions", json.dumps(doc),
                            headers={"Content-Type": "application/json"})
    harness.check(st == 201, "publish: %s %s" % (st, body[:300]))
    return json.loads(body)["number"]


def rollout(s, version):
    st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": version,
                                           "reason": "test"})
    harness.check(st == 201, "rollout start: %s %s" % (st, b))
    return b["id"]


def state_of(s, rid, want):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    harness.check(st == 200, "rollout get: %s" % st)
    if b["state"] in want:
        return b
    why = [e.get("detail") for e in b.get("events", [])
           if e.get("kind") in ("rollback.start", "halted", "replanned")]
    harness.check(b["state"] in ("running", "rolling_back"),
                  "rollout %d ended %s: %s" % (rid, b["state"], json.dumps(why)[:4000]))
    return None


def sim_report(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


passed = 0
with harness.Server(extra_args=["--tick-ms", "200"]) as s:
    work = s.data_dir
    json_out = os.path.join(work, "sim.json")
    ready = os.path.join(work, "sim.ready")
    log = open(os.path.join(work, "sim.log"), "wb")
    sim = subprocess.Popen(
        [SIM_BIN, "--server", s.url, "--token", s.admin_token, "--regions", "3", "--zones", "3",
         "--cells", "4", "--hosts", "8", "--rps", "100", "--report-ms", "1000", "--wait", "20",
         "--apply-delay-ms", "100", "--startup-ms", "1000", "--monitor-ms", "300",
         "--summary-ms", "0", "--json-out", json_out, "--json-every-ms", "300",
         "--ready-file", ready, "--token-prefix", "t50", "--duration", str(300 * SLOW)],
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    try:
        # the fleet registers its cells and every host polls once
        wait_for(lambda: os.path.exists(ready), 30, "every simulated host to poll")
        st, b = s.api("GET", "/v1/cells")
        harness.check(st == 200 and len(b["cells"]) == 36, "cells: %s" % st)
        passed += 1

        st, b = s.api("POST", "/v1/configs", {"name": "feat", "kind": "config",
                                              "contract": harness.FEATURE_CONTRACT})
        harness.check(st == 201, "config create: %s %s" % (st, b))
        st, b = s.api("PUT", "/v1/plans/p", PLAN)
        harness.check(st in (200, 201), "plan: %s %s" % (st, b))
        st, b = s.api("PUT", "/v1/configs/feat/plan", {"plan": "p"})
        harness.check(st == 200, "set plan: %s %s" % (st, b))

        # a good version goes everywhere
        v1 = publish(s, harness.features(60))
        r1 = rollout(s, v1)
        wait_for(lambda: state_of(s, r1, ("completed",)), 60, "rollout %d to complete" % r1)
        wait_for(lambda: (sim_report(json_out) or {}).get("versions") and
                 [v for v in sim_report(json_out)["versions"]
                  if v["version"] == v1 and v["hosts_now"] == HOSTS], 20,
                 "every simulated host to run v1")
        st, b = s.api("GET", "/v1/hosts")
        harness.check(st == 200 and len(b["hosts"]) == HOSTS,
                      "hosts known to the server: %d" % len(b.get("hosts", [])))
        passed += 1

        # a bad version is caught by the first step and rolled back
        bad = harness.features(62)
        bad["sim"] = {"error_rate": 0.2}
        v2 = publish(s, bad)
        r2 = rollout(s, v2)
        final = wait_for(lambda: state_of(s, r2, ("rolled_back", "halted")), 60,
                         "rollout %d to be rolled back" % r2)
        harness.check(final["state"] == "rolled_back", "bad rollout: %s" % final["state"])
        first_cells = set(final["steps"][0]["cells"])
        starts = [e for e in final["events"] if e["kind"] == "step.start"]
        harness.check(len(starts) == 1, "the bad version went past the first step: %s" %
                      [e["detail"] for e in starts])
        passed += 1

        # the sim's report agrees with the server
        def settled():
            d = sim_report(json_out)
            if not d:
                return None
            rs = [x for x in d["rollouts"] if x["id"] == r2]
            vs = [x for x in d["versions"] if x["version"] == v2]
            if rs and vs and rs[0]["state"] == "rolled_back" and vs[0]["hosts_now"] == 0 and \
                    rs[0]["blast_radius"]["last_host_left_at"]:
                return d
            return None
        d = wait_for(settled, 30, "the sim to see the rollback end")
    finally:
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
        try:
            out, _ = sim.communicate(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            sim.kill()
            out, _ = sim.communicate(timeout=10)
        log.close()
    harness.check(sim.returncode == 0, "cellgate-sim exited %s; log:\n%s" % (
        sim.returncode, open(os.path.join(work, "sim.log")).read()[-3000:]))
    harness.check(b"blast radius by rollout" in out, "no final report: %r" % out[-500:])
    d = sim_report(json_out)
    r = [x for x in d["rollouts"] if x["id"] == r2][0]
    br = r["blast_radius"]
    vbad = [x for x in d["versions"] if x["version"] == v2][0]
    vgood = [x for x in d["versions"] if x["version"] == v1][0]
    harness.check(set(vbad["cells"]) <= first_cells and set(br["cells"]) == set(vbad["cells"]),
                  "bad version ran outside the first step: %s vs %s" % (vbad["cells"],
                                                                         first_cells))
    harness.check(br["only_first_step_cells"] and br["cells_outside_first_step"] == [],
                  "blast radius: %s" % br)
    harness.check(0 < br["hosts"] <= 8 * len(first_cells), "hosts on v2: %s" % br["hosts"])
    harness.check(vbad["rolled_back"] and not vgood["rolled_back"], "rolled_back flags")
    harness.check(vgood["hosts_ever"] == HOSTS and vgood["cells_ever"] == 36,
                  "v1 reached %s hosts" % vgood["hosts_ever"])
    harness.check(0 < br["share_of_run"] < 0.05, "share of run %s" % br["share_of_run"])
    harness.check(0 < br["share_of_fleet_requests"] < 0.2,
                  "share during the rollout %s" % br["share_of_fleet_requests"])
    harness.check(vbad["errors"] > vbad["requests"] * 0.1, "the bad version was not bad")
    harness.check(r["time_to_detect_s"] is not None and r["time_to_detect_s"] > 0 and
                  r["time_to_end_of_rollback_s"] >= r["time_to_detect_s"],
                  "timeline: %s" % {k: r[k] for k in r if k.startswith("time")})
    harness.check(r["first_step_cells"] == final["steps"][0]["cells"], "first step cells")
    harness.check(d["agents"]["verify_failed"] == 0 and d["agents"]["rejected"] == 0,
                  "agents: %s" % d["agents"])
    harness.check(d["hosts_polled_once"] == HOSTS, "hosts polled: %s" % d["hosts_polled_once"])
    passed += 1

harness.done("50-sim/01-fleet", passed)
