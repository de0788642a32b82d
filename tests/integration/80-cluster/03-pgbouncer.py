# SPDX-License-Identifier: MIT
"""cellgated behind a real PgBouncer (Debian's package, tests/helpers/
pgbouncer.py) in front of a real PostgreSQL (tests/helpers/pgserver.py).

The PostgreSQL backend keeps state in each connection's server session
(prepared statements, session settings, LISTEN), so a pooler that shares
server sessions between clients is refused at open, before anything is
written, with a message that names pool_mode:
  - pool_mode=transaction: `init --store` fails and creates no schema;
    `serve` of a store initialised directly fails;
  - pool_mode=statement: `init --store` fails;
  - pool_mode=transaction with server_round_robin=1 and a warm pool (each
    of cellgated's connections gets a server of its own in the first
    round, so comparing pids alone would not see it): refused by the
    second signal (a connection's session moved, or its setting was lost).
pool_mode=session works: init and serve through PgBouncer, a cell, a
config, a publish, an assign, the agent's desired state and the document's
bytes, and the audit chain verifies."""
import hashlib, json, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver
import pgbouncer

n = 0
REFUSED = ("a pooler in transaction or statement mode", "pool_mode=session")


def init(dsn, data):
    return subprocess.run([h.SERVER_BIN, "init", "--store", dsn, "--data", data],
                          capture_output=True, text=True, timeout=120)


def refused(r, what):
    """The command failed and said why, naming pool_mode."""
    h.check(r.returncode != 0, "%s went through: %r %r" % (what, r.stdout, r.stderr))
    h.check(all(x in r.stderr for x in REFUSED), "%s: message %r" % (what, r.stderr))


def warm(pg, pb, db, sessions):
    """Makes PgBouncer open 'sessions' server connections: as many clients
    each hold one in pg_sleep at once; returns how many PostgreSQL has."""
    psql = os.path.join(pg.bindir, "psql")
    procs = [subprocess.Popen([psql, "-X", "-q", "-d", pb.dsn(db), "-c", "SELECT pg_sleep(2)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(sessions)]
    for p in procs:
        p.wait(60)
    return int(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'" % db))


tmp = tempfile.mkdtemp(prefix="cgpgb.")
print(pgbouncer.pgbouncer_version())
with pgserver.PgServer() as pg:
    dsn_direct = pg.create_db("cg")
    pg.create_db("cgtx")
    d_direct = os.path.join(tmp, "direct")
    r = init(dsn_direct, d_direct)
    h.check(r.returncode == 0 and "admin token" in r.stdout, "init directly: %r" % r.stderr)
    n += 1

    # (a) transaction pooling: refused before anything is written
    with pgbouncer.PgBouncer(pg, pool_mode="transaction") as pb:
        r = init(pb.dsn("cgtx"), os.path.join(tmp, "tx"))
        refused(r, "init through pool_mode=transaction"); n += 1
        print("init through pool_mode=transaction: " + r.stderr.strip())
        h.check(pg.psql("SELECT to_regclass('schema_migrations') IS NULL", "cgtx") == "t",
                "the refused init created the schema"); n += 1
        r = subprocess.run([h.SERVER_BIN, "serve", "--store", pb.dsn("cg"), "--data", d_direct,
                            "--listen", "127.0.0.1:0"], capture_output=True, text=True,
                           timeout=120)
        h.check(r.returncode == 1, "serve through pool_mode=transaction: exit %d" % r.returncode)
        refused(r, "serve through pool_mode=transaction"); n += 1

    with pgbouncer.PgBouncer(pg, pool_mode="statement") as pb:
        refused(init(pb.dsn("cgtx"), os.path.join(tmp, "st")),
                "init through pool_mode=statement"); n += 1

    # round robin over a warm pool: every connection gets its own server
    # in the first round; the second round gives it away
    with pgbouncer.PgBouncer(pg, pool_mode="transaction",
                             settings={"server_round_robin": "1"}) as pb:
        servers = warm(pg, pb, "cgtx", 12)
        h.check(servers >= 9, "the warm pool has %d server connections" % servers)
        r = init(pb.dsn("cgtx"), os.path.join(tmp, "rr"))
        refused(r, "init through round-robin transaction pooling"); n += 1
        h.check("moved from server pid" in r.stderr or "setting was lost" in r.stderr,
                "round robin was seen by pids alone: %r" % r.stderr); n += 1
        print("round robin over %d servers: %s" % (servers, r.stderr.strip()))

    # (b) session pooling works: init, serve, a publish/assign round trip
    with pgbouncer.PgBouncer(pg, pool_mode="session") as pb:
        dsn = pb.dsn("cgtx")
        d = os.path.join(tmp, "session")
        r = init(dsn, d)
        h.check(r.returncode == 0 and "admin token" in r.stdout,
                "init through pool_mode=session: %r %r" % (r.stdout, r.stderr)); n += 1
        token = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
                 if l.startswith("admin token")][0]
        with open(os.path.join(d, "admin.token"), "w") as f:
            f.write(token)
        with h.Server(data_dir=d, extra_args=["--store", dsn, "--replica-id", "a"],
                      keep=True) as s:
            st, _ = s.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
            h.check(st == 201, "cell add: %s" % st)
            st, _ = s.api("POST", "/v1/configs", {"name": "app", "kind": "config",
                                                  "contract": h.FEATURE_CONTRACT})
            h.check(st == 201, "config create: %s" % st); n += 1
            body = json.dumps(h.features(60)).encode()
            st, _, v = s.request("POST", "/v1/configs/app/versions?message=v1", body,
                                 headers={"Content-Type": "application/json"})
            h.check(st == 201, "publish: %s %r" % (st, v)); n += 1
            st, _ = s.api("POST", "/v1/configs/app/assign",
                          {"version": 1, "cells": ["c1"], "expect_generation": 0})
            h.check(st == 201, "assign: %s" % st); n += 1
            st, t = s.api("POST", "/v1/tokens", {"name": "ag1", "role": "agent", "cell": "c1"})
            h.check(st == 201, "agent token: %s" % st)
            st, dd = s.api("GET", "/v1/agent/desired?cell=c1", token=t["token"])
            h.check(st == 200 and len(dd["assignments"]) == 1 and
                    dd["assignments"][0]["version"] == 1 and
                    dd["assignments"][0]["sha256"] == hashlib.sha256(body).hexdigest(),
                    "desired: %s %s" % (st, dd)); n += 1
            st, _, blob = s.request("GET", "/v1/blobs/" + dd["assignments"][0]["sha256"],
                                    token=t["token"])
            h.check(st == 200 and blob == body, "blob through PgBouncer: %s" % st); n += 1
            st, c = s.api("GET", "/v1/cluster")
            h.check(st == 200 and c["leader"] == "a", "leader: %s" % c); n += 1
            r = s.cli("audit", "verify")
            h.check(r.returncode == 0, "audit verify: %r" % r.stdout); n += 1
            print("pool_mode=session: init, serve, publish, assign, desired, blob, audit ok")
shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks" % n)
