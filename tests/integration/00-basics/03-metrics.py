# SPDX-License-Identifier: MIT
"""GET /metrics: the Prometheus text exposition passes `promtool check
metrics` (Debian's prometheus package) and has the families an operator
alerts on: requests by route and status, lanes, parked long-polls, store
commits, the controller, reports and the fleet's characteristic metrics."""
import json, os, shutil, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

promtool = shutil.which("promtool")
h.check(promtool is not None, "promtool not found (scripts/deps.sh installs Debian's prometheus)")
import tempfile
# scheduled backups on, so their families (and the alert rules on them) are there
backups = tempfile.mkdtemp(prefix="cgmetrics.")
with h.Server(extra_args=["--backup-dir", backups, "--backup-every", "3600"]) as s:
    st, _ = s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})
    s.api("GET", "/v1/nope")
    import time
    sent = int(time.time() * 1000) - 3000  # sent 3 s ago: the lag histogram sees >= 3 s
    st, _ = s.api("POST", "/v1/agent/report", {"host": "h1", "cell": "c1", "seq": 1, "configs": [],
                                              "window_ms": 10000, "sent_at_ms": sent,
                                              "health": {"requests": 10, "errors": 1, "metrics": {
                                                  "agent_retries": {"type": "counter", "value": 3},
                                                  "queue_depth": {"type": "gauge", "value": 7}}}})
    h.check(st == 204, "report %s" % st)
    st, _ = s.api("POST", "/v1/agent/report", {"host": "h1", "cell": "c1", "seq": 2, "sent_at_ms": -5})
    h.check(st == 400, "negative sent_at_ms: %s" % st)
    st, hd, body = s.request("GET", "/metrics", token=None)
    h.check(st == 401, "metrics without a token: %s" % st)
    # the transport's own errors take the route's surface: plain text for
    # the scrape, the JSON envelope for the API
    h.check(hd["content-type"].startswith("text/plain") and body.startswith(b"401 unauthorized: "),
            "metrics 401 is not plain text: %s %r" % (hd.get("content-type"), body[:80]))
    st, hd, body = s.request("GET", "/v1/cells", token=None)
    h.check(st == 401 and hd["content-type"] == "application/json" and
            json.loads(body)["error"]["code"] == "unauthorized", "API 401 envelope: %s %r" % (st, body[:80]))
    st, hd, body = s.request("GET", "/metrics")
    h.check(st == 200 and hd["content-type"].startswith("text/plain; version=0.0.4"), "metrics %s %s" % (st, hd))
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    h.check(r.returncode == 0, "promtool: %s %s" % (r.stdout, r.stderr))
    text = body.decode()
    for fam in ["cellgate_http_requests_total{route=\"cells.add\",code=\"201\"} 1",
                "cellgate_http_requests_total{route=\"unmatched\",code=\"404\"} 1",
                "cellgate_http_request_duration_seconds_bucket", "cellgate_lane_in_flight{lane=\"control\"}",
                "cellgate_lane_queue_depth{lane=\"poll\"}", "cellgate_lane_shed_total{lane=\"report\"}",
                "cellgate_lane_queue_wait_seconds_bucket", "cellgate_longpolls_parked 0",
                "cellgate_lane_expired_total{lane=\"report\"} 0",
                "cellgate_lane_abandoned_total{lane=\"read\"} 0",
                "cellgate_fault_delay_seconds{lane=\"control\"} 0",
                "cellgate_store_commit_seconds_count", "cellgate_controller_tick_seconds_count",
                "cellgate_rollouts_open 0", "cellgate_reports_received_total 1",
                "cellgate_agent_requests_total 10", "cellgate_agent_errors_total 1",
                "cellgate_agent_metric_total{name=\"agent_retries\"} 3",
                "cellgate_agent_reported_level_sum{name=\"queue_depth\"} 7",
                "cellgate_report_lag_seconds_bucket{le=\"2.5\"} 0",
                "cellgate_report_lag_seconds_bucket{le=\"5\"} 1",
                "cellgate_report_lag_seconds_count 1",
                "cellgate_report_window_seconds_bucket{le=\"10\"} 1",
                "cellgate_report_window_seconds_bucket{le=\"5\"} 0",
                # counters the store kept but /metrics dropped before the stats registry
                "cellgate_store_submitted_total", "cellgate_store_async_failed_total 0",
                # the change funnel: one cell added
                "cellgate_changes_total{kind=\"cells\"} 1",
                "cellgate_changes_total{kind=\"assign\"} 0"]:
        h.check(fam in text, "missing in /metrics: %s" % fam)

# The alert rules the packages install (packaging/prometheus/cellgate-alerts.yml)
# must load in Prometheus, docs/operations.md must show exactly that file, and
# every cellgate_ family they use must exist in /metrics.
import re, tempfile
src = os.environ.get("CG_SRC_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
rules_file = os.path.join(src, "packaging", "prometheus", "cellgate-alerts.yml")
rules = open(rules_file).read()
doc = open(os.path.join(src, "docs", "operations.md")).read()
sec = doc[doc.index("### Alert rules"):]
doc_rules = sec[sec.index("```yaml\n") + len("```yaml\n"):]
doc_rules = doc_rules[:doc_rules.index("```")]
h.check(doc_rules == rules, "docs/operations.md's alert rules differ from %s: copy the file "
        "into the doc's yaml block" % rules_file)
r = subprocess.run([promtool, "check", "rules", rules_file], capture_output=True, timeout=60)
h.check(r.returncode == 0, "promtool check rules on %s: %s %s" % (rules_file, r.stdout, r.stderr))
# The drill alerts (docs/drills.md "Records, metrics, alerts, schedules"),
# by `promtool test rules`: two replicas export the same series from the
# shared store, one of them stale for eight days (it read the store once):
# the max over the replicas keeps the alert quiet for a config drilled
# every hour; a scenario that never passed (0) and a scheduled config none
# of whose drills ran (scenario "all" at 0) fire it; a failed drill on
# either replica fires one CellgateDrillFailing without an instance label.
def annotations(alert, labels):
    block = rules[rules.index("- alert: %s\n" % alert):]
    block = block[:block.index("\n\n")] if "\n\n" in block else block
    out = {}
    for key in ("summary", "description"):
        m = re.search(r'^ +%s: "(.*)"$' % key, block, re.M)
        if m:
            v = m.group(1)
            for k, val in labels.items():
                v = v.replace("{{ $labels.%s }}" % k, val)
            out[key] = v
    return out


def exp_alert(alert, labels):
    return {"exp_labels": dict(labels, severity="ticket"),
            "exp_annotations": annotations(alert, labels)}


G = "cellgate_drill_last_success_timestamp_seconds"
rule_test = {
    "rule_files": [os.path.abspath(rules_file)],
    "evaluation_interval": "1h",
    "tests": [{
        "interval": "1h",
        "input_series": [
            {"series": G + '{instance="a",config="app",scenario="known-bad"}', "values": "0+3600x200"},
            {"series": G + '{instance="b",config="app",scenario="known-bad"}', "values": "3600x200"},
            {"series": G + '{instance="a",config="never",scenario="rollback-path"}', "values": "0x200"},
            {"series": G + '{instance="b",config="never",scenario="rollback-path"}', "values": "0x200"},
            {"series": G + '{instance="a",config="sched",scenario="all"}', "values": "0x200"},
        ],
        "alert_rule_test": [
            {"eval_time": "8d", "alertname": "CellgateNoSuccessfulDrill", "exp_alerts": [
                exp_alert("CellgateNoSuccessfulDrill", {"config": "never", "scenario": "rollback-path"}),
                exp_alert("CellgateNoSuccessfulDrill", {"config": "sched", "scenario": "all"})]},
        ]}, {
        "interval": "1h",
        "input_series": [
            {"series": 'cellgate_drill_runs_total{instance="a",outcome="failed"}', "values": "0 0 1 1 1"},
            {"series": 'cellgate_drill_runs_total{instance="b",outcome="failed"}', "values": "0 0 0 2 2"},
        ],
        "alert_rule_test": [
            {"eval_time": "1h", "alertname": "CellgateDrillFailing", "exp_alerts": []},
            {"eval_time": "4h", "alertname": "CellgateDrillFailing", "exp_alerts": [
                {"exp_labels": {"severity": "ticket"},
                 "exp_annotations": annotations("CellgateDrillFailing", {})}]},
        ]}]}
tdir = tempfile.mkdtemp(prefix="cgrules.")
tfile = os.path.join(tdir, "drill-alerts.test.yml")
with open(tfile, "w") as f:
    json.dump(rule_test, f)  # JSON is YAML
r = subprocess.run([promtool, "test", "rules", tfile], capture_output=True, timeout=60)
h.check(r.returncode == 0, "promtool test rules (the drill alerts): %s %s" % (r.stdout.decode(),
                                                                             r.stderr.decode()))
shutil.rmtree(tdir, ignore_errors=True)
used = set(re.findall(r"cellgate_[a-z_]+", rules))
base = set(re.findall(r"^# TYPE (cellgate_[a-z_]+)", text, re.M))
# cellgate_replica_* exist only with a shared store (PostgreSQL): checked by
# 80-cluster/04-propagation.py against a replica's /metrics; cellgate_tls_*
# only with --tls-cert: checked by 15-security/21-tls-serve.py
missing = [u for u in used if not u.startswith(("cellgate_replica_", "cellgate_tls_")) and
           not any(u == b or u.startswith(b + "_") for b in base)]
h.check(not missing, "alert rules use families /metrics does not have: %s" % missing)

# --no-controller: the API answers and rollouts can be started, but nothing
# ticks: /metrics says so (cellgate_controller_running 0, no ticks).
with h.Server(extra_args=["--no-controller", "--tick-ms", "50"]) as s:
    st, _ = s.api("GET", "/v1/cells")
    h.check(st == 200, "API with --no-controller: %s" % st)
    time.sleep(0.5)
    st, _, body = s.request("GET", "/metrics")
    text = body.decode()
    h.check("cellgate_controller_running 0\n" in text, "controller_running not 0 with --no-controller")
    h.check("cellgate_controller_tick_seconds_count 0\n" in text, "a tick ran with --no-controller")
with h.Server(extra_args=["--tick-ms", "50"]) as s:
    time.sleep(0.5)
    st, _, body = s.request("GET", "/metrics")
    text = body.decode()
    h.check("cellgate_controller_running 1\n" in text, "controller_running not 1")
    h.check("cellgate_controller_tick_seconds_count 0\n" not in text, "no tick in 0.5 s at 50 ms")
    import re as _re
    h.check(_re.search(r'^cellgate_build_info\{version="[0-9.]+",sqlite="[0-9.]+",store="sqlite"\} 1$',
                       text, _re.M), "cellgate_build_info")
shutil.rmtree(backups, ignore_errors=True)
h.done("metrics", 8)
