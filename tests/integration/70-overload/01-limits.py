# SPDX-License-Identifier: MIT
"""Overload protections of the server (issue: overload and metastability):
a full lane sheds *that lane* with 503 and a jittered Retry-After while the
control lane keeps working; per-token rate limits answer 429 with
Retry-After; the parked long-poll limit sheds, and a parked poll whose
client closed its connection is released; a queued request whose
client has given up (its Cellgate-Timeout-Ms passed, or it closed the
connection) is dropped before any work; --fault-delay injects a slow lane;
--no-shed turns the protections off; /metrics counts what was shed."""
import os, socket, subprocess, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return None

# A read lane with one worker and a queue of one: a burst of readers must be shed.
with h.Server(extra_args=["--lane", "read=1/1", "--max-parked", "2"]) as s:
    for i in range(20):
        s.api("POST", "/v1/cells", {"id": "c%d" % i, "region": "r", "zone": "z%d" % (i % 3)})
    codes, ras = [], []
    lock = threading.Lock()
    def reader():
        for _ in range(20):
            st, hd, _ = s.request("GET", "/v1/cells")
            with lock:
                codes.append(st)
                if st == 503:
                    ras.append(hd.get("retry-after"))
    ts = [threading.Thread(target=reader) for _ in range(24)]
    for t in ts: t.start()
    # The control lane keeps working during the burst.
    t0 = time.time()
    ctl = [s.api("POST", "/v1/cells", {"id": "ctl%d" % i, "region": "r", "zone": "z"})[0] for i in range(5)]
    ctl_s = time.time() - t0
    for t in ts: t.join(60)
    h.check(503 in codes and 200 in codes, "read lane under burst: %s" % {c: codes.count(c) for c in set(codes)})
    h.check(all(r and r.isdigit() and 1 <= int(r) <= 5 for r in ras), "Retry-After values %s" % ras[:10])
    h.check(ctl == [201] * 5 and ctl_s < 10, "control lane during the burst: %s in %.2fs" % (ctl, ctl_s))
    n += 1
    # Parked long-poll limit: the third parked poll is shed.
    st, hd, _ = s.request("GET", "/v1/agent/desired?cell=c1")
    etag = hd["etag"]
    res = []
    def park():
        res.append(s.request("GET", "/v1/agent/desired?cell=c1&wait=3", headers={"If-None-Match": etag})[0])
    ps = [threading.Thread(target=park) for _ in range(2)]
    for p in ps: p.start()
    time.sleep(0.5)
    st, hd, _ = s.request("GET", "/v1/agent/desired?cell=c1&wait=3", headers={"If-None-Match": etag})
    h.check(st == 503 and hd.get("retry-after"), "third parked poll: %s" % st)
    for p in ps: p.join(10)
    h.check(res == [304, 304], "parked polls: %s" % res)
    n += 1
    # Parked polls whose client went away (an agent killed, a proxy that gave
    # up) are released within about a second: they must not hold the parked
    # limit and a descriptor for the rest of their wait.
    def fds():
        return len(os.listdir("/proc/%d/fd" % s.proc.pid))
    def parked_metric():
        text = s.request("GET", "/metrics")[2].decode()
        return (metric(text, "cellgate_longpolls_parked"), metric(text, "cellgate_longpolls_abandoned_total"))
    fd0 = fds()
    socks = []
    for _ in range(2):
        c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
        c.sendall(("GET /v1/agent/desired?cell=c1&wait=60 HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\nIf-None-Match: %s\r\n\r\n" % (s.admin_token, etag)).encode())
        socks.append(c)
    deadline = time.time() + 5
    while parked_metric()[0] != 2 and time.time() < deadline:
        time.sleep(0.05)
    h.check(parked_metric() == (2, 0), "two raw long-polls parked: %s" % (parked_metric(),))
    for c in socks:
        c.close()
    t0 = time.time()
    while parked_metric()[0] != 0 and time.time() < t0 + 10:
        time.sleep(0.05)
    gone_s = time.time() - t0
    h.check(parked_metric() == (0, 2) and gone_s < 5,
            "closed clients' polls released: %s after %.2fs" % (parked_metric(), gone_s))
    time.sleep(0.2)
    h.check(fds() <= fd0, "descriptors released: %d, before %d" % (fds(), fd0))
    # the slots are free again: a live poll parks (not shed) and is answered
    st, _, _ = s.request("GET", "/v1/agent/desired?cell=c1&wait=1", headers={"If-None-Match": etag})
    h.check(st == 304, "a live poll parks after the release: %s" % st)
    n += 1
    st, _, body = s.request("GET", "/metrics")
    text = body.decode()
    h.check('cellgate_lane_shed_total{lane="read"} 0' not in text and "cellgate_longpolls_shed_total 1" in text,
            "shed counters in /metrics")
    n += 1

# Per-token rate limit.
with h.Server(extra_args=["--token-rate", "5", "--token-burst", "5"]) as s:
    got = [s.request("GET", "/v1/cells") for _ in range(15)]
    codes = [g[0] for g in got]
    h.check(codes[:5] == [200] * 5 and 429 in codes, "rate limit: %s" % codes)
    ra = [g[1].get("retry-after") for g in got if g[0] == 429]
    h.check(all(r and r.isdigit() for r in ra), "429 Retry-After %s" % ra)
    time.sleep(1.2)
    h.check(s.request("GET", "/v1/cells")[0] == 200, "tokens refill")
    n += 1

# No work for clients that gave up: a read lane of one worker held 400 ms per
# request by --fault-delay; requests queued behind it wait ~400 ms.
with h.Server(extra_args=["--lane", "read=1/16", "--fault-delay", "read=400"]) as s:
    busy = []
    def hold():
        busy.append(s.request("GET", "/v1/cells")[0])
    t0 = time.time()
    hold()
    h.check(busy == [200] and time.time() - t0 >= 0.4, "fault delay: %s in %.3fs" % (busy, time.time() - t0))
    # (1) its own deadline (100 ms) has passed when a worker is free: dropped
    th = threading.Thread(target=hold); th.start(); time.sleep(0.15)
    st, hd, body = s.request("GET", "/v1/cells", headers={"Cellgate-Timeout-Ms": "100"})
    th.join(10)
    h.check(st == 503 and hd.get("retry-after") and b"dropped" in body, "past the client's deadline: %s %s" % (st, body[:120]))
    # (2) a deadline it can meet, and a malformed one (ignored): served
    th = threading.Thread(target=hold); th.start(); time.sleep(0.15)
    got = [s.request("GET", "/v1/cells", headers={"Cellgate-Timeout-Ms": v})[0] for v in ("5000", "12abc")]
    th.join(10)
    h.check(got == [200, 200], "deadlines met or malformed: %s" % got)
    # (3) the client closes its connection while queued: dropped unprocessed
    th = threading.Thread(target=hold); th.start(); time.sleep(0.15)
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.sendall(("GET /v1/cells HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % s.admin_token).encode())
    time.sleep(0.05)
    c.close()
    th.join(10)
    time.sleep(0.6)  # the dropped one would have taken 400 ms more
    text = s.request("GET", "/metrics")[2].decode()
    exp = metric(text, 'cellgate_lane_expired_total{lane="read"}')
    ab = metric(text, 'cellgate_lane_abandoned_total{lane="read"}')
    fd = metric(text, 'cellgate_fault_delay_seconds{lane="read"}')
    h.check(exp == 1 and ab == 1 and fd == 0.4, "expired %s abandoned %s fault delay %s" % (exp, ab, fd))
    h.check(busy == [200] * 4, "the requests that held the worker: %s" % busy)
    log = open(s.log_path).read()
    h.check("FAULT INJECTION" in log, "the server says fault injection is on")
    n += 1
for bad in ("read", "read=", "nolane=5", "read=70000", "read=-1"):
    r = subprocess.run([h.SERVER_BIN, "serve", "--data", "/nonexistent/x", "--fault-delay", bad],
                       capture_output=True, timeout=30)
    h.check(r.returncode == 2, "--fault-delay %s refused: %s" % (bad, r.returncode))
n += 1

# --no-shed: nothing is refused (the naive mode the metastability test compares against).
with h.Server(extra_args=["--no-shed", "--lane", "read=1/1", "--token-rate", "1"]) as s:
    codes = []
    def reader2():
        for _ in range(10):
            codes.append(s.request("GET", "/v1/cells")[0])
    ts = [threading.Thread(target=reader2) for _ in range(16)]
    for t in ts: t.start()
    for t in ts: t.join(60)
    h.check(set(codes) == {200}, "--no-shed refused requests: %s" % set(codes))
    n += 1
h.done("overload-limits", n)
