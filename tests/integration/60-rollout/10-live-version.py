# SPDX-License-Identifier: MIT
"""Issue 17: one meaning of "live" (docs/contracts.md "Live version").

After a complete first rollout, during a partial one (the canary changed,
the rest waiting for an approval), after it completed, and after a
rollback, these agree on the live version: the config object
(`live_version`, `assigned_versions`), the state replayed from the audit
log (`GET /v1/state`), a validate result (`live_version`,
and `base_version` it was compared with), the refusal to delete a version
(the live one is "the live version", one assigned to cells is "assigned to
cells ...", never "live"), `cellgate config show` and the dashboard's
config page (`#live-version`, `#assigned-versions`). Before any rollout
completed, nothing is called live: the newest published version is only
the comparison base. Synthetic reports from one healthy host per cell
drive the gates."""
import json, os, re, sys, threading, time, urllib.parse
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = ["c1", "c2", "c3"]


class Fleet(threading.Thread):
    """One host per cell, every 50 ms: the cell's assignment as applied."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/app/assignments")
                cur = {a["cell"]: a for a in b["assignments"]} if st == 200 else {}
                self.seq += 1
                for c in CELLS:
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


def wait_state(s, rid, states, timeout=30 * SLOW):
    end = time.time() + timeout
    b = None
    while time.time() < end:
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        if b["state"] in states:
            return b
        time.sleep(0.1)
    h.fail("rollout %d never reached %s; last %s" % (rid, states, json.dumps(b)[:1500]))


def dashboard(s, cookie):
    st, hd, body = s.request("GET", "/ui/configs/app", token=None,
                             headers={"Cookie": "cg_session=" + cookie})
    body = body.decode()
    h.check(st == 200, "dashboard %s" % st)
    live = re.search(r'id="live-version">(\d+)<', body)
    assigned = re.search(r'id="assigned-versions">([^<]*)<', body)
    return int(live.group(1)), assigned.group(1)


def agree(s, cookie, live, assigned, base, what):
    """Every view says live version 'live' and cells on 'assigned'
    ({version: [cells]})."""
    global n
    st, cfg = s.api("GET", "/v1/configs/app")
    got = {a["version"]: a["cells"] for a in cfg["assigned_versions"]}
    h.check(cfg["live_version"] == live and got == assigned,
            "%s: config %s %s, want %s %s" % (what, cfg["live_version"], got, live, assigned))
    st, _, b = s.request("POST", "/v1/configs/app/validate", json.dumps({"v": 99}))
    b = json.loads(b)
    h.check(b["live_version"] == live and b["base_version"] == base,
            "%s: validate %s" % (what, b))
    st, b = s.api("GET", "/v1/state?config=app")
    h.check(st == 200 and b["configs"][0]["live_version"] == live,
            "%s: state replayed from the audit log %s" % (what, b["configs"][0]["live_version"]))
    h.check(len(b["rollouts_open"]) == (1 if what == "during a partial rollout" else 0),
            "%s: open rollouts in the state %s" % (what, b["rollouts_open"]))
    dlive, dassigned = dashboard(s, cookie)
    want = "; ".join("%d on %s" % (v, ", ".join(sorted(c))) for v, c in sorted(assigned.items()))
    h.check(dlive == live and dassigned == (want or "none"),
            "%s: dashboard %s %r, want %s %r" % (what, dlive, dassigned, live, want))
    r = s.cli("config", "show", "app")
    h.check(re.search(r"live version:\s+%s\n" % (live or "-"), r.stdout),
            "%s: config show %s" % (what, r.stdout))
    for v, cells in assigned.items():
        st, b = s.api("DELETE", "/v1/configs/app/versions/%d" % v)
        msg = b["error"]["message"]
        if v == live:
            h.check(st == 409 and "is the live version of config 'app'" in msg,
                    "%s: delete live v%d: %s %s" % (what, v, st, msg))
        else:
            h.check(st == 409 and "assigned to cell" in msg and "live" not in msg
                    and all(c in msg for c in cells),
                    "%s: delete assigned v%d: %s %s" % (what, v, st, msg))
    n += 1


with h.Server(extra_args=["--tick-ms", "50"]) as s:
    fleet = Fleet(s)
    for c in CELLS:
        s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z" + c})
    s.api("PUT", "/v1/plans/fast", {"waves": [{"name": "all", "percent": 100, "bake_s": 0}]})
    s.api("PUT", "/v1/plans/gated", {"waves": [
        {"name": "canary", "cells": 1, "bake_s": 0},
        {"name": "rest", "percent": 100, "bake_s": 0, "approval": True}]})
    s.api("POST", "/v1/configs", {"name": "app", "contract": {}, "plan": "fast"})
    st, b = s.api("POST", "/v1/tokens", {"name": "appr", "role": "approver"})
    approver = b["token"]
    st, hd, _ = s.request("POST", "/ui/login", body=urllib.parse.urlencode({"token": s.admin_token}),
                          token=None, headers={"Content-Type": "application/x-www-form-urlencoded"})
    cookie = re.match(r"cg_session=([^;]*)", hd["set-cookie"]).group(1)
    fleet.start()
    try:
        # nothing completed: live 0, the newest published is only the base
        for v in (1, 2):
            st, _, b = s.request("POST", "/v1/configs/app/versions?message=m",
                                 json.dumps({"v": v}))
            h.check(st == 201, "publish %s" % b)
        st, b = s.api("GET", "/v1/configs/app")
        h.check(b["live_version"] == 0, "no live version yet: %s" % b)
        st, b = s.api("DELETE", "/v1/configs/app/versions/2")
        h.check(st == 409 and "newest published version and no rollout has completed"
                in b["error"]["message"] and "is the live version" not in b["error"]["message"],
                "delete the base: %s %s" % (st, b))
        dlive, _ = dashboard(s, cookie)
        h.check(dlive == 0, "dashboard says live 0: %s" % dlive)
        n += 1

        # a complete rollout of 1
        st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 1, "reason": "t"})
        wait_state(s, b["id"], ["completed"])
        agree(s, cookie, 1, {1: ["c1", "c2", "c3"]}, 1, "after the first rollout")

        # a partial rollout of 2: the canary on 2, the rest waiting for approval
        st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2, "plan": "gated",
                                               "reason": "t"})
        h.check(st == 201, "rollout 2 %s %s" % (st, b))
        rid = b["id"]
        wait_state(s, rid, ["waiting_approval"])
        st, b = s.api("GET", "/v1/configs/app/assignments")
        on2 = sorted(a["cell"] for a in b["assignments"] if a["version"] == 2)
        on1 = sorted(a["cell"] for a in b["assignments"] if a["version"] == 1)
        h.check(len(on2) == 1 and len(on1) == 2, "partial: %s" % b)
        agree(s, cookie, 1, {1: on1, 2: on2}, 1, "during a partial rollout")

        # approved: it completes, 2 is live
        st, b = s.api("POST", "/v1/rollouts/%d/approve" % rid, {"reason": "ok"}, token=approver)
        h.check(st == 200, "approve %s %s" % (st, b))
        wait_state(s, rid, ["completed"])
        agree(s, cookie, 2, {2: ["c1", "c2", "c3"]}, 2, "after the complete rollout")

        # rollback (undo): 1 is live again
        st, b = s.api("POST", "/v1/configs/app/rollback", {"reason": "back"})
        h.check(st == 201 and b["to_version"] == 1, "rollback %s %s" % (st, b))
        wait_state(s, b["id"], ["completed"])
        agree(s, cookie, 1, {1: ["c1", "c2", "c3"]}, 1, "after the rollback")
    finally:
        fleet.stop.set()
        fleet.join(5)
h.done("live-version", n)
