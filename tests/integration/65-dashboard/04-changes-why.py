#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The dashboard's changes timeline and "why?" pages (docs/dashboard.md,
docs/correlation.md), driven as a browser without JavaScript would, on
60-rollout/06-correlate's fleet (three hosts in each of six cells
reporting through the API, 1 s health buckets):

- /changes: the baseline assignment, the bad rollout's step with its
  rollout link, who and why (a hostile reason rendered escaped), the hosts
  that applied it; filters by config, cell and time; paging with
  ?after=; a "why?" link per change; bad filters 400.
- /why: the form alone without a question; for the bad wave's cell the
  verdict "change" naming the rollout step, the candidates with their
  scores and reason lines; for a cell whose hosts fail without a change the
  verdict "none"; bad input 400 (two scopes, a bad name, a bad time or
  window, a time in the future).
- both pages for a reader and a config-scoped deployer (who sees no other
  config's change), and a redirect to the login without a session."""
import importlib.util
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

spec = importlib.util.spec_from_file_location(
    "correlate", os.path.join(os.path.dirname(__file__), "..", "60-rollout", "06-correlate.py"))
corr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(corr)
SLOW = corr.SLOW
passed = 0


def ok(cond, msg):
    global passed
    h.check(cond, msg)
    passed += 1


class fp:
    """What 03-fleet-pages uses too: hostile text, a cookie jar of one
    session, tokens."""
    HOSTILE = "<script>alert(1)</script> & \"q\" 'x'"
    ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;x&#39;"

    class Browser:
        def __init__(self, s, base="/ui"):
            self.s, self.base, self.cookie = s, base, None

        def get(self, path):
            hd0 = {"Cookie": "cg_session=" + self.cookie} if self.cookie else {}
            st, hd, body = self.s.request("GET", self.base + path, token=None, headers=hd0)
            return st, hd, body.decode("utf-8", "replace")

        def login(self, token):
            st, hd, _ = self.s.request(
                "POST", self.base + "/login", body=urllib.parse.urlencode({"token": token}),
                token=None, headers={"Content-Type": "application/x-www-form-urlencoded"})
            m = re.match(r"cg_session=([^;]*)", hd.get("set-cookie", ""))
            ok(st == 303 and m, "login: %s" % st)
            self.cookie = m.group(1)
            return self

    @staticmethod
    def token(s, name, role, configs=None):
        body = {"name": name, "role": role}
        if configs:
            body["configs"] = configs
        st, b = s.api("POST", "/v1/tokens", body)
        ok(st == 201, "token %s: %s %s" % (name, st, b))
        return b["token"]


def utc(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


with h.Server(extra_args=["--tick-ms", "100", "--history-bucket-ms", "1000",
                          "--history-buckets", "900"]) as s:
    for c in corr.CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": corr.ZONES[c]})[0]
                == 201, c)
    for name in ("cfg", "other"):
        h.check(s.api("POST", "/v1/configs", {"name": name, "contract": {}})[0] == 201, name)
    for k in (1, 2):
        h.check(s.api("POST", "/v1/configs/cfg/versions", {"v": k})[0] == 201, "publish")
    h.check(s.api("POST", "/v1/configs/other/versions", {"o": 1})[0] == 201, "publish other")
    plan = {"waves": [{"name": "one", "cells": 2, "bake_s": 600, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 10}]}
    h.check(s.api("PUT", "/v1/plans/slow", plan)[0] == 201, "plan")
    st, b = s.api("POST", "/v1/configs/cfg/assign", {"version": 1, "cells": corr.CELLS,
                                                      "force": True,
                                                      "reason": fp.HOSTILE})
    h.check(st == 201, "assign %s" % b)
    st, b = s.api("POST", "/v1/configs/other/assign", {"version": 1, "cells": corr.CELLS[:1],
                                                        "force": True, "reason": "other"})
    h.check(st == 201, "assign other %s" % b)
    fleet = corr.Fleet(s)
    fleet.bad.add(2)
    fleet.start()
    try:
        time.sleep(4 * SLOW)
        st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 2, "plan": "slow",
                                               "reason": "ship v2"})
        h.check(st == 201, "rollout %s %s" % (st, b))
        rid = b["id"]
        step, end = None, time.time() + 30 * SLOW
        while time.time() < end and not step:
            steps = [c for c in s.api("GET", "/v1/changes?config=cfg")[1]["changes"]
                     if c["kind"] == "rollout_step"]
            step = steps[0] if steps else None
            time.sleep(0.2)
        h.check(step is not None, "no rollout step")
        wave = step["cells"]
        time.sleep(4 * SLOW)
        t1 = int(time.time() * 1000)
        other = [c for c in corr.CELLS if c not in wave and
                 corr.ZONES[c] != corr.ZONES[wave[0]]][0]
        fleet.sick.update(corr.HOSTS[other])
        time.sleep(4 * SLOW)
        t2 = int(time.time() * 1000)
    finally:
        fleet.stop.set()
        fleet.join()

    admin = fp.Browser(s).login(s.admin_token)
    reader = fp.Browser(s).login(fp.token(s, "rd", "reader"))
    scoped = fp.Browser(s).login(fp.token(s, "sc", "deployer", ["other"]))

    # -- the changes timeline
    st, _, body = admin.get("/changes?config=cfg")
    ok(st == 200 and 'id="changes"' in body and 'id="changes-filter"' in body,
       "changes: %s" % st)
    rows = re.findall(r'<tr id="change-(\d+)" data-seq="\d+" data-kind="([a-z_]+)"', body)
    kinds = [k for _, k in rows]
    ok(kinds[:3] == ["publish", "publish", "assign"] and "rollout_step" in kinds,
       "kinds: %s" % kinds)
    ok(fp.ESCAPED in body and fp.HOSTILE not in body, "hostile reason escaped")
    m = re.search(r'<tr id="change-%d".*?</tr>' % step["seq"], body, re.S)
    ok(m and 'href="/ui/rollouts/%d"' % rid in m.group(0) and "ship v2" in m.group(0) and
       "6 applied" in m.group(0) and 'class="why"' in m.group(0) and " v2 (" in m.group(0),
       "the step's row: %s" % (m.group(0)[:800] if m else body[-800:]))
    st, _, body = admin.get("/changes?cell=%s&from=%s" % (wave[0], urllib.parse.quote(utc(t1 - 60000))))
    ok(st == 200, "cell filter: %s" % st)
    ok(all(wave[0] in r for r in re.findall(r'<tr id="change-.*?</tr>', body, re.S)),
       "every change shown reached %s" % wave[0])
    st, _, body = admin.get("/changes?config=cfg&after=%d" % step["seq"])
    ok(st == 200 and 'id="change-%d"' % step["seq"] not in body, "after: %s" % st)
    st, _, body = admin.get("/changes?to=%s" % urllib.parse.quote(utc(step["time_ms"] - 60000)))
    ok(st == 200 and 'id="changes-none"' in body, "to before everything: %s" % body[-300:])
    for q in ("config=Bad%20Name", "cell=%3Cx%3E", "from=yesterday", "after=x", "after=-1"):
        st, _, body = admin.get("/changes?" + q)
        ok(st == 400, "changes?%s: %s" % (q, st))
    # the reader sees it; a token scoped to 'other' sees none of cfg's changes
    st, _, body = reader.get("/changes")
    ok(st == 200 and 'data-kind="rollout_step"' in body, "reader: %s" % st)
    st, _, body = scoped.get("/changes")
    ok(st == 200 and "/ui/configs/cfg" not in body and "/ui/configs/other" in body,
       "scoped changes")
    st, hd, _ = fp.Browser(s).get("/changes")
    ok(st == 303 and "/ui/login" in hd.get("location", ""), "no session: %s" % st)
    ok(len(admin.get("/changes")[2]) <= 100 * 1024, "size")

    # -- why
    st, _, body = admin.get("/why")
    ok(st == 200 and 'id="why-form"' in body and 'id="why"' not in body, "why form alone")
    ok('<option value="latency" disabled>' in body, "latency offered without a latency history")
    st, _, body = admin.get("/why?cell=%s&at=%s&window=2m" % (wave[0], urllib.parse.quote(utc(t1))))
    ok(st == 200 and 'id="why-verdict" data-verdict="change"' in body,
       "why blames: %s" % body[-3000:])
    top = re.search(r'<tr data-rank="1" data-blamed="true" data-vetoed="false" '
                    r'data-seq="%d">.*?</tr>' % step["seq"], body, re.S)
    ok(top and 'href="/ui/rollouts/%d"' % rid in top.group(0) and
       top.group(0).count("<li>") >= 5 and "overlap" in top.group(0),
       "top candidate: %s" % body[-3000:])
    st, _, body = reader.get("/why?host=%s&at=%s&window=2m" % (corr.HOSTS[wave[0]][0],
                                                               urllib.parse.quote(utc(t1))))
    ok(st == 200 and 'data-verdict="change"' in body, "why for a host, a reader")
    st, _, body = admin.get("/why?cell=%s&at=%s&window=2m" % (other, urllib.parse.quote(utc(t2))))
    ok(st == 200 and 'data-verdict="none"' in body and 'data-blamed="true"' not in body,
       "a fault without a change: %s" % body[-2000:])
    ok(len(body) <= 100 * 1024, "why size")
    for q in ("cell=c1&host=h", "cell=%3Cb%3E", "cell=c1&at=soon", "cell=c1&window=ages",
              "cell=c1&at=" + urllib.parse.quote(utc(int(time.time() * 1000) + 3600000))):
        st, _, body = admin.get("/why?" + q)
        ok(st == 400 and "<b>" not in body, "why?%s: %s" % (q, st))
    st, hd, _ = fp.Browser(s).get("/why")
    ok(st == 303, "why without a session: %s" % st)

h.done("dashboard-changes-why", passed)
