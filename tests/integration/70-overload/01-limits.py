"""Overload protections of the server (issue: overload and metastability):
a full lane sheds *that lane* with 503 and a jittered Retry-After while the
control lane keeps working; per-token rate limits answer 429 with
Retry-After; the parked long-poll limit sheds; --no-shed turns them off;
/metrics counts what was shed."""
import os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
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
