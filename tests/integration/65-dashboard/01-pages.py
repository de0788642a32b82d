#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The dashboard (docs/dashboard.md), driven as a browser without JavaScript
would: plain GETs and form POSTs with a cookie.

Login and logout, the session cookie's attributes, the redirect to the login
(and its `next`, never to another site), the headers of every answer (CSP,
nosniff, ...), CSRF refusals that change nothing, a revoked token's session
ending at once, the form body limit (413), the base path option."""
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
passed = 0


def ok(cond, msg):
    global passed
    h.check(cond, msg)
    passed += 1


class Browser:
    """A cookie jar of one (cg_session) over Server.request(), no redirects
    followed, no bearer token."""

    def __init__(self, s, base="/ui"):
        self.s, self.base, self.cookie = s, base, None

    def _hdrs(self, extra=None):
        hd = dict(extra or {})
        if self.cookie:
            hd["Cookie"] = "cg_session=" + self.cookie
        return hd

    def _keep(self, hd):
        sc = hd.get("set-cookie")
        if sc:
            m = re.match(r"cg_session=([^;]*)", sc)
            self.cookie = m.group(1) if m and m.group(1) else None
        return sc

    def get(self, path, headers=None):
        st, hd, body = self.s.request("GET", self.base + path, token=None,
                                      headers=self._hdrs(headers))
        self._keep(hd)
        return st, hd, body.decode("utf-8", "replace")

    def post(self, path, fields, headers=None):
        hd0 = self._hdrs(headers)
        hd0["Content-Type"] = "application/x-www-form-urlencoded"
        st, hd, body = self.s.request("POST", self.base + path,
                                      body=urllib.parse.urlencode(fields), token=None,
                                      headers=hd0)
        self._keep(hd)
        return st, hd, body.decode("utf-8", "replace")

    def login(self, token):
        st, hd, _ = self.post("/login", {"token": token})
        ok(st == 303 and self.cookie, "login: %s %s" % (st, hd))
        return self

    def csrf(self, page="/"):
        st, _, body = self.get(page)
        m = re.search(r'name="csrf" value="([0-9a-f]{64})"', body)
        ok(st == 200 and m, "csrf field on %s: %s" % (page, st))
        return m.group(1)


def headers_ok(hd, what):
    ok(hd.get("content-security-policy") == CSP, "%s: CSP %r" % (what, hd))
    ok(hd.get("x-content-type-options") == "nosniff", "%s: nosniff" % what)
    ok(hd.get("referrer-policy") == "same-origin", "%s: referrer policy" % what)


def token(s, name, role, configs=None):
    body = {"name": name, "role": role}
    if configs:
        body["configs"] = configs
    st, b = s.api("POST", "/v1/tokens", body)
    ok(st == 201, "token %s: %s %s" % (name, st, b))
    return b["token"], b["id"]


def framework(s):
    b = Browser(s)
    # no session: to the login, keeping the page asked for
    st, hd, _ = b.get("/configs")
    ok(st == 303 and hd["location"] == "/ui/login?next=%2Fui%2Fconfigs", "redirect: %s" % hd)
    headers_ok(hd, "redirect")
    st, hd, body = b.get("/login?next=%2Fui%2Fconfigs")
    ok(st == 200 and 'id="login"' in body and 'id="token"' in body and 'type="password"' in body
       and 'id="login-submit"' in body and '<label for="token">' in body, "login page")
    ok('<html lang="en">' in body and "<script>" not in body and "style=" not in body,
       "no inline script or style")
    headers_ok(hd, "login page")
    ok(hd.get("cache-control") == "no-store", "pages are not cached")
    # a wrong token: the form again, 401, no cookie
    st, hd, body = b.post("/login", {"token": "cg_" + "0" * 48})
    ok(st == 401 and 'id="login-error"' in body and 'id="login"' in body and not b.cookie,
       "wrong token: %s" % st)
    # the right one: a session cookie with every attribute, back to next
    st, hd, _ = b.post("/login", {"token": s.admin_token, "next": "/ui/configs"})
    ok(st == 303 and hd["location"] == "/ui/configs", "login next: %s" % hd)
    sc = hd["set-cookie"]
    ok(re.match(r"cg_session=[0-9a-f]{64}; ", sc), "cookie value: %s" % sc)
    for attr in ("Path=/ui", "Max-Age=28800", "HttpOnly", "SameSite=Strict"):
        ok(attr in sc.split("; "), "cookie %s: %s" % (attr, sc))
    ok("Secure" not in sc, "no Secure without TLS: %s" % sc)
    # next may only name a page under the base path
    for evil in ("https://evil.example/", "//evil.example/ui", "/v1/tokens", "/uiother",
                 "/ui//evil.example", "/ui\\@evil"):
        b2 = Browser(s)
        st, hd, _ = b2.post("/login", {"token": s.admin_token, "next": evil})
        ok(st == 303 and hd["location"] == "/ui/?done=login", "next %r: %s" % (evil, hd))
    # the overview with a session; the principal and a logout button
    st, hd, body = b.get("/")
    ok(st == 200 and 'id="who-name">admin<' in body and 'id="who-role"' in body
       and 'id="logout"' in body and "<main" in body, "overview: %s" % st)
    headers_ok(hd, "overview")
    # assets: embedded, cached, hashed URLs
    m = re.search(r'href="(/ui/static/style\.css\?v=[0-9a-f]{16})"', body)
    ok(m, "stylesheet link")
    st, hd, css = s.request("GET", m.group(1), token=None)
    ok(st == 200 and hd["content-type"].startswith("text/css") and b"badge" in css
       and "max-age=31536000" in hd["cache-control"], "style.css: %s %s" % (st, hd))
    m = re.search(r'src="(/ui/static/app\.js\?v=[0-9a-f]{16})"', body)
    st, hd, js = s.request("GET", m.group(1), token=None)
    ok(st == 200 and hd["content-type"].startswith("text/javascript") and b"EventSource" in js,
       "app.js")
    ok(s.request("GET", "/ui/static/nothing.js", token=None)[0] == 404, "unknown asset")
    ok(s.request("GET", "/ui/nothing", token=None)[0] == 404, "unknown page")
    # logout needs the CSRF token: without it 403 and the session lives
    st, _, body = b.post("/logout", {})
    ok(st == 403 and b.get("/")[0] == 200, "logout without csrf: %s" % st)
    st, _, _ = b.post("/logout", {"csrf": "0" * 64})
    ok(st == 403 and b.get("/")[0] == 200, "logout with a wrong csrf: %s" % st)
    csrf = b.csrf()
    st, _, _ = b.post("/logout", {"csrf": csrf}, headers={"Origin": "https://evil.example"})
    ok(st == 403 and b.get("/")[0] == 200, "logout from another origin: %s" % st)
    old = b.cookie
    st, hd, _ = b.post("/logout", {"csrf": csrf},
                       headers={"Origin": "http://127.0.0.1:%d" % s.port})
    ok(st == 303 and hd["location"] == "/ui/login" and "Max-Age=0" in hd["set-cookie"],
       "logout: %s %s" % (st, hd))
    b.cookie = old  # the old cookie no longer works
    ok(b.get("/")[0] == 303, "old session after logout")
    # a form body over 16 KB: 413 before it is read
    big = Browser(s).login(s.admin_token)
    st, _, _ = big.post("/logout", {"csrf": "x" * 17000})
    ok(st == 413, "16 KB form: %s" % st)
    ok(big.get("/")[0] == 200, "the session survived the 413")
    # a revoked token's session ends at once (even with the token cached)
    tok, tid = token(s, "ui-revoked", "deployer")
    rb = Browser(s).login(tok)
    ok(rb.get("/")[0] == 200, "deployer session")
    st, _ = s.api("DELETE", "/v1/tokens/%d" % tid)
    ok(st in (200, 204), "revoke: %s" % st)
    st, hd, _ = rb.get("/")
    ok(st == 303 and "/ui/login" in hd["location"], "revoked session: %s" % st)
    # an agent token cannot log in
    st, b_ = s.api("POST", "/v1/cells", {"id": "c-agent", "region": "r1", "zone": "z1"})
    st, ag = s.api("POST", "/v1/tokens", {"name": "ui-agent", "role": "agent", "cell": "c-agent"})
    st, _, _ = Browser(s).post("/login", {"token": ag["token"]})
    ok(st == 401, "agent login: %s" % st)


def base_path():
    with h.Server(extra_args=["--ui-base-path", "/ops/cg"]) as s:
        ok(s.request("GET", "/ui/login", token=None)[0] == 404, "/ui with another base")
        b = Browser(s, "/ops/cg")
        st, hd, _ = b.get("/")
        ok(st == 303 and hd["location"].startswith("/ops/cg/login"), "base redirect: %s" % hd)
        st, hd, _ = b.post("/login", {"token": s.admin_token})
        ok(st == 303 and hd["location"] == "/ops/cg/?done=login"
           and "Path=/ops/cg" in hd["set-cookie"], "base login: %s" % hd)
        st, _, body = b.get("/")
        links = re.findall(r'(?:href|action|src)="([^"]*)"', body)
        ok(links and all(u.startswith("/ops/cg/") or u == "/ops/cg" for u in links),
           "every link under the base: %s" % links)
    with h.Server(extra_args=["--no-ui"]) as s:
        ok(s.request("GET", "/ui/login", token=None)[0] == 404, "--no-ui")
    d = h.tempfile.mkdtemp(prefix="cgint.")
    r = h.subprocess.run([h.SERVER_BIN, "init", "--data", d], capture_output=True, timeout=60)
    ok(r.returncode == 0, "init: %s" % r.stderr)
    for bad in ("/", "ui", "/ui/", "/v1/ui", "/a b", "/metrics"):
        r = h.subprocess.run([h.SERVER_BIN, "serve", "--data", d, "--listen", "127.0.0.1:0",
                              "--ui-base-path", bad], capture_output=True, timeout=30)
        ok(r.returncode != 0 and b"ui-base-path" in r.stderr,
           "bad base path %r: %s %s" % (bad, r.returncode, r.stderr))
    h.shutil.rmtree(d, ignore_errors=True)


with h.Server() as s:
    framework(s)
base_path()
h.done("65-dashboard/01-pages", passed)
