# SPDX-License-Identifier: MIT
"""Security finding 3, agent identity (the part about configs):

- report_for_unassigned_config_is_dropped: an agent token of cell A
  reports a last-known-good version of config Y, which is assigned only to
  cell B. The entry is dropped (counted in
  cellgate_reports_unassigned_configs_total): host views do not show it,
  and Y's version is not pinned by it, so it can still be deleted when
  nothing else references it. (Before: the report pinned the version (I3)
  and its deletion was refused.)
- assigned_configs_still_count: the same report's entry for a config that
  is assigned to cell A is kept and shown."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def metric(s, name):
    st, _, m = s.request("GET", "/metrics")
    for line in m.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no metric %s" % name)


with h.Server() as s:
    for c in ("ca", "cb"):
        st, _ = s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z-" + c})
    for cfg in ("x", "y"):
        st, _ = s.api("POST", "/v1/configs", {"name": cfg, "contract": {"schema": {"type": "object"}}})
        for v in (1, 2):
            st, _ = s.api("POST", "/v1/configs/%s/versions" % cfg, {"v": v})
            h.check(st == 201, "publish %s v%d: %s" % (cfg, v, st))
    st, _ = s.api("POST", "/v1/configs/x/assign", {"version": 2, "cells": ["ca"], "force": True})
    st, _ = s.api("POST", "/v1/configs/y/assign", {"version": 2, "cells": ["cb"], "force": True})
    h.check(st == 201, "assign y to cb: %s" % st)
    st, t = s.api("POST", "/v1/tokens", {"name": "ag-a", "role": "agent", "cell": "ca"})
    ag = t["token"]

    rep = {"host": "ha1", "cell": "ca", "seq": 1, "window_ms": 10000,
           "configs": [{"config": "x", "version": 2, "generation": 1, "outcome": "applied",
                        "lkg_version": 2, "lkg_generation": 1},
                       {"config": "y", "version": 1, "generation": 1, "outcome": "applied",
                        "lkg_version": 1, "lkg_generation": 1}],
           "health": {"requests": 10, "errors": 0}}
    st, b = s.api("POST", "/v1/agent/report", rep, token=ag)
    h.check(st == 204, "report: %s %s" % (st, b))
    st, hs = s.api("GET", "/v1/hosts?cell=ca")
    ha = [x for x in hs["hosts"] if x["host"] == "ha1"][0]
    names = sorted(c["config"] for c in ha["configs"])
    h.check(names == ["x"], "configs shown for ha1: %s" % names); n += 1
    print("assigned_configs_still_count: ok")
    h.check(metric(s, "cellgate_reports_unassigned_configs_total") == 1, "not counted"); n += 1
    st, b = s.api("DELETE", "/v1/configs/y/versions/1?reason=unused")
    h.check(st == 204, "y v1 is pinned by a report from a cell it was never assigned to: %s %s"
            % (st, b)); n += 1
    # the real pin still holds: x v2 is what ha1 runs
    st, b = s.api("DELETE", "/v1/configs/x/versions/2?reason=in-use")
    h.check(st == 409, "x v2 is in use by ha1 and assigned: %s" % st); n += 1
    print("report_for_unassigned_config_is_dropped: ok")
print("ok: %d checks" % n)
