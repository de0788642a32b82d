# SPDX-License-Identifier: MIT
"""GET /v1/state?at=T and `cellgate state --at T` (docs/api/state.md): the
state at any time, rebuilt from the audit log without restoring anything.

While a simulated fleet follows a rollout that completes, a second that is
rolled back by its gate, direct assignments, a version deletion and an
open rollout, the test records the live state (every cell's assignment
with its generation, the open rollouts, the configs' counters and
versions) after each change; afterwards the state at each recorded time
must be exactly what was recorded, and the state now what the live API
says. A token scoped to another config sees none of it; a time before the
config existed has no config; bad input is 400, an unknown config 404."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402

SIM_BIN = os.path.join(h.BIN_DIR, "sim", "cellgate-sim")
SLOW = 3 if h.SANITIZED else 1
n = 0

PLAN = {"waves": [{"name": "one", "cells": 1, "bake_s": 1, "min_requests": 100},
                  {"name": "rest", "percent": 100, "bake_s": 1}],
        "gates": {"error_rate": {"max": 0.05, "max_ratio": 2.0, "min_delta": 0.005},
                  "min_converged": 0.5},
        "stuck_timeout_s": 120, "on_stuck": "halt", "on_gate_failure": "rollback"}
SLOW_PLAN = {"waves": [{"name": "one", "cells": 1, "bake_s": 3600},
                       {"name": "rest", "percent": 100, "bake_s": 1}],
             "gates": {"min_converged": 0.5}, "stuck_timeout_s": 7200, "on_stuck": "halt"}


def wait_for(pred, secs, what):
    end = time.time() + secs * SLOW
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    h.fail("timed out waiting for " + what)


def publish(s, doc):
    st, _, body = s.request("POST", "/v1/configs/feat/versions", json.dumps(doc),
                            headers={"Content-Type": "application/json"})
    h.check(st == 201, "publish: %s %s" % (st, body[:200]))
    return json.loads(body)["number"]


def rollout_state(s, rid):
    return s.api("GET", "/v1/rollouts/%d" % rid)[1]["state"]


def live(s):
    """What the live API says now, in the shape compared below."""
    st, a = s.api("GET", "/v1/configs/feat/assignments?limit=1000")
    h.check(st == 200, "assignments: %s" % st)
    st, c = s.api("GET", "/v1/configs/feat")
    st2, v = s.api("GET", "/v1/configs/feat/versions?limit=1000")
    st3, ro = s.api("GET", "/v1/rollouts?open=1")
    h.check(st == 200 and st2 == 200 and st3 == 200, "live reads")
    return {
        "cells": sorted((x["cell"], x["version"], x["generation"]) for x in a["assignments"]),
        "generation": c["generation"], "latest": c["latest_version"],
        "versions": sorted(x["number"] for x in v["versions"] if not x["deleted_at"]),
        "open": sorted((x["id"], x["state"]) for x in ro["rollouts"] if x["config"] == "feat"),
    }


def at(s, t_ms, token="admin"):
    st, b = s.api("GET", "/v1/state?at=%d&config=feat" % t_ms, token=token)
    h.check(st == 200, "state at %d: %s %s" % (t_ms, st, b))
    c = b["configs"][0]
    return {
        "cells": sorted((x["cell"], x["version"], x["generation"]) for x in c["assignments"]),
        "generation": c["generation"], "latest": c["latest_version"],
        "versions": sorted(x["number"] for x in c["versions"] if not x["deleted"]),
        "open": sorted((x["id"], x["state"]) for x in b["rollouts_open"]),
    }


recorded = []


def record(s, what):
    """The live state, bracketed by two times at which nothing changes."""
    time.sleep(0.02)
    before = live(s)
    t = int(time.time() * 1000)
    time.sleep(0.02)
    h.check(live(s) == before, "the state moved while recording " + what)
    recorded.append((what, t, before))


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    t_empty = int(time.time() * 1000)
    time.sleep(0.02)
    sim_log = open(os.path.join(s.data_dir, "sim.log"), "wb")
    ready = os.path.join(s.data_dir, "sim.ready")
    sim = subprocess.Popen(
        [SIM_BIN, "--server", s.url, "--token", s.admin_token, "--regions", "1", "--zones", "2",
         "--cells", "2", "--hosts", "4", "--rps", "100", "--report-ms", "300", "--wait", "20",
         "--startup-ms", "300", "--summary-ms", "0", "--ready-file", ready,
         "--token-prefix", "t954", "--duration", str(300 * SLOW)],
        stdout=subprocess.DEVNULL, stderr=sim_log, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(ready), 30, "every simulated host to poll")
        cells = sorted(c["id"] for c in s.api("GET", "/v1/cells")[1]["cells"])
        st, b = s.api("POST", "/v1/configs", {"name": "feat", "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})
        h.check(st == 201, "config: %s %s" % (st, b))
        for name, plan in (("p", PLAN), ("slow", SLOW_PLAN)):
            st, b = s.api("PUT", "/v1/plans/" + name, plan)
            h.check(st in (200, 201), "plan: %s %s" % (st, b))
        st, b = s.api("PUT", "/v1/configs/feat/plan", {"plan": "p"})
        h.check(st == 200, "set plan: %s" % st)
        v1 = publish(s, h.features(60))
        record(s, "published, nothing assigned")

        st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": v1,
                                               "reason": "first"})
        h.check(st == 201, "rollout 1: %s %s" % (st, b))
        r1 = b["id"]
        wait_for(lambda: rollout_state(s, r1) == "completed", 60, "rollout 1 to complete")
        record(s, "v1 everywhere")

        bad = h.features(62)
        bad["sim"] = {"error_rate": 0.3}
        v2 = publish(s, bad)
        st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": v2,
                                               "reason": "bad"})
        h.check(st == 201, "rollout 2: %s %s" % (st, b))
        r2 = b["id"]
        wait_for(lambda: rollout_state(s, r2) in ("rolled_back", "halted"), 60,
                 "rollout 2 to be rolled back")
        record(s, "the bad version rolled back")

        # retention (I3) refuses until every host has reported leaving v2
        wait_for(lambda: s.api("DELETE", "/v1/configs/feat/versions/%d" % v2,
                               {"reason": "bad"})[0] in (200, 204), 30, "v2 to be deletable")
        v3 = publish(s, h.features(61))
        g = s.api("GET", "/v1/configs/feat")[1]["generation"]
        st, b = s.api("POST", "/v1/configs/feat/assign", {"version": v3, "cells": cells[:1],
                                                          "expect_generation": g,
                                                          "reason": "by hand"})
        h.check(st in (200, 201), "assign: %s %s" % (st, b))
        record(s, "v2 deleted, v3 assigned by hand")

        st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": v3, "plan": "slow",
                                               "reason": "held"})
        h.check(st == 201, "rollout 3: %s %s" % (st, b))
        r3 = b["id"]
        wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % r3)[1]["step_state"] == "bake", 30,
                 "rollout 3 to bake")
        record(s, "rollout 3 open")
        st, b = s.api("POST", "/v1/rollouts/%d/pause" % r3, {"reason": "look"})
        h.check(st == 200, "pause: %s %s" % (st, b))
        record(s, "rollout 3 paused")
    finally:
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
        try:
            sim.communicate(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.communicate(timeout=10)
        sim_log.close()

    # the state at each recorded time is what was recorded
    for what, t, want in recorded:
        got = at(s, t)
        h.check(got == want, "%s: state at %d\n got  %s\n want %s" % (what, t, got, want))
        n += 1
    # and now is what the live API says
    h.check(at(s, int(time.time() * 1000) + 1000) == live(s), "state now"); n += 1
    st, b = s.api("GET", "/v1/state")
    h.check(st == 200 and [c["name"] for c in b["configs"]] == ["feat"] and
            sorted(c["id"] for c in b["cells"]) == cells and
            sorted(p["name"] for p in b["plans"]) == ["p", "slow"], "whole state: %s" %
            json.dumps(b)[:500]); n += 1
    h.check(b["records"] == b["audit_seq"] and b["audit_hash"] ==
            s.api("GET", "/v1/audit?after=%d&limit=1" % (b["audit_seq"] - 1))[1]["records"][0]
            ["hash"], "the state names the last record it replayed"); n += 1
    st, b = s.api("GET", "/v1/state?at=%d" % t_empty)
    h.check(st == 200 and b["configs"] == [] and b["rollouts_open"] == [],
            "before the config: %s" % b); n += 1

    # scope: a token for another config sees nothing of feat
    st, b = s.api("POST", "/v1/tokens", {"name": "other", "role": "deployer",
                                         "configs": ["other"]})
    h.check(st == 201, "scoped token: %s %s" % (st, b))
    scoped = b["token"]
    st, b = s.api("GET", "/v1/state", token=scoped)
    h.check(st == 200 and b["configs"] == [] and b["rollouts_open"] == [],
            "scoped: %s" % json.dumps(b)[:300]); n += 1
    st, b = s.api("GET", "/v1/state?config=feat", token=scoped)
    h.check(st == 404, "scoped config: %s" % st); n += 1

    # bad input
    for q, want in (("at=yesterday", 400), ("at=-5", 400), ("config=Bad%20Name", 400),
                    ("config=nope", 404)):
        st, b = s.api("GET", "/v1/state?" + q)
        h.check(st == want, "%s: %s %s" % (q, st, b))
    n += 1

    # the CLI
    what, t, want = recorded[3]
    r = s.cli("state", "--at", str(t), "--config", "feat")
    h.check(r.returncode == 0 and "feat" in r.stdout and
            all(c in r.stdout for c, _, _ in want["cells"]) and "by hand" not in r.stdout and
            "assign" in r.stdout, "cli state: %r %r" % (r.stdout, r.stderr)); n += 1
    r = s.cli("--json", "state", "--at", str(t))
    h.check(r.returncode == 0 and json.loads(r.stdout)["configs"][0]["name"] == "feat",
            "cli --json: %r" % r.stderr[-300:]); n += 1
    r = s.cli("state", "--at", "soon")
    h.check(r.returncode == 2 and "--at" in r.stderr, "cli bad --at: %r" % r.stderr); n += 1

h.done("04-state-at", n)
