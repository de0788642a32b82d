#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/failover.py: leader takeover time after SIGKILL, many times.

Called by bench_failover in bench/run.sh (which starts PostgreSQL and
records the figure); runs alone too, given an empty database:

    bench/failover.py --build build --dsn postgres://cellgate@127.0.0.1:PORT/db \\
                      --work /tmp/x [--replicas 3] [--ttl-ms 1500] [--kills 20]

`cellgated init --store DSN` once, then REPLICAS replicas r0.. serving it
with --lease-ttl-ms TTL on 127.0.0.1 ephemeral ports. KILLS times: find the
leader (GET /v1/cluster), wait a random part of the renewal period (the kill
lands anywhere in the leader's renewal cycle; seeded), SIGKILL it, poll the
survivors every 10 ms until one of them leads, restart the killed one under
its id (it follows) and wait until it is back in the list. The takeover is
measured from the kill to the new term's "acquired" time, which the store
stamps with PostgreSQL's clock: the same machine's clock as the kill's, so
the poll interval does not enter it ("seen" is when a poll first showed the
new leader). After the last kill the audit chain is verified through a
replica (`cellgate audit verify`) and its lease.acquire records counted.

The bound: a replica renews every ttl/3, so a dead leader's lease runs out
at most ttl after the kill and a survivor's next attempt comes at most
ttl/3 after that: takeover <= ttl + ttl/3 = ttl * 4/3 (2,000 ms at 1,500).

Every process it starts is stopped by PID; every wait is bounded. Prints a
KILL line per kill on stderr and one "FIGURE failover ..." line on stdout.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time

PROCS = {}  # replica id -> Popen; stopped by PID at exit


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def die(msg):
    log("failover: " + msg)
    cleanup()
    sys.exit(1)


def cleanup():
    for p in PROCS.values():
        if p.poll() is None:
            p.terminate()
    for p in PROCS.values():
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)


class Replicas:
    def __init__(self, a):
        self.a = a
        self.bin = os.path.join(a.build, "server", "cellgated")
        self.ports = {}
        self.token = None

    def init(self):
        d0 = os.path.join(self.a.work, "r0")
        r = subprocess.run([self.bin, "init", "--store", self.a.dsn, "--data", d0],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            die("init --store: " + r.stderr)
        self.token = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
                      if l.startswith("admin token")][0]
        for k in range(1, self.a.replicas):
            d = os.path.join(self.a.work, "r%d" % k)
            os.makedirs(d, exist_ok=True)
            shutil.copy(os.path.join(d0, "signing.key"), d)

    def start(self, rid):
        d = os.path.join(self.a.work, rid)
        pf = d + ".port"
        if os.path.exists(pf):
            os.unlink(pf)
        with open(d + ".log", "ab") as lf:
            PROCS[rid] = subprocess.Popen(
                [self.bin, "serve", "--store", self.a.dsn, "--data", d, "--replica-id", rid,
                 "--lease-ttl-ms", str(self.a.ttl_ms), "--listen", "127.0.0.1:0",
                 "--port-file", pf], stdin=subprocess.DEVNULL, stdout=lf, stderr=lf)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            if PROCS[rid].poll() is not None:
                die("replica %s exited (%s); see %s.log" % (rid, PROCS[rid].returncode, d))
            try:
                self.ports[rid] = int(open(pf).read().strip())
                return
            except (OSError, ValueError):
                time.sleep(0.02)
        die("replica %s did not listen within 30 s" % rid)

    def cluster(self, rid, timeout=1.0):
        """GET /v1/cluster through replica rid; None when it does not answer."""
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.ports[rid], timeout=timeout)
            c.request("GET", "/v1/cluster", headers={"Authorization": "Bearer " + self.token})
            r = c.getresponse()
            body = r.read()
            c.close()
            return json.loads(body) if r.status == 200 else None
        except (OSError, ValueError, http.client.HTTPException):
            return None

    def live(self):
        return [r for r, p in PROCS.items() if p.poll() is None]


def acquired_s(lease):
    t = datetime.datetime.strptime(lease["acquired"], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--ttl-ms", type=int, default=1500)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    os.makedirs(a.work, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(143)))
    rnd = random.Random(a.seed)
    renew_ms = a.ttl_ms // 3
    goal_ms = a.ttl_ms + renew_ms
    t_start = time.monotonic()

    rs = Replicas(a)
    rs.init()
    ids = ["r%d" % k for k in range(a.replicas)]
    for rid in ids:
        rs.start(rid)

    def settled(secs=20):
        """Every replica listed and answering, one of them leading: (leader, term)."""
        end = time.monotonic() + secs
        while time.monotonic() < end:
            views = [rs.cluster(r) for r in ids]
            if all(views) and all(len(v["replicas"]) == len(ids) and v["this"]["last_ok_age_ms"] >= 0
                                  for v in views):
                leaders = {(v["leader"], v["term"]) for v in views}
                if len(leaders) == 1 and None not in next(iter(leaders)):
                    return next(iter(leaders))
            time.sleep(0.05)
        die("the replicas did not settle on one leader with all %d listed within %d s"
            % (len(ids), secs))

    took, seen = [], []
    for k in range(a.kills):
        old, term = settled()
        # land anywhere in the leader's renewal cycle
        time.sleep(rnd.uniform(0, renew_ms / 1000.0))
        survivors = [r for r in ids if r != old]
        t_kill = time.time()
        PROCS[old].send_signal(signal.SIGKILL)
        PROCS[old].wait(10)
        new = None
        deadline = time.monotonic() + (3 * a.ttl_ms) / 1000.0 + 10
        while new is None and time.monotonic() < deadline:
            for r in survivors:
                v = rs.cluster(r, timeout=0.5)
                if v and v["leader"] and v["leader"] != old:
                    new, term2, t_seen = v["leader"], v["term"], time.time()
                    t_acq = acquired_s(v["lease"])
                    break
            else:
                time.sleep(0.01)
        if new is None:
            die("kill %d: no replica took the lease of %s within %.0f s"
                % (k + 1, old, 3 * a.ttl_ms / 1000.0 + 10))
        took.append((t_acq - t_kill) * 1000.0)
        seen.append((t_seen - t_kill) * 1000.0)
        log("KILL %d old=%s term=%d new=%s term=%d takeover_ms=%.0f seen_ms=%.0f"
            % (k + 1, old, term, new, term2, took[-1], seen[-1]))
        rs.start(old)  # back under its id: it follows
    settled()

    # the audit chain through one replica, and the leadership changes in it
    url = "http://127.0.0.1:%d" % rs.ports[ids[0]]
    env = dict(os.environ, CELLGATE_TOKEN=rs.token)
    cli = os.path.join(a.build, "cli", "cellgate")
    r = subprocess.run([cli, "--server", url, "audit", "verify"], capture_output=True, text=True,
                       env=env, timeout=120)
    audit_ok = r.returncode == 0
    if not audit_ok:
        log("audit verify: " + r.stdout + r.stderr)
    r = subprocess.run([cli, "--server", url, "--json", "audit", "--limit", "1000"],
                       capture_output=True, text=True, env=env, timeout=120)
    try:
        acquires = sum(1 for x in json.loads(r.stdout)["records"]
                       if x["action"] == "lease.acquire")
    except (ValueError, KeyError):
        acquires = -1
    cleanup()

    s = sorted(took)
    med, mx = statistics.median(s), s[-1]
    p90 = s[min(len(s) - 1, int(0.9 * len(s) + 0.999999) - 1)]
    ok = "yes" if mx <= goal_ms and audit_ok and acquires == a.kills + 1 else "no"
    print("FIGURE failover kills=%d replicas=%d ttl_ms=%d renew_ms=%d goal_ms=%d "
          "median_ms=%.0f p90_ms=%.0f max_ms=%.0f min_ms=%.0f seen_median_ms=%.0f seen_max_ms=%.0f "
          "leases_audited=%d audit_ok=%s ok=%s run_s=%.0f"
          % (a.kills, a.replicas, a.ttl_ms, renew_ms, goal_ms, med, p90, mx, s[0],
             statistics.median(seen), max(seen), acquires, "yes" if audit_ok else "no", ok,
             time.monotonic() - t_start))


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
