# SPDX-License-Identifier: MIT
"""The fleet's lifecycle on PostgreSQL with two replicas (tests/helpers/
pgserver.py): labels changed through one replica are read through the
other; a cell drained through one is drained for the other, which refuses
an assignment to it; a scope set through one limits assignments and the
preview on the other; a cell removed through one is gone for the other,
with its assignments; a remove refused for a reason (not drained, a scope
naming it) is refused the same on both; every change is audited once."""
import json, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver

n = 0
tmp = tempfile.mkdtemp(prefix="cgfleet.")
try:
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
        args = lambda rid: ["--store", dsn, "--replica-id", rid, "--tick-ms", "3600000"]
        a = h.Server(data_dir=d1, extra_args=args("a"), keep=True).start()
        b = h.Server(data_dir=d2, extra_args=args("b"), keep=True).start()
        try:
            for c, reg, z in (("c1", "eu", "eu-a"), ("c2", "eu", "eu-b"), ("c3", "us", "us-a")):
                h.check(a.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})[0] == 201,
                        c)
            h.check(b.api("POST", "/v1/configs", {"name": "app", "kind": "config",
                                                  "contract": h.FEATURE_CONTRACT})[0] == 201, "app")
            st, _, _ = a.request("POST", "/v1/configs/app/versions?message=v",
                                 json.dumps(h.features(60)))
            h.check(st == 201, "publish")

            st, c = a.api("PATCH", "/v1/cells/c1", {"labels": {"tier": "web"}, "message": "m"})
            h.check(st == 200 and c["changed"], "labels through a %s %s" % (st, c))
            st, c = b.api("GET", "/v1/cells/c1")
            h.check(c["labels"] == {"tier": "web"}, "labels through b: %s" % c); n += 1

            st, c = b.api("PATCH", "/v1/cells/c2", {"drained": True})
            h.check(st == 200 and c["drained"], "drain through b %s" % c)
            st, c = a.api("GET", "/v1/cells/c2")
            h.check(c["drained"] is True, "drained for a: %s" % c); n += 1
            st, r_ = a.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c2"],
                                                             "expect_generation": 0})
            h.check(st == 409 and "drained" in json.dumps(r_), "assign to drained %s" % r_); n += 1

            st, v = a.api("PUT", "/v1/configs/app/scope", {"regions": ["eu"]})
            h.check(st == 200 and v["cells"] == ["c1"], "scope through a %s" % v)
            st, v = b.api("GET", "/v1/configs/app/scope")
            h.check(v["scope"] == {"regions": ["eu"]} and v["cells"] == ["c1"],
                    "scope for b %s" % v); n += 1
            st, r_ = b.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c3"],
                                                             "expect_generation": 0})
            h.check(st == 409 and "outside the scope" in json.dumps(r_), "outside %s" % r_); n += 1
            st, pv = b.api("GET", "/v1/plans/none/preview?config=app")
            h.check(st == 404, "no plan: %s" % st)
            h.check(b.api("PUT", "/v1/plans/all", {"waves": [{"name": "all", "percent": 100,
                                                             "bake_s": 0}]})[0] == 201, "plan")
            st, pv = a.api("GET", "/v1/plans/all/preview?config=app")
            h.check(st == 200 and [c for s_ in pv["steps"] for c in s_["cells"]] == ["c1"],
                    "preview on a: %s" % pv); n += 1
            st, _ = b.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1"],
                                                            "expect_generation": 0})
            h.check(st == 201, "assign c1 %s" % st)

            # remove: refused (not drained), refused (a scope names it), done
            st, e = b.api("DELETE", "/v1/cells/c1")
            h.check(st == 409 and "not drained" in e["error"]["message"], "%s %s" % (st, e)); n += 1
            h.check(a.api("PUT", "/v1/configs/app/scope", {"cells": ["c1", "c2"]})[0] == 200, "s")
            h.check(a.api("PATCH", "/v1/cells/c1", {"drained": True})[0] == 200, "drain c1")
            st, e = b.api("DELETE", "/v1/cells/c1")
            h.check(st == 409 and "scope of config app" in e["error"]["message"], "%s" % e); n += 1
            h.check(b.api("DELETE", "/v1/configs/app/scope")[0] == 200, "unscope")
            st, e = b.api("DELETE", "/v1/cells/c1?message=gone")
            h.check(st == 200, "remove through b: %s %s" % (st, e)); n += 1
            h.check(a.api("GET", "/v1/cells/c1")[0] == 404, "gone for a"); n += 1
            st, asg = a.api("GET", "/v1/configs/app/assignments")
            h.check(all(x["cell"] != "c1" for x in asg["assignments"]), "assignments %s" % asg)
            n += 1
            acts = [x["action"] for x in h.audit_all(a)]
            for want, count in (("cell.update", 1), ("cell.drain", 2), ("cell.remove", 1),
                                ("config.set_scope", 3)):
                h.check(acts.count(want) == count, "%s: %d records, want %d"
                        % (want, acts.count(want), count)); n += 1
            h.check(h.audit_verify(h.audit_all(b)) is None, "the chain verifies"); n += 1
        finally:
            a.stop()
            b.stop()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks" % n)
