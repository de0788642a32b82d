# SPDX-License-Identifier: MIT
"""The fleet changes (docs/cells.md): a cell's labels are updated
(`cell_labels_update`); a config's scope selects its cells and a rollout,
its waves and "100%" mean those cells only, a host outside never receives
it and an assignment by hand outside is refused (`scope_limits_rollout`);
a drained cell leaves every wave, a rollout under way re-plans without it
and assignments to it are refused (`drain`); a step whose cells have no
host passes unbaked with a note, unless the plan says require_hosts
(`empty_cells_skipped`); a cell is removed only when drained and nothing
refers to it, each reference named (`remove_refused_then_done`); every
change is audited, and the audit chain verifies. Synthetic reports from
one healthy host per populated cell drive the gates."""
import json, os, re, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
# region, zone, labels; "-e" cells have no host
CELLS = [("eu-a-1", "eu", "eu-a", {"tier": "web"}), ("eu-a-2", "eu", "eu-a", {"tier": "db"}),
         ("eu-b-1", "eu", "eu-b", {"tier": "web"}), ("eu-b-e", "eu", "eu-b", {"tier": "web"}),
         ("us-a-1", "us", "us-a", {"tier": "web"}), ("us-b-1", "us", "us-b", {"tier": "web"})]
POPULATED = [c[0] for c in CELLS if not c[0].endswith("-e")]


class Fleet(threading.Thread):
    """One host per populated cell, every 50 ms: the cell's assignments of
    every config as applied, healthy traffic."""

    def __init__(self, s, configs):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq, self.configs = s, threading.Event(), 0, configs

    def run(self):
        while not self.stop.is_set():
            try:
                cur = {}
                for cfg in self.configs:
                    st, b = self.s.api("GET", "/v1/configs/%s/assignments" % cfg)
                    for a in b["assignments"] if st == 200 else []:
                        cur.setdefault(a["cell"], []).append(
                            {"config": cfg, "version": a["version"],
                             "generation": a["generation"], "outcome": "applied",
                             "lkg_version": a["version"], "lkg_generation": a["generation"]})
                self.seq += 1
                for c in POPULATED:
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + c, "cell": c, "seq": self.seq, "window_ms": 50,
                        "configs": cur.get(c, []), "health": {"requests": 40, "errors": 0}})
            except (OSError, TypeError, AttributeError, KeyError):
                pass
            self.stop.wait(0.05)


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "status %s %s" % (st, b))
    return b


def wait_state(s, rid, states, timeout=40):
    end = time.time() + timeout * SLOW
    b = None
    while time.time() < end:
        b = status(s, rid)
        if b["state"] in states:
            return b
        time.sleep(0.1)
    h.fail("rollout %d: state %s, want %s; events %s" % (rid, b and b["state"], states,
                                                         json.dumps(b and b["events"])[-2000:]))


def assigned(s, cfg):
    st, b = s.api("GET", "/v1/configs/%s/assignments" % cfg)
    h.check(st == 200, "assignments %s" % b)
    return {a["cell"]: a["version"] for a in b["assignments"]}


def audit_actions(s):
    return [r["action"] for r in h.audit_all(s)]


def start(s, cfg, version, plan, msg="go"):
    st, b = s.api("POST", "/v1/rollouts", {"config": cfg, "version": version, "plan": plan,
                                            "reason": msg})
    h.check(st == 201, "start %s %s" % (st, b))
    return b["id"]


def steps_cells(b):
    return [c for step in b["steps"] for c in step["cells"]]


with h.Server(extra_args=["--tick-ms", "50", "--host-stale", "2"]) as s:
    for c, reg, z, lab in CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z,
                                            "labels": lab})[0] == 201, c)
    for cfg in ("app", "web"):
        h.check(s.api("POST", "/v1/configs", {"name": cfg, "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})[0] == 201, cfg)
        for k in (60, 62, 64):
            st, _, b = s.request("POST", "/v1/configs/%s/versions?message=v" % cfg,
                                 json.dumps(h.features(k)))
            h.check(st == 201, "publish %s" % b)
    fast = {"waves": [{"name": "one", "cells": 1, "bake_s": 1, "min_requests": 10},
                      {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 10}],
            "max_zones_per_region": 10, "first_wave_regions": 2,
            "gates": {"error_rate": {"max": 0.05}}}
    h.check(s.api("PUT", "/v1/plans/fast", fast)[0] == 201, "plan")
    strict = dict(fast, require_hosts=True, stuck_timeout_s=3600)
    h.check(s.api("PUT", "/v1/plans/strict", strict)[0] == 201, "plan strict")

    # --- cell_labels_update
    st, b = s.api("PATCH", "/v1/cells/eu-a-2", {"labels": {"tier": "web", "disk": "ssd"},
                                                "message": "moved to web"})
    h.check(st == 200 and b["labels"] == {"tier": "web", "disk": "ssd"} and b["changed"] is True
            and b["drained"] is False, "labels %s %s" % (st, b)); n += 1
    st, b = s.api("PATCH", "/v1/cells/eu-a-2", {"labels": {"tier": "web", "disk": "ssd"}})
    h.check(st == 200 and b["changed"] is False, "same labels again %s %s" % (st, b)); n += 1
    for bad, want in (({"labels": {"Bad Key": "x"}}, 400), ({"labels": "x"}, 400),
                      ({"colour": "red"}, 400), ({}, 400), ({"drained": "yes"}, 400)):
        st, b = s.api("PATCH", "/v1/cells/eu-a-2", bad)
        h.check(st == want, "PATCH %s: %s %s" % (bad, st, b)); n += 1
    h.check(s.api("PATCH", "/v1/cells/nope", {"labels": {}})[0] == 404, "unknown cell"); n += 1
    st, rd = s.api("POST", "/v1/tokens", {"name": "rd", "role": "reader"})
    st, b = s.api("PATCH", "/v1/cells/eu-a-2", {"labels": {}}, token=rd["token"])
    h.check(st == 403, "reader may not change cells: %s" % st); n += 1
    h.check(audit_actions(s).count("cell.update") == 1, "one cell.update record"); n += 1

    # --- scope_limits_rollout: "web" goes to tier=web cells of eu only
    for bad in ({"regions": "eu"}, {"planets": ["x"]}, {"zones": ["eu/"]}, {"labels": {"t": 1}},
                {"cells": ["Bad Cell"]}):
        st, b = s.api("PUT", "/v1/configs/web/scope", bad)
        h.check(st == 400, "scope %s: %s %s" % (bad, st, b)); n += 1
    h.check(s.api("PUT", "/v1/configs/nope/scope", {"regions": ["eu"]})[0] == 404, "no config")
    st, b = s.api("PUT", "/v1/configs/web/scope?message=eu+web",
                  {"regions": ["eu", "eu"], "labels": {"tier": "web"}})
    h.check(st == 200 and b["scope"] == {"regions": ["eu"], "labels": {"tier": "web"}}
            and b["cells"] == ["eu-a-1", "eu-a-2", "eu-b-1", "eu-b-e"] and b["outside"] == [],
            "scope view %s %s" % (st, b)); n += 1
    st, b = s.api("GET", "/v1/configs/web/scope")
    h.check(st == 200 and b["cells"] == ["eu-a-1", "eu-a-2", "eu-b-1", "eu-b-e"], "get %s" % b)
    st, b = s.api("POST", "/v1/configs/web/assign", {"version": 1, "cells": ["us-a-1"],
                                                    "expect_generation": 0})
    h.check(st == 409 and "outside the scope" in json.dumps(b), "assign outside %s %s" % (st, b))
    n += 1
    h.check("us-a-1" not in assigned(s, "web"), "nothing assigned outside"); n += 1

    fleet = Fleet(s, ["app", "web"])
    fleet.start()
    try:
        rid = start(s, "web", 2, "fast")
        b = wait_state(s, rid, ("completed", "halted", "rolled_back"))
        h.check(b["state"] == "completed", "web rollout: %s %s" % (b["state"], b["events"][-3:]))
        h.check(sorted(steps_cells(b)) == ["eu-a-1", "eu-a-2", "eu-b-1", "eu-b-e"],
                "steps over the scope only: %s" % b["steps"]); n += 1
        a = assigned(s, "web")
        h.check(sorted(a) == ["eu-a-1", "eu-a-2", "eu-b-1", "eu-b-e"]
                and set(a.values()) == {2}, "100%% of web is its cells: %s" % a); n += 1
        # --- empty_cells_skipped: eu-b-e has no host; its step passed unbaked
        notes = [e for e in b["events"] if e["kind"] == "step.no_hosts"]
        h.check(any("eu-b-e" in e["detail"]["cells"] for e in notes)
                or all("eu-b-e" not in st_["cells"] or len(st_["cells"]) > 1 for st_ in b["steps"]),
                "a no-hosts step is noted: %s" % notes); n += 1
        st, hb = s.api("GET", "/v1/hosts?config=web")
        got = sorted(x["cell"] for x in hb.get("hosts", []))
        h.check(all(c.startswith("eu") for c in got), "hosts outside never got web: %s" % got)
        n += 1

        # an empty-cells-only rollout: passes with notes; require_hosts holds it
        st, b = s.api("PUT", "/v1/configs/app/scope", {"cells": ["eu-b-e"]})
        h.check(st == 200 and b["cells"] == ["eu-b-e"], "app scoped to the empty cell %s" % b)
        rid = start(s, "app", 1, "fast")
        b = wait_state(s, rid, ("completed", "halted", "rolled_back"))
        h.check(b["state"] == "completed" and
                [e for e in b["events"] if e["kind"] == "step.no_hosts"],
                "empty cell skipped with a note: %s %s" % (b["state"], b["events"][-4:])); n += 1
        rid = start(s, "app", 2, "strict")
        time.sleep(3 * SLOW)
        b = status(s, rid)
        h.check(b["state"] == "running" and b["step"] == 0
                and not [e for e in b["events"] if e["kind"] == "step.no_hosts"],
                "require_hosts: the step waits: %s %s" % (b["state"], b["events"][-3:])); n += 1
        h.check(s.api("POST", "/v1/rollouts/%d/abort" % rid, {"reason": "done"})[0] == 200, "abort")

        # --- drain: app over every cell again; eu-a-2 drained while the
        # first wave bakes; the rollout re-plans without it
        st, b = s.api("DELETE", "/v1/configs/app/scope?message=all")
        h.check(st == 200 and b["scope"] is None and len(b["cells"]) == 6, "unscoped %s" % b)
        slow = {"waves": [{"name": "one", "cells": 1, "bake_s": 3, "min_requests": 10},
                          {"name": "rest", "percent": 100, "bake_s": 1, "min_requests": 10}],
                "max_zones_per_region": 10, "first_wave_regions": 2}
        h.check(s.api("PUT", "/v1/plans/slow", slow)[0] == 201, "plan slow")
        rid = start(s, "app", 3, "slow")
        b = status(s, rid)
        first = b["steps"][0]["cells"][0]
        victim = "eu-a-2" if first != "eu-a-2" else "us-b-1"
        st, c = s.api("PATCH", "/v1/cells/%s" % victim, {"drained": True, "message": "retire"})
        h.check(st == 200 and c["drained"] is True and c["drained_at"], "drain %s %s" % (st, c))
        n += 1
        b = wait_state(s, rid, ("completed", "halted", "rolled_back"))
        a = assigned(s, "app")
        h.check(b["state"] == "completed" and a.get(victim) != 3 and
                all(v == 3 for k, v in a.items() if k != victim),
                "drained %s kept its version, the rest got 3: %s %s" % (victim, a, b["state"]))
        n += 1
        st, r = s.api("POST", "/v1/configs/app/assign", {"version": 3, "cells": [victim],
                                                        "expect_generation": 0})
        h.check(st == 409 and "drained" in json.dumps(r), "assign to drained %s %s" % (st, r))
        n += 1
        st, pv = s.api("GET", "/v1/plans/fast/preview?config=app")
        h.check(st == 200 and victim not in json.dumps(pv["steps"]), "preview skips drained")
        n += 1
    finally:
        fleet.stop.set()
        fleet.join()

    # --- remove_refused_then_done
    st, b = s.api("DELETE", "/v1/cells/us-a-1?message=x")
    h.check(st == 409 and "not drained" in json.dumps(b), "remove undrained %s %s" % (st, b))
    n += 1
    h.check(s.api("PUT", "/v1/configs/web/scope", {"cells": ["eu-b-e", "eu-a-1"]})[0] == 200, "s")
    h.check(s.api("PATCH", "/v1/cells/eu-b-e", {"drained": True})[0] == 200, "drain eu-b-e")
    st, b = s.api("DELETE", "/v1/cells/eu-b-e")
    h.check(st == 409 and "scope of config web" in b["error"]["message"],
            "scope names it: %s %s" % (st, b)); n += 1
    h.check(s.api("PUT", "/v1/configs/web/scope", {"cells": ["eu-a-1"]})[0] == 200, "narrow")
    st, tok = s.api("POST", "/v1/tokens", {"name": "agent-e", "role": "agent", "cell": "eu-b-e"})
    h.check(st == 201, "agent token %s %s" % (st, tok))
    st, b = s.api("DELETE", "/v1/cells/eu-b-e")
    h.check(st == 409 and "agent token" in b["error"]["message"], "token %s %s" % (st, b)); n += 1
    h.check(s.api("DELETE", "/v1/tokens/%d" % tok["id"])[0] == 204, "revoke")
    st, b = s.api("DELETE", "/v1/cells/%s" % victim)
    h.check(st == 409 and "report" in b["error"]["message"], "hosts report %s %s" % (st, b)); n += 1
    st, b = s.api("DELETE", "/v1/cells/eu-b-e?message=decommissioned")
    h.check(st == 200 and b["removed"] is True, "removed %s %s" % (st, b)); n += 1
    h.check(s.api("GET", "/v1/cells/eu-b-e")[0] == 404, "gone"); n += 1
    h.check("eu-b-e" not in assigned(s, "web") and "eu-b-e" not in assigned(s, "app"),
            "its assignments went with it"); n += 1
    acts = audit_actions(s)
    for want in ("cell.update", "cell.drain", "cell.remove", "config.set_scope"):
        h.check(want in acts, "audit has %s" % want); n += 1
    bad = h.audit_verify(h.audit_all(s))
    h.check(bad is None, "the audit chain breaks at %s" % bad); n += 1

    # --- the CLI: cell label/drain/undrain/remove, config set-scope/scope
    def cli(*args, want=0):
        r = s.cli(*args)
        h.check(r.returncode == want, "cellgate %s: exit %d, want %d\n%s%s"
                % (" ".join(args), r.returncode, want, r.stdout, r.stderr))
        return r
    r = cli("cell", "label", "us-b-1", "--label", "tier=api", "--label", "disk=hdd", "-m", "re")
    h.check("changed cell us-b-1 labels:" in r.stdout and "tier=api" in r.stdout, r.stdout); n += 1
    r = cli("cell", "drain", "us-b-1", want=2)
    h.check("-m REASON" in r.stderr, r.stderr); n += 1
    r = cli("cell", "drain", "us-b-1", "-m", "maintenance")
    h.check("us-b-1 drained" in r.stdout, r.stdout); n += 1
    r = cli("cell", "show", "us-b-1")
    h.check("drained:" in r.stdout and "drained:    no" not in r.stdout, r.stdout); n += 1
    r = cli("config", "set-scope", "app", "--zone", "us/us-a", "--zone", "eu-a", "-m", "narrow")
    h.check("scope {\"zones\":[\"eu-a\",\"us/us-a\"]}" in r.stdout
            and "cells in its fleet (3): eu-a-1 eu-a-2 us-a-1" in r.stdout
            and "outside, still assigned" in r.stdout, r.stdout); n += 1
    r = cli("config", "scope", "app")
    h.check("cells in its fleet (3)" in r.stdout, r.stdout); n += 1
    cli("config", "set-scope", "app", "-m", "x", want=2)
    r = cli("config", "set-scope", "app", "--all", "-m", "all")
    h.check("every cell (no scope)" in r.stdout, r.stdout); n += 1
    r = cli("cell", "undrain", "us-b-1", "-m", "back")
    h.check("undrained" in r.stdout, r.stdout); n += 1
    r = cli("cell", "remove", "us-b-1", "-m", "x", want=3)
    h.check("not drained" in r.stderr, r.stderr); n += 1
    cli("cell", "add", "tmp-1", "--region", "eu", "--zone", "eu-c")
    cli("cell", "drain", "tmp-1", "-m", "never used")
    r = cli("cell", "remove", "tmp-1", "-m", "never used")
    h.check("removed cell tmp-1" in r.stdout, r.stdout); n += 1
    cli("cell", "drain", "us-b-1", "-m", "again")

    # the dashboard shows a drained cell and a config's scope
    st, hd, _ = s.request("POST", "/ui/login", body="token=" + s.admin_token, token=None,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    m = re.match(r"cg_session=([^;]*)", hd.get("set-cookie", ""))
    h.check(st == 303 and m, "dashboard login %s %s" % (st, hd))
    ui = {"Cookie": "cg_session=" + m.group(1)}
    st, _, page = s.request("GET", "/ui/cells", token=None, headers=ui)
    page = page.decode()
    row = page[page.index('data-cell="us-b-1"'):][:400]
    h.check(st == 200 and "badge-drained" in row, "the cells page: %s" % row); n += 1
    other = page[page.index('data-cell="us-a-1"'):][:400]
    h.check("badge-drained" not in other, "an undrained cell marked: %s" % other); n += 1
    st, _, page = s.request("GET", "/ui/configs/web", token=None, headers=ui)
    page = page.decode()
    dd = page[page.index('id="config-scope"'):][:200]
    h.check(st == 200 and "eu-a-1" in dd and "cells" in dd, "the config page's scope: %s" % dd)
    n += 1

    # restart: drained and scopes survive
    s.restart()
    st, c = s.api("GET", "/v1/cells/us-b-1")
    h.check(st == 200 and c["drained"] is True, "drain survives a restart %s" % c); n += 1
    st, b = s.api("GET", "/v1/configs/web/scope")
    h.check(b["scope"] == {"cells": ["eu-a-1"]}, "scope survives %s" % b); n += 1
print("ok: %d checks" % n)
