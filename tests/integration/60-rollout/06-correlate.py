# SPDX-License-Identifier: MIT
"""What changed, where, just before this? (docs/correlation.md "Ranking").

A real server (health history in 1 s buckets) and a simulated fleet of
three hosts in each of six cells reporting through /v1/agent/report:
  1. a rollout whose new version raises errors on the cells it reached:
     POST /v1/correlate and `cellgate why` blame that rollout step;
  2. a separate fault on the hosts of another cell, with no change: nothing
     is blamed;
  3. a fault that began before a change reached its cell: the change is
     vetoed and nothing is blamed;
  4. bad input gets 400 (413 past the body limit), a reader may ask.
The exposure history (host_exposures) is what says which hosts ran which
generation since when."""
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = ["c1", "c2", "c3", "c4", "c5", "c6"]
ZONES = {"c1": "za", "c2": "za", "c3": "zb", "c4": "zb", "c5": "zc", "c6": "zc"}
HOSTS = {c: ["h-%s-%d" % (c, i) for i in range(3)] for c in CELLS}


class Fleet(threading.Thread):
    """Every host reports its cell's assignment as applied, 100 requests a
    report; 20 errors while it runs a version in self.bad or while it is
    in self.sick (a fault that is no change)."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0
        self.bad, self.sick = set(), set()

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/cfg/assignments")
                for a in (b or {}).get("assignments", []) if st == 200 else []:
                    for host in HOSTS[a["cell"]]:
                        self.seq += 1
                        bad = a["version"] in self.bad or host in self.sick
                        self.s.api("POST", "/v1/agent/report", {
                            "host": host, "cell": a["cell"], "seq": self.seq, "window_ms": 200,
                            "configs": [{"config": "cfg", "version": a["version"],
                                         "generation": a["generation"], "outcome": "applied",
                                         "lkg_version": a["version"],
                                         "lkg_generation": a["generation"]}],
                            "health": {"requests": 100, "errors": 20 if bad else 0}})
            except OSError:
                pass
            self.stop.wait(0.2)


def correlate(s, body, token="admin"):
    st, b = s.api("POST", "/v1/correlate", body, token=token)
    h.check(st == 200, "correlate %s: %s %s" % (body, st, json.dumps(b)[:2000]))
    return b


def brief(b):
    return json.dumps({"onset": b["onset"], "verdict": b["verdict"],
                       "candidates": [{k: c[k] for k in ("score", "blamed", "vetoed", "reasons")}
                                      for c in b["candidates"]]}, indent=1)[:4000]


def scenario(s):
    global n
    for c in CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": ZONES[c]})[0] == 201, c)
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "contract": {}})[0] == 201, "config")
    for k in (1, 2, 3):
        h.check(s.api("POST", "/v1/configs/cfg/versions", {"v": k})[0] == 201, "publish %d" % k)
    plan = {"waves": [{"name": "one", "cells": 2, "bake_s": 600, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 10}]}
    h.check(s.api("PUT", "/v1/plans/slow", plan)[0] == 201, "plan")
    st, b = s.api("POST", "/v1/configs/cfg/assign", {"version": 1, "cells": CELLS,
                                                      "force": True, "reason": "baseline"})
    h.check(st == 201, "assign %s" % b)
    fleet = Fleet(s)
    fleet.bad.add(2)
    fleet.start()
    try:
        time.sleep(4 * SLOW)  # a healthy past to compare with

        # 1. a bad rollout: its first wave's cells fail
        st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 2, "plan": "slow",
                                               "reason": "ship v2"})
        h.check(st == 201, "start %s %s" % (st, b))
        rid = b["id"]
        step, end = None, time.time() + 30 * SLOW
        while time.time() < end and not step:
            st, b = s.api("GET", "/v1/changes?config=cfg")
            steps = [c for c in b["changes"] if c["kind"] == "rollout_step"]
            step = steps[0] if steps else None
            time.sleep(0.2)
        h.check(step is not None, "no rollout step")
        wave = step["cells"]
        h.check(len(wave) == 2, "wave %s" % wave)
        time.sleep(4 * SLOW)
        t1 = int(time.time() * 1000)
        b = correlate(s, {"cell": wave[0], "at": t1, "window": "2m"})
        h.check(b["verdict"] == "change" and b["blamed"]["seq"] == step["seq"]
                and b["onset"]["found"], "bad change not blamed:\n%s" % brief(b)); n += 1
        top = b["candidates"][0]
        h.check(top["blamed"] and not top["vetoed"] and top["score"] >= 0.5
                and len(top["reasons"]) >= 5 and top["change"]["rollout"]["id"] == rid,
                "top candidate %s" % json.dumps(top)[:1500]); n += 1
        h.check(b["scope"]["hosts"] == sorted(HOSTS[wave[0]]) and b["scope"]["faulty"] == 3,
                "scope %s" % b["scope"]); n += 1
        b = correlate(s, {"hosts": HOSTS[wave[1]][:2], "at": t1, "window": "2m"})
        h.check(b["verdict"] == "change" and b["blamed"]["seq"] == step["seq"],
                "hosts: %s" % brief(b)); n += 1
        r = s.cli("why", "--cell", wave[0], "--at", str(t1), "--window", "2m")
        h.check(r.returncode == 0 and "blamed: cfg rollout_step v2" in r.stdout
                and "BLAMED" in r.stdout and "fault began" in r.stdout
                and "overlap: 1.00 (3 of 3 faulty hosts ran it)" in r.stdout
                and "score: " in r.stdout,
                "cli why %r %r" % (r.stdout, r.stderr)); n += 1
        r = s.cli("why", "--host", HOSTS[wave[0]][0], "--at", str(t1), "--window", "2m", "--json")
        h.check(r.returncode == 0 and json.loads(r.stdout)["verdict"] == "change",
                "cli why --json %r %r" % (r.stdout, r.stderr)); n += 1

        # 2. a fault on another cell's hosts, no change: nothing to blame
        other = [c for c in CELLS if c not in wave and ZONES[c] != ZONES[wave[0]]][0]
        fleet.sick.update(HOSTS[other])
        time.sleep(4 * SLOW)
        t2 = int(time.time() * 1000)
        b = correlate(s, {"cell": other, "at": t2, "window": "2m"})
        h.check(b["onset"]["found"] and b["verdict"] == "none" and b["blamed"] is None
                and not any(c["blamed"] for c in b["candidates"]),
                "fault without a change: %s" % brief(b)); n += 1
        r = s.cli("why", "--cell", other, "--at", str(t2), "--window", "2m")
        h.check(r.returncode == 0 and "blamed: no change" in r.stdout,
                "cli why none %r %r" % (r.stdout, r.stderr)); n += 1
        fleet.sick.clear()

        # 3. a fault that began before a change reached its cell: vetoed
        st, b = s.api("POST", "/v1/rollouts/%d/abort" % rid)
        h.check(st == 200, "abort %s %s" % (st, b))
        late = [c for c in CELLS if c not in wave and c != other][0]
        fleet.sick.update(HOSTS[late])
        time.sleep(4 * SLOW)
        st, b = s.api("POST", "/v1/configs/cfg/assign", {"version": 3, "cells": [late],
                                                          "force": True, "reason": "late fix"})
        h.check(st == 201, "late assign %s" % b)
        time.sleep(4 * SLOW)
        t3 = int(time.time() * 1000)
        b = correlate(s, {"cell": late, "at": t3, "window": "2m"})
        fix = [c for c in b["candidates"] if c["change"]["to_version"] == 3]
        h.check(b["onset"]["found"] and b["verdict"] == "none" and len(fix) == 1
                and fix[0]["vetoed"] and fix[0]["score"] == 0
                and "VETO" in fix[0]["reasons"][0], "change after the fault: %s" % brief(b)); n += 1
    finally:
        fleet.stop.set()
        fleet.join()

    # the exposure history says which hosts ran which generation
    st, b = s.api("GET", "/v1/changes?config=cfg&cell=%s" % wave[0])
    h.check(st == 200, "changes")

    # 4. bad input
    for body, why in (({}, "no scope"), ({"cell": "c1", "host": "h"}, "two scopes"),
                      ({"cell": "not a name"}, "bad cell"), ({"cell": "c1", "window": "ages"}, "window"),
                      ({"cell": "c1", "window": "1s"}, "short window"),
                      ({"cell": "c1", "metric": "latency"}, "metric"),
                      ({"cell": "c1", "at": "yesterday"}, "at"),
                      ({"cell": "c1", "at": int(time.time() * 1000) + 3600000}, "future"),
                      ({"cell": "c1", "at": 1000}, "older than the history"),
                      ({"cell": "c1", "colour": "red"}, "unknown field"),
                      ({"hosts": "h-c1-0"}, "hosts not an array"), ({"hosts": []}, "no hosts"),
                      ({"hosts": [1]}, "host not a name")):
        st, b = s.api("POST", "/v1/correlate", body)
        h.check(st == 400 and b["error"]["code"] == "bad_request" and b["error"]["message"],
                "%s: %s %s" % (why, st, b)); n += 1
    st, _, b = s.request("POST", "/v1/correlate", b"[1]")
    h.check(st == 400, "not an object %s" % st); n += 1
    st, _, b = s.request("POST", "/v1/correlate",
                         json.dumps({"hosts": ["h%05d" % i for i in range(8000)]}).encode())
    h.check(st == 413, "body limit %s %s" % (st, b[:200])); n += 1
    r = s.cli("why", "--cell", "c1", "--host", "h")
    h.check(r.returncode == 2, "cli two scopes %d" % r.returncode); n += 1
    r = s.cli("why", "--cell", "c1", "--window", "ages")
    h.check(r.returncode == 2 and "window" in r.stderr, "cli bad window %d %r" % (r.returncode, r.stderr)); n += 1

    # a reader may ask
    st, b = s.api("POST", "/v1/tokens", {"name": "rd", "role": "reader"})
    h.check(st == 201, "reader %s" % b)
    st, _, body = s.request("POST", "/v1/correlate", json.dumps({"cell": wave[0], "at": t1,
                                                                 "window": "2m"}).encode(),
                            token=b["token"])
    h.check(st == 200 and json.loads(body)["verdict"] == "change", "reader %s" % st); n += 1


if __name__ == "__main__":
    with h.Server(extra_args=["--tick-ms", "100", "--history-bucket-ms", "1000",
                              "--history-buckets", "900"]) as s:
        scenario(s)
    h.done("correlate", n)
