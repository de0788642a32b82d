# SPDX-License-Identifier: MIT
"""`cellgate apply -f`, `diff -f` and offline `validate --contract`
(docs/gitops.md), on exactly the example repository examples/gitops/:

- applied to an empty server, every cell, plan, config (contract, default
  plan), policy and sink exists as the files say (the sink's secret from
  secret_env, never from the files);
- a second apply changes nothing (exit 0, "nothing to do", no new audit
  record) and diff -f exits 0;
- a changed plan and policy: diff -f shows exactly those two with the
  changed fields and exits 1 (differences), apply updates them, with
  their audit records and the -m reason;
- malformed YAML, an unknown kind, an unknown field, a duplicate name
  across files and a dangling plan reference: exit 2, file:line named,
  the server unchanged (every list and the audit log identical);
- a deployer token: exit 5 (permission denied) before anything changes;
- a cell's labels and a config's scope changed: applied (the scope compared in the
  server's normal form); a changed contract: drift, exit 1, nothing silently passed;
- apply --dry-run changes nothing; --prune removes a sink no file names
  and only lists a plan it cannot delete;
- the same resource in YAML and in JSON: no difference;
- offline validate: valid (0), violations (1), --live growth/preserve (1),
  unreadable file (2), with no server at all."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

SRC = os.environ.get("CG_SRC_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
EXAMPLE = os.path.join(SRC, "examples", "gitops")
SECRET_ENV = {"CELLGATE_OPS_HOOK_SECRET": "hook-secret-from-ci"}
n = 0


def run(r, code, what):
    h.check(r.returncode == code, "%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s"
            % (what, r.returncode, code, r.stdout, r.stderr))
    return r


def state(s):
    """Everything apply may change, and the audit log's length."""
    out = {}
    for path in ("/v1/cells", "/v1/plans", "/v1/configs", "/v1/notify/sinks"):
        st, b = s.api("GET", path)
        h.check(st == 200, "GET %s: %s" % (path, st))
        for key in ("cells", "plans", "configs", "sinks"):
            if key in b:
                out[path] = sorted(json.dumps(x, sort_keys=True) for x in b[key])
    for cfg in ("web", "search-flags"):
        st, b = s.api("GET", "/v1/configs/%s/policy" % cfg)
        out["policy." + cfg] = json.dumps(b, sort_keys=True) if st == 200 else st
    out["audit"] = len(h.audit_all(s))
    return out


def copy_example(tmp, name):
    d = os.path.join(tmp, name)
    shutil.copytree(EXAMPLE, d)
    return d


def edit(path, old, new):
    with open(path) as f:
        text = f.read()
    h.check(old in text, "%s has no %r" % (path, old))
    with open(path, "w") as f:
        f.write(text.replace(old, new))


tmp = tempfile.mkdtemp(prefix="cgapply.")
try:
    with h.Server() as s:
        # ---- 1. the example repository onto an empty server ----
        r = run(s.cli("apply", "-f", EXAMPLE, env=SECRET_ENV), 0, "first apply")
        h.check("apply: 12 created, 0 updated, 0 deleted, 0 unchanged" in r.stdout, r.stdout)
        n += 1
        st, b = s.api("GET", "/v1/cells")
        cells = {c["id"]: c for c in b["cells"]}
        h.check(sorted(cells) == ["euw1-az1-c01", "euw1-az2-c01", "use1-az1-c01",
                                  "use1-az1-c02", "use1-az2-c01"], "cells: %s" % sorted(cells))
        h.check(cells["use1-az2-c01"]["region"] == "us-east-1"
                and cells["use1-az2-c01"]["zone"] == "use1-az2"
                and cells["use1-az2-c01"]["labels"] == {"tier": "web", "canary": "true"},
                "cell use1-az2-c01: %s" % cells["use1-az2-c01"])
        h.check(cells["use1-az1-c02"]["labels"] == {}, "labels: %s" % cells["use1-az1-c02"])
        n += 1
        st, b = s.api("GET", "/v1/plans/safe")
        safe = b["plan"]
        h.check([w["name"] for w in safe["waves"]] == ["canary", "one-zone", "rest"]
                and safe["waves"][1]["bake_s"] == 1800 and safe["waves"][2]["approval"] is True
                and safe["gates"]["error_rate"]["max"] == 0.05
                and safe["deny"] == [{"weekly": "Fri 16:00-Mon 08:00", "tz": "Europe/Berlin"}],
                "plan safe: %s" % safe)
        st, b = s.api("GET", "/v1/plans/fast")
        with open(os.path.join(EXAMPLE, "plans", "fast.json")) as f:
            h.check(b["plan"] == json.load(f)["spec"], "plan fast: %s" % b)
        n += 1
        st, web = s.api("GET", "/v1/configs/web")
        with open(os.path.join(EXAMPLE, "configs", "web", "contract.json")) as f:
            h.check(web["contract"] == json.load(f), "contract of web: %s" % web["contract"])
        h.check(web["kind"] == "config" and web["plan"] == "safe", "config web: %s" % web)
        st, sf = s.api("GET", "/v1/configs/search-flags")
        h.check(sf["kind"] == "flags" and sf["plan"] == "fast"
                and sf["contract"]["max_bytes"] == 262144, "config search-flags: %s" % sf)
        h.check(sf["scope"] == {"labels": {"tier": "web"}} and web["scope"] is None,
                "scopes: search-flags %s, web %s" % (sf.get("scope"), web.get("scope")))
        st, sv = s.api("GET", "/v1/configs/search-flags/scope")
        h.check(sv["cells"] == ["use1-az1-c01", "use1-az2-c01"], "scoped cells: %s" % sv)
        n += 1
        st, b = s.api("GET", "/v1/configs/web/policy")
        h.check(b["document"] == {"allowed_plans": ["safe"], "min_waves": 3, "min_bake_s": 600,
                                  "approvals": {"waves": ["last"]},
                                  "required_gates": ["error_rate"]}, "policy: %s" % b)
        st, b = s.api("GET", "/v1/notify/sinks")
        sinks = {x["name"]: x for x in b["sinks"]}
        h.check(sinks["ops-hook"]["secret"] is True and sinks["ops-hook"]["config"] == "web"
                and sorted(sinks["ops-hook"]["events"]) == ["flag.killed", "rollout.halted",
                                                            "rollout.rolled_back"]
                and sinks["ops-hook"]["format"] == "json", "sink ops-hook: %s" % sinks)
        h.check(sinks["grafana"]["secret"] is False and sinks["grafana"]["events"] == ["all"]
                and sinks["grafana"]["config"] is None, "sink grafana: %s" % sinks)
        n += 1
        # the secret came from the environment and appears in no audit record
        h.check(all("hook-secret-from-ci" not in json.dumps(a) for a in h.audit_all(s)),
                "the secret is in the audit log"); n += 1

        # ---- 2. idempotent ----
        before = state(s)
        r = run(s.cli("apply", "-f", EXAMPLE, env=SECRET_ENV), 0, "second apply")
        h.check(r.stdout.splitlines()[-1]
                == "apply: 0 created, 0 updated, 0 deleted, 12 unchanged; nothing to do"
                and all(x.startswith("unchanged ") for x in r.stdout.splitlines()[:-1]),
                r.stdout)
        h.check(state(s) == before, "a second apply changed the server"); n += 1
        r = run(s.cli("diff", "-f", EXAMPLE, env=SECRET_ENV), 0, "diff of the applied files")
        h.check("no differences" in r.stdout, r.stdout); n += 1
        # a sink whose secret is missing from the environment is an error, not a change
        r = run(s.cli("diff", "-f", EXAMPLE, env={"CELLGATE_OPS_HOOK_SECRET": ""}), 2,
                "diff without the secret")
        h.check("CELLGATE_OPS_HOOK_SECRET is not set" in r.stderr, r.stderr); n += 1

        # ---- 3. a changed plan and policy ----
        changed = copy_example(tmp, "changed")
        edit(os.path.join(changed, "plans", "safe.yaml"), "bake_s: 1800", "bake_s: 3600")
        edit(os.path.join(changed, "policies", "web.yaml"), "min_waves: 3", "min_waves: 2")
        r = run(s.cli("diff", "-f", changed, env=SECRET_ENV), 1, "diff of a changed plan/policy")
        lines = [x for x in r.stdout.splitlines() if not x.startswith("unchanged")]
        h.check(lines == ["update     Plan safe",
                          "      ~ /waves/1/bake_s: 1800 -> 3600",
                          "update     Policy web",
                          "      ~ /min_waves: 3 -> 2",
                          "diff: 0 to create, 2 to update, 0 to delete, 10 unchanged"],
                "diff output:\n%s" % r.stdout); n += 1
        h.check(state(s) == before, "diff changed the server"); n += 1
        r = run(s.cli("apply", "--dry-run", "-f", changed, env=SECRET_ENV), 1, "apply --dry-run")
        h.check(state(s) == before, "apply --dry-run changed the server"); n += 1
        r = run(s.cli("apply", "-f", changed, "-m", "longer bake", env=SECRET_ENV), 0,
                "apply of a changed plan/policy")
        h.check("updated    Plan safe" in r.stdout and "updated    Policy web" in r.stdout
                and "2 updated" in r.stdout, r.stdout)
        st, b = s.api("GET", "/v1/plans/safe")
        h.check(b["plan"]["waves"][1]["bake_s"] == 3600, "plan after apply: %s" % b)
        st, b = s.api("GET", "/v1/configs/web/policy")
        h.check(b["document"]["min_waves"] == 2, "policy after apply: %s" % b)
        new = h.audit_all(s)[before["audit"]:]
        h.check([(a["action"], a["object"]) for a in new]
                == [("plan.set", "plan/safe"), ("config.set_policy", "config/web")],
                "audit of the update: %s" % new)
        h.check(new[1]["reason"] == "longer bake", "policy audit reason: %s" % new[1]); n += 1
        run(s.cli("diff", "-f", changed, env=SECRET_ENV), 0, "diff after the update"); n += 1

        # ---- 4. bad files change nothing ----
        before = state(s)
        bad_cases = [
            ("malformed YAML", "cells/x.yaml", "kind: Cell\nname: x1\nspec:\n  region: [r\n",
             "cells/x.yaml:"),
            ("unknown kind", "cells/x.yaml", "kind: Cel\nname: x1\nspec: {}\n",
             "cells/x.yaml:1:1: unknown kind 'Cel'"),
            ("unknown field", "cells/x.yaml",
             "kind: Cell\nname: x1\nspec:\n  region: r1\n  zone: z1\n  lables: {a: b}\n",
             "cells/x.yaml:6:3: Cell x1: unknown field spec.lables"),
            ("duplicate name", "plans/again.yaml",
             "kind: Plan\nname: fast\nspec:\n  waves: [{name: all, percent: 100, bake_s: 0}]\n",
             "Plan fast: defined twice"),
            ("dangling plan", "configs/new.yaml",
             "kind: Config\nname: new\nspec:\n  contract: {}\n  plan: nope\n",
             "configs/new.yaml:5:3: Config new: plan 'nope' is neither on the server nor in "
             "the files"),
            ("inline secret", "notify/x.yaml",
             "kind: NotificationSink\nname: x\nspec:\n  url: https://x.example/\n"
             "  events: all\n  secret: hunter2\n", "a secret is never written"),
            ("unknown event", "notify/x.yaml",
             "kind: NotificationSink\nname: x\nspec:\n  url: https://x.example/\n"
             "  events: [rollout.halted, rollout.exploded]\n",
             "notify/x.yaml:5:3: NotificationSink x: spec.events: unknown event "
             "'rollout.exploded'"),
            ("invalid contract", "configs/new.yaml",
             "kind: Config\nname: new\nspec:\n  contract: {max_bytes: 0}\n",
             "invalid contract at '/max_bytes'"),
        ]
        for what, rel, text, want in bad_cases:
            d = copy_example(tmp, "bad")
            # a new cell too: the good parts of the set must not be applied either
            with open(os.path.join(d, "cells", "new.yaml"), "w") as f:
                f.write("kind: Cell\nname: newcell\nspec: {region: r9, zone: z9}\n")
            with open(os.path.join(d, rel), "w") as f:
                f.write(text)
            r = run(s.cli("apply", "-f", d, env=SECRET_ENV), 2, what)
            h.check(want in r.stderr and "nothing was changed" in r.stderr,
                    "%s: stderr lacks %r:\n%s" % (what, want, r.stderr))
            h.check(state(s) == before, "%s changed the server" % what)
            shutil.rmtree(d)
            n += 1

        # ---- 5. a token without the role ----
        st, b = s.api("POST", "/v1/tokens", {"role": "deployer", "name": "ci"})
        h.check(st == 201, "token: %s %s" % (st, b))
        deployer = b["token"]
        d = copy_example(tmp, "role")
        # plans (a deployer may) come before configs (admin): the check must
        # refuse before the plan changes, not stop at the first 403
        with open(os.path.join(d, "configs", "new.yaml"), "w") as f:
            f.write("kind: Config\nname: newcfg\nspec: {contract: {}}\n")
        edit(os.path.join(d, "plans", "fast.json"), '"bake_s": 60', '"bake_s": 61')
        before = state(s)
        r = run(s.cli("apply", "-f", os.path.join(d, "plans"), "-f", os.path.join(d, "configs"),
                      token=deployer), 5, "apply with a deployer token")
        h.check("needs the admin role" in r.stderr and "nothing was changed" in r.stderr,
                r.stderr)
        h.check(state(s) == before, "a refused token changed the server"); n += 1
        # a pull request's reader token: diff compares all but the sinks, says so
        st, b = s.api("POST", "/v1/tokens", {"role": "reader", "name": "pr"})
        h.check(st == 201, "token: %s %s" % (st, b))
        before = state(s)
        r = run(s.cli("diff", "-f", changed, token=b["token"], env=SECRET_ENV), 0,
                "diff with a reader token")
        h.check("unknown    NotificationSink ops-hook: not compared" in r.stdout
                and "2 not compared" in r.stdout
                and "no differences in what was compared" in r.stdout, r.stdout)
        r = run(s.cli("apply", "-f", changed, token=b["token"], env=SECRET_ENV), 5,
                "apply with a reader token")
        h.check(state(s) == before, "a reader token changed the server"); n += 1
        # plans alone are a deployer's
        run(s.cli("apply", "-f", os.path.join(d, "plans"), token=deployer), 0,
            "deployer applies plans"); n += 1
        shutil.rmtree(d)

        # ---- 6. labels and scope apply; what cannot change yet is drift ----
        d = os.path.join(tmp, "drift")
        shutil.copytree(changed, d)  # the plan and policy as applied
        edit(os.path.join(d, "cells", "us-east-1.yaml"), "    tier: web\n", "    tier: api\n")
        edit(os.path.join(d, "configs", "web", "config.yaml"), "  plan: safe\n",
             "  plan: safe\n  scope: {regions: [us-east-1, us-east-1], zones: []}\n")
        r = run(s.cli("diff", "-f", d, env=SECRET_ENV), 1, "diff of labels and scope")
        h.check("Cell use1-az1-c01" in r.stdout and "labels" in r.stdout
                and "Config web" in r.stdout and "scope" in r.stdout
                and "drift" not in r.stdout.replace("0 drift", ""), r.stdout); n += 1
        acts0 = [x["action"] for x in h.audit_all(s)]
        r = run(s.cli("apply", "-f", d, "-m", "relabel and scope", env=SECRET_ENV), 0,
                "apply labels and scope")
        st, c = s.api("GET", "/v1/cells/use1-az1-c01")
        h.check(c["labels"] == {"tier": "api"}, "labels applied: %s" % c); n += 1
        st, v = s.api("GET", "/v1/configs/web/scope")
        h.check(v["scope"] == {"regions": ["us-east-1"]}, "scope applied: %s" % v); n += 1
        r = run(s.cli("diff", "-f", d, env=SECRET_ENV), 0, "the scope compares in normal form")
        acts = [x["action"] for x in h.audit_all(s)][len(acts0):]
        h.check(acts.count("cell.update") == 1 and acts.count("config.set_scope") == 1,
                "one record each: %s" % acts); n += 1
        # the scope removed from the file is removed on the server
        edit(os.path.join(d, "configs", "web", "config.yaml"),
             "  scope: {regions: [us-east-1, us-east-1], zones: []}\n", "")
        run(s.cli("apply", "-f", d, "-m", "every cell", env=SECRET_ENV), 0, "unscope")
        st, v = s.api("GET", "/v1/configs/web/scope")
        h.check(v["scope"] is None, "scope removed: %s" % v); n += 1
        edit(os.path.join(d, "configs", "web", "contract.json"), '"max_bytes": 65536',
             '"max_bytes": 131072')
        r = run(s.cli("diff", "-f", d, env=SECRET_ENV), 1, "diff of a changed contract")
        h.check("Config web" in r.stdout and "/contract/max_bytes: 65536 -> 131072" in r.stdout,
                r.stdout); n += 1
        run(s.cli("apply", "-f", d, "-m", "bigger documents", env=SECRET_ENV), 0,
            "apply a changed contract")
        st, cv = s.api("GET", "/v1/configs/web/contracts")
        h.check(st == 200 and json.dumps(cv).count('"number"') >= 2,
                "the contract is the next version: %s" % json.dumps(cv)[:400]); n += 1
        run(s.cli("diff", "-f", d, env=SECRET_ENV), 0, "in sync after the contract"); n += 1
        # what can never change stays drift: a cell's zone
        edit(os.path.join(d, "cells", "us-east-1.yaml"), "zone: use1-az1", "zone: use1-az9")
        before = state(s)
        r = run(s.cli("apply", "-f", d, env=SECRET_ENV), 1, "apply with a moved cell")
        h.check("drift" in r.stdout and "zone" in r.stdout, r.stdout)
        h.check(state(s) == before, "drift changed the server"); n += 1
        shutil.rmtree(d)

        # ---- 7. prune ----
        run(s.cli("notify", "add", "stray", "--url", "https://stray.example/", "--events",
                  "all"), 0, "a sink no file names")
        st, b = s.api("PUT", "/v1/plans/stray",
                      {"waves": [{"name": "all", "percent": 100, "bake_s": 0}]})
        h.check(st in (200, 201), "plan stray: %s" % st)
        # a config the files do not name, with a policy: not theirs to prune
        st, b = s.api("POST", "/v1/configs", {"name": "other", "kind": "config",
                                              "contract": {}})
        h.check(st == 201, "config other: %s %s" % (st, b))
        st, b = s.api("PUT", "/v1/configs/other/policy", {"min_waves": 1})
        h.check(st == 200, "policy of other: %s %s" % (st, b))
        r = run(s.cli("apply", "-f", changed, env=SECRET_ENV), 0, "apply without --prune")
        h.check("stray" not in r.stdout, r.stdout)
        r = run(s.cli("diff", "-f", changed, "--prune", env=SECRET_ENV), 1, "diff --prune")
        h.check("delete     NotificationSink stray" in r.stdout, r.stdout)
        r = run(s.cli("apply", "-f", changed, "--prune", env=SECRET_ENV), 0, "apply --prune")
        h.check("deleted    NotificationSink stray" in r.stdout
                and "not pruned Plan stray" in r.stdout, r.stdout)
        st, b = s.api("GET", "/v1/notify/sinks")
        h.check(sorted(x["name"] for x in b["sinks"]) == ["grafana", "ops-hook"],
                "sinks after prune: %s" % b)
        st, _ = s.api("GET", "/v1/plans/stray")
        h.check(st == 200, "prune deleted a plan")
        h.check("not pruned Config other" in r.stdout, r.stdout)
        st, b = s.api("GET", "/v1/configs/other/policy")
        h.check(b["document"] == {"min_waves": 1}, "prune cleared another config's policy")
        n += 1
        # a config of the files without its Policy: --prune clears it
        nopol = os.path.join(tmp, "nopol")
        shutil.copytree(changed, nopol)
        os.unlink(os.path.join(nopol, "policies", "web.yaml"))
        r = run(s.cli("apply", "-f", nopol, "--prune", "-m", "no policy", env=SECRET_ENV), 0,
                "apply --prune without the policy")
        h.check("deleted    Policy web" in r.stdout, r.stdout)
        st, b = s.api("GET", "/v1/configs/web/policy")
        h.check(b["policy"] is None, "policy web after prune: %s" % b)
        run(s.cli("apply", "-f", changed, env=SECRET_ENV), 0, "the policy back"); n += 1

        # ---- 8. YAML and JSON: the same resource, the same result ----
        y = os.path.join(tmp, "y")
        j = os.path.join(tmp, "j")
        os.makedirs(y)
        os.makedirs(j)
        with open(os.path.join(y, "p.yaml"), "w") as f:
            f.write("kind: Plan\nname: twin\nspec:\n  waves:\n"
                    "    - {name: canary, cells: 1, bake_s: 30, min_requests: 10}\n"
                    "    - name: rest\n      percent: 100\n      bake_s: 0\n"
                    "  gates: {error_rate: {max: 0.02, max_ratio: 1.5, min_delta: 0.001}}\n"
                    "---\nkind: Cell\nname: twin-c1\nspec:\n  region: r1\n  zone: z1\n"
                    "  labels: {rack: \"7\"}\n")
        with open(os.path.join(j, "p.json"), "w") as f:
            json.dump([{"kind": "Plan", "name": "twin", "spec": {
                "waves": [{"name": "canary", "cells": 1, "bake_s": 30, "min_requests": 10},
                          {"name": "rest", "percent": 100, "bake_s": 0}],
                "gates": {"error_rate": {"max": 0.02, "max_ratio": 1.5, "min_delta": 0.001}}}},
                {"kind": "Cell", "name": "twin-c1",
                 "spec": {"region": "r1", "zone": "z1", "labels": {"rack": "7"}}}], f)
        run(s.cli("apply", "-f", y), 0, "apply YAML")
        r = run(s.cli("diff", "-f", j), 0, "the JSON twin after the YAML")
        h.check("no differences" in r.stdout, r.stdout)
        run(s.cli("apply", "-f", j), 0, "apply the JSON twin")
        run(s.cli("diff", "-f", y), 0, "the YAML after the JSON")
        with open(os.path.join(y, "p.yaml")) as f:
            r = run(s.cli("diff", "-f", "-", input=f.read()), 0, "diff -f - (YAML on stdin)")
        h.check("no differences" in r.stdout, r.stdout)
        with open(os.path.join(j, "p.json")) as f:
            run(s.cli("diff", "-f", "-", input=f.read()), 0, "diff -f - (JSON on stdin)")
        r = run(s.cli("diff", "-f", "-", input="kind: Cell\nname: twin-c1\nspec: "
                      "{region: r1, zone: z1, labels: {rack: \"8\"}}\n"), 1, "a change from stdin")
        h.check("Cell twin-c1" in r.stdout and "labels" in r.stdout, r.stdout); n += 1

        # ---- 9. usage ----
        run(s.cli("apply"), 2, "apply without -f")
        run(s.cli("apply", "-f", os.path.join(tmp, "nope")), 2, "apply of a missing path")
        run(s.cli("diff", "web", "1"), 2, "the old diff still wants CONFIG A B"); n += 1

    # ---- 10. offline validate: no server at all ----
    contract = os.path.join(EXAMPLE, "configs", "web", "contract.json")
    noserver = {"CELLGATE_SERVER": "http://127.0.0.1:1", "CELLGATE_TOKEN": ""}
    good = h.write(tmp, "good.json", {"routes": ["/", "/api"], "timeout_ms": 250})
    bad = h.write(tmp, "bad.json", {"routes": [], "timeout_ms": "x"})
    live = h.write(tmp, "live.json", {"routes": ["/a", "/b"], "timeout_ms": 1})
    grown = h.write(tmp, "grown.json", {"routes": ["/a", "/b", "/c", "/d"]})

    def offline(*args):
        e = dict(os.environ)
        e.update(noserver)
        import subprocess
        return subprocess.run([h.CLI_BIN] + list(args), capture_output=True, text=True,
                              timeout=30, env=e)

    r = run(offline("validate", "--contract", contract, good), 0, "offline valid")
    h.check("is valid for contract" in r.stdout, r.stdout); n += 1
    r = run(offline("validate", "--contract", contract, bad), 1, "offline invalid")
    h.check("/timeout_ms schema:type:" in r.stdout and "/routes cardinality.min:" in r.stdout
            and "2 violations" in r.stdout, r.stdout); n += 1
    run(offline("validate", "--contract", contract, grown), 0, "growth without --live")
    r = run(offline("validate", "--contract", contract, grown, "--live", live), 1,
            "offline --live")
    h.check("/routes growth.max_ratio:" in r.stdout and "/timeout_ms preserve:" in r.stdout,
            r.stdout); n += 1
    run(offline("validate", "--contract", os.path.join(tmp, "nope.json"), good), 2,
        "unreadable contract")
    run(offline("validate", "--contract", good, os.path.join(tmp, "nope.json")), 2,
        "unreadable document")
    badc = h.write(tmp, "badc.json", {"max_bytes": 0})
    r = run(offline("validate", "--contract", badc, good), 2, "invalid contract")
    h.check("/max_bytes contract.value" in r.stderr, r.stderr); n += 1
finally:
    shutil.rmtree(tmp, ignore_errors=True)

h.done("40-cli/27-apply", n)
