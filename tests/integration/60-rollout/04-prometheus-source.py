# SPDX-License-Identifier: MIT
"""Health from a central Prometheus (docs/plans.md "Health from
Prometheus"): a real Prometheus (Debian's /usr/bin/prometheus) scrapes the
per-cell exporter of cellgate-sim every second, and a plan whose gates read
their requests, errors and p99 latency (histogram_quantile over the
exporter's histogram) from it through PromQL queries:

- a good version passes every step's gates, the latency gate included, and
  completes;
- a bad version (its "sim" object raises the error rate) fails the
  error-rate gate on the data Prometheus holds and is rolled back, also
  from a one-box first wave (the canary host's cell on the new version
  against the rest of that cell: baseline "rest_of_cell");
- a query that matches nothing keeps the step inconclusive, and the
  evaluation's summary names the query and says "empty result";
- with Prometheus stopped, a good version's step stays inconclusive and is
  never promoted, and the summary names the failed query.

The first version is rolled out with an agent-based plan: before it, the
cells run no version of the config, so a query by version has no baseline."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402

SIM_BIN = os.path.join(h.BIN_DIR, "sim", "cellgate-sim")
PROM_BIN = "/usr/bin/prometheus"
SLOW = 3 if h.SANITIZED else 1
CELLS = 4

if not os.path.exists(PROM_BIN):
    h.fail("%s is missing: install Debian's prometheus package (scripts/deps.sh)" % PROM_BIN)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, secs, what):
    end = time.time() + secs * SLOW
    last = None
    while time.time() < end:
        last = pred()
        if last:
            return last
        time.sleep(0.2)
    h.fail("timed out waiting for " + what)


def prom_get(base, path, params=None):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return 0, ""


def q(metric):
    return ('sum(increase(%s{cell=~"$cell",config="feat",version=~"$version"}[$window]))'
            % metric)


GATES = {"error_rate": {"max": 0.05, "max_ratio": 2.0, "min_delta": 0.005},
         "latency_p99_ms": {"max": 5000, "max_ratio": 3.0, "min_delta": 50},
         "min_converged": 1.0}
P99 = ('histogram_quantile(0.99, sum by (le) (increase(cellgate_sim_latency_ms_bucket'
       '{cell=~"$cell",config="feat",version=~"$version"}[$window])))')
WAVES = [{"name": "canary", "cells": 1, "bake_s": 3, "min_requests": 300},
         {"name": "rest", "percent": 100, "bake_s": 2, "min_requests": 300}]


ONEBOX = [{"name": "onebox", "cells": 1, "hosts": 1, "bake_s": 3, "min_requests": 100},
          {"name": "rest", "percent": 100, "bake_s": 2, "min_requests": 300}]


def plan(prom_url, queries=None, waves=None):
    p = {"waves": waves or WAVES, "gates": GATES, "stuck_timeout_s": 600, "on_stuck": "halt",
         "on_gate_failure": "rollback"}
    if prom_url:
        p["source"] = {"prometheus": {"url": prom_url, "timeout_s": 2, "queries": queries or {
            "requests": q("cellgate_sim_requests_total"),
            "errors": q("cellgate_sim_errors_total"),
            "latency_p99_ms": P99}}}
    return p


def publish(s, doc):
    st, _, body = s.request("POST", "/v1/configs/feat/versions", json.dumps(doc),
                            headers={"Content-Type": "application/json"})
    h.check(st == 201, "publish: %s %s" % (st, body[:300]))
    return json.loads(body)["number"]


def start(s, version, plan_name):
    st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": version,
                                           "plan": plan_name, "reason": "test"})
    h.check(st == 201, "rollout start: %s %s" % (st, b))
    return b["id"]


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "rollout get: %s %s" % (st, b))
    return b


def ended(s, rid, want):
    b = status(s, rid)
    if b["state"] in want:
        return b
    h.check(b["state"] in ("running", "rolling_back"),
            "rollout %d ended %s: %s" % (rid, b["state"], json.dumps(b.get("events"))[-3000:]))
    return None


def summary(s, rid):
    b = status(s, rid)
    h.check(b["state"] == "running", "rollout %d is %s" % (rid, b["state"]))
    return (b.get("evaluation") or {}).get("summary", "")


def held_inconclusive(s, rid, pattern, what):
    """The rollout's first step holds with an inconclusive evaluation whose
    summary matches 'pattern'; then stays so through its whole bake time
    and more; never a step.passed. Aborted at the end."""
    got = wait_for(lambda: re.search(pattern, summary(s, rid)) and summary(s, rid), 30,
                   "%s: a summary matching %r (last: %r)" % (what, pattern, summary(s, rid)))
    time.sleep(WAVES[0]["bake_s"] + 3)
    b = status(s, rid)
    ev = b.get("evaluation") or {}
    h.check(b["state"] == "running" and b["step"] == 0 and ev.get("verdict") == "inconclusive",
            "%s: %s step %s verdict %s" % (what, b["state"], b["step"], ev.get("verdict")))
    h.check(re.search(pattern, ev.get("summary", "")), "%s: summary %r" % (what, ev.get("summary")))
    src = [g for g in ev.get("gates", []) if g["gate"] == "source"]
    h.check(len(src) == 1 and src[0]["verdict"] == "inconclusive",
            "%s: no inconclusive source record: %s" % (what, ev.get("gates")))
    h.check(not [e for e in b["events"] if e["kind"] == "step.passed"],
            "%s: a step passed: %s" % (what, b["events"]))
    st, _ = s.api("POST", "/v1/rollouts/%d/abort" % rid, {"reason": "test over"})
    h.check(st == 200, "abort: %s" % st)
    return got


passed = 0
tmp = tempfile.mkdtemp(prefix="cgprom.")
prom = sim = None
with h.Server(extra_args=["--tick-ms", "200"]) as s:
    try:
        # the simulated fleet, with its exporter
        sim_log_path = os.path.join(tmp, "sim.log")
        sim_log = open(sim_log_path, "wb")
        ready = os.path.join(tmp, "sim.ready")
        sim = subprocess.Popen(
            [SIM_BIN, "--server", s.url, "--token", s.admin_token, "--regions", "1", "--zones",
             "2", "--cells", "2", "--hosts", "3", "--rps", "100", "--report-ms", "1000",
             "--wait", "20", "--apply-delay-ms", "100", "--startup-ms", "500",
             "--monitor-ms", "0", "--summary-ms", "0", "--ready-file", ready,
             "--token-prefix", "t60p", "--prom-listen", "127.0.0.1:0",
             "--duration", str(600 * SLOW)],
            stdout=subprocess.DEVNULL, stderr=sim_log, stdin=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(ready), 30, "every simulated host to poll")
        m = wait_for(lambda: re.search(r"Prometheus exporter on http://127\.0\.0\.1:(\d+)/metrics",
                                       open(sim_log_path).read()), 10, "the exporter's port")
        exporter = "127.0.0.1:%s" % m.group(1)
        st, text = prom_get("http://" + exporter, "/metrics")
        h.check(st == 200 and "# TYPE cellgate_sim_latency_ms histogram" in text and
                re.search(r'cellgate_sim_requests_total\{cell="[^"]+",config="",version="0"\} \d+',
                          text), "exporter: %s %r" % (st, text[:500]))
        st, _ = prom_get("http://" + exporter, "/nothing")
        h.check(st == 404, "exporter: unknown path answered %s" % st)

        # a real Prometheus scraping it every second
        pport = free_port()
        prom_url = "http://127.0.0.1:%d" % pport
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: sim\n    static_configs:\n"
                    "      - targets: ['%s']\n" % exporter)
        prom_log = open(os.path.join(tmp, "prometheus.log"), "wb")
        prom = subprocess.Popen(
            [PROM_BIN, "--config.file", os.path.join(tmp, "prometheus.yml"),
             "--web.listen-address=127.0.0.1:%d" % pport,
             "--storage.tsdb.path=%s" % os.path.join(tmp, "tsdb"), "--log.level=warn"],
            stdout=prom_log, stderr=prom_log, stdin=subprocess.DEVNULL)

        def scraped():
            st, body = prom_get(prom_url, "/api/v1/query",
                                {"query": "sum(cellgate_sim_requests_total)"})
            return st == 200 and json.loads(body)["data"]["result"]
        wait_for(scraped, 60, "Prometheus to scrape the exporter")
        passed += 1

        st, b = s.api("POST", "/v1/configs", {"name": "feat", "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})
        h.check(st == 201, "config create: %s %s" % (st, b))
        for name, doc in (("agents", plan(None)), ("prom", plan(prom_url)),
                          ("prom-onebox", plan(prom_url, waves=ONEBOX)),
                          ("prom-empty", plan(prom_url, {
                              "requests": q("no_such_metric_total"),
                              "errors": q("cellgate_sim_errors_total"),
                              "latency_p99_ms": P99}))):
            st, b = s.api("PUT", "/v1/plans/" + name, doc)
            h.check(st in (200, 201), "plan %s: %s %s" % (name, st, b))
        st, b = s.api("GET", "/v1/plans/prom")
        h.check(st == 200 and json.dumps(b).find('"timeout_s": 2') >= 0, "plan prom: %s" % b)

        # a plan whose source is invalid is refused with every problem named
        bad = plan("ftp://127.0.0.1:1", {"requests": 'sum(up{cell=~"$cel"})',
                                         "latency_p99_ms": "1"})
        st, b = s.api("PUT", "/v1/plans/bad", bad)
        msgs = json.dumps(b)
        h.check(st in (400, 422) and "/source/prometheus/url" in msgs and
                "unknown placeholder" in msgs,
                "invalid source: %s %s" % (st, msgs[:1500]))
        passed += 1

        # v1 everywhere through the agents' reports: the baseline versions
        v1 = publish(s, h.features(60))
        r1 = start(s, v1, "agents")
        wait_for(lambda: ended(s, r1, ("completed",)), 90, "v1 to complete")

        # a good version passes the gates on Prometheus data
        v2 = publish(s, h.features(61))
        r2 = start(s, v2, "prom")
        done = wait_for(lambda: ended(s, r2, ("completed",)), 120, "v2 to complete")
        evs = [e for e in done["events"] if e["kind"] == "step.passed"]
        h.check(len(evs) >= 2, "v2 passed %d steps" % len(evs))
        for e in evs:
            ev = e["detail"]["evaluation"]
            h.check(ev["verdict"] == "pass" and ev["wave_requests"] >= 300 and
                    ev.get("health_source") == "prometheus" and
                    not [g for g in ev["gates"] if g["gate"] == "source"],
                    "v2 step evaluation: %s" % json.dumps(ev)[:1500])
            lat = [g for g in ev["gates"] if g["gate"] == "latency_p99_ms"]
            h.check(lat and lat[0]["verdict"] == "pass" and lat[0]["wave_value"] and
                    "from the health source" in lat[0]["metric"],
                    "v2 latency from Prometheus: %s" % json.dumps(lat)[:800])
        passed += 1

        # a bad version fails the error-rate gate on Prometheus data
        bad_doc = h.features(62)
        bad_doc["sim"] = {"error_rate": 0.2}
        v3 = publish(s, bad_doc)
        r3 = start(s, v3, "prom")
        final = wait_for(lambda: ended(s, r3, ("rolled_back", "halted")), 90,
                         "v3 to be rolled back")
        h.check(final["state"] == "rolled_back", "bad rollout: %s" % final["state"])
        why = [e["detail"] for e in final["events"] if e["kind"] == "rollback.start"]
        h.check(why and why[0]["reason"].startswith("fail: error_rate:") and
                why[0]["evaluation"].get("health_source") == "prometheus",
                "rollback reason: %s" % json.dumps(why)[:1500])
        h.check(len([e for e in final["events"] if e["kind"] == "step.start"]) == 1,
                "the bad version went past its first step")
        passed += 1

        # a one-box step on Prometheus data: the canary host's series (its
        # cell, the new version) against the rest of its cell (the same
        # cell, the previous version)
        bad_doc = h.features(64)
        bad_doc["sim"] = {"error_rate": 0.2}
        v5 = publish(s, bad_doc)
        r5 = start(s, v5, "prom-onebox")
        final = wait_for(lambda: ended(s, r5, ("rolled_back", "halted")), 90,
                         "the one-box bad version to be rolled back")
        why = [e["detail"] for e in final["events"] if e["kind"] == "rollback.start"]
        h.check(final["state"] == "rolled_back" and why and
                why[0]["reason"].startswith("fail: error_rate:") and
                why[0]["evaluation"].get("health_source") == "prometheus" and
                why[0]["evaluation"].get("baseline") == "rest_of_cell" and
                why[0]["evaluation"].get("step") == 0,
                "one-box rollback on Prometheus data: %s" % json.dumps(why)[:1500])
        passed += 1

        # a query that matches nothing: inconclusive, never passes
        v4 = publish(s, h.features(63))
        r4 = start(s, v4, "prom-empty")
        held_inconclusive(s, r4, r'^inconclusive: source: query "requests" \(wave\): '
                                 r'empty result \(no series matched\)', "empty query")
        passed += 1

        # Prometheus stopped: inconclusive, never passes, the query named
        prom.send_signal(signal.SIGTERM)
        prom.wait(30)
        prom_log.close()
        r5 = start(s, v4, "prom")
        held_inconclusive(s, r5, r'^inconclusive: source: query "requests" \(wave\): '
                                 r'no answer: .*127\.0\.0\.1', "no Prometheus")
        passed += 1
    finally:
        for p in (prom, sim):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)

h.done("60-rollout/04-prometheus-source", passed)
