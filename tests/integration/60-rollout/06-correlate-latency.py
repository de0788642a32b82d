# SPDX-License-Identifier: MIT
"""Correlation on latency (docs/correlation.md "Latency"): a server that
keeps each host's share of slow requests (--history-slow-ms 500, rounded up
to the histogram's 512 ms edge) and a simulated fleet of three hosts in each
of four cells reporting through /v1/agent/report with a latency histogram
and no errors at all. A rollout whose new version makes 30% of requests
slow: POST /v1/correlate with "metric": "latency" and `cellgate why
--metric latency` blame its step; the same question on errors finds no
onset and blames nothing. A fault that is only latency, with no change,
on another cell: nothing is blamed. (A server without --history-slow-ms
refuses metric latency: 06-correlate.py.)"""
import json, os, re, sys, threading, time, urllib.parse
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = ["c1", "c2", "c3", "c4"]
ZONES = {"c1": "za", "c2": "za", "c3": "zb", "c4": "zb"}
HOSTS = {c: ["h-%s-%d" % (c, i) for i in range(3)] for c in CELLS}
FAST = [0] * 23
FAST[4] = 100                   # <= 4 ms
SLOWH = [0] * 23
SLOWH[4], SLOWH[12] = 70, 30    # 30 of 100 <= 1024 ms, above the 512 ms edge


class Fleet(threading.Thread):
    """Every host reports its cell's assignment as applied, 100 requests
    and 100 latency observations a report, never an error; 30 of them slow
    while it runs a version in self.bad or is in self.sick."""

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
                        slow = a["version"] in self.bad or host in self.sick
                        self.s.api("POST", "/v1/agent/report", {
                            "host": host, "cell": a["cell"], "seq": self.seq, "window_ms": 200,
                            "configs": [{"config": "cfg", "version": a["version"],
                                         "generation": a["generation"], "outcome": "applied",
                                         "lkg_version": a["version"],
                                         "lkg_generation": a["generation"]}],
                            "health": {"requests": 100, "errors": 0,
                                       "latency_ms": {"buckets": SLOWH if slow else FAST}}})
            except OSError:
                pass
            self.stop.wait(0.2)


def correlate(s, body):
    st, b = s.api("POST", "/v1/correlate", body)
    h.check(st == 200, "correlate %s: %s %s" % (body, st, json.dumps(b)[:2000]))
    return b


def login(s):
    st, hd, _ = s.request("POST", "/ui/login", body=urllib.parse.urlencode({"token": s.admin_token}),
                          token=None,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    m = re.match(r"cg_session=([^;]*)", hd.get("set-cookie", ""))
    h.check(st == 303 and m, "login %s" % st)
    return m.group(1)


def ui(s, cookie, path):
    st, _, body = s.request("GET", path, token=None, headers={"Cookie": "cg_session=" + cookie})
    return st, body.decode("utf-8", "replace")


def brief(b):
    return json.dumps({"metric": b["metric"], "onset": b["onset"], "verdict": b["verdict"],
                       "candidates": [{k: c[k] for k in ("score", "blamed", "vetoed", "reasons")}
                                      for c in b["candidates"]]}, indent=1)[:4000]


def scenario(s):
    global n
    for c in CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": ZONES[c]})[0] == 201, c)
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "contract": {}})[0] == 201, "config")
    for k in (1, 2):
        h.check(s.api("POST", "/v1/configs/cfg/versions", {"v": k})[0] == 201, "publish %d" % k)
    # no latency gate: the rollout must not stop itself before the question
    plan = {"waves": [{"name": "one", "cells": 1, "bake_s": 600, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 10}]}
    h.check(s.api("PUT", "/v1/plans/slow", plan)[0] == 201, "plan")
    st, b = s.api("POST", "/v1/configs/cfg/assign", {"version": 1, "cells": CELLS,
                                                      "force": True, "reason": "baseline"})
    h.check(st == 201, "assign %s" % b)
    fleet = Fleet(s)
    fleet.bad.add(2)
    fleet.start()
    try:
        time.sleep(4 * SLOW)  # a healthy past
        st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 2, "plan": "slow",
                                               "reason": "ship v2"})
        h.check(st == 201, "start %s %s" % (st, b))
        step, end = None, time.time() + 30 * SLOW
        while time.time() < end and not step:
            st, b = s.api("GET", "/v1/changes?config=cfg")
            steps = [c for c in b["changes"] if c["kind"] == "rollout_step"]
            step = steps[0] if steps else None
            time.sleep(0.2)
        h.check(step is not None, "no rollout step")
        wave = step["cells"]
        time.sleep(4 * SLOW)
        t1 = int(time.time() * 1000)
        b = correlate(s, {"cell": wave[0], "at": t1, "window": "2m", "metric": "latency"})
        h.check(b["metric"] == "latency" and b["slow_ms"] == 512 and b["onset"]["found"]
                and b["verdict"] == "change" and b["blamed"]["seq"] == step["seq"]
                and b["scope"]["faulty"] == 3, "slow change not blamed:\n%s" % brief(b)); n += 1
        h.check(0.25 <= b["onset"]["after_rate"] <= 0.35 and b["onset"]["before_rate"] < 0.01,
                "slow shares %s" % b["onset"]); n += 1
        b = correlate(s, {"cell": wave[0], "at": t1, "window": "2m"})
        h.check(b["metric"] == "errors" and not b["onset"]["found"] and b["verdict"] == "none"
                and "no onset: the error rate" in b["candidates"][0]["reasons"][0],
                "errors metric saw a fault:\n%s" % brief(b)); n += 1
        r = s.cli("why", "--cell", wave[0], "--at", str(t1), "--window", "2m",
                  "--metric", "latency")
        h.check(r.returncode == 0 and "blamed: cfg rollout_step v2" in r.stdout,
                "cli why --metric latency %r %r" % (r.stdout, r.stderr)); n += 1
        # the dashboard's why page: the metric in the form, the same answers
        cookie = login(s)
        at = urllib.parse.quote(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t1 / 1000)))
        page = "/ui/why?cell=%s&at=%s&window=2m" % (wave[0], at)
        st, body = ui(s, cookie, page + "&metric=latency")
        h.check(st == 200 and 'data-verdict="change"' in body
                and '<option value="latency" selected>' in body
                and "share of slow requests" in body, "ui why latency %s %s" % (st, body[-2000:])); n += 1
        st, body = ui(s, cookie, page)
        h.check(st == 200 and 'data-verdict="none"' in body and "error rate" in body,
                "ui why errors %s %s" % (st, body[-2000:])); n += 1
        st, body = ui(s, cookie, page + "&metric=p99")
        h.check(st == 400, "ui why bad metric %s" % st); n += 1

        # a latency fault with no change, on a cell the rollout did not reach
        other = [c for c in CELLS if c not in wave and ZONES[c] != ZONES[wave[0]]][0]
        fleet.sick.update(HOSTS[other])
        time.sleep(4 * SLOW)
        t2 = int(time.time() * 1000)
        b = correlate(s, {"cell": other, "at": t2, "window": "2m", "metric": "latency"})
        h.check(b["onset"]["found"] and b["verdict"] == "none"
                and not any(c["blamed"] for c in b["candidates"]),
                "latency fault without a change: %s" % brief(b)); n += 1
    finally:
        fleet.stop.set()
        fleet.join()
    st, b = s.api("POST", "/v1/correlate", {"cell": "c1", "metric": "p99"})
    h.check(st == 400 and "latency" in b["error"]["message"], "bad metric %s %s" % (st, b)); n += 1


if __name__ == "__main__":
    with h.Server(extra_args=["--tick-ms", "100", "--history-bucket-ms", "1000",
                              "--history-buckets", "900", "--history-slow-ms", "500"]) as s:
        scenario(s)
    h.done("correlate-latency", n)
