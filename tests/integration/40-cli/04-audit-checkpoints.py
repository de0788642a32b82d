# SPDX-License-Identifier: MIT
"""Signed audit checkpoints (docs/operations.md "Audit checkpoints") against
a real server whose SQLite database is edited behind its back. The chain
alone cannot tell; the checkpoints can:

- the server signs the head (GET /v1/audit/checkpoints, `cellgate audit
  checkpoints`, DIR/audit-checkpoints, its log, /metrics) and `cellgate
  audit verify` checks every signature and every checkpoint against the
  chain, with an expected head and with a saved copy of the file;
- the newest records deleted while it runs: `audit verify` says CUT SHORT
  (the server keeps its latest checkpoint in memory) and the server stops
  signing (cellgate_audit_chain_ok 0);
- the newest records deleted, the whole log truncated, or a record edited
  and the whole chain recomputed (a valid chain) while it is stopped: it
  refuses to start; told to (--accept-audit-rewrite) it starts, audits the
  acceptance, and `audit verify --expect-head` / `--checkpoints` still
  find the loss;
- a forged checkpoint line is FORGED."""
import json, os, shutil, sqlite3, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

SLOW = 3 if h.SANITIZED else 1
n = 0


def metric(s, name):
    st, _, data = s.request("GET", "/metrics")
    h.check(st == 200, "metrics %s" % st)
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no %s in /metrics" % name)


def wait_for(what, fn, secs=10):
    end = time.time() + secs * SLOW
    while time.time() < end:
        if fn():
            return
        time.sleep(0.1)
    h.fail("%s: not within %d s" % (what, secs * SLOW))


def head_of(out):
    """(seq, hash) from the 'head: seq N hash H' line of audit verify."""
    for line in out.splitlines():
        if line.startswith("head: "):
            p = line.split()
            return int(p[2]), p[4]
    h.fail("no head line in %r" % out)


def edit(data_dir, *sql):
    """Runs sql on the stopped server's database, triggers dropped first."""
    db = sqlite3.connect(os.path.join(data_dir, "cellgate.db"))
    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    db.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for q in sql:
        db.execute(q)
    db.commit()
    db.close()


def recompute_chain(data_dir, from_seq):
    """Rehashes every record from from_seq on, so the chain is valid again."""
    db = sqlite3.connect(os.path.join(data_dir, "cellgate.db"))
    cols = ["seq", "time_ms", "actor", "action", "object", "before", "after", "reason",
            "prev_hash", "hash"]
    rows = [dict(zip(cols, r)) for r in
            db.execute("SELECT %s FROM audit ORDER BY seq" % ", ".join(cols))]
    prev = "0" * 64
    for r in rows:
        if r["seq"] >= from_seq:
            r["prev_hash"] = prev
            r["hash"] = h.audit_hash(r)
            db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?",
                       (r["prev_hash"], r["hash"], r["seq"]))
        prev = r["hash"]
    db.commit()
    db.close()
    return h.audit_verify(rows)


def serve_refused(data_dir):
    """Starts the server on data_dir; it must refuse (exit 1) at once. One
    that starts is stopped by its PID and the test fails."""
    p = subprocess.Popen([h.SERVER_BIN, "serve", "--data", data_dir, "--listen", "127.0.0.1:0"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=15 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        h.fail("the server started on %s: it should have refused" % data_dir)
    h.check(p.returncode == 1 and "refusing to start" in err and "--accept-audit-rewrite" in err,
            "not refused: %d %r" % (p.returncode, err))
    return err


tmp = tempfile.mkdtemp(prefix="cgckpt.")
pristine = os.path.join(tmp, "pristine")
with h.Server(extra_args=["--audit-checkpoint-interval", "1"]) as s:
    for i in range(4):
        r = s.cli("cell", "add", "c%d" % i, "--region", "r1", "--zone", "z%d" % i)
        h.check(r.returncode == 0, "cell add %r" % r.stderr)
    head = len(h.audit_all(s))

    # the periodic round signs the head: in the store, in memory, in the file
    def signed():
        st, b = s.api("GET", "/v1/audit/checkpoints")
        return st == 200 and b["latest"] and b["latest"]["seq"] == head
    wait_for("a checkpoint of seq %d" % head, signed)
    st, b = s.api("GET", "/v1/audit/checkpoints?limit=1")
    h.check(st == 200 and len(b["checkpoints"]) == 1 and b["next_after"] is not None,
            "first page %s" % b); n += 1
    st, b2 = s.api("GET", "/v1/audit/checkpoints?after=%d" % b["next_after"])
    h.check(st == 200 and b2["checkpoints"][-1]["seq"] == head and b2["next_after"] is None
            and set(b2["checkpoints"][-1]) == {"seq", "hash", "time", "time_ms", "key_id",
                                               "signature"}, "next page %s" % b2); n += 1
    recs = h.audit_all(s)
    h.check(b2["checkpoints"][-1]["hash"] == recs[head - 1]["hash"], "hash of the head"); n += 1
    st, _ = s.api("GET", "/v1/audit/checkpoints?limit=0")
    h.check(st == 400, "limit=0: %s" % st); n += 1
    st, _ = s.api("GET", "/v1/audit/checkpoints", token=None)
    h.check(st == 401, "no token: %s" % st); n += 1
    h.check(metric(s, "cellgate_audit_checkpoint_seq") == head
            and metric(s, "cellgate_audit_chain_ok") == 1
            and metric(s, "cellgate_audit_checkpoint_time_seconds") > 1e9, "metrics"); n += 1
    log = open(s.log_path).read()
    h.check('cellgated: audit checkpoint {"hash":"%s"' % recs[head - 1]["hash"] in log,
            "the log line of the checkpoint"); n += 1

    r = s.cli("audit", "checkpoints")
    h.check(r.returncode == 0 and recs[head - 1]["hash"] in r.stdout
            and "latest (kept outside the database): seq %d" % head in r.stdout,
            "audit checkpoints %r" % r.stdout); n += 1
    r = s.cli("audit", "verify")
    h.check(r.returncode == 0 and r.stdout.startswith("audit chain OK: %d records" % head)
            and "signatures verified with the server's key" in r.stdout
            and "covered: up to seq %d" % head in r.stdout, "verify %r" % r.stdout); n += 1
    seq, hsh = head_of(r.stdout)
    r = s.cli("audit", "verify", "--expect-head", "%d:%s" % (seq, hsh))
    h.check(r.returncode == 0 and "expected head: seq %d found" % seq in r.stdout,
            "expect-head %r" % r.stdout); n += 1
    pubkey = s.api("GET", "/v1/agent/pubkey")[1]["public_key"]

    # while it runs (a shared PostgreSQL allows it; so does a second
    # SQLite writer): the newest two records deleted, checkpoints too
    s.stop()
    shutil.copytree(s.data_dir, pristine)
    s.start()
    last = int(json.loads(open(os.path.join(s.data_dir, "audit-checkpoints")).readlines()[-1])["seq"])
    db = sqlite3.connect(os.path.join(s.data_dir, "cellgate.db"), timeout=10)
    db.execute("DROP TRIGGER audit_no_delete")
    db.execute("DELETE FROM audit WHERE seq > ?", (last - 2,))
    db.execute("DELETE FROM audit_checkpoints")
    db.commit()
    db.close()
    r = s.cli("audit", "verify")
    h.check(r.returncode == 1 and r.stdout.startswith("audit log CUT SHORT: ")
            and "the server's latest" in r.stdout, "running, cut short: %r" % r.stdout); n += 1
    wait_for("cellgate_audit_chain_ok 0", lambda: metric(s, "cellgate_audit_chain_ok") == 0)
    n += 1

saved = open(os.path.join(pristine, "audit-checkpoints")).read()
HEAD = json.loads(saved.splitlines()[-1])  # the clean stop signed the final head
h.check(HEAD["seq"] >= head, "final head %s" % HEAD); n += 1
saved_path = os.path.join(tmp, "saved-checkpoints")
open(saved_path, "w").write(saved)
expect = "%d:%s" % (HEAD["seq"], HEAD["hash"])

cases = [
    # name, sql, recompute from, what verify --expect-head says afterwards
    ("newest records deleted", ["DELETE FROM audit WHERE seq > %d" % (HEAD["seq"] - 2),
                                "DELETE FROM audit_checkpoints"], 0, ("CUT SHORT", "REWRITTEN")),
    ("log truncated", ["DELETE FROM audit", "DELETE FROM audit_checkpoints"], 0, ("CUT SHORT",)),
    ("record edited, chain recomputed", ["UPDATE audit SET actor = 'mallory' WHERE seq = 2",
                                         "DELETE FROM audit_checkpoints"], 2, ("REWRITTEN",)),
]
for name, sql, rehash, says in cases:
    d = os.path.join(tmp, name.replace(" ", "-").replace(",", ""))
    shutil.copytree(pristine, d)
    edit(d, *sql)
    if rehash:
        h.check(recompute_chain(d, rehash) is None, "%s: the rewritten chain verifies" % name)
    err = serve_refused(d)
    h.check("checkpoint seq %d" % HEAD["seq"] in err, "%s: names the checkpoint %r" % (name, err))
    n += 1
    with h.Server(data_dir=d, extra_args=["--accept-audit-rewrite"]) as s:
        log = open(s.log_path).read()
        h.check("AUDIT: --accept-audit-rewrite: accepting" in log, "%s: logged" % name); n += 1
        acc = [r for r in h.audit_all(s) if r["action"] == "audit.rewrite_accepted"]
        h.check(len(acc) == 1 and json.loads(acc[0]["before"])["seq"] == HEAD["seq"],
                "%s: audited %s" % (name, acc)); n += 1
        r = s.cli("audit", "verify", "--expect-head", expect)
        h.check(r.returncode == 1 and any(r.stdout.startswith("audit log %s" % w) for w in says),
                "%s: --expect-head %r" % (name, r.stdout)); n += 1
        r = s.cli("audit", "verify", "--checkpoints", saved_path, "--pubkey", pubkey)
        h.check(r.returncode == 1 and ("CUT SHORT" in r.stdout or "REWRITTEN" in r.stdout),
                "%s: --checkpoints %r" % (name, r.stdout)); n += 1
    # accepted once: the next start is a normal one
    with h.Server(data_dir=d) as s:
        st, b = s.api("GET", "/v1/audit/checkpoints")
        h.check(st == 200 and b["latest"] is not None, "%s: restarted %s" % (name, b)); n += 1

# a forged line in a saved copy, and a line that is not one
forged = json.loads(saved.splitlines()[-1])
forged["hash"] = "0" * 64
bad_path = os.path.join(tmp, "forged")
open(bad_path, "w").write(json.dumps(forged) + "\n")
with h.Server(data_dir=pristine) as s:
    r = s.cli("audit", "verify", "--checkpoints", saved_path)
    h.check(r.returncode == 0, "the saved copy of a good log %r" % r.stdout); n += 1
    r = s.cli("audit", "verify", "--checkpoints", bad_path)
    h.check(r.returncode == 1 and r.stdout.startswith("audit checkpoint FORGED at seq %d"
                                                      % forged["seq"]), "forged %r" % r.stdout)
    n += 1
    open(bad_path, "w").write("not a checkpoint\n")
    r = s.cli("audit", "verify", "--checkpoints", bad_path)
    h.check(r.returncode == 2 and "line 1 is not a checkpoint" in r.stderr, "bad line %r" % r.stderr)
    n += 1
    r = s.cli("audit", "verify", "--expect-head", "7:xyz")
    h.check(r.returncode == 2, "bad --expect-head: %d" % r.returncode); n += 1

shutil.rmtree(tmp, ignore_errors=True)
h.done("40-cli/04-audit-checkpoints", n)
