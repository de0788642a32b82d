# SPDX-License-Identifier: MIT
"""Two cellgated replicas on one real PostgreSQL (tests/helpers/pgserver.py):
`init --store` once, each replica with a copy of the signing key; both
serve the whole API on the shared store and agree on one leader; a write
through one is read through the other, an assign through one reaches the
agents of the other, a token revoked through one is refused by the other; SIGKILL of the leader: the other
leads within the lease ttl plus one renewal; SIGSTOP of the leader past its
lease: the other takes over, and the woken one steps down (its term is
over); a drill recorded through one replica is in the other's /metrics
within seconds; a replica with another signing key is refused; the audit chain of
the shared store verifies."""
import os, shutil, signal, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver

TTL_MS = 1500
SLOW = 3 if h.SANITIZED else 1
n = 0


def leader_of(s):
    st, b = s.api("GET", "/v1/cluster")
    h.check(st == 200, "GET /v1/cluster: %s" % st)
    return b


def wait_leader(servers, not_id=None, secs=10):
    end = time.time() + secs * SLOW
    while time.time() < end:
        for s in servers:
            try:
                b = leader_of(s)
            except Exception:
                continue
            if b["leader"] and b["leader"] != not_id:
                return b["leader"], b["term"], time.time()
        time.sleep(0.05)
    h.fail("no leader other than %s within %d s" % (not_id, secs))


tmp = tempfile.mkdtemp(prefix="cgha.")
with pgserver.PgServer() as pg:
    dsn = pg.create_db("cg")
    d1, d2 = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    r = subprocess.run([h.SERVER_BIN, "init", "--store", dsn, "--data", d1],
                       capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 0 and "admin token" in r.stdout, "init --store: %r" % r.stderr)
    token = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
             if l.startswith("admin token")][0]
    h.check(dsn not in r.stdout or "***" not in dsn, "the DSN is printed"); n += 1
    r = subprocess.run([h.SERVER_BIN, "init", "--store", dsn, "--data", d1],
                       capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 0 and "admin token" not in r.stdout, "second init: %r" % r.stdout)
    n += 1
    os.makedirs(d2)
    # without the key: refused
    r = subprocess.run([h.SERVER_BIN, "serve", "--store", dsn, "--data", d2, "--listen",
                        "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 1 and "signing key" in r.stderr, "no key: %r" % r.stderr); n += 1
    shutil.copy(os.path.join(d1, "signing.key"), d2)
    for d in (d1, d2):
        open(os.path.join(d, "admin.token"), "w").write(token)
    args = lambda rid: ["--store", dsn, "--replica-id", rid, "--lease-ttl-ms", str(TTL_MS),
                        "--drill-poll", "200"]
    a = h.Server(data_dir=d1, extra_args=args("a"), keep=True).start()
    b = h.Server(data_dir=d2, extra_args=args("b"), keep=True).start()
    try:
        lead, term, _ = wait_leader([a, b])
        ba, bb = leader_of(a), leader_of(b)
        h.check(ba["leader"] == bb["leader"] == lead and
                sorted(x["id"] for x in ba["replicas"]) == ["a", "b"],
                "the replicas disagree: %s %s" % (ba, bb)); n += 1

        # a write through one replica is read through the other
        st, _ = a.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
        h.check(st == 201, "cell through a: %s" % st)
        st, c = b.api("GET", "/v1/cells/c1")
        h.check(st == 200 and c["zone"] == "z1", "cell through b: %s" % st); n += 1
        st, _ = b.api("POST", "/v1/configs", {"name": "app", "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})
        h.check(st == 201, "config through b: %s" % st)
        st, c = a.api("GET", "/v1/configs/app")
        h.check(st == 200, "config through a: %s" % st); n += 1

        # a change through one replica reaches the other's agents: the
        # desired state of a cell on b follows an assign made through a
        st, _, _ = a.request("POST", "/v1/configs/app/versions?message=v",
                             __import__("json").dumps(h.features(60)),
                             headers={"Content-Type": "application/json"})
        h.check(st == 201, "publish through a: %s" % st)
        st, t = a.api("POST", "/v1/tokens", {"name": "ag1", "role": "agent", "cell": "c1"})
        ag = t["token"]
        t0 = time.time()
        while time.time() - t0 < 5 * SLOW:   # the cell added through a reaches b
            st, d = b.api("GET", "/v1/agent/desired?cell=c1", token=ag)
            if st == 200:
                break
            time.sleep(0.05)
        h.check(st == 200 and d["assignments"] == [], "desired before: %s %s" % (st, d)); n += 1
        st, _ = a.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1"],
                                                         "expect_generation": 0})
        h.check(st == 201, "assign through a: %s" % st)
        t0 = time.time()
        seen = None
        while time.time() - t0 < 5 * SLOW:
            st, d = b.api("GET", "/v1/agent/desired?cell=c1", token=ag)
            if st == 200 and d["assignments"]:
                seen = time.time() - t0
                break
            time.sleep(0.05)
        h.check(seen is not None and seen < 3 * SLOW, "b served the assign after %s s" % seen)
        n += 1
        print("assign through a, desired on b after %.2f s" % seen)
        # a token revoked through a is refused by b within seconds
        st, t = a.api("POST", "/v1/tokens", {"name": "rd1", "role": "reader"})
        st, _ = b.api("GET", "/v1/whoami", token=t["token"])
        h.check(st == 200, "the reader works on b: %s" % st)
        st, _ = a.api("DELETE", "/v1/tokens/%d" % t["id"])
        h.check(st == 204, "revoke through a: %s" % st)
        t0 = time.time()
        while time.time() - t0 < 5 * SLOW:
            st, _ = b.api("GET", "/v1/whoami", token=t["token"])
            if st == 401:
                break
            time.sleep(0.1)
        h.check(st == 401 and time.time() - t0 < 3 * SLOW, "b still takes the revoked token")
        n += 1

        # a drill recorded through a reaches b's /metrics (docs/drills.md):
        # every replica reads the runs recorded since its last look on each
        # tick of its schedule thread, not only at its start
        def drill_series(s):
            st, _, m = s.request("GET", "/metrics")
            return [l for l in m.decode().splitlines() if l.startswith(
                'cellgate_drill_last_success_timestamp_seconds{config="app",')]
        h.check(drill_series(b) == [], "b has a drill series before any drill")
        st, _ = a.api("PUT", "/v1/plans/p", {
            "waves": [{"name": "all", "percent": 100, "bake_s": 600}],
            "gates": {"error_rate": {"max": 0.02}}, "stuck_timeout_s": 3600})
        h.check(st in (200, 201), "plan through a: %s" % st)
        st, d = a.api("POST", "/v1/configs/app/drills",
                      {"scenario": "invalid-document", "plan": "p"})
        h.check(st == 200 and d["drills"][0]["id"] > 0, "drill through a: %s %s" % (st, d))
        want = drill_series(a)
        h.check(len(want) == 1 and 'scenario="invalid-document"' in want[0],
                "a's series: %s" % want)
        t0 = time.time()
        while time.time() - t0 < 5 * SLOW and drill_series(b) != want:
            time.sleep(0.1)
        h.check(drill_series(b) == want, "b's drill series %s, a's %s" % (drill_series(b), want))
        n += 1
        print("a drill through a in b's /metrics after %.2f s" % (time.time() - t0))

        # SIGKILL of the leader: the other leads within ttl + one renewal
        leader, other = (a, b) if lead == "a" else (b, a)
        t0 = time.time()
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait(10)
        new, term2, t1 = wait_leader([other], not_id=lead, secs=10)
        took = t1 - t0
        h.check(new != lead and term2 > term, "takeover: %s term %s" % (new, term2)); n += 1
        h.check(took < (TTL_MS + TTL_MS / 3) / 1000.0 + 1.0 * SLOW,
                "takeover took %.2f s (ttl %d ms)" % (took, TTL_MS)); n += 1
        print("takeover after SIGKILL: %.2f s (ttl %.1f s)" % (took, TTL_MS / 1000.0))
        leader.start()  # back as a follower
        # SIGSTOP of the new leader past its lease: the restarted one takes over
        cur = other
        cur.proc.send_signal(signal.SIGSTOP)
        try:
            new2, term3, _ = wait_leader([leader], not_id=new, secs=10)
            h.check(new2 == lead and term3 > term2, "takeover from a paused leader: %s %s"
                    % (new2, term3)); n += 1
        finally:
            cur.proc.send_signal(signal.SIGCONT)
        # the woken one does not lead: its term is over
        time.sleep(TTL_MS / 1000.0)
        st, w = cur.api("GET", "/v1/cluster")
        h.check(st == 200 and not w["this"]["is_leader"] and w["leader"] == new2,
                "the woken leader still leads: %s" % w); n += 1
        st, _, m = cur.request("GET", "/metrics")
        h.check(b"cellgate_cluster_is_leader 0" in m, "woken leader metrics"); n += 1

        r = cur.cli("audit", "verify")
        h.check(r.returncode == 0, "audit verify: %r" % r.stdout); n += 1
        st, au = cur.api("GET", "/v1/audit?limit=1000")
        leads = [x for x in au["records"] if x["action"] == "lease.acquire"]
        h.check(len(leads) >= 3, "leadership changes audited: %d" % len(leads)); n += 1
    finally:
        for s in (a, b):
            if s.proc and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGCONT)
            s.stop()
shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks" % n)
