# SPDX-License-Identifier: MIT
"""Every notification event (docs/notifications.md "Events") end to end, in
three formats at once, against local receivers that record the requests as
they came over the wire:

- a json sink (with a secret) hears every event of the table but `test`:
  rollout.started, step_started, step_passed, paused, resumed,
  awaiting_approval, approved, halted (a gate failed, plan: halt), aborted,
  rollback_started, rolled_back, completed, flag.killed and
  audit.verify_failed (the audit log cut short behind the running server's
  back: its checkpointer finds the chain no longer extends its last signed
  checkpoint); each payload has exactly the documented keys, the rollout,
  config, versions, step, wave, actor (operator, approver, controller or
  system), reason and evaluation it is about, a valid signature and its
  Cellgate-Event header;
- a grafana sink: the annotation body (time in ms, tags "cellgate",
  "config:NAME", "event:EVENT" and one "cell:C" per cell of the step, the
  summary text) with "Authorization: Bearer <secret>" on each request;
- a pagerduty sink: the Events API v2 change event (routing_key the secret,
  payload summary/timestamp/source/custom_details, the rollout's link from
  --public-url), for the same events;
- the server's standard error: one logfmt line for the pause, the resume,
  the wait for and the approval, the halt, the abort, the kill and the
  audit failure, with its level (warn for halts, kills and audit failures)
  and fields."""
import hashlib, hmac, http.server, json, os, re, sqlite3, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

SLOW = 3 if h.SANITIZED else 1
SECRET = "json-sink-secret"
GRAFANA_TOKEN = "glsa_grafana-api-token"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef"
PUBLIC = "https://cg.example"
BAD = 3
n = 0
EVENTS = ["rollout.started", "rollout.step_started", "rollout.step_passed", "rollout.paused",
          "rollout.resumed", "rollout.awaiting_approval", "rollout.approved", "rollout.halted",
          "rollout.aborted", "rollout.rollback_started", "rollout.rolled_back",
          "rollout.completed", "flag.killed", "audit.verify_failed"]
JSON_KEYS = ["actor", "cells", "config", "evaluation", "event", "reason", "rollout", "step",
             "time", "ui_url", "url", "versions", "wave"]


def ok(cond, msg):
    global n
    h.check(cond, msg)
    n += 1


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        self.got, self.lock = [], threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/api/annotations" % self.server_address[1]

    def docs(self, event=None):
        """(headers, parsed body) of each request, of one event if given."""
        with self.lock:
            got = list(self.got)
        out = [(hd, json.loads(b)) for hd, b in got]
        return [x for x in out if event is None or x[0].get("cellgate-event") == event]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.server.got[-1][0]["_raw"] = body
            self.server.got[-1][0]["_path"] = self.path
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Fleet(threading.Thread):
    """One host per cell reporting its assignment of each config as
    applied: 1,000 requests, 1% errors, 30% on cfg's version BAD."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                for cfg in ("cfg", "flagz"):
                    st, b = self.s.api("GET", "/v1/configs/%s/assignments" % cfg)
                    for a in (b or {}).get("assignments", []) if st == 200 else []:
                        self.seq += 1
                        bad = cfg == "cfg" and a["version"] == BAD
                        self.s.api("POST", "/v1/agent/report", {
                            "host": "h-" + a["cell"], "cell": a["cell"], "seq": self.seq,
                            "window_ms": 150,
                            "configs": [{"config": cfg, "version": a["version"],
                                         "generation": a["generation"], "outcome": "applied",
                                         "lkg_version": a["version"],
                                         "lkg_generation": a["generation"]}],
                            "health": {"requests": 1000, "errors": 300 if bad else 10}})
            except OSError:
                pass
            self.stop.wait(0.15)


def wait(pred, what, timeout=40 * SLOW):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    h.fail("timed out waiting for " + what)


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "rollout %d: %s" % (rid, st))
    return b


def one(rcv, event, rid=None):
    """The single request of event (about rollout rid) a receiver got."""
    def mine():
        return [d for d in rcv.docs(event) if rid is None or rid in (
            d[1].get("rollout"), d[1].get("payload", {}).get("custom_details", {}).get("rollout"))
            or d[1].get("text", "").startswith("cfg: rollout %d " % rid)]
    end = time.time() + 20 * SLOW
    while not mine() and time.time() < end:
        time.sleep(0.1)
    docs = mine()
    ok(len(docs) == 1, "%s of rollout %s heard once: %s (all: %s)"
       % (event, rid, docs, [d for _, d in rcv.docs(event)]))
    return docs[0]


def signed(hd):
    m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", hd.get("cellgate-signature", ""))
    if not m or abs(time.time() - int(m.group(1))) > 300:
        return False
    want = hmac.new(SECRET.encode(), m.group(1).encode() + b"." + hd["_raw"],
                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(want, m.group(2))


jsn, graf, pd, slk = Receiver(), Receiver(), Receiver(), Receiver()
with h.Server(extra_args=["--tick-ms", "100", "--audit-checkpoint-interval", "1",
                          "--public-url", PUBLIC, "--notify-backoff", "50"]) as s:
    CELLS = ["c1", "c2", "c3"]
    for i, c in enumerate(CELLS):
        ok(s.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": "z%d" % i})[0] == 201, c)
    ok(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                     "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    for k in (60, 62, 64, 66):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                             json.dumps(h.features(k)))
        ok(st == 201, "publish %s" % b)
    ok(s.api("POST", "/v1/configs", {"name": "flagz", "kind": "flags", "contract": {}})[0] == 201,
       "flags config")
    flags = {"flags": {"new-checkout": {"state": "ENABLED", "variants": {"on": True, "off": False},
                                        "defaultVariant": "on"}}}
    ok(s.api("POST", "/v1/configs/flagz/versions", flags)[0] == 201, "flags publish")
    for cfg in ("cfg", "flagz"):
        ok(s.api("POST", "/v1/configs/%s/assign" % cfg,
                 {"version": 1, "cells": CELLS, "force": True})[0] == 201, "assign %s" % cfg)
    toks = {}
    for role in ("deployer", "approver"):
        st, b = s.api("POST", "/v1/tokens", {"name": role[:3], "role": role})
        ok(st == 201, "token %s: %s" % (role, st))
        toks[role] = b["token"]

    secret_file = h.write(s.data_dir, "json.secret", SECRET + "\n")
    ok(s.cli("notify", "add", "all-json", "--url", jsn.url, "--events", "all", "--format", "json",
             "--secret-file", secret_file).returncode == 0, "add json")
    for name, rcv, fmt, secret in (("graf", graf, "grafana", GRAFANA_TOKEN),
                                   ("pd", pd, "pagerduty", ROUTING_KEY), ("slk", slk, "slack", None)):
        body = {"name": name, "url": rcv.url, "format": fmt, "events": ["all"]}
        if secret:
            body["secret"] = secret
        st, b = s.api("POST", "/v1/notify/sinks", body)
        ok(st == 201, "add %s: %s %s" % (name, st, b))

    plans = {
        "appr": {"waves": [{"name": "canary", "cells": 1, "bake_s": 2, "min_requests": 100},
                           {"name": "rest", "percent": 100, "bake_s": 1, "approval": True}]},
        "halt": {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 100},
                           {"name": "rest", "percent": 100, "bake_s": 1}],
                 "gates": {"error_rate": {"max": 0.5, "max_ratio": 2.0}},
                 "on_gate_failure": "halt"},
        "slow": {"waves": [{"name": "canary", "cells": 1, "bake_s": 600},
                           {"name": "rest", "percent": 100, "bake_s": 600}]},
    }
    for name, body in plans.items():
        ok(s.api("PUT", "/v1/plans/" + name, body)[0] == 201, "plan " + name)
    fleet = Fleet(s)
    fleet.start()

    # ---- A: paused, resumed, awaiting_approval, approved, completed
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 2, "plan": "appr",
                                           "reason": "ship v2"})
    ok(st == 201, "start A: %s %s" % (st, b))
    ra = b["id"]
    wait(lambda: status(s, ra)["step_state"] == "bake", "A's canary to bake")
    st, b = s.api("POST", "/v1/rollouts/%d/pause" % ra, {"reason": "looking"},
                  token=toks["deployer"])
    ok(st == 200 and b["state"] == "paused", "pause: %s %s" % (st, b))
    wait(lambda: jsn.docs("rollout.paused"), "paused delivered")
    st, b = s.api("POST", "/v1/rollouts/%d/resume" % ra, {"reason": "fine"},
                  token=toks["deployer"])
    ok(st == 200, "resume: %s %s" % (st, b))
    wait(lambda: status(s, ra)["state"] == "waiting_approval", "A to wait for an approval")
    st, b = s.api("POST", "/v1/rollouts/%d/approve" % ra, {"reason": "lgtm"},
                  token=toks["approver"])
    ok(st == 200, "approve: %s %s" % (st, b))
    wait(lambda: status(s, ra)["state"] == "completed", "A to complete")

    # ---- B: the bad version halts on its canary's error rate
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": BAD, "plan": "halt",
                                           "reason": "ship v3"})
    ok(st == 201, "start B: %s %s" % (st, b))
    rb = b["id"]
    wait(lambda: status(s, rb)["state"] == "halted", "B to halt")

    # ---- C: aborted while its canary bakes
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 4, "plan": "slow",
                                           "reason": "ship v4"})
    ok(st == 201, "start C: %s %s" % (st, b))
    rc = b["id"]
    wait(lambda: status(s, rc)["step_state"] == "bake", "C's canary to bake")
    st, b = s.api("POST", "/v1/rollouts/%d/abort" % rc, {"reason": "wrong day"},
                  token=toks["deployer"])
    ok(st == 200 and b["state"] == "aborted", "abort: %s %s" % (st, b))

    # ---- D: rolled back while its canary bakes
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 4, "plan": "slow",
                                           "reason": "v4 again"})
    ok(st == 201, "start D: %s %s" % (st, b))
    rd = b["id"]
    wait(lambda: status(s, rd)["step_state"] == "bake", "D's canary to bake")
    st, b = s.api("POST", "/v1/configs/cfg/rollback", {"reason": "errors up"},
                  token=toks["deployer"])
    ok(st in (200, 201, 202), "rollback: %s %s" % (st, b))
    wait(lambda: status(s, rd)["state"] == "rolled_back", "D rolled back")

    # ---- the kill switch
    st, b = s.api("POST", "/v1/configs/flagz/flags/new-checkout/kill",
                  {"reason": "checkout errors"}, token=toks["deployer"])
    ok(st in (200, 201), "kill: %s %s" % (st, b))
    fleet.stop.set()

    # ---- the audit log cut short while the server runs
    def checkpointed():
        st, b = s.api("GET", "/v1/audit/checkpoints")
        return st == 200 and b["latest"] and b["latest"]["seq"] == len(h.audit_all(s))
    wait(checkpointed, "a checkpoint of the head")
    db = sqlite3.connect(os.path.join(s.data_dir, "cellgate.db"), timeout=10)
    db.execute("DROP TRIGGER audit_no_delete")
    last = db.execute("SELECT max(seq) FROM audit").fetchone()[0]
    db.execute("DELETE FROM audit WHERE seq > ?", (last - 2,))
    db.execute("DELETE FROM audit_checkpoints")
    db.commit()
    db.close()

    # ==== the json sink: every event, the documented payload, signed
    for e in EVENTS:
        wait(lambda: jsn.docs(e), "%s at the json sink" % e)
    every = jsn.docs()
    ok(all(signed(hd) for hd, _ in every), "every json request signed")
    ok(all(hd.get("content-type") == "application/json"
           and hd.get("cellgate-event") == d["event"] for hd, d in every), "headers")
    ok(all(sorted(d) == sorted(JSON_KEYS + (["flag"] if d["event"] == "flag.killed" else []))
           and list(d) == sorted(d) for _, d in every),
       "exactly the documented keys, sorted: %s" % [list(d) for _, d in every])
    ok(all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["time"]) for _, d in every),
       "times")

    def about(d, rid, frm, to, actor):
        return (d["rollout"] == rid and d["config"] == "cfg" and d["versions"] == {"from": frm,
                                                                                  "to": to}
                and d["actor"] == actor and d["url"] == "%s/v1/rollouts/%d" % (PUBLIC, rid)
                and d["ui_url"] == "%s/ui/rollouts/%d" % (PUBLIC, rid))

    _, d = one(jsn, "rollout.paused", ra)
    ok(about(d, ra, 0, 2, "token:dep") and d["reason"] == "looking" and d["step"] == 0
       and d["wave"] == "canary" and d["evaluation"] is None, "paused: %s" % d)
    _, d = one(jsn, "rollout.resumed", ra)
    ok(about(d, ra, 0, 2, "token:dep") and d["reason"] == "fine", "resumed: %s" % d)
    _, d = one(jsn, "rollout.awaiting_approval", ra)
    ok(about(d, ra, 0, 2, "controller") and d["step"] == 1 and d["wave"] == "rest",
       "awaiting_approval: %s" % d)
    _, d = one(jsn, "rollout.approved", ra)
    ok(about(d, ra, 0, 2, "token:app") and d["reason"] == "lgtm" and d["step"] == 1,
       "approved: %s" % d)
    _, d = one(jsn, "rollout.completed", ra)
    ok(about(d, ra, 0, 2, "controller"), "completed: %s" % d)
    d = [x for _, x in jsn.docs("rollout.step_passed") if x["rollout"] == ra][0]
    ok(about(d, ra, 0, 2, "controller") and d["evaluation"]["verdict"] == "pass"
       and {"summary", "hosts", "converged", "wave_cells", "baseline_cells"} <= set(d["evaluation"]),
       "step_passed: %s" % d)
    _, d = one(jsn, "rollout.halted", rb)
    ok(about(d, rb, 2, BAD, "controller") and d["step"] == 0 and d["wave"] == "canary"
       and d["evaluation"]["verdict"] == "fail" and "error_rate" in d["evaluation"]["summary"]
       and [g for g in d["evaluation"]["gates"] if g["gate"] == "error_rate"][0]["p_value"] < 0.001,
       "halted: %s" % d)
    _, d = one(jsn, "rollout.aborted", rc)
    ok(about(d, rc, 2, 4, "token:dep") and d["reason"] == "wrong day" and d["step"] == 0,
       "aborted: %s" % d)
    _, d = one(jsn, "rollout.rollback_started", rd)
    ok(about(d, rd, 2, 4, "token:dep") and d["reason"] == "errors up", "rollback_started: %s" % d)
    _, d = one(jsn, "rollout.rolled_back", rd)
    ok(about(d, rd, 2, 4, "controller"), "rolled_back: %s" % d)
    _, d = one(jsn, "flag.killed")
    ok(d["config"] == "flagz" and d["flag"] == "new-checkout" and d["actor"] == "token:dep"
       and d["reason"] == "checkout errors" and isinstance(d["rollout"], int), "flag.killed: %s" % d)
    _, d = one(jsn, "audit.verify_failed")
    ok(d["actor"] == "system" and d["rollout"] is None and d["config"] is None
       and d["versions"] is None and d["url"] is None and d["ui_url"] is None
       and d["cells"] == []
       and "chain" in d["reason"], "audit.verify_failed: %s" % d)
    st, b = s.api("GET", "/v1/notify/sinks/all-json/log")
    ok(st == 200 and any(x["event"] == "audit.verify_failed" and x["ok"] for x in b["log"]),
       "the delivery log: %s" % b)

    # ==== grafana: annotations with the bearer token, tags per config and cell
    for e in EVENTS:
        wait(lambda: graf.docs(e), "%s at the grafana sink" % e)
    every = graf.docs()
    ok(all(hd.get("authorization") == "Bearer " + GRAFANA_TOKEN and hd["_path"] == "/api/annotations"
           and hd.get("content-type") == "application/json" for hd, _ in every),
       "grafana headers: %s" % [hd.get("authorization") for hd, _ in every])
    ok(all(sorted(d) == ["tags", "text", "time"] and isinstance(d["time"], int)
           and abs(d["time"] / 1000 - time.time()) < 600 for _, d in every), "annotation bodies")
    steps = [d for _, d in graf.docs("rollout.step_started") if "rollout %d " % ra in d["text"]]
    ra_steps = status(s, ra)["steps"]
    ok(len(steps) == len(ra_steps) >= 2, "a step_started annotation per step: %s" % steps)
    for i, st_ in enumerate(ra_steps):
        d = [d for d in steps if ": step %d step started" % i in d["text"]][0]
        ok(d["tags"] == ["cellgate", "config:cfg", "event:rollout.step_started"]
           + ["cell:" + c for c in st_["cells"]], "step tags %s against %s" % (d["tags"], st_))
    _, d = one(graf, "rollout.halted", rb)
    ok(d["tags"][:3] == ["cellgate", "config:cfg", "event:rollout.halted"]
       and d["text"].startswith("cfg: rollout %d v2 -> v%d: HALTED" % (rb, BAD)), "halted: %s" % d)
    _, d = one(graf, "rollout.approved", ra)
    ok(d["tags"][:3] == ["cellgate", "config:cfg", "event:rollout.approved"]
       and "approved" in d["text"] and ", by token:app: lgtm" in d["text"], "approved: %s" % d)
    _, d = one(graf, "flag.killed")
    ok(d["tags"][:3] == ["cellgate", "config:flagz", "event:flag.killed"]
       and "new-checkout flag KILLED" in d["text"], "kill: %s" % d)
    _, d = one(graf, "audit.verify_failed")
    ok(d["tags"] == ["cellgate", "event:audit.verify_failed"]
       and d["text"].startswith("cellgate: audit chain verification FAILED, by system: "),
       "audit: %s" % d)

    # ==== pagerduty: Events API v2 change events
    for e in EVENTS:
        wait(lambda: pd.docs(e), "%s at the pagerduty sink" % e)
    every = pd.docs()
    for hd, d in every:
        p = d["payload"]
        ok(sorted(d) in (["payload", "routing_key"], ["links", "payload", "routing_key"])
           and d["routing_key"] == ROUTING_KEY and sorted(p) == ["custom_details", "source",
                                                                 "summary", "timestamp"]
           and p["source"] == "cellgate" and 0 < len(p["summary"]) <= 1024
           and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", p["timestamp"])
           and sorted(p["custom_details"]) == ["actor", "config", "evaluation", "event", "reason",
                                               "rollout", "step", "versions", "wave"]
           and p["custom_details"]["event"] == hd["cellgate-event"]
           and "authorization" not in hd, "pagerduty body %s" % d)
    _, d = one(pd, "rollout.halted", rb)
    cd = d["payload"]["custom_details"]
    ok(cd["rollout"] == rb and cd["config"] == "cfg" and cd["versions"] == {"from": 2, "to": BAD}
       and cd["step"] == 0 and cd["wave"] == "canary" and cd["actor"] == "controller"
       and cd["evaluation"]["verdict"] == "fail"
       and d["links"] == [{"href": "%s/ui/rollouts/%d" % (PUBLIC, rb),
                           "text": "rollout %d on the dashboard" % rb},
                          {"href": "%s/v1/rollouts/%d" % (PUBLIC, rb), "text": "rollout %d" % rb}]
       and d["payload"]["summary"].startswith("cfg: rollout %d v2 -> v%d: HALTED" % (rb, BAD)),
       "pagerduty halted: %s" % d)
    _, d = one(pd, "rollout.paused", ra)
    cd = d["payload"]["custom_details"]
    ok(cd["actor"] == "token:dep" and cd["reason"] == "looking" and cd["evaluation"] is None,
       "pagerduty paused: %s" % d)
    _, d = one(pd, "audit.verify_failed")
    ok("links" not in d and d["payload"]["custom_details"]["actor"] == "system"
       and d["payload"]["custom_details"]["rollout"] is None, "pagerduty audit: %s" % d)

    # ==== slack: the link is the rollout's dashboard page
    wait(lambda: slk.docs("rollout.halted"), "rollout.halted at the slack sink")
    _, d = one(slk, "rollout.halted", rb)
    ok(d["text"].startswith("cfg: rollout %d v2 -> v%d: HALTED" % (rb, BAD))
       and d["blocks"][0]["text"]["text"].endswith(
           "\n<%s/ui/rollouts/%d|rollout %d>" % (PUBLIC, rb, rb)), "slack halted: %s" % d)

    # ==== the logfmt lines on standard error
    log = open(s.log_path, encoding="utf-8", errors="replace").read()
    lines = [l for l in log.splitlines() if l.startswith("ts=")]
    want = [
        "level=info event=rollout.paused rollout=%d config=cfg from=0 to=2 step=0 wave=canary "
        "actor=token:dep reason=looking" % ra,
        "level=info event=rollout.resumed rollout=%d config=cfg from=0 to=2 step=0 wave=canary "
        "actor=token:dep reason=fine" % ra,
        "level=info event=rollout.awaiting_approval rollout=%d config=cfg from=0 to=2 step=1 "
        "wave=rest actor=controller" % ra,
        "level=info event=rollout.approved rollout=%d config=cfg from=0 to=2 step=1 wave=rest "
        "actor=token:app reason=lgtm" % ra,
        "level=warn event=rollout.halted rollout=%d config=cfg from=2 to=%d step=0 wave=canary "
        "verdict=fail actor=controller reason=" % (rb, BAD),
        "level=info event=rollout.aborted rollout=%d config=cfg from=2 to=4 step=0 wave=canary "
        "actor=token:dep reason=\"wrong day\"" % rc,
        "level=warn event=flag.killed rollout=",
        "level=warn event=audit.verify_failed actor=system reason=\"",
    ]
    for w in want:
        hit = [l for l in lines if w in l]
        ok(len(hit) == 1 and re.match(r"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=", hit[0]),
           "one log line with %r in:\n%s" % (w, "\n".join(lines)))
    kill = [l for l in lines if "event=flag.killed" in l][0]
    ok(" config=flagz " in kill and " actor=token:dep " in kill
       and kill.endswith('reason="checkout errors"'), "the kill's line: %s" % kill)
for r in (jsn, graf, pd):
    r.shutdown()
h.done("60-rollout/11-notify-events", n)
