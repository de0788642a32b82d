#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The rollout page's gate evaluations (docs/dashboard.md, table#evaluations)
against the API's evaluation records, on rollouts whose gates really
evaluated: one host per cell reports through /v1/agent/report, the cells
on a bad version with 30% errors.

- a rollout of the bad version halts in its canary (on_gate_failure: halt)
  with error_rate failing significantly: its row says fail, with the
  p-value of the gate's own field p_value (below 0.001), the same figure as
  the "p=" of its test text;
- a rollout of a good version completes, its steps passing with p-values;
- on both pages every row of table#evaluations (tr[data-gate]) shows,
  cell by cell, what GET /v1/rollouts/ID holds for the same evaluation and
  gate: observed value, baseline, threshold, the test, the p-value, n (wave
  / baseline requests), the verdict and the reason, in the page's order
  (the current evaluation, then the newest five logged ones)."""
import html
import json
import os
import re
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

SLOW = 3 if h.SANITIZED else 1
BAD = 2
CELLS = [("c1", "z1"), ("c2", "z2"), ("c3", "z3"), ("c4", "z4")]
passed = 0


def ok(cond, msg):
    global passed
    h.check(cond, msg)
    passed += 1


class Fleet(threading.Thread):
    """One host per cell, every 150 ms reporting the cell's assignment as
    applied: 1,000 requests, 1% errors, 30% on version BAD."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/cfg/assignments")
                for a in (b or {}).get("assignments", []) if st == 200 else []:
                    self.seq += 1
                    errors = 300 if a["version"] == BAD else 10
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + a["cell"], "cell": a["cell"], "seq": self.seq,
                        "window_ms": 150,
                        "configs": [{"config": "cfg", "version": a["version"],
                                     "generation": a["generation"], "outcome": "applied",
                                     "lkg_version": a["version"],
                                     "lkg_generation": a["generation"]}],
                        "health": {"requests": 1000, "errors": errors}})
            except OSError:
                pass
            self.stop.wait(0.15)


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    ok(st == 200, "status %d: %s" % (rid, st))
    return b


def wait_state(s, rid, want):
    end = time.time() + 60 * SLOW
    while time.time() < end:
        b = status(s, rid)
        if b["state"] in want:
            return b
        time.sleep(0.1)
    h.fail("rollout %d never reached %s: %s" % (rid, want, b["state"]))


def login(s, token):
    st, hd, _ = s.request("POST", "/ui/login", body=urllib.parse.urlencode({"token": token}),
                          token=None,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    m = re.match(r"cg_session=([0-9a-f]{64})", hd.get("set-cookie", ""))
    ok(st == 303 and m, "login: %s" % st)
    return m.group(1)


def page(s, cookie, rid):
    st, _, body = s.request("GET", "/ui/rollouts/%d" % rid, token=None,
                            headers={"Cookie": "cg_session=" + cookie})
    ok(st == 200, "rollout page %d: %s" % (rid, st))
    return body.decode()


def rows_of(body):
    """Every tr[data-gate] of table#evaluations: (gate, verdict, [cells])."""
    m = re.search(r'<table id="evaluations".*?<tbody>\n(.*?)</tbody>', body, re.S)
    ok(m, "table#evaluations")
    out = []
    for tr in re.finditer(r'<tr data-gate="([^"]*)" data-verdict="([^"]*)"[^>]*>(.*?)</tr>',
                          m.group(1), re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr.group(3), re.S)
        out.append((html.unescape(tr.group(1)), tr.group(2), cells))
    return out


def evaluations_of(r):
    """The evaluations the page shows, in its order (web_rollout.c): the
    current one, then the newest five logged ones."""
    out = []
    if isinstance(r.get("evaluation"), dict):
        out.append(r["evaluation"])
    logged = []
    for e in reversed(r["events"]):
        d = e.get("detail") or {}
        ev = d.get("evaluation")
        if not isinstance(ev, dict) and e["kind"] == "evaluation":
            ev = d
        if isinstance(ev, dict) and isinstance(ev.get("gates"), list):
            logged.append(ev)
        if len(logged) == 5:
            break
    return out + logged


def num(v):
    return "-" if v is None else "%.6g" % v


def want_cells(ev, g):
    """The cells of a gate's row from its API record: Observed, Baseline,
    Threshold, Test, p-value, n, Verdict, Reason."""
    return [num(g["wave_value"]), num(g["baseline_value"]), num(g["threshold"]),
            html.escape(g["test"]),
            "-" if g["p_value"] is None else "%.2g" % g["p_value"],
            "%d / %d" % (ev["wave_requests"], ev["baseline_requests"]),
            '<span class="badge badge-%s">%s</span>' % (g["verdict"], g["verdict"]),
            html.escape(g["reason"])]


def compare(s, cookie, rid):
    """The page against the API, read before and after it; retried while
    the two reads differ (the evaluation moved meanwhile)."""
    for _ in range(50):
        before = evaluations_of(status(s, rid))
        body = page(s, cookie, rid)
        after = evaluations_of(status(s, rid))
        if before == after:
            break
        time.sleep(0.2)
    else:
        h.fail("rollout %d's evaluations never held still" % rid)
    rows = rows_of(body)
    want = [(ev, g) for ev in before for g in ev["gates"]]
    ok(len(rows) == len(want) and want, "rollout %d: %d rows for %d gate records"
       % (rid, len(rows), len(want)))
    for (gate, verdict, cells), (ev, g) in zip(rows, want):
        ok(gate == g["gate"] and verdict == g["verdict"] and cells[2] == html.escape(g["gate"]),
           "row %s/%s against %s/%s" % (gate, verdict, g["gate"], g["verdict"]))
        ok(cells[0] == str(ev["step"] + 1), "step of %s: %s" % (gate, cells[0]))
        got = cells[3:]
        ok(got == want_cells(ev, g), "rollout %d gate %s:\n page %s\n api  %s"
           % (rid, gate, got, want_cells(ev, g)))
    return rows, want


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    for c, z in CELLS:
        ok(s.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": z})[0] == 201, c)
    ok(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                     "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    for k in (60, 62, 64):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                             json.dumps(h.features(k)))
        ok(st == 201, "publish %s" % b)
    plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 100},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 100}],
            "gates": {"error_rate": {"max": 0.5, "max_ratio": 2.0}},
            "on_gate_failure": "halt"}
    ok(s.api("PUT", "/v1/plans/gated", plan)[0] == 201, "plan")
    ok(s.cli("config", "set-plan", "cfg", "gated").returncode == 0, "set-plan")
    ok(s.cli("assign", "cfg", "1", *sum((["--cell", c] for c, _ in CELLS), [])).returncode == 0,
       "baseline")
    cookie = login(s, s.admin_token)
    fleet = Fleet(s)
    fleet.start()
    try:
        # the bad version: the canary's error_rate fails, the rollout halts
        st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": BAD,
                                               "reason": "bad <v2>"})
        ok(st == 201, "start the bad version: %s %s" % (st, b))
        bad = b["id"]
        r = wait_state(s, bad, ("halted", "rolled_back", "completed"))
        ok(r["state"] == "halted", "the bad version halted: %s" % r["state"])
        halted = [e for e in r["events"] if e["kind"] == "halted"]
        ev = halted and halted[-1]["detail"].get("evaluation")
        ok(ev and ev["verdict"] == "fail", "the halt's evaluation: %s" % ev)
        er = [g for g in ev["gates"] if g["gate"] == "error_rate"][0]
        ok(er["verdict"] == "fail" and isinstance(er["p_value"], float)
           and 0 <= er["p_value"] < 0.001 and ("p=%.2g" % er["p_value"]) in er["test"]
           and ("always-valid p=%.2g <" % er["p_value"]) in er["reason"],
           "error_rate's p_value is the p its verdict rests on: %s" % er)
        ok(all(g["p_value"] is None for g in ev["gates"]
               if g["gate"] in ("apply_failures", "convergence", "requests")),
           "gates without a test have no p-value: %s" % ev["gates"])
        rows, _ = compare(s, cookie, bad)
        fail_rows = [c for g, v, c in rows if g == "error_rate" and v == "fail"]
        ok(fail_rows and fail_rows[0][7] == "%.2g" % er["p_value"],
           "the failing row shows the p-value %s: %s" % (er["p_value"], fail_rows))

        # a good version: every step passes, each with its p-value
        st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 3,
                                               "reason": "good"})
        ok(st == 201, "start the good version: %s %s" % (st, b))
        good = b["id"]
        r = wait_state(s, good, ("completed", "halted", "rolled_back"))
        ok(r["state"] == "completed", "the good version completed: %s" % r["state"])
        passes = [e["detail"]["evaluation"] for e in r["events"] if e["kind"] == "step.passed"]
        ok(len(passes) == r["steps_total"] and all(p["verdict"] == "pass" for p in passes),
           "a passing evaluation per step: %s" % [p["verdict"] for p in passes])
        ps = [g["p_value"] for p in passes for g in p["gates"] if g["gate"] == "error_rate"]
        ok(ps and all(isinstance(p, float) and p >= 0.001 for p in ps),
           "passing error_rate p-values: %s" % ps)
        rows, _ = compare(s, cookie, good)
        pr = [c for g, v, c in rows if g == "error_rate" and v == "pass"]
        ok(pr and all(c[7] != "-" for c in pr), "the passing rows show their p-values: %s" % pr)
    finally:
        fleet.stop.set()
h.done("65-dashboard/05-gate-evaluations", passed)
