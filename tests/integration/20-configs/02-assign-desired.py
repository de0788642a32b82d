# SPDX-License-Identifier: MIT
"""Assignments and the desired-state protocol, server side: compare-and-set
on the generation (I2) including the DynamoDB-enactor race, long-poll wake
and timeout, ETag/304, agent-token scoping, reports, hosts/status views,
retention (I3) through assignments and hosts' last-known-good, and the
contract re-check at assignment (I1)."""
import json, os, random, sqlite3, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
with h.Server() as s:
    for c in ["c1", "c2", "c3"]:
        st, b = s.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": "z" + c[-1]})
        h.check(st == 201, "cell %s" % b)
    st, b = s.api("POST", "/v1/configs", {"name": "app", "contract": {"schema": {"type": "object", "required": ["v"]}}})
    h.check(st == 201, "config %s" % b)
    for i in range(1, 6):
        st, b = s.api("POST", "/v1/configs/app/versions", {"v": i})
        h.check(st == 201 and b["number"] == i, "publish %s" % b)

    # Tokens: an agent bound to c1, a deployer, a reader.
    toks = {}
    for name, role, cell in [("agent-c1", "agent", "c1"), ("dep", "deployer", ""), ("rd", "reader", "")]:
        body = {"name": name, "role": role}
        if cell:
            body["cell"] = cell
        st, b = s.api("POST", "/v1/tokens", body)
        h.check(st == 201, "token %s" % b)
        toks[name] = b["token"]

    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1"]}, token=toks["rd"])
    h.check(st == 403, "reader may not assign: %s" % st); n += 1
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1", "c2", "c3"], "expect_generation": 0}, token=toks["dep"])
    h.check(st == 201 and b["generation"] == 1, "assign %s" % b); n += 1
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 2, "cells": ["c1"], "expect_generation": 0})
    h.check(st == 409, "stale expect_generation must fail: %s %s" % (st, b)); n += 1
    # Security finding 9, blind writes: neither expect_generation nor force
    # is refused; both is refused; force is audited as such.
    for body in ({"version": 2, "cells": ["c1"]},
                 {"version": 2, "cells": ["c1"], "expect_generation": 1, "force": True},
                 {"version": 2, "cells": ["c1"], "force": "yes"},
                 {"version": 2, "cells": ["c1"], "force": False}):
        st, b = s.api("POST", "/v1/configs/app/assign", body)
        h.check(st == 400, "blind assign %s: %s %s" % (body, st, b)); n += 1
    st, b = s.api("POST", "/v1/configs/app/assign",
                  {"version": 1, "cells": ["c2"], "force": True, "reason": "hotfix"})
    h.check(st == 201 and b["generation"] == 2, "forced assign: %s %s" % (st, b)); n += 1
    st, au = s.api("GET", "/v1/audit?limit=1000")
    forced = [r for r in au["records"] if r["action"] == "assign" and r["reason"] == "force: hotfix"]
    h.check(len(forced) == 1, "the forced assign is not audited as forced"); n += 1
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 9, "cells": ["c1"], "force": True})
    h.check(st == 404, "unknown version %s" % st)
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["nope"], "force": True})
    h.check(st == 404, "unknown cell %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1", "c1"], "force": True})
    h.check(st == 400, "duplicate cell %s" % st); n += 1

    # Desired state, ETag and 304.
    st, hd, raw = s.request("GET", "/v1/agent/desired?cell=c1", token=toks["agent-c1"])
    d = json.loads(raw)
    h.check(st == 200 and d["assignments"][0]["version"] == 1 and hd["etag"] == '"%s"' % d["etag"], "desired %s" % d)
    stmt = d["assignments"][0]["statement"]["statement"]
    h.check(stmt["cell"] == "c1" and stmt["generation"] == 1 and stmt["expires_at"] > stmt["issued_at"], "statement %s" % stmt)
    st, _, _ = s.request("GET", "/v1/agent/desired?cell=c1", token=toks["agent-c1"], headers={"If-None-Match": hd["etag"]})
    h.check(st == 304, "304 %s" % st); n += 1
    # Agent scoping.
    for path in ["/v1/agent/desired?cell=c2", "/v1/configs", "/v1/cells", "/v1/audit"]:
        st, _ = s.api("GET", path, token=toks["agent-c1"])
        h.check(st == 403, "agent on %s: %s" % (path, st))
    st, _ = s.api("GET", "/v1/configs/app", token=toks["agent-c1"])
    h.check(st == 200, "agent reads its config %s" % st)
    st, _ = s.api("GET", "/v1/blobs/" + d["assignments"][0]["sha256"], token=toks["agent-c1"])
    h.check(st == 200, "agent reads its blob %s" % st)
    st, b = s.api("GET", "/v1/configs/app/versions/2")
    st, _ = s.api("GET", "/v1/blobs/" + b["sha256"], token=toks["agent-c1"])
    h.check(st == 403, "agent reads a blob not assigned to it: %s" % st)
    st, _ = s.api("POST", "/v1/agent/report", {"host": "h", "cell": "c2"}, token=toks["agent-c1"])
    h.check(st == 403, "agent reports for another cell: %s" % st); n += 1

    # Long-poll: parked until the assignment changes.
    result = {}
    def poll():
        t0 = time.time()
        st, hd2, raw2 = s.request("GET", "/v1/agent/desired?cell=c1&wait=20", token=toks["agent-c1"],
                                  headers={"If-None-Match": hd["etag"]}, timeout=40)
        result.update(st=st, dt=time.time() - t0, body=raw2)
    t = threading.Thread(target=poll)
    t.start()
    time.sleep(0.5)
    t_assign = time.time()
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 2, "cells": ["c1"], "expect_generation": 2})
    h.check(st == 201 and b["generation"] == 3, "assign 2 %s" % b)
    t.join(30)
    h.check(result.get("st") == 200 and json.loads(result["body"])["assignments"][0]["version"] == 2,
            "long-poll not woken: %s" % result)
    h.check(result["dt"] < 5, "long-poll woke late: %.2fs" % result["dt"]); n += 1
    # Long-poll timeout answers 304 after ~wait (±10%).
    st, hd3, _ = s.request("GET", "/v1/agent/desired?cell=c2", token="admin")
    t0 = time.time()
    st, _, _ = s.request("GET", "/v1/agent/desired?cell=c2&wait=1", headers={"If-None-Match": hd3["etag"]})
    dt = time.time() - t0
    h.check(st == 304 and 0.8 <= dt < 3, "long-poll timeout %s after %.2fs" % (st, dt)); n += 1
    st, _ = s.api("GET", "/v1/agent/desired?cell=c1&wait=100000")
    h.check(st == 400, "wait bound %s" % st); n += 1

    # Reports, hosts view, status.
    rep = {"host": "h1", "cell": "c1", "seq": 1, "window_ms": 10000,
           "configs": [{"config": "app", "version": 2, "generation": 2, "outcome": "applied",
                        "lkg_version": 2, "lkg_generation": 2}],
           "health": {"requests": 100, "errors": 1, "latency_ms": {"buckets": [5, 10, 20]},
                      "metrics": {"agent_retries": {"type": "counter", "value": 0}}}}
    st, _ = s.api("POST", "/v1/agent/report", rep, token=toks["agent-c1"])
    h.check(st == 204, "report %s" % st)
    rep2 = dict(rep, host="h2", configs=[{"config": "app", "version": 2, "generation": 2, "outcome": "rejected",
                                          "lkg_version": 1, "lkg_generation": 1, "error": "contract violation",
                                          "violations": [{"pointer": "", "rule": "json", "expected": "JSON",
                                                          "actual": "garbage", "message": "bad"}]}])
    st, _ = s.api("POST", "/v1/agent/report", rep2, token=toks["agent-c1"])
    h.check(st == 204, "report 2 %s" % st)
    for bad in [dict(rep, configs="x"), dict(rep, host="Bad Host"), dict(rep, health={"requests": -1}),
                dict(rep, health={"requests": 1, "errors": 2}), dict(rep, extra=1),
                dict(rep, configs=[{"config": "app", "version": 1, "generation": 1, "outcome": "nope"}]),
                dict(rep, health={"metrics": {"m": {"type": "counter", "value": "x"}}})]:
        st, b = s.api("POST", "/v1/agent/report", bad, token=toks["agent-c1"])
        h.check(st == 400, "bad report accepted: %s %s" % (bad, st))
    n += 1
    st, b = s.api("GET", "/v1/hosts?cell=c1")
    h.check(st == 200 and {x["host"] for x in b["hosts"]} == {"h1", "h2"}, "hosts %s" % b)
    st, b = s.api("GET", "/v1/configs/app/status")
    h.check(st == 200 and len(b["failed"]) == 1 and b["failed"][0]["host"] == "h2"
            and b["failed"][0]["violations"][0]["rule"] == "json", "status failed %s" % b)
    h.check(any(x["host"] == "h2" for x in b["behind"]), "status behind %s" % b["behind"]); n += 1

    # I3: assigned (2, on c1; 1 on c2, c3), LKG of h2 (1) cannot be deleted; 5 can.
    for v in [1, 2]:
        st, b = s.api("DELETE", "/v1/configs/app/versions/%d" % v)
        h.check(st == 409, "delete referenced v%d: %s %s" % (v, st, b))
    st, _ = s.api("POST", "/v1/configs/app/assign", {"version": 3, "cells": ["c2", "c3"], "force": True})
    st, b = s.api("DELETE", "/v1/configs/app/versions/1")
    h.check(st == 409, "v1 is h2's last-known-good and must stay: %s %s" % (st, b))
    st, b = s.api("DELETE", "/v1/configs/app/versions/4")
    h.check(st == 204, "unreferenced v4 deletable: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 4, "cells": ["c1"], "force": True})
    h.check(st == 409, "deleted version assigned: %s" % st); n += 1

    # The DynamoDB-enactor race: two writers decide on the same generation,
    # one delayed; the stale one must fail, never land.
    landed = []
    lock = threading.Lock()
    rnd = random.Random(7)
    for rnd_i in range(20):
        st, cfg = s.api("GET", "/v1/configs/app")
        g = cfg["generation"]
        def writer(ver, delay):
            time.sleep(delay)
            st2, b2 = s.api("POST", "/v1/configs/app/assign",
                            {"version": ver, "cells": ["c1", "c2"], "expect_generation": g})
            with lock:
                landed.append((rnd_i, ver, st2, b2.get("generation") if st2 == 201 else None))
        ts = [threading.Thread(target=writer, args=(v, rnd.uniform(0, 0.05))) for v in (2, 3)]
        for t in ts: t.start()
        for t in ts: t.join(30)
        wins = [x for x in landed if x[0] == rnd_i and x[2] == 201]
        loses = [x for x in landed if x[0] == rnd_i and x[2] != 201]
        h.check(len(wins) == 1 and len(loses) == 1 and loses[0][2] == 409 and wins[0][3] == g + 1,
                "round %d: %s" % (rnd_i, [x for x in landed if x[0] == rnd_i]))
    st, b = s.api("GET", "/v1/configs/app/assignments")
    gens = {a["cell"]: a["generation"] for a in b["assignments"]}
    st, cfg = s.api("GET", "/v1/configs/app")
    h.check(gens["c1"] == cfg["generation"] and gens["c2"] == cfg["generation"], "final generations %s %s" % (gens, cfg))
    for c in ["c1", "c2"]:
        st, dd = s.api("GET", "/v1/agent/desired?cell=" + c)
        h.check(dd["assignments"][0]["generation"] == cfg["generation"], "desired of %s is stale: %s" % (c, dd))
    n += 1

    # I1 at assignment: a stored blob that no longer satisfies the contract
    # (tampered on disk) is refused.
    st, b = s.api("GET", "/v1/configs/app/versions/5")
    db = sqlite3.connect(os.path.join(s.data_dir, "cellgate.db"), timeout=10)
    db.execute("UPDATE blobs SET bytes = ? WHERE sha256 = ?", (b"{not json", b["sha256"]))
    db.commit()
    db.close()
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 5, "cells": ["c3"], "force": True})
    h.check(st == 422 and b["error"]["code"] == "contract_violation", "tampered version assigned: %s %s" % (st, b)); n += 1
h.done("assign-desired", n)
