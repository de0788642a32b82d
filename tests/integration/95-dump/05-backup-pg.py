# SPDX-License-Identifier: MIT
"""Backups of a PostgreSQL store with PostgreSQL's own tools
(docs/operations.md, "Backups and restore"): a store in use is dumped with
`pg_dump -Fc` and restored with `pg_restore` into a new database;
`cellgated backup verify --store` verifies the restored chain and prints
the generations; the documented generation bump makes the restored
server's next assignment pass what the original handed out after the
dump; a restored database whose audit log was edited does NOT verify;
`backup create` and `restore` refuse --store with a pointer to pg_dump.
The replica's audit-checkpoints file signed a head after the dump, so the
restored store starts only with --accept-audit-rewrite."""
import json
import os
import subprocess
import sys
import tempfile

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
            "config app: generation 2" in r.stdout, "verify --store: %r %r" % (r.stdout,
                                                                              r.stderr)); n += 1
    # the documented bump, then the restored store serves on
    pg.psql("UPDATE configs SET generation = generation + 1000000", db="restored")
    # DIR/audit-checkpoints signed a head the dump does not reach: a rewind
    # the server refuses until it is accepted (once, audited)
    r = cg("serve", "--data", d, "--store", restored, "--listen", "127.0.0.1:0")
    h.check(r.returncode != 0 and "--accept-audit-rewrite" in r.stderr,
            "a restore under newer checkpoints is refused: %r" % r.stderr[-400:]); n += 1
    with h.Server(data_dir=d, extra_args=["--store", restored,
                                          "--accept-audit-rewrite"]) as s2:
        st, b = s2.api("POST", "/v1/configs/app/assign",
                       {"version": 2, "cells": ["c1"], "expect_generation": 1000002})
        h.check(st in (200, 201) and b["generation"] == 1000003,
                "first assignment after the restore: %s %s" % (st, b)); n += 1
        r = s2.cli("audit", "verify")
        h.check(r.returncode == 0, "audit verify: %r" % r.stderr); n += 1

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
