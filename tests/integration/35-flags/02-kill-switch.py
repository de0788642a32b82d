# SPDX-License-Identifier: MIT
"""The flag kill switch (I7) and a flag flipped in the middle of a
deployment:

- kill_reaches_every_cell_at_once: `cellgate flag kill` publishes the live
  version with exactly that flag disabled (the server checks the
  difference), sends it to every cell in one step with no bake, inside a
  deny window of the plan, audited; OFREP answers DISABLED with no value
  at once on every cell; a second kill is 409; a reader cannot kill; a
  notification sink subscribed to flag.killed receives the kill (json
  format: event, config, flag, versions, actor, reason) and the server's
  log has the logfmt line;
- kill_supersedes_a_rollout_of_the_same_config: a rollout of the flags
  config in flight (held by its approval) is aborted by the kill, and
  every cell, those it had changed included, runs the kill version;
- unkill_goes_through_the_plan: the undo is a normal rollout (approval,
  bake), not expedited;
- flag_flipped_mid_deployment: a rollout of another config (the app that
  reads the flag) runs while the flag is killed: the kill lands on every
  cell at once and the app's rollout goes on to completion, each in its
  documented end state.
"""
import http.server, json, os, sys, threading, time
sys.path.insert(0, os.path.dirname(__file__))
import flagkit as fk
from flagkit import h

SLOW = 3 if h.SANITIZED else 1
CELLS = [("c1", "r1", "z1"), ("c2", "r1", "z2"), ("c3", "r2", "z3"), ("c4", "r2", "z4")]
# a plan that holds forward changes now (a deny window over the test) and
# asks for approval before its last wave
FROZEN = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1},
                    {"name": "rest", "percent": 100, "bake_s": 1, "approval": True}],
          "deny": [{"from": "2020-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z",
                    "reason": "freeze"}]}
APP_PLAN = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1}],
            "gates": {"error_rate": {"max": 0.05}}}
n = 0


def assignments(s, config):
    st, b = s.api("GET", "/v1/configs/%s/assignments" % config)
    h.check(st == 200, "assignments %s" % st)
    return {a["cell"]: a["version"] for a in b["assignments"]}


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "rollout %s: %s" % (rid, st))
    return b


def wait_for(s, rid, pred, what, timeout=30 * SLOW):
    end, b = time.time() + timeout, None
    while time.time() < end:
        b = status(s, rid)
        if pred(b):
            return b
        time.sleep(0.1)
    h.fail("timed out waiting for %s: %s" % (what, json.dumps(b)[:1500]))


def doc_of(s, config, version):
    st, _, raw = s.request("GET", "/v1/configs/%s/versions/%d/raw" % (config, version))
    h.check(st == 200, "raw %s" % st)
    return json.loads(raw)


class Fleet(threading.Thread):
    """One healthy host per cell reporting the app config's assignment."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/app/assignments")
                for a in (b or {}).get("assignments", []) if st == 200 else []:
                    self.seq += 1
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + a["cell"], "cell": a["cell"], "seq": self.seq,
                        "window_ms": 150,
                        "configs": [{"config": "app", "version": a["version"],
                                     "generation": a["generation"], "outcome": "applied",
                                     "lkg_version": a["version"],
                                     "lkg_generation": a["generation"]}],
                        "health": {"requests": 40, "errors": 0}})
            except OSError:
                pass
            self.stop.wait(0.15)


class Sink(http.server.BaseHTTPRequestHandler):
    """A notification receiver on 127.0.0.1: keeps every JSON body."""
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Sink.got.append(json.loads(body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
threading.Thread(target=sink.serve_forever, daemon=True).start()

with h.Server(extra_args=["--tick-ms", "100"]) as s:
    v1 = fk.setup(s, CELLS, plan=("frozen", FROZEN))
    dep = fk.token(s, "oncall", "deployer")
    rd = fk.token(s, "viewer", "reader")
    ag = {c: fk.token(s, "app-" + c, "agent", c) for c, _, _ in CELLS}

    st, b = s.api("POST", "/v1/notify/sinks", {
        "name": "oncall", "format": "json", "events": ["flag.killed"],
        "url": "http://127.0.0.1:%d/hook" % sink.server_address[1]})
    h.check(st == 201, "notify sink: %s %s" % (st, b))

    # kill_reaches_every_cell_at_once
    st, b = s.api("POST", "/v1/configs/checkout-flags/flags/new-checkout/kill",
                  {"reason": "checkout errors"}, token=rd)
    h.check(st == 403, "a reader kills: %s" % st); n += 1
    t0 = time.time()
    r = s.cli("flag", "kill", "checkout-flags", "new-checkout", "-m", "checkout errors",
              "--json", token=dep)
    took = time.time() - t0
    h.check(r.returncode == 0, "flag kill: %s %s" % (r.stdout, r.stderr))
    k = json.loads(r.stdout)
    h.check(k["base_version"] == v1 and k["version"] == v1 + 1 and k["state"] == "DISABLED",
            "kill answer %s" % k); n += 1
    h.check(set(assignments(s, "checkout-flags").values()) == {k["version"]},
            "every cell runs the kill version when the command returns"); n += 1
    end = time.time() + 20 * SLOW
    while time.time() < end and not Sink.got:
        time.sleep(0.05)
    ev = Sink.got[0] if Sink.got else {}
    h.check(ev.get("event") == "flag.killed" and ev.get("config") == "checkout-flags" and
            "new-checkout" in json.dumps(ev) and "checkout errors" in json.dumps(ev),
            "the sink got the kill: %s" % Sink.got); n += 1
    log = open(s.log_path, encoding="utf-8", errors="replace").read()
    h.check(any(" event=flag.killed " in l and "config=checkout-flags" in l
                for l in log.splitlines()), "no logfmt line for the kill"); n += 1
    before, after = doc_of(s, "checkout-flags", v1), doc_of(s, "checkout-flags", k["version"])
    before["flags"]["new-checkout"]["state"] = "DISABLED"
    h.check(before == after, "the kill version differs in exactly the flag's state"); n += 1
    ro = status(s, k["rollout"])
    h.check(ro["kind"] == "kill" and ro["state"] == "completed" and ro["expedited"]
            and len(ro["steps"]) == 1 and ro["steps"][0]["bake_s"] == 0
            and len(ro["steps"][0]["cells"]) == 4, "kill rollout %s" % json.dumps(ro)[:600]); n += 1
    for c, _, _ in CELLS:
        st, _, b = fk.ofrep(s, "new-checkout", {"targetingKey": "u", "email": "a@example.com"},
                            ag[c])
        h.check(st == 200 and b["reason"] == "DISABLED" and "value" not in b,
                "OFREP on %s after the kill: %s %s" % (c, st, b))
    n += 1
    st, cfg = s.api("GET", "/v1/configs/checkout-flags")
    h.check(cfg["live_version"] == k["version"], "the kill version is live: %s" % cfg); n += 1
    recs = [a for a in h.audit_all(s) if a["object"].startswith("config/checkout-flags")
            or a["action"].startswith("rollout.")]
    acts = [a["action"] for a in recs]
    h.check("rollout.expedite" in acts and any(
        a["action"] == "version.publish" and "flag kill: new-checkout" in a["reason"]
        and "checkout errors" in a["reason"] for a in recs), "audit %s" % acts); n += 1
    st, b = s.api("POST", "/v1/configs/checkout-flags/flags/new-checkout/kill",
                  {"reason": "again"}, token=dep)
    h.check(st == 409 and "already" in b["error"]["message"], "second kill: %s %s" % (st, b))
    n += 1
    st, b = s.api("POST", "/v1/configs/checkout-flags/flags/nope/kill", {"reason": "x"}, token=dep)
    h.check(st == 404, "kill of an unknown flag: %s" % st); n += 1
    print("kill_reaches_every_cell_at_once: command returned after %.3f s, 4 cells" % took)

    # kill_supersedes_a_rollout_of_the_same_config: theme red through the
    # frozen plan (the deny window holds it before its first step)
    v3 = fk.publish(s, "checkout-flags", dict(fk.flag_doc(theme="red", checkout_state="DISABLED")))
    st, b = s.api("POST", "/v1/rollouts", {"config": "checkout-flags", "version": v3,
                                           "reason": "red theme"}, token=dep)
    h.check(st == 201, "rollout of the flags config: %s %s" % (st, b))
    rid = b["id"]
    wait_for(s, rid, lambda b: "freeze" in (b.get("held") or ""), "the freeze to hold it")
    st, k2 = s.api("POST", "/v1/configs/checkout-flags/flags/max-items/kill",
                   {"reason": "load"}, token=dep)
    h.check(st == 200 and k2["aborted_rollout"] == rid, "kill during a rollout: %s %s" % (st, k2))
    h.check(status(s, rid)["state"] == "aborted", "the rollout was aborted"); n += 1
    h.check(set(assignments(s, "checkout-flags").values()) == {k2["version"]},
            "every cell runs the second kill"); n += 1
    d = doc_of(s, "checkout-flags", k2["version"])
    h.check(d["flags"]["max-items"]["state"] == "DISABLED"
            and d["flags"]["new-checkout"]["state"] == "DISABLED"
            and d["flags"]["theme"]["defaultVariant"] == "blue",
            "the kill is based on the live version, not the aborted one: %s" % d); n += 1

    # unkill_goes_through_the_plan
    r = s.cli("flag", "unkill", "checkout-flags", "max-items", "-m", "fixed", "--json", token=dep)
    h.check(r.returncode == 0, "unkill: %s %s" % (r.stdout, r.stderr))
    u = json.loads(r.stdout)
    ro = status(s, u["rollout"])
    h.check(ro["kind"] == "forward" and not ro["expedited"] and ro["plan"] == "frozen",
            "unkill is a planned rollout: %s" % json.dumps(ro)[:400]); n += 1
    wait_for(s, u["rollout"], lambda b: "freeze" in (b.get("held") or ""),
             "the freeze to hold the unkill")
    h.check(set(assignments(s, "checkout-flags").values()) == {k2["version"]},
            "nothing moved yet"); n += 1
    st, _ = s.api("POST", "/v1/rollouts/%d/abort" % u["rollout"], {"reason": "later"}, token=dep)

    # flag_flipped_mid_deployment: the app config rolls out while a flag it
    # reads is killed
    st, b = s.api("PUT", "/v1/plans/app-plan", APP_PLAN)
    st, b = s.api("POST", "/v1/configs", {"name": "app", "kind": "config", "plan": "app-plan",
                                          "contract": h.FEATURE_CONTRACT})
    h.check(st == 201, "app config %s" % b)
    for i in (60, 62):
        st, _, b = s.request("POST", "/v1/configs/app/versions?message=v",
                             json.dumps(h.features(i)))
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": [c for c, _, _ in CELLS],
                                                      "force": True, "reason": "baseline"})
    fleet = Fleet(s)
    fleet.start()
    try:
        st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2, "reason": "app v2"},
                      token=dep)
        h.check(st == 201, "app rollout %s %s" % (st, b))
        app = b["id"]
        wait_for(s, app, lambda b: b["step_state"] == "bake", "the app canary to bake")
        st, k3 = s.api("POST", "/v1/configs/checkout-flags/flags/theme/kill",
                       {"reason": "theme broke checkout"}, token=dep)
        h.check(st == 200 and not k3.get("aborted_rollout"), "kill mid-deployment: %s %s" % (st, k3))
        h.check(set(assignments(s, "checkout-flags").values()) == {k3["version"]},
                "the flag kill reached every cell"); n += 1
        b = wait_for(s, app, lambda b: b["state"] in ("completed", "rolled_back", "halted"),
                     "the app rollout to end")
        h.check(b["state"] == "completed" and set(assignments(s, "app").values()) == {2},
                "the app rollout went on to completion: %s" % b["state"]); n += 1
    finally:
        fleet.stop.set()
        fleet.join()
    r = s.cli("audit", "verify")
    h.check(r.returncode == 0, "audit verifies: %s" % r.stdout); n += 1

sink.shutdown()
h.done("02-kill-switch", n)
