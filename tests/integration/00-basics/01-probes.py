# SPDX-License-Identifier: MIT
"""Probes, unknown routes, wrong methods, HEAD."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

with h.Server() as s:
    st, b = s.api("GET", "/healthz", token=None)
    h.check(st == 200 and b["status"] == "ok", "healthz: %s %s" % (st, b))
    st, b = s.api("GET", "/readyz", token=None)
    h.check(st == 200 and b["status"] == "ready", "readyz: %s %s" % (st, b))
    st, b = s.api("GET", "/nope")
    h.check(st == 404 and b["error"]["code"] == "not_found", "404: %s %s" % (st, b))
    st, hd, _ = s.request("PATCH", "/v1/cells")
    h.check(st == 405 and "GET" in hd.get("allow", "") and "POST" in hd["allow"], "405: %s %s" % (st, hd))
    st, hd, data = s.request("HEAD", "/healthz", token=None)
    h.check(st == 200 and data == b"", "HEAD: %s" % st)
    st, b = s.api("GET", "/v1/whoami")
    h.check(st == 200 and b["role"] == "admin" and b["name"] == "admin", "whoami: %s" % b)
    # every error body has the documented shape
    for path in ["/v1/cells/BAD!", "/v1/configs/nope", "/v1/configs/nope/versions/0"]:
        st, b = s.api("GET", path)
        h.check(400 <= st < 500 and set(b["error"]) == {"code", "message", "details"},
                "error shape for %s: %s %s" % (path, st, b))
h.done("probes", 8)
