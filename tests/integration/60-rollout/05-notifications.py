# SPDX-License-Identifier: MIT
"""Notifications (docs/notifications.md) against local receivers: a good one
that records every request and checks the json format's signature, one that
answers 500 (retried, then failed: in `notify log` and /metrics), one that
hangs (its deliveries time out; the rollout still completes). A rollout goes
through its steps to completed, a second one is rolled back; the stderr log
has one logfmt line per transition, a hostile reason escaped. The sink API
refuses non-admin tokens and never returns a secret."""
import hashlib, hmac, http.server, json, os, re, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

SLOW = 3 if h.SANITIZED else 1
SECRET = "s3cret-for-tests"
n = 0


class Receiver(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode):
        self.mode, self.got, self.bad_sigs = mode, [], []
        self.release = threading.Event()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.server_address[1]

    def events(self):
        with self.lock:
            return [json.loads(b).get("event") for _, b in self.got if b.startswith(b"{")]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        srv = self.server
        if srv.mode == "hang":
            srv.release.wait(30)  # bounded: the server gives up long before
        with srv.lock:
            srv.got.append((dict(self.headers), body))
            sig = self.headers.get("Cellgate-Signature")
            if srv.mode == "good" and sig:
                # t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
                m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", sig)
                want = m and hmac.new(SECRET.encode(), m.group(1).encode() + b"." + body,
                                      hashlib.sha256).hexdigest()
                if not m or want != m.group(2) or abs(time.time() - int(m.group(1))) > 300:
                    srv.bad_sigs.append(sig)
        self.send_response(500 if srv.mode == "bad" else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Fleet(threading.Thread):
    """One host per cell reporting its assignment as applied, healthy."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/cfg/assignments")
                for a in (b or {}).get("assignments", []) if st == 200 else []:
                    self.seq += 1
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + a["cell"], "cell": a["cell"], "seq": self.seq,
                        "window_ms": 150,
                        "configs": [{"config": "cfg", "version": a["version"],
                                     "generation": a["generation"], "outcome": "applied",
                                     "lkg_version": a["version"],
                                     "lkg_generation": a["generation"]}],
                        "health": {"requests": 40, "errors": 0}})
            except OSError:
                pass
            self.stop.wait(0.15)


def wait(pred, what, timeout=30 * SLOW):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    h.fail("timed out waiting for " + what)


def state(s, rid):
    return s.api("GET", "/v1/rollouts/%d" % rid)[1]["state"]


good, bad, hang = Receiver("good"), Receiver("bad"), Receiver("hang")
with h.Server(extra_args=["--tick-ms", "100", "--notify-timeout", "1000", "--notify-attempts",
                          "3", "--notify-backoff", "50"]) as s:
    for c, z in [("c1", "z1"), ("c2", "z2"), ("c3", "z3")]:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": z})[0] == 201, c)
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    for k in (60, 62, 64):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                             json.dumps(h.features(k)))
        h.check(st == 201, "publish %s" % b)

    # ---- the sink API: admin only, secrets never returned
    secret_file = h.write(s.data_dir, "hook.secret", SECRET + "\n")
    r = s.cli("notify", "add", "good", "--url", good.url, "--events", "all", "--format", "json",
              "--secret-file", secret_file, "--config", "cfg", "-m", "ops channel")
    h.check(r.returncode == 0 and "added sink good" in r.stdout, "add good: %r %r"
            % (r.stdout, r.stderr))
    h.check(s.cli("notify", "add", "bad", "--url", bad.url, "--events",
                  "rollout.started,rollout.completed", "--format", "slack").returncode == 0,
            "add bad")
    st, b = s.api("POST", "/v1/notify/sinks", {"name": "hang", "url": hang.url, "format":
                                               "pagerduty", "events": ["rollout.started"],
                                               "secret": "routing-key-1"})
    h.check(st == 201 and b["secret"] is True and "routing-key-1" not in json.dumps(b),
            "add hang: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/notify/sinks", {"name": "x", "url": good.url, "events": ["nope"]})
    h.check(st == 400 and "nope" in b["error"]["message"], "unknown event: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/notify/sinks", {"name": "good", "url": good.url,
                                               "events": ["all"]})
    h.check(st == 409, "duplicate: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/notify/sinks", {"name": "x", "url": "file:///etc/passwd",
                                               "events": ["all"]})
    h.check(st == 400, "file url: %s %s" % (st, b)); n += 1
    st, _, raw = s.request("GET", "/v1/notify/sinks")
    h.check(st == 200 and SECRET.encode() not in raw and b"routing-key-1" not in raw
            and [x["name"] for x in json.loads(raw)["sinks"]] == ["bad", "good", "hang"],
            "list: %s %r" % (st, raw))
    r = s.cli("notify", "list")
    h.check(r.returncode == 0 and SECRET not in r.stdout and "good" in r.stdout, r.stdout)
    st, b = s.api("POST", "/v1/tokens", {"name": "dep", "role": "deployer"})
    dep = b["token"]
    for m, p in [("GET", "/v1/notify/sinks"), ("POST", "/v1/notify/sinks/good/test"),
                 ("GET", "/v1/notify/sinks/good/log"), ("DELETE", "/v1/notify/sinks/good")]:
        st, _ = s.api(m, p, {} if m == "POST" else None, token=dep)
        h.check(st == 403, "%s %s as deployer: %s" % (m, p, st))
    st, b = s.api("GET", "/v1/audit")
    recs = [a for a in b["records"] if a["action"] == "notify.add_sink"]
    h.check(len(recs) == 3 and SECRET not in json.dumps(b) and "/hook" not in json.dumps(recs),
            "audit: %s" % recs); n += 1

    # ---- notify test: the good receiver gets a signed test event
    r = s.cli("notify", "test", "good")
    h.check(r.returncode == 0, "test: %r" % r.stderr)
    wait(lambda: "test" in good.events(), "the test event")
    r = s.cli("notify", "log", "good")
    h.check(r.returncode == 0 and "test" in r.stdout and "sent" in r.stdout, r.stdout); n += 1

    # ---- a rollout to completed, with a hostile reason
    plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1}]}
    h.check(s.api("PUT", "/v1/plans/quick", plan)[0] == 201, "plan")
    h.check(s.cli("config", "set-plan", "cfg", "quick").returncode == 0, "set-plan")
    h.check(s.cli("assign", "cfg", "1", "--cell", "c1", "--cell", "c2", "--cell",
                  "c3").returncode == 0, "baseline")
    fleet = Fleet(s)
    fleet.start()
    hostile = 'go" event=forged\nts=x level=info event=rollout.completed'
    t0 = time.time()
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 2, "reason": hostile})
    h.check(st == 201, "start %s %s" % (st, b))
    rid = b["id"]
    wait(lambda: state(s, rid) == "completed", "rollout %d to complete" % rid)
    # the hanging sink held the delivery thread for up to 3 s; the rollout did not wait
    # for it (its steps bake 1 s each): it completed although 'hang' is still pending
    h.check(not hang.got, "the hanging receiver answered?"); n += 1
    wait(lambda: "rollout.completed" in good.events(), "rollout.completed at the good sink")
    evs = good.events()
    for e in ["rollout.started", "rollout.step_started", "rollout.step_passed",
              "rollout.completed"]:
        h.check(e in evs, "%s not delivered: %s" % (e, evs))
    nsteps = len(s.api("GET", "/v1/rollouts/%d" % rid)[1]["steps"])
    h.check(evs.count("rollout.step_started") == nsteps == evs.count("rollout.step_passed"),
            "one step_started and step_passed per step (%d): %s" % (nsteps, evs))
    h.check(not good.bad_sigs, "bad signatures: %s" % good.bad_sigs)
    with good.lock:
        docs = [json.loads(b) for _, b in good.got]
    step = [d for d in docs if d["event"] == "rollout.step_started"][0]
    h.check(step["rollout"] == rid and step["config"] == "cfg"
            and step["versions"] == {"from": 0, "to": 2} and step["step"] == 0
            and step["wave"] == "canary" and len(step["cells"]) == 1
            and step["actor"] == "controller", "step payload: %s" % step)
    started = [d for d in docs if d["event"] == "rollout.started"][0]
    h.check(started["reason"] == hostile and started["actor"] == "token:admin"
            or started["actor"] == "admin", "started payload: %s" % started); n += 1

    # ---- a rollback of an open rollout
    plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 600},
                      {"name": "rest", "percent": 100, "bake_s": 600}]}
    h.check(s.api("PUT", "/v1/plans/slow", plan)[0] == 201, "slow plan")
    h.check(s.cli("config", "set-plan", "cfg", "slow").returncode == 0, "set-plan slow")
    st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": 3, "reason": "v3"})
    rid2 = b["id"]
    wait(lambda: s.api("GET", "/v1/rollouts/%d" % rid2)[1]["step_state"] == "bake", "bake")
    st, b = s.api("POST", "/v1/configs/cfg/rollback", {"reason": "errors up"})
    h.check(st in (200, 201, 202), "rollback %s %s" % (st, b))
    wait(lambda: state(s, rid2) == "rolled_back", "rolled_back")
    wait(lambda: "rollout.rolled_back" in good.events(), "rolled_back delivered")
    h.check("rollout.rollback_started" in good.events(), "rollback_started: %s" % good.events())
    n += 1
    fleet.stop.set()

    # ---- the 500 receiver: 3 attempts per event, then failed; the hang one timed out
    # bad hears rollout.started twice (both rollouts) and rollout.completed
    # once (the second was rolled back): 3 events, 3 attempts each
    wait(lambda: len(bad.got) >= 9, "the bad sink's 3 attempts of 3 events")
    wait(lambda: 'cellgate_notify_failed_total{sink="bad"} 3' in
         s.request("GET", "/metrics")[2].decode(), "the bad sink's 3 failures counted")
    wait(lambda: len(json.loads(s.request("GET", "/v1/notify/sinks/hang/log")[2])["log"]) >= 3,
         "the hanging sink's 3 timed-out attempts")
    st, b = s.api("GET", "/v1/notify/sinks/bad/log")
    h.check(st == 200 and all(not x["ok"] and x["status"] == 500 for x in b["log"])
            and {x["attempt"] for x in b["log"]} == {1, 2, 3}, "bad log: %s" % b)
    st, b = s.api("GET", "/v1/notify/sinks/hang/log")
    h.check(all(not x["ok"] and x["status"] == 0 and "timed out" in x["error"]
                for x in b["log"]), "hang log: %s" % b)
    with bad.lock:
        slack = json.loads(bad.got[0][1])
    h.check("text" in slack and slack["blocks"][0]["type"] == "section", "slack: %s" % slack)
    with hang.lock:
        pd = [json.loads(x[1]) for x in hang.got]
    r = s.cli("notify", "log", "bad")
    h.check(r.returncode == 0 and "HTTP 500" in r.stdout and "failed" in r.stdout, r.stdout)
    st, _, raw = s.request("GET", "/metrics")
    text = raw.decode()
    h.check('cellgate_notify_failed_total{sink="bad"} 3' in text
            and re.search(r'cellgate_notify_failed_total\{sink="hang"\} [12]\n', text)
            and re.search(r'cellgate_notify_sent_total\{sink="good"\} \d+', text)
            and "cellgate_notify_dropped_total 0" in text
            and "cellgate_notify_queue_depth" in text, "metrics:\n%s" %
            "\n".join(l for l in text.splitlines() if "notify" in l)); n += 1
    hang.release.set()

    # ---- the stderr log: one logfmt line per transition, the hostile reason escaped
    log = open(s.log_path, encoding="utf-8", errors="replace").read()
    lines = [l for l in log.splitlines() if l.startswith("ts=") and " event=rollout." in l]
    want = ["event=rollout.started rollout=%d config=cfg from=0 to=2" % rid,
            "event=rollout.step_started rollout=%d config=cfg from=0 to=2 step=0 wave=canary "
            "cells=1 actor=controller" % rid,
            "event=rollout.completed rollout=%d" % rid,
            "event=rollout.rollback_started rollout=%d" % rid2,
            "event=rollout.rolled_back rollout=%d" % rid2]
    for w in want:
        h.check(any(w in l for l in lines), "no log line with %r in:\n%s" % (w, "\n".join(lines)))
    h.check(not any(l.startswith("ts=x") for l in log.splitlines()), "a forged line")
    h.check(any('reason="go\\" event=forged\\nts=x level=info event=rollout.completed"' in l
                for l in lines), "hostile reason not escaped:\n%s" % "\n".join(lines)); n += 1

    # ---- remove
    r = s.cli("notify", "remove", "bad", "-m", "gone")
    h.check(r.returncode == 0, r.stderr)
    h.check(s.api("DELETE", "/v1/notify/sinks/bad")[0] == 404, "removed twice"); n += 1
for srv in (good, bad, hang):
    srv.release.set()
    srv.shutdown()
h.done("60-rollout/05-notifications", n)
