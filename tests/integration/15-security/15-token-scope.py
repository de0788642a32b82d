# SPDX-License-Identifier: MIT
"""Deployer and approver tokens scoped to configs (issue "security
hardening"): one check in the operations (server/ops/ops_scope.c) for
every operation on a config.

- scoped_deployer_refused_elsewhere: a deployer token created with
  `cellgate token create --configs app,web` is refused with 403 naming the
  rule ("token scoped to configs app,web") when it validates, publishes,
  assigns, starts a rollout of, pauses, aborts or rolls back config db,
  and when it changes a plan (plans are shared by every config); nothing
  of it was stored or audited. The CLI exits 3 with the rule.
- allowed_on_its_own: the same token validates, publishes, assigns,
  starts, pauses, resumes and aborts rollouts of app.
- scoped_approver: an approver token scoped to app approves app's rollout
  and is refused (403) on db's.
- reads_not_scoped: the scoped token still reads every config, version
  and rollout (lists are not filtered); whoami shows its configs.
- only_deployers_and_approvers: admin, reader and agent tokens cannot be
  scoped (400), nor can a token get an empty or malformed list."""
import json, os, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
RULE = "token scoped to configs app,web"
GATED = {"waves": [{"name": "all", "percent": 100, "bake_s": 3600, "approval": True}]}


def refused(st, b, what):
    h.check(st == 403 and RULE in b["error"]["message"], "%s: %s %s" % (what, st, b))


def wait_state(s, rid, state, limit_s=60):
    deadline = time.time() + limit_s
    while True:
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        if st == 200 and b["state"] == state:
            return
        h.check(time.time() < deadline, "rollout %d not %s: %s" % (rid, state, b))
        time.sleep(0.1)


def secret_of(out):
    for line in out.splitlines():
        if line.startswith("token: "):
            return line.split(": ", 1)[1].strip()
    h.fail("no secret in %r" % out)


tmp = tempfile.mkdtemp(prefix="cgscope.")
doc = h.write(tmp, "doc.json", {"v": 3})

with h.Server() as s:
    s.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
    st, _ = s.api("PUT", "/v1/plans/gated", GATED)
    h.check(st in (200, 201), "plan: %s" % st)
    for cfg in ("app", "web", "db"):
        st, _ = s.api("POST", "/v1/configs", {"name": cfg, "contract": {"schema": {"type": "object"}},
                                              "plan": "gated"})
        h.check(st == 201, "config %s: %s" % (cfg, st))
        for v in (1, 2):
            st, _ = s.api("POST", "/v1/configs/%s/versions" % cfg, {"v": v})
            h.check(st == 201, "publish %s v%d: %s" % (cfg, v, st))
        st, _ = s.api("POST", "/v1/configs/%s/assign" % cfg, {"version": 1, "cells": ["c1"],
                                                             "force": True})
        h.check(st == 201, "assign %s: %s" % (cfg, st))

    r = s.cli("token", "create", "--role", "deployer", "--name", "ci", "--configs", "web,app")
    h.check(r.returncode == 0 and "configs: app,web" in r.stdout, "create: %r %r"
            % (r.stdout, r.stderr)); n += 1
    ci = secret_of(r.stdout)
    st, b = s.api("POST", "/v1/tokens", {"name": "alice", "role": "approver", "configs": ["app"]})
    h.check(st == 201 and b["configs"] == ["app"], "approver: %s %s" % (st, b))
    alice = b["token"]

    # scoped_deployer_refused_elsewhere
    before = len(h.audit_all(s))
    st, b = s.api("POST", "/v1/configs/db/validate", {"v": 3}, token=ci)
    refused(st, b, "validate db"); n += 1
    st, b = s.api("POST", "/v1/configs/db/versions", {"v": 3}, token=ci)
    refused(st, b, "publish db"); n += 1
    st, b = s.api("POST", "/v1/configs/db/assign", {"version": 2, "cells": ["c1"],
                                                   "force": True}, token=ci)
    refused(st, b, "assign db"); n += 1
    st, b = s.api("POST", "/v1/rollouts", {"config": "db", "version": 2}, token=ci)
    refused(st, b, "start a rollout of db"); n += 1
    st, b = s.api("POST", "/v1/configs/db/rollback", {}, token=ci)
    refused(st, b, "roll db back"); n += 1
    st, b = s.api("PUT", "/v1/plans/gated", GATED, token=ci)
    h.check(st == 403 and RULE in b["error"]["message"] and "plans" in b["error"]["message"],
            "plans: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/rollouts", {"config": "db", "version": 2})
    h.check(st == 201, "an admin starts db's rollout: %s %s" % (st, b))
    db_rollout = b["id"]
    for action in ("pause", "resume", "abort"):
        st, b = s.api("POST", "/v1/rollouts/%d/%s" % (db_rollout, action), {}, token=ci)
        refused(st, b, "%s db's rollout" % action); n += 1
    st, b = s.api("POST", "/v1/rollouts/%d/approve" % db_rollout, {}, token=alice)
    h.check(st == 403 and "token scoped to configs app " in b["error"]["message"],
            "approve db's rollout: %s %s" % (st, b)); n += 1
    recs = h.audit_all(s)
    h.check(all(x["actor"] != "token:ci" for x in recs[before:]),
            "nothing refused was audited: %s" % recs[before:]); n += 1
    st, b = s.api("GET", "/v1/configs/db/versions")
    h.check([v["number"] for v in b["versions"]] == [2, 1], "db has no new version: %s" % b); n += 1
    r = s.cli("publish", "db", doc, "-m", "x", token=ci)
    h.check(r.returncode == 5 and RULE in r.stderr, "CLI: %d %r" % (r.returncode, r.stderr)); n += 1
    print("scoped_deployer_refused_elsewhere: ok")

    # allowed_on_its_own
    st, b = s.api("POST", "/v1/configs/app/validate", {"v": 3}, token=ci)
    h.check(st == 200 and b["valid"], "validate app: %s %s" % (st, b)); n += 1
    r = s.cli("publish", "app", doc, "-m", "by ci", token=ci)
    h.check(r.returncode == 0 and "version 3" in r.stdout, "publish app: %r %r"
            % (r.stdout, r.stderr)); n += 1
    st, b = s.api("POST", "/v1/configs/web/assign", {"version": 2, "cells": ["c1"],
                                                    "force": True}, token=ci)
    h.check(st == 201, "assign web: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 3}, token=ci)
    h.check(st == 201, "start app's rollout: %s %s" % (st, b)); n += 1
    app_rollout = b["id"]
    for action in ("pause", "resume"):
        st, b = s.api("POST", "/v1/rollouts/%d/%s" % (app_rollout, action), {}, token=ci)
        h.check(st == 200, "%s app's rollout: %s %s" % (action, st, b)); n += 1
    print("allowed_on_its_own: ok")

    # scoped_approver
    wait_state(s, app_rollout, "waiting_approval")
    st, b = s.api("POST", "/v1/rollouts/%d/approve" % app_rollout, {}, token=alice)
    h.check(st == 200, "approve app's rollout: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/rollouts/%d/abort" % app_rollout, {}, token=ci)
    h.check(st == 200, "abort app's rollout: %s %s" % (st, b)); n += 1
    print("scoped_approver: ok")

    # reads_not_scoped
    st, b = s.api("GET", "/v1/configs/db", token=ci)
    h.check(st == 200, "read db: %s" % st); n += 1
    st, b = s.api("GET", "/v1/rollouts", token=ci)
    h.check(st == 200 and {x["config"] for x in b["rollouts"]} == {"app", "db"},
            "every rollout is listed: %s" % b); n += 1
    st, b = s.api("GET", "/v1/whoami", token=ci)
    h.check(b["configs"] == ["app", "web"], "whoami: %s" % b); n += 1
    st, b = s.api("GET", "/v1/whoami")
    h.check(b["configs"] == [], "an unscoped token: %s" % b); n += 1
    print("reads_not_scoped: ok")

    # only_deployers_and_approvers
    for role, extra in (("admin", {}), ("reader", {}), ("agent", {"cell": "c1"})):
        st, b = s.api("POST", "/v1/tokens", dict({"name": "x-" + role, "role": role,
                                                  "configs": ["app"]}, **extra))
        h.check(st == 400, "%s scoped: %s %s" % (role, st, b)); n += 1
    for bad in ([], ["App"], "app", [1], ["a"] * 17):
        st, b = s.api("POST", "/v1/tokens", {"name": "x", "role": "deployer", "configs": bad})
        h.check(st == 400, "configs %r: %s %s" % (bad, st, b)); n += 1
    r = s.cli("token", "create", "--role", "deployer", "--name", "x", "--configs", "app,,web")
    h.check(r.returncode == 2, "--configs app,,web: %d %r" % (r.returncode, r.stderr)); n += 1
    print("only_deployers_and_approvers: ok")

h.done("15-security/15-token-scope", n)
