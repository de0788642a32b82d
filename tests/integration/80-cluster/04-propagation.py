# SPDX-License-Identifier: MIT
"""Changes and reports cross replicas (server/replica/): two replicas on one
real PostgreSQL.

- change_wakes_parked_polls_on_every_replica: a long-poll parked on b (the
  replica that does not write) answers 200 with the new assignment after
  an assign through a, every time; the wake times are printed.
- notifications_lost_poll_catches_up: with every listening session
  terminated (pg_terminate_backend) b notices, listens again and is woken
  again; with no notifications at all (--replica-poll-only) changes still
  reach b's parked polls through its once-a-second read of the change log.
- reports_cross_replicas: a report posted to b shows in a's host view and
  fleet sums within seconds (the relay), with its health counted once.
- revoked_token_refused_everywhere: a token revoked through a is refused by
  b through the change log (no cache expiry involved: the token cache
  lives 60 s).
- released_host_claim_refused_everywhere: a host identity released
  through a and claimed by a new credential there is refused to its old
  credential on b, which had cached the old claim (the change log's
  host.release).
"""
import json, os, re, shutil, signal, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver

SLOW = 3 if h.SANITIZED else 1
TRIALS = 8
n = 0


def metric(s, name):
    st, _, m = s.request("GET", "/metrics")
    for line in m.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no metric %s" % name)


def desired(s, cell, token, etag=None, wait=0):
    hd = {"If-None-Match": '"%s"' % etag} if etag else {}
    path = "/v1/agent/desired?cell=%s" % cell + ("&wait=%d" % wait if wait else "")
    st, hdrs, data = s.request("GET", path, None, token, hd, timeout=wait + 10)
    return st, hdrs.get("etag", "").strip('"'), (json.loads(data) if st == 200 else None)


def parked_wake(a, b, ag, version, gen):
    """Parks a poll on b, assigns through a; seconds from a's answer to b's."""
    st, etag, d = desired(b, "c1", ag)
    h.check(st == 200, "desired on b: %s" % st)
    out = {}

    def poll():
        out["r"] = desired(b, "c1", ag, etag=etag, wait=20)
        out["t"] = time.time()

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.3)  # parked
    st, body = a.api("POST", "/v1/configs/app/assign",
                     {"version": version, "cells": ["c1"], "expect_generation": gen})
    t0 = time.time()
    h.check(st == 201, "assign through a: %s %s" % (st, body))
    th.join(30)
    st2, _, d2 = out["r"]
    h.check(st2 == 200 and d2["assignments"][0]["version"] == version,
            "the parked poll on b: %s %s" % (st2, d2))
    return out["t"] - t0, body["generation"]


tmp = tempfile.mkdtemp(prefix="cgprop.")
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
    args = lambda rid: ["--store", dsn, "--replica-id", rid, "--lease-ttl-ms", "3000"]
    a = h.Server(data_dir=d1, extra_args=args("a"), keep=True).start()
    b = h.Server(data_dir=d2, extra_args=args("b"), keep=True).start()
    try:
        st, _ = a.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
        st, _ = a.api("POST", "/v1/configs", {"name": "app", "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})
        for i in range(TRIALS + 2):
            st, _, _ = a.request("POST", "/v1/configs/app/versions?message=v%d" % i,
                                 json.dumps(h.features(60 + i)),
                                 headers={"Content-Type": "application/json"})
            h.check(st == 201, "publish %d through a: %s" % (i, st))
        st, t = a.api("POST", "/v1/tokens", {"name": "ag1", "role": "agent", "cell": "c1"})
        ag = t["token"]
        # the cell reaches b through the log (cell.add), not by a restart
        end = time.time() + 5 * SLOW
        while time.time() < end and desired(b, "c1", ag)[0] != 200:
            time.sleep(0.05)
        h.check(desired(b, "c1", ag)[0] == 200, "cell c1 never reached b"); n += 1

        # change_wakes_parked_polls_on_every_replica
        gen, waits = 0, []
        for i in range(TRIALS):
            w, gen = parked_wake(a, b, ag, 1 + i, gen)
            waits.append(w)
        waits.sort()
        print("change_wakes_parked_polls_on_every_replica: trials=%d median_s=%.3f max_s=%.3f"
              % (len(waits), waits[len(waits) // 2], waits[-1]))
        h.check(waits[-1] < 2.0 * SLOW, "a parked poll on b woke after %.2f s" % waits[-1])
        n += 1
        h.check(metric(b, "cellgate_replica_wakeups_total") >= 1, "b was never notified"); n += 1
        h.check(metric(b, "cellgate_replica_listening") == 1, "b is not listening"); n += 1
        # the alert rules' replica families exist (the SQLite server of
        # 00-basics/03-metrics has none)
        doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "docs",
                                "operations.md")).read()
        rules = doc[doc.index("### Alert rules"):]
        st, _, m = b.request("GET", "/metrics")
        have = set(re.findall(r"^# TYPE (cellgate_replica_[a-z_]+)", m.decode(), re.M))
        used = set(re.findall(r"cellgate_replica_[a-z_]+", rules[:rules.index("```\n\n")]))
        h.check(used and used <= have, "alert rules use replica families b lacks: %s"
                % (used - have)); n += 1

        # notifications_lost_poll_catches_up
        errs = metric(b, "cellgate_replica_errors_total")  # before: b may notice at once
        killed = pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'cellgated-listen'", db="cg")
        h.check(int(killed.strip()) >= 2, "terminated %r listening sessions" % killed); n += 1
        w, gen = parked_wake(a, b, ag, TRIALS + 1, gen)
        print("notifications_lost_poll_catches_up: woke after %.3f s" % w)
        h.check(w < 3.0 * SLOW, "without notifications b woke after %.2f s" % w); n += 1
        end = time.time() + 10 * SLOW
        while time.time() < end and (metric(b, "cellgate_replica_listening") != 1 or
                                     metric(b, "cellgate_replica_errors_total") <= errs):
            time.sleep(0.1)
        h.check(metric(b, "cellgate_replica_errors_total") > errs,
                "b did not notice its lost session"); n += 1
        h.check(metric(b, "cellgate_replica_listening") == 1, "b did not listen again"); n += 1
        w, gen = parked_wake(a, b, ag, TRIALS + 2, gen)
        h.check(w < 2.0 * SLOW, "after reconnecting b woke after %.2f s" % w); n += 1
        # no notifications at all: b reads the log once a second
        b.stop()
        b = h.Server(data_dir=d2, extra_args=args("b") + ["--replica-poll-only"], keep=True).start()
        polls = []
        for i in range(4):
            w, gen = parked_wake(a, b, ag, 1 + i, gen)
            polls.append(w)
        print("notifications_lost_poll_catches_up: poll-only trials=%d max_s=%.3f"
              % (len(polls), max(polls)))
        h.check(max(polls) < 2.0 * SLOW, "poll-only b woke after %.2f s" % max(polls)); n += 1
        h.check(metric(b, "cellgate_replica_listening") == 0 and
                metric(b, "cellgate_replica_wakeups_total") == 0, "poll-only b listens"); n += 1

        # reports_cross_replicas
        rep = {"host": "hb1", "cell": "c1", "seq": 1, "window_ms": 10000,
               "configs": [{"config": "app", "version": 4, "generation": gen,
                            "outcome": "applied", "lkg_version": 4, "lkg_generation": gen}],
               "health": {"requests": 700, "errors": 7}}
        req_a = metric(a, "cellgate_agent_requests_total")
        st, body = b.api("POST", "/v1/agent/report", rep, token=ag)
        h.check(st == 204, "report to b: %s %s" % (st, body))
        t0 = time.time()
        seen = None
        while time.time() - t0 < 5 * SLOW:
            st, hs = a.api("GET", "/v1/hosts?cell=c1")
            if st == 200 and any(x["host"] == "hb1" for x in hs["hosts"]):
                seen = time.time() - t0
                break
            time.sleep(0.05)
        h.check(seen is not None, "a never saw host hb1 that reported to b"); n += 1
        print("reports_cross_replicas: seen on a after %.3f s" % seen)
        hb = [x for x in hs["hosts"] if x["host"] == "hb1"][0]
        h.check(hb["configs"] and hb["configs"][0]["version"] == 4,
                "a's view of hb1: %s" % hb); n += 1
        h.check(metric(a, "cellgate_agent_requests_total") - req_a == 700,
                "a's fleet sums: %s" % (metric(a, "cellgate_agent_requests_total") - req_a))
        n += 1
        h.check(metric(b, "cellgate_replica_relayed_reports_total{direction=\"out\"}") >= 1,
                "b relayed nothing"); n += 1
        time.sleep(1.5)  # a's own relay of nothing, b's of one: counted once
        h.check(metric(a, "cellgate_agent_requests_total") - req_a == 700, "counted twice"); n += 1

        # revoked_token_refused_everywhere
        st, t = a.api("POST", "/v1/tokens", {"name": "rd1", "role": "reader"})
        st, _ = b.api("GET", "/v1/whoami", token=t["token"])
        h.check(st == 200, "the reader works on b: %s" % st)
        st, _ = a.api("DELETE", "/v1/tokens/%d" % t["id"])
        t0 = time.time()
        while time.time() - t0 < 5 * SLOW:
            st, _ = b.api("GET", "/v1/whoami", token=t["token"])
            if st == 401:
                break
            time.sleep(0.05)
        h.check(st == 401, "b still takes the revoked token"); n += 1
        print("revoked_token_refused_everywhere: refused on b after %.3f s" % (time.time() - t0))

        # released_host_claim_refused_everywhere: ag owns hb1 (its report to
        # b above claimed it, and b cached that); an admin releases hb1
        # through a and a new agent credential claims it through a; b must
        # then refuse ag as hb1 (before, b's cached claim kept taking it
        # until a restart: two credentials reporting as one host)
        st, t2 = a.api("POST", "/v1/tokens", {"name": "ag2", "role": "agent", "cell": "c1"})
        ag2 = t2["token"]
        st, _ = b.api("POST", "/v1/agent/report", dict(rep, seq=2, health={}), token=ag)
        h.check(st == 204, "ag reports as hb1 on b: %s" % st)
        st, _ = a.api("DELETE", "/v1/hosts/hb1")
        h.check(st in (200, 204), "release hb1 through a: %s" % st)
        st, body = a.api("POST", "/v1/agent/report", dict(rep, seq=3, health={}), token=ag2)
        h.check(st == 204, "ag2 claims hb1 through a: %s %s" % (st, body))
        t0 = time.time()
        while time.time() - t0 < 5 * SLOW:
            st, _ = b.api("POST", "/v1/agent/report", dict(rep, seq=4, health={}), token=ag)
            if st == 403:
                break
            time.sleep(0.05)
        h.check(st == 403, "b still takes ag as hb1 after the release: %s" % st); n += 1
        st, _ = b.api("POST", "/v1/agent/report", dict(rep, seq=5, health={}), token=ag2)
        h.check(st == 204, "b takes hb1's new credential: %s" % st); n += 1
        print("released_host_claim_refused_everywhere: refused on b after %.3f s"
              % (time.time() - t0))
    finally:
        for s in (a, b):
            s.stop()
shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks" % n)
