#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs a command against a fresh, real PostgreSQL (tests/helpers/pgserver.py).

    with_pg.py CMD [ARG...]

Starts PostgreSQL on 127.0.0.1 with an ephemeral port, creates the database
'cellgate_test', runs CMD with CG_TEST_STORE_DSN (and CG_TEST_PG_DSN) set to
its postgres:// DSN and CG_TEST_PG_ROOT_DSN to the maintenance database,
stops PostgreSQL by PID and exits with CMD's status (or 1 when PostgreSQL
cannot be started; the reason is printed). This is how ctest runs the store
suite on the PostgreSQL backend (tests/CMakeLists.txt).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        pg = pgserver.PgServer()
    except pgserver.PgError as e:
        print("with_pg: %s" % e, file=sys.stderr)
        return 1
    try:
        dsn = pg.create_db("cellgate_test")
        env = dict(os.environ, CG_TEST_STORE_DSN=dsn, CG_TEST_PG_DSN=dsn,
                   CG_TEST_PG_ROOT_DSN=pg.dsn("postgres"))
        print("with_pg: PostgreSQL pid %d at %s" % (pg.pid, dsn), flush=True)
        rc = subprocess.call(sys.argv[1:], env=env)
        if rc != 0:
            print("with_pg: the end of PostgreSQL's log:\n" + pg.log_tail(2000), file=sys.stderr)
        return rc
    finally:
        pg.close()


if __name__ == "__main__":
    sys.exit(main())
