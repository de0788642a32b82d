# SPDX-License-Identifier: MIT
"""Security finding 5, connection exhaustion, with the server's default
per-address limits (only --max-conns lowered so the test stays small):

- one_address_cannot_lock_out_the_others: 320 slow connections from one
  address (127.0.0.2: half-sent headers) take at most --max-conns-per-ip
  (256, plus one when the two I/O threads race) of the 300 connections; the rest are closed at once and counted,
  and a client from another address (127.0.0.3) is still served. (Before:
  no per-address limit by default, and the 320 took every connection.)
- failed_authentications_limited_per_address: an address guessing tokens
  gets 401 for its burst, then 429 with Retry-After before its tokens are
  looked up, while another address's valid token still works; counted in
  /metrics.
- localhost_is_exempt: 127.0.0.1 (a local proxy, the simulator) is held to
  neither limit by default."""
import http.client, os, socket, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def req(s, src, path, token):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10, source_address=(src, 0))
    try:
        c.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
        r = c.getresponse()
        r.read()
        return r.status, r.getheader("Retry-After")
    finally:
        c.close()


def metric(s, name):
    st, _, m = s.request("GET", "/metrics")
    for line in m.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no metric %s" % name)


with h.Server(extra_args=["--max-conns", "300"]) as s:
    # one_address_cannot_lock_out_the_others
    socks = []
    try:
        for i in range(320):
            k = socket.create_connection(("127.0.0.1", s.port), timeout=5,
                                         source_address=("127.0.0.2", 0))
            try:
                k.sendall(b"GET /v1/cells HTTP/1.1\r\nHost: x\r\n")  # never finished
            except (ConnectionResetError, BrokenPipeError):
                pass  # refused already (closed at accept): counted below as not alive
            socks.append(k)
        end = time.time() + 20   # the server refuses the extra ones as it accepts them
        while (time.time() < end and
               metric(s, "cellgate_http_conns_refused_per_address_total") < 320 - 257):
            time.sleep(0.1)
        time.sleep(0.3)
        alive = 0
        for k in socks:
            k.setblocking(False)
            try:
                alive += 0 if k.recv(1) == b"" else 1
            except BlockingIOError:
                alive += 1  # still open, nothing said
            except OSError:
                pass
        # each I/O thread (2 by default) checks and counts a connection in
        # turn: two threads racing may let one more in
        h.check(alive <= 256 + 1, "one address holds %d connections" % alive); n += 1
        h.check(metric(s, "cellgate_http_conns_refused_per_address_total") >= 320 - alive,
                "refusals not counted"); n += 1
        st, _ = req(s, "127.0.0.3", "/v1/whoami", s.admin_token)
        h.check(st == 200, "another address was locked out: %s" % st); n += 1
    finally:
        for k in socks:
            k.close()
    print("one_address_cannot_lock_out_the_others: %d of 320 held" % alive)

# A fresh server for the rest: a burst of half-sent connections that the
# long-poll front handed to libmicrohttpd and that then closed is reaped
# by libmicrohttpd only at --conn-timeout (docs/internals/ROUTES.md), and
# the checks below are about authentication, not about that.
with h.Server() as s:
    # failed_authentications_limited_per_address
    codes = [req(s, "127.0.0.2", "/v1/cells", "cg_guess%04d" % i) for i in range(70)]
    first429 = next((i for i, c in enumerate(codes) if c[0] == 429), None)
    h.check(all(c[0] == 401 for c in codes[:50]), "the burst: %s" % codes[:50]); n += 1
    h.check(first429 is not None and first429 >= 50 and codes[first429][1],
            "no 429 with Retry-After after the burst: %s" % codes[50:]); n += 1
    st, _ = req(s, "127.0.0.3", "/v1/whoami", s.admin_token)
    h.check(st == 200, "another address's token: %s" % st); n += 1
    h.check(metric(s, "cellgate_http_auth_blocked_total") >= 1 and
            metric(s, "cellgate_http_auth_failures_total") >= 50, "auth counters"); n += 1
    print("failed_authentications_limited_per_address: 401 x %d, then 429" % first429)

    # localhost_is_exempt
    codes = [req(s, "127.0.0.1", "/v1/cells", "cg_guess%04d" % i)[0] for i in range(80)]
    h.check(set(codes) == {401}, "127.0.0.1 was limited: %s" % set(codes)); n += 1
print("ok: %d checks" % n)
