# SPDX-License-Identifier: MIT
"""05-changes-delivery's scenario on a real PostgreSQL store
(tests/helpers/pgserver.py): the changes, annotations and delivery
statistics read the audit log, rollouts, their events and the hosts'
views through the PostgreSQL backend's queries, which differ from
SQLite's."""
import importlib.util, os, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver

spec = importlib.util.spec_from_file_location(
    "changes_delivery", os.path.join(os.path.dirname(__file__), "05-changes-delivery.py"))
cd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cd)

tmp = tempfile.mkdtemp(prefix="cgchgpg.")
with pgserver.PgServer() as pg:
    dsn = pg.create_db("cg")
    d = os.path.join(tmp, "a")
    r = subprocess.run([h.SERVER_BIN, "init", "--store", dsn, "--data", d],
                       capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 0, "init --store: %r" % r.stderr)
    token = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
             if l.startswith("admin token")][0]
    open(os.path.join(d, "admin.token"), "w").write(token)
    with h.Server(data_dir=d, extra_args=["--store", dsn, "--tick-ms", "100"]) as s:
        cd.scenario(s)
h.done("changes-delivery-pg", cd.n)
