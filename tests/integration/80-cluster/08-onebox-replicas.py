# SPDX-License-Identifier: MIT
"""One-box canaries across replicas (docs/plans.md "Host-level waves",
server/replica/): two replicas on one real PostgreSQL; the simulated hosts
poll and report only through b, the rollout is started through a, and the
controller runs on whichever replica leads.

- the host-level step's per-host assignment reaches b: the chosen host's
  poll on b answers its own body (with "host") on the new version, while
  the other hosts of its cell keep the old version and the cell's ETag;
- a bad version is rolled back and the canary's own body on b is gone: it
  is back on the old version with a newer generation (I7 on every
  replica)."""
import json, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver

SLOW = 3 if h.SANITIZED else 1
CELLS = {"c1": ["c1-h1", "c1-h2", "c1-h3"], "c2": ["c2-h1", "c2-h2", "c2-h3"]}
HOSTS = [(c, x) for c in sorted(CELLS) for x in CELLS[c]]
BAD = {2}
DEADLINE_S = 240 * SLOW
n = 0


def poll(s, cell, host):
    st, hdrs, data = s.request("GET", "/v1/agent/desired?cell=%s&host=%s" % (cell, host),
                               timeout=30)
    return st, hdrs.get("etag", "").strip('"'), (json.loads(data) if st == 200 else None)


def app_of(body):
    for x in body["assignments"]:
        if x["config"] == "app":
            return x["version"], x["generation"]
    return 0, 0


class Fleet:
    """Hosts that poll and report through one replica."""

    def __init__(self, s):
        self.s, self.seq, self.state = s, 0, {}

    def round(self):
        self.seq += 1
        for cell, host in HOSTS:
            st, etag, body = poll(self.s, cell, host)
            h.check(st == 200, "poll %s on b: %s" % (host, st))
            v, g = app_of(body)
            self.state[host] = (v, g, etag, body)
            st, b = self.s.api("POST", "/v1/agent/report", {
                "host": host, "cell": cell, "seq": self.seq, "window_ms": 1000,
                "configs": [{"config": "app", "version": v, "generation": g,
                             "outcome": "applied", "lkg_version": v, "lkg_generation": g}],
                "health": {"requests": 100, "errors": 50 if v in BAD else 1}})
            h.check(st == 204, "report %s on b: %s %s" % (host, st, b))


def run_until(a, fleet, rid, cond, what):
    end = time.time() + DEADLINE_S
    r = None
    while time.time() < end:
        fleet.round()
        st, r = a.api("GET", "/v1/rollouts/%d" % rid)
        h.check(st == 200, "status %s" % st)
        if cond(r):
            return r
        time.sleep(0.1)
    h.fail("%s: rollout %d is %s at step %s (%s)" % (what, rid, r["state"], r["step"],
                                                      r.get("evaluation", {}).get("summary")))


tmp = tempfile.mkdtemp(prefix="cgonebox.")
with pgserver.PgServer() as pg:
    dsn = pg.create_db("cg")
    d1, d2 = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    r = subprocess.run([h.SERVER_BIN, "init", "--store", dsn, "--data", d1],
                       capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 0, "init --store: %r" % r.stderr)
    token = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
             if l.startswith("admin token")][0]
    os.makedirs(d2)
    shutil.copy(os.path.join(d1, "signing.key"), d2)
    for d in (d1, d2):
        open(os.path.join(d, "admin.token"), "w").write(token)
    args = lambda rid: ["--store", dsn, "--replica-id", rid, "--lease-ttl-ms", "3000",
                        "--tick-ms", "100"]
    a = h.Server(data_dir=d1, extra_args=args("a"), keep=True).start()
    b = h.Server(data_dir=d2, extra_args=args("b"), keep=True).start()
    try:
        for c, z in (("c1", "z1"), ("c2", "z2")):
            st, body = a.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": z})
            h.check(st == 201, "cell %s" % body)
        plan = {"waves": [{"name": "onebox", "cells": 1, "hosts": 1, "bake_s": 0,
                           "min_requests": 300},
                          {"name": "rest", "percent": 100, "bake_s": 0}],
                "gates": {"error_rate": {"max_ratio": 2, "min_delta": 0.05}}}
        st, body = a.api("PUT", "/v1/plans/onebox", plan)
        h.check(st in (200, 201), "plan %s %s" % (st, body))
        st, body = a.api("POST", "/v1/configs", {"name": "app", "contract": {},
                                                 "plan": "onebox"})
        h.check(st == 201, "config %s" % body)
        for v in (1, 2):
            st, body = a.api("POST", "/v1/configs/app/versions", {"v": v})
            h.check(st == 201, "publish %s" % body)
        st, body = a.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1", "c2"],
                                                            "force": True})
        h.check(st == 201, "assign %s" % body)
        fleet = Fleet(b)
        end = time.time() + 10 * SLOW
        while time.time() < end:
            fleet.round()
            if all(fleet.state[x][0] == 1 for _, x in HOSTS):
                break
            time.sleep(0.1)
        before = dict(fleet.state)
        h.check(all(before[x][0] == 1 for _, x in HOSTS), "every host on v1 via b: %s" % before)
        for _ in range(3):
            fleet.round()  # every host known to the leader through the relay

        st, r = a.api("POST", "/v1/rollouts", {"config": "app", "version": 2,
                                               "reason": "bad one"})
        h.check(st == 201, "rollout %s %s" % (st, r))
        rid = r["id"]
        # the step starts (a host is chosen) once the leader knows the hosts
        end = time.time() + 30 * SLOW
        chosen = None
        while time.time() < end and not chosen:
            st, r = a.api("GET", "/v1/rollouts/%d" % rid)
            chosen = r["detail"].get("hosts", {}).get("0")
            if not chosen:
                fleet.round()
                time.sleep(0.1)
        h.check(chosen and len(chosen) == 1, "a host was chosen: %s" % r.get("detail"))
        ccell = list(chosen)[0]
        chost = chosen[ccell][0]
        # on b: the canary's own body, the others unchanged
        end = time.time() + 10 * SLOW
        while time.time() < end:
            st, etag, body = poll(b, ccell, chost)
            if st == 200 and app_of(body)[0] == 2:
                break
            time.sleep(0.05)
        h.check(st == 200 and body.get("host") == chost and app_of(body)[0] == 2,
                "the canary's body on b: %s" % body)
        n += 1
        for cell, host in HOSTS:
            if host == chost:
                continue
            st, etag, body = poll(b, cell, host)
            h.check(app_of(body) == before[host][:2] and etag == before[host][2] and
                    "host" not in body, "%s on b keeps v1 and its cell's ETag: %s" % (host, body))
        n += 1
        canary_gen = app_of(body)[1]
        r = run_until(a, fleet, rid, lambda r: r["state"] == "rolled_back", "rollback")
        ev = [e for e in r["events"] if e["kind"] == "rollback.start"][0]["detail"]["evaluation"]
        h.check(ev["baseline"] == "rest_of_cell", "rest-of-cell baseline: %s" % ev["baseline"])
        n += 1
        end = time.time() + 10 * SLOW
        while time.time() < end:
            st, etag, body = poll(b, ccell, chost)
            if app_of(body)[0] == 1:
                break
            time.sleep(0.05)
        h.check(app_of(body)[0] == 1 and app_of(body)[1] > canary_gen and "host" not in body,
                "the canary host is back on v1 on b, newer generation: %s" % body)
        n += 1
    finally:
        for s in (a, b):
            s.stop()
shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks" % n)
