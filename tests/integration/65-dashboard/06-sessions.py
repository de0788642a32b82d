#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Dashboard sessions end to end (docs/dashboard.md, "Logging in:
sessions"), the parts 01-pages does not reach:

- Secure under TLS: a server serving HTTPS (tlskit's throwaway CA) sets
  the session cookie with Secure, and the logout's clearing cookie too,
  besides HttpOnly, SameSite=Strict, Path and Max-Age;
- expiry: with --ui-session-ttl 60 the cookie's Max-Age is 60 and the
  stored row expires 60 s after its creation; the session works at 30 s,
  also for an action's confirm page, and not past 60 s although it was
  used meanwhile (no sliding): the page redirects to the login with its
  `next`, a POST is refused, and the row is deleted; a new login works;
- a token that expires before the TTL caps the session: Max-Age follows
  the token's expiry, not --ui-session-ttl."""
import hashlib
import os
import re
import sqlite3
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402
import tlskit as T  # noqa: E402

TTL = 60
passed = 0


def ok(cond, msg):
    global passed
    h.check(cond, msg)
    passed += 1


def login(s, token):
    st, hd, _ = s.request("POST", "/ui/login", body=urllib.parse.urlencode({"token": token}),
                          token=None,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    ok(st == 303, "login: %s" % st)
    return hd["set-cookie"]


def cookie_of(sc):
    m = re.match(r"cg_session=([0-9a-f]{64}); ", sc)
    ok(m, "session cookie: %s" % sc)
    return m.group(1)


def get(s, path, cookie):
    st, hd, body = s.request("GET", "/ui" + path, token=None,
                             headers={"Cookie": "cg_session=" + cookie})
    return st, hd, body.decode("utf-8", "replace")


def row(s, cookie):
    """The stored session of cookie: (created_ms, expires_ms), or None."""
    db = sqlite3.connect(os.path.join(s.data_dir, "cellgate.db"), timeout=10)
    try:
        return db.execute("SELECT created_ms, expires_ms FROM ui_sessions WHERE id_hash = ?",
                          (hashlib.sha256(cookie.encode()).hexdigest(),)).fetchone()
    finally:
        db.close()


with h.Server(extra_args=["--ui-session-ttl", str(TTL)]) as s:
    # ---- expiry: log in now, look again at 30 s and past the TTL
    sc = login(s, s.admin_token)
    t0 = time.time()
    attrs = sc.split("; ")
    ok("Max-Age=%d" % TTL in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs
       and "Secure" not in attrs, "the cookie of a %d s session: %s" % (TTL, sc))
    cookie = cookie_of(sc)
    r = row(s, cookie)
    ok(r and r[1] - r[0] == TTL * 1000, "the stored session expires %d s after it began: %s"
       % (TTL, r))
    st, b = s.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
    ok(st == 201, "a cell: %s" % st)

    # ---- meanwhile: a token that expires before the TTL caps its session
    st, b = s.api("POST", "/v1/tokens", {"name": "short", "role": "reader", "ttl_s": 20})
    ok(st == 201, "a 20 s token: %s %s" % (st, b))
    sc2 = login(s, b["token"])
    m = re.search(r"Max-Age=(\d+)", sc2)
    ok(m and 15 <= int(m.group(1)) <= 20, "Max-Age follows the token's expiry: %s" % sc2)
    r2 = row(s, cookie_of(sc2))
    ok(r2 and r2[1] - r2[0] <= 20000, "its row too: %s" % (r2,))

    # ---- meanwhile: Secure under TLS
    pki = T.Pki(tempfile.mkdtemp(prefix="cgtls."))
    ca = pki.ca("ca")
    srv = pki.server(ca, "srv")
    with h.Server(extra_args=T.server_args(srv), ssl_context=T.context(ca.cert)) as ts:
        ok(ts.url.startswith("https://"), "HTTPS: %s" % ts.url)
        tsc = login(ts, ts.admin_token)
        attrs = tsc.split("; ")
        ok("Secure" in attrs and "HttpOnly" in attrs and "SameSite=Strict" in attrs
           and "Path=/ui" in attrs and "Max-Age=28800" in attrs,
           "the cookie under TLS: %s" % tsc)
        tcookie = cookie_of(tsc)
        st, _, body = get(ts, "/", tcookie)
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', body)
        ok(st == 200 and m, "the overview over HTTPS: %s" % st)
        st, hd, _ = ts.request("POST", "/ui/logout", body=urllib.parse.urlencode(
            {"csrf": m.group(1)}), token=None, headers={
                "Cookie": "cg_session=" + tcookie,
                "Content-Type": "application/x-www-form-urlencoded"})
        out = hd.get("set-cookie", "").split("; ")
        ok(st == 303 and "Max-Age=0" in out and "Secure" in out,
           "the logout's cookie under TLS: %s %s" % (st, out))
        ok(get(ts, "/", tcookie)[0] == 303, "logged out")

    # ---- at about 30 s the session works, a confirm page too
    time.sleep(max(0, t0 + TTL / 2 - time.time()))
    st, _, body = get(s, "/", cookie)
    ok(st == 200 and 'id="who-name">admin<' in body, "at %.0f s: %s" % (time.time() - t0, st))
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', body)
    csrf = m.group(1)
    ok(get(s, "/cells", cookie)[0] == 200, "the cells page at %.0f s" % (time.time() - t0))
    ok(get(s, "/", cookie_of(sc2))[0] == 303, "the 20 s token's session ended with the token")

    # ---- past the TTL: to the login, POSTs refused, the row gone
    time.sleep(max(0, t0 + TTL + 1.5 - time.time()))
    st, hd, _ = get(s, "/cells", cookie)
    ok(st == 303 and hd["location"] == "/ui/login?next=%2Fui%2Fcells",
       "at %.0f s: %s %s" % (time.time() - t0, st, hd.get("location")))
    ok(row(s, cookie) is None, "the expired session's row is deleted")
    st, hd, _ = s.request("POST", "/ui/logout", body=urllib.parse.urlencode({"csrf": csrf}),
                          token=None, headers={
                              "Cookie": "cg_session=" + cookie,
                              "Content-Type": "application/x-www-form-urlencoded"})
    ok(st == 303 and hd["location"].startswith("/ui/login"),
       "a POST with the expired session: %s %s" % (st, hd))
    ok(get(s, "/", cookie)[0] == 303, "still expired")
    new = cookie_of(login(s, s.admin_token))
    ok(new != cookie and get(s, "/", new)[0] == 200, "a new login works")
h.done("65-dashboard/06-sessions", passed)
