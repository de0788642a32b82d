# SPDX-License-Identifier: MIT
"""Tokens and roles: secrets shown once and stored hashed, revocation takes
effect at once (even through the server's token cache), the last admin token
cannot be revoked, roles are enforced (the route-table walk in
tests/unit/test_routes_auth.c covers every route)."""
import os, sqlite3, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
with h.Server() as s:
    st, me = s.api("GET", "/v1/whoami")
    admin_id = me["token_id"]
    # The last admin token cannot be revoked.
    st, b = s.api("DELETE", "/v1/tokens/%d" % admin_id)
    h.check(st == 409 and "last admin" in b["error"]["message"], "last admin revoke: %s %s" % (st, b)); n += 1
    st, b2 = s.api("POST", "/v1/tokens", {"name": "admin2", "role": "admin"})
    h.check(st == 201 and b2["token"].startswith("cg_"), "second admin %s" % b2)
    # Secrets are never stored: only their sha256.
    db = sqlite3.connect(os.path.join(s.data_dir, "cellgate.db"))
    rows = db.execute("SELECT * FROM tokens").fetchall()
    db.close()
    h.check(not any(b2["token"] in str(r) for r in rows), "token secret stored in clear"); n += 1
    st, lst = s.api("GET", "/v1/tokens")
    h.check(all("token" not in t and "hash" not in t for t in lst["tokens"]), "list leaks secrets %s" % lst); n += 1
    # Revocation is immediate, even right after a cached successful use.
    st, rd = s.api("POST", "/v1/tokens", {"name": "rd", "role": "reader"})
    h.check(s.api("GET", "/v1/cells", token=rd["token"])[0] == 200, "reader works")
    h.check(s.api("DELETE", "/v1/tokens/%d" % rd["id"])[0] == 204, "revoke reader")
    h.check(s.api("GET", "/v1/cells", token=rd["token"])[0] == 401, "revoked token still works"); n += 1
    h.check(s.api("DELETE", "/v1/tokens/%d" % rd["id"])[0] == 409, "double revoke")
    # The first admin can go once another exists.
    st, _ = s.api("DELETE", "/v1/tokens/%d" % admin_id, token=b2["token"])
    h.check(st == 204, "revoke first admin when a second exists: %s" % st)
    h.check(s.api("GET", "/v1/cells")[0] == 401, "old admin still works"); n += 1
    # Malformed Authorization headers.
    for hdr in ["", "Bearer", "Bearer x", "Basic abc", "Bearer " + "cg_" + "0" * 48, "bearer  " + b2["token"] + "  "]:
        st, _, _ = s.request("GET", "/v1/cells", token=None, headers={"Authorization": hdr} if hdr else {})
        want = 200 if hdr.startswith("bearer  ") else 401
        h.check(st == want, "Authorization %r: %s" % (hdr, st))
    n += 1
h.done("tokens", n)
