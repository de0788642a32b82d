# SPDX-License-Identifier: MIT
"""Signed audit checkpoints with two replicas on one real PostgreSQL
(tests/helpers/pgserver.py): both replicas sign the heads they see (one
row per seq in the shared table, each replica's own DIR/audit-checkpoints);
someone with SQL access deletes the newest records, the checkpoint rows
and moves audit_head back while both run: `cellgate audit verify` through
either replica says CUT SHORT (each holds its latest checkpoint outside the
database) and both stop signing (cellgate_audit_chain_ok 0); after a stop,
each replica refuses to start on its own evidence until told to
(--accept-audit-rewrite), and the acceptance is audited."""
import json, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver

SLOW = 3 if h.SANITIZED else 1
n = 0


def metric(s, name):
    st, _, data = s.request("GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no %s in /metrics (%s)" % (name, st))


def wait_for(what, fn, secs=15):
    end = time.time() + secs * SLOW
    while time.time() < end:
        if fn():
            return
        time.sleep(0.1)
    h.fail("%s: not within %d s" % (what, secs * SLOW))


def latest(s):
    st, b = s.api("GET", "/v1/audit/checkpoints")
    h.check(st == 200, "checkpoints %s %s" % (st, b))
    return b["latest"]["seq"] if b["latest"] else 0


tmp = tempfile.mkdtemp(prefix="cgckpg.")
with pgserver.PgServer() as pg:
    dsn = pg.create_db("cg")
    d1, d2 = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    r = subprocess.run([h.SERVER_BIN, "init", "--store", dsn, "--data", d1],
                       capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 0, "init --store: %r" % r.stderr)
    token = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
             if l.startswith("admin token")][0]
    os.makedirs(d2)
    shutil.copy(os.path.join(d1, "signing.key"), d2)
    for d in (d1, d2):
        open(os.path.join(d, "admin.token"), "w").write(token)
    args = lambda rid, *more: ["--store", dsn, "--replica-id", rid,
                               "--audit-checkpoint-interval", "1"] + list(more)
    a = h.Server(data_dir=d1, extra_args=args("a"), keep=True).start()
    b = h.Server(data_dir=d2, extra_args=args("b"), keep=True).start()
    try:
        for i, s in enumerate((a, b, a, b)):
            st, _ = s.api("POST", "/v1/cells", {"id": "c%d" % i, "region": "r", "zone": "z"})
            h.check(st == 201, "cell %d: %s" % (i, st))
        head = len(h.audit_all(a))
        for s in (a, b):
            wait_for("a checkpoint of seq %d" % head, lambda: latest(s) >= head)
        n += 1
        rows = pg.psql("SELECT count(*), count(DISTINCT seq) FROM audit_checkpoints", "cg")
        total, distinct = (int(x) for x in rows.split("|"))
        h.check(total == distinct and total >= 2, "one row per seq: %s" % rows); n += 1
        for s in (a, b):
            r = s.cli("audit", "verify")
            h.check(r.returncode == 0 and "signatures verified" in r.stdout, "verify %r" % r.stdout)
        n += 1

        # SQL access to the database while both run: the newest records,
        # the checkpoint rows, and the head row moved back
        keep = head - 3
        pg.psql("BEGIN; ALTER TABLE audit DISABLE TRIGGER USER; "
                "DELETE FROM audit WHERE seq > %d; DELETE FROM audit_checkpoints; "
                "UPDATE audit_head SET seq = %d, hash = (SELECT hash FROM audit WHERE seq = %d); "
                "ALTER TABLE audit ENABLE TRIGGER USER; COMMIT" % (keep, keep, keep), "cg")
        for s in (a, b):
            r = s.cli("audit", "verify")
            h.check(r.returncode == 1 and r.stdout.startswith("audit log CUT SHORT: ")
                    and "the server's latest" in r.stdout, "cut short: %r" % r.stdout)
            wait_for("chain_ok 0", lambda: metric(s, "cellgate_audit_chain_ok") == 0)
        n += 1
    finally:
        a.stop()
        b.stop()

    # each replica refuses on its own evidence, until told to
    for d, rid in ((d1, "a"), (d2, "b")):
        p = subprocess.Popen([h.SERVER_BIN, "serve", "--data", d, "--listen", "127.0.0.1:0"]
                             + args(rid), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
        try:
            _, err = p.communicate(timeout=20 * SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            h.fail("replica %s started on a log cut short" % rid)
        h.check(p.returncode == 1 and "refusing to start" in err, "%s: %r" % (rid, err)); n += 1
        s = h.Server(data_dir=d, extra_args=args(rid, "--accept-audit-rewrite"), keep=True).start()
        try:
            acc = [r for r in h.audit_all(s) if r["action"] == "audit.rewrite_accepted"]
            h.check(len(acc) >= 1 and json.loads(acc[-1]["before"])["seq"] >= head,
                    "%s: audited %s" % (rid, acc)); n += 1
            r = s.cli("audit", "verify")
            h.check(r.returncode == 0, "%s: verify after acceptance %r" % (rid, r.stdout))
        finally:
            s.stop()

shutil.rmtree(tmp, ignore_errors=True)
h.done("80-cluster/07-audit-checkpoints-pg", n)
