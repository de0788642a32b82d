# SPDX-License-Identifier: MIT
"""Tokens that expire (issue "security hardening": token expiry).

- expired_token_refused_even_when_cached: a reader token created with
  `ttl_s` works, is used (so the server caches it: the cache keeps a token
  a minute), and once its expiry has passed it is refused with 401
  "bearer token expired at <expires_at>", saying nothing else of the token
  (not its name, role or id); `cellgate token list` shows it "expired".
- cli_ttl: `cellgate token create --ttl 5s` prints the expiry; afterwards
  the CLI's calls with it fail with the server's "expired" message (exit
  3); bad `--ttl` values are usage errors (exit 2) and bad `ttl_s` 400.
- max_ttl: with `--token-max-ttl 3600` a longer `ttl_s` is refused (400
  naming the option), a deployer token without one gets the maximum, an
  admin token is exempt.
- last_admin_guard_ignores_expired: with a second admin token that has
  expired, revoking the first is refused (409: it is the last admin token
  that works).

No timing threshold: lifetimes are a few seconds and the test waits until
the expiry the server reported has passed (plus a second), bounded."""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def wait_past(ms, limit_s=60):
    """Sleeps until the wall clock (the server's: same machine) is past ms
    plus a second; bounded."""
    deadline = time.time() + limit_s
    while time.time() * 1000 < ms + 1000:
        h.check(time.time() < deadline, "waited %ds for %d" % (limit_s, ms))
        time.sleep(0.1)


with h.Server() as s:
    # expired_token_refused_even_when_cached
    st, b = s.api("POST", "/v1/tokens", {"name": "short", "role": "reader", "ttl_s": 6})
    h.check(st == 201 and b["expires_ms"] > 0 and b["expires_at"], "create: %s %s" % (st, b))
    tok, tid, exp, exp_at = b["token"], b["id"], b["expires_ms"], b["expires_at"]
    h.check(b["expires_ms"] - 6000 <= int(time.time() * 1000) + 5, "expiry is created + ttl")
    st, who = s.api("GET", "/v1/whoami", token=tok)
    h.check(st == 200 and who["expires_at"] == exp_at, "works before it expires: %s %s"
            % (st, who)); n += 1
    st, _ = s.api("GET", "/v1/cells", token=tok)  # cached now
    wait_past(exp)
    st, hd, raw = s.request("GET", "/v1/cells", token=tok)
    body = raw.decode()
    h.check(st == 401 and "bearer token expired at " + exp_at in body,
            "expired token (cached before): %s %s" % (st, body)); n += 1
    h.check("short" not in body and "reader" not in body and '"id"' not in body
            and hd.get("www-authenticate", "").startswith("Bearer"),
            "the 401 says nothing else of the token: %s" % body); n += 1
    st, b = s.api("GET", "/v1/tokens")
    t = [x for x in b["tokens"] if x["id"] == tid][0]
    h.check(t["expires_ms"] == exp and t["revoked_at"] is None, "listed: %s" % t); n += 1
    r = s.cli("token", "list")
    row = [line for line in r.stdout.splitlines() if line.split()[:2] == [str(tid), "short"]]
    h.check(r.returncode == 0 and row and "expired" in row[0], "list: %r" % r.stdout); n += 1
    print("expired_token_refused_even_when_cached: ok")

    # cli_ttl
    r = s.cli("token", "create", "--role", "deployer", "--name", "ci", "--ttl", "5s")
    h.check(r.returncode == 0 and "expires: " in r.stdout, "create --ttl: %r %r"
            % (r.stdout, r.stderr)); n += 1
    ci = [line.split(": ", 1)[1] for line in r.stdout.splitlines() if line.startswith("token: ")][0]
    st, b = s.api("GET", "/v1/whoami", token=ci)
    h.check(st == 200, "whoami: %s" % st)
    wait_past(int(time.time() * 1000) + 5000)
    r = s.cli("whoami", token=ci)
    h.check(r.returncode == 4 and "expired at" in r.stderr, "expired via CLI: %d %r"
            % (r.returncode, r.stderr)); n += 1
    for bad in ("3x", "0", "-1s", "1.5h", "3661d", ""):
        r = s.cli("token", "create", "--role", "reader", "--name", "b", "--ttl", bad)
        h.check(r.returncode == 2 and "--ttl" in r.stderr, "--ttl %r: %d %r"
                % (bad, r.returncode, r.stderr)); n += 1
    for bad in (0, -5, "60", 1.5, 316224001):
        st, b = s.api("POST", "/v1/tokens", {"name": "b", "role": "reader", "ttl_s": bad})
        h.check(st == 400, "ttl_s %r: %s %s" % (bad, st, b)); n += 1
    print("cli_ttl: ok")

    # last_admin_guard_ignores_expired
    st, b = s.api("POST", "/v1/tokens", {"name": "admin2", "role": "admin", "ttl_s": 2})
    h.check(st == 201, "admin2: %s %s" % (st, b))
    wait_past(b["expires_ms"])
    st, b = s.api("DELETE", "/v1/tokens/1?reason=leaving")
    h.check(st == 409 and "last admin token" in b["error"]["message"],
            "the last admin that works stays: %s %s" % (st, b)); n += 1
    print("last_admin_guard_ignores_expired: ok")

with h.Server(extra_args=["--token-max-ttl", "3600"]) as s:
    st, b = s.api("POST", "/v1/tokens", {"name": "long", "role": "reader", "ttl_s": 3601})
    h.check(st == 400 and "--token-max-ttl 3600" in b["error"]["message"], "over the max: %s %s"
            % (st, b)); n += 1
    before = int(time.time() * 1000)
    st, b = s.api("POST", "/v1/tokens", {"name": "ci", "role": "deployer"})
    h.check(st == 201 and before + 3600000 <= b["expires_ms"]
            <= int(time.time() * 1000) + 3600000, "the max by default: %s" % b); n += 1
    st, b = s.api("POST", "/v1/tokens", {"name": "ops", "role": "admin"})
    h.check(st == 201 and b["expires_at"] is None, "admins are exempt: %s" % b); n += 1
    st, b = s.api("POST", "/v1/tokens", {"name": "short", "role": "approver", "ttl_s": 60})
    h.check(st == 201 and b["expires_ms"] > 0, "shorter is fine: %s" % b); n += 1
    print("max_ttl: ok")

h.done("15-security/13-token-expiry", n)
