# SPDX-License-Identifier: MIT
"""A whole rollout through the CLI: `plan preview`, `rollout start` (and the
409 for a second one), `rollout watch` in plain (not a terminal) mode
running alongside, `rollout pause`/`resume`, an approval (refused for the
rollout's creator, accepted from an approver token), `rollout status` and
`rollout list`, and --json for every read command. Synthetic reports from
one healthy host per cell drive the gates."""
import json, os, subprocess, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
CELLS = [("c1", "r1", "z1"), ("c2", "r1", "z2"), ("c3", "r2", "z3"), ("c4", "r2", "z4")]
SLOW = 3 if h.SANITIZED else 1


def code(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


def ok(r, what):
    return code(r, 0, what)


def js(r, what):
    ok(r, what)
    try:
        return json.loads(r.stdout)
    except ValueError:
        h.fail("%s: --json output does not parse: %r" % (what, r.stdout))


class Fleet(threading.Thread):
    """One host per cell: every 150 ms it reports the cell's assignment as
    applied, with healthy traffic."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/cfg/assignments")
                for a in (b or {}).get("assignments", []) if st == 200 else []:
                    self.seq += 1
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + a["cell"], "cell": a["cell"], "seq": self.seq,
                        "window_ms": 150,
                        "configs": [{"config": "cfg", "version": a["version"],
                                     "generation": a["generation"], "outcome": "applied",
                                     "lkg_version": a["version"],
                                     "lkg_generation": a["generation"]}],
                        "health": {"requests": 40, "errors": 0}})
            except OSError:
                pass
            self.stop.wait(0.15)


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "status %s %s" % (st, b))
    return b


def wait_for(s, rid, pred, what, timeout=30 * SLOW):
    end = time.time() + timeout
    while time.time() < end:
        b = status(s, rid)
        if pred(b):
            return b
        time.sleep(0.1)
    h.fail("timed out waiting for %s; last status %s" % (what, json.dumps(b)[:2000]))


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    for c, reg, z in CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})[0] == 201, c)
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    for k in (60, 62):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                             json.dumps(h.features(k)))
        h.check(st == 201, "publish %s" % b)
    plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1, "approval": True}],
            "gates": {"error_rate": {"max": 0.05, "max_ratio": 2.0}}}
    h.check(s.api("PUT", "/v1/plans/fast", plan)[0] == 201, "plan")
    ok(s.cli("assign", "cfg", "1", "--cell", "c1", "--cell", "c2", "--cell", "c3", "--cell", "c4",
             "-m", "baseline"), "assign baseline")

    # plan preview: per step wave, cells, regions, zones, bake, constraint; notes
    r = ok(s.cli("plan", "preview", "fast", "--config", "cfg"), "plan preview")
    out = r.stdout
    h.check(out.startswith("plan fast: 3 steps over 4 cells in 2 regions, 4 zones\n"), "%r" % out)
    h.check("step 1/3  wave canary  1 cell, 1/4 covered" in out
            and "step 2/3  wave rest (part 1/2)  2 cells, 3/4 covered" in out
            and "step 3/3  wave rest (part 2/2)  1 cell, 4/4 covered" in out, "%r" % out)
    h.check(out.count("  constraint:  ") == 3 and "max_zones_per_region 1" in out
            and out.count("  zones:       r") == 3 and "needs approval" in out, "%r" % out)
    h.check("\nnotes:\n  split (rest): wave \"rest\" is split into 2 steps" in out, "%r" % out)
    n += 1
    pv = js(s.cli("plan", "preview", "fast", "--config", "cfg", "--json"), "plan preview --json")
    h.check(len(pv["steps"]) == 3 and pv["fleet"]["cells"] == 4, "%s" % pv); n += 1
    code(s.cli("plan", "preview", "nope"), 3, "preview of an unknown plan"); n += 1
    code(s.cli("plan", "preview"), 2, "preview without NAME"); n += 1

    fleet = Fleet(s)
    fleet.start()
    try:
        # start; a second start is a conflict that names the open rollout
        code(s.cli("rollout", "start", "cfg", "2", "--plan", "fast"), 2, "start without -m")
        r = ok(s.cli("rollout", "start", "cfg", "2", "--plan", "fast", "-m", "ship v2"), "start")
        first = r.stdout.splitlines()[0]
        h.check(first.startswith("started rollout ") and ": cfg none -> 2 (forward, plan fast)"
                in first, "%r" % r.stdout)
        rid = int(first.split()[2].rstrip(":"))
        h.check("cellgate rollout watch %d" % rid in r.stdout, "%r" % r.stdout); n += 1
        r = code(s.cli("rollout", "start", "cfg", "2", "--plan", "fast", "-m", "again"), 3, "second rollout")
        h.check("open rollout %d" % rid in r.stderr, "%r" % r.stderr); n += 1

        # watch in plain mode, alongside everything below
        env = dict(os.environ, CELLGATE_SERVER=s.url, CELLGATE_TOKEN=s.admin_token)
        watch = subprocess.Popen([h.CLI_BIN, "rollout", "watch", str(rid), "--interval", "100"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env)
        # read its lines as they come, so the test can wait until the watch
        # has seen a short-lived state before moving on (a loaded machine
        # may delay its 100 ms polls)
        watch_lines = []
        def pump():
            for line in watch.stdout:
                watch_lines.append(line)
        pumper = threading.Thread(target=pump, daemon=True)
        pumper.start()

        # pause while the canary bakes: it is not promoted; resume
        b = wait_for(s, rid, lambda b: b["step_state"] == "bake", "the canary to bake")
        r = ok(s.cli("rollout", "pause", str(rid), "-m", "look first"), "pause")
        h.check(r.stdout.startswith("paused rollout %d: " % rid) and "paused" in r.stdout,
                "%r" % r.stdout)
        time.sleep(1.6 * SLOW)
        b = status(s, rid)
        h.check(b["state"] == "paused" and b["step"] == 0, "paused rollout moved: %s" % b); n += 1
        code(s.cli("rollout", "pause", str(rid)), 3, "pause twice (409)")
        b = js(s.cli("rollout", "resume", str(rid), "--json"), "resume --json")
        h.check(b["state"] == "running" and b["id"] == rid, "%s" % b); n += 1

        # the approval gate before wave "rest"
        wait_for(s, rid, lambda b: b["state"] == "waiting_approval", "the approval")
        r = ok(s.cli("rollout", "status", str(rid)), "status while waiting")
        h.check("waiting_approval" in r.stdout and "cellgate rollout approve %d" % rid in r.stdout,
                "%r" % r.stdout)
        rows = [l.split() for l in r.stdout.splitlines() if l[:1].isdigit()]
        h.check([x[3] for x in rows[:3]] == ["done", "approval", "pending"], "%r" % r.stdout)
        n += 1
        r = code(s.cli("rollout", "approve", str(rid)), 5, "self-approval (403)")
        h.check("cannot approve" in r.stderr, "%r" % r.stderr); n += 1
        st, t = s.api("POST", "/v1/tokens", {"name": "alice", "role": "approver"})
        h.check(st == 201, "token %s" % t)
        st, d = s.api("POST", "/v1/tokens", {"name": "rita", "role": "reader"})
        code(s.cli("rollout", "approve", str(rid), token=d["token"]), 5, "reader approves (403)")
        end = time.time() + 30 * SLOW
        while time.time() < end and not any("state: waiting_approval" in l for l in watch_lines):
            time.sleep(0.05)
        r = ok(s.cli("rollout", "approve", str(rid), "-m", "lgtm", token=t["token"]), "approve")
        h.check(r.stdout.startswith("approved rollout %d" % rid), "%r" % r.stdout); n += 1

        # the watch ends with the rollout: exit 0, and its lines tell the story
        try:
            watch.wait(timeout=60 * SLOW)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()
            pumper.join(5)
            h.fail("rollout watch did not end: %r %r" % ("".join(watch_lines), watch.stderr.read()))
        pumper.join(10)
        out, err = "".join(watch_lines), watch.stderr.read()
        h.check(watch.returncode == 0, "watch exit %d: %r %r" % (watch.returncode, out, err))
        if os.environ.get("CG_VERBOSE"):
            sys.stderr.write(out)
        lines = out.splitlines()
        h.check(lines[0].startswith("rollout %d: cfg none -> 2 (forward, plan fast)" % rid),
                "%r" % out)
        h.check(lines[-1] == "rollout %d completed" % rid, "%r" % out)
        for want in ["step.start: step 1 (canary), version 2, cells ", "pause: ",
                     "by token:admin, reason: look first", "resume", "approval.wait: step 2 (rest)",
                     "approve: step 2, by token:alice, reason: lgtm", "step.passed: step 3",
                     "state: waiting_approval", "completed: version 2"]:
            h.check(want in out, "watch output lacks %r:\n%s" % (want, out))
        # A slow start (sanitizers) may make the watch's first poll see the
        # pause already: then the header says so instead of a transition.
        h.check("state: paused" in out or ": paused, step" in lines[0],
                "watch output never shows the pause:\n%s" % out)
        prog = [l for l in lines if l.startswith("step 1/3 canary  [")]
        h.check(prog and any("hosts 1/1" in l and "requests " in l and "bake " in l
                             and "gates " in l for l in prog), "progress lines %r" % out)
        h.check(any(l.startswith("step 2/3 rest (1/2)  [") for l in lines), "%r" % out)
        h.check("\x1b" not in out, "escape sequences in plain mode"); n += 1

        # completed: status, list, --json
        r = ok(s.cli("rollout", "status", str(rid)), "status completed")
        h.check("): completed" in r.stdout.splitlines()[0]
                and [l.split()[3] for l in r.stdout.splitlines() if l[:1].isdigit()][:3]
                == ["done", "done", "done"] and "events (newest 10 of " in r.stdout,
                "%r" % r.stdout); n += 1
        b = js(s.cli("rollout", "status", str(rid), "--json"), "status --json")
        h.check(b["state"] == "completed" and len(b["steps"]) == 3, "%s" % b); n += 1
        r = ok(s.cli("rollout", "list"), "list")
        h.check(r.stdout.split()[:9] == ["ID", "CONFIG", "KIND", "FROM", "TO", "STATE", "STEP",
                                         "CREATED", "BY"]
                and r.stdout.splitlines()[1].split()[:6] == [str(rid), "cfg", "forward", "-", "2",
                                                             "completed"], "%r" % r.stdout); n += 1
        b = js(s.cli("rollout", "list", "--config", "cfg", "--json"), "list --json")
        h.check([x["id"] for x in b["rollouts"]] == [rid], "%s" % b)
        b = js(s.cli("rollout", "list", "--open", "--json"), "list --open --json")
        h.check(b["rollouts"] == [], "%s" % b); n += 1
        r = ok(s.cli("rollout", "watch", str(rid), "--json"), "watch --json of an ended rollout")
        h.check(json.loads(r.stdout.splitlines()[-1])["state"] == "completed", "%r" % r.stdout)
        n += 1
        r = ok(s.cli("status", "cfg"), "status after the rollout")
        h.check("live version 2" in r.stdout, "%r" % r.stdout); n += 1
        code(s.cli("rollout", "status", "999"), 3, "unknown rollout"); n += 1
    finally:
        fleet.stop.set()
        fleet.join(10)

h.done("40-cli/22-rollout", n)
