# SPDX-License-Identifier: MIT
"""Finding 2 of the security probe, "approvals can be bypassed": a deployer
could PUT a plan without approval steps (or edit the config's own plan)
and start a rollout with it, although the config's plan, set by an admin,
requires approval. Now each config has a policy (docs/policies.md) that
plans cannot weaken, set by admins and enforced at rollout start and at
every step:

- a rollout with a weaker plan is refused (403 policy_violation) naming
  every rule it breaks: allowed_plans, approvals, min_waves, min_bake_s,
  max_first_wave_cells, required_gates, on_gate_failure; editing an allowed
  plan to drop its approval does not get around it;
- only admins set or clear a policy; both are audited with the rules;
- a policy tightened while a rollout runs holds it before its next step
  ("held", naming the rule), and it goes on when the policy allows again;
- the policy's deny windows hold steps like a plan's;
- approvals.approvers: 2 needs two distinct approvers (not the author);
- direct_assign: an unproven version cannot be assigned by hand;
- an invalid policy is refused with JSON pointers; the CLI shows, sets and
  clears policies."""
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

SLOW = 3 if h.SANITIZED else 1
CELLS = [("c1", "r1", "z1"), ("c2", "r1", "z2"), ("c3", "r2", "z3"), ("c4", "r2", "z4")]
n = 0


class Fleet(threading.Thread):
    """One healthy host per cell reporting its cell's assignment."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/web/assignments")
                for a in (b or {}).get("assignments", []) if st == 200 else []:
                    self.seq += 1
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + a["cell"], "cell": a["cell"], "seq": self.seq,
                        "window_ms": 150,
                        "configs": [{"config": "web", "version": a["version"],
                                     "generation": a["generation"], "outcome": "applied",
                                     "lkg_version": a["version"],
                                     "lkg_generation": a["generation"]}],
                        "health": {"requests": 40, "errors": 0}})
            except OSError:
                pass
            self.stop.wait(0.15)


def token(s, name, role):
    st, b = s.api("POST", "/v1/tokens", {"name": name, "role": role})
    h.check(st == 201, "token %s: %s %s" % (name, st, b))
    return b["token"]


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "status %s %s" % (st, b))
    return b


def wait_for(s, rid, pred, what, timeout=30 * SLOW):
    end = time.time() + timeout
    b = None
    while time.time() < end:
        b = status(s, rid)
        if pred(b):
            return b
        time.sleep(0.1)
    h.fail("timed out waiting for %s; last status %s" % (what, json.dumps(b)[:2000]))


def refused(st, b, rules, what):
    """A 403 policy_violation whose message names every rule in 'rules'."""
    h.check(st == 403 and b["error"]["code"] == "policy_violation",
            "%s: want 403 policy_violation, got %s %s" % (what, st, b))
    for r in rules:
        h.check("rule %s:" % r in b["error"]["message"], "%s: %r does not name rule %s"
                % (what, b["error"]["message"], r))


SAFE = {"waves": [{"name": "canary", "cells": 1, "bake_s": 1, "min_requests": 10},
                  {"name": "rest", "percent": 100, "bake_s": 1, "approval": True}],
        "gates": {"error_rate": {"max": 0.05, "max_ratio": 2.0}}}
YOLO = {"waves": [{"name": "all", "percent": 100, "bake_s": 0}]}
POLICY = {"allowed_plans": ["safe"], "min_waves": 2, "min_bake_s": 1,
          "max_first_wave_cells": 1, "approvals": {"waves": ["last"]},
          "required_gates": ["error_rate"], "on_gate_failure": "rollback"}

with h.Server(extra_args=["--tick-ms", "100"]) as s:
    for c, reg, z in CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})[0] == 201, c)
    h.check(s.api("PUT", "/v1/plans/safe", SAFE)[0] == 201, "plan safe")
    h.check(s.api("POST", "/v1/configs", {"name": "web", "kind": "config", "plan": "safe",
                                          "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    for k in (60, 62, 64):
        st, _, b = s.request("POST", "/v1/configs/web/versions?message=v",
                             json.dumps(h.features(k)))
        h.check(st == 201, "publish %s" % b)
    dep = token(s, "ci", "deployer")
    appr1 = token(s, "alice", "approver")
    appr2 = token(s, "bob", "approver")
    st, _ = s.api("POST", "/v1/configs/web/assign",
                  {"version": 1, "cells": [c for c, _, _ in CELLS], "force": True,
                   "reason": "baseline"})
    h.check(st in (200, 201), "baseline assign %s" % st)

    # only admins set a policy; a deployer cannot, nor clear one
    st, b = s.api("PUT", "/v1/configs/web/policy?message=prod+rules", POLICY, token=dep)
    h.check(st == 403, "deployer sets a policy: %s %s" % (st, b)); n += 1
    st, b = s.api("PUT", "/v1/configs/web/policy?message=prod+rules", POLICY)
    h.check(st == 200 and b["policy"]["allowed_plans"] == ["safe"]
            and b["policy"]["approvals"] == {"waves": ["last"], "approvers": 1}
            and b["policy"]["direct_assign"] == "proven", "set policy: %s %s" % (st, b)); n += 1
    st, b = s.api("DELETE", "/v1/configs/web/policy", token=dep)
    h.check(st == 403, "deployer clears the policy: %s" % st); n += 1

    # the bypass of the finding: a deployer's own plan without approvals
    h.check(s.api("PUT", "/v1/plans/yolo", YOLO, token=dep)[0] == 201, "deployer plan yolo")
    st, b = s.api("POST", "/v1/rollouts", {"config": "web", "version": 2, "plan": "yolo",
                                           "reason": "ship"}, token=dep)
    refused(st, b, ["allowed_plans", "min_waves", "approvals", "required_gates",
                    "max_first_wave_cells"], "rollout with plan yolo"); n += 1
    # ... or editing the allowed plan itself to drop its approval
    weak = json.loads(json.dumps(SAFE))
    del weak["waves"][1]["approval"]
    weak["on_gate_failure"] = "halt"
    h.check(s.api("PUT", "/v1/plans/safe", weak, token=dep)[0] == 200, "deployer edits safe")
    st, b = s.api("POST", "/v1/rollouts", {"config": "web", "version": 2, "reason": "ship"},
                  token=dep)
    refused(st, b, ["approvals", "on_gate_failure"], "rollout with the weakened plan")
    h.check("allowed_plans" not in b["error"]["message"], "%s" % b); n += 1
    # a plan with a short bake
    short = json.loads(json.dumps(SAFE))
    short["waves"][0]["bake_s"] = 0
    h.check(s.api("PUT", "/v1/plans/safe", short, token=dep)[0] == 200, "short bake")
    st, b = s.api("POST", "/v1/rollouts", {"config": "web", "version": 2, "reason": "ship"},
                  token=dep)
    refused(st, b, ["min_bake_s"], "rollout with a 0 s canary"); n += 1
    h.check(s.api("PUT", "/v1/plans/safe", SAFE)[0] == 200, "plan safe restored")

    # assigning an unproven version by hand is refused (direct_assign: proven)
    st, b = s.api("POST", "/v1/configs/web/assign",
                  {"version": 2, "cells": ["c1"], "force": True, "reason": "sneak"}, token=dep)
    refused(st, b, ["direct_assign"], "assign of unproven version 2"); n += 1

    # an invalid policy: every problem with its pointer, nothing stored
    st, b = s.api("PUT", "/v1/configs/web/policy",
                  {"min_waves": 0, "approvals": {"waves": ["third"]}, "skip_gates": True,
                   "deny": [{"weekly": "Fri 16:00-Mon 08:00", "tz": "Mars/Olympus"}]})
    ptrs = sorted(e["pointer"] for e in (b or {}).get("error", {}).get("details", {})
                  .get("errors", []))
    h.check(st == 422 and ptrs == ["/approvals/waves/0", "/deny/0/tz", "/min_waves",
                                   "/skip_gates"], "invalid policy: %s %s" % (st, b)); n += 1
    st, b = s.api("GET", "/v1/configs/web/policy", token=dep)
    h.check(st == 200 and b["policy"]["min_waves"] == 2, "policy unchanged: %s" % b); n += 1

    # two approvers; a policy tightened mid-rollout holds the next step
    pol2 = dict(POLICY, approvals={"waves": ["last"], "approvers": 2})
    h.check(s.api("PUT", "/v1/configs/web/policy?message=two", pol2)[0] == 200, "approvers 2")
    fleet = Fleet(s)
    fleet.start()
    try:
        st, b = s.api("POST", "/v1/rollouts", {"config": "web", "version": 2,
                                               "reason": "ship v2"}, token=dep)
        h.check(st == 201, "compliant rollout: %s %s" % (st, b))
        rid = b["id"]
        wait_for(s, rid, lambda b: b["step_state"] == "bake", "the canary to bake")
        tight = dict(pol2, min_bake_s=3600)
        h.check(s.api("PUT", "/v1/configs/web/policy?message=tighter", tight)[0] == 200, "tight")
        b = wait_for(s, rid, lambda b: "rule min_bake_s" in (b.get("held") or ""),
                     "the rollout to be held by the tightened policy")
        h.check(b["state"] == "running" and b["step"] == 1, "held before step 1: %s"
                % json.dumps(b)[:800])
        h.check(any(e["kind"] == "held" and "min_bake_s" in e["detail"]["reason"]
                    for e in b["events"]), "held event"); n += 1
        time.sleep(1.0 * SLOW)
        h.check(status(s, rid)["step"] == 1 and
                status(s, rid)["state"] == "running", "still held"); n += 1
        h.check(s.api("PUT", "/v1/configs/web/policy?message=back", pol2)[0] == 200, "back")
        b = wait_for(s, rid, lambda b: b["state"] == "waiting_approval",
                     "the last wave to wait for approval")
        # the author cannot approve; alice can, once; bob completes it
        st, b = s.api("POST", "/v1/rollouts/%d/approve" % rid, {"reason": "me"}, token=dep)
        h.check(st == 403, "author approves: %s" % st)
        st, b = s.api("POST", "/v1/rollouts/%d/approve" % rid, {"reason": "ok"}, token=appr1)
        h.check(st == 200, "alice approves: %s %s" % (st, b))
        b = status(s, rid)
        h.check(b["state"] == "waiting_approval", "one of two approvals: %s" % b["state"])
        st, b = s.api("POST", "/v1/rollouts/%d/approve" % rid, {"reason": "ok"}, token=appr1)
        h.check(st == 409 and "already" in b["error"]["message"], "alice twice: %s %s"
                % (st, b)); n += 1
        st, b = s.api("POST", "/v1/rollouts/%d/approve" % rid, {"reason": "ok"}, token=appr2)
        h.check(st == 200, "bob approves: %s %s" % (st, b))
        b = wait_for(s, rid, lambda b: b["state"] == "completed", "completion")
        ev = [e for e in b["events"] if e["kind"] == "approve"]
        h.check([e["detail"].get("approvals") for e in ev] == [1, 2]
                and ev[-1]["detail"].get("approvals_needed") == 2, "approve events %s" % ev); n += 1

        # version 2 completed: proven, so assigning it by hand is allowed now
        st, b = s.api("POST", "/v1/configs/web/assign",
                      {"version": 2, "cells": ["c1"], "force": True, "reason": "re-pin"},
                      token=dep)
        h.check(st in (200, 201), "assign of proven version 2: %s %s" % (st, b)); n += 1

        # a policy deny window holds the next step like a plan's
        deny = dict(pol2, deny=[{"from": "2020-01-01T00:00:00Z", "to": "2099-01-01T00:00:00Z",
                                 "reason": "freeze"}])
        h.check(s.api("PUT", "/v1/configs/web/policy?message=freeze", deny)[0] == 200, "deny")
        st, b = s.api("POST", "/v1/rollouts", {"config": "web", "version": 3,
                                               "reason": "ship v3"}, token=dep)
        h.check(st == 201, "rollout v3 starts (windows hold steps, not starts): %s" % st)
        rid = b["id"]
        b = wait_for(s, rid, lambda b: "policy deny window /deny/0" in (b.get("held") or ""),
                     "the freeze to hold it")
        h.check(b["step"] == 0 and "freeze" in b["held"], "held at step 0: %s" % b["held"]); n += 1
        h.check(s.api("POST", "/v1/rollouts/%d/abort" % rid, {"reason": "x"}, token=dep)[0]
                == 200, "abort is always allowed")
    finally:
        fleet.stop.set()
        fleet.join()

    # audit: set and clear, with the rules and the reason
    h.check(s.api("DELETE", "/v1/configs/web/policy?message=done")[0] == 200, "clear")
    st, b = s.api("DELETE", "/v1/configs/web/policy?message=again")
    h.check(st == 404, "clear without a policy: %s" % st)
    recs = [r for r in h.audit_all(s) if r["object"] == "config/web"
            and r["action"] in ("config.set_policy", "config.clear_policy")]
    h.check([r["action"] for r in recs][:1] == ["config.set_policy"]
            and recs[-1]["action"] == "config.clear_policy"
            and recs[0]["reason"] == "prod rules"
            and json.loads(recs[0]["after"])["policy"]["allowed_plans"] == ["safe"]
            and json.loads(recs[-1]["after"]) == {"policy": None}, "audit %s" % recs); n += 1

    # CLI: set-policy (needs -m), policy, clear-policy
    p = h.write(s.data_dir, "policy.json", POLICY)
    r = s.cli("config", "set-policy", "web", p)
    h.check(r.returncode == 2 and "-m" in r.stderr, "set-policy without -m: %s" % r.stderr)
    r = s.cli("config", "set-policy", "web", p, "-m", "cli")
    h.check(r.returncode == 0 and "policy set" in r.stdout, "cli set: %s %s" % (r.stdout, r.stderr))
    r = s.cli("config", "policy", "web")
    h.check(r.returncode == 0 and '"allowed_plans"' in r.stdout and "updated by:" in r.stdout,
            "cli show: %s %s" % (r.stdout, r.stderr))
    r = s.cli("config", "set-policy", "web", p, "-m", "cli", token=dep)
    h.check(r.returncode != 0 and "may not" in r.stderr, "cli set as deployer: %s" % r.stderr)
    r = s.cli("config", "clear-policy", "web", "-m", "cli")
    h.check(r.returncode == 0, "cli clear: %s" % r.stderr)
    r = s.cli("config", "policy", "web")
    h.check(r.returncode == 0 and "has no policy" in r.stdout, "cli show none: %s" % r.stdout)
    n += 1

h.done("02-approval-bypass", n)
