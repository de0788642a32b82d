# SPDX-License-Identifier: MIT
"""cellgate-sim with two replica URLs of which the first is dead: the hosts
spread over both, every host on the dead one moves to the next replica
after its first failed call, exactly once (a replica that is gone costs at
most one reconnect per host), the set-up calls go through the live one,
and every host polls and reports to the live replica."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SIM_BIN = os.path.join(harness.BIN_DIR, "sim", "cellgate-sim")
HOSTS = 2 * 2 * 2 * 5
SLOW = 3 if harness.SANITIZED else 1

# a port on 127.0.0.1 that nothing listens on (bound, then closed)
with socket.socket() as sk:
    sk.bind(("127.0.0.1", 0))
    dead = "http://127.0.0.1:%d" % sk.getsockname()[1]

n = 0
with harness.Server() as s:
    work = s.data_dir
    json_out = os.path.join(work, "sim.json")
    ready = os.path.join(work, "sim.ready")
    log = open(os.path.join(work, "sim.log"), "wb")
    sim = subprocess.Popen(
        [SIM_BIN, "--server", dead + "," + s.url, "--token", s.admin_token, "--regions", "2",
         "--zones", "2", "--cells", "2", "--hosts", "5", "--rps", "50", "--report-ms", "500",
         "--wait", "5", "--startup-ms", "500", "--summary-ms", "0", "--json-out", json_out,
         "--json-every-ms", "300", "--ready-file", ready, "--token-prefix", "t53",
         "--duration", str(60 * SLOW)],
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    try:
        end = time.time() + 30 * SLOW
        while not os.path.exists(ready) and time.time() < end:
            harness.check(sim.poll() is None, "sim exited early: %s" %
                          open(os.path.join(work, "sim.log")).read()[-2000:])
            time.sleep(0.1)
        harness.check(os.path.exists(ready), "not every host polled within 30 s"); n += 1
        end = time.time() + 20 * SLOW
        hosts = []
        while time.time() < end:
            st, b = s.api("GET", "/v1/hosts")
            hosts = b.get("hosts", []) if st == 200 else []
            if len(hosts) == HOSTS:
                break
            time.sleep(0.2)
        harness.check(len(hosts) == HOSTS, "hosts reporting to the live replica: %d of %d"
                      % (len(hosts), HOSTS)); n += 1
        time.sleep(1.0)  # a few more cycles: no host may move again
    finally:
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
        try:
            sim.communicate(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.communicate(timeout=10)
        log.close()
    harness.check(sim.returncode == 0, "cellgate-sim exited %s" % sim.returncode)
    d = json.load(open(json_out))
    fo = d["agents"]["failovers"]
    # hosts 0, 2, 4, ... started on the dead replica: each moved once
    harness.check(fo == HOSTS // 2, "failovers %d, want %d (one per host of the dead replica)"
                  % (fo, HOSTS // 2)); n += 1
print("ok: %d checks" % n)
