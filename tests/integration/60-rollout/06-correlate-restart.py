# SPDX-License-Identifier: MIT
"""The hosts' health histories survive a clean restart (docs/correlation.md
"Health history"): a server with 1 s buckets and six hosts in two cells; a
version assigned to one cell raises its errors; the server is stopped
(SIGTERM) and started again on the same data directory, and before any
host has reported again POST /v1/correlate about the time before the
restart still finds the onset and blames that assignment; after the
hosts report again (they adopt their histories) it still does. A torn
history file is ignored with a line saying why, and the server starts."""
import json, os, re, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = ["c1", "c2"]
HOSTS = {c: ["h-%s-%d" % (c, i) for i in range(3)] for c in CELLS}


class Fleet(threading.Thread):
    """Every host reports its cell's assignment; 20 errors in 100 while it
    runs version 2. self.hold pauses it (the server restarts)."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.hold, self.seq = s, threading.Event(), threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            if not self.hold.is_set():
                try:
                    st, b = self.s.api("GET", "/v1/configs/cfg/assignments")
                    for a in (b or {}).get("assignments", []) if st == 200 else []:
                        for host in HOSTS[a["cell"]]:
                            self.seq += 1
                            self.s.api("POST", "/v1/agent/report", {
                                "host": host, "cell": a["cell"], "seq": self.seq,
                                "window_ms": 200,
                                "configs": [{"config": "cfg", "version": a["version"],
                                             "generation": a["generation"],
                                             "outcome": "applied", "lkg_version": a["version"],
                                             "lkg_generation": a["generation"]}],
                                "health": {"requests": 100,
                                           "errors": 20 if a["version"] == 2 else 0}})
                except OSError:
                    pass
            self.stop.wait(0.2)


def why(s, at):
    st, b = s.api("POST", "/v1/correlate", {"cell": "c1", "at": at, "window": "2m"})
    h.check(st == 200, "correlate %s %s" % (st, b))
    return b


def log(s):
    return open(s.log_path, errors="replace").read()


def metric(s, name):
    st, _, body = s.request("GET", "/metrics")
    h.check(st == 200, "metrics %s" % st)
    for line in body.decode().splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def wait_saved_after(s, t_ms):
    """Waits for a periodic save that began after t_ms (the metric's time
    is the save's end); True when one did within 20 s."""
    deadline = time.time() + 20 * SLOW
    while time.time() < deadline:
        v = metric(s, "cellgate_health_history_last_save_timestamp_seconds")
        if v is not None and v * 1000 > t_ms + 1000:
            return True
        time.sleep(0.2)
    return False


ARGS = ["--tick-ms", "100", "--history-bucket-ms", "1000", "--history-buckets", "900"]
with h.Server(extra_args=ARGS + ["--history-save-every", "1"]) as s:
    for i, c in enumerate(CELLS):
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z%d" % i})[0] == 201, c)
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "contract": {}})[0] == 201, "config")
    for k in (1, 2):
        h.check(s.api("POST", "/v1/configs/cfg/versions", {"v": k})[0] == 201, "publish")
    st, b = s.api("POST", "/v1/configs/cfg/assign", {"version": 1, "cells": CELLS, "force": True,
                                                      "reason": "baseline"})
    h.check(st == 201, "assign %s" % b)
    fleet = Fleet(s)
    fleet.start()
    try:
        time.sleep(4 * SLOW)
        st, b = s.api("POST", "/v1/configs/cfg/assign", {"version": 2, "cells": ["c1"],
                                                          "force": True, "reason": "bad one"})
        h.check(st == 201, "bad assign %s" % b)
        time.sleep(4 * SLOW)
        t1 = int(time.time() * 1000)
        b = why(s, t1)
        h.check(b["verdict"] == "change" and b["blamed"]["reason"].endswith("bad one"),
                "before the restart: %s" % json.dumps(b)[:1500]); n += 1
        seq = b["blamed"]["seq"]

        # a crash after a periodic save: the fault is still found
        h.check(wait_saved_after(s, t1), "a periodic save after the fault"); n += 1
        h.check(metric(s, 'cellgate_health_history_saves_total{result="ok"}') >= 1 and
                metric(s, "cellgate_health_history_saved_hosts") == 6, "save metrics"); n += 1
        fleet.hold.set()
        time.sleep(0.5)
        s.kill9()
        s.start()
        b = why(s, t1)
        h.check(b["onset"]["found"] and b["verdict"] == "change" and b["blamed"]["seq"] == seq,
                "after a SIGKILL that followed a periodic save: %s" % json.dumps(b)[:1500]); n += 1
        h.check("health history: 6 hosts read back" in log(s), "read-back line after SIGKILL"); n += 1
        fleet.hold.clear()
        time.sleep(1 * SLOW)

        fleet.hold.set()
        time.sleep(0.5)
        s.restart()
        h.check(re.search(r"event=history\.saved path=\S+ hosts=6 ", log(s)) is not None,
                "saved line"); n += 1
        b = why(s, t1)
        h.check(b["onset"]["found"] and b["verdict"] == "change" and b["blamed"]["seq"] == seq,
                "after the restart, before any report: %s" % json.dumps(b)[:1500]); n += 1
        h.check("health history: 6 hosts read back" in log(s), "read-back line"); n += 1

        fleet.hold.clear()
        time.sleep(2 * SLOW)
        b = why(s, t1)
        h.check(b["verdict"] == "change" and b["blamed"]["seq"] == seq,
                "after the hosts reported again: %s" % json.dumps(b)[:1500]); n += 1

        # a torn file: ignored, saying why; the server starts without it
        fleet.hold.set()
        time.sleep(0.5)
        s.stop()
        path = os.path.join(s.data_dir, "health-history")
        size = os.path.getsize(path)
        h.check(size > 6 * 900 * 8, "file size %d" % size); n += 1
        with open(path, "r+b") as f:
            f.truncate(size // 2)
        s.start()
        h.check("health history: %s ignored" % path in log(s), "ignored line"); n += 1
        b = why(s, t1)
        h.check(not b["onset"]["found"] and b["verdict"] == "none",
                "a torn file must not be read: %s" % json.dumps(b)[:800]); n += 1

        # the periodic save off: nothing is written while the server runs,
        # so a SIGKILL leaves no file and the histories are gone
        s.stop()
        os.unlink(path)
        s.extra_args = ARGS + ["--history-save-every", "0"]
        s.start()
        fleet.hold.clear()
        time.sleep(3 * SLOW)
        h.check(metric(s, 'cellgate_health_history_saves_total{result="ok"}') == 0 and
                metric(s, "cellgate_health_history_last_save_timestamp_seconds") == 0,
                "no periodic save with --history-save-every 0"); n += 1
        fleet.hold.set()
        s.kill9()
        h.check(not os.path.exists(path), "no file written while running"); n += 1
        mark = len(log(s))
        s.start()
        h.check("read back" not in log(s)[mark:], "nothing read back after the SIGKILL"); n += 1
    finally:
        fleet.stop.set()
        fleet.join()
h.done("correlate-restart", n)
