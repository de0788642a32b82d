# SPDX-License-Identifier: MIT
"""Rollouts through faults of the replicas and of PostgreSQL (issue 11):
two cellgated replicas on one real PostgreSQL; replica a reaches it
through a TCP proxy (tests/helpers/tcpproxy.py) that can cut the path.
Synthetic hosts report to both replicas in turn, so the leader's gates
judge health relayed from the other one. One rollout per fault, each must
complete:

- leader_sigkill_mid_rollout: SIGKILL of the leader after the canary
  started; the other leads within ttl + one renewal and finishes it.
- paused_leader_lands_nothing: a leader that stalls before each fenced
  write (--fault-controller-delay) is SIGSTOPped past its lease, the other
  takes over and acts, then the paused one is SIGCONTed: every write it
  sends late is refused by PostgreSQL, none lands
  (cellgate_controller_late_writes_total).
- sessions_terminated: pg_terminate_backend of every cellgated session.
- postgres_restarted: PostgreSQL itself restarted mid-rollout.
- partition_heals: the path between a and PostgreSQL blackholed (bytes
  held, connections open) past the lease, then healed; if a led, b takes
  over; a's stale writes are refused.

Afterwards, over every rollout: no step started twice, steps in order,
every cell assigned once per rollout, the config's generation is one per
assignment change, and the audit chain verifies."""
import atexit, json, os, shutil, signal, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver
import tcpproxy

SLOW = 3 if h.SANITIZED else 1
TTL_MS = 1500
CELLS = ["r%d-z%d-c0" % (r, z) for r in range(2) for z in range(3)]
n = 0


def api(s, method, path, body=None, timeout=2):
    st, _, data = s.request(method, path, body, timeout=timeout)
    return st, (json.loads(data) if data else None)


def metric(s, name):
    st, _, m = s.request("GET", "/metrics", timeout=10)
    for line in m.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no metric %s" % name)


def cluster(s):
    try:
        st, b = api(s, "GET", "/v1/cluster")
        return b if st == 200 else None
    except OSError:
        return None


def leader(reps, not_id=None, secs=15):
    end = time.time() + secs * SLOW
    while time.time() < end:
        for s in reps:
            b = cluster(s)
            if b and b["leader"] and b["leader"] != not_id and b["lease"]["live"]:
                for r in reps:
                    if r.rid == b["leader"]:
                        return r, b["term"]
        time.sleep(0.05)
    h.fail("no live leader other than %s" % not_id)


class Reporter:
    """One host per cell; each round reports every host's assignment as
    applied, alternately to each live replica."""

    def __init__(self, reps):
        self.reps, self.stop, self.rounds = reps, threading.Event(), 0
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        seq = 0
        while not self.stop.is_set():
            seq += 1
            for k, s in enumerate(self.reps):
                try:
                    st, b = api(s, "GET", "/v1/configs/app/assignments")
                    if st != 200:
                        continue
                    cur = {a["cell"]: a for a in b["assignments"]}
                    for i, c in enumerate(CELLS):
                        if (i + seq) % len(self.reps) != k:
                            continue  # this host reports to the other replica this round
                        a = cur.get(c)
                        cfgs = [] if not a else [{
                            "config": "app", "version": a["version"],
                            "generation": a["generation"], "outcome": "applied",
                            "lkg_version": a["version"], "lkg_generation": a["generation"]}]
                        api(s, "POST", "/v1/agent/report",
                              {"host": c + "-h0", "cell": c, "seq": seq, "window_ms": 200,
                               "configs": cfgs, "health": {"requests": 50, "errors": 0}})
                except (OSError, TypeError, AttributeError, ValueError):
                    pass  # that replica is down or stopped: the host fails over
            self.rounds += 1
            time.sleep(0.15)


def start_rollout(reps, version):
    for _ in range(100):
        for s in reps:
            try:
                st, _ = s.api("POST", "/v1/configs/app/versions", {"v": version})
                if st != 201:
                    continue
                for _ in range(50):   # 503: the store did not answer; retry as told
                    st, b = s.api("POST", "/v1/rollouts",
                                  {"config": "app", "version": version, "reason": "fault test"})
                    if st != 503:
                        break
                    time.sleep(0.2)
                h.check(st == 201, "rollout start %s %s" % (st, b))
                return b["id"]
            except OSError:
                pass
        time.sleep(0.2)
    h.fail("could not start a rollout of v%d" % version)


def rollout(reps, rid):
    for s in reps:
        try:
            st, b = api(s, "GET", "/v1/rollouts/%d" % rid, timeout=5)
            if st == 200:
                return b
        except OSError:
            pass
    return None


def wait_state(reps, rid, pred, secs, what):
    end = time.time() + secs * SLOW
    b = None
    while time.time() < end:
        b = rollout(reps, rid) or b
        if b and pred(b):
            return b
        time.sleep(0.1)
    h.fail("rollout %d: %s not reached: %s" % (rid, what, json.dumps(b)[-1500:] if b else None))


def started(b):
    return any(e["kind"] == "step.start" for e in b["events"])


def completed(b):
    return b["state"] == "completed"


tmp = tempfile.mkdtemp(prefix="cgfault.")
rollouts = []
with pgserver.PgServer() as pg:
    dsn = pg.create_db("cg")
    proxy = tcpproxy.TcpProxy(("127.0.0.1", pg.port))
    dsn_a = dsn.replace(":%d/" % pg.port, ":%d/" % proxy.port)
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

    spawned = []

    def stop_all():
        """Every replica this test started, also when a check fails."""
        for s in spawned:
            if s.proc and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGCONT)
                s.stop()

    atexit.register(stop_all)

    def server(rid, extra=()):
        d, url = (d1, dsn_a) if rid == "a" else (d2, dsn)
        s = h.Server(data_dir=d, keep=True, extra_args=[
            "--store", url, "--replica-id", rid, "--lease-ttl-ms", str(TTL_MS),
            "--tick-ms", "100"] + list(extra))
        s.rid = rid
        spawned.append(s)
        return s.start()

    a, b = server("a"), server("b")
    reps = [a, b]
    rep = None
    try:
        for c in CELLS:
            st, _ = a.api("POST", "/v1/cells", {"id": c, "region": c[:2], "zone": c[:5]})
            h.check(st == 201, "cell %s: %s" % (c, st))
        plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 20},
                          {"name": "half", "percent": 50, "bake_s": 1, "min_requests": 20},
                          {"name": "rest", "percent": 100, "bake_s": 0, "min_requests": 20}],
                "gates": {"error_rate": {"max": 0.5}}, "stuck_timeout_s": 600}
        st, _ = a.api("PUT", "/v1/plans/waves", plan)
        h.check(st == 201, "plan: %s" % st)
        st, _ = a.api("POST", "/v1/configs", {"name": "app", "plan": "waves",
                                              "contract": {"schema": {"type": "object"}}})
        h.check(st == 201, "config: %s" % st)
        rep = Reporter(reps)
        version = 0

        # leader_sigkill_mid_rollout
        version += 1
        rid = start_rollout(reps, version)
        rollouts.append(rid)
        wait_state(reps, rid, started, 30, "canary started")
        lead, term = leader(reps)
        other = b if lead is a else a
        t0 = time.time()
        lead.proc.send_signal(signal.SIGKILL)
        lead.proc.wait(10)
        new, term2 = leader([other], not_id=lead.rid)
        took = time.time() - t0
        h.check(term2 > term and took < (TTL_MS * 4 / 3) / 1000.0 + 1.0 * SLOW,
                "takeover after SIGKILL: %.2f s, term %d -> %d" % (took, term, term2)); n += 1
        lead.start()
        wait_state(reps, rid, completed, 60, "completed after the leader's SIGKILL")
        rep.reps = reps
        print("leader_sigkill_mid_rollout: takeover %.2f s (ttl %.1f s), term %d -> %d, "
              "completed" % (took, TTL_MS / 1000.0, term, term2)); n += 1

        # paused_leader_lands_nothing: a leads, stalled before each fenced
        # write; it is stopped inside such a stall (its write counter just
        # moved), b takes over and acts, a is woken and sends the write
        late_refused = 0
        for trial in range(4):
            a.stop()
            a = server("a", ["--fault-controller-delay", "1200"])
            reps[0] = a
            b.stop()
            leader([a])
            b = server("b")
            reps[1] = b
            rep.reps = reps
            version += 1
            w0 = metric(a, "cellgate_controller_fenced_writes_total")
            rid = start_rollout(reps, version)
            rollouts.append(rid)
            end = time.time() + 20 * SLOW
            while time.time() < end and metric(a, "cellgate_controller_fenced_writes_total") == w0:
                time.sleep(0.02)
            a.proc.send_signal(signal.SIGSTOP)
            try:
                leader([b], not_id="a")
                acted = metric(b, "cellgate_controller_fenced_writes_total")
                end = time.time() + 10 * SLOW
                while time.time() < end and metric(b, "cellgate_controller_fenced_writes_total") == acted:
                    time.sleep(0.05)
                h.check(metric(b, "cellgate_controller_fenced_writes_total") > acted,
                        "b took over but never acted")
            finally:
                a.proc.send_signal(signal.SIGCONT)
            time.sleep(2.0 * SLOW)  # a finishes its stalled write
            refused = metric(a, 'cellgate_controller_late_writes_total{outcome="refused"}')
            landed = metric(a, 'cellgate_controller_late_writes_total{outcome="landed"}')
            print("paused trial %d: late writes of a refused=%d landed=%d" % (trial, refused, landed))
            h.check(landed == 0, "the paused leader landed %d late writes" % landed)
            late_refused += refused
            wait_state(reps, rid, completed, 90, "completed after the paused leader woke")
            if late_refused >= 1:
                break
        h.check(late_refused >= 1, "the paused leader never sent a late write (%d trials)"
                % (trial + 1)); n += 1
        print("paused_leader_lands_nothing: trials=%d late_writes_refused=%d landed=0"
              % (trial + 1, late_refused)); n += 1
        a.stop()
        a = server("a")
        reps[0] = a
        rep.reps = reps

        # sessions_terminated
        version += 1
        rid = start_rollout(reps, version)
        rollouts.append(rid)
        wait_state(reps, rid, started, 30, "canary started")
        killed = pg.psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE application_name LIKE 'cellgated%'", db="cg")
        h.check(int(killed) >= 4, "terminated %s sessions" % killed)
        wait_state(reps, rid, completed, 60, "completed after pg_terminate_backend")
        print("sessions_terminated: %s sessions, completed" % killed); n += 1

        # postgres_restarted
        version += 1
        rid = start_rollout(reps, version)
        rollouts.append(rid)
        wait_state(reps, rid, started, 30, "canary started")
        pg.restart()
        wait_state(reps, rid, completed, 90, "completed after PostgreSQL restarted")
        print("postgres_restarted: completed"); n += 1

        # partition_heals: a leads when its path is cut
        b.stop()
        leader([a])
        b = server("b")
        reps[1] = b
        rep.reps = reps
        version += 1
        rid = start_rollout(reps, version)
        rollouts.append(rid)
        wait_state(reps, rid, started, 30, "canary started")
        lead, term = leader(reps)
        proxy.blackhole()
        try:
            if lead is a:
                new, term2 = leader([b], not_id="a", secs=20)
                h.check(term2 > term, "b leads under a new term")
            time.sleep(TTL_MS / 1000.0 * 2)
        finally:
            proxy.heal()
        wait_state(reps, rid, completed, 120, "completed after the partition healed")
        end = time.time() + 30 * SLOW
        while time.time() < end and cluster(a) is None:
            time.sleep(0.2)
        landed = metric(a, 'cellgate_controller_late_writes_total{outcome="landed"}')
        h.check(landed == 0, "a landed %d late writes after the partition" % landed); n += 1
        print("partition_heals: a led=%s, late writes of a refused=%d landed=0"
              % (lead is a, metric(a, 'cellgate_controller_late_writes_total{outcome="refused"}')))
        n += 1
    finally:
        if rep:
            rep.stop.set()
            rep.th.join(10)
        for s in (a, b):
            if s.proc and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGCONT)
        survivor = b if (b.proc and b.proc.poll() is None) else a

    # the invariants over every rollout
    recs = h.audit_all(survivor)
    bad = h.audit_verify(recs)
    h.check(bad is None, "audit chain broken at %s" % bad); n += 1
    r = survivor.cli("audit", "verify")
    h.check(r.returncode == 0, "audit verify: %r" % r.stdout); n += 1
    for rid in rollouts:
        st, ro = survivor.api("GET", "/v1/rollouts/%d" % rid)
        starts = [e["detail"]["step"] for e in ro["events"] if e["kind"] == "step.start"]
        h.check(len(starts) == len(set(starts)), "rollout %d started a step twice: %s" % (rid, starts))
        h.check(starts == sorted(starts), "rollout %d steps out of order: %s" % (rid, starts))
        seen = set()
        for e in ro["events"]:
            if e["kind"] == "step.start":
                cells = set(e["detail"]["cells"])
                h.check(not (cells & seen), "rollout %d assigned %s twice" % (rid, cells & seen))
                seen |= cells
        h.check(seen == set(CELLS), "rollout %d did not cover the fleet" % rid)
        h.check(ro["state"] == "completed", "rollout %d: %s" % (rid, ro["state"]))
    n += 1
    st, cfg = survivor.api("GET", "/v1/configs/app")
    steps = sum(1 for x in recs if x["action"] == "rollout.step")
    h.check(cfg["generation"] == steps, "generation %d for %d steps (I2)" % (cfg["generation"], steps))
    n += 1
    for s in (a, b):
        s.stop()
    proxy.close()
shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks, %d rollouts" % (n, len(rollouts)))
