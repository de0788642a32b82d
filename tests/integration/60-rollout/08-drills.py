# SPDX-License-Identifier: MIT
"""Change drills against a real server (docs/drills.md): every scenario
through the API and the CLI, the drill.run audit records, the history, the
/metrics families, a plan that would fail a drill caught by `plan check`
(and stored nowhere), a schedule that runs and survives a restart, bad input
answered 400/403/404/409, and production left exactly as it was: the same
assignments, generations, versions and rollouts (I2, I4, I5 rehearsed on a
scratch store)."""
import json, os, shutil, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def ok(cond, msg):
    global n
    h.check(cond, msg)
    n += 1


SANE = {"waves": [
    {"name": "canary", "cells": 1, "bake_s": 900, "min_requests": 5000},
    {"name": "zone", "percent": 10, "bake_s": 900, "min_requests": 10000},
    {"name": "half", "percent": 50, "bake_s": 900, "min_requests": 20000},
    {"name": "rest", "percent": 100, "bake_s": 600}],
    "gates": {"error_rate": {"max": 0.02, "max_ratio": 2, "min_delta": 0.002}},
    "stuck_timeout_s": 3600, "on_stuck": "halt", "on_gate_failure": "rollback"}
# six cells at once over two zones of a region: a bad version reaches both
TWO_ZONES = {"waves": [
    {"name": "canary", "cells": 6, "bake_s": 900, "min_requests": 5000},
    {"name": "rest", "percent": 100, "bake_s": 600}],
    "max_zones_per_region": 2,
    "gates": {"error_rate": {"max": 0.02, "max_ratio": 2, "min_delta": 0.002}},
    "stuck_timeout_s": 3600, "on_gate_failure": "rollback"}
FLAGS = {"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": True, "off": False},
                                    "defaultVariant": "on"}}}


def production(s):
    """What a drill must never change."""
    out = {}
    for cfg in ("app", "ff"):
        st, b = s.api("GET", "/v1/configs/%s" % cfg)
        out[cfg] = (b.get("generation"), b.get("latest_version"), b.get("live_version"))
        st, b = s.api("GET", "/v1/configs/%s/assignments" % cfg)
        out[cfg + "/assign"] = json.dumps(b, sort_keys=True)
        st, b = s.api("GET", "/v1/configs/%s/versions" % cfg)
        out[cfg + "/versions"] = json.dumps(b, sort_keys=True)
    st, b = s.api("GET", "/v1/rollouts")
    out["rollouts"] = json.dumps(b, sort_keys=True)
    st, b = s.api("GET", "/v1/plans")
    out["plans"] = json.dumps(b, sort_keys=True)
    return out


def drill(s, cfg, scenario, **kw):
    body = {"scenario": scenario}
    body.update(kw)
    return s.api("POST", "/v1/configs/%s/drills" % cfg, body)


def metrics(s):
    st, _, b = s.request("GET", "/metrics")
    return b.decode()


tmp = tempfile.mkdtemp(prefix="cgdrill.")
with h.Server(extra_args=["--tick-ms", "50", "--drill-poll", "200"]) as s:
    cells = []
    for r in range(3):
        for z in range(3):
            for k in range(4):
                c = "r%d-z%d-c%d" % (r, z, k)
                st, b = s.api("POST", "/v1/cells", {"id": c, "region": "reg%d" % r,
                                                    "zone": "reg%d-z%d" % (r, z)})
                h.check(st == 201, "cell %s %s" % (st, b))
                cells.append(c)
    s.api("PUT", "/v1/plans/p", SANE)
    st, b = s.api("POST", "/v1/configs", {"name": "app", "plan": "p", "contract": {
        "schema": {"type": "object", "required": ["v"]}}})
    h.check(st == 201, "config %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs/app/versions", {"v": 1})
    h.check(st == 201, "publish %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": cells, "force": True})
    h.check(st == 201, "assign %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs", {"name": "ff", "kind": "flags", "plan": "p",
                                          "contract": {"max_bytes": 65536}})
    h.check(st == 201, "flags config %s %s" % (st, b))
    st, _, b = s.request("POST", "/v1/configs/ff/versions", json.dumps(FLAGS))
    h.check(st == 201, "publish flags %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs", {"name": "empty", "plan": "p", "contract": {}})
    # three hosts report in one cell: the drill simulates them, and one host
    # in every other cell
    for i in range(3):
        st, b = s.api("POST", "/v1/agent/report", {"host": "h%d" % i, "cell": "r0-z0-c0", "seq": 1,
                                                   "window_ms": 10000, "configs": [],
                                                   "health": {"requests": 10, "errors": 0}})
        h.check(st == 204, "report %s %s" % (st, b))
    before = production(s)

    # every scenario through the API
    want = {"known-bad": "passed", "rollback-path": "passed", "stuck-wave": "passed",
            "invalid-document": "passed", "flag-flip": "skipped"}
    first = {}
    for sc, outcome in want.items():
        st, b = drill(s, "app", sc)
        first[sc] = b["drills"][0] if st == 200 else {}
        ok(st == 200 and b["outcome"] != "failed" and len(b["drills"]) == 1 and
           b["drills"][0]["scenario"] == sc and b["drills"][0]["outcome"] == outcome,
           "drill %s: %s %s" % (sc, st, b))
    st, b = drill(s, "ff", "flag-flip")
    d = b["drills"][0] if st == 200 else {}
    ok(st == 200 and d.get("outcome") == "passed", "flag-flip on flags: %s %s" % (st, b))
    st, b = drill(s, "app", "known-bad")
    fig = b["drills"][0]["figures"]
    again = dict(fig, real_ms=0)
    ok(again == dict(first["known-bad"]["figures"], real_ms=0) and
       b["drills"][0]["expectations"] == first["known-bad"]["expectations"],
       "reproducible: %s %s" % (fig, first["known-bad"]["figures"]))
    ok(fig["blast_cells"] == 1 and fig["detection_s"] >= fig["bad_onset_s"],
       "known-bad figures: %s" % fig)
    ok(fig["cells"] == 36 and fig["hosts"] == 35 + 3, "the fleet copied: %s" % fig)

    # and through the CLI
    r = s.cli("drill", "run", "app", "--scenario", "rollback-path")
    ok(r.returncode == 0 and "rollback-path" in r.stdout and "passed" in r.stdout,
       "cli drill run: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    r = s.cli("--json", "drill", "run", "app")
    body = json.loads(r.stdout) if r.returncode == 0 else {}
    ok(r.returncode == 0 and len(body.get("drills", [])) == 5, "cli drill run all: %d %s %s" % (
        r.returncode, r.stdout[:300], r.stderr))
    r = s.cli("drill", "status", "app")
    ok(r.returncode == 0 and "known-bad" in r.stdout and "passed" in r.stdout,
       "cli drill status: %d %s %s" % (r.returncode, r.stdout, r.stderr))

    # history: every recorded run, newest first
    st, b = s.api("GET", "/v1/configs/app/drills?limit=100")
    ids = [x["id"] for x in b["drills"]]
    ok(st == 200 and len(ids) == 5 + 1 + 1 + 5 and ids == sorted(ids, reverse=True),
       "history: %s %s" % (st, ids))
    ok(b["next_after"] is None, "one page: %s" % b["next_after"])
    st, b = s.api("GET", "/v1/configs/app/drills?limit=5")
    got = [x["id"] for x in b["drills"]]
    while b["next_after"] is not None:
        st, b = s.api("GET", "/v1/configs/app/drills?limit=5&after=%d" % b["next_after"])
        got += [x["id"] for x in b["drills"]]
    ok(got == ids, "pages: %s %s" % (got, ids))
    st, b = s.api("GET", "/v1/drills")
    ok(st == 200 and {x["config"] for x in b["drills"]} == {"app", "ff"}, "all history %s" % st)
    st, b = s.api("GET", "/v1/drills?after=x")
    ok(st == 400, "bad cursor %s" % st)

    # one audit record per drill
    st, b = s.api("GET", "/v1/audit?limit=1000")
    runs = [x for x in b["records"] if x["action"] == "drill.run"]
    ok(len(runs) == 13 and all(x["object"] in ("config/app", "config/ff") for x in runs),
       "audit drill.run: %d" % len(runs))

    # /metrics
    m = metrics(s)
    ok('cellgate_drill_last_success_timestamp_seconds{config="app",scenario="known-bad"}' in m
       and 'cellgate_drill_runs_total{outcome="passed"}' in m and
       'cellgate_drill_runs_total{outcome="skipped"}' in m, "metrics")

    # plan check: a plan whose first wave spans two zones fails known-bad,
    # and neither the plan nor the run is stored
    pf = h.write(tmp, "two-zones.json", TWO_ZONES)
    r = s.cli("plan", "check", pf, "--config", "app", "--scenario", "known-bad")
    ok(r.returncode == 1 and "spans zones" in r.stdout and "FAILED" in r.stdout and
       "expects: a version that raises errors" in r.stdout,
       "plan check bad plan: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    pf = h.write(tmp, "sane.json", SANE)
    r = s.cli("plan", "check", pf, "--config", "app")
    ok(r.returncode == 0, "plan check sane plan: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    st, b = s.api("GET", "/v1/configs/app/drills?limit=100")
    ok(len(b["drills"]) == 12, "plan check records nothing: %d" % len(b["drills"]))

    # bad input
    for body, want_st in [({"scenario": "nope"}, 400), ({"scenario": 3}, 400),
                          ({"scenario": "all", "extra": 1}, 400),
                          ({"scenario": "all", "plan_body": [1]}, 400),
                          ({"scenario": "all", "plan_body": {"waves": []}}, 400),
                          ({"scenario": "all", "plan": "nope"}, 404)]:
        st, b = s.api("POST", "/v1/configs/app/drills", body)
        ok(st == want_st, "bad input %s: %s %s" % (body, st, b))
    st, b = drill(s, "ghost", "all")
    ok(st == 404, "unknown config %s" % st)
    st, b = drill(s, "empty", "all")
    ok(st == 409 and "no version" in b["error"]["message"], "no version %s %s" % (st, b))
    st, _, b = s.request("POST", "/v1/configs/app/drills", "not json")
    ok(st == 400, "not json %s" % st)
    st, tok = s.api("POST", "/v1/tokens", {"name": "rd", "role": "reader"})
    st, b = s.api("POST", "/v1/configs/app/drills", {"scenario": "all"}, token=tok["token"])
    ok(st == 403, "reader may not drill %s" % st)
    st, b = s.api("GET", "/v1/configs/app/drills", token=tok["token"])
    ok(st == 200, "reader may read drills %s" % st)
    st, b = s.api("PUT", "/v1/configs/app/drills/schedule", {"every_s": 5})
    ok(st == 400, "schedule too often %s %s" % (st, b))
    r = s.cli("drill", "schedule", "app", "--every", "soon")
    ok(r.returncode == 2, "cli bad --every %d" % r.returncode)

    # production is untouched by all of it
    after = production(s)
    for k in before:
        ok(before[k] == after[k], "production changed: %s\n%s\n%s" % (k, before[k], after[k]))

    ok(not any(x.startswith("cellgate-drill-") for x in os.listdir(s.data_dir)),
       "scratch stores removed: %s" % os.listdir(s.data_dir))

    # --plan P: a stored plan other than the config's default, here one
    # that rolls a stuck wave back instead of halting it
    st, b = s.api("PUT", "/v1/plans/p-rollback", dict(SANE, on_stuck="rollback"))
    ok(st in (200, 201), "alternative plan %s %s" % (st, b))
    r = s.cli("drill", "run", "app", "--plan", "p-rollback", "--scenario", "stuck-wave")
    ok(r.returncode == 0 and "(plan p-rollback)" in r.stdout and "stuck-wave" in r.stdout and
       "passed" in r.stdout, "cli drill run --plan: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    st, b = s.api("GET", "/v1/configs/app/drills?limit=1")
    d = b["drills"][0]
    onstuck = [x for x in d["detail"].get("expectations", []) if x["name"] == "on_stuck"]
    ok(d["plan"] == "p-rollback" and d["scenario"] == "stuck-wave" and d["outcome"] == "passed"
       and onstuck and onstuck[0]["ok"] and "rolled_back (on_stuck rollback)" in onstuck[0]["why"],
       "recorded with the plan it ran: %s" % d)
    r = s.cli("drill", "run", "app", "--plan", "nope", "--scenario", "stuck-wave")
    ok(r.returncode != 0 and "nope" in r.stderr, "cli --plan unknown: %d %s" % (r.returncode,
                                                                            r.stderr))

    # a rollback path that fails: the plan's error gate (max 0.1 %) fails
    # the good version (0.2 %), so it never completes; the drill says so
    STRICT = json.loads(json.dumps(SANE))
    STRICT["gates"]["error_rate"]["max"] = 0.001
    s.api("PUT", "/v1/plans/strict", STRICT)
    s.api("POST", "/v1/configs", {"name": "never", "plan": "strict", "contract": {}})
    s.api("POST", "/v1/configs/never/versions", {"a": 1})
    r = s.cli("drill", "run", "never", "--scenario", "rollback-path")
    ok(r.returncode == 1 and "FAILED good_version_completes: the good version did not complete: "
       "it is rolled_back" in r.stdout and "expects: a good version completes, is rolled back" in r.stdout,
       "failing rollback path: %d %s %s" % (r.returncode, r.stdout, r.stderr))

    # /metrics: a scenario that ran and never passed is at 0; one that is
    # skipped (flag-flip on a config of kind config) has no series; a
    # scheduled config none of whose scenarios ever ran ("empty" has no
    # version: its drills are refused, never recorded) is at 0 as "all"
    r = s.cli("drill", "schedule", "empty", "--every", "24h")
    ok(r.returncode == 0, "schedule empty %d %s" % (r.returncode, r.stderr))
    m = metrics(s)
    ok('cellgate_drill_last_success_timestamp_seconds{config="never",scenario="rollback-path"} '
       '0.000' in m, "never passed at 0:\n%s" % m)
    ok('{config="app",scenario="flag-flip"}' not in m and
       '{config="ff",scenario="flag-flip"}' in m, "skipped has no series")
    ok('cellgate_drill_last_success_timestamp_seconds{config="empty",scenario="all"} 0' in m,
       "scheduled, never ran, at 0")
    ok('{config="app",scenario="all"}' not in m, "no placeholder for a config that ran")
    ago = [float(l.split()[-1]) for l in m.splitlines() if l.startswith(
        'cellgate_drill_last_success_timestamp_seconds{config="app",scenario="stuck-wave"}')]
    ok(ago and abs(time.time() - ago[0]) < 600, "app stuck-wave passed just now: %s" % ago)
    r = s.cli("drill", "schedule", "empty", "--every", "0")
    ok(r.returncode == 0, "unschedule empty %d" % r.returncode)
    deadline = time.time() + 10
    while time.time() < deadline and '{config="empty",scenario="all"}' in metrics(s):
        time.sleep(0.1)
    ok('{config="empty",scenario="all"}' not in metrics(s), "unscheduled: no placeholder")

    # a schedule runs (ff has runs; a config drilled never is due at once)
    s.api("POST", "/v1/configs", {"name": "sched", "plan": "p", "contract": {}})
    s.api("POST", "/v1/configs/sched/versions", {"a": 1})
    r = s.cli("drill", "schedule", "sched", "--every", "24h", "-m", "nightly")
    ok(r.returncode == 0, "cli schedule %d %s" % (r.returncode, r.stderr))
    deadline = time.time() + 60
    runs = []
    while time.time() < deadline and len(runs) < 5:
        st, b = s.api("GET", "/v1/configs/sched/drills")
        runs = b["drills"]
        time.sleep(0.2)
    ok(len(runs) == 5 and all(x["actor"] == "drill:schedule" for x in runs),
       "scheduled run: %s" % [(x["scenario"], x["actor"]) for x in runs])
    # a killed server's scratch store is removed at the next start
    os.makedirs(os.path.join(s.data_dir, "cellgate-drill-abc123"))
    h.write(os.path.join(s.data_dir, "cellgate-drill-abc123"), "drill.db", "x")
    s.stop()
    s.start()
    ok(not any(x.startswith("cellgate-drill-") for x in os.listdir(s.data_dir)),
       "scratch leftovers removed: %s" % os.listdir(s.data_dir))
    m2 = metrics(s)
    for key in ('{config="app",scenario="known-bad"}', '{config="never",scenario="rollback-path"} 0',
                '{config="sched",scenario="invalid-document"}'):
        ok(("cellgate_drill_last_success_timestamp_seconds" + key) in m2,
           "series loaded from the store after a restart: %s" % key)
    st, b = s.api("GET", "/v1/configs/sched/drills")
    ok([x["every_s"] for x in b["schedules"]] == [86400], "schedule survives: %s" % b["schedules"])
    ok(len(b["drills"]) == 5, "not run again after the restart: %d" % len(b["drills"]))
    r = s.cli("drill", "schedule", "sched", "--every", "0")
    st, b = s.api("GET", "/v1/configs/sched/drills")
    ok(r.returncode == 0 and b["schedules"] == [], "schedule removed: %s" % b["schedules"])
    st, b = s.api("PUT", "/v1/configs/sched/drills/schedule", {"every_s": 0})
    ok(st == 404, "removing no schedule %s" % st)
    st, b = s.api("GET", "/v1/audit?limit=1000")
    acts = [x["action"] for x in b["records"]]
    ok("drill.schedule" in acts and "drill.unschedule" in acts, "schedule audited")
shutil.rmtree(tmp, ignore_errors=True)
h.done("drills", n)
