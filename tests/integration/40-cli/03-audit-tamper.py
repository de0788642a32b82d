# SPDX-License-Identifier: MIT
"""`cellgate audit verify` against a real server whose database was edited
behind its back: a changed field is found (exit 1, the seq is named), and a
good chain verifies. The CLI recomputes every hash; it trusts nothing the
server computed."""
import os, sqlite3, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
with h.Server() as s:
    for i in range(4):
        r = s.cli("cell", "add", "c%d" % i, "--region", "r1", "--zone", "z%d" % i)
        h.check(r.returncode == 0, "cell add %r" % r.stderr)
    r = s.cli("audit", "verify")
    h.check(r.returncode == 0 and r.stdout.startswith("audit chain OK: "), "%r" % r.stdout); n += 1
    total = int(r.stdout.split(":")[1].split()[0])
    h.check(total == len(h.audit_all(s)), "count %d" % total); n += 1

    s.stop()
    db = sqlite3.connect(os.path.join(s.data_dir, "cellgate.db"))
    db.execute("DROP TRIGGER IF EXISTS audit_no_update")
    db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3")
    db.commit()
    db.close()
    s.start()

    r = s.cli("audit", "verify")
    h.check(r.returncode == 1, "tampered chain: exit %d %r %r" % (r.returncode, r.stdout, r.stderr))
    h.check(r.stdout.startswith("audit chain BROKEN at seq 3: "), "%r" % r.stdout); n += 1

h.done("40-cli/03-audit-tamper", n)
