# SPDX-License-Identifier: MIT
"""Scheduled backups (--backup-dir, --backup-every, --backup-keep;
docs/operations.md, "Scheduled backups"): while clients publish, the
server writes a backup every second and keeps the newest two, each of
which verifies; a file of the operator's in the directory is left alone;
/metrics has the last success, duration, size and the counts by result;
each outcome is one logfmt line. When the directory becomes unusable the
failures are counted and logged and the server goes on serving; when it is
usable again backups resume. A backup directory that cannot be created,
and --backup-dir with --store, are refused at start."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402

SLOW = 3 if h.SANITIZED else 1
tmp = tempfile.mkdtemp(prefix="cgsched.")
bdir = os.path.join(tmp, "backups")
n = 0


def metrics(s):
    st, _, body = s.request("GET", "/metrics")
    h.check(st == 200, "metrics: %s" % st)
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("cellgate_backup"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def wait_for(pred, secs, what):
    end = time.time() + secs * SLOW
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    h.fail("timed out waiting for " + what)


def ours():
    return sorted(x for x in os.listdir(bdir) if re.fullmatch(
        r"cellgate-\d{8}T\d{6}\.\d{3}Z", x))


OK = 'cellgate_backups_total{result="ok"}'
FAILED = 'cellgate_backups_total{result="failed"}'

os.makedirs(bdir)
with open(os.path.join(bdir, "README.operator"), "w") as f:
    f.write("not a backup\n")
with h.Server(extra_args=["--backup-dir", bdir, "--backup-every", "1",
                          "--backup-keep", "2"]) as s:
    s.api("POST", "/v1/configs", {"name": "app", "kind": "config",
                                  "contract": h.FEATURE_CONTRACT})
    k = 0

    def published_and_backed_up(want):
        global k
        st, _, _ = s.request("POST", "/v1/configs/app/versions", json.dumps(h.features(60 + k % 20)),
                             headers={"Content-Type": "application/json"})
        h.check(st == 201, "publish %s" % st)
        k += 1
        return metrics(s).get(OK, 0) >= want
    wait_for(lambda: published_and_backed_up(4), 30, "four scheduled backups")
    m = metrics(s)
    h.check(m[FAILED] == 0 and m["cellgate_backup_last_size_bytes"] > 0 and
            m["cellgate_backup_last_duration_seconds"] >= 0 and
            abs(m["cellgate_backup_last_success_timestamp_seconds"] - time.time()) < 60 * SLOW,
            "metrics: %s" % m); n += 1
    h.check(m["cellgate_backups_pruned_total"] >= 2, "pruned: %s" % m); n += 1
    names = ours()
    h.check(len(names) == 2, "kept: %s" % os.listdir(bdir)); n += 1
    h.check(os.path.exists(os.path.join(bdir, "README.operator")), "the operator's file"); n += 1
    for name in names:
        r = subprocess.run([h.SERVER_BIN, "backup", "verify", os.path.join(bdir, name)],
                           capture_output=True, text=True, timeout=60 * SLOW)
        h.check(r.returncode == 0, "%s: %r" % (name, r.stderr))
    n += 1
    newest = json.load(open(os.path.join(bdir, names[-1], "manifest.json")))
    h.check(newest["configs"]["app"]["latest_version"] >= 1, "newest backup: %s" %
            newest["configs"]); n += 1
    log = open(s.log_path).read()
    h.check(re.search(r"level=info event=backup\.ok path=\S+ bytes=\d+ audit_records=\d+", log),
            "logfmt line: %s" % log[-1000:]); n += 1

    # the directory becomes a file: failures counted and logged, the server serves
    shutil.rmtree(bdir)
    with open(bdir, "w") as f:
        f.write("in the way\n")
    wait_for(lambda: metrics(s).get(FAILED, 0) >= 2, 30, "failed backups to be counted")
    h.check(s.api("GET", "/v1/configs/app")[0] == 200, "the server serves"); n += 1
    h.check("level=error event=backup.failed" in open(s.log_path).read(), "failure logged"); n += 1
    os.unlink(bdir)
    os.makedirs(bdir)
    ok_before = metrics(s)[OK]
    wait_for(lambda: metrics(s)[OK] > ok_before and ours(), 30, "backups to resume"); n += 1

# refused at start
r = subprocess.run([h.SERVER_BIN, "serve", "--data", os.path.join(tmp, "d2"), "--listen",
                    "127.0.0.1:0", "--backup-dir", os.path.join(tmp, "no", "such", "dir")],
                   capture_output=True, text=True, timeout=60 * SLOW)
h.check(r.returncode != 0 and "--backup-dir" in r.stderr, "uncreatable dir: %r" % r.stderr)
n += 1
r = subprocess.run([h.SERVER_BIN, "serve", "--data", os.path.join(tmp, "d3"), "--listen",
                    "127.0.0.1:0", "--store", "postgres://nobody@127.0.0.1:1/x",
                    "--backup-dir", bdir], capture_output=True, text=True, timeout=60 * SLOW)
h.check(r.returncode != 0 and ("pg_dump" in r.stderr or "store" in r.stderr),
        "--store: %r" % r.stderr); n += 1

shutil.rmtree(tmp, ignore_errors=True)
h.done("03-scheduled-backups", n)
