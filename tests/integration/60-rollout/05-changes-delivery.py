# SPDX-License-Identifier: MIT
"""What changed, where, when (docs/correlation.md): a publish, a manual
assign, a rollout that completes and one that a bad version rolls back
(the simulated hosts report errors), then GET /v1/changes (filters,
paging, hosts that applied, also of older changes from the exposure
history), /v1/annotations, /v1/stats/delivery (blast radius: the hosts
that ran the bad version; time to restore: until every one of them is
back), /metrics, the CLI; then a canary (host-level) step, a rollout held
by a deny window and waiting for an approval (the waits, end to end), a
flag kill switch; a reader token, and a scoped token that sees nothing of
another config. The same scenario runs on PostgreSQL in
07-changes-delivery-pg.py."""
import calendar, json, os, shutil, subprocess, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "35-flags"))
import harness as h
import flagkit

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = ["c1", "c2", "c3"]
# per cell: a sticky host (once it runs a bad version it keeps it until
# released: a host slow to come back), a lagging one (never applies a bad
# version: in an exposed cell, but it never ran it) and a plain one. Only
# the sticky host's errors show a bad version, so it has run it before
# the rollout is rolled back.
KINDS = ["s", "l", "h"]
HOSTS = [(k + "-" + c, c) for c in CELLS for k in KINDS]


def ms_of(t):
    """Milliseconds of an RFC 3339 time as the API writes it."""
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(t[20:23])


class Fleet(threading.Thread):
    """Hosts (HOSTS) polling their desired state and reporting every config
    in it as applied; a sticky host reports errors while it runs a version
    in self.bad ((config, version) pairs)."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq, self.bad = s, threading.Event(), 0, set()
        self.release = threading.Event()
        self.ran_bad = set()  # hosts that reported a bad version
        self.runs = {}  # host -> {config: (version, generation)}

    def one(self, host, cell):
        st, _, data = self.s.request("GET", "/v1/agent/desired?cell=%s&host=%s" % (cell, host))
        if st != 200:
            return
        runs = self.runs.setdefault(host, {})
        for a in json.loads(data).get("assignments", []):
            c, want = a["config"], (a["version"], a["generation"])
            cur = runs.get(c)
            if host[0] == "l" and (c, want[0]) in self.bad:
                continue  # the lagging host never applies a bad version
            if (host[0] == "s" and cur and (c, cur[0]) in self.bad and
                    not self.release.is_set()):
                continue  # the sticky host keeps it until released
            runs[c] = want
        bad = any((c, v) in self.bad for c, (v, _) in runs.items())
        if bad:
            self.ran_bad.add(host)
        self.seq += 1
        self.s.api("POST", "/v1/agent/report", {
            "host": host, "cell": cell, "seq": self.seq, "window_ms": 150,
            "configs": [{"config": c, "version": v, "generation": g, "outcome": "applied",
                         "lkg_version": v, "lkg_generation": g}
                        for c, (v, g) in sorted(runs.items())],
            "health": {"requests": 40, "errors": 30 if bad and host[0] == "s" else 0}})

    def run(self):
        while not self.stop.is_set():
            try:
                for host, cell in HOSTS:
                    self.one(host, cell)
            except OSError:
                pass
            self.stop.wait(0.15)


def delivery_lines(text):
    return "\n".join(l for l in text.splitlines() if "delivery" in l)


def metrics_until(s, line, timeout=20):
    """/metrics once it has line (the delivery thread refreshes it about a
    second after a rollout moves, every 5 s while a restore goes on)."""
    end, text = time.time() + timeout * SLOW, ""
    while time.time() < end:
        text = s.request("GET", "/metrics")[2].decode()
        if line in text:
            break
        time.sleep(0.2)
    return text


def wait_state(s, rid, states, timeout=60 * SLOW):
    end = time.time() + timeout
    b = None
    while time.time() < end:
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        if st == 200 and b["state"] in states:
            return b
        time.sleep(0.1)
    h.fail("rollout %d never reached %s: %s" % (rid, states, json.dumps(b)[:1500]))


def settle(fleet, config, version):
    """Until every host runs version of config (and has reported it)."""
    end = time.time() + 20 * SLOW
    while time.time() < end:
        if all(fleet.runs.get(x, {}).get(config, (0, 0))[0] == version for x, _ in HOSTS):
            time.sleep(0.5)  # its report is in
            return
        time.sleep(0.1)
    h.fail("the hosts never ran %s v%d: %s" % (config, version, fleet.runs))


def rfc3339(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))


def kinds_and_waits(s, fleet):
    """A canary (host-level) step and a kill switch in /v1/changes, and a
    rollout held by a deny window and waiting for an approval: its waits
    in /v1/stats/delivery and /metrics."""
    global n
    h.check(s.api("POST", "/v1/configs", {"name": "app", "contract": {}})[0] == 201, "app")
    for k in (1, 2):
        h.check(s.api("POST", "/v1/configs/app/versions", {"k": k})[0] == 201, "app v%d" % k)
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": CELLS,
                                                      "force": True, "reason": "app baseline"})
    h.check(st == 201, "app assign %s" % b)
    settle(fleet, "app", 1)
    # the next 3 s are a deny window; the canary is one host; the rest
    # waits for an approval
    now = int(time.time() * 1000)
    plan = {"waves": [{"name": "onebox", "cells": 1, "hosts": 1, "bake_s": 1, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 10,
                       "approval": True}],
            "deny": [{"from": rfc3339(now - 60000), "to": rfc3339(now + 4000),
                      "reason": "a short freeze"}],
            "gates": {"error_rate": {"max": 0.05}}}
    h.check(s.api("PUT", "/v1/plans/gated", plan)[0] == 201, "plan gated")
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2, "plan": "gated",
                                           "reason": "ship app v2"})
    h.check(st == 201, "app rollout %s %s" % (st, b))
    rid = b["id"]
    r = wait_state(s, rid, ["waiting_approval"])
    time.sleep(1.5)
    st, b = s.api("POST", "/v1/tokens", {"name": "ap", "role": "approver"})
    h.check(st == 201, "approver %s" % b)
    st, b = s.api("POST", "/v1/rollouts/%d/approve" % rid, {"reason": "fine"}, token=b["token"])
    h.check(st == 200, "approve %s %s" % (st, b))
    r = wait_state(s, rid, ["completed"])
    ev = {e["kind"]: ms_of(e["time"]) for e in reversed(r["events"])}  # the first of each
    h.check("held" in ev and "approval.wait" in ev, "events %s" % [e["kind"] for e in r["events"]])
    time.sleep(1.0)  # the hosts apply the last step

    # the canary step: one host, which applied it
    st, b = s.api("GET", "/v1/changes?config=app")
    can = [c for c in b["changes"] if c["kind"] == "canary"]
    h.check(st == 200 and len(can) == 1 and len(can[0]["hosts"]) == 1
            and can[0]["rollout"]["id"] == rid and can[0]["reason"] == "ship app v2"
            and can[0]["cells"] == [can[0]["hosts"][0]["cell"]], "canary change %s" % b); n += 1
    d = can[0]["delivery"]
    h.check(d["known"] and d["applied"] == 1 and d["pending"] == 0
            and d["hosts"][0]["host"] == can[0]["hosts"][0]["host"], "canary delivery %s" % d); n += 1
    st, b = s.api("GET", "/v1/changes?host=%s&config=app" % can[0]["hosts"][0]["host"])
    h.check(st == 200 and "canary" in [c["kind"] for c in b["changes"]], "by host %s" % b); n += 1

    # the waits, from the rollout's events
    st, b = s.api("GET", "/v1/stats/delivery?config=app&window=1d")
    aw, dw = b["approval_wait"], b["deny_window_wait"]
    h.check(st == 200 and b["completed"] == 1 and aw["n"] == 1 and dw["n"] == 1
            and aw["median_s"] >= 1.4 and dw["median_s"] >= 1.0
            and b["approval_wait_total_s"] == aw["median_s"]
            and b["deny_window_wait_total_s"] == dw["median_s"], "waits %s" % b); n += 1
    text = metrics_until(s, 'cellgate_delivery_approval_wait_seconds{config="app",quantile="0.5"}')
    h.check('cellgate_delivery_approval_wait_seconds{config="app",quantile="0.5"} %.6g'
            % aw["median_s"] in text and
            'cellgate_delivery_deny_window_wait_seconds{config="app",quantile="0.9"} %.6g'
            % dw["p90_s"] in text, "waits in /metrics:\n%s" % delivery_lines(text)); n += 1
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                           capture_output=True, timeout=60)
        h.check(r.returncode == 0, "promtool: %s %s" % (r.stdout, r.stderr)); n += 1

    # a flag kill switch: every cell at once, applied by every host
    st, b = s.api("POST", "/v1/configs", {"name": "flags", "kind": "flags",
                                          "contract": {"max_bytes": 65536}})
    h.check(st == 201, "flags config %s" % b)
    v = flagkit.publish(s, "flags", flagkit.flag_doc())
    st, b = s.api("POST", "/v1/configs/flags/assign", {"version": v, "cells": CELLS,
                                                        "force": True, "reason": "flags"})
    h.check(st == 201, "flags assign %s" % b)
    st, b = s.api("POST", "/v1/configs/flags/flags/new-checkout/kill",
                  {"reason": "checkout errors"})
    h.check(st in (200, 201), "kill %s %s" % (st, b))
    end, k = time.time() + 20 * SLOW, []
    while time.time() < end:
        st, b = s.api("GET", "/v1/changes?config=flags")
        k = [c for c in b["changes"] if c["kind"] == "kill_switch"]
        if k and k[0]["delivery"]["applied"] == len(HOSTS):
            break
        time.sleep(0.2)
    h.check(len(k) == 1 and sorted(k[0]["cells"]) == CELLS and k[0]["to_version"] == v + 1
            and k[0]["generation"]
            and "checkout errors" in k[0]["reason"] and k[0]["rollout"]["state"] == "completed",
            "kill switch change %s" % k); n += 1
    h.check(k[0]["delivery"]["applied"] == len(HOSTS) and k[0]["delivery"]["pending"] == 0,
            "kill switch delivery %s" % k[0]["delivery"]); n += 1


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
    settle(fleet, "cfg", 1)
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 2, "plan": "fast",
                                           "reason": "ship v2"})
    h.check(st == 201, "start %s %s" % (st, b))
    good = b["id"]
    wait_state(s, good, ["completed"])
    fleet.bad.add(("cfg", 3))
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 3, "plan": "fast",
                                           "reason": "ship v3"})
    h.check(st == 201, "start %s %s" % (st, b))
    bad = b["id"]
    end = wait_state(s, bad, ["rolled_back", "halted"])
    h.check(end["state"] == "rolled_back", "bad rollout: %s" % end["state"]); n += 1
    ended = ms_of(end["ended_at"])
    # the sticky hosts that ran v3 still run it: the restore goes on
    stuck = sorted(x for x in fleet.ran_bad if x[0] == "s")
    h.check(stuck and not any(x[0] == "l" for x in fleet.ran_bad),
            "hosts that ran v3: %s" % sorted(fleet.ran_bad))
    end_t = time.time() + 10 * SLOW
    while time.time() < end_t:  # until the plain hosts are back (the sticky ones wait)
        st, b = s.api("GET", "/v1/stats/delivery?config=cfg&window=1d")
        f = b["failed_changes"]
        if st != 200 or len(f) != 1 or f[0]["hosts_not_back"] <= len(stuck):
            break
        time.sleep(0.1)
    h.check(st == 200 and b["time_to_restore"]["n"] == 0 and b["restore"]["restoring"] == 1
            and len(f) == 1 and f[0]["restoring"] and f[0]["restored"] is None
            and f[0]["hosts_not_back"] == len(stuck),
            "restoring while %s run v3: %s" % (stuck, b)); n += 1
    # blast radius: the hosts that ran it, not every host of its cells
    h.check(f[0]["cells"] >= 1 and f[0]["hosts"] == len(fleet.ran_bad)
            and f[0]["hosts"] < 3 * f[0]["cells"], "blast radius %s, ran v3: %s"
            % (f, sorted(fleet.ran_bad))); n += 1
    text = metrics_until(s, 'cellgate_delivery_restoring{config="cfg"} 1')
    h.check('cellgate_delivery_restoring{config="cfg"} 1' in text
            and 'cellgate_delivery_blast_radius_hosts{config="cfg",stat="max"} %d'
            % len(fleet.ran_bad) in text, "restoring in /metrics:\n%s" % delivery_lines(text)); n += 1
    time.sleep(2.0)
    released = int(time.time() * 1000)
    fleet.release.set()
    end_t, b = time.time() + 30 * SLOW, None
    while time.time() < end_t:
        st, b = s.api("GET", "/v1/stats/delivery?config=cfg&window=1d")
        if st == 200 and b["time_to_restore"]["n"] == 1:
            break
        time.sleep(0.2)
    f = b["failed_changes"]
    detected = ms_of(f[0]["detected"])
    restored = ms_of(f[0]["restored"] or "1970-01-01T00:00:00.000Z")
    # time to restore runs to the last host back, after the rollout's end
    h.check(b["time_to_restore"]["n"] == 1 and b["restore"]["restoring"] == 0
            and f[0]["hosts_not_back"] == 0 and not f[0]["restoring"]
            and restored >= released - 1000 and restored > ended
            and abs(b["time_to_restore"]["median_s"] * 1000 - (restored - detected)) < 2,
            "restored (released %d, ended %d): %s" % (released, ended, b)); n += 1
    text = metrics_until(s, 'cellgate_delivery_restoring{config="cfg"} 0')
    h.check('cellgate_delivery_restoring{config="cfg"} 0' in text
            and 'cellgate_delivery_time_to_restore_seconds{config="cfg",quantile="0.5"}' in text,
            "restored in /metrics:\n%s" % delivery_lines(text)); n += 1
    time.sleep(1.0)  # every host reports the version it went back to

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
    # hosts that applied, from the exposure history: every host applied the
    # baseline and each step of v2, and has moved on from the baseline; the
    # v2 step whose cells v3 reached lists its hosts although they moved on
    d = a["delivery"]
    h.check(d["known"] and d["applied"] == 9 and d["superseded"] == 9 and d["current"] == 0
            and len(d["hosts"]) == 9 and all(x["until"] for x in d["hosts"]), "assign %s" % a); n += 1
    h.check(all(c["delivery"]["applied"] == 3 * len(c["cells"]) and
                len(c["delivery"]["hosts"]) == 3 * len(c["cells"]) and
                all(x["applied"] and x["cell"] in c["cells"] for x in c["delivery"]["hosts"])
                for c in steps) and any(c["delivery"]["superseded"] > 0 for c in steps),
            "v2 steps %s" % [c["delivery"] for c in steps]); n += 1
    # the v3 steps: applied by the hosts that ran v3; the lagging host of
    # each cell skipped it (it applied the rollback); none pending
    bsteps = [c for c in ch if c["kind"] == "rollout_step" and c["rollout"]["id"] == bad]
    got = {x["host"] for c in bsteps for x in c["delivery"]["hosts"]}
    h.check(bsteps and got == fleet.ran_bad and
            sum(c["delivery"]["applied"] for c in bsteps) == len(fleet.ran_bad) and
            sum(c["delivery"]["skipped"] for c in bsteps) == sum(len(c["cells"]) for c in bsteps)
            and all(c["delivery"]["pending"] == 0 and c["delivery"]["current"] == 0
                    for c in bsteps), "v3 steps %s, ran v3 %s" % (bsteps, fleet.ran_bad)); n += 1
    # the rollback is the last generation, applied by every host of its cells
    rb = [c for c in ch if c["kind"] == "rollback"][-1]
    d = rb["delivery"]
    h.check(d["known"] and d["applied"] == 3 * len(rb["cells"]) and d["pending"] == 0
            and d["current"] == d["applied"]
            and all(x["host"][2:] == x["cell"] and x["until"] is None for x in d["hosts"]),
            "rollback %s" % rb); n += 1
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
            and f[0]["hosts"] == len(fleet.ran_bad), "blast radius %s" % f); n += 1
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
            and "failed: rollout %d" % bad in r.stdout
            and "%d hosts ran it, 0 not back\n" % len(fleet.ran_bad) in r.stdout
            and "0 going on, 0 hosts never back" in r.stdout,
            "cli stats %r %r" % (r.stdout, r.stderr)); n += 1

    kinds_and_waits(s, fleet)
    fleet.stop.set()
    fleet.join()

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
