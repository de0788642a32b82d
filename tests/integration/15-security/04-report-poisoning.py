# SPDX-License-Identifier: MIT
"""Security finding 4, report poisoning: health counters no host can have
produced in the report's window (2^63-1 requests, a latency histogram of
2^62 samples) are refused with 400 and counted in
cellgate_reports_implausible_total; nothing of them reaches the fleet's
sums, which stay exact; plausible reports still count; and one host that
claims far more traffic than the others of its cell counts as at most
twice a typical one (cellgate_reports_clamped_total): it cannot outvote
its cell."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def metric(s, name):
    st, _, m = s.request("GET", "/metrics")
    for line in m.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no %s" % name)


with h.Server() as s:
    st, _ = s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})
    st, t = s.api("POST", "/v1/tokens", {"name": "ag", "role": "agent", "cell": "c1"})
    h.check(st == 201, "agent token %s" % st)
    ag = t["token"]
    good = {"host": "h1", "cell": "c1", "seq": 1, "window_ms": 10000, "configs": [],
            "health": {"requests": 5000, "errors": 5, "latency_ms": {"buckets": [100, 200]}}}
    st, _ = s.api("POST", "/v1/agent/report", good, token=ag)
    h.check(st == 204, "a plausible report: %s" % st); n += 1
    for k, health in enumerate([
            {"requests": 2 ** 63 - 1, "errors": 0},
            {"requests": 2000001, "errors": 0},        # > 200k/s over 10 s
            {"requests": 10, "errors": 0, "latency_ms": {"buckets": [2 ** 62, 2 ** 62]}}]):
        bad = dict(good, host="h2", seq=10 + k, health=health)
        st, b = s.api("POST", "/v1/agent/report", bad, token=ag)
        h.check(st == 400 and "implausible" in b["error"]["message"],
                "poisoned report %s: %s %s" % (health, st, b)); n += 1
    # no window given: judged over one second
    st, b = s.api("POST", "/v1/agent/report",
                  {"host": "h3", "cell": "c1", "seq": 1, "configs": [],
                   "health": {"requests": 200001, "errors": 0}}, token=ag)
    h.check(st == 400, "a report without window_ms: %s" % st); n += 1
    h.check(metric(s, "cellgate_reports_implausible_total") == 4, "implausible counter"); n += 1
    h.check(metric(s, "cellgate_agent_requests_total") == 5000, "fleet sums took poison"); n += 1
    st, _ = s.api("POST", "/v1/agent/report", dict(good, seq=2), token=ag)
    h.check(st == 204 and metric(s, "cellgate_agent_requests_total") == 10000,
            "plausible reports still count"); n += 1
    # one host cannot outvote its cell: h1 and h4 serve 500/s; "liar" claims
    # 190,000/s (plausible for one host, so accepted) and counts as at most
    # twice a typical other host of c1
    st, _ = s.api("POST", "/v1/agent/report", dict(good, host="h4", seq=1), token=ag)
    before = metric(s, "cellgate_agent_requests_total")
    liar = dict(good, host="liar", seq=1, health={"requests": 1900000, "errors": 0})
    st, _ = s.api("POST", "/v1/agent/report", liar, token=ag)
    h.check(st == 204, "the liar's report is accepted (plausible alone): %s" % st)
    got = metric(s, "cellgate_agent_requests_total") - before
    h.check(got <= 2 * 500 * 10, "one host outvoted its cell: counted %d requests" % got)
    h.check(metric(s, "cellgate_reports_clamped_total") == 1, "clamped counter"); n += 1
print("ok: %d checks" % n)
