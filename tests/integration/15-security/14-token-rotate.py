# SPDX-License-Identifier: MIT
"""Token rotation with a grace period (issue "security hardening").

- self_rotation_with_grace: a CI deployer token (30-day lifetime, scoped
  to config app) rotates itself with `cellgate token rotate ID --grace
  8s`: the new secret is printed once; the successor has the same name,
  role, scope and lifetime; the old token keeps working until the
  expiry the answer named, then it is refused (401 "expired"), while the
  new one works. Audited once as token.rotate with both ids.
- grace_zero_stops_at_once: an admin rotates a reader's token with no
  grace: the old secret is refused at once (also after it was cached).
- who_may_rotate: a reader may rotate only its own token (403 for
  another's, whether or not it exists); an agent token may not call the
  route (403); an admin may rotate any token.
- refusals: a revoked, an expired and an already rotated token are
  refused with 409; an unknown id is 404; a bad grace 400.
- last_admin_rotates: the only admin token rotates itself with no grace:
  the successor is admin and works, the old one stops, and the successor
  cannot be revoked (it is the last admin token)."""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def wait_past(ms, limit_s=60):
    deadline = time.time() + limit_s
    while time.time() * 1000 < ms + 1000:
        h.check(time.time() < deadline, "waited %ds for %d" % (limit_s, ms))
        time.sleep(0.1)


def secret_of(out):
    for line in out.splitlines():
        if line.startswith("token: "):
            return line.split(": ", 1)[1].strip()
    h.fail("no secret in %r" % out)


with h.Server() as s:
    s.api("POST", "/v1/configs", {"name": "app", "contract": {"schema": {"type": "object"}}})

    # self_rotation_with_grace
    st, b = s.api("POST", "/v1/tokens", {"name": "ci", "role": "deployer", "ttl_s": 30 * 86400,
                                         "configs": ["app"]})
    h.check(st == 201, "ci: %s %s" % (st, b))
    old, old_id = b["token"], b["id"]
    before = int(time.time() * 1000)
    r = s.cli("token", "rotate", str(old_id), "--grace", "8s", token=old)
    h.check(r.returncode == 0 and "stops working at" in r.stdout and "store the token now"
            in r.stderr, "rotate: %d %r %r" % (r.returncode, r.stdout, r.stderr)); n += 1
    new = secret_of(r.stdout)
    h.check(new != old and r.stdout.count("cg_") == 1, "one new secret, printed once"); n += 1
    st, who = s.api("GET", "/v1/whoami", token=new)
    h.check(st == 200 and who["name"] == "ci" and who["role"] == "deployer"
            and who["configs"] == ["app"] and who["token_id"] > old_id,
            "the successor: %s %s" % (st, who)); n += 1
    st, b = s.api("GET", "/v1/tokens")
    byid = {t["id"]: t for t in b["tokens"]}
    succ, prev = byid[who["token_id"]], byid[old_id]
    h.check(prev["rotated_to"] == succ["id"] and succ["rotated_to"] is None, "linked: %s"
            % prev); n += 1
    month = 30 * 86400 * 1000
    h.check(before + month - 1000 <= succ["expires_ms"] <= int(time.time() * 1000) + month + 1000,
            "the same lifetime, from the rotation on: %s" % succ); n += 1
    st, who_old = s.api("GET", "/v1/whoami", token=old)
    h.check(st == 200, "the old token works in its grace period: %s %s" % (st, who_old)); n += 1
    rec = [x for x in h.audit_all(s) if x["action"] == "token.rotate"]
    after = json.loads(rec[-1]["after"]) if rec else {}
    h.check(len(rec) == 1 and rec[0]["object"] == "token/%d" % old_id and
            after.get("from") == old_id and after.get("to") == succ["id"] and
            after.get("old_expires_ms") == prev["expires_ms"] and rec[0]["actor"] == "token:ci",
            "audited once with both ids: %s" % rec); n += 1
    wait_past(prev["expires_ms"])
    st, b = s.api("GET", "/v1/whoami", token=old)
    h.check(st == 401 and "expired" in b["error"]["message"], "after the grace: %s %s"
            % (st, b)); n += 1
    st, _ = s.api("GET", "/v1/whoami", token=new)
    h.check(st == 200, "the new one works: %s" % st); n += 1
    print("self_rotation_with_grace: ok")

    # grace_zero_stops_at_once
    st, b = s.api("POST", "/v1/tokens", {"name": "viewer", "role": "reader"})
    rd, rd_id = b["token"], b["id"]
    st, _ = s.api("GET", "/v1/cells", token=rd)  # cached
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % rd_id, {"grace_s": 0})
    h.check(st == 201 and b["name"] == "viewer" and b["token"] and
            b["rotated"]["id"] == rd_id and b["expires_at"] is None, "rotate: %s %s"
            % (st, b)); n += 1
    rd2, rd2_id = b["token"], b["id"]
    st, b = s.api("GET", "/v1/cells", token=rd)
    h.check(st == 401, "the old secret stops at once: %s %s" % (st, b)); n += 1
    st, _ = s.api("GET", "/v1/cells", token=rd2)
    h.check(st == 200, "the successor works: %s" % st); n += 1
    print("grace_zero_stops_at_once: ok")

    # who_may_rotate
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % succ["id"], {}, token=rd2)
    h.check(st == 403 and "may rotate only itself" in b["error"]["message"],
            "a reader rotating another's token: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/tokens/999999/rotate", {}, token=rd2)
    h.check(st == 403, "nor learn whether one exists: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % rd2_id, {"grace_s": 60}, token=rd2)
    h.check(st == 201 and b["role"] == "reader", "a reader rotates itself: %s %s" % (st, b)); n += 1
    rd3 = b["token"]
    s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})
    st, b = s.api("POST", "/v1/tokens", {"name": "host1", "role": "agent", "cell": "c1"})
    ag, ag_id = b["token"], b["id"]
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % ag_id, {}, token=ag)
    h.check(st == 403, "agents may not call it: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % ag_id, {"grace_s": 600})
    h.check(st == 201 and b["cell"] == "c1" and b["role"] == "agent",
            "an admin rotates an agent's token: %s %s" % (st, b)); n += 1
    print("who_may_rotate: ok")

    # refusals
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % ag_id, {})
    h.check(st == 409 and "rotated already" in b["error"]["message"], "twice: %s %s"
            % (st, b)); n += 1
    st, b = s.api("POST", "/v1/tokens", {"name": "gone", "role": "reader"})
    gone = b["id"]
    s.api("DELETE", "/v1/tokens/%d" % gone)
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % gone, {})
    h.check(st == 409 and "revoked" in b["error"]["message"], "revoked: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/tokens", {"name": "brief", "role": "reader", "ttl_s": 1})
    brief = b["id"]
    wait_past(b["expires_ms"])
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % brief, {})
    h.check(st == 409 and "expired" in b["error"]["message"], "expired: %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/tokens/999999/rotate", {})
    h.check(st == 404, "unknown: %s %s" % (st, b)); n += 1
    for bad in ({"grace_s": -1}, {"grace_s": "1h"}, {"grace_s": 2592001}, {"x": 1}):
        st, b = s.api("POST", "/v1/tokens/%d/rotate" % succ["id"], bad)
        h.check(st == 400, "%s: %s %s" % (bad, st, b)); n += 1
    r = s.cli("token", "rotate", str(succ["id"]), "--grace", "soon")
    h.check(r.returncode == 2, "--grace soon: %d %r" % (r.returncode, r.stderr)); n += 1
    print("refusals: ok")

    # last_admin_rotates
    st, b = s.api("POST", "/v1/tokens/1/rotate", {"grace_s": 0})
    h.check(st == 201 and b["role"] == "admin", "the only admin rotates: %s %s" % (st, b)); n += 1
    admin2, admin2_id = b["token"], b["id"]
    st, _ = s.api("GET", "/v1/tokens")
    h.check(st == 401, "the old admin secret stopped: %s" % st); n += 1
    st, b = s.api("GET", "/v1/tokens", token=admin2)
    h.check(st == 200, "the new admin works: %s" % st); n += 1
    st, b = s.api("DELETE", "/v1/tokens/%d" % admin2_id, token=admin2)
    h.check(st == 409 and "last admin token" in b["error"]["message"],
            "and is the last admin token: %s %s" % (st, b)); n += 1
    print("last_admin_rotates: ok")

h.done("15-security/14-token-rotate", n)
