# SPDX-License-Identifier: MIT
"""I3 for a host that has not reported yet (docs/model.md, "The I3 finding"),
end to end through the API:

- unreported_host_keeps_the_version: version 3 on cell ca at generation 2,
  host h0 has reported generation 1 only, the rollback to version 1 lands at
  generation 3. Deleting version 3 is refused (409) naming h0, the
  generation that carried it and h0's last report. h0 then reports
  generation 3 of version 1 (the same version it reported before: the new
  generation alone must be persisted), and the delete succeeds.
- forget_a_host_gone_for_good: version 2 at generation 4, the rollback at
  5; h0 never reports again and blocks the delete. DELETE
  /v1/hosts/h0?forget=1 is refused to a reader (403), a bad value is 400;
  the admin's forget is 204, audited host.forget with h0's row, h0 is gone
  from /v1/hosts, and the delete succeeds; forgetting it again is 404."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def report(s, tok, host, seq, ver, gen):
    rep = {"host": host, "cell": "ca", "seq": seq, "window_ms": 10000,
           "configs": [{"config": "x", "version": ver, "generation": gen, "outcome": "applied",
                        "lkg_version": ver, "lkg_generation": gen}],
           "health": {"requests": 10, "errors": 0}}
    st, b = s.api("POST", "/v1/agent/report", rep, token=tok)
    h.check(st == 204, "report %s: %s %s" % (host, st, b))


def assign(s, ver, expect):
    st, b = s.api("POST", "/v1/configs/x/assign",
                  {"version": ver, "cells": ["ca"], "expect_generation": expect})
    h.check(st == 201 and b["generation"] == expect + 1, "assign v%d: %s %s" % (ver, st, b))


with h.Server() as s:
    st, _ = s.api("POST", "/v1/cells", {"id": "ca", "region": "r", "zone": "z"})
    st, _ = s.api("POST", "/v1/configs", {"name": "x", "contract": {"schema": {"type": "object"}}})
    for v in range(1, 7):
        st, _ = s.api("POST", "/v1/configs/x/versions", {"v": v})
        h.check(st == 201, "publish v%d: %s" % (v, st))
    st, t = s.api("POST", "/v1/tokens", {"name": "ag", "role": "agent", "cell": "ca"})
    ag = t["token"]
    st, t = s.api("POST", "/v1/tokens", {"name": "rd", "role": "reader"})
    rd = t["token"]

    # unreported_host_keeps_the_version
    assign(s, 1, 0)
    report(s, ag, "h0", 1, 1, 1)
    report(s, ag, "h1", 1, 1, 1)
    assign(s, 3, 1)  # h0 fetches and applies generation 2; its report is late
    assign(s, 1, 2)  # the rollback
    report(s, ag, "h1", 2, 1, 3)
    st, b = s.api("DELETE", "/v1/configs/x/versions/3?reason=cleanup")
    msg = b["error"]["message"] if st == 409 else ""
    h.check(st == 409 and "host 'h0'" in msg and "generation 2 carried it" in msg and
            "last reported 1" in msg and "forget" in msg,
            "v3 may be on h0 unreported: %s %s" % (st, b)); n += 1
    report(s, ag, "h0", 2, 1, 3)  # the same version, a newer generation
    st, b = s.api("DELETE", "/v1/configs/x/versions/3?reason=cleanup")
    h.check(st == 204, "h0 reported generation 3: %s %s" % (st, b)); n += 1
    print("unreported_host_keeps_the_version: ok")

    # forget_a_host_gone_for_good
    assign(s, 2, 3)
    assign(s, 1, 4)
    report(s, ag, "h1", 3, 1, 5)
    st, b = s.api("DELETE", "/v1/configs/x/versions/2")
    h.check(st == 409 and "host 'h0'" in b["error"]["message"], "h0 blocks v2: %s %s" % (st, b)); n += 1
    st, b = s.api("DELETE", "/v1/hosts/h0?forget=1", token=rd)
    h.check(st == 403, "a reader forgot a host: %s" % st); n += 1
    st, b = s.api("DELETE", "/v1/hosts/h0?forget=2")
    h.check(st == 400, "forget=2: %s %s" % (st, b)); n += 1
    st, b = s.api("DELETE", "/v1/hosts/h0?forget=1&reason=decommissioned")
    h.check(st == 204, "forget h0: %s %s" % (st, b)); n += 1
    rec = h.audit_all(s)[-1]
    h.check(rec["action"] == "host.forget" and rec["object"] == "host/h0" and
            '"applied_generation":3' in rec["before"].replace(" ", "") and
            "token:ag" in rec["before"], "forget audited: %s" % rec); n += 1
    st, hs = s.api("GET", "/v1/hosts")
    names = sorted(x["host"] for x in hs["hosts"])
    h.check(names == ["h1"], "hosts after the forget: %s" % names); n += 1
    st, b = s.api("DELETE", "/v1/configs/x/versions/2")
    h.check(st == 204, "v2 after h0 was forgotten: %s %s" % (st, b)); n += 1
    st, b = s.api("DELETE", "/v1/hosts/h0?forget=1")
    h.check(st == 404, "forget twice: %s %s" % (st, b)); n += 1
    print("forget_a_host_gone_for_good: ok")
print("ok: %d checks" % n)
