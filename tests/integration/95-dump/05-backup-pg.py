# SPDX-License-Identifier: MIT
"""Backups of a PostgreSQL store with PostgreSQL's own tools
(docs/operations.md, "Backups and restore"): a store in use is dumped with
`pg_dump -Fc` and restored with `pg_restore` into a new database;
`cellgated backup verify --store` verifies the restored chain and prints
the generations; `cellgated backup bump --store` (the documented command)
raises every config's generation and every assignment in one audited
transaction, so what the restored server hands out and its next
assignment pass what the original handed out after the dump, and
GET /v1/state replays the bump; a second bump is a new record, a bad one
is refused. A restored database left without the bump notices the first
report of a host holding a newer generation, counts it and raises the
config's generation (a config.generation_raise record, the same on
PostgreSQL as on SQLite). A restored database whose audit log was edited
does NOT verify; `backup create` and `restore` refuse --store with a
pointer to pg_dump. The replica's audit-checkpoints file signed a head
after the dump, so the restored store starts only with
--accept-audit-rewrite."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h  # noqa: E402
import pgserver  # noqa: E402

tmp = tempfile.mkdtemp(prefix="cgbkpg.")
n = 0


def cg(*args):
    return subprocess.run([h.SERVER_BIN] + list(args), capture_output=True, text=True,
                          timeout=120)


with pgserver.PgServer() as pg:
    dsn = pg.create_db("cg")
    d = os.path.join(tmp, "a")
    r = cg("init", "--store", dsn, "--data", d)
    h.check(r.returncode == 0, "init --store: %r" % r.stderr)
    token = [x.split(":", 1)[1].strip() for x in r.stdout.splitlines()
             if x.startswith("admin token")][0]
    open(os.path.join(d, "admin.token"), "w").write(token)
    dump = os.path.join(tmp, "cg.dump")
    with h.Server(data_dir=d, extra_args=["--store", dsn]) as s:
        s.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
        s.api("POST", "/v1/configs", {"name": "app", "kind": "config",
                                      "contract": h.FEATURE_CONTRACT})
        for k in (60, 61):
            st, _, _ = s.request("POST", "/v1/configs/app/versions",
                                 json.dumps(h.features(k)),
                                 headers={"Content-Type": "application/json"})
            h.check(st == 201, "publish %s" % st)
        for g, v in ((0, 1), (1, 2)):
            st, b = s.api("POST", "/v1/configs/app/assign",
                          {"version": v, "cells": ["c1"], "expect_generation": g})
            h.check(st in (200, 201), "assign %s %s" % (st, b))
        # the dump, taken while the server runs (pg_dump: one snapshot)
        r = subprocess.run([os.path.join(pg.bindir, "pg_dump"), "-Fc", "-f", dump, dsn],
                           capture_output=True, text=True, timeout=120)
        h.check(r.returncode == 0, "pg_dump: %r" % r.stderr); n += 1
        st, b = s.api("POST", "/v1/configs/app/assign",
                      {"version": 1, "cells": ["c1"], "expect_generation": 2})
        h.check(st in (200, 201) and b["generation"] == 3, "after the dump: %s %s" % (st, b))

    r = cg("backup", "create", "--store", dsn, "--data", d, os.path.join(tmp, "x"))
    h.check(r.returncode == 2 and "pg_dump" in r.stderr, "create --store: %r" % r.stderr); n += 1
    r = cg("backup", "restore", os.path.join(tmp, "x"), "--store", dsn, "--data", d,
           "--key", os.path.join(d, "signing.key"))
    h.check(r.returncode == 2 and "pg_restore" in r.stderr, "restore --store: %r" % r.stderr)
    n += 1

    restored = pg.create_db("restored")
    r = subprocess.run([os.path.join(pg.bindir, "pg_restore"), "--no-owner", "-d", restored,
                        dump], capture_output=True, text=True, timeout=120)
    h.check(r.returncode == 0, "pg_restore: %r" % r.stderr)
    r = cg("backup", "verify", "--store", restored)
    h.check(r.returncode == 0 and "verifies" in r.stdout and
            "config app: generation 2" in r.stdout and
            "no restore has raised its generations" in r.stdout and "backup bump" in r.stdout,
            "verify --store: %r %r" % (r.stdout, r.stderr)); n += 1
    raw = pg.create_db("raw")  # the same restore, left without the bump
    r = subprocess.run([os.path.join(pg.bindir, "pg_restore"), "--no-owner", "-d", raw,
                        dump], capture_output=True, text=True, timeout=120)
    h.check(r.returncode == 0, "pg_restore raw: %r" % r.stderr)
    # the documented bump, then the restored store serves on
    r = cg("backup", "bump", "--store", restored)
    h.check(r.returncode == 0 and "+ 1000000" in r.stdout and
            "config app: generation 1000002" in r.stdout, "backup bump: %r %r" % (r.stdout,
                                                                                 r.stderr)); n += 1
    r = cg("backup", "verify", "--store", restored)
    h.check(r.returncode == 0 and "last raised by a restore at" in r.stdout and
            "(+ 1000000)" in r.stdout, "verify --store after the bump: %r" % r.stdout); n += 1
    r = cg("backup", "bump", "--data", d)
    h.check(r.returncode == 2 and "--store" in r.stderr, "bump without --store: %r" % r.stderr)
    r = cg("backup", "bump", "--store", restored, "--bump-generations", "0")
    h.check(r.returncode == 2, "bump 0: %r" % r.stderr); n += 1
    # DIR/audit-checkpoints signed a head the dump does not reach: a rewind
    # the server refuses until it is accepted (once, audited)
    r = cg("serve", "--data", d, "--store", restored, "--listen", "127.0.0.1:0")
    h.check(r.returncode != 0 and "--accept-audit-rewrite" in r.stderr,
            "a restore under newer checkpoints is refused: %r" % r.stderr[-400:]); n += 1
    with h.Server(data_dir=d, extra_args=["--store", restored,
                                          "--accept-audit-rewrite"]) as s2:
        # what it hands out passes what the original handed out after the dump
        st, b = s2.api("GET", "/v1/agent/desired?cell=c1")
        h.check(st == 200 and [x["statement"]["statement"]["generation"]
                               for x in b["assignments"]] == [1000002],
                "the restored cell's desired state: %s" % b); n += 1
        st, b = s2.api("POST", "/v1/configs/app/assign",
                       {"version": 2, "cells": ["c1"], "expect_generation": 1000002})
        h.check(st in (200, 201) and b["generation"] == 1000003,
                "first assignment after the restore: %s %s" % (st, b)); n += 1
        st, a = s2.api("GET", "/v1/configs/app/assignments")
        st2, sa = s2.api("GET", "/v1/state?config=app")
        h.check(st == 200 and st2 == 200 and sa["configs"][0]["generation"] == 1000003 and
                [(x["cell"], x["generation"]) for x in sa["configs"][0]["assignments"]] ==
                [(x["cell"], x["generation"]) for x in a["assignments"]],
                "state now replays the bump: %s %s" % (sa["configs"][0], a)); n += 1
        r = s2.cli("audit", "verify")
        h.check(r.returncode == 0, "audit verify: %r" % r.stderr); n += 1

    # a restore left without the bump, served by two replicas: hosts ahead
    # of it, reporting to both at once, raise it once
    d2 = os.path.join(tmp, "b")
    os.makedirs(d2)
    for f in ("signing.key", "admin.token"):
        shutil.copy(os.path.join(d, f), d2)
    rargs = lambda rid: ["--store", raw, "--accept-audit-rewrite", "--replica-id", rid]
    with h.Server(data_dir=d, extra_args=rargs("a")) as s3, \
            h.Server(data_dir=d2, extra_args=rargs("b")) as s4:
        st, b = s3.api("GET", "/v1/configs/app")
        h.check(st == 200 and b["generation"] == 2, "unbumped: %s" % b)
        reps = [{"host": "h%d" % i, "cell": "c1", "seq": 1, "window_ms": 1000,
                 "configs": [{"config": "app", "version": 1, "generation": 3,
                              "outcome": "applied", "lkg_version": 1, "lkg_generation": 3}]}
                for i in range(8)]
        codes = []

        def send(srv, rep):
            codes.append(srv.api("POST", "/v1/agent/report", rep)[0])
        ts = [threading.Thread(target=send, args=((s3, s4)[i % 2], rep))
              for i, rep in enumerate(reps)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        h.check(codes == [204] * len(reps), "reports: %s" % codes)
        for srv in (s3, s4):
            st, b = srv.api("GET", "/v1/configs/app")
            h.check(b["generation"] == 3, "raised to the hosts' 3: %s" % b)
        n += 1
        ahead = 0
        for srv in (s3, s4):
            st, _, body = srv.request("GET", "/metrics")
            for line in body.decode().splitlines():
                if line.startswith("cellgate_reports_generation_ahead_total "):
                    ahead += int(float(line.split()[1]))
        h.check(1 <= ahead <= len(reps), "counted: %d" % ahead); n += 1
        st, b = s3.api("GET", "/v1/audit?after=0&limit=1000")
        h.check([x["object"] for x in b["records"] if x["action"] == "config.generation_raise"]
                == ["config/app"], "audited once: %s" % [x["action"] for x in b["records"]])
        n += 1
        st, b = s4.api("POST", "/v1/configs/app/assign",
                       {"version": 2, "cells": ["c1"], "expect_generation": 2})
        h.check(st == 409, "decided on the old generation: %s %s" % (st, b)); n += 1
        st, b = s4.api("POST", "/v1/configs/app/assign",
                       {"version": 2, "cells": ["c1"], "expect_generation": 3})
        h.check(st in (200, 201) and b["generation"] == 4, "next: %s %s" % (st, b)); n += 1
        st, b = s3.api("GET", "/v1/state?config=app")
        h.check(st == 200 and b["configs"][0]["generation"] == 4, "replayed: %s" % b); n += 1

    # an edited audit record in the restored database: does NOT verify
    edited = pg.create_db("edited")
    subprocess.run([os.path.join(pg.bindir, "pg_restore"), "--no-owner", "-d", edited, dump],
                   capture_output=True, text=True, timeout=120, check=True)
    pg.psql("ALTER TABLE audit DISABLE TRIGGER USER; "  # its append-only guard
            "UPDATE audit SET reason = 'rewritten' WHERE seq = 4", db="edited")
    r = cg("backup", "verify", "--store", edited)
    h.check(r.returncode == 1 and "does NOT verify" in r.stderr, "edited: %r %r" % (r.stdout,
                                                                                  r.stderr)); n += 1

h.done("05-backup-pg", n)
