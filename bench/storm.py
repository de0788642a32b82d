#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/storm.py: reconnect storm, rollback during the storm, and the
metastability comparison (issue 6; docs/design.md "The failures it exists
to prevent": the EC2 lease storm).

Called by bench_storm in bench/run.sh (which records the figures); runs
alone too:

    bench/storm.py --build build --work /tmp/x storm        # storm + rollback
    bench/storm.py --build build --work /tmp/x meta         # protections off / server / on

Everything runs on 127.0.0.1: one cellgated (restarted on the same data
dir and port), one cellgate-sim with --trace-out (one CSV line per 100 ms:
requests started, connections opened, polls and reports that succeeded,
hosts whose last poll cycle succeeded, hosts holding the newest
generation). Processes are stopped by PID; every phase is bounded in time.
Prints one "FIGURE name key=value ..." line per figure (bench/run.sh turns
them into figure lines and JSON) and human-readable tables before them.
"""
import argparse
import csv
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTRACT = {"media_type": "application/json",
            "schema": {"type": "object", "required": ["service", "revision"]},
            "max_bytes": 65536}
# Rollouts used only to make v1 and then v2 complete everywhere, so that a
# rollback to v1 is the expedited one-step rollback (docs/api/rollouts.md).
PLAN = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1},
                  {"name": "rest", "percent": 100, "bake_s": 1}],
        "gates": {"min_converged": 0.5},
        "stuck_timeout_s": 600, "on_stuck": "halt", "on_gate_failure": "halt"}

PIDS = []  # every process we started, stopped by PID at exit


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def stop(p, sig=signal.SIGTERM, timeout=20):
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(sig)
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)


def cleanup(*_):
    for p in PIDS:
        stop(p, timeout=10)


class Server:
    def __init__(self, build, data, extra):
        self.bin = os.path.join(build, "server", "cellgated")
        self.data = data
        self.extra = list(extra)
        self.port = 0
        self.token = None
        self.proc = None
        self.log = data + ".log"

    def start(self, timeout=30):
        pf = self.data + ".port"
        if os.path.exists(pf):
            os.unlink(pf)
        lf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [self.bin, "serve", "--data", self.data, "--listen", "127.0.0.1:%d" % self.port,
             "--port-file", pf] + self.extra,
            stdout=lf, stderr=lf, stdin=subprocess.DEVNULL, preexec_fn=raise_nofile)
        PIDS.append(self.proc)
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise SystemExit("cellgated exited: " + open(self.log).read()[-2000:])
            if os.path.exists(pf) and open(pf).read().strip():
                break
            time.sleep(0.02)
        else:
            raise SystemExit("cellgated did not start")
        self.port = int(open(pf).read().strip())
        if self.token is None:
            for _ in range(100):
                for line in open(self.log):
                    if line.startswith("admin token"):
                        self.token = line.split(":", 1)[1].strip()
                if self.token:
                    break
                time.sleep(0.05)
        return self

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def api(self, method, path, body=None, timeout=30):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Authorization": "Bearer " + self.token}
        if body is not None:
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, (json.loads(data) if data and data[:1] in b"{[" else data)
        finally:
            c.close()


class Sampler(threading.Thread):
    """VmRSS and open fds of the current server process every 200 ms."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.rows, self.halt = srv, [], False

    def run(self):
        while not self.halt:
            p = self.srv.proc
            if p is not None and p.poll() is None:
                try:
                    rss = 0
                    for line in open("/proc/%d/status" % p.pid):
                        if line.startswith("VmRSS:"):
                            rss = int(line.split()[1])
                    fds = len(os.listdir("/proc/%d/fd" % p.pid))
                    self.rows.append((time.time(), rss, fds))
                except (OSError, ValueError):
                    pass
            time.sleep(0.2)


class Sim:
    def __init__(self, build, work, srv, shape, args, tag):
        self.trace = os.path.join(work, tag + ".trace.csv")
        self.ready = os.path.join(work, tag + ".ready")
        self.logf = os.path.join(work, tag + ".sim.log")
        r, z, c, h = shape
        self.hosts = r * z * c * h
        cmd = [os.path.join(build, "sim", "cellgate-sim"), "--server", srv.url,
               "--token", srv.token, "--regions", str(r), "--zones", str(z), "--cells", str(c),
               "--hosts", str(h), "--summary-ms", "5000", "--monitor-ms", "0",
               "--trace-out", self.trace, "--ready-file", self.ready,
               "--token-prefix", tag, "--duration", "1200"] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=open(self.logf, "wb"), stdin=subprocess.DEVNULL,
                                     preexec_fn=raise_nofile)
        PIDS.append(self.proc)

    def rows(self):
        try:
            with open(self.trace) as f:
                return [{k: int(v) for k, v in r.items()} for r in csv.DictReader(f)
                        if r.get("hosts_newest") not in (None, "")]
        except (OSError, ValueError):
            return []

    def last(self):
        r = self.rows()
        return r[-1] if r else None

    def wait(self, pred, secs, what):
        end = time.time() + secs
        while time.time() < end:
            if self.proc.poll() is not None:
                raise SystemExit("cellgate-sim exited: " + open(self.logf).read()[-2000:])
            r = self.last()
            if r and pred(r):
                return r
            time.sleep(0.2)
        raise SystemExit("timed out (%ss) waiting for %s; last trace row %s" % (secs, what, self.last()))


def setup_config(srv, versions=2):
    st, b = srv.api("POST", "/v1/configs", {"name": "storm", "kind": "config", "contract": CONTRACT})
    assert st == 201, (st, b)
    for i in range(1, versions + 1):
        st, b = srv.api("POST", "/v1/configs/storm/versions", {"service": "edge", "revision": i})
        assert st == 201, (st, b)
    st, b = srv.api("PUT", "/v1/plans/storm", PLAN)
    assert st in (200, 201), (st, b)
    st, b = srv.api("PUT", "/v1/configs/storm/plan", {"plan": "storm"})
    assert st == 200, (st, b)


def rollout_to(srv, version, secs=120):
    st, b = srv.api("POST", "/v1/rollouts", {"config": "storm", "version": version, "reason": "bench"})
    assert st == 201, (st, b)
    rid, end = b["id"], time.time() + secs
    while time.time() < end:
        try:
            st, b = srv.api("GET", "/v1/rollouts/%d" % rid, timeout=10)
        except OSError as e:
            log("GET /v1/rollouts/%d: %s (server busy), again" % (rid, e))
            continue
        if st == 200 and b["state"] == "completed":
            return
        if st == 200 and b["state"] not in ("running", "waiting_approval"):
            raise SystemExit("rollout %d ended %s: %s" % (rid, b["state"], b.get("evaluation")))
        time.sleep(0.3)
    raise SystemExit("rollout %d did not complete" % rid)


def list_all(srv, path, key, max_pages=10000):
    """Every item of a list route: pages of the server's largest limit
    (1000), following next_after until it is null (docs/api/README.md,
    "Paging"); each request bounded by srv.api's timeout, the walk by
    max_pages. Raises SystemExit on an error answer or a cursor that does
    not advance."""
    items, after = [], None
    sep = "&" if "?" in path else "?"
    for _ in range(max_pages):
        q = "%s%slimit=1000" % (path, sep)
        if after is not None:
            q += "&after=%s" % urllib.parse.quote(str(after), safe="")
        st, b = srv.api("GET", q)
        if st != 200 or not isinstance(b, dict) or not isinstance(b.get(key), list):
            raise SystemExit("GET %s: %s %s" % (q, st, str(b)[:300]))
        items += b[key]
        nxt = b.get("next_after")
        if nxt is None:
            return items
        if not b[key] or nxt == after:
            raise SystemExit("GET %s: the page cursor does not advance (%r)" % (q, nxt))
        after = nxt
    raise SystemExit("GET %s: more than %d pages" % (path, max_pages))


def assign_all(srv, version):
    cells = [c["id"] for c in list_all(srv, "/v1/cells", "cells")]
    st, b = srv.api("POST", "/v1/configs/storm/assign", {"version": version, "cells": cells,
                                                          "force": True, "reason": "storm.py"})
    assert st == 201, (st, b)


# ---- analysis ---------------------------------------------------------------

def per_bucket(rows):
    """Deltas between consecutive trace rows: (t_ms, dt_ms, {col: delta}, row)."""
    out = []
    for a, b in zip(rows, rows[1:]):
        d = {k: b[k] - a[k] for k in ("started", "conns", "polls_ok", "poll_fail",
                                      "reports_ok", "report_fail", "s5xx")}
        out.append((b["t_ms"], b["t_ms"] - a["t_ms"], d, b))
    return out


def goodput(bk):
    return bk[2]["polls_ok"] + bk[2]["reports_ok"]


def window(buckets, t0, t1):
    return [b for b in buckets if t0 < b[0] <= t1]


def rate(buckets, f):
    ms = sum(b[1] for b in buckets)
    return 1000.0 * sum(f(b) for b in buckets) / ms if ms else 0.0


def sim_t(sim, wall):
    """Sim-relative ms of a wall time (the trace carries both clocks)."""
    r = sim.rows()[-1]
    return r["t_ms"] - (r["wall_ms"] - int(wall * 1000))


# ---- the reconnect storm (+ rollback during a second storm) ----------------

def run_storm(a):
    work = a.work
    srv = Server(a.build, os.path.join(work, "cg-storm"), ["--tick-ms", "200"] + a.server_arg)
    srv.start()
    samp = Sampler(srv)
    samp.start()
    setup_config(srv)
    sim = Sim(a.build, work, srv, a.shape, ["--report-ms", str(a.report_ms), "--wait", str(a.wait),
                                           "--startup-ms", "5000", "--rps", "10"] + a.sim_arg, "storm")
    sim.wait(lambda r: r["hosts_ok"] == sim.hosts, 120, "every host to poll")
    rollout_to(srv, 1)
    rollout_to(srv, 2)
    gen = sim.wait(lambda r: r["hosts_newest"] == sim.hosts, 60, "every host on v2")["newest_gen"]
    log("storm: %d hosts hold v2 (generation %d); steady state %ds" % (sim.hosts, gen, a.steady))
    t_steady0 = time.time()
    time.sleep(a.steady)
    t_kill = time.time()
    srv.kill9()
    log("storm: SIGKILL; restart in %ss on port %d" % (a.down, srv.port))
    time.sleep(a.down)
    t_up = time.time()
    srv.start()
    log("storm: restarted (pid %d)" % srv.proc.pid)
    end = time.time() + a.observe
    rec = None
    while time.time() < end:
        r = sim.last()
        if rec is None and r and r["wall_ms"] / 1000.0 > t_up and r["hosts_ok"] == sim.hosts:
            rec = r
        if rec and time.time() > t_up + 35:
            break
        time.sleep(0.2)

    rows = sim.rows()
    bk = per_bucket(rows)
    up_ms, kill_ms, st0_ms = (sim_t(sim, t_up), sim_t(sim, t_kill), sim_t(sim, t_steady0))
    steady = window(bk, st0_ms, kill_ms)
    steady_gp = rate(steady, goodput)
    steady_att = rate(steady, lambda b: b[2]["started"])
    recovery_s = (rec["t_ms"] - up_ms) / 1000.0 if rec else None
    rec_end = up_ms + max(recovery_s or a.observe, 5.0) * 1000
    recw = window(bk, up_ms, rec_end)
    att = [b[2]["started"] * 100.0 / b[1] for b in recw if b[1] > 0]  # per 100 ms
    conn = [b[2]["conns"] * 100.0 / b[1] for b in recw if b[1] > 0]
    ptm = max(att) / (sum(att) / len(att)) if att and sum(att) else None
    ptm_conn = max(conn) / (sum(conn) / len(conn)) if conn and sum(conn) else None
    w30 = window(bk, up_ms, up_ms + 30000)
    gp30 = rate(w30, goodput)
    ok30 = sum(goodput(b) for b in w30)
    fail30 = sum(b[2]["poll_fail"] + b[2]["report_fail"] for b in w30)
    # first whole second after the restart whose goodput is >= 90% of steady
    t90 = None
    for s in range(0, int(a.observe)):
        w = window(bk, up_ms + s * 1000, up_ms + (s + 1) * 1000)
        if w and rate(w, goodput) >= 0.9 * steady_gp:
            t90 = s + 1
            break
    outage = [x for x in samp.rows if x[0] >= t_up]
    figs = {
        "hosts": sim.hosts, "down_s": a.down, "report_ms": a.report_ms, "wait_s": a.wait,
        "storm_recovery_s": round(recovery_s, 2) if recovery_s is not None else None,
        "peak_to_mean": round(ptm, 2) if ptm else None,
        "peak_to_mean_conns": round(ptm_conn, 2) if ptm_conn else None,
        "recovery_window_s": round((rec_end - up_ms) / 1000.0, 1),
        "attempts_peak_per_100ms": round(max(att), 1) if att else None,
        "attempts_mean_per_100ms": round(sum(att) / len(att), 1) if att else None,
        "steady_attempts_per_100ms": round(steady_att / 10, 1),
        "steady_goodput_per_s": round(steady_gp, 1),
        "goodput_30s_per_s": round(gp30, 1),
        "goodput_30s": round(gp30 / steady_gp, 3) if steady_gp else None,
        "goodput_t90_s": t90,
        "useful_share_30s": round(ok30 / (ok30 + fail30), 3) if ok30 + fail30 else None,
        "rss_max_kb": max((x[1] for x in samp.rows), default=None),
        "rss_steady_kb": max((x[1] for x in samp.rows if x[0] < t_kill), default=None),
        "fds_max": max((x[2] for x in samp.rows), default=None),
        "fds_steady": max((x[2] for x in samp.rows if x[0] < t_kill), default=None),
        "rss_after_restart_max_kb": max((x[1] for x in outage), default=None),
        "fds_after_restart_max": max((x[2] for x in outage), default=None),
    }
    # per-second table of the recovery
    print("  t(s) after restart | attempts/s | conns/s | goodput/s (polls+reports ok) | failed/s | hosts current")
    for s in range(-2, int(min(a.observe, (rec_end - up_ms) / 1000 + 5))):
        w = window(bk, up_ms + s * 1000, up_ms + (s + 1) * 1000)
        if not w:
            continue
        print("  %5d | %8.0f | %7.0f | %8.0f | %7.0f | %6d" % (
            s, rate(w, lambda b: b[2]["started"]), rate(w, lambda b: b[2]["conns"]),
            rate(w, goodput), rate(w, lambda b: b[2]["poll_fail"] + b[2]["report_fail"]),
            w[-1][3]["hosts_ok"]))
    print("FIGURE storm " + " ".join("%s=%s" % (k, v) for k, v in figs.items()), flush=True)

    # ---- rollback during a second storm ----
    sim.wait(lambda r: r["hosts_ok"] == sim.hosts, 90, "the fleet to settle before the 2nd storm")
    time.sleep(3)
    srv.kill9()
    log("rollback: SIGKILL again; restart in %ss, rollback %ss after it" % (a.down, a.rb_after))
    time.sleep(a.down)
    srv.start()
    t_up2 = time.time()
    time.sleep(a.rb_after)
    env = dict(os.environ, CELLGATE_SERVER=srv.url, CELLGATE_TOKEN=srv.token)
    t0 = time.time()
    r = subprocess.run([os.path.join(a.build, "cli", "cellgate"), "rollback", "storm", "--to", "1",
                        "-m", "rollback during the reconnect storm"],
                       capture_output=True, text=True, timeout=120, env=env)
    t1 = time.time()
    api_ms = round((t1 - t0) * 1000)
    if r.returncode != 0:
        print("  rollback failed: %s %s" % (r.stdout, r.stderr))
    log("rollback: CLI exit %d in %d ms: %s" % (r.returncode, api_ms, r.stdout.strip()[:200]))
    # rollback rollout ends: the newest rollout, the first of the list
    # (newest first, docs/api/rollouts.md), so one page of one is enough
    rb_state, rb_end = None, time.time() + 60
    while time.time() < rb_end:
        st, lst = srv.api("GET", "/v1/rollouts?limit=1")
        rs = lst.get("rollouts", []) if st == 200 and isinstance(lst, dict) else []
        if rs and rs[0]["state"] not in ("running", "rolling_back"):
            rb_state = rs[0]["state"]
            break
        time.sleep(0.2)
    t_done = time.time()
    # every host holds the new generation (v1 again, a newer generation)
    r2 = sim.wait(lambda x: x["newest_gen"] > gen and x["hosts_newest"] == sim.hosts, 120,
                  "every host to hold the rollback's statement")
    all_s = round(r2["wall_ms"] / 1000.0 - t0, 2)
    figs2 = {"api_ms": api_ms, "cli_exit": r.returncode, "rollout_state": rb_state,
             "rollout_done_s": round(t_done - t0, 2),
             "all_hosts_s": all_s, "issued_after_restart_s": round(t0 - t_up2, 2),
             "generation": r2["newest_gen"], "hosts": sim.hosts}
    print("FIGURE rollback_during_storm " + " ".join("%s=%s" % (k, v) for k, v in figs2.items()),
          flush=True)
    stop(sim.proc)
    samp.halt = True
    stop(srv.proc)
    ag = {}
    try:
        pass
    finally:
        return ag


# ---- metastability -------------------------------------------------------------
#
# The retry-amplification loop (docs/design.md "The failures it exists to
# prevent": the hospital queue) needs a server whose capacity lies between
# the fleet's steady load (hosts ÷ report period) and the naive fleet's
# retry load (hosts ÷ client timeout). On this 2-core box one report worker
# answers more than 7,000 reports/s, more than the sim can offer without
# becoming the bottleneck itself, so the report lane is made slower with
# the server's own fault injection: --fault-delay report=20 holds each
# report's worker 20 ms, as a slow disk or database
# would; with 4 workers (--lane report=4/1024) the lane serves at most 200
# reports/s whatever else runs on the machine. 500 hosts reporting every
# 8 s offer 62.5/s (31% of capacity); naive hosts retrying every 1 s client
# timeout offer up to 500/s (2.5x capacity). Identical in both modes.
# The trigger is a freeze of the server (SIGSTOP held for --meta-down
# seconds: a long GC pause, a VM steal, a stuck disk): requests queue in the
# sockets, clients time out; naive clients re-send at once. SIGSTOP rather
# than SIGKILL also keeps naive clients from spinning on refused
# connections (a load on the sim, not on the server).
#
# --meta-server-cpu < 1 adds a CPU duty cycle instead (SIGCONT for that
# fraction of every --meta-period-ms, SIGSTOP for the rest, as cpulimit
# does): the CPU-bound variant of the same loop, more sensitive to noise
# from other processes on the machine.


class Throttle(threading.Thread):
    """Duty-cycle the server: SIGCONT for frac×period, SIGSTOP for the rest.
    freeze(s) keeps it stopped for s seconds (the trigger)."""

    def __init__(self, pid, frac, period=0.05):
        super().__init__(daemon=True)
        self.pid, self.halt, self.frozen_until = pid, False, 0.0
        self.on = frac * period
        self.off = period - self.on
        self.frac = frac

    def _sig(self, sig):
        try:
            os.kill(self.pid, sig)
        except OSError:
            self.halt = True

    def run(self):
        while not self.halt:
            if time.time() < self.frozen_until:
                self._sig(signal.SIGSTOP)
                time.sleep(0.005)
                continue
            if self.frac >= 1:
                self._sig(signal.SIGCONT)
                time.sleep(0.02)
                continue
            self._sig(signal.SIGCONT)
            time.sleep(self.on)
            if self.halt:
                break
            self._sig(signal.SIGSTOP)
            time.sleep(self.off)
        self._sig(signal.SIGCONT)

    def freeze(self, secs):
        self.frozen_until = time.time() + secs
        time.sleep(secs)

    def stop(self):
        self.halt = True
        self.join(5)
        self._sig(signal.SIGCONT)


def cpu_s(pid):
    """utime + stime of a process in seconds."""
    try:
        f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def rgood(bk):
    """Goodput of the metastability runs: reports accepted in time. Polls are
    left out: after a freeze the fleet's long-polls are re-parked together
    and complete in waves one `wait` apart, so poll completions per bucket
    say when a wave ended, not how much useful work was done."""
    return bk[2]["reports_ok"]


# The modes of the metastability comparison: which defences are on.
#   off     naive clients (--naive-retries) + a server without shedding (--no-shed)
#   server  naive clients + the server's defences (lanes, deadlines, abandoned)
#   clients the clients' discipline (backoff, budget, Retry-After) + --no-shed
#   on      both (the defaults)
META_MODES = {"off": (False, False), "server": (True, False), "clients": (False, True),
              "on": (True, True)}


def run_meta_one(a, mode):
    server_on, clients_on = META_MODES[mode]
    tag = "meta-" + mode
    sargs = ["--tick-ms", "1000"] + sum((["--lane", l] for l in a.meta_lanes), []) + a.server_arg
    if a.meta_fault_delay_ms > 0:
        sargs += ["--fault-delay", "report=%d" % a.meta_fault_delay_ms]
    cargs = ["--report-ms", str(a.meta_report_ms), "--timeout-ms", str(a.meta_timeout_ms),
             "--wait", str(a.wait), "--startup-ms", str(a.meta_startup_ms), "--rps", "10"] + a.sim_arg
    if not server_on:
        sargs.append("--no-shed")
    if not clients_on:
        cargs.append("--naive-retries")
    srv = Server(a.build, os.path.join(a.work, "cg-" + tag), sargs)
    srv.start()
    setup_config(srv, 1)
    sim = Sim(a.build, a.work, srv, a.meta_shape, cargs, tag)
    # no assignment: a burst of 500 blob fetches would itself be a trigger for
    # the naive fleet; polls and reports are the load. The sim's set-up
    # (cells, tokens) and start-up run on the unthrottled server.
    sim.wait(lambda r: r["hosts_ok"] == sim.hosts, 120, "every host to poll (%s)" % tag)
    th = Throttle(srv.proc.pid, a.meta_server_cpu, a.meta_period_ms / 1000.0)
    th.start()
    time.sleep(10)
    t_s0, c_s0 = time.time(), cpu_s(sim.proc.pid)
    time.sleep(a.meta_steady)
    t_freeze, c_f = time.time(), cpu_s(sim.proc.pid)
    log("%s: steady %ss done; freezing the server (SIGSTOP) for %ss" % (tag, a.meta_steady, a.meta_down))
    th.freeze(a.meta_down)   # the trigger
    t_up = time.time()       # the trigger is gone from here on
    time.sleep(a.meta_observe)
    t_end, c_end = time.time(), cpu_s(sim.proc.pid)
    rows = sim.rows()
    bk = per_bucket(rows)
    s0, fz, up = sim_t(sim, t_s0), sim_t(sim, t_freeze), sim_t(sim, t_up)
    st = window(bk, s0, fz)
    steady_gp = rate(st, rgood)
    steady_att = rate(st, lambda b: b[2]["started"])
    step = a.meta_bucket_s * 1000
    spans = [("before", t, t + step) for t in range(fz - a.meta_before_s * 1000, fz, step)]
    spans.append(("trigger", fz, up))
    spans += [("after", t, t + step) for t in range(up, up + a.meta_observe * 1000, step)]
    series = []
    for phase, t0, t1 in spans:
        w = window(bk, t0, t1)
        series.append({
            "phase": phase, "from_s": round(((t0 - up) if phase == "after" else (t0 - fz)) / 1000),
            "goodput_per_s": round(rate(w, rgood), 1),
            "attempts_per_s": round(rate(w, lambda b: b[2]["started"]), 1),
            "failed_per_s": round(rate(w, lambda b: b[2]["poll_fail"] + b[2]["report_fail"]), 1),
            "hosts_ok": w[-1][3]["hosts_ok"] if w else None})
    late = window(bk, up + 30000, up + a.meta_observe * 1000)
    gp_after = rate(late, rgood)
    ratio = gp_after / steady_gp if steady_gp else None
    res = {"protections": mode,
           "hosts": sim.hosts, "steady_goodput_per_s": round(steady_gp, 1),
           "steady_attempts_per_s": round(steady_att, 1),
           "goodput_after_30s_per_s": round(gp_after, 1),
           "goodput_after_30s": round(ratio, 3) if ratio is not None else None,
           "goodput_after": round(ratio, 3) if ratio is not None else None,  # bench/run.sh reads it
           "attempts_after_30s_per_s": round(rate(late, lambda b: b[2]["started"]), 1),
           "recovered": "yes" if ratio is not None and ratio >= 0.9 else "no",
           "hosts_ok_end": rows[-1]["hosts_ok"],
           "sim_cpu_steady": round((c_f - c_s0) / (t_freeze - t_s0), 2) if c_f and c_s0 else None,
           "sim_cpu_after": round((c_end - c_f) / (t_end - t_freeze), 2) if c_end and c_f else None,
           "series": series}
    # server-side view: what was queued and shed (before we stop it)
    th.stop()
    try:
        st_, txt = srv.api("GET", "/metrics", timeout=10)
        if st_ == 200 and isinstance(txt, bytes):
            m = {}
            for line in txt.decode().splitlines():
                if line.startswith(("cellgate_lane_queue_depth", "cellgate_lane_shed_total",
                                    "cellgate_lane_expired_total", "cellgate_lane_abandoned_total")):
                    name, _, v = line.rpartition(" ")
                    if 'lane="report"' in name:
                        m[name.replace("cellgate_lane_", "").replace('{lane="report"}', "")] = v
            res["server"] = m
    except Exception as e:  # noqa: BLE001 -- a server too busy to answer is a finding too
        res["server"] = {"metrics": "no_answer_%s" % type(e).__name__}
    stop(sim.proc)
    stop(srv.proc)
    log("%s: %s" % (tag, {k: v for k, v in res.items() if k != "series"}))
    return res


def run_meta(a):
    runs = [run_meta_one(a, m) for m in a.meta_modes]
    first = runs[0]
    slow = []
    if a.meta_fault_delay_ms > 0:
        slow.append("--fault-delay report=%d" % a.meta_fault_delay_ms)
    if a.meta_server_cpu < 1:
        slow.append("CPU duty %.1f%% of every %g ms" % (100 * a.meta_server_cpu, a.meta_period_ms))
    print("  metastability: %d hosts, report every %d ms, client timeout %d ms, lanes %s, %s; "
          "trigger: server frozen (SIGSTOP) %gs" % (
              first["hosts"], a.meta_report_ms, a.meta_timeout_ms, ",".join(a.meta_lanes) or "default",
              ", ".join(slow) or "server unthrottled", a.meta_down))
    print("  modes: off = naive clients + --no-shed; server = naive clients + server defences; "
          "clients = agent discipline + --no-shed; on = both (defaults)")
    print("  t (s): before = to the freeze, after = since the server runs again; per second; "
          "goodput = reports accepted in time; cur = hosts current")
    print("  %-15s" % "" + "".join(" | %-23s" % ("protections " + r["protections"].upper())
                                   for r in runs))
    print("  %-15s" % "t (s)" + "".join(" | %8s %8s %5s" % ("attempts", "goodput", "cur")
                                        for _ in runs))
    for i, x in enumerate(first["series"]):
        if x["phase"] == "trigger":
            lab = "FROZEN %gs" % a.meta_down
        else:
            lab = "%s %d..%d" % ("before" if x["phase"] == "before" else "after", x["from_s"],
                                x["from_s"] + a.meta_bucket_s)
        print("  %-15s" % lab + "".join(
            " | %8.0f %8.0f %5s" % (r["series"][i]["attempts_per_s"], r["series"][i]["goodput_per_s"],
                                    r["series"][i]["hosts_ok"]) for r in runs))
    for r in runs:
        print("  metastability protections=%s steady=%s/s goodput_after_30s=%s/s (%s of steady) "
              "recovered=%s  [attempts steady %s/s, 30-60 s after %s/s; hosts current at end %s/%s; "
              "sim CPU steady %s, after %s; server report lane %s]" % (
                  r["protections"], r["steady_goodput_per_s"], r["goodput_after_30s_per_s"],
                  r["goodput_after_30s"], r["recovered"], r["steady_attempts_per_s"],
                  r["attempts_after_30s_per_s"], r["hosts_ok_end"], r["hosts"],
                  r["sim_cpu_steady"], r["sim_cpu_after"], r.get("server")))
    sg = [r["steady_goodput_per_s"] for r in runs]
    diff = (max(sg) - min(sg)) / max(sg) if max(sg) else None
    print("  steady states within %s of each other (%s)" % (
        "%.1f%%" % (100 * diff) if diff is not None else "?",
        "comparable" if diff is not None and diff <= 0.10 else "NOT comparable: do not read the comparison"))
    flat = {"steady_diff": round(diff, 3) if diff is not None else None,
            "comparable": "yes" if diff is not None and diff <= 0.10 else "no"}
    for r in runs:
        p = r["protections"]
        for k2, v in r.items():
            if k2 not in ("series", "server", "protections"):
                flat["%s.%s" % (p, k2)] = v
        flat["%s.goodput_series" % p] = "/".join(str(round(x["goodput_per_s"])) for x in r["series"])
        for k2, v in (r.get("server") or {}).items():
            flat["%s.server_%s" % (p, k2)] = v
    print("FIGURE metastability " + " ".join("%s=%s" % (k2, v) for k2, v in flat.items()), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["storm", "meta", "all"])
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--shape", default="5,4,5,100", help="regions,zones,cells,hosts")
    ap.add_argument("--report-ms", type=int, default=10000)
    ap.add_argument("--wait", type=int, default=20)
    ap.add_argument("--steady", type=float, default=10)
    ap.add_argument("--down", type=float, default=10)
    ap.add_argument("--observe", type=float, default=90)
    ap.add_argument("--rb-after", type=float, default=1.0)
    ap.add_argument("--server-arg", action="append", default=[])
    ap.add_argument("--sim-arg", action="append", default=[])
    ap.add_argument("--meta-lanes", action="append", default=None,
                    help="--lane of both meta servers (default: the defaults)")
    ap.add_argument("--meta-shape", default="5,4,5,5", help="regions,zones,cells,hosts (meta)")
    ap.add_argument("--meta-report-ms", type=int, default=8000)
    ap.add_argument("--meta-timeout-ms", type=int, default=1000)
    ap.add_argument("--meta-startup-ms", type=int, default=10000)
    ap.add_argument("--meta-modes", default="off,server,on",
                    help="comma-separated, in order: off, server, clients, on")
    ap.add_argument("--meta-fault-delay-ms", type=int, default=20,
                    help="cellgated --fault-delay report=MS in both runs (0: none)")
    ap.add_argument("--meta-server-cpu", type=float, default=1.0,
                    help="server duty cycle (share of each period it may run; 1 = unthrottled)")
    ap.add_argument("--meta-period-ms", type=float, default=200)
    ap.add_argument("--meta-steady", type=float, default=20)
    ap.add_argument("--meta-down", type=float, default=5, help="server frozen (SIGSTOP) this long")
    ap.add_argument("--meta-observe", type=int, default=60)
    ap.add_argument("--meta-before-s", type=int, default=20)
    ap.add_argument("--meta-bucket-s", type=int, default=5)
    a = ap.parse_args()
    a.shape = [int(x) for x in a.shape.split(",")]
    a.meta_shape = [int(x) for x in a.meta_shape.split(",")]
    a.meta_lanes = a.meta_lanes or ["report=4/1024"]
    a.meta_modes = [m.strip() for m in a.meta_modes.split(",") if m.strip()]
    if not a.meta_modes or any(m not in META_MODES for m in a.meta_modes):
        ap.error("--meta-modes takes off, server, clients, on")
    a.build = os.path.abspath(a.build)
    os.makedirs(a.work, exist_ok=True)
    raise_nofile()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        if a.what in ("storm", "all"):
            run_storm(a)
        if a.what in ("meta", "all"):
            run_meta(a)
    finally:
        cleanup()


if __name__ == "__main__":
    main()
