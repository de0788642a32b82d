# SPDX-License-Identifier: MIT
"""`plan preview` for a config and version shows exactly the steps a
rollout started now runs (docs/plans.md "Preview"): on random uneven fleets
(1-3 regions, 1-4 zones each, 1-7 cells a zone, some drained, some outside
the config's scope) and random plans (cells, percent, max_zones_per_region,
first_wave_regions), the preview's steps (wave and cells, in order) equal
the started rollout's. The same with the default version (the newest) and
with the CLI. Seeded: a failure prints the seed that reproduces it."""
import json, os, random, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SEED = int(os.environ.get("CG_TEST_SEED", "20261206"))
FLEETS = 5
PLANS_PER_FLEET = 3


def random_fleet(rnd):
    cells = []
    for r in range(rnd.randint(1, 3)):
        region = "r%d" % r
        for z in range(rnd.randint(1, 4)):
            zone = "%s-z%d" % (region, z)
            for c in range(rnd.randint(1, 7)):
                cells.append(("%s-c%d" % (zone, c), region, zone,
                              {"tier": rnd.choice(["web", "db"])}))
    return cells


def random_plan(rnd, regions):
    waves = [{"name": "canary", "cells": rnd.randint(1, 3), "bake_s": 60}]
    for i, p in enumerate(sorted(rnd.sample([5, 10, 25, 50, 75], rnd.randint(0, 3)))):
        waves.append({"name": "w%d" % i, "percent": p, "bake_s": 60})
    waves.append({"name": "rest", "percent": 100, "bake_s": 60})
    return {"waves": waves, "max_zones_per_region": rnd.randint(1, 2),
            "first_wave_regions": rnd.randint(1, max(1, regions))}


def steps_of(doc):
    return [(st["wave"], list(st["cells"])) for st in doc["steps"]]


rnd = random.Random(SEED)
for f in range(FLEETS):
    cells = random_fleet(rnd)
    regions = len({c[1] for c in cells})
    with h.Server(extra_args=["--tick-ms", "3600000"]) as s:
        for c, reg, z, lab in cells:
            h.check(s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z,
                                                "labels": lab})[0] == 201, c)
        h.check(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})[0] == 201, "cfg")
        for k in (60, 62, 64):
            st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                                 json.dumps(h.features(k)))
            h.check(st == 201, "publish %s" % b)
        # some cells drained, and on odd fleets a scope by label
        for c in rnd.sample(cells, len(cells) // 6):
            h.check(s.api("PATCH", "/v1/cells/" + c[0], {"drained": True})[0] == 200, "drain")
        if f % 2:
            h.check(s.api("PUT", "/v1/configs/cfg/scope", {"labels": {"tier": "web"}})[0] == 200,
                    "scope")
        for k in range(PLANS_PER_FLEET):
            plan = random_plan(rnd, regions)
            h.check(s.api("PUT", "/v1/plans/p%d" % k, plan)[0] == 201, "plan %s" % plan)
            version = rnd.choice([0, 2, 3])  # 0: the preview's default, the newest
            q = "?config=cfg" + ("&version=%d" % version if version else "")
            st, pv = s.api("GET", "/v1/plans/p%d/preview%s" % (k, q))
            if st == 409 or (st == 422 and "cannot plan" in json.dumps(pv)):
                continue  # e.g. a scope with no cell left: no rollout either
            h.check(st == 200, "preview %s %s" % (st, pv))
            st, b = s.api("POST", "/v1/rollouts", {"config": "cfg", "version": version or 3,
                                                    "plan": "p%d" % k, "reason": "check"})
            h.check(st == 201, "start %s %s (seed %d)" % (st, b, SEED))
            st, ro = s.api("GET", "/v1/rollouts/%d" % b["id"])
            want, got = steps_of(pv), steps_of(ro)
            h.check(want == got, "seed %d fleet %d plan %s version %d: the preview\n%s\n"
                    "is not the rollout's steps\n%s" % (SEED, f, json.dumps(plan), version,
                                                        want, got)); n += 1
            if k == 0:
                r = s.cli("plan", "preview", "p0", "--config", "cfg", "--json",
                          *(["--version", str(version)] if version else []))
                h.check(r.returncode == 0 and steps_of(json.loads(r.stdout)) == want,
                        "CLI preview %s %s" % (r.stdout[:300], r.stderr)); n += 1
            h.check(s.api("POST", "/v1/rollouts/%d/abort" % b["id"],
                          {"reason": "next"})[0] == 200, "abort")
h.check(n >= FLEETS, "too few comparisons: %d" % n)
print("ok: %d checks (seed %d)" % (n, SEED))
