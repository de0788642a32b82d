# SPDX-License-Identifier: MIT
"""`cellgated backup create|verify|restore` (docs/operations.md, "Backups").

A backup taken while a server runs a rollout for a simulated fleet and
another client publishes without pause verifies, and restores into a new
data directory as the store it copied: the same audit records up to the
manifest's head, its open rollout still open, and every config's
generation and every cell's assignment raised by --bump-generations, so
what the restored server hands out (the desired state's signed
generation) and its next assignment pass every generation the original
handed out after the backup (I2). The state at each moment recorded
during the run (GET /v1/state?at=T on the RESTORED server) is what the
live server showed then and what the live server's state-at-T said, and
the state now on the restored server, the restore's bump included, is
what its live API says.

A restore with too small a bump (--bump-generations 1) hands out
generations below what agents hold: the first report of a host holding
more is noticed (logged, counted in
cellgate_reports_generation_ahead_total, audited as
config.generation_raise) and the config's generation raised to it, so the
next assignment is newer; a decision taken on the old generation fails
its compare-and-set.

Tampered backups (a byte of the store, the manifest's head, a file added
or missing; a checkpoint forged, signed by another key, contradicting the
chain, past the snapshot, or torn, with the manifest rewritten to match)
do not verify, and restore nothing. A restore refuses a used directory, a
missing key and a key that is not the backup's. SIGKILL at random
moments during `backup create` (100 trials) never leaves a directory
under the final name that does not verify, and a later create removes
the dead ones' partial directories."""
import base64
import hashlib
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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

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


def live(s):
    """Config feat as the live API shows it now, in the shape of at()."""
    st, a = s.api("GET", "/v1/configs/feat/assignments?limit=1000")
    st2, c = s.api("GET", "/v1/configs/feat")
    st3, v = s.api("GET", "/v1/configs/feat/versions?limit=1000")
    st4, ro = s.api("GET", "/v1/rollouts?open=1")
    h.check((st, st2, st3, st4) == (200, 200, 200, 200), "live reads")
    return {
        "cells": sorted((x["cell"], x["version"], x["generation"]) for x in a["assignments"]),
        "generation": c["generation"], "latest": c["latest_version"],
        "versions": sorted(x["number"] for x in v["versions"] if not x["deleted_at"]),
        "open": sorted((x["id"], x["state"]) for x in ro["rollouts"] if x["config"] == "feat"),
    }


def at(s, t_ms):
    """Config feat as GET /v1/state?at=T rebuilds it."""
    st, b = s.api("GET", "/v1/state?at=%d&config=feat" % t_ms)
    h.check(st == 200, "state at %d: %s %s" % (t_ms, st, b))
    c = b["configs"][0]
    return {
        "cells": sorted((x["cell"], x["version"], x["generation"]) for x in c["assignments"]),
        "generation": c["generation"], "latest": c["latest_version"],
        "versions": sorted(x["number"] for x in c["versions"] if not x["deleted"]),
        "open": sorted((x["id"], x["state"]) for x in b["rollouts_open"]),
    }


recorded = []


def record(s, what):
    """The live state, bracketed by two times at which nothing changes."""
    time.sleep(0.02)
    before = live(s)
    t = int(time.time() * 1000)
    time.sleep(0.02)
    h.check(live(s) == before, "the state moved while recording " + what)
    recorded.append((what, t, before))


def now_matches(s, what):
    """The state now (replayed) is what the live API says."""
    global n
    got = at(s, int(time.time() * 1000) + 1000)
    want = live(s)
    h.check(got == want, "%s: state now\n got  %s\n want %s" % (what, got, want)); n += 1


def desired_generations(s, cells):
    """The signed generation of feat in each cell's desired state."""
    out = {}
    for c in cells:
        st, b = s.api("GET", "/v1/agent/desired?cell=" + c)
        h.check(st == 200, "desired %s: %s" % (c, st))
        for x in b["assignments"]:
            if x["config"] == "feat":
                out[c] = x["statement"]["statement"]["generation"]
    return out


def metric(s, name):
    st, _, body = s.request("GET", "/metrics")
    h.check(st == 200, "metrics: %s" % st)
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no metric " + name)


def sign_checkpoint(keyfile, seq, hash_, time_ms):
    """A checkpoint line signed with the key file's key (common/checkpoint.h)."""
    seed = bytes.fromhex(open(keyfile).read().split("\n")[1].strip())
    k = Ed25519PrivateKey.from_private_bytes(seed)
    pk = k.public_key().public_bytes_raw()
    key_id = hashlib.sha256(pk).hexdigest()[:16]
    canon = "cellgate-audit-checkpoint-v1\nseq=%d\nhash=%s\ntime_ms=%d\nkey_id=%s\n" % (
        seq, hash_, time_ms, key_id)
    sig = base64.b64encode(k.sign(canon.encode())).decode()
    return json.dumps({"hash": hash_, "key_id": key_id, "seq": seq, "signature": sig,
                       "time_ms": time_ms}, sort_keys=True, separators=(",", ":"))


def with_checkpoints(name, lines, torn=False):
    """A copy of the backup whose audit-checkpoints is 'lines', the manifest
    rewritten to match (so only the checkpoints' content can give it away)."""
    bad = copy_backup(out, name)
    p = os.path.join(bad, "audit-checkpoints")
    data = ("\n".join(lines) + ("" if torn else "\n")).encode()
    with open(p, "wb") as f:
        f.write(data)
    mm = manifest(bad)
    mm["files"]["audit-checkpoints"] = {"size": len(data),
                                        "sha256": hashlib.sha256(data).hexdigest()}
    with open(os.path.join(bad, "manifest.json"), "w") as f:
        json.dump(mm, f)
    return bad


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
        all_cells = sorted(c["id"] for c in s.api("GET", "/v1/cells")[1]["cells"])
        cell0 = all_cells[0]
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
        record(s, "v1 everywhere")
        v2 = publish(s, "feat", 61)
        st, b = s.api("POST", "/v1/rollouts", {"config": "feat", "version": v2, "plan": "slow",
                                               "reason": "held in its first wave"})
        h.check(st == 201, "rollout 2: %s %s" % (st, b))
        r2 = b["id"]
        wait_for(lambda: s.api("GET", "/v1/rollouts/%d" % r2)[1]["step_state"] == "bake", 30,
                 "the second rollout's first wave to bake")
        record(s, "the second rollout baking its first wave")

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
        h.check(" 0 signed checkpoints" not in r.stdout and "signed checkpoints" in r.stdout,
                "verify checks the checkpoints: %r" % r.stdout); n += 1

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
        h.check(g_orig > m["configs"]["feat"]["generation"] + 1, "the original moved on"); n += 1
        orig_records = audit_records(s)
        # what the live server's own state-at-T says of the recorded moments
        live_at = {t: at(s, t) for _, t, _ in recorded}
        for what, t, want in recorded:
            h.check(live_at[t] == want, "%s: the live server's state at %d\n got  %s\n want %s"
                    % (what, t, live_at[t], want))
        n += 1
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

# -- the checkpoints' content: every line signed by the store's key, and
# the record it signs in the chain with its hash (the manifest rewritten
# to match, so the file's sha256 does not give it away)
other = os.path.join(tmp, "other")
h.check(cg("init", "--data", other).returncode == 0, "init other")
good = open(os.path.join(out, "audit-checkpoints")).read().splitlines()
last = json.loads(good[-1])
h.check(cg("backup", "verify", with_checkpoints("ck-same", good)).returncode == 0,
        "the rewritten manifest alone verifies")
forged = dict(last, hash="0" * 64)
refused(with_checkpoints("ck-forged", good + [json.dumps(forged, sort_keys=True)]),
        "a forged checkpoint", "forged or altered")
refused(with_checkpoints("ck-other-key", good + [sign_checkpoint(
    os.path.join(other, "signing.key"), last["seq"], last["hash"], last["time_ms"] + 1)]),
    "a checkpoint signed by another key", "no key the store has had")
refused(with_checkpoints("ck-rewritten", good + [sign_checkpoint(
    key, 2, "ab" * 32, last["time_ms"] + 1)]), "a checkpoint the chain contradicts",
    "the chain was rewritten")
refused(with_checkpoints("ck-ahead", good + [sign_checkpoint(
    key, m["audit"]["records"] + 5, "cd" * 32, last["time_ms"] + 1)]),
    "a checkpoint past the snapshot", "older than its checkpoints")
refused(with_checkpoints("ck-torn", good, torn=True), "a torn last line", "not whole")
refused(with_checkpoints("ck-garbage", good[:1] + ["{\"seq\": 1}"] + good[1:]),
        "a line that is not a checkpoint", "not a checkpoint")

# -- restore: refusals, then the real one
r = cg("backup", "restore", out, "--data", os.path.join(tmp, "r0"))
h.check(r.returncode == 2 and "--key" in r.stderr, "no key: %r" % r.stderr); n += 1
r = cg("backup", "restore", out, "--data", src, "--key", key)
h.check(r.returncode == 1 and "not empty" in r.stderr, "used dir: %r" % r.stderr); n += 1
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
    # what it hands out now passes everything the original handed out
    handed = desired_generations(s2, all_cells)
    h.check(len(handed) == len(all_cells) and min(handed.values()) > g_orig,
            "the restored server hands out %s, the original reached %s" % (handed, g_orig)); n += 1
    # the state at each recorded moment, rebuilt on the restored server
    for what, t, want in recorded:
        got = at(s2, t)
        h.check(got == want and got == live_at[t],
                "restored, %s: state at %d\n got  %s\n want %s" % (what, t, got, want)); n += 1
    now_matches(s2, "restored, before any change (the restore's bump replayed)")
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
    now_matches(s2, "restored, after an assignment")

# -- too small a bump: a host ahead of the restored store raises it
low = os.path.join(tmp, "restored-low")
r = cg("backup", "restore", out, "--data", low, "--key", key, "--bump-generations", "1")
h.check(r.returncode == 0, "restore --bump-generations 1: %r" % r.stderr)
with open(os.path.join(low, "admin.token"), "w") as f:
    f.write(admin)
with h.Server(data_dir=low, keep=True) as s3:
    g_low = generation(s3, "feat")
    handed = desired_generations(s3, [cell0])
    h.check(g_low == m["configs"]["feat"]["generation"] + 1 and g_low < g_orig and
            handed[cell0] < g_orig, "the small bump hands out %s < %s" % (handed, g_orig)); n += 1
    h.check(metric(s3, "cellgate_reports_generation_ahead_total") == 0, "none ahead yet"); n += 1

    def report(host, gen, ver):
        st, b = s3.api("POST", "/v1/agent/report", {
            "host": host, "cell": cell0, "seq": 1, "window_ms": 1000,
            "configs": [{"config": "feat", "version": ver, "generation": gen,
                         "outcome": "applied", "lkg_version": ver, "lkg_generation": gen}]})
        h.check(st == 204, "report: %s %s" % (st, b))
    report("h-behind", handed[cell0], v2)  # at or below the store's: nothing to do
    h.check(metric(s3, "cellgate_reports_generation_ahead_total") == 0 and
            generation(s3, "feat") == g_low, "a host at the store's generation"); n += 1
    report("h-ahead", g_orig, v1)  # what the original handed out after the backup
    h.check(metric(s3, "cellgate_reports_generation_ahead_total") == 1, "counted"); n += 1
    h.check(generation(s3, "feat") == g_orig, "raised to %s: %s" % (g_orig, generation(s3, "feat")))
    n += 1
    log = open(s3.log_path).read()
    h.check("GENERATION: host h-ahead" in log and "raised the config's generation" in log,
            "logged: %r" % log[-600:]); n += 1
    recs = audit_records(s3)
    raise_recs = [x for x in recs if x["action"] == "config.generation_raise"]
    h.check(len(raise_recs) == 1 and raise_recs[0]["object"] == "config/feat" and
            raise_recs[0]["actor"] == "system", "audited: %s" % raise_recs); n += 1
    report("h-ahead", g_orig, v1)  # the same again: known now, nothing more
    report("h-ahead-2", g_orig - 1, v1)
    h.check(metric(s3, "cellgate_reports_generation_ahead_total") == 1 and
            len([x for x in audit_records(s3) if x["action"] == "config.generation_raise"]) == 1,
            "once"); n += 1
    now_matches(s3, "after the raise (replayed)")
    # a decision taken on the old generation does not land; the next is newer
    st, b = s3.api("POST", "/v1/configs/feat/assign",
                   {"version": v1, "cells": [cell0], "expect_generation": g_low,
                    "reason": "decided before the raise"})
    h.check(st == 409, "stale compare-and-set: %s %s" % (st, b)); n += 1
    st, b = s3.api("POST", "/v1/configs/feat/assign",
                   {"version": v1, "cells": [cell0], "expect_generation": g_orig,
                    "reason": "after the raise"})
    h.check(st in (200, 201) and b["generation"] == g_orig + 1,
            "the next assignment passes the host: %s %s" % (st, b)); n += 1
    h.check(desired_generations(s3, [cell0])[cell0] == g_orig + 1, "handed out"); n += 1

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
