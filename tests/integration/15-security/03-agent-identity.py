# SPDX-License-Identifier: MIT
"""Security finding 3, agent identity:

- host_identity_belongs_to_its_first_credential: host hb1 first reports
  with an agent token of cell B; an agent token of cell A reporting as hb1
  (which would move it into cell A) is refused with 403, and so is a second
  token of cell B; an admin's DELETE /v1/hosts/hb1 (audited host.release)
  lets the other credential take it; the claim survives a restart.

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


with h.Server(keep=True) as s:
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

    # host_identity_belongs_to_its_first_credential
    st, t = s.api("POST", "/v1/tokens", {"name": "ag-b", "role": "agent", "cell": "cb"})
    agb = t["token"]
    st, t = s.api("POST", "/v1/tokens", {"name": "ag-b2", "role": "agent", "cell": "cb"})
    agb2 = t["token"]
    rb = {"host": "hb1", "cell": "cb", "seq": 1, "window_ms": 10000, "configs": [],
          "health": {"requests": 10, "errors": 0}}
    st, b = s.api("POST", "/v1/agent/report", rb, token=agb)
    h.check(st == 204, "hb1's first report: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/agent/report", dict(rb, cell="ca", seq=2), token=ag)
    h.check(st == 403 and "belongs to another agent credential" in b["error"]["message"],
            "cell A's token took hb1: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/agent/report", dict(rb, seq=3), token=agb2)
    h.check(st == 403, "another token of cell B took hb1: %s %s" % (st, b)); n += 1
    st, hs = s.api("GET", "/v1/hosts")
    cells = [x["cell"] for x in hs["hosts"] if x["host"] == "hb1"]
    h.check(cells == ["cb"], "hb1 moved: %s" % cells); n += 1
    st, b = s.api("POST", "/v1/agent/report", dict(rb, seq=4), token=agb)
    h.check(st == 204, "its own credential: %s" % st); n += 1
    s.stop()
    s.start()
    st, b = s.api("POST", "/v1/agent/report", dict(rb, cell="ca", seq=5), token=ag)
    h.check(st == 403, "after a restart cell A's token took hb1: %s" % st); n += 1
    st, b = s.api("DELETE", "/v1/hosts/hb1?reason=moved+to+ca")
    h.check(st == 204, "release: %s %s" % (st, b)); n += 1
    recs = h.audit_all(s)
    h.check(recs[-1]["action"] == "host.release" and recs[-1]["object"] == "host/hb1" and
            "token:ag-b" in recs[-1]["before"], "release audited: %s" % recs[-1]); n += 1
    st, b = s.api("POST", "/v1/agent/report", dict(rb, cell="ca", seq=6), token=ag)
    h.check(st == 204, "after the release: %s %s" % (st, b))
    st, hs = s.api("GET", "/v1/hosts")
    cells = [x["cell"] for x in hs["hosts"] if x["host"] == "hb1"]
    h.check(cells == ["ca"], "hb1 after the release: %s" % cells); n += 1
    st, b = s.api("DELETE", "/v1/hosts/hb1")
    st2, b2 = s.api("DELETE", "/v1/hosts/nobody")
    h.check(st == 204 and st2 == 404, "release twice / unknown: %s %s" % (st, st2)); n += 1
    print("host_identity_belongs_to_its_first_credential: ok")
print("ok: %d checks" % n)
