#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The dashboard's fleet pages (docs/dashboard.md): cells, hosts, audit and
delivery, driven as a browser without JavaScript would.

- every page for every role (admin, deployer, approver, reader, a
  config-scoped deployer): status, the element ids of the test contract;
  without a session a redirect to the login.
- hostile text (cell labels, hosts' errors, audit reasons, query values)
  is rendered escaped in every field.
- cells: the region -> zone -> cell tree, one tr#cell-ID per cell with its
  hosts, desired and applied versions; hosts of a cell and one host.
- audit: newest first, paged with ?before=, filtered by config, actor and
  time; #audit-verify says "verified" on a good chain and "broken" (with
  the seq) after the store was edited behind the server's back.
- delivery: the fleet's and a config's figures, a scoped token sees only
  its configs.
- size: with 1,000 cells every page stays under 100 KB; the cells page is
  paged (?after=) and filtered (?region=)."""
import os
import re
import sqlite3
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

HOSTILE = "<script>alert(1)</script> & \"q\" 'x'"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;x&#39;"
PLAN = {"waves": [{"name": "canary", "cells": 1, "bake_s": 3600},
                  {"name": "rest", "percent": 100, "bake_s": 0}]}
passed = 0


def ok(cond, msg):
    global passed
    h.check(cond, msg)
    passed += 1


class Browser:
    """A cookie jar of one (cg_session), no redirects followed."""

    def __init__(self, s, base="/ui"):
        self.s, self.base, self.cookie = s, base, None

    def get(self, path):
        hd0 = {"Cookie": "cg_session=" + self.cookie} if self.cookie else {}
        st, hd, body = self.s.request("GET", self.base + path, token=None, headers=hd0)
        return st, hd, body.decode("utf-8", "replace")

    def login(self, token):
        st, hd, _ = self.s.request("POST", self.base + "/login",
                                   body=urllib.parse.urlencode({"token": token}), token=None,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        m = re.match(r"cg_session=([^;]*)", hd.get("set-cookie", ""))
        ok(st == 303 and m, "login: %s" % st)
        self.cookie = m.group(1)
        return self


def token(s, name, role, configs=None):
    body = {"name": name, "role": role}
    if configs:
        body["configs"] = configs
    st, b = s.api("POST", "/v1/tokens", body)
    ok(st == 201, "token %s: %s %s" % (name, st, b))
    return b["token"]


def report(s, host, cell, seq, cfgs, requests=1000, errors=1):
    st, b = s.api("POST", "/v1/agent/report", {
        "host": host, "cell": cell, "seq": seq, "window_ms": 10000, "configs": cfgs,
        "health": {"requests": requests, "errors": errors}})
    ok(st == 204, "report %s: %s %s" % (host, st, b))


def setup(s):
    cells = (("c-a1", "ra", "ra-z1"), ("c-a2", "ra", "ra-z2"), ("c-b1", "rb", "rb-z1"))
    for cid, region, zone in cells:
        st, b = s.api("POST", "/v1/cells", {"id": cid, "region": region, "zone": zone,
                                            "labels": {"team": HOSTILE, "tier": "gold"}})
        ok(st == 201, "cell %s: %s %s" % (cid, st, b))
    st, _ = s.api("PUT", "/v1/plans/careful", PLAN)
    ok(st in (200, 201), "plan: %s" % st)
    for cfg in ("app", "other"):
        st, b = s.api("POST", "/v1/configs", {"name": cfg, "plan": "careful",
                                              "contract": {"schema": {"type": "object"}}})
        ok(st == 201, "config %s: %s %s" % (cfg, st, b))
        for v in (1, 2):
            st, _ = s.api("POST", "/v1/configs/%s/versions?message=%s"
                          % (cfg, urllib.parse.quote(HOSTILE)), {"v": v})
            ok(st == 201, "publish %s %d: %s" % (cfg, v, st))
        st, b = s.api("POST", "/v1/configs/%s/assign" % cfg,
                      {"version": 1, "cells": [c[0] for c in cells], "force": True,
                       "reason": HOSTILE})
        ok(st == 201, "assign %s: %s %s" % (cfg, st, b))
    app = {"config": "app", "version": 1, "generation": 1, "outcome": "applied",
           "lkg_version": 1, "lkg_generation": 1}
    for i in range(1, 4):
        report(s, "h-%d" % i, "c-a1", 1, [app])
    bad = dict(app, outcome="rejected", lkg_version=0, lkg_generation=0, error=HOSTILE)
    report(s, "h-bad", "c-a2", 1, [bad], errors=500)
    # a rollout of app that an operator aborts: delivery counts it
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2})
    ok(st == 201, "rollout: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/rollouts/%d/abort" % b["id"], {"reason": HOSTILE})
    ok(st in (200, 201, 202), "abort: %s %s" % (st, b))
    toks = {"admin": s.admin_token}
    for role in ("deployer", "approver", "reader"):
        toks[role] = token(s, "ui-" + role, role)
    toks["scoped"] = token(s, "ui-scoped", "deployer", ["other"])
    return toks


def no_hostile(body, what):
    ok("<script>alert" not in body and "\"q\" 'x'" not in body, "%s: nothing unescaped" % what)


PAGES = {
    "/cells": ('id="cells"', 'id="cell-c-a1"', 'id="cell-c-b1"', 'id="regions"'),
    "/hosts?cell=c-a1": ('id="hosts"', 'id="host-h-1"', 'id="hosts-cell"'),
    "/hosts": ('id="hosts"', 'id="host-h-bad"'),
    "/hosts/h-1": ('id="host-name"', 'id="host-configs"'),
    "/audit": ('id="audit"', 'id="audit-verify"', 'id="audit-filter"', "verified"),
    "/delivery": ('id="delivery"', 'id="delivery-failed"'),
    "/delivery?config=app&window=7d": ('id="delivery"',),
}


def pages(s, toks):
    # no session: to the login
    for path in PAGES:
        st, hd, _ = Browser(s).get(path)
        ok(st == 303 and "/ui/login?next=" in hd["location"], "%s without a session: %s"
           % (path, st))
    for role, tok in toks.items():
        b = Browser(s).login(tok)
        for path, ids in PAGES.items():
            st, hd, body = b.get(path)
            ok(st == 200, "%s %s: %s %s" % (role, path, st, body[-300:]))
            for i in ids:
                ok(i in body, "%s %s: %s" % (role, path, i))
            ok(hd.get("content-security-policy", "").startswith("default-src 'none'"),
               "%s %s: CSP" % (role, path))
            ok("style=" not in body and "<script>" not in body, "%s %s: no inline" % (role, path))
            no_hostile(body, "%s %s" % (role, path))
            ok(len(body.encode()) <= 100 * 1024, "%s %s: size" % (role, path))
        nav = re.findall(r'<nav aria-label="Main">(.*?)</nav>', b.get("/")[2])[0]
        for rel in ("/ui/cells", "/ui/audit", "/ui/delivery"):
            ok('href="%s"' % rel in nav, "%s: nav %s" % (role, rel))
    b = Browser(s).login(toks["reader"])
    # cells: the tree, labels escaped, versions
    body = b.get("/cells")[2]
    ok(body.index('data-region="ra"') < body.index('data-zone="ra-z1"')
       < body.index('id="cell-c-a1"') < body.index('data-zone="ra-z2"')
       < body.index('data-region="rb"'), "region -> zone -> cell order")
    row = re.search(r'<tr id="cell-c-a1".*?</tr>', body, re.S).group(0)
    ok("3 known, 3 reporting, 0 stale, 0 failing" in row, "c-a1 hosts: %s" % row)
    ok("app: desired 1" in row and "applied 1 on 3" in row and "last-known-good 1" in row,
       "c-a1 versions: %s" % row)
    ok("team=" + ESCAPED in row, "label escaped: %s" % row)
    row = re.search(r'<tr id="cell-c-a2".*?</tr>', body, re.S).group(0)
    ok("1 failing" in row, "c-a2 failing: %s" % row)
    body = b.get("/cells?region=rb")[2]
    ok('id="cell-c-b1"' in body and 'id="cell-c-a1"' not in body, "region filter")
    body = b.get("/cells?region=" + urllib.parse.quote(HOSTILE))[2]
    no_hostile(body, "hostile region")
    # hosts
    body = b.get("/hosts?cell=c-a2")[2]
    ok('id="host-h-bad"' in body and 'id="host-h-1"' not in body and ESCAPED in body
       and "rejected" in body, "hosts of c-a2, the error escaped")
    body = b.get("/hosts?cell=c-a1")[2]
    ok("applied 1 (gen 1), last-known-good 1" in body and "s ago" in body, "host row")
    ok(b.get("/hosts/nobody")[0] == 404, "unknown host: 404")
    st, _, body = b.get("/hosts/h-2")
    ok(st == 200 and '<h1 id="host-name">h-2<' in body, "host detail")
    # a hostile cell query and host name are escaped
    for path in ("/hosts?cell=" + urllib.parse.quote(HOSTILE),
                 "/hosts/" + urllib.parse.quote(HOSTILE, safe="")):
        st, _, body = b.get(path)
        no_hostile(body, path)


def audit(s, toks):
    b = Browser(s).login(toks["reader"])
    recs = h.audit_all(s)
    head = recs[-1]["seq"]
    body = b.get("/audit")[2]
    seqs = [int(x) for x in re.findall(r'<tr id="audit-(\d+)"', body)]
    ok(seqs and seqs[0] == head and seqs == sorted(seqs, reverse=True), "newest first: %s" % seqs[:5])
    ok(ESCAPED in body, "the hostile reason is escaped")
    v = re.search(r'<p id="audit-verify"[^>]*>(.*?)</p>', body, re.S).group(1)
    ok(v.startswith("verified: all %d records (seq 1 to %d) from the genesis" % (head, head))
       and recs[-1]["hash"] in v, "verify text: %s" % v)
    # paging
    body = b.get("/audit?before=5")[2]
    seqs = [int(x) for x in re.findall(r'<tr id="audit-(\d+)"', body)]
    ok(seqs == [4, 3, 2, 1] and 'id="next-page"' not in body, "before=5: %s" % seqs)
    # filters
    body = b.get("/audit?config=app")[2]
    objs = re.findall(r'<tr id="audit-\d+".*?</td><td>[^<]*</td><td>([^<]*)</td>', body, re.S)
    want = [r for r in recs if r["object"] == "config/app" or r["object"].startswith("config/app/")
            or '"config":"app"' in (r["after"] or "") or '"config":"app"' in (r["before"] or "")]
    seqs = [int(x) for x in re.findall(r'<tr id="audit-(\d+)"', body)]
    ok(seqs == [r["seq"] for r in reversed(want)][:50], "config filter: %s vs %s"
       % (seqs, [r["seq"] for r in want]))
    ok(all(o.startswith("config/app") or o.startswith("rollout/") for o in objs), "objects: %s" % objs)
    body = b.get("/audit?actor=token:ui-reader")[2]
    ok('<tr id="audit-' not in body and 'id="audit-none"' in body, "actor without records")
    body = b.get("/audit?actor=token:admin")[2]
    actors = re.findall(r'<td class="actor">([^<]*)</td>', body)
    ok(actors and set(actors) == {"token:admin"}, "actor filter: %s" % set(actors))
    body = b.get("/audit?from=2999-01-01")[2]
    ok('id="audit-none"' in body, "from the future: none")
    body = b.get("/audit?to=2000-01-01T00:00")[2]
    ok('id="audit-none"' in body, "to the past: none")
    t = recs[2]["time_ms"]
    frm = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t // 1000))
    body = b.get("/audit?from=" + urllib.parse.quote(frm))[2]
    seqs = [int(x) for x in re.findall(r'<tr id="audit-(\d+)"', body)]
    ok(seqs and all(r["time_ms"] >= (t // 1000) * 1000 for r in recs if r["seq"] in seqs),
       "from filter: %s" % seqs[-3:])
    st, _, body = b.get("/audit?from=" + urllib.parse.quote(HOSTILE))
    ok(st == 400, "a bad time: %s" % st)
    no_hostile(body, "bad time")
    body = b.get("/audit?actor=" + urllib.parse.quote(HOSTILE))[2]
    ok('value="%s"' % ESCAPED in body, "the actor filter is echoed escaped")
    no_hostile(body, "hostile actor filter")
    # tampering with the store behind the server's back: broken, with the seq
    s.stop()
    db = sqlite3.connect(os.path.join(s.data_dir, "cellgate.db"))
    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    db.commit()
    db.close()
    s.start()
    b = Browser(s).login(toks["reader"])
    body = b.get("/audit")[2]
    v = re.search(r'<p id="audit-verify"[^>]*>(.*?)</p>', body, re.S).group(1)
    ok(v.startswith("broken at seq 3: its hash does not recompute"), "tampered: %s" % v)


def delivery(s, toks):
    b = Browser(s).login(toks["reader"])
    body = b.get("/delivery")[2]
    sec = body[body.index('id="delivery"'):body.index('id="delivery-configs"')]
    ok("<dt>Rollouts started</dt><dd>1</dd>" in sec and "<dt>Aborted</dt><dd>1</dd>" in sec,
       "fleet figures: %s" % sec[:600])
    ok('data-config="app"' in body, "per-config row")
    body = Browser(s).login(toks["scoped"]).get("/delivery")[2]
    ok("<dt>Rollouts started</dt><dd>0</dd>" in body and 'data-config="app"' not in body,
       "a token scoped to other sees no app rollout")
    for q in ("?window=0d", "?window=2y", "?config=" + urllib.parse.quote(HOSTILE)):
        st, _, body = b.get("/delivery" + q)
        ok(st == 400, "delivery %s: %s" % (q, st))
        no_hostile(body, "delivery " + q)


def big_fleet():
    """1,000 cells in 5 regions: the cells page is paged and under 100 KB."""
    with h.Server() as s:
        for i in range(1000):
            st, _ = s.api("POST", "/v1/cells", {"id": "cell-%04d" % i, "region": "r%d" % (i % 5),
                                                "zone": "r%d-z%d" % (i % 5, i % 15),
                                                "labels": {"team": HOSTILE}})
            if st != 201:
                ok(False, "cell %d: %s" % (i, st))
        b = Browser(s).login(s.admin_token)
        seen, path, pages_ = set(), "/cells", 0
        while path and pages_ < 20:
            st, _, body = b.get(path)
            size = len(body.encode())
            ok(st == 200 and size <= 100 * 1024, "%s: %s, %d bytes" % (path, st, size))
            ids = re.findall(r'<tr id="cell-([^"]+)"', body)
            ok(len(ids) <= 100 and not seen & set(ids), "%s: %d new cells" % (path, len(ids)))
            seen |= set(ids)
            m = re.search(r'id="next-page" href="/ui([^"]+)"', body)
            path = m.group(1).replace("&amp;", "&") if m else None
            pages_ += 1
        ok(len(seen) == 1000 and pages_ == 10, "every cell once in %d pages: %d" % (pages_, len(seen)))
        st, _, body = b.get("/cells?region=r3")
        ids = re.findall(r'<tr id="cell-([^"]+)"', body)
        ok(len(ids) == 100 and all(int(i[5:]) % 5 == 3 for i in ids), "region r3 page")
        m = re.search(r'id="next-page" href="/ui([^"]+)"', body)
        ok(m and "region=r3" in m.group(1), "the next page keeps the region")
        st, _, body = b.get(m.group(1).replace("&amp;", "&"))
        ids2 = re.findall(r'<tr id="cell-([^"]+)"', body)
        ok(len(ids2) == 100 and not set(ids) & set(ids2)
           and all(int(i[5:]) % 5 == 3 for i in ids2) and 'id="next-page"' not in body,
           "region r3, second and last page")
        for path in ("/audit", "/delivery", "/hosts"):
            st, _, body = b.get(path)
            ok(st == 200 and len(body.encode()) <= 100 * 1024, "%s: %s %d bytes"
               % (path, st, len(body.encode())))
        v = re.search(r'<p id="audit-verify"[^>]*>(.*?)</p>', b.get("/audit")[2], re.S).group(1)
        ok(v.startswith("verified: the newest 1000 records (seq "), "a long log: %s" % v)


with h.Server() as srv:
    toks_ = setup(srv)
    pages(srv, toks_)
    delivery(srv, toks_)
    audit(srv, toks_)
big_fleet()
h.done("65-dashboard/03-fleet-pages", passed)
