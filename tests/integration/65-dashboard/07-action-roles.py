#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The dashboard's actions have the API's roles (docs/dashboard.md,
"Actions, roles and CSRF"), checked two ways:

- the tables: every action row of server/web/web_pages.c (handler
  web_page_act, and its confirm page) names the same minimum role as the
  API route of the same operation in server/http/routes.c; an action row
  this test does not know fails it, so a new action gets its check;
- the behaviour: for every action (pause, resume, abort, approve, start,
  rollback, kill, unkill) a token of the role just below the minimum
  (roles are ordered reader < approver < deployer < admin) is refused, 403,
  by the API and by the dashboard (a forged POST with a valid session and
  CSRF token), and nothing changes; a token of the minimum role is
  accepted by both;
- the author of a rollout, a deployer (above approver), forging the
  approve POST is refused by both, as the API refuses it."""
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

SRC = os.environ.get("CG_SRC_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
ORDER = ["reader", "approver", "deployer", "admin"]
# dashboard action -> the API route of the same operation
API = {
    "pause": ("POST", "/v1/rollouts/:id/pause"),
    "resume": ("POST", "/v1/rollouts/:id/resume"),
    "abort": ("POST", "/v1/rollouts/:id/abort"),
    "approve": ("POST", "/v1/rollouts/:id/approve"),
    "start": ("POST", "/v1/rollouts"),
    "rollback": ("POST", "/v1/configs/:name/rollback"),
    "kill": ("POST", "/v1/configs/:name/flags/:flag/kill"),
    "unkill": ("POST", "/v1/configs/:name/flags/:flag/unkill"),
}
SLOW = {"waves": [{"name": "canary", "cells": 1, "bake_s": 3600},
                  {"name": "rest", "percent": 100, "bake_s": 0}]}
FAST = {"waves": [{"name": "all", "percent": 100, "bake_s": 0}]}
GATED = {"waves": [{"name": "all", "percent": 100, "bake_s": 3600, "approval": True}]}
passed = 0


def ok(cond, msg):
    global passed
    h.check(cond, msg)
    passed += 1


def role_name(c):
    return c[len("ROLE_"):].lower()


def tables():
    """{action: min role} from the dashboard's page table, checked against
    the API's route table."""
    web = open(os.path.join(SRC, "server", "web", "web_pages.c")).read()
    rows = re.findall(r'\{"(GET|POST)",\s*"([^"]+)",\s*(ROLE_[A-Z]+),\s*[^,]+,\s*(\w+),\s*'
                      r'"([^"]+)"\}', web)
    ok(len(rows) > 20, "the page table parsed: %d rows" % len(rows))
    routes = open(os.path.join(SRC, "server", "http", "routes.c")).read()
    api = {(m, p): role_name(r) for m, p, r in
           re.findall(r'\{"([A-Z]+)",\s*"([^"]+)",\s*LANE_[A-Z]+,\s*(ROLE_[A-Z]+),', routes)}
    ok(len(api) > 50, "the route table parsed: %d routes" % len(api))
    acts = {name: role_name(role) for m, _, role, handler, name in rows
            if handler == "web_page_act"}
    ok(sorted(acts) == sorted(API), "the dashboard's actions %s are the ones this test "
       "checks %s" % (sorted(acts), sorted(API)))
    for name, role in sorted(acts.items()):
        ok(API[name] in api, "%s: the API route %s %s exists" % ((name,) + API[name]))
        ok(api[API[name]] == role, "%s: the dashboard needs %s, the API %s"
           % (name, role, api[API[name]]))
        confirm = [role_name(r) for m, _, r, hd, n in rows if n == name and hd == "web_page_confirm"]
        ok(confirm == [role], "%s: its confirm page needs %s too: %s" % (name, role, confirm))
    return acts


class Browser:
    def __init__(self, s, token):
        self.s = s
        st, hd, _ = s.request("POST", "/ui/login", body=urllib.parse.urlencode({"token": token}),
                              token=None,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        m = re.match(r"cg_session=([0-9a-f]{64})", hd.get("set-cookie", ""))
        ok(st == 303 and m, "login: %s" % st)
        self.cookie = m.group(1)
        st, _, body = s.request("GET", "/ui/", token=None,
                                headers={"Cookie": "cg_session=" + self.cookie})
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', body.decode())
        ok(st == 200 and m, "csrf: %s" % st)
        self.csrf = m.group(1)

    def post(self, path, fields):
        f = dict(fields)
        f["csrf"] = self.csrf
        st, hd, body = self.s.request(
            "POST", "/ui" + path, body=urllib.parse.urlencode(f), token=None,
            headers={"Cookie": "cg_session=" + self.cookie,
                     "Content-Type": "application/x-www-form-urlencoded"})
        return st, hd.get("location", ""), body.decode("utf-8", "replace")


def wait_state(s, rid, want):
    end = time.time() + 30 * (3 if h.SANITIZED else 1)
    while time.time() < end:
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        if b["state"] == want:
            return b
        time.sleep(0.05)
    h.fail("rollout %d never %s: %s" % (rid, want, b["state"]))


def snapshot(s):
    """What an action could change: the rollouts, the audit head, the flag."""
    rs = s.api("GET", "/v1/rollouts?limit=100")[1]["rollouts"]
    flag = s.api("GET", "/v1/configs/flagz/flags/new-checkout")[1]
    return [(r["id"], r["state"]) for r in rs], len(h.audit_all(s)), flag


def refused(s, toks, br, acts, name, api_path, api_body, web_path, web_fields):
    """The role just below name's minimum: 403 from both, nothing changed."""
    below = ORDER[ORDER.index(acts[name]) - 1]
    before = snapshot(s)
    st, b = s.api("POST", api_path, api_body, token=toks[below])
    ok(st == 403, "%s by a %s through the API: %s %s" % (name, below, st, b))
    st, _, body = br[below].post(web_path, web_fields)
    ok(st == 403 and "role %s may not open this page (it needs %s)" % (below, acts[name]) in body,
       "%s by a %s through the dashboard: %s %s" % (name, below, st, body[-300:]))
    ok(snapshot(s) == before, "%s refused: nothing changed" % name)


def web_ok(br, role, path, fields, name):
    st, loc, body = br[role].post(path, fields)
    ok(st == 303 and "done=" + name in loc, "%s by a %s through the dashboard: %s %s %s"
       % (name, role, st, loc, body[-300:]))
    return loc


acts = tables()
with h.Server() as s:
    for i in range(1, 5):
        ok(s.api("POST", "/v1/cells", {"id": "c%d" % i, "region": "r1",
                                       "zone": "z%d" % i})[0] == 201, "cell")
    for name, body in (("slow", SLOW), ("gated", GATED), ("fast", FAST)):
        ok(s.api("PUT", "/v1/plans/" + name, body)[0] in (200, 201), "plan " + name)
    for cfg, plan in (("app", "slow"), ("app2", "slow"), ("gapp", "gated")):
        ok(s.api("POST", "/v1/configs", {"name": cfg, "contract": {"schema": {"type": "object"}},
                                         "plan": plan})[0] == 201, "config " + cfg)
        for v in (1, 2, 3):
            ok(s.api("POST", "/v1/configs/%s/versions" % cfg, {"v": v})[0] == 201, "publish")
        ok(s.api("POST", "/v1/configs/%s/assign" % cfg,
                 {"version": 1, "cells": ["c1", "c2", "c3", "c4"], "force": True})[0] == 201,
           "assign " + cfg)
    ok(s.api("POST", "/v1/configs", {"name": "flagz", "kind": "flags", "contract": {},
                                     "plan": "fast"})[0] == 201,
       "flags config")
    flag = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"}
    flags = {"flags": {"new-checkout": flag, "web-flag": flag}}
    ok(s.api("POST", "/v1/configs/flagz/versions", flags)[0] == 201, "flags publish")
    ok(s.api("POST", "/v1/configs/flagz/assign", {"version": 1, "cells": ["c1", "c2", "c3", "c4"],
                                                  "force": True})[0] == 201, "flags assign")
    toks = {"admin": s.admin_token}
    for role in ORDER[:3]:
        st, b = s.api("POST", "/v1/tokens", {"name": "t-" + role, "role": role})
        ok(st == 201, "token %s" % role)
        toks[role] = b["token"]
    br = {role: Browser(s, t) for role, t in toks.items()}

    # ---- start
    refused(s, toks, br, acts, "start", "/v1/rollouts", {"config": "app", "version": 2},
            "/configs/app/start", {"version": "2", "plan": ""})
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2}, token=toks["deployer"])
    ok(st == 201, "start by a deployer through the API: %s %s" % (st, b))
    r1 = b["id"]

    # ---- pause, resume (API, then the dashboard)
    for name, state in (("pause", "paused"), ("resume", "running")):
        refused(s, toks, br, acts, name, "/v1/rollouts/%d/%s" % (r1, name), {},
                "/rollouts/%d/%s" % (r1, name), {})
        st, b = s.api("POST", "/v1/rollouts/%d/%s" % (r1, name), {}, token=toks[acts[name]])
        ok(st == 200 and b["state"] == state, "%s through the API: %s %s" % (name, st, b))
    for name, state in (("pause", "paused"), ("resume", "running")):
        web_ok(br, acts[name], "/rollouts/%d/%s" % (r1, name), {}, name)
        ok(wait_state(s, r1, state), name)

    # ---- abort (API); start and abort (dashboard)
    refused(s, toks, br, acts, "abort", "/v1/rollouts/%d/abort" % r1, {},
            "/rollouts/%d/abort" % r1, {})
    st, b = s.api("POST", "/v1/rollouts/%d/abort" % r1, {}, token=toks[acts["abort"]])
    ok(st == 200 and b["state"] == "aborted", "abort through the API: %s %s" % (st, b))
    loc = web_ok(br, acts["start"], "/configs/app/start", {"version": "2", "plan": ""}, "start")
    r2 = int(re.search(r"/rollouts/(\d+)\?", loc).group(1))
    web_ok(br, acts["abort"], "/rollouts/%d/abort" % r2, {}, "abort")
    ok(wait_state(s, r2, "aborted"), "aborted through the dashboard")

    # ---- rollback of an open rollout (API), then of another (dashboard)
    def open_rollout(cfg, v):
        st, b = s.api("POST", "/v1/rollouts", {"config": cfg, "version": v},
                      token=toks["deployer"])
        ok(st == 201, "rollout of %d: %s %s" % (v, st, b))
        return wait_state(s, b["id"], "running")["id"]

    open_rollout("app", 3)
    refused(s, toks, br, acts, "rollback", "/v1/configs/app/rollback", {"reason": "r"},
            "/configs/app/rollback", {})
    st, b = s.api("POST", "/v1/configs/app/rollback", {"reason": "by api"},
                  token=toks[acts["rollback"]])
    ok(st in (200, 201, 202), "rollback through the API: %s %s" % (st, b))
    r4 = open_rollout("app2", 2)  # app rolls back until its (absent) hosts applied it
    web_ok(br, acts["rollback"], "/configs/app2/rollback", {}, "rollback")
    ok(s.api("GET", "/v1/rollouts/%d" % r4)[1]["state"] in ("rolling_back", "rolled_back"),
       "the dashboard rolled rollout %d back" % r4)

    # ---- approve: a reader is below; the deployer who started it is its author
    def gated(token):
        st, b = s.api("POST", "/v1/rollouts", {"config": "gapp", "version": 2}, token=token)
        ok(st == 201, "gated rollout: %s %s" % (st, b))
        return wait_state(s, b["id"], "waiting_approval")["id"]

    g1 = gated(toks["admin"])
    refused(s, toks, br, acts, "approve", "/v1/rollouts/%d/approve" % g1, {},
            "/rollouts/%d/approve" % g1, {})
    st, b = s.api("POST", "/v1/rollouts/%d/approve" % g1, {}, token=toks[acts["approve"]])
    ok(st == 200, "approve through the API: %s %s" % (st, b))
    ok(s.api("POST", "/v1/rollouts/%d/abort" % g1, {})[0] == 200, "abort g1")
    g2 = gated(toks["deployer"])
    before = snapshot(s)
    st, b = s.api("POST", "/v1/rollouts/%d/approve" % g2, {}, token=toks["deployer"])
    ok(st == 403 and "cannot approve" in b["error"]["message"],
       "the author's approval through the API: %s %s" % (st, b))
    st, _, body = br["deployer"].post("/rollouts/%d/approve" % g2, {})
    ok(st == 403 and "cannot approve" in body and snapshot(s) == before,
       "the author's forged approval through the dashboard: %s %s" % (st, body[-300:]))
    web_ok(br, acts["approve"], "/rollouts/%d/approve" % g2, {"reason": "ok"}, "approve")
    end = time.time() + 30
    while s.api("GET", "/v1/rollouts/%d" % g2)[1]["state"] == "waiting_approval":
        ok(time.time() < end, "approved through the dashboard")
        time.sleep(0.05)

    # ---- kill, unkill (API, then the dashboard)
    fp = "/v1/configs/flagz/flags/new-checkout/"

    for name in ("kill", "unkill"):
        refused(s, toks, br, acts, name, fp + name, {"reason": "r"},
                "/configs/flagz/flags/new-checkout/" + name, {"reason": "r"})
        st, b = s.api("POST", fp + name, {"reason": "by api"}, token=toks[acts[name]])
        ok(st in (200, 201), "%s through the API: %s %s" % (name, st, b))
    for name in ("kill", "unkill"):
        # another flag: the API's unkill left a rollout of flagz open (no hosts to bake)
        web_ok(br, acts[name], "/configs/flagz/flags/web-flag/" + name,
               {"reason": "by dashboard"}, name)
    kills = [a["reason"] for a in h.audit_all(s) if a["action"] == "version.publish"
             and a["reason"].startswith("flag ")]
    ok(len(kills) == 4 and kills[2].startswith("flag kill: web-flag")
       and kills[3].endswith("via dashboard: by dashboard"), "four flag switches: %s" % kills)
h.done("65-dashboard/07-action-roles", passed)
