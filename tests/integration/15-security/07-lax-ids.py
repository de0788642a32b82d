# SPDX-License-Identifier: MIT
"""Security finding 7, lax id parsing: an escaped NUL (or any control byte)
in a path or query is refused with 400 instead of cutting the path short
(`/v1/configs/%00/versions/4` served the config list); numeric ids and
query integers are plain digits: `+1`, ` 1`, `1 ` and `0x1` are 400
(`DELETE /v1/tokens/+1` revoked token 1)."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
with h.Server() as s:
    st, b = s.api("POST", "/v1/tokens", {"name": "victim", "role": "reader"})
    h.check(st == 201, "token %s" % st)
    victim = b["token"]
    vid = b["id"]
    for method, path in [
            ("GET", "/v1/configs/%00/versions/4"),
            ("GET", "/v1/configs/%00"),
            ("GET", "/v1/cells/%00abc"),
            ("GET", "/v1/cells%00"),
            ("GET", "/v1/audit?after=1%00"),
            ("GET", "/v1/audit?limit=%001"),
            ("GET", "/v1/audit?x%00=1"),
            ("GET", "/v1/hosts?cell=a%0Ab"),
            ("DELETE", "/v1/tokens/+%d" % vid),
            ("DELETE", "/v1/tokens/%%20%d" % vid),
            ("DELETE", "/v1/tokens/%d%%20" % vid),
            ("DELETE", "/v1/tokens/0x%d" % vid),
            ("GET", "/v1/audit?after=+1"),
            ("GET", "/v1/audit?limit=%2010"),
            ("GET", "/v1/rollouts/+1"),
            ("GET", "/v1/configs/app/versions/+1")]:
        st, _, body = s.request(method, path)
        h.check(st == 400, "%s %s: %s %s" % (method, path, st, body[:200])); n += 1
    st, b = s.api("GET", "/v1/whoami", token=victim)
    h.check(st == 200 and b["name"] == "victim", "the token was revoked through a lax id: %s"
            % st); n += 1
    st, _, _ = s.request("GET", "/v1/audit?after=0&limit=10")
    h.check(st == 200, "plain digits still work: %s" % st); n += 1
print("ok: %d checks" % n)
