# SPDX-License-Identifier: MIT
"""One-box canaries (docs/plans.md "Host-level waves"): a plan whose first
wave is one host of one cell. Simulated hosts poll their desired state with
host=NAME and report health through the API, like agents.

 - When the step starts, exactly one host of one cell gets the new version
   (its own body, with "host", and a newer generation); the other hosts of
   that cell keep the old version and the cell's ETag, and their parked
   long-polls are not woken (they end with 304), while the canary's is
   (200). The chosen host is in the step's event and in detail.hosts.
 - The gate compares the canary with the rest of its own cell: the
   evaluation says baseline "rest_of_cell".
 - A bad version (the canary's error rate x50) is rolled back: the canary
   host gets the old version again (a generation newer than its canary
   one) and its own body is gone (I7; the rollback assigned its cell).
 - A good version passes the one-box step and proceeds to whole cells until
   every host runs it."""
import os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

CELLS = {"c1": ["c1-h1", "c1-h2", "c1-h3"], "c2": ["c2-h1", "c2-h2", "c2-h3"]}
HOSTS = [(c, x) for c in sorted(CELLS) for x in CELLS[c]]
BAD = {2}  # versions whose hosts fail half their requests
DEADLINE_S = 240  # the whole test; no step is timed

passed = 0


def poll(s, cell, host, etag=None, wait=0):
    """GET the desired state as host; (status, etag, body)."""
    hd = {"If-None-Match": '"%s"' % etag} if etag else None
    path = "/v1/agent/desired?cell=%s&host=%s" % (cell, host)
    if wait:
        path += "&wait=%d" % wait
    st, hdrs, data = s.request("GET", path, headers=hd, timeout=wait + 30)
    body = h.json.loads(data) if st == 200 else None
    return st, hdrs.get("etag", "").strip('"'), body


def app_of(body):
    for a in body["assignments"]:
        if a["config"] == "app":
            return a["version"], a["generation"]
    return 0, 0


class Fleet:
    """Each host applies what its desired state says and reports on it."""

    def __init__(self, s):
        self.s = s
        self.seq = 0
        self.state = {}  # host -> (version, generation, etag, body)

    def round(self):
        self.seq += 1
        for cell, host in HOSTS:
            st, etag, body = poll(self.s, cell, host)
            h.check(st == 200, "poll %s: %s" % (host, st))
            v, g = app_of(body)
            self.state[host] = (v, g, etag, body)
            errors = 50 if v in BAD else 1
            st, b = self.s.api("POST", "/v1/agent/report", {
                "host": host, "cell": cell, "seq": self.seq, "window_ms": 1000,
                "configs": [{"config": "app", "version": v, "generation": g, "outcome": "applied",
                             "lkg_version": v, "lkg_generation": g}],
                "health": {"requests": 100, "errors": errors}})
            h.check(st == 204, "report %s: %s %s" % (host, st, b))


def rollout(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "status %s %s" % (st, b))
    return b


def events(r, kind):
    return [e for e in r["events"] if e["kind"] == kind]


def run_until(s, fleet, rid, cond, what):
    end = time.time() + DEADLINE_S
    while time.time() < end:
        fleet.round()
        r = rollout(s, rid)
        if cond(r):
            return r
        time.sleep(0.05)
    h.fail("%s: rollout %d is %s at step %s (%s)" % (what, rid, r["state"], r["step"],
                                                      r.get("evaluation", {}).get("summary")))


def canary_of(r):
    """The one (cell, host) of detail.hosts["0"]."""
    chosen = r["detail"]["hosts"]["0"]
    h.check(len(chosen) == 1, "one cell: %s" % chosen)
    cell = list(chosen)[0]
    h.check(len(chosen[cell]) == 1, "one host: %s" % chosen)
    return cell, chosen[cell][0]


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    for c, z in (("c1", "z1"), ("c2", "z2")):
        st, b = s.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": z})
        h.check(st == 201, "cell %s" % b)
    plan = {"waves": [{"name": "onebox", "cells": 1, "hosts": 1, "bake_s": 0, "min_requests": 300},
                      {"name": "rest", "percent": 100, "bake_s": 0}],
            "gates": {"error_rate": {"max_ratio": 2, "min_delta": 0.05}}}
    st, b = s.api("PUT", "/v1/plans/onebox", plan)
    h.check(st == 200 or st == 201, "plan %s %s" % (st, b))
    st, b = s.api("GET", "/v1/plans/onebox/preview")
    h.check(st == 200 and b["steps"][0].get("hosts") == 1 and b["steps"][0]["covered"] == 0 and
            len(b["steps"][0]["cells"]) == 1, "preview shows the host-level step: %s" % b)
    # refused: both kinds, and a host-level last wave
    bad = {"waves": [{"name": "a", "cells": 1, "hosts": 1, "host_percent": 5, "bake_s": 0},
                     {"name": "b", "percent": 100, "hosts": 1, "bake_s": 0}]}
    st, b = s.api("PUT", "/v1/plans/bad", bad)
    msgs = [e["pointer"] + " " + e["message"] for e in b["error"]["details"]["errors"]]
    h.check(st == 422 and any("/waves/0 " in m and "host_percent" in m for m in msgs) and
            any("/waves/1 " in m and "whole cells" in m for m in msgs), "bad plan: %s" % msgs)
    passed += 1

    st, b = s.api("POST", "/v1/configs", {"name": "app", "contract": {}, "plan": "onebox"})
    h.check(st == 201, "config %s" % b)
    for v in (1, 2, 3):
        st, b = s.api("POST", "/v1/configs/app/versions", {"v": v})
        h.check(st == 201, "publish %s" % b)
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1", "c2"],
                                                      "force": True})
    h.check(st == 201, "assign %s" % b)
    fleet = Fleet(s)
    for _ in range(3):
        fleet.round()
    before = dict(fleet.state)
    h.check(all(before[x][0] == 1 for _, x in HOSTS), "every host on v1: %s" % before)

    # -- a bad version: one host, parked polls, rollback -------------------
    results = {}

    def park(cell, host):
        results[host] = poll(s, cell, host, etag=before[host][2], wait=8)

    threads = [threading.Thread(target=park, args=hx) for hx in HOSTS]
    for t in threads:
        t.start()
    time.sleep(0.5)  # parked (a poll that comes later is answered the same way)
    st, r = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2, "reason": "bad one"})
    h.check(st == 201, "rollout %s %s" % (st, r))
    rid = r["id"]
    h.check(r["steps"][0].get("hosts") == 1 and r["steps"][0]["covered"] == 0,
            "step 1 is host-level and covers no cell: %s" % r["steps"][0])
    for t in threads:
        t.join()
    r = rollout(s, rid)
    h.check("0" in r["detail"].get("hosts", {}), "detail.hosts: %s" % r["detail"])
    ccell, chost = canary_of(r)
    start = events(r, "step.start")
    h.check(start and start[0]["detail"]["hosts"] == [{"host": chost, "cell": ccell}],
            "step.start names the host: %s" % start)
    for cell, host in HOSTS:
        st, etag, body = results[host]
        if host == chost:
            h.check(st == 200 and body["host"] == host and app_of(body)[0] == 2 and
                    app_of(body)[1] > before[host][1], "canary's parked poll: %s %s" % (st, body))
        else:
            h.check(st == 304 and etag == before[host][2],
                    "%s's parked poll must not be woken: %s %s" % (host, st, etag))
    # now, without parking: only the canary changed
    for cell, host in HOSTS:
        st, etag, body = poll(s, cell, host)
        if host == chost:
            h.check(app_of(body)[0] == 2 and etag != before[host][2], "canary on v2")
        else:
            h.check(app_of(body) == before[host][:2] and etag == before[host][2] and
                    "host" not in body, "%s keeps v1 and its cell's ETag: %s" % (host, body))
    passed += 1

    # the canary host's agent can fetch the new version's blob (its cell
    # holds it through the host assignment); an agent of another cell cannot
    st, etag, body = poll(s, ccell, chost)
    sha = [a["sha256"] for a in body["assignments"] if a["config"] == "app"][0]
    other = [c for c in CELLS if c != ccell][0]
    tok = {}
    for c in (ccell, other):
        st, b = s.api("POST", "/v1/tokens", {"name": "agent-" + c, "role": "agent", "cell": c})
        h.check(st == 201, "agent token %s: %s %s" % (c, st, b))
        tok[c] = b["token"]
    st, _, raw = s.request("GET", "/v1/blobs/" + sha, None, tok[ccell])
    h.check(st == 200 and h.hashlib.sha256(raw).hexdigest() == sha,
            "the canary's cell fetches its blob: %s" % st)
    st, _, raw = s.request("GET", "/v1/blobs/" + sha, None, tok[other])
    h.check(st == 403, "another cell's agent fetches the canary blob: %s" % st)
    passed += 1

    r = run_until(s, fleet, rid, lambda r: r["state"] in ("rolling_back", "rolled_back",
                                                          "completed", "halted"), "bad version")
    h.check(r["state"] in ("rolling_back", "rolled_back"), "bad version rolled back: %s" % r["state"])
    rb = events(r, "rollback.start")
    ev = rb[0]["detail"]["evaluation"]
    h.check(ev["baseline"] == "rest_of_cell" and ev["verdict"] == "fail",
            "the gate compared the canary with the rest of its cell: %s" % ev)
    h.check(r["step"] == 0, "failed in the one-box step: %s" % r["step"])
    r = run_until(s, fleet, rid, lambda r: r["state"] == "rolled_back", "rollback")
    v, g, etag, body = fleet.state[chost]
    h.check(v == 1 and g > app_of(results[chost][2])[1] and "host" not in body,
            "the canary host is back on v1 with a newer generation: %s" % body)
    h.check(all(fleet.state[x][0] == 1 for _, x in HOSTS), "every host on v1")
    passed += 1

    # -- a good version: the one-box step passes, whole cells follow -------
    st, r = s.api("POST", "/v1/rollouts", {"config": "app", "version": 3, "reason": "good one"})
    h.check(st == 201, "rollout %s %s" % (st, r))
    rid = r["id"]
    r = run_until(s, fleet, rid, lambda r: r["state"] not in ("running",) or r["step"] >= 1,
                  "one-box step")
    h.check(r["state"] == "running", "good version passes the canary: %s" % r["state"])
    ok = events(r, "step.passed")
    h.check(ok and ok[0]["detail"]["evaluation"]["baseline"] == "rest_of_cell",
            "step.passed against the rest of the cell: %s" % ok)
    r = run_until(s, fleet, rid, lambda r: r["state"] != "running", "the rest")
    h.check(r["state"] == "completed", "completed: %s" % r["state"])
    for _ in range(2):
        fleet.round()
    h.check(all(fleet.state[x][0] == 3 and "host" not in fleet.state[x][3] for _, x in HOSTS),
            "every host runs v3 from its cell's body: %s" % fleet.state)
    passed += 1
h.done("onebox-canary", passed)
