# SPDX-License-Identifier: MIT
"""`cellgated backup create|verify|restore` (docs/operations.md, "Backups").

A backup taken while a server runs a rollout for a simulated fleet and
another client publishes without pause verifies, and restores into a new
data directory as the store it copied: the same audit records up to the
manifest's head, every config's generation raised by --bump-generations so
the restored server's next assignment passes every generation the original
handed out after the backup (I2), its open rollout still open. Tampered
backups (a byte of the store, the manifest's head, a file added or
missing) do not verify, and restore nothing. A restore refuses a used
directory, a missing key and a key that is not the backup's. SIGKILL at
random moments during `backup create` (100 trials) never leaves a
directory under the final name that does not verify, and a later create
removes the dead ones' partial directories."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402

SIM_BIN = os.path.join(h.BIN_DIR, "sim", "cellgate-sim")
SLOW = 3 if h.SANITIZED else 1
TRIALS = 100
tmp = tempfile.mkdtemp(prefix="cgbackup.")
n = 0

PLAN_FAST = {"waves": [{"name": "one", "cells": 1, "bake_s": 1},
                       {"name": "rest", "percent": 100, "bake_s": 1}],
             "gates": {"min_converged": 0.5}, "stuck_timeout_s": 120, "on_stuck": "halt"}
PLAN_SLOW = {"waves": [{"name": "one", "cells": 1, "bake_s": 3600},
                       {"name": "rest", "percent": 100, "bake_s": 1}],
             "gates": {"min_converged": 0.5}, "stuck_timeout_s": 7200, "on_stuck": "halt"}


def cg(*args, timeout=120):
    return subprocess.run([h.SERVER_BIN] + list(args), capture_output=True, text=True,
                          timeout=timeout * SLOW)


def wait_for(pred, secs, what):
    end = time.time() + secs * SLOW
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    h.fail("timed out waiting for " + what)


def publish(s, config, k):
    st, _, body = s.request("POST", "/v1/configs/%s/versions" % config,
                            json.dumps(h.features(k)),
                            headers={"Content-Type": "application/json"})
    h.check(st == 201, "publish %s: %s %s" % (config, st, body[:200]))
    return json.loads(body)["number"]


def generation(s, config):
    st, b = s.api("GET", "/v1/configs/" + config)
    h.check(st == 200, "config %s: %s" % (config, st))
    return b["generation"]


def audit_records(s):
    out, after = [], 0
    while True:
        st, b = s.api("GET", "/v1/audit?after=%d&limit=1000" % after)
        h.check(st == 200, "audit: %s" % st)
        out += b["records"]
        if not b["records"] or len(b["records"]) < 1000:
            return out
        after = b["records"][-1]["seq"]


def manifest(path):
    with open(os.path.join(path, "manifest.json")) as f:
        return json.load(f)


def copy_backup(src, name):
    dst = os.path.join(tmp, name)
    shutil.copytree(src, dst)
    return dst


def refused(path, what, needle):
    global n
    r = cg("backup", "verify", path)
    h.check(r.returncode == 1 and "does NOT verify" in r.stderr and needle in r.stderr,
            "%s: rc %s %r" % (what, r.returncode, r.stderr))
    n += 1


with h.Server(keep=True, extra_args=["--tick-ms", "200"]) as s:
    src = s.data_dir
    sim_log = open(os.path.join(tmp, "sim.log"), "wb")
    ready = os.path.join(tmp, "sim.ready")
    sim = subprocess.Popen(
        [SIM_BIN, "--server", s.url, "--token", s.admin_token, "--regions", "2", "--zones", "2",
         "--cells", "2", "--hosts", "4", "--rps", "50", "--report-ms", "500", "--wait", "20",
         "--startup-ms", "500", "--summary-ms", "0", "--ready-file", ready,
         "--token-prefix", "t95", "--duration", str(240 * SLOW)],
        stdout=subprocess.DEVNULL, stderr=sim_log, stdin=subprocess.DEVNULL)
    stop = threading.Event()
    try:
        wait_for(lambda: os.path.exists(ready), 30, "every simulated host to poll")
        cell0 = s.api("GET", "/v1/cells")[1]["cells"][0]["id"]
        for name in ("feat", "busy"):
            st, b = s.api("POST", "/v1/configs", {"name": name, "kind": "config",
                                                  "contract": h.FEATURE_CONTRACT})
            h.check(st == 201, "config %s: %s %s" % (name, st, b))
        for name, plan in (("fast", PLAN_FAST), ("slow", PLAN_SLOW)):
            st, b = s.api("PUT", "/v1/plans/" + name, plan)
            h.check(st in (200, 201), "plan %s: %s %s" % (name, st, b))
        v1 = publish(s, "feat", 60)
        st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": v1, "plan": "fast",
                                               "reason": "baseline"})
        h.check(st == 201, "rollout 1: %s %s" % (st, b))
        r1 = b["id"]
        wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % r1)[1]["state"] == "completed", 60,
                 "the first rollout to complete")
        v2 = publish(s, "feat", 61)
        st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": v2, "plan": "slow",
                                               "reason": "held in its first wave"})
        h.check(st == 201, "rollout 2: %s %s" % (st, b))
        r2 = b["id"]
        wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % r2)[1]["step_state"] == "bake", 30,
                 "the second rollout's first wave to bake")

        # another client publishes without pause while the backup is taken
        published = [0]

        def writer():
            k = 0
            while not stop.is_set():
                publish(s, "busy", 100 + k % 50)
                published[0] += 1
                k += 1
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        wait_for(lambda: published[0] >= 5, 30, "the writer to publish")
        out = os.path.join(tmp, "b1")
        r = cg("backup", "create", "--data", src, out)
        h.check(r.returncode == 0 and "audit records" in r.stderr,
                "backup create: %s %r" % (r.returncode, r.stderr)); n += 1
        wait_for(lambda: published[0] >= published[0] + 0 and published[0] > 10, 30,
                 "the writer to go on after the backup")
        stop.set()
        t.join(30)
        m = manifest(out)
        h.check(sorted(os.listdir(out)) == ["audit-checkpoints", "cellgate.db", "manifest.json"],
                "backup files: %s" % os.listdir(out)); n += 1
        h.check(all(oct(os.stat(os.path.join(out, f)).st_mode & 0o777) == "0o600"
                    for f in os.listdir(out)), "backup file modes"); n += 1
        h.check(m["configs"]["feat"]["latest_version"] == v2 and
                m["configs"]["busy"]["latest_version"] >= 5, "manifest configs: %s" % m["configs"])
        n += 1
        r = cg("backup", "verify", out)
        h.check(r.returncode == 0 and "verifies" in r.stdout, "verify: %r %r" % (r.stdout,
                                                                                 r.stderr)); n += 1

        # the original goes on after the backup: more generations than the
        # backup knows (the open rollout aborted, two direct assignments)
        st, b = s.api("POST", "/v1/rollouts/%d/abort" % r2, {"reason": "after the backup"})
        h.check(st == 200, "abort: %s %s" % (st, b))
        wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % r2)[1]["state"] in
                 ("aborted", "rolled_back"), 30, "the abort")
        for v in (v1, v2):
            g = generation(s, "feat")
            st, b = s.api("POST", "/v1/configs/feat/assign",
                          {"version": v, "cells": [cell0], "expect_generation": g,
                           "reason": "after the backup"})
            h.check(st in (200, 201), "assign: %s %s" % (st, b))
        g_orig = generation(s, "feat")
        h.check(g_orig > m["configs"]["feat"]["generation"], "the original moved on"); n += 1
        orig_records = audit_records(s)
    finally:
        stop.set()
        if sim.poll() is None:
            sim.send_signal(signal.SIGTERM)
        try:
            sim.communicate(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.communicate(timeout=10)
        sim_log.close()
    key = os.path.join(src, "signing.key")
    admin = s.admin_token

# -- tampered backups do not verify and restore nothing
bad = copy_backup(out, "bad-byte")
with open(os.path.join(bad, "cellgate.db"), "r+b") as f:
    f.seek(os.path.getsize(os.path.join(bad, "cellgate.db")) // 2)
    byte = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([byte[0] ^ 0xFF]))
refused(bad, "a flipped byte", "sha256")
r = cg("backup", "restore", bad, "--data", os.path.join(tmp, "never"), "--key", key)
h.check(r.returncode == 1 and not os.path.exists(os.path.join(tmp, "never")),
        "restore of a bad backup: %r" % r.stderr); n += 1

bad = copy_backup(out, "bad-head")
mm = manifest(bad)
mm["audit"]["head"] = "0" * 64
with open(os.path.join(bad, "manifest.json"), "w") as f:
    json.dump(mm, f)
refused(bad, "an edited head", "audit chain")

bad = copy_backup(out, "bad-gen")
mm = manifest(bad)
mm["configs"]["feat"]["generation"] += 1
with open(os.path.join(bad, "manifest.json"), "w") as f:
    json.dump(mm, f)
refused(bad, "an edited generation", "configs")

bad = copy_backup(out, "bad-extra")
with open(os.path.join(bad, "cellgate.db-wal"), "wb") as f:
    f.write(b"x")
refused(bad, "an extra file", "not in the manifest")

bad = copy_backup(out, "bad-missing")
os.unlink(os.path.join(bad, "audit-checkpoints"))
refused(bad, "a missing file", "audit-checkpoints")

bad = copy_backup(out, "bad-manifest")
with open(os.path.join(bad, "manifest.json"), "w") as f:
    f.write("{\"format\": \"cellgate-backup\", \"version\": 1")
refused(bad, "a truncated manifest", "manifest.json")

# -- restore: refusals, then the real one
r = cg("backup", "restore", out, "--data", os.path.join(tmp, "r0"))
h.check(r.returncode == 2 and "--key" in r.stderr, "no key: %r" % r.stderr); n += 1
r = cg("backup", "restore", out, "--data", src, "--key", key)
h.check(r.returncode == 1 and "not empty" in r.stderr, "used dir: %r" % r.stderr); n += 1
other = os.path.join(tmp, "other")
h.check(cg("init", "--data", other).returncode == 0, "init other")
r = cg("backup", "restore", out, "--data", os.path.join(tmp, "r0"), "--key",
       os.path.join(other, "signing.key"))
h.check(r.returncode == 1 and "pin" in r.stderr and not os.path.exists(os.path.join(tmp, "r0")),
        "wrong key: %r" % r.stderr); n += 1
r = cg("backup", "create", "--data", src, "--store", "postgres://x@127.0.0.1:1/x",
       os.path.join(tmp, "pg"))
h.check(r.returncode == 2 and "pg_dump" in r.stderr, "create --store: %r" % r.stderr); n += 1

restored = os.path.join(tmp, "restored")
BUMP = 1000
r = cg("backup", "restore", out, "--data", restored, "--key", key, "--bump-generations",
       str(BUMP))
h.check(r.returncode == 0 and "restored" in r.stderr, "restore: %r" % r.stderr); n += 1
h.check(sorted(os.listdir(restored)) == ["audit-checkpoints", "cellgate.db", "signing.key"],
        "restored files: %s" % os.listdir(restored)); n += 1
r = cg("backup", "verify", "--store", os.path.join(restored, "cellgate.db"))
h.check(r.returncode == 0 and "verifies" in r.stdout, "verify --store: %r" % r.stderr); n += 1

with open(os.path.join(restored, "admin.token"), "w") as f:
    f.write(admin)  # the harness reads the token of a store it did not create here
with h.Server(data_dir=restored, keep=True) as s2:
    recs = audit_records(s2)
    head = m["audit"]["records"]
    h.check(len(recs) > head and recs[head - 1]["hash"] == m["audit"]["head"],
            "restored chain reaches the backup's head"); n += 1
    h.check([x["hash"] for x in recs[:head]] == [x["hash"] for x in orig_records[:head]],
            "the restored records are the original's up to the head"); n += 1
    h.check(any(x["action"] == "meta.set" and x["object"].startswith("meta/restore.")
                for x in recs[head:]), "the restore is audited"); n += 1
    r = s2.cli("audit", "verify")
    h.check(r.returncode == 0, "audit verify after restore: %r" % r.stderr); n += 1
    for name, c in m["configs"].items():
        h.check(generation(s2, name) == c["generation"] + BUMP,
                "%s generation %s, backup %s" % (name, generation(s2, name), c["generation"]))
    n += 1
    st, b = s2.api("GET", "/v1/rollouts/%d" % r2)
    h.check(st == 200 and b["state"] == "running", "the open rollout is open: %s" % b.get("state"))
    n += 1
    st, b = s2.api("POST", "/v1/rollouts/%d/abort" % r2, {"reason": "restored"})
    h.check(st == 200, "abort on the restored server: %s %s" % (st, b))
    wait_for(lambda: s2.api("GET", "/v1/rollouts/%d" % r2)[1]["state"] in
             ("aborted", "rolled_back"), 30, "the abort")
    g = generation(s2, "feat")
    st, b = s2.api("POST", "/v1/configs/feat/assign",
                   {"version": v1, "cells": [cell0], "expect_generation": g,
                    "reason": "first change after the restore"})
    h.check(st in (200, 201) and b["generation"] > g_orig,
            "the first assignment after the restore (%s) passes the original's %s" %
            (b.get("generation"), g_orig)); n += 1

# -- SIGKILL during create never leaves a bad backup under the final name
final = os.path.join(tmp, "k")
t0 = time.time()
r = cg("backup", "create", "--data", restored, final)
full = time.time() - t0
h.check(r.returncode == 0, "timing run: %r" % r.stderr)
shutil.rmtree(final)
rng = random.Random(int(os.environ.get("CG_SEED", "95")))
killed_mid = completed = 0
for i in range(TRIALS):
    p = subprocess.Popen([h.SERVER_BIN, "backup", "create", "--data", restored, final],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0, full * 1.2))
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    if os.path.exists(final):
        completed += 1
        r = cg("backup", "verify", final)
        h.check(r.returncode == 0, "trial %d: %s exists and does not verify: %r" %
                (i, final, r.stderr))
        shutil.rmtree(final)
    else:
        killed_mid += 1
h.check(killed_mid > 0, "no trial was killed before its rename (%d completed)" % completed); n += 1
r = cg("backup", "create", "--data", restored, final)
h.check(r.returncode == 0, "create after the trials: %r" % r.stderr)
left = [x for x in os.listdir(tmp) if x.startswith("k.partial-")]
h.check(left == [], "partial directories left: %s" % left); n += 1
print("SIGKILL trials: %d, killed before the rename %d, completed %d" %
      (TRIALS, killed_mid, completed))

shutil.rmtree(tmp, ignore_errors=True)
h.done("02-backup", n)
