# SPDX-License-Identifier: MIT
"""What changed, where, when (docs/correlation.md): a publish, a manual
assign, a rollout that completes and one that a bad version rolls back
(the simulated hosts report errors), then GET /v1/changes (filters,
paging, hosts that applied), /v1/annotations, /v1/stats/delivery, the
CLI, a reader token, and a scoped token that sees nothing of another
config. The same scenario runs on PostgreSQL in 07-changes-delivery-pg.py."""
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = ["c1", "c2", "c3"]


class Fleet(threading.Thread):
    """One host per cell reporting its assignment as applied; errors while
    it runs a version in self.bad."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq, self.bad = s, threading.Event(), 0, set()

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/cfg/assignments")
                for a in (b or {}).get("assignments", []) if st == 200 else []:
                    self.seq += 1
                    bad = a["version"] in self.bad
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + a["cell"], "cell": a["cell"], "seq": self.seq,
                        "window_ms": 150,
                        "configs": [{"config": "cfg", "version": a["version"],
                                     "generation": a["generation"], "outcome": "applied",
                                     "lkg_version": a["version"],
                                     "lkg_generation": a["generation"]}],
                        "health": {"requests": 40, "errors": 30 if bad else 0}})
            except OSError:
                pass
            self.stop.wait(0.15)


def wait_state(s, rid, states, timeout=60 * SLOW):
    end = time.time() + timeout
    b = None
    while time.time() < end:
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        if st == 200 and b["state"] in states:
            return b
        time.sleep(0.1)
    h.fail("rollout %d never reached %s: %s" % (rid, states, json.dumps(b)[:1500]))


def scenario(s):
    """The whole test against a started server s (SQLite here; PostgreSQL
    in 07-changes-delivery-pg.py)."""
    global n
    for i, c in enumerate(CELLS):
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z%d" % i})[0] == 201, c)
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    h.check(s.api("POST", "/v1/configs", {"name": "other", "contract": {}})[0] == 201, "other")
    for k in (60, 62, 64):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v", json.dumps(h.features(k)))
        h.check(st == 201, "publish %s" % b)
    s.api("POST", "/v1/configs/other/versions", {"x": 1})
    plan = {"waves": [{"name": "one", "cells": 1, "bake_s": 1, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 10}],
            "gates": {"error_rate": {"max": 0.05, "max_ratio": 2.0}}}
    h.check(s.api("PUT", "/v1/plans/fast", plan)[0] == 201, "plan")
    st, b = s.api("POST", "/v1/configs/cfg/assign", {"version": 1, "cells": CELLS,
                                                      "force": True, "reason": "baseline"})
    h.check(st == 201, "assign %s" % b)
    fleet = Fleet(s)
    fleet.start()
    try:
        st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 2, "plan": "fast",
                                               "reason": "ship v2"})
        h.check(st == 201, "start %s %s" % (st, b))
        good = b["id"]
        wait_state(s, good, ["completed"])
        fleet.bad.add(3)
        st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 3, "plan": "fast",
                                               "reason": "ship v3"})
        h.check(st == 201, "start %s %s" % (st, b))
        bad = b["id"]
        end = wait_state(s, bad, ["rolled_back", "halted"])
        h.check(end["state"] == "rolled_back", "bad rollout: %s" % end["state"]); n += 1
        time.sleep(1.0)  # the hosts report the version they went back to
    finally:
        fleet.stop.set()
        fleet.join()

    # every change, oldest first
    st, b = s.api("GET", "/v1/changes?config=cfg")
    h.check(st == 200 and b["next_after"] is None, "changes %s %s" % (st, b))
    ch = b["changes"]
    kinds = [c["kind"] for c in ch]
    h.check(kinds[:4] == ["publish"] * 3 + ["assign"], "kinds %s" % kinds); n += 1
    h.check("rollout_step" in kinds and "rollback" in kinds, "kinds %s" % kinds); n += 1
    times = [c["time_ms"] for c in ch]
    h.check(times == sorted(times), "ordered"); n += 1
    a = ch[3]
    h.check(a["to_version"] == 1 and "baseline" in a["reason"] and sorted(a["cells"]) == CELLS
            and a["generation"] == 1 and a["actor"], "assign %s" % a); n += 1
    steps = [c for c in ch if c["kind"] == "rollout_step" and c["rollout"]["id"] == good]
    h.check(len(steps) == 3 and steps[0]["from_version"] in (0, 1) and steps[0]["to_version"] == 2
            and steps[0]["rollout"]["step"] == 0 and steps[0]["generation"] == 2
            and steps[0]["reason"] == "ship v2", "steps %s" % steps); n += 1
    # hosts that applied: the last step of the good rollout was superseded by v3's steps;
    # the rollback is the last generation, applied by the hosts of its cells
    rb = [c for c in ch if c["kind"] == "rollback"][-1]
    d = rb["delivery"]
    h.check(d["known"] and d["applied"] == len(rb["cells"]) and d["pending"] == 0
            and all(x["host"] == "h-" + x["cell"] for x in d["hosts"]), "rollback %s" % rb); n += 1
    h.check(rb["from_version"] == 3 and rb["to_version"] == 2, "rollback versions %s" % rb); n += 1
    h.check(ch[0]["delivery"] is None and ch[0]["cells"] == [], "publish %s" % ch[0]); n += 1

    # paging: one change a page, the same list
    got, after = [], None
    for _ in range(100):
        q = "/v1/changes?config=cfg&limit=1" + ("&after=%d" % after if after else "")
        st, b = s.api("GET", q)
        h.check(st == 200, "page %s" % b)
        got += b["changes"]
        after = b["next_after"]
        if after is None:
            break
    h.check([c["seq"] for c in got] == [c["seq"] for c in ch], "paged %s" % got); n += 1
    # filters: a cell, a host, a time window
    st, b = s.api("GET", "/v1/changes?cell=c1")
    h.check(st == 200 and b["changes"] and all("c1" in c["cells"] for c in b["changes"]),
            "cell %s" % b); n += 1
    st, bh = s.api("GET", "/v1/changes?host=h-c1")
    h.check(st == 200 and [c["seq"] for c in bh["changes"]] == [c["seq"] for c in b["changes"]],
            "host %s" % bh); n += 1
    st, b = s.api("GET", "/v1/changes?host=nobody")
    h.check(st == 200 and b["changes"] == [], "unknown host %s" % b); n += 1
    t = steps[0]["time_ms"]
    st, b = s.api("GET", "/v1/changes?config=cfg&from=%d&to=%d" % (t, t))
    h.check(st == 200 and [c["seq"] for c in b["changes"]] == [steps[0]["seq"]], "window %s" % b); n += 1
    st, b = s.api("GET", "/v1/changes?from=yesterday")
    h.check(st == 400, "bad from %s" % st); n += 1

    # annotations for Grafana
    st, b = s.api("GET", "/v1/annotations?config=cfg")
    h.check(st == 200 and isinstance(b, list) and len(b) == len(ch), "annotations %s" % b); n += 1
    h.check(all(set(x) == {"time", "timeEnd", "title", "text", "tags"} for x in b)
            and b[3]["time"] == ch[3]["time_ms"] and "cfg" in b[3]["tags"]
            and "cell:c1" in b[3]["tags"], "annotation %s" % b[3]); n += 1

    # delivery statistics
    st, b = s.api("GET", "/v1/stats/delivery?config=cfg&window=1d")
    h.check(st == 200, "stats %s %s" % (st, b))
    h.check(b["started"] == 2 and b["completed"] == 1 and b["failed"] == 1
            and b["change_failure_rate"] == 0.5 and b["deploys_per_day"] == 1.0, "stats %s" % b); n += 1
    h.check(b["lead_time"]["n"] == 1 and b["time_to_detect"]["n"] == 1
            and b["time_to_restore"]["n"] == 1, "durations %s" % b); n += 1
    # ... and in /metrics, refreshed off the HTTP thread about a second
    # after a rollout ends (the 30-day window)
    end, text = time.time() + 20, ""
    while time.time() < end:
        text = s.request("GET", "/metrics")[2].decode()
        if 'cellgate_delivery_change_failure_ratio{config="cfg"} 0.5' in text:
            break
        time.sleep(0.2)
    h.check('cellgate_delivery_change_failure_ratio{config="cfg"} 0.5' in text
            and 'cellgate_delivery_rollouts_started{config="cfg"} 2' in text
            and "cellgate_delivery_rollouts_started 2" in text
            and 'cellgate_delivery_time_to_detect_seconds{config="cfg",quantile="0.5"}' in text
            and "cellgate_delivery_window_seconds 2592000" in text,
            "delivery in /metrics:\n%s" % "\n".join(l for l in text.splitlines()
                                                  if "delivery" in l)); n += 1
    f = b["failed_changes"]
    h.check(len(f) == 1 and f[0]["rollout"] == bad and f[0]["cells"] >= 1
            and f[0]["hosts"] >= f[0]["cells"], "blast radius %s" % f); n += 1
    st, b = s.api("GET", "/v1/stats/delivery?window=forever")
    h.check(st == 400, "bad window %s" % st); n += 1

    # the CLI
    r = s.cli("changes", "--config", "cfg")
    h.check(r.returncode == 0 and "rollout_step" in r.stdout and "rollback" in r.stdout
            and "baseline" in r.stdout and "2 -> 3" in r.stdout, "cli %r %r" % (r.stdout, r.stderr)); n += 1
    r = s.cli("changes", "--since", "1h", "--cell", "c1", "--json")
    h.check(r.returncode == 0 and json.loads(r.stdout)["changes"], "cli json %r" % r.stdout); n += 1
    r = s.cli("changes", "--since", "soon")
    h.check(r.returncode == 2, "cli bad since %d" % r.returncode); n += 1
    r = s.cli("stats", "delivery", "--config", "cfg", "--window", "1d")
    h.check(r.returncode == 0 and "change failure rate" in r.stdout and "50.0%" in r.stdout
            and "failed: rollout %d" % bad in r.stdout, "cli stats %r %r" % (r.stdout, r.stderr)); n += 1

    # a reader reads; a token scoped to another config sees nothing of cfg
    st, b = s.api("POST", "/v1/tokens", {"name": "rd", "role": "reader"})
    h.check(st == 201, "reader %s" % b)
    st, _, body = s.request("GET", "/v1/changes?config=cfg", token=b["token"])
    h.check(st == 200 and json.loads(body)["changes"], "reader %s" % st); n += 1
    st, b = s.api("POST", "/v1/tokens", {"name": "dp", "role": "deployer", "configs": ["other"]})
    h.check(st == 201, "scoped %s" % b)
    tok = b["token"]
    st, _, body = s.request("GET", "/v1/changes", token=tok)
    seen = {c["config"] for c in json.loads(body)["changes"]}
    h.check(st == 200 and seen == {"other"}, "scoped changes %s" % seen); n += 1
    st, _, body = s.request("GET", "/v1/annotations?config=cfg", token=tok)
    h.check(st == 200 and json.loads(body) == [], "scoped annotations %s" % body); n += 1
    st, _, body = s.request("GET", "/v1/stats/delivery?config=cfg", token=tok)
    h.check(st == 200 and json.loads(body)["started"] == 0, "scoped stats %s" % body); n += 1

if __name__ == "__main__":
    with h.Server(extra_args=["--tick-ms", "100"]) as s:
        scenario(s)
    h.done("changes-delivery", n)
