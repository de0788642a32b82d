#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The dashboard (docs/dashboard.md), driven as a browser without JavaScript
would: plain GETs and form POSTs with a cookie.

- framework: login and logout, the session cookie's attributes, the redirect
  to the login (and its `next`, never to another site), the headers of every
  answer (CSP, nosniff, ...), CSRF refusals that change nothing, a revoked
  token's session ending at once, the form body limit (413), the base path.
- pages: the overview, rollout, configs, config and diff pages for every role
  (admin, deployer, approver, reader, a config-scoped deployer): status, the
  element ids of the test contract, which action forms appear.
- actions: start, pause, resume, approve, abort, rollback and kill through
  their confirm pages and plain form POSTs, checked through the API and the
  audit log ("via dashboard"); a reader's forged POST and a scoped token's
  are 403 and change nothing; CSRF refusals change nothing.
- hostile text (messages, reasons, documents) is rendered escaped.
- live: the event stream of a rollout page delivers the change within 1 s
  of an action.
- failed logins are limited per address (--auth-fail-rate), then 429.
- size: with 1,000 cells and 200 versions every page stays under 100 KB."""
import json
import os
import re
import socket
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
passed = 0


def ok(cond, msg):
    global passed
    h.check(cond, msg)
    passed += 1


class Browser:
    """A cookie jar of one (cg_session) over Server.request(), no redirects
    followed, no bearer token."""

    def __init__(self, s, base="/ui"):
        self.s, self.base, self.cookie = s, base, None

    def _hdrs(self, extra=None):
        hd = dict(extra or {})
        if self.cookie:
            hd["Cookie"] = "cg_session=" + self.cookie
        return hd

    def _keep(self, hd):
        sc = hd.get("set-cookie")
        if sc:
            m = re.match(r"cg_session=([^;]*)", sc)
            self.cookie = m.group(1) if m and m.group(1) else None
        return sc

    def get(self, path, headers=None):
        st, hd, body = self.s.request("GET", self.base + path, token=None,
                                      headers=self._hdrs(headers))
        self._keep(hd)
        return st, hd, body.decode("utf-8", "replace")

    def post(self, path, fields, headers=None):
        hd0 = self._hdrs(headers)
        hd0["Content-Type"] = "application/x-www-form-urlencoded"
        st, hd, body = self.s.request("POST", self.base + path,
                                      body=urllib.parse.urlencode(fields), token=None,
                                      headers=hd0)
        self._keep(hd)
        return st, hd, body.decode("utf-8", "replace")

    def login(self, token):
        st, hd, _ = self.post("/login", {"token": token})
        ok(st == 303 and self.cookie, "login: %s %s" % (st, hd))
        return self

    def csrf(self, page="/"):
        st, _, body = self.get(page)
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', body)
        ok(st == 200 and m, "csrf field on %s: %s" % (page, st))
        return m.group(1)


def headers_ok(hd, what):
    ok(hd.get("content-security-policy") == CSP, "%s: CSP %r" % (what, hd))
    ok(hd.get("x-content-type-options") == "nosniff", "%s: nosniff" % what)
    ok(hd.get("referrer-policy") == "same-origin", "%s: referrer policy" % what)


def token(s, name, role, configs=None):
    body = {"name": name, "role": role}
    if configs:
        body["configs"] = configs
    st, b = s.api("POST", "/v1/tokens", body)
    ok(st == 201, "token %s: %s %s" % (name, st, b))
    return b["token"], b["id"]


def framework(s):
    b = Browser(s)
    # no session: to the login, keeping the page asked for
    st, hd, _ = b.get("/configs")
    ok(st == 303 and hd["location"] == "/ui/login?next=%2Fui%2Fconfigs", "redirect: %s" % hd)
    headers_ok(hd, "redirect")
    st, hd, body = b.get("/login?next=%2Fui%2Fconfigs")
    ok(st == 200 and 'id="login"' in body and 'id="token"' in body and 'type="password"' in body
       and 'id="login-submit"' in body and '<label for="token">' in body, "login page")
    ok('<html lang="en">' in body and "<script>" not in body and "style=" not in body,
       "no inline script or style")
    headers_ok(hd, "login page")
    ok(hd.get("cache-control") == "no-store", "pages are not cached")
    # a wrong token: the form again, 401, no cookie
    st, hd, body = b.post("/login", {"token": "cg_" + "0" * 48})
    ok(st == 401 and 'id="login-error"' in body and 'id="login"' in body and not b.cookie,
       "wrong token: %s" % st)
    # the right one: a session cookie with every attribute, back to next
    st, hd, _ = b.post("/login", {"token": s.admin_token, "next": "/ui/configs"})
    ok(st == 303 and hd["location"] == "/ui/configs", "login next: %s" % hd)
    sc = hd["set-cookie"]
    ok(re.match(r"cg_session=[0-9a-f]{64}; ", sc), "cookie value: %s" % sc)
    for attr in ("Path=/ui", "Max-Age=28800", "HttpOnly", "SameSite=Strict"):
        ok(attr in sc.split("; "), "cookie %s: %s" % (attr, sc))
    ok("Secure" not in sc, "no Secure without TLS: %s" % sc)
    # next may only name a page under the base path
    for evil in ("https://evil.example/", "//evil.example/ui", "/v1/tokens", "/uiother",
                 "/ui//evil.example", "/ui\\@evil"):
        b2 = Browser(s)
        st, hd, _ = b2.post("/login", {"token": s.admin_token, "next": evil})
        ok(st == 303 and hd["location"] == "/ui/?done=login", "next %r: %s" % (evil, hd))
    # the overview with a session; the principal and a logout button
    st, hd, body = b.get("/")
    ok(st == 200 and 'id="who-name">admin<' in body and 'id="who-role"' in body
       and 'id="logout"' in body and "<main" in body, "overview: %s" % st)
    headers_ok(hd, "overview")
    # assets: embedded, cached, hashed URLs
    m = re.search(r'href="(/ui/static/style\.css\?v=[0-9a-f]{16})"', body)
    ok(m, "stylesheet link")
    st, hd, css = s.request("GET", m.group(1), token=None)
    ok(st == 200 and hd["content-type"].startswith("text/css") and b"badge" in css
       and "max-age=31536000" in hd["cache-control"], "style.css: %s %s" % (st, hd))
    m = re.search(r'src="(/ui/static/app\.js\?v=[0-9a-f]{16})"', body)
    st, hd, js = s.request("GET", m.group(1), token=None)
    ok(st == 200 and hd["content-type"].startswith("text/javascript") and b"EventSource" in js,
       "app.js")
    ok(s.request("GET", "/ui/static/nothing.js", token=None)[0] == 404, "unknown asset")
    ok(s.request("GET", "/ui/nothing", token=None)[0] == 404, "unknown page")
    # logout needs the CSRF token: without it 403 and the session lives
    st, _, body = b.post("/logout", {})
    ok(st == 403 and b.get("/")[0] == 200, "logout without csrf: %s" % st)
    st, _, _ = b.post("/logout", {"csrf": "0" * 64})
    ok(st == 403 and b.get("/")[0] == 200, "logout with a wrong csrf: %s" % st)
    csrf = b.csrf()
    st, _, _ = b.post("/logout", {"csrf": csrf}, headers={"Origin": "https://evil.example"})
    ok(st == 403 and b.get("/")[0] == 200, "logout from another origin: %s" % st)
    old = b.cookie
    # a pair without a name ("=x") before the token is dropped, not the end
    st, hd, _ = b.post("/logout", {"": "x", "csrf": csrf},
                       headers={"Origin": "http://127.0.0.1:%d" % s.port})
    ok(st == 303 and hd["location"] == "/ui/login" and "Max-Age=0" in hd["set-cookie"],
       "logout: %s %s" % (st, hd))
    b.cookie = old  # the old cookie no longer works
    ok(b.get("/")[0] == 303, "old session after logout")
    # a form body over 16 KB: 413 before it is read
    big = Browser(s).login(s.admin_token)
    st, _, _ = big.post("/logout", {"csrf": "x" * 17000})
    ok(st == 413, "16 KB form: %s" % st)
    ok(big.get("/")[0] == 200, "the session survived the 413")
    # a revoked token's session ends at once (even with the token cached)
    tok, tid = token(s, "ui-revoked", "deployer")
    rb = Browser(s).login(tok)
    ok(rb.get("/")[0] == 200, "deployer session")
    st, _ = s.api("DELETE", "/v1/tokens/%d" % tid)
    ok(st in (200, 204), "revoke: %s" % st)
    st, hd, _ = rb.get("/")
    ok(st == 303 and "/ui/login" in hd["location"], "revoked session: %s" % st)
    # an agent token cannot log in
    st, b_ = s.api("POST", "/v1/cells", {"id": "c-agent", "region": "r1", "zone": "z1"})
    st, ag = s.api("POST", "/v1/tokens", {"name": "ui-agent", "role": "agent", "cell": "c-agent"})
    st, _, _ = Browser(s).post("/login", {"token": ag["token"]})
    ok(st == 401, "agent login: %s" % st)


def base_path():
    with h.Server(extra_args=["--ui-base-path", "/ops/cg"]) as s:
        ok(s.request("GET", "/ui/login", token=None)[0] == 404, "/ui with another base")
        b = Browser(s, "/ops/cg")
        st, hd, _ = b.get("/")
        ok(st == 303 and hd["location"].startswith("/ops/cg/login"), "base redirect: %s" % hd)
        st, hd, _ = b.post("/login", {"token": s.admin_token})
        ok(st == 303 and hd["location"] == "/ops/cg/?done=login"
           and "Path=/ops/cg" in hd["set-cookie"], "base login: %s" % hd)
        st, _, body = b.get("/")
        links = re.findall(r'(?:href|action|src)="([^"]*)"', body)
        ok(links and all(u.startswith("/ops/cg/") or u == "/ops/cg" for u in links),
           "every link under the base: %s" % links)
    with h.Server(extra_args=["--no-ui"]) as s:
        ok(s.request("GET", "/ui/login", token=None)[0] == 404, "--no-ui")
    d = h.tempfile.mkdtemp(prefix="cgint.")
    r = h.subprocess.run([h.SERVER_BIN, "init", "--data", d], capture_output=True, timeout=60)
    ok(r.returncode == 0, "init: %s" % r.stderr)
    for bad in ("/", "ui", "/ui/", "/v1/ui", "/a b", "/metrics"):
        r = h.subprocess.run([h.SERVER_BIN, "serve", "--data", d, "--listen", "127.0.0.1:0",
                              "--ui-base-path", bad], capture_output=True, timeout=30)
        ok(r.returncode != 0 and b"ui-base-path" in r.stderr,
           "bad base path %r: %s %s" % (bad, r.returncode, r.stderr))
    h.shutil.rmtree(d, ignore_errors=True)


HOSTILE = "<script>alert(1)</script> & \"q\" 'x'"
CAREFUL = {"waves": [{"name": "canary", "cells": 1, "bake_s": 3600},
                     {"name": "rest", "percent": 100, "bake_s": 0}]}
GATED = {"waves": [{"name": "all", "percent": 100, "bake_s": 3600, "approval": True}]}


def setup(s):
    for i in range(1, 5):
        st, _ = s.api("POST", "/v1/cells", {"id": "c%d" % i, "region": "r1",
                                            "zone": "z%d" % ((i - 1) % 2 + 1)})
        ok(st == 201, "cell: %s" % st)
    for name, body in (("careful", CAREFUL), ("gated", GATED)):
        st, _ = s.api("PUT", "/v1/plans/" + name, body)
        ok(st in (200, 201), "plan %s: %s" % (name, st))
    for cfg, plan in (("app", "careful"), ("other", "careful"), ("gapp", "gated")):
        st, b = s.api("POST", "/v1/configs", {"name": cfg, "contract": {"schema": {"type": "object"}},
                                              "plan": plan})
        ok(st == 201, "config %s: %s %s" % (cfg, st, b))
        for v in (1, 2, 3):
            doc = {"v": v, "note": HOSTILE, "list": list(range(v))}
            st, _ = s.api("POST", "/v1/configs/%s/versions?message=%s"
                          % (cfg, urllib.parse.quote(HOSTILE)), doc)
            ok(st == 201, "publish %s v%d: %s" % (cfg, v, st))
        st, _ = s.api("POST", "/v1/configs/%s/assign" % cfg,
                      {"version": 1, "cells": ["c1", "c2", "c3", "c4"], "force": True})
        ok(st == 201, "assign %s: %s" % (cfg, st))
    st, b = s.api("POST", "/v1/configs", {"name": "flagz", "kind": "flags", "contract": {}})
    ok(st == 201, "flags config: %s %s" % (st, b))
    flags = {"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": True, "off": False},
                                        "defaultVariant": "off"}}}
    st, _ = s.api("POST", "/v1/configs/flagz/versions", flags)
    ok(st == 201, "flags publish: %s" % st)
    st, _ = s.api("POST", "/v1/configs/flagz/assign",
                  {"version": 1, "cells": ["c1", "c2", "c3", "c4"], "force": True})
    ok(st == 201, "flags assign: %s" % st)
    toks = {"admin": s.admin_token}
    for role in ("deployer", "approver", "reader"):
        toks[role] = token(s, "ui-" + role, role)[0]
    toks["scoped"] = token(s, "ui-scoped", "deployer", ["other"])[0]
    st, _ = s.api("POST", "/v1/tokens", {"name": "<b>x</b>", "role": "reader"})
    ok(st == 400, "a hostile token name is refused at creation: %s" % st)
    return toks


def rollout(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    ok(st == 200, "rollout %d: %s" % (rid, st))
    return b


def actions_in(body):
    return sorted(set(re.findall(r'<form[^>]*class="action"[^>]*data-action="([a-z]+)"', body)))


def no_raw_hostile(body, what):
    ok("<script>alert" not in body, "%s: hostile text unescaped" % what)


def act(b, path, fields=None, expect=303):
    """The confirm page, then its form POSTed with the CSRF token."""
    st, _, body = b.get(path)
    ok(st == 200 and 'id="confirm"' in body and 'id="confirm-submit"' in body
       and 'id="confirm-cancel"' in body, "confirm %s: %s %s" % (path, st, body[-400:]))
    form = dict(re.findall(r'<input type="hidden" name="([a-z]+)" value="([^"]*)"', body))
    form.update(fields or {})
    action = re.search(r'<form id="confirm"[^>]*action="([^"]*)"', body).group(1)
    st, hd, body = b.post(action[len(b.base):], form)
    ok(st == expect, "POST %s: %s %s" % (path, st, body[-600:]))
    return hd.get("location", ""), body


def pages(s, toks):
    br = {role: Browser(s).login(t) for role, t in toks.items()}
    # a rollout to look at, started through the dashboard by the deployer
    loc, _ = act(br["deployer"], "/configs/app/start?version=2&plan=",
                 {"reason": "first " + HOSTILE})
    m = re.match(r"/ui/rollouts/(\d+)\?done=start$", loc)
    ok(m, "start redirect: %s" % loc)
    rid = int(m.group(1))
    r = rollout(s, rid)
    ok(r["config"] == "app" and r["to_version"] == 2 and r["state"] in ("running",),
       "started: %s" % r)
    rec = [a for a in h.audit_all(s) if a["action"] == "rollout.start"][-1]
    ok(rec["actor"] == "token:ui-deployer" and rec["reason"].startswith("via dashboard: first"),
       "audit of the start: %s" % rec)
    st, _, body = br["deployer"].get("/rollouts/%d?done=start" % rid)
    ok(st == 200 and 'id="flash" role="status"' in body, "flash after start")
    # every page for every role
    for role, b in br.items():
        for path in ("/", "/configs", "/configs/app", "/configs/flagz", "/rollouts/%d" % rid,
                     "/rollouts/%d/live" % rid, "/configs/app/diff?a=1&b=3"):
            st, hd, body = b.get(path)
            ok(st == 200, "%s %s: %s" % (role, path, st))
            headers_ok(hd, "%s %s" % (role, path))
            no_raw_hostile(body, "%s %s" % (role, path))
    body = br["reader"].get("/")[2]
    for sec in ("rollouts-open", "rollouts-waiting", "recent-failures", "fleet-health"):
        ok('<section id="%s">' % sec in body, "overview section %s" % sec)
    ok('<tr data-rollout="%d">' % rid in body and 'href="/ui/rollouts/%d"' % rid in body,
       "open rollout row")
    body = br["reader"].get("/rollouts/%d" % rid)[2]
    for el in ('id="rollout-state"', 'id="rollout-steps"', 'id="evaluations"',
               'id="rollout-topology"', '<tr data-zone="',
               'id="rollout-live"', 'data-step="1" data-state=', 'data-events="/ui/rollouts/%d/events"' % rid):
        ok(el in body, "rollout page %s" % el)
    # the steps over the topology: a row per zone of the fleet's r1, every
    # cell of the rollout once, never two zones of the region in one step
    topo = re.search(r'<table id="rollout-topology".*?</table>', body, re.S).group(0)
    rows = re.findall(r'<tr data-zone="([^"]+)"><th scope="row">([^<]*)</th>(.*?)</tr>', topo)
    ok(sorted(z for z, _, _ in rows) == ["z1", "z2"] and all(t == "r1 / " + z for z, t, _ in rows),
       "topology rows %s" % rows)
    grid = [re.findall(r'<td(?: class="t-([a-z-]+)")?>(\d*)</td>', cells) for _, _, cells in rows]
    nsteps = len(r["steps"])
    ok(all(len(g) == nsteps for g in grid)
       and sum(int(n) for g in grid for _, n in g if n) == sum(len(st_["cells"]) for st_ in r["steps"])
       and all(sum(1 for g in grid if g[i][1]) <= 1 for i in range(nsteps))
       and any(g[0][0] in ("baking", "assigning") for g in grid),
       "topology grid %s (steps %s)" % (grid, [st_["zones"] for st_ in r["steps"]]))
    body = br["reader"].get("/configs/app")[2]
    ok('id="versions"' in body and body.count("<tr data-version=") == 3 and 'id="contract"' in body
       and 'id="diff-form"' in body, "config page")
    ok("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;x&#39;" in body,
       "the hostile message escaped")
    body = br["reader"].get("/configs/app/diff?a=1&b=3")[2]
    ok('<pre id="diff">' in body and "<ins>+ " in body and "<del>- " in body, "diff page")
    # which buttons each role sees
    want = {"admin": ["abort", "pause", "rollback"], "deployer": ["abort", "pause", "rollback"],
            "approver": [], "reader": [], "scoped": []}
    for role, b in br.items():
        got = actions_in(b.get("/rollouts/%d" % rid)[2])
        ok(got == want[role], "%s sees %s on the rollout (want %s)" % (role, got, want[role]))
        got = actions_in(b.get("/configs/app")[2])
        w = ["rollback", "start"] if role in ("admin", "deployer") else []
        ok(got == w, "%s sees %s on the config (want %s)" % (role, got, w))
        got = actions_in(b.get("/configs/flagz")[2])
        w = ["kill", "rollback", "start"] if role in ("admin", "deployer") else []
        ok(got == w, "%s sees %s on the flags config (want %s)" % (role, got, w))
    # a reader may not even open a confirm page, and its forged POST is 403
    ok(br["reader"].get("/rollouts/%d/pause" % rid)[0] == 403, "reader confirm page")
    csrf = br["reader"].csrf()
    st, _, _ = br["reader"].post("/rollouts/%d/pause" % rid, {"csrf": csrf})
    ok(st == 403 and rollout(s, rid)["state"] == "running", "reader's forged pause: %s" % st)
    # the scoped deployer: the operation's own scope check refuses it
    csrf = br["scoped"].csrf()
    st, _, body = br["scoped"].post("/rollouts/%d/pause" % rid, {"csrf": csrf})
    ok(st == 403 and "scoped" in body and rollout(s, rid)["state"] == "running",
       "scoped pause: %s" % st)
    # CSRF: missing or wrong token, nothing changes
    b = br["deployer"]
    for fields in ({}, {"csrf": "0" * 64}, {"csrf": br["admin"].csrf()}):
        st, _, _ = b.post("/rollouts/%d/pause" % rid, fields)
        ok(st == 403 and rollout(s, rid)["state"] == "running", "csrf %s: %s" % (fields, st))
    # live: the stream sees the pause within a second
    live_update(s, b, rid)
    ok(rollout(s, rid)["state"] == "paused", "paused through the stream test")
    stream_caps(s, Browser(s).login(s.admin_token), br["reader"], rid)
    act(b, "/rollouts/%d/resume" % rid)
    ok(rollout(s, rid)["state"] == "running", "resumed")
    body = b.get("/rollouts/%d?done=resume" % rid)[2]
    ok('id="flash"' in body and actions_in(body) == ["abort", "pause", "rollback"], "after resume")
    loc, _ = act(b, "/rollouts/%d/abort" % rid)
    ok(rollout(s, rid)["state"] == "aborted" and loc == "/ui/rollouts/%d?done=abort" % rid,
       "aborted: %s" % loc)
    ok(actions_in(b.get("/rollouts/%d" % rid)[2]) == [], "no action on an aborted rollout")
    ok('data-events' not in b.get("/rollouts/%d" % rid)[2], "no stream for an ended rollout")
    # a conflict is shown, not hidden: abort again
    act(b, "/rollouts/%d/abort" % rid, expect=409)
    # rollback to version 1: the aborted canary's cell runs 2 and goes back
    loc, body = act(b, "/configs/app/rollback?to=1")
    m = re.match(r"/ui/rollouts/(\d+)\?done=rollback$", loc)
    ok(m and rollout(s, int(m.group(1)))["kind"] == "rollback", "rollback: %s" % loc)
    # approve: an approval wave waits; the approver approves it
    st, bb = s.api("POST", "/v1/rollouts", {"config": "gapp", "version": 2})
    ok(st == 201, "gated rollout: %s %s" % (st, bb))
    gid = bb["id"]
    deadline = time.time() + 30
    while rollout(s, gid)["state"] != "waiting_approval":
        ok(time.time() < deadline, "waiting_approval")
        time.sleep(0.1)
    body = br["approver"].get("/")[2]
    sec = body[body.index('id="rollouts-waiting"'):body.index('id="recent-failures"')]
    ok('data-rollout="%d"' % gid in sec, "waiting section lists it")
    ok(actions_in(br["approver"].get("/rollouts/%d" % gid)[2]) == ["approve"], "approver's button")
    ok("approve" not in actions_in(br["reader"].get("/rollouts/%d" % gid)[2]), "reader: none")
    act(br["approver"], "/rollouts/%d/approve" % gid, {"reason": "looks fine"})
    deadline = time.time() + 30
    while rollout(s, gid)["state"] == "waiting_approval":
        ok(time.time() < deadline, "approved")
        time.sleep(0.1)
    rec = [a for a in h.audit_all(s) if a["actor"] == "token:ui-approver"]
    ok(rec and "via dashboard: looks fine" in rec[-1]["reason"], "approval audited: %s" % rec[-1:])
    # rollback of the approved rollout through the config page
    loc, _ = act(b, "/configs/gapp/rollback?to=0")
    ok(re.match(r"/ui/rollouts/\d+\?done=rollback$", loc), "rollback: %s" % loc)
    ok(rollout(s, gid)["state"] in ("rolling_back", "rolled_back"), "rolling back")
    # kill a flag; it needs a reason
    act(b, "/configs/flagz/flags/new-checkout/kill", {"reason": ""}, expect=400)
    loc, _ = act(b, "/configs/flagz/flags/new-checkout/kill", {"reason": "checkout errors"})
    ok(loc.startswith("/ui/rollouts/") or loc == "/ui/configs/flagz?done=kill", "kill: %s" % loc)
    st, f = s.api("GET", "/v1/configs/flagz/flags/new-checkout")
    ok(st == 200, "flag after kill: %s %s" % (st, f))
    body = b.get("/configs/flagz")[2]
    ok("unkill" in actions_in(body), "unkill offered after the kill: %s" % actions_in(body))


def live_update(s, b, rid):
    """Reads the rollout's event stream; pauses it; the change must arrive
    within 1 s (3 s under the sanitizers)."""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(("GET /ui/rollouts/%d/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  "Cookie: cg_session=%s\r\nAccept: text/event-stream\r\n\r\n"
                  % (rid, s.port, b.cookie)).encode())
    buf = b""
    deadline = time.time() + 10
    while b"event: live" not in buf and time.time() < deadline:
        buf += sock.recv(65536)
    ok(b" 200 " in buf.split(b"\r\n")[0] and b"text/event-stream" in buf
       and b"event: live" in buf, "stream head: %r" % buf[:300])
    ok(b'id=\\"rollout-state\\"' not in buf and b'rollout-state' in buf, "first event")
    csrf = b.csrf("/rollouts/%d" % rid)
    t0 = time.time()
    st, _, _ = b.post("/rollouts/%d/pause" % rid, {"csrf": csrf})
    ok(st == 303, "pause: %s" % st)
    limit = 3.0 if os.environ.get("CG_SANITIZED") else 1.0
    buf = b""
    sock.settimeout(0.2)
    while time.time() - t0 < limit + 2:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        if b">paused</span>" in buf:
            break
    took = time.time() - t0
    ok(b">paused</span>" in buf and took <= limit,
       "the stream showed the pause after %.2f s (limit %.1f s): %r" % (took, limit, buf[-300:]))
    sock.close()


def open_stream(s, b, rid):
    """An event stream of rollout rid for b's session: (socket, what came
    until its first live event, or an end)."""
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(("GET /ui/rollouts/%d/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  "Cookie: cg_session=%s\r\nAccept: text/event-stream\r\n\r\n"
                  % (rid, s.port, b.cookie)).encode())
    buf, deadline = b"", time.time() + 10
    while b"event: live" not in buf and time.time() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    # an end follows the first live event at once when the stream is refused
    sock.settimeout(0.5)
    try:
        buf += sock.recv(65536)
    except socket.timeout:
        pass
    return sock, buf


def stream_caps(s, b, other, rid):
    """One session holds at most 8 event streams (a reader with many tabs
    cannot take all 64 of the server's); the ninth ends at once saying
    why; another session still gets one."""
    socks = []
    for i in range(8):
        sock, buf = open_stream(s, b, rid)
        socks.append(sock)
        ok(b"event: live" in buf and b"event: end" not in buf, "stream %d: %r" % (i, buf[-200:]))
    sock, buf = open_stream(s, b, rid)
    socks.append(sock)
    ok(b"event: end" in buf and b"too many event streams" in buf,
       "the ninth stream of one session ends: %r" % buf[-300:])
    sock, buf = open_stream(s, other, rid)
    socks.append(sock)
    ok(b"event: live" in buf and b"event: end" not in buf,
       "another session's stream: %r" % buf[-200:])
    for sock in socks:
        sock.close()


def login_limit():
    """Failed logins count against the address like failed bearer tokens."""
    with h.Server(extra_args=["--limit-localhost", "--auth-fail-rate", "0.01",
                              "--auth-fail-burst", "3"]) as s:
        codes = [Browser(s).post("/login", {"token": "cg_" + "1" * 48})[0] for _ in range(6)]
        ok(codes[:3] == [401, 401, 401] and codes[-1] == 429, "failed logins: %s" % codes)
        st, hd, _ = Browser(s).post("/login", {"token": s.admin_token})
        ok(st == 429 and "retry-after" in hd, "even the right token waits: %s" % st)


def big_fleet():
    """1,000 cells and 200 versions: every page stays under 100 KB."""
    with h.Server() as s:
        for i in range(1000):
            st, _ = s.api("POST", "/v1/cells", {"id": "cell-%04d" % i, "region": "r%d" % (i % 3),
                                                "zone": "r%d-z%d" % (i % 3, i % 9)})
            if st != 201:
                ok(False, "cell %d: %s" % (i, st))
        ok(True, "1,000 cells")
        st, _ = s.api("PUT", "/v1/plans/wide", {"waves": [{"name": "all", "percent": 100,
                                                           "bake_s": 3600}]})
        st, _ = s.api("POST", "/v1/configs", {"name": "big", "contract": {"schema": {"type": "object"}},
                                              "plan": "wide"})
        ok(st == 201, "big config: %s" % st)
        for v in range(1, 201):
            st, _ = s.api("POST", "/v1/configs/big/versions?message=%s"
                          % urllib.parse.quote("version %d " % v + "m" * 280),
                          {"v": v, "items": ["item-%d" % k for k in range(v)]})
            if st != 201:
                ok(False, "publish %d: %s" % (v, st))
        st, b = s.api("POST", "/v1/rollouts", {"config": "big", "version": 200})
        ok(st == 201, "big rollout: %s %s" % (st, b))
        rid = b["id"]
        br = Browser(s).login(s.admin_token)
        for path in ("/", "/configs", "/configs/big", "/rollouts/%d" % rid,
                     "/rollouts/%d/live" % rid, "/configs/big/diff?a=1&b=200",
                     "/configs/big/start?version=200", "/rollouts/%d/pause" % rid):
            st, _, body = br.get(path)
            size = len(body.encode())
            ok(st == 200 and size <= 100 * 1024, "%s: %s, %d bytes" % (path, st, size))


with h.Server() as s:
    framework(s)
    toks = setup(s)
    pages(s, toks)
base_path()
login_limit()
big_fleet()
h.done("65-dashboard/01-pages", passed)
