# SPDX-License-Identifier: MIT
"""Per-cell and per-host health views and outlier cells (issue 14): an hour
of agent reports from six cells of two hosts, one cell (c4) chronically at
3x the fleet's error rate, one host (c2-b) at 10x its cell for its last
reports. The reports are posted with the admin token and, through
--fault-report-clock, dated over the last hour (the outlier rule needs 3 of
6 10-minute windows). Checks GET /v1/cells?health=1, /v1/hosts?health=1,
/v1/configs/{name}/status?cells=1, `cellgate cells --health`, `hosts
--health`, `status --cells` (human and --json), and the per-cell gauges of
/metrics (promtool), and that an agent token cannot date its reports."""
import json, os, shutil, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
CELLS = [("c1", "r1", "z1"), ("c2", "r1", "z2"), ("c3", "r1", "z3"),
         ("c4", "r2", "z4"), ("c5", "r2", "z5"), ("c6", "r2", "z6")]
# 1000 observations a report: 985 at <= 1 ms, 10 in (4, 8] ms, 5 in (8, 16] ms
HIST = [0, 0, 985, 0, 0, 10, 5]


def ok(r, what):
    h.check(r.returncode == 0, "%s: exit %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, r.stdout, r.stderr))
    return r


def js(r, what):
    ok(r, what)
    try:
        return json.loads(r.stdout)
    except ValueError:
        h.fail("%s: --json output does not parse: %r" % (what, r.stdout))


def report(s, host, cell, at_ms, errors, token="admin"):
    body = {"host": host, "cell": cell, "seq": 1, "window_ms": 30000,
            "configs": [{"config": "cfg", "version": 1, "generation": 1, "outcome": "applied",
                         "lkg_version": 1, "lkg_generation": 1}],
            "health": {"requests": 1000, "errors": errors, "latency_ms": {"buckets": HIST}}}
    st, b = s.api("POST", "/v1/agent/report", body, token=token,
                  headers={"Cellgate-Fault-Report-Time-Ms": str(at_ms)})
    h.check(st == 204, "report %s: %s %s" % (host, st, b))


promtool = shutil.which("promtool")
h.check(promtool is not None, "promtool not found (scripts/deps.sh installs Debian's prometheus)")

with h.Server(extra_args=["--fault-report-clock"]) as s:
    for c, reg, z in CELLS:
        st, b = s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})
        h.check(st == 201, "cell %s" % b)
    st, b = s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})
    h.check(st == 201, "config %s" % b)
    st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v", json.dumps(h.features(60)))
    h.check(st == 201, "publish %s" % b)
    ok(s.cli("assign", "cfg", "1", *sum([["--cell", c[0]] for c in CELLS], []), "-m", "v1"),
       "assign")

    # an hour of reports, one every 30 s per host, the last 2 s ago
    now = int(time.time() * 1000) - 2000
    for j in range(120):
        at = now - (119 - j) * 30000
        for c, _, _ in CELLS:
            for k in ("a", "b"):
                err = 15 if c == "c4" else 5
                if c == "c2" and k == "b" and j >= 110:
                    err = 50
                report(s, "%s-%s" % (c, k), c, at, err)

    # the API: c4 is an outlier, with its figures; nobody else is
    st, b = s.api("GET", "/v1/cells?health=1")
    h.check(st == 200, "cells?health=1: %s %s" % (st, b))
    cells = {c["id"]: c for c in b["cells"]}
    h.check(sorted(cells) == [c[0] for c in CELLS] and b["next_after"] is None, "%s" % b)
    c4 = cells["c4"]["health"]
    h.check(c4["outlier"] is True and c4["hosts"] == 2 and c4["error_rate"] == 0.015
            and c4["requests"] % 2000 == 0 and c4["errors"] * 1000 == c4["requests"] * 15,
            "c4 %s" % c4)
    reason = c4["outlier_reason"]
    h.check(reason.startswith("error rate 1.50% vs rest of fleet 0.")
            and " of 6 10-minute windows, p=" in reason and reason.endswith(" over the hour"),
            "c4 reason %r" % reason); n += 1
    for c in ("c1", "c2", "c3", "c5", "c6"):
        hc = cells[c]["health"]
        h.check(hc["outlier"] is False and hc["outlier_reason"] is None and hc["hosts"] == 2,
                "%s %s" % (c, hc))
    h.check(cells["c1"]["health"]["error_rate"] == 0.005
            and cells["c1"]["health"]["latency_samples"] == cells["c1"]["health"]["requests"]
            and cells["c1"]["health"]["latency_p99_ms"] > 4
            and cells["c1"]["health"]["latency_p99_ms"] <= 8
            and 0 <= cells["c1"]["health"]["last_report_age_ms"] < 600000,
            "c1 %s" % cells["c1"]); n += 1
    f = b["fleet"]
    h.check(f["cells"] == 6 and f["hosts"] == 12 and f["window_ms"] == 600000
            and b["config"] is None and "outlier" not in f, "fleet %s" % f); n += 1
    # a window, a config, paging, bad parameters
    st, b = s.api("GET", "/v1/cells?health=1&window=1m&config=cfg&limit=4")
    h.check(st == 200 and b["fleet"]["window_ms"] == 60000 and b["config"] == "cfg"
            and len(b["cells"]) == 4 and b["next_after"] == "c4"
            and b["cells"][3]["health"]["outlier"] is True, "%s" % b); n += 1
    st, b = s.api("GET", "/v1/cells?health=1&config=nope")
    h.check(st == 200 and all(c["health"]["requests"] == 0 and c["health"]["outlier"] is False
                              for c in b["cells"]) and b["fleet"]["cells"] == 0, "%s" % b); n += 1
    for q in ("health=2", "health=1&window=10", "health=1&window=2h", "health=1&config=Bad"):
        st, b = s.api("GET", "/v1/cells?" + q)
        h.check(st == 400 and b["error"]["code"] == "bad_request", "%s: %s %s" % (q, st, b))
    n += 1
    st, b = s.api("GET", "/v1/cells")
    h.check(st == 200 and "health" not in b["cells"][0] and "fleet" not in b, "%s" % b); n += 1

    # hosts: c2-b is far from its cell, c2-a is not
    st, b = s.api("GET", "/v1/hosts?health=1&cell=c2")
    h.check(st == 200, "hosts?health=1 %s %s" % (st, b))
    hosts = {x["host"]: x["health"] for x in b["hosts"]}
    hb = hosts["c2-b"]
    # 120 reports of 30 s: the phase of 5 minutes just rotated, so the host's
    # figures are its last 10 reports, all bad
    h.check(hb["far_from_cell"] is True and hb["reports"] == 10 and hb["window_ms"] == 300000
            and hb["requests"] == 10000 and hb["errors"] == 500 and hb["error_rate"] == 0.05
            and hb["latency_samples"] == 10000 and hb["latency_p99_ms"] == 6.0
            and hb["far_reason"].startswith("error rate 5.00% vs rest of cell 0.50% (10.0x), p="),
            "c2-b %s" % hb); n += 1
    h.check(hosts["c2-a"]["far_from_cell"] is False and hosts["c2-a"]["far_reason"] is None
            and hosts["c2-a"]["error_rate"] == 0.005, "c2-a %s" % hosts["c2-a"]); n += 1
    st, b = s.api("GET", "/v1/hosts?cell=c2")
    h.check(st == 200 and "health" not in b["hosts"][0], "%s" % b); n += 1

    # status: each cell's health on the config, next to its version
    st, b = s.api("GET", "/v1/configs/cfg/status?cells=1")
    h.check(st == 200 and b["fleet"]["cells"] == 6
            and {c["cell"]: c["health"]["outlier"] for c in b["cells"]}
            == {"c1": False, "c2": False, "c3": False, "c4": True, "c5": False, "c6": False},
            "status?cells=1 %s" % b); n += 1
    st, b = s.api("GET", "/v1/configs/cfg/status")
    h.check(st == 200 and "fleet" not in b and "health" not in b["cells"][0], "%s" % b); n += 1

    # the CLI
    r = ok(s.cli("cells", "--health"), "cells --health")
    lines = r.stdout.splitlines()
    h.check(lines[0].split() == ["CELL", "REGION", "ZONE", "HOSTS", "RPS", "ERRORS", "P99",
                                 "OUTLIER", "REASON"], "%r" % r.stdout)
    rows = {l.split()[0]: l.split() for l in lines[1:7]}
    h.check(rows["c4"][:3] == ["c4", "r2", "z4"] and rows["c4"][3] == "2"
            and rows["c4"][5] == "1.50%" and rows["c4"][7] == "yes"
            and " ".join(rows["c4"][8:]) == reason, "c4 row %r" % r.stdout)
    h.check(rows["c1"][5] == "0.50%" and rows["c1"][6].endswith("ms") and rows["c1"][7] == "no",
            "c1 row %r" % r.stdout)
    h.check(lines[7].startswith("fleet (last 600s): 6 cells, 12 hosts, "), "%r" % r.stdout); n += 1
    b = js(s.cli("cells", "--health", "--json", "--window", "5m"), "cells --health --json")
    h.check(b["fleet"]["window_ms"] == 300000
            and [c["id"] for c in b["cells"] if c["health"]["outlier"]] == ["c4"], "%s" % b); n += 1
    r = ok(s.cli("cell", "list", "--health", "--limit", "2"), "cell list --health --limit")
    h.check(len(r.stdout.splitlines()) == 4
            and "more: cellgate cell list --health --limit 2 --after c2" in r.stderr,
            "%r %r" % (r.stdout, r.stderr)); n += 1
    for args in (["cells", "--window", "5m"], ["cells", "--health", "--window", "5"],
                 ["status", "cfg", "--window", "5m"], ["hosts", "--health", "x"]):
        r = s.cli(*args)
        h.check(r.returncode == 2 and r.stderr.startswith("cellgate: "),
                "%s: exit %d %r" % (args, r.returncode, r.stderr))
    n += 1
    r = ok(s.cli("hosts", "--health", "--cell", "c2"), "hosts --health")
    lines = r.stdout.splitlines()
    h.check(lines[0].split() == ["HOST", "CELL", "LAST", "SEEN", "RPS", "ERRORS", "P99", "FAR",
                                 "REASON"], "%r" % r.stdout)
    # (LAST SEEN is a date and a time: two words)
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    h.check(rows["c2-b"][1] == "c2" and rows["c2-b"][5] == "5.00%" and rows["c2-b"][6] == "6.0ms"
            and rows["c2-b"][7] == "yes" and rows["c2-b"][8:11] == ["error", "rate", "5.00%"],
            "c2-b %r" % r.stdout)
    h.check(rows["c2-a"][5] == "0.50%" and rows["c2-a"][7] == "no", "c2-a %r" % r.stdout); n += 1
    b = js(s.cli("hosts", "--health", "--json"), "hosts --health --json")
    h.check(len(b["hosts"]) == 12
            and [x["host"] for x in b["hosts"] if x["health"]["far_from_cell"]] == ["c2-b"],
            "%s" % b); n += 1
    r = ok(s.cli("status", "cfg", "--cells"), "status --cells")
    out = r.stdout
    h.check("CELL  WANTS  HOSTS  RPS" in out.replace("   ", "  ") or
            any(l.split()[:4] == ["CELL", "WANTS", "HOSTS", "RPS"] for l in out.splitlines()),
            "status --cells table %r" % out)
    rows = [l.split() for l in out.splitlines() if l.split()[:2] == ["c4", "1"]]
    h.check(any(r[2] == "2" and r[4] == "1.50%" and r[6] == "yes" for r in rows),
            "status --cells c4 %r" % out)
    h.check("fleet (last 600s): 6 cells, 12 hosts" in out and "behind: none" in out,
            "status --cells %r" % out); n += 1
    b = js(s.cli("status", "cfg", "--cells", "--json"), "status --cells --json")
    h.check([c["cell"] for c in b["cells"] if c["health"]["outlier"]] == ["c4"], "%s" % b); n += 1

    # /metrics: per-cell gauges, checked by promtool
    st, _, body = s.request("GET", "/metrics")
    h.check(st == 200, "metrics %s" % st)
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    h.check(r.returncode == 0, "promtool: %s %s" % (r.stdout, r.stderr))
    text = body.decode()
    for want in ['cellgate_cell_outlier{cell="c4"} 1\n', 'cellgate_cell_outlier{cell="c1"} 0\n',
                 'cellgate_cell_error_ratio{cell="c4"} 0.015\n',
                 'cellgate_cell_error_ratio{cell="c1"} 0.005\n',
                 'cellgate_cell_hosts_reporting{cell="c4"} 2\n',
                 '# TYPE cellgate_cell_requests_per_second gauge',
                 'cellgate_cell_latency_p99_seconds{cell="c1"} 0.006\n']:
        h.check(want in text, "missing in /metrics: %r" % want)
    h.check(text.count("cellgate_cell_outlier{") == 6 and "host=" not in text,
            "per-cell families hold the 6 cells and no host"); n += 1

    # an agent token cannot date its reports: the header is ignored
    st, t = s.api("POST", "/v1/tokens", {"name": "agent-c1", "role": "agent", "cell": "c1"})
    h.check(st == 201, "agent token %s" % t)
    before = int(time.time() * 1000)
    report(s, "c1-z", "c1", before - 3000000, 5, token=t["token"])
    st, b = s.api("GET", "/v1/hosts?cell=c1")
    z = [x for x in b["hosts"] if x["host"] == "c1-z"][0]
    h.check(z["last_seen_ms"] >= before, "agent's report dated %s" % z); n += 1

h.done("40-cli/24-health-views", n)
