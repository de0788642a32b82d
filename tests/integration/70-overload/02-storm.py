# SPDX-License-Identifier: MIT
"""Reconnect storm, small (issue 6; the full one is `bench/run.sh build storm`):
500 simulated hosts hold v2 of a config; cellgated is SIGKILLed and
restarted on the same data dir and port ~2 s later; 1 s after the restart a
rollback to v1 is issued through the CLI while the fleet reconnects.

Asserts behaviour, not speed (2-core machine, maybe under ASan):
- every host holds its cell's current state again, within a generous bound;
- the request (attempt) rate per 100 ms during the outage and the
  reconnect has no giant spike: its peak stays within a lenient multiple of
  the steady-state mean (a fleet without backoff sends every host's retry
  every 20 ms: 50x);
- the rollback issued during the reconnect is answered and completes, and
  every host ends up running v1 under the rollback's generation;
- the server's open file descriptors stay bounded (about one per host).

The sim writes a CSV trace (--trace-out, one line per 100 ms; docs/sim.md)."""
import csv
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SIM_BIN = os.path.join(harness.BIN_DIR, "sim", "cellgate-sim")
SLOW = 3 if harness.SANITIZED else 1
SHAPE = (5, 4, 5, 5)  # regions, zones, cells, hosts per cell
HOSTS = SHAPE[0] * SHAPE[1] * SHAPE[2] * SHAPE[3]
CONTRACT = {"media_type": "application/json",
            "schema": {"type": "object", "required": ["service", "revision"]},
            "max_bytes": 65536}
PLAN = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1},
                  {"name": "rest", "percent": 100, "bake_s": 1}],
        "gates": {"min_converged": 0.5},
        "stuck_timeout_s": 300, "on_stuck": "halt", "on_gate_failure": "halt"}


def trace(path):
    try:
        with open(path) as f:
            return [{k: int(v) for k, v in r.items()} for r in csv.DictReader(f)
                    if r.get("hosts_newest") not in (None, "")]
    except (OSError, ValueError):
        return []


def wait_for(pred, secs, what):
    end = time.time() + secs * SLOW
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    harness.fail("timed out waiting for " + what)


def rollout_to(s, version):
    st, b = s.api("POST", "/v1/rollouts", {"config": "storm", "version": version, "reason": "t"})
    harness.check(st == 201, "rollout start: %s %s" % (st, b))
    rid = b["id"]

    def done():
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        harness.check(st == 200 and b["state"] in ("running", "completed"),
                      "rollout %d: %s %s" % (rid, st, b.get("state")))
        return b["state"] == "completed"
    wait_for(done, 60, "rollout %d to complete" % rid)


class FdSampler(threading.Thread):
    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.fds, self.halt = s, [], False

    def run(self):
        while not self.halt:
            p = self.s.proc
            if p is not None and p.poll() is None:
                try:
                    self.fds.append(len(os.listdir("/proc/%d/fd" % p.pid)))
                except OSError:
                    pass
            time.sleep(0.2)


passed = 0
with harness.Server(extra_args=["--tick-ms", "200"]) as s:
    work = s.data_dir
    tr = os.path.join(work, "sim.trace.csv")
    log = open(os.path.join(work, "sim.log"), "wb")
    st, b = s.api("POST", "/v1/configs", {"name": "storm", "kind": "config", "contract": CONTRACT})
    harness.check(st == 201, "config: %s %s" % (st, b))
    for i in (1, 2):
        st, b = s.api("POST", "/v1/configs/storm/versions", {"service": "edge", "revision": i})
        harness.check(st == 201, "publish: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/plans/p", PLAN)
    harness.check(st in (200, 201), "plan: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/configs/storm/plan", {"plan": "p"})
    harness.check(st == 200, "set plan: %s %s" % (st, b))
    sim = subprocess.Popen(
        [SIM_BIN, "--server", s.url, "--token", s.admin_token,
         "--regions", str(SHAPE[0]), "--zones", str(SHAPE[1]), "--cells", str(SHAPE[2]),
         "--hosts", str(SHAPE[3]), "--rps", "10", "--report-ms", "2000", "--wait", "4",
         "--startup-ms", "1000", "--apply-delay-ms", "50", "--backoff-cap-ms", "4000",
         "--monitor-ms", "0", "--summary-ms", "0", "--trace-out", tr,
         "--token-prefix", "t702", "--duration", str(240 * SLOW)],
        stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
    fds = FdSampler(s)
    fds.start()
    try:
        wait_for(lambda: (trace(tr) or [{}])[-1].get("hosts_ok") == HOSTS, 30,
                 "every simulated host to poll")
        rollout_to(s, 1)
        rollout_to(s, 2)
        wait_for(lambda: (lambda r: r and r[-1]["newest_version"] == 2 and
                          r[-1]["hosts_newest"] == HOSTS)(trace(tr)), 30, "every host on v2")
        passed += 1

        time.sleep(3)  # steady state
        t_kill = time.time()
        port = s.port
        s.kill9()
        time.sleep(2)
        s.extra_args += ["--listen", "127.0.0.1:%d" % port]  # the last --listen wins
        s.start()
        harness.check(s.port == port, "restarted on port %s, not %s" % (s.port, port))
        t_up = time.time()
        time.sleep(1)
        t0 = time.time()
        r = s.cli("rollback", "storm", "--to", "1", "-m", "rollback during the reconnect",
                  timeout=60 * SLOW)
        api_s = time.time() - t0
        harness.check(r.returncode == 0, "rollback during the storm: %s %s" % (r.stdout, r.stderr))
        harness.check(api_s < 30 * SLOW, "rollback answered after %.1fs" % api_s)

        def rolled_back():
            st, b = s.api("GET", "/v1/rollouts")
            harness.check(st == 200, "rollouts: %s" % st)
            last = max(b["rollouts"], key=lambda x: x["id"])
            harness.check(last["state"] in ("running", "rolling_back", "completed", "rolled_back"),
                          "rollback rollout: %s" % last["state"])
            return last["state"] in ("completed", "rolled_back")
        wait_for(rolled_back, 30, "the rollback to complete")
        passed += 1

        # every host current again, and on v1 under the rollback's generation
        def converged():
            r = trace(tr)
            if r and r[-1]["wall_ms"] > t_up * 1000 and r[-1]["hosts_ok"] == HOSTS and \
                    r[-1]["newest_version"] == 1 and r[-1]["hosts_newest"] == HOSTS:
                return r[-1]
            return None
        last = wait_for(converged, 40, "every host to hold the rollback's statement again")
        rec_s = last["wall_ms"] / 1000.0 - t_up
        passed += 1

        # attempt rate per 100 ms: no giant spike
        rows = trace(tr)
        kill_ms = t_kill * 1000
        deltas = [(b2["wall_ms"], (b2["started"] - a2["started"]) * 100.0 /
                   max(1, b2["t_ms"] - a2["t_ms"])) for a2, b2 in zip(rows, rows[1:])]
        steady = [d for w, d in deltas if kill_ms - 3000 < w <= kill_ms]
        storm = [d for w, d in deltas if kill_ms < w <= last["wall_ms"]]
        mean_steady = sum(steady) / max(1, len(steady))
        peak = max(storm)
        mean_storm = sum(storm) / max(1, len(storm))
        print("storm: %d hosts, recovered %.1fs after restart, rollback answered in %.0f ms; "
              "attempts/100ms steady mean %.1f, storm mean %.1f peak %.1f (peak/steady %.1f, "
              "peak/mean %.1f); server fds max %d" % (
                  HOSTS, rec_s, api_s * 1000, mean_steady, mean_storm, peak,
                  peak / max(mean_steady, 1e-9), peak / max(mean_storm, 1e-9), max(fds.fds)))
        harness.check(peak <= 10 * max(mean_steady, HOSTS / 100.0),
                      "attempt spike: peak %.1f per 100 ms vs steady mean %.1f" % (peak, mean_steady))
        harness.check(mean_storm <= 5 * max(mean_steady, HOSTS / 100.0),
                      "attempts during the storm: mean %.1f per 100 ms vs steady %.1f" %
                      (mean_storm, mean_steady))
        passed += 1
        # fds: parked polls + reports in flight + a few hundred of its own
        harness.check(max(fds.fds) < 2 * HOSTS + 200, "server fds max %d" % max(fds.fds))
        passed += 1
    finally:
        fds.halt = True
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
        try:
            sim.wait(30 * SLOW)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait(10)
        log.close()
    harness.check(sim.returncode == 0, "cellgate-sim exited %s; log:\n%s" % (
        sim.returncode, open(os.path.join(work, "sim.log")).read()[-3000:]))

harness.done("70-overload/02-storm", passed)
