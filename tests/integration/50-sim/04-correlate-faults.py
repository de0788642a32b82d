# SPDX-License-Identifier: MIT
"""cellgate-sim's faults that are no change, as ground truth for change
correlation (docs/sim.md "Faults", docs/correlation.md "Ranking"): 48
simulated hosts in 2 regions x 2 zones, a good rollout to all of them,
then a zone starts failing (--fault-file with errors:zone=Z:0.3@FROM) with
no change involved. POST /v1/correlate about a cell of that zone finds the
onset and blames nothing (the rollout is a candidate: it reached the cell
earlier, and the hosts that ran it elsewhere did not get worse); about a
cell of another zone it finds no onset. A bad --fault-file stops the sim
with the line named."""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SIM_BIN = os.path.join(harness.BIN_DIR, "sim", "cellgate-sim")
SLOW = 3 if harness.SANITIZED else 1
FAULT_AT = 30 * SLOW  # seconds after the sim starts: after the rollout below (checked)
ZONE = "euw1-az2"
PLAN = {"waves": [{"name": "one", "cells": 1, "bake_s": 1, "min_requests": 100},
                  {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 100}],
        "gates": {"error_rate": {"max": 0.05}}}


def wait_for(pred, secs, what):
    end = time.time() + secs * SLOW
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    harness.fail("timed out waiting for " + what)


passed = 0
with harness.Server(extra_args=["--tick-ms", "200", "--history-bucket-ms", "1000",
                                "--history-buckets", "900"]) as s:
    work = s.data_dir
    faults = os.path.join(work, "faults.txt")
    with open(faults, "w") as f:
        f.write("# a zone fails, no change involved\nerrors:zone=%s:0.3@%d\n" % (ZONE, FAULT_AT))
    bad = os.path.join(work, "bad.txt")
    with open(bad, "w") as f:
        f.write("latency:5\nerrors:zone=%s\n" % ZONE)
    r = subprocess.run([SIM_BIN, "--server", s.url, "--token", s.admin_token,
                        "--fault-file", bad, "--duration", "1"],
                       capture_output=True, timeout=60)
    harness.check(r.returncode != 0 and b"line 2" in r.stderr,
                  "bad fault file: %s %r" % (r.returncode, r.stderr[-300:]))
    passed += 1

    ready = os.path.join(work, "sim.ready")
    log = open(os.path.join(work, "sim.log"), "wb")
    started = time.time()
    sim = subprocess.Popen(
        [SIM_BIN, "--server", s.url, "--token", s.admin_token, "--regions", "2", "--zones", "2",
         "--cells", "3", "--hosts", "4", "--rps", "100", "--report-ms", "1000", "--wait", "20",
         "--apply-delay-ms", "100", "--startup-ms", "1000", "--monitor-ms", "0",
         "--summary-ms", "0", "--ready-file", ready, "--token-prefix", "t54",
         "--fault-file", faults, "--duration", str(300 * SLOW)],
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(ready), 30, "every simulated host to poll")
        st, b = s.api("GET", "/v1/cells")
        cells = {c["id"]: c["zone"] for c in b["cells"]}
        harness.check(st == 200 and len(cells) == 12 and ZONE in cells.values(),
                      "cells %s" % cells)
        st, _ = s.api("POST", "/v1/configs", {"name": "feat", "contract": {}})
        harness.check(st == 201, "config")
        harness.check(s.api("PUT", "/v1/plans/p", PLAN)[0] in (200, 201), "plan")
        st, _, body = s.request("POST", "/v1/configs/feat/versions", json.dumps({"v": 1}),
                                headers={"Content-Type": "application/json"})
        harness.check(st == 201, "publish %s" % body[:200])
        st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": 1, "plan": "p"})
        harness.check(st == 201, "rollout %s" % b)
        rid = b["id"]
        wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % rid)[1]["state"] == "completed", 60,
                 "the rollout to complete")
        harness.check(time.time() - started < FAULT_AT - 3,
                      "the rollout ended %.0f s after the sim started, too close to the fault at "
                      "%d s: raise FAULT_AT" % (time.time() - started, FAULT_AT))
        passed += 1

        # the zone fails; ask 10 s after it began
        while time.time() - started < FAULT_AT + 10 * SLOW:
            time.sleep(0.5)
        bad_cell = sorted(c for c, z in cells.items() if z == ZONE)[0]
        good_cell = sorted(c for c, z in cells.items() if z != ZONE)[0]
        st, b = s.api("POST", "/v1/correlate", {"cell": bad_cell, "window": "3m"})
        harness.check(st == 200, "correlate %s %s" % (st, b))
        roll = [c for c in b["candidates"] if c["change"]["rollout"]]
        harness.check(b["onset"]["found"] and b["verdict"] == "none" and b["blamed"] is None
                      and roll and not roll[0]["blamed"],
                      "zone fault: %s" % json.dumps({k: b[k] for k in ("onset", "verdict",
                                                                      "candidates")})[:4000])
        passed += 1
        st, b = s.api("POST", "/v1/correlate", {"cell": good_cell, "window": "3m"})
        harness.check(st == 200 and not b["onset"]["found"] and b["verdict"] == "none",
                      "healthy cell: %s" % json.dumps(b)[:2000])
        passed += 1
    finally:
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
        try:
            out, _ = sim.communicate(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            sim.kill()
            out, _ = sim.communicate(timeout=10)
        log.close()
    simlog = open(os.path.join(work, "sim.log")).read()
    harness.check("zone %s fails 30.00%% of requests from %.1fs" % (ZONE, FAULT_AT) in simlog
                  + out.decode(errors="replace"), "the sim did not describe the fault:\n%s"
                  % simlog[-2000:])
    passed += 1
harness.done("sim-correlate-faults", passed)
