# SPDX-License-Identifier: MIT
"""Issue 17: contracts and plans as versioned, audited objects
(docs/contracts.md "Contract versions", docs/plans.md "Plan versions").

- A config's contract is version 1 at create; PUT /v1/configs/{name}/contract
  validates the new contract, refuses one the live version violates (409
  live_violates_contract with every violation) unless force with a reason,
  stores it as the next version with a config.contract audit record (old
  and new version, forced), and records nothing for the same contract
  again. New versions are validated against the current contract and record
  the contract version they were checked against. GET .../contracts lists
  every version, .../contracts/N returns one with its document.
- PUT /v1/plans/NAME with a different body is the next plan version, the
  same body again changes nothing (no audit record); GET
  /v1/plans/NAME/versions lists them; a rollout records the plan version it
  ran (status JSON and `cellgate rollout status`).
- The CLI: config set-contract (refusal prints the violations, --force),
  config contracts, plan versions.
- Everything survives a restart, and `cellgated dump`/`load` (a dump
  without the new tables and columns, as written before them, loads with
  the current contract and plan recorded as version 1)."""
import json, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def contract(mx):
    return {"cardinality": [{"pointer": "/features", "min": 1, "max": mx}]}


def publish(s, doc):
    st, _, b = s.request("POST", "/v1/configs/app/versions?message=m", json.dumps(doc))
    return st, json.loads(b)


def audits(s, action):
    return [r for r in h.audit_all(s) if r["action"] == action]


with h.Server(extra_args=["--tick-ms", "50"], keep=True) as s:
    d = s.data_dir
    for c in ["c1", "c2"]:
        s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z" + c})
    h.check(s.api("PUT", "/v1/plans/p", {"waves": [{"name": "all", "percent": 100,
                                                    "bake_s": 0}]})[0] == 201, "plan")
    st, b = s.api("POST", "/v1/configs", {"name": "app", "contract": contract(10), "plan": "p"})
    h.check(st == 201 and b["contract_version"] == 1, "create %s %s" % (st, b))
    st, b = s.api("GET", "/v1/configs/app/contracts")
    h.check(st == 200 and [c["number"] for c in b["contracts"]] == [1]
            and b["contracts"][0]["actor"] == "token:admin", "contracts at create: %s" % b)
    st, b = publish(s, {"features": [1, 2, 3]})
    h.check(st == 201 and b["contract_version"] == 1, "publish v1 %s %s" % (st, b))
    n += 1

    # a contract the live version breaks: refused with every violation
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": contract(2), "reason": "tighter"})
    h.check(st == 409 and b["error"]["code"] == "live_violates_contract"
            and b["error"]["details"]["live_version"] == 1
            and b["error"]["details"]["violations"][0]["pointer"] == "/features",
            "refused: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": contract(2), "force": True})
    h.check(st == 400, "force without a reason: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": {"cardinality": 3},
                                                       "reason": "bad"})
    h.check(st == 422 and b["error"]["code"] == "invalid", "invalid contract: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": contract(2), "bogus": 1})
    h.check(st == 400, "unknown field: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/configs/nosuch/contract", {"contract": contract(2), "reason": "x"})
    h.check(st == 404, "no such config: %s %s" % (st, b))
    h.check(audits(s, "config.contract") == [], "refusals are not audited")
    n += 1

    # forced, with a reason: version 2, audited as forced
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": contract(2), "force": True,
                                                       "message": "shrink on purpose"})
    h.check(st == 200 and b["contract_version"] == 2 and b["forced"] and b["changed"]
            and len(b["violations"]) == 1, "forced: %s %s" % (st, b))
    a = audits(s, "config.contract")
    h.check(len(a) == 1 and json.loads(a[0]["before"])["contract_version"] == 1
            and json.loads(a[0]["after"]) ["contract_version"] == 2
            and json.loads(a[0]["after"])["forced"] is True
            and a[0]["reason"] == "shrink on purpose" and a[0]["object"] == "config/app",
            "audit: %s" % a)
    # the same contract again: nothing recorded
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": contract(2), "reason": "again"})
    h.check(st == 200 and not b["changed"] and b["contract_version"] == 2, "same: %s %s" % (st, b))
    h.check(len(audits(s, "config.contract")) == 1, "the same contract is not audited")
    n += 1

    # the new contract is what publishes are checked against
    st, b = publish(s, {"features": [1, 2, 3, 4]})
    h.check(st == 422, "checked against contract 2: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": contract(5), "reason": "room"})
    h.check(st == 200 and b["contract_version"] == 3 and not b["forced"], "v3: %s %s" % (st, b))
    st, b = publish(s, {"features": [1, 2, 3, 4]})
    h.check(st == 201 and b["contract_version"] == 3, "publish under 3: %s %s" % (st, b))
    st, b = s.api("GET", "/v1/configs/app/versions/1")
    h.check(b["contract_version"] == 1, "version 1 keeps its contract version: %s" % b)
    # the contract compiled once per text, the comparison base prepared once
    # per version (server/ops/contract_cache.h): a publish under 3 finds
    # both, the base being the version the last publish offered (no
    # rollout: the newest version is the base), and contract 3 still holds
    def cache():
        body = s.request("GET", "/metrics")[2].decode()
        return {(k, r): float(line.split()[-1]) for line in body.splitlines()
                for k in ("contract", "live") for r in ("hit", "miss")
                if line.startswith('cellgate_contract_cache_lookups_total{kind="%s",result="%s"}'
                                   % (k, r))}
    c0 = cache()
    st, b = publish(s, {"features": [1, 2, 3, 5]})
    c1 = cache()
    h.check(st == 201 and c1[("contract", "hit")] == c0[("contract", "hit")] + 1
            and c1[("contract", "miss")] == c0[("contract", "miss")]
            and c1[("live", "hit")] == c0[("live", "hit")] + 1
            and c1[("live", "miss")] == c0[("live", "miss")], "cache %s -> %s" % (c0, c1))
    st, b = publish(s, {"features": [1, 2, 3, 5, 6]})
    c2 = cache()
    h.check(st == 201 and c2[("contract", "hit")] == c1[("contract", "hit")] + 1
            and c2[("live", "hit")] == c1[("live", "hit")] + 1, "cache %s -> %s" % (c1, c2))
    st, b = publish(s, {"features": [1, 2, 3, 5, 6, 7]})
    h.check(st == 422, "contract 3 still holds with the cache warm: %s %s" % (st, b))
    st, b = s.api("GET", "/v1/configs/app")
    h.check(b["contract_version"] == 3 and b["contract"] == contract(5), "config: %s" % b)
    n += 1

    # history
    st, b = s.api("GET", "/v1/configs/app/contracts")
    h.check([(c["number"], c["forced"]) for c in b["contracts"]] == [(1, False), (2, True),
                                                                      (3, False)]
            and all(len(c["sha256"]) == 64 for c in b["contracts"]), "list: %s" % b)
    st, b = s.api("GET", "/v1/configs/app/contracts/2")
    h.check(st == 200 and b["contract"] == contract(2) and b["reason"] == "shrink on purpose",
            "get 2: %s %s" % (st, b))
    h.check(s.api("GET", "/v1/configs/app/contracts/9")[0] == 404, "no contract 9")
    h.check(s.api("GET", "/v1/configs/app/contracts/x")[0] == 400, "bad number")
    h.check(s.api("GET", "/v1/configs/nosuch/contracts")[0] == 404, "no config")
    n += 1

    # the CLI
    path = h.write(d, "c6.json", json.dumps(contract(1)))
    r = s.cli("config", "set-contract", "app", path, "-m", "one only")
    h.check(r.returncode != 0 and "/features" in r.stdout and "--force" in r.stderr,
            "cli refusal: %d %s %s" % (r.returncode, r.stdout, r.stderr))
    r = s.cli("config", "set-contract", "app", path)
    h.check(r.returncode == 2, "cli without -m: %d %s" % (r.returncode, r.stderr))
    r = s.cli("config", "set-contract", "app", path, "-m", "one only", "--force")
    h.check(r.returncode == 0 and "contract version 4 (was 3), forced" in r.stdout,
            "cli forced: %s %s" % (r.stdout, r.stderr))
    r = s.cli("config", "contracts", "app")
    lines = r.stdout.splitlines()
    h.check(r.returncode == 0 and lines[0].split()[:3] == ["VERSION", "CREATED", "ACTOR"]
            and len(lines) == 5 and "one only" in lines[4] and " yes " in lines[4],
            "cli contracts: %s" % r.stdout)
    r = s.cli("config", "show", "app")
    h.check("contract version:" in r.stdout and "4" in r.stdout, "show: %s" % r.stdout)
    n += 1

    # plans: versions, no-op puts, the version a rollout ran
    before = len(audits(s, "plan.set"))
    st, b = s.api("PUT", "/v1/plans/p", {"waves": [{"name": "all", "percent": 100, "bake_s": 0}]})
    h.check(st == 200 and b["version"] == 1, "same plan: %s %s" % (st, b))
    h.check(len(audits(s, "plan.set")) == before, "an identical plan is not audited")
    st, b = s.api("PUT", "/v1/plans/p", {"waves": [{"name": "all", "percent": 100,
                                                    "bake_s": 600}]})
    h.check(st == 200 and b["version"] == 2, "plan v2: %s %s" % (st, b))
    a = audits(s, "plan.set")
    h.check(len(a) == before + 1 and json.loads(a[-1]["after"])["version"] == 2
            and json.loads(a[-1]["before"])["version"] == 1, "plan audit %s" % a[-1])
    st, b = s.api("GET", "/v1/plans/p/versions")
    h.check(st == 200 and [v["number"] for v in b["versions"]] == [1, 2]
            and b["versions"][1]["plan"]["waves"][0]["bake_s"] == 600, "plan versions: %s" % b)
    h.check(s.api("GET", "/v1/plans/nosuch/versions")[0] == 404, "no such plan")
    r = s.cli("plan", "versions", "p")
    h.check(r.returncode == 0 and len(r.stdout.splitlines()) == 3, "cli plan versions %s"
            % r.stdout)
    # a rollout checks the version against the current contract (I1): loosen it
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2, "reason": "go"})
    h.check(st == 422 and "violates its contract" in b["error"]["message"],
            "rollout under contract 4: %s %s" % (st, b))
    st, b = s.api("PUT", "/v1/configs/app/contract", {"contract": contract(10), "reason": "room"})
    h.check(st == 200 and b["contract_version"] == 5, "v5: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 2, "reason": "go"})
    h.check(st == 201 and b["plan_version"] == 2 and b["plan"] == "p", "rollout %s %s" % (st, b))
    rid = b["id"]
    r = s.cli("rollout", "status", str(rid))
    h.check(r.returncode == 0 and "p version 2" in r.stdout, "cli status: %s" % r.stdout)
    n += 1

    # a restart keeps everything
    s.restart()
    st, b = s.api("GET", "/v1/configs/app/contracts")
    h.check([c["number"] for c in b["contracts"]] == [1, 2, 3, 4, 5], "after restart %s" % b)
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(b["plan_version"] == 2, "plan version after restart %s" % b)
    n += 1
    h.check(h.audit_verify(h.audit_all(s)) is None, "audit chain verifies")
    token = s.admin_token
    src = s.data_dir


def cg(*args):
    return subprocess.run([h.SERVER_BIN] + list(args), capture_output=True, text=True, timeout=120)


def load_copy(dump, name):
    d2 = os.path.join(tmp, name)
    os.makedirs(d2)
    shutil.copy(os.path.join(src, "signing.key"), d2)
    r = cg("load", "--data", d2, "--in", dump)
    h.check(r.returncode == 0, "load %s: %r" % (name, r.stderr))
    open(os.path.join(d2, "admin.token"), "w").write(token)
    return d2


# dump and load: every contract and plan version, the rollout's plan version
tmp = tempfile.mkdtemp(prefix="cgobjver.")
try:
    dump = os.path.join(tmp, "d.jsonl")
    r = cg("dump", "--data", src, "--out", dump)
    h.check(r.returncode == 0, "dump: %r" % r.stderr)
    rows = [json.loads(l) for l in open(dump).read().splitlines()]
    tables = {o.get("t") for o in rows}
    h.check({"contract_versions", "plan_versions"} <= tables, "dumped tables %s" % tables)
    with h.Server(data_dir=load_copy(dump, "new"), keep=True) as s2:
        st, b = s2.api("GET", "/v1/configs/app/contracts")
        h.check([c["number"] for c in b["contracts"]] == [1, 2, 3, 4, 5]
                and b["contracts"][1]["forced"], "loaded contracts %s" % b)
        st, b = s2.api("GET", "/v1/plans/p/versions")
        h.check([v["number"] for v in b["versions"]] == [1, 2], "loaded plan versions %s" % b)
        st, b = s2.api("GET", "/v1/rollouts/%d" % rid)
        h.check(b["plan_version"] == 2, "loaded rollout %s" % b)
    n += 1
    # a dump from before: no version tables, no new columns
    old, dropped = [], 0
    for o in rows:
        if o.get("t") in ("contract_versions", "plan_versions"):
            dropped += 1
            continue
        if "end" in o:
            o["end"]["rows"] -= dropped
        if o.get("t") in ("configs", "versions"):
            o["r"].pop("contract_version", None)
        if o.get("t") == "plans":
            o["r"].pop("version", None)
        if o.get("t") == "rollouts":
            o["r"].pop("plan_version", None)
        old.append(o)
    olddump = os.path.join(tmp, "old.jsonl")
    open(olddump, "w").write("\n".join(json.dumps(o) for o in old) + "\n")
    with h.Server(data_dir=load_copy(olddump, "old"), keep=True) as s3:
        st, b = s3.api("GET", "/v1/configs/app/contracts")
        h.check([c["number"] for c in b["contracts"]] == [1], "backfilled %s" % b)
        st, b = s3.api("GET", "/v1/configs/app")
        h.check(b["contract_version"] == 1 and b["contract"] == contract(10),
                "old dump config %s" % b)
        st, b = s3.api("GET", "/v1/plans/p/versions")
        h.check([v["number"] for v in b["versions"]] == [1], "backfilled plan %s" % b)
        st, b = s3.api("GET", "/v1/configs/app/versions/1")
        h.check(b["contract_version"] == 0, "old versions: contract version unknown %s" % b)
    n += 1
finally:
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(src, ignore_errors=True)
h.done("object-versions", n)
