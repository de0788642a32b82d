# SPDX-License-Identifier: MIT
"""The long-poll front (docs/internals/ROUTES.md, "The long-poll front";
issue 18): over plain HTTP the front owns the listening socket, answers
well-formed GET /v1/agent/desired itself and hands every other connection
to libmicrohttpd before reading a byte of it.

Checked against a second server started with --no-poll-front on the same
fleet: every poll, error and refusal gets the same status (and the same
error body) either way; what the front serves or hands off is counted in
/metrics; keep-alive, pipelined and slowly sent heads; a poll after another
request on the same connection; parked polls woken by an assign, released
when their client leaves, answered 304 at shutdown; the idle timeout and
--max-conns across both paths; and a few hundred mangled heads that must
neither crash the server nor be answered differently than libmicrohttpd
answers them."""
import os, random, socket, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

passed = 0
CONTRACT = {"schema": {"type": "object"}}


def metrics(s):
    """Every unlabelled figure of one /metrics read (a request the front
    hands to libmicrohttpd, counted in the figures it reads)."""
    out = {}
    for line in s.request("GET", "/metrics")[2].decode().splitlines():
        if line and not line.startswith("#") and "{" not in line:
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def metric(s, name):
    return metrics(s).get(name)


class Conn:
    """A client connection that keeps what it read past one response."""

    def __init__(self, port, timeout=5):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def response(self, head_only=False):
        """One response: (status, headers (lowercase names), body), or None
        when the connection closed before a whole head."""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        head, rest = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        hd = {}
        for l in lines[1:]:
            k, v = l.split(":", 1)
            hd[k.strip().lower()] = v.strip()
        n = 0 if status in (204, 304) or head_only else int(hd.get("content-length", "0"))
        while len(rest) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        self.buf = rest[n:]
        return status, hd, rest[:n]


def raw(port, data, timeout=5, head_only=False, pieces=1):
    """Sends data on a new connection (in 'pieces' writes 0.1 s apart),
    returns the first response (or None)."""
    with Conn(port, timeout) as c:
        try:
            step = (len(data) + pieces - 1) // pieces
            for i in range(0, len(data), step):
                c.send(data[i:i + step])
                if pieces > 1:
                    time.sleep(0.1)
            return c.response(head_only)
        except (socket.timeout, ConnectionResetError, BrokenPipeError, ValueError, IndexError):
            return None


def poll_head(cell, token, extra="", query=""):
    return ("GET /v1/agent/desired?cell=%s%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Authorization: Bearer %s\r\n%s\r\n" % (cell, query, token, extra)).encode()


def setup(s):
    s.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
    s.api("POST", "/v1/cells", {"id": "c2", "region": "r1", "zone": "z2"})
    d = h.write(s.data_dir, "contract.json", CONTRACT)
    r = s.cli("config", "create", "app", "--kind", "config", "--contract", d)
    h.check(r.returncode == 0, "config create: %s" % r.stderr)
    for i in (1, 2):
        doc = h.write(s.data_dir, "doc%d.json" % i, {"v": i})
        r = s.cli("publish", "app", doc, "-m", "v%d" % i)
        h.check(r.returncode == 0, "publish: %s" % r.stderr)
    st, _ = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1"], "force": True})
    h.check(st == 201, "assign: %s" % st)
    st, body = s.api("POST", "/v1/tokens", {"name": "ag1", "role": "agent", "cell": "c1"})
    h.check(st == 201, "agent token: %s %s" % (st, body))
    return body["token"]


front = h.Server(extra_args=["--conn-timeout", "2"])
plain = h.Server(extra_args=["--no-poll-front"])
front.start()
plain.start()
try:
    tok_f, tok_p = setup(front), setup(plain)
    h.check(metric(front, "cellgate_http_front_served_total") is not None,
            "the front's counters are in /metrics")
    h.check(metric(plain, "cellgate_http_front_served_total") is None,
            "--no-poll-front: no front")

    # ---- the same answers either way ----
    long_host = "h" * 70
    cases = [
        # (name, head template (TOKEN, ADMIN replaced), served by the front?)
        ("poll", poll_head("c1", "TOKEN"), True),
        ("poll with host", poll_head("c1", "TOKEN", query="&host=h1"), True),
        ("no token", b"GET /v1/agent/desired?cell=c1 HTTP/1.1\r\nHost: x\r\n\r\n", True),
        ("bad token", poll_head("c1", "cg_" + "0" * 48), True),
        ("other cell", poll_head("c2", "TOKEN"), True),
        ("unknown cell", poll_head("nope", "ADMIN"), True),
        ("no cell", b"GET /v1/agent/desired HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer TOKEN\r\n\r\n",
         True),
        ("wait too long", poll_head("c1", "TOKEN", query="&wait=999"), True),
        ("bad wait", poll_head("c1", "TOKEN", query="&wait=x"), True),
        ("X-API-Key", b"GET /v1/agent/desired?cell=c1 HTTP/1.1\r\nHost: x\r\nX-API-Key: TOKEN\r\n\r\n",
         True),
        ("HTTP/1.0", b"GET /v1/agent/desired?cell=c1 HTTP/1.0\r\nAuthorization: Bearer TOKEN\r\n\r\n",
         True),
        ("host too long", poll_head("c1", "TOKEN", query="&host=" + long_host), False),
        ("escaped cell", poll_head("c%31", "TOKEN"), False),
        ("plus in query", poll_head("c1", "TOKEN", query="&host=a+b"), False),
        ("HEAD", b"HEAD /v1/agent/desired?cell=c1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer TOKEN\r\n\r\n",
         False),
        ("POST", b"POST /v1/agent/desired?cell=c1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer TOKEN\r\n"
         b"Content-Length: 0\r\n\r\n", False),
        ("two tokens", poll_head("c1", "TOKEN", extra="Authorization: Bearer ADMIN\r\n"), False),
        ("chunked body", poll_head("c1", "TOKEN", extra="Transfer-Encoding: chunked\r\n") +
         b"2\r\n{}\r\n0\r\n\r\n", False),
        ("folded header", poll_head("c1", "TOKEN", extra="X-A: b\r\n c\r\n"), False),
        ("no Host", b"GET /v1/agent/desired?cell=c1 HTTP/1.1\r\nAuthorization: Bearer TOKEN\r\n\r\n",
         False),
        ("longer path", b"GET /v1/agent/desiredX?cell=c1 HTTP/1.1\r\nHost: x\r\n"
         b"Authorization: Bearer TOKEN\r\n\r\n", False),
        ("big header", poll_head("c1", "TOKEN", extra="X-Big: %s\r\n" % ("a" * 5000)), False),
    ]
    rep = b'{"host":"h1","cell":"c1","seq":1,"configs":[],"window_ms":10000,"health":{"requests":10,"errors":0}}'

    def report(body=rep, extra=b"", ctype=b"Content-Type: application/json\r\n", path=b"/v1/agent/report",
               tok=b"TOKEN", length=None):
        n = len(body) if length is None else length
        return (b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + b"\r\n" + ctype +
                b"Content-Length: " + str(n).encode() + b"\r\n" + extra + b"\r\n" + body)
    cases += [
        ("report", report(), True),
        ("report, another cell", report(rep.replace(b'"c1"', b'"c2"')), True),
        ("report, bad JSON", report(b'{"host":'), True),
        ("report, no JSON type", report(ctype=b""), True),
        ("report, bad token", report(tok=b"cg_" + b"1" * 48), True),
        ("report, body in pieces", report(), True),
        ("report, empty", report(b""), False),
        ("report, with a query", report(path=b"/v1/agent/report?x=1"), False),
        ("report, chunked", (b"POST /v1/agent/report HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer TOKEN\r\n"
                             b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                             b"%x\r\n" % len(rep) + rep + b"\r\n0\r\n\r\n"), False),
        ("report, too long", report(b"{" + b" " * (256 * 1024) + b"}"), False),
    ]
    for name, tmpl, by_front in cases:
        answers = []
        for s, tok in ((front, tok_f), (plain, tok_p)):
            data = tmpl.replace(b"ADMIN", s.admin_token.encode()).replace(b"TOKEN", tok.encode())
            m0 = metrics(front)
            r = raw(s.port, data, head_only=name == "HEAD", pieces=4 if "pieces" in name else 1)
            answers.append(r)
            if s is front:
                m1 = metrics(front)
                served = m1["cellgate_http_front_served_total"] - m0["cellgate_http_front_served_total"]
                # the second /metrics read is handed off itself
                handed = m1["cellgate_http_front_handed_total"] - m0["cellgate_http_front_handed_total"] - 1
                h.check((served, handed) == ((1, 0) if by_front else (0, 1)),
                        "%s: served %d, handed %d by the front" % (name, served, handed))
        a, b = answers
        h.check(a is not None and b is not None, "%s: answered (%s, %s)" % (name, a, b))
        h.check(a[0] == b[0], "%s: front %d, libmicrohttpd %d (%s / %s)" % (name, a[0], b[0], a[2][:200],
                                                                            b[2][:200]))
        if a[0] >= 400 and a[0] != 431:
            h.check(a[2] == b[2], "%s: same error body: %s / %s" % (name, a[2], b[2]))
        for k in ("content-type", "www-authenticate", "cache-control", "retry-after"):
            h.check((k in a[1]) == (k in b[1]), "%s: header %s: %s / %s" % (name, k, a[1], b[1]))
        if a[0] == 200 and name != "HEAD":
            h.check("etag" in a[1] and a[2].startswith(b'{"cell":"c1"'), "%s: body %s" % (name, a[2][:80]))
        passed += 1

    # ---- keep-alive, pipelining, slow heads, a poll after another request ----
    served0 = metric(front, "cellgate_http_front_served_total")
    with Conn(front.port) as c:
        c.send(poll_head("c1", tok_f) + poll_head("c1", tok_f, query="&host=h2"))
        r1, r2 = c.response(), c.response()
        h.check(r1 and r1[0] == 200 and r2 and r2[0] == 200, "two pipelined polls: %s %s" % (r1, r2))
        h.check(metric(front, "cellgate_http_front_connections") == 1, "one connection held")
        head = poll_head("c1", tok_f)
        for piece in (head[:10], head[10:40], head[40:]):
            c.send(piece)
            time.sleep(0.2)
        r3 = c.response()
        h.check(r3 and r3[0] == 200, "a head sent in three pieces: %s" % (r3,))
        # another request on the same connection: handed to libmicrohttpd for good
        c.send(("GET /v1/cells HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" %
                front.admin_token).encode())
        r4 = c.response()
        h.check(r4 and r4[0] == 200 and b'"c1"' in r4[2], "/v1/cells after polls: %s" % (r4,))
        c.send(poll_head("c1", tok_f))
        r5 = c.response()
        h.check(r5 and r5[0] == 200, "a poll after it (libmicrohttpd's now): %s" % (r5,))
    h.check(metric(front, "cellgate_http_front_served_total") - served0 == 3,
            "three polls served by the front")
    passed += 1

    # ---- tokens on one kept connection (the front remembers the last
    # token's hash): another token, a wrong one, a revoked one ----
    st, body = front.api("POST", "/v1/tokens", {"name": "ag2", "role": "agent", "cell": "c1"})
    h.check(st == 201, "second agent token: %s" % st)
    tok2, tok2_id = body["token"], body["id"]
    with Conn(front.port) as c:
        seq = []
        for tok in (tok_f, tok2, "cg_" + "2" * 48, tok_f, tok2):
            c.send(poll_head("c1", tok))
            seq.append(c.response()[0])
        h.check(seq == [200, 200, 401, 200, 200], "tokens in turn on one connection: %s" % seq)
        st, _ = front.api("DELETE", "/v1/tokens/%d" % tok2_id)
        h.check(st in (200, 204), "revoke: %s" % st)
        c.send(poll_head("c1", tok2))
        r = c.response()
        h.check(r and r[0] == 401, "the revoked token on the same connection: %s" % (r and r[0],))
        c.send(poll_head("c1", tok_f))
        r = c.response()
        h.check(r and r[0] == 200, "the other token goes on: %s" % (r and r[0],))
    passed += 1

    # ---- parked polls: woken by an assign, released when the client leaves ----
    st, hd, body = front.request("GET", "/v1/agent/desired?cell=c1", token=tok_f)
    etag = hd["etag"].strip('"')
    parked = []
    for i in range(3):
        c = Conn(front.port, 10)
        c.send(poll_head("c1", tok_f, extra='If-None-Match: "%s"\r\n' % etag, query="&wait=30"))
        parked.append(c)
    deadline = time.time() + 5
    while metric(front, "cellgate_longpolls_parked") != 3 and time.time() < deadline:
        time.sleep(0.05)
    h.check(metric(front, "cellgate_longpolls_parked") == 3, "three polls parked in the front")
    parked[2].close()
    deadline = time.time() + 5
    while metric(front, "cellgate_longpolls_parked") != 2 and time.time() < deadline:
        time.sleep(0.05)
    h.check(metric(front, "cellgate_longpolls_parked") == 2 and
            metric(front, "cellgate_longpolls_abandoned_total") == 1,
            "a parked poll whose client left is released")
    t0 = time.time()
    st, _ = front.api("POST", "/v1/configs/app/assign", {"version": 2, "cells": ["c1"], "force": True})
    h.check(st == 201, "assign: %s" % st)
    for c in parked[:2]:
        r = c.response()
        h.check(r and r[0] == 200 and r[1]["etag"].strip('"') != etag and b'"version":2' in r[2],
                "woken poll: %s" % (r and r[:2],))
        c.close()
    h.check(time.time() - t0 < 5, "woken within the assign's round trip")
    passed += 1

    # ---- idle timeout: a head that never completes ----
    idle0 = metric(front, "cellgate_http_front_idle_closed_total")
    with socket.create_connection(("127.0.0.1", front.port), timeout=10) as c:
        c.sendall(b"GET /v1/agent/desired?cell=c1 HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        try:
            data = c.recv(100)
        except ConnectionResetError:  # closed with the peeked bytes unread: a reset
            data = b""
        h.check(data == b"" and 1.5 < time.time() - t0 < 6,
                "an unfinished head is closed after --conn-timeout: %r after %.1fs" % (data, time.time() - t0))
    h.check(metric(front, "cellgate_http_front_idle_closed_total") == idle0 + 1, "counted")
    passed += 1

    # ---- mangled heads: same status as libmicrohttpd, no crash ----
    rng = random.Random(18)
    base = [poll_head("c1", "TOKEN", query="&host=h1&wait=0"),
            poll_head("c1", "TOKEN", extra='If-None-Match: "x"\r\nConnection: close\r\n')]
    differ = []
    for i in range(300):
        m = bytearray(rng.choice(base))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(4)
            pos = rng.randrange(len(m))
            if op == 0:
                m[pos] = rng.choice(b"\r\n\x00 %+&=?:\t\x7f\xffAz0")
            elif op == 1:
                del m[pos]
            elif op == 2:
                m[pos:pos] = bytes([rng.randrange(256)])
            else:
                m = m[:pos] + b"\r\n\r\n"
        res = []
        for s, tok in ((front, tok_f), (plain, tok_p)):
            res.append(raw(s.port, bytes(m).replace(b"TOKEN", tok.encode()), timeout=3))
        sa = res[0][0] if res[0] else None
        sb = res[1][0] if res[1] else None
        if sa != sb:
            differ.append((bytes(m)[:120], sa, sb))
    h.check(front.proc.poll() is None and front.api("GET", "/healthz")[0] == 200, "alive after mangled heads")
    h.check(not differ, "%d mangled heads answered differently, e.g. %s" % (len(differ), differ[:3]))
    passed += 1

    # ---- shutdown: parked polls are answered 304 ----
    st, hd, _ = front.request("GET", "/v1/agent/desired?cell=c1", token=tok_f)
    etag = hd["etag"].strip('"')
    socks = []
    for i in range(3):
        c = Conn(front.port, 10)
        c.send(poll_head("c1", tok_f, extra='If-None-Match: "%s"\r\n' % etag, query="&wait=60"))
        socks.append(c)
    deadline = time.time() + 5
    while metric(front, "cellgate_longpolls_parked") != 3 and time.time() < deadline:
        time.sleep(0.05)
    front.stop()
    codes = [(c.response() or (None,))[0] for c in socks]
    h.check(codes == [304, 304, 304], "parked polls at shutdown: %s" % codes)
    for c in socks:
        c.close()
    passed += 1
finally:
    front.stop()
    plain.stop()

# ---- --max-conns counts the front's connections and libmicrohttpd's ----
with h.Server(extra_args=["--max-conns", "4"]) as s:
    held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(4)]
    time.sleep(0.3)
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = c.recv(100)
    except ConnectionResetError:
        data = b""
    h.check(data == b"", "a fifth connection over --max-conns 4 is closed: %r" % data)
    c.close()
    for c in held:
        c.close()
    time.sleep(0.3)
    h.check(s.api("GET", "/healthz")[0] == 200, "served again once they closed")
    h.check(metric(s, "cellgate_http_front_refused_total") >= 1, "refusal counted")
    passed += 1

# ---- a burst of connections is spread over the front's threads ----
# (one thread's wake used to accept the whole burst: a load generator's 64
# connections all on one thread, the other idle, half the machine unused)
with h.Server(extra_args=["--threads", "2"]) as s:
    def per_thread():
        out = {}
        for line in s.request("GET", "/metrics")[2].decode().splitlines():
            if line.startswith("cellgate_http_front_thread_connections{"):
                out[line.split('"')[1]] = int(float(line.rsplit(" ", 1)[1]))
        return out
    for burst in range(3):
        held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(64)]
        deadline = time.time() + 5
        while sum(per_thread().values()) < 64 and time.time() < deadline:
            time.sleep(0.05)
        pt = per_thread()
        h.check(sorted(pt) == ["0", "1"] and sum(pt.values()) == 64
                and min(pt.values()) >= 30, "burst %d of 64 over 2 threads: %s" % (burst, pt))
        # they are served where they landed
        for c in held[:8]:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        h.check(all(c.recv(12).startswith(b"HTTP/1.1 200") for c in held[:8]), "served")
        for c in held:
            c.close()
        deadline = time.time() + 5
        while sum(per_thread().values()) > 0 and time.time() < deadline:
            time.sleep(0.05)
        h.check(sum(per_thread().values()) == 0, "all closed: %s" % per_thread())
    passed += 1

h.done("70-overload/03-poll-front", passed)
