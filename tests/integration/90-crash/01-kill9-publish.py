# SPDX-License-Identifier: MIT
"""I8 durability + I6 audit under SIGKILL: a stream of publishes from several
clients, the server killed with SIGKILL at a random moment, restarted; every
acknowledged version must be there with its bytes, the store must open, and
the audit chain must verify (independently here, and with `cellgate audit
verify` when the CLI is built). At least 50 trials."""
import hashlib, json, os, random, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

TRIALS = int(os.environ.get("CG_CRASH_TRIALS", "50"))
rnd = random.Random(int(os.environ.get("CG_SEED", "1234")))
acked = {}        # (config, number) -> sha256
lock = threading.Lock()

s = h.Server().start()
CONFIGS = ["crash-a", "crash-b", "crash-c", "crash-d"]
for c in CONFIGS:
    st, b = s.api("POST", "/v1/configs", {"name": c, "contract": {"schema": {"type": "object"}}})
    h.check(st == 201, "create %s: %s" % (c, b))


def publisher(cfg, stop, seed):
    r = random.Random(seed)
    while not stop.is_set():
        doc = json.dumps({"seed": seed, "x": r.random(), "pad": "p" * r.randrange(10, 2000)}).encode()
        try:
            st, b = s.api("POST", "/v1/configs/%s/versions" % cfg, doc)
        except OSError:
            return  # server went away: unacknowledged
        if st == 201:
            with lock:
                acked[(cfg, b["number"])] = hashlib.sha256(doc).hexdigest()


for trial in range(TRIALS):
    stop = threading.Event()
    ts = [threading.Thread(target=publisher, args=(c, stop, trial * 10 + i))
          for i, c in enumerate(CONFIGS)]
    for t in ts:
        t.start()
    time.sleep(rnd.uniform(0.02, 0.4))
    s.kill9()
    stop.set()
    for t in ts:
        t.join(30)
    s.start()
    # Every acknowledged version survived, with the same bytes.
    stored = {}
    for c in CONFIGS:
        before = 0
        while True:
            q = "/v1/configs/%s/versions?limit=1000" % c + ("&before=%d" % before if before else "")
            st, b = s.api("GET", q)
            h.check(st == 200, "list after restart: %s" % st)
            for v in b["versions"]:
                stored[(c, v["number"])] = v["sha256"]
            if len(b["versions"]) < 1000:
                break
            before = b["versions"][-1]["number"]
    with lock:
        items = list(acked.items())
    for (c, num), sha in items:
        h.check(stored.get((c, num)) == sha,
                "trial %d: acknowledged %s v%d lost or changed: %s" % (trial, c, num, stored.get((c, num))))
    # Spot-check bytes of the newest acknowledged version of each config.
    for c in CONFIGS:
        nums = [n for (cc, n) in acked if cc == c]
        if nums:
            st, hd, data = s.request("GET", "/v1/configs/%s/versions/%d/raw" % (c, max(nums)))
            h.check(st == 200 and hashlib.sha256(data).hexdigest() == acked[(c, max(nums))],
                    "trial %d: bytes of %s v%d differ" % (trial, c, max(nums)))
    recs = h.audit_all(s)
    bad = h.audit_verify(recs)
    h.check(bad is None, "trial %d: audit chain broken at seq %s" % (trial, bad))
    pubs = sum(1 for r in recs if r["action"] == "version.publish")
    latest = 0
    for c in CONFIGS:
        st, b = s.api("GET", "/v1/configs/" + c)
        latest += b["latest_version"]
    h.check(pubs == latest, "trial %d: %d publish records for %d versions" % (trial, pubs, latest))

if os.path.exists(h.CLI_BIN):
    r = s.cli("audit", "verify")
    h.check(r.returncode == 0, "cellgate audit verify failed: %s %s" % (r.stdout, r.stderr))
s.stop()
print("acknowledged versions checked: %d" % len(acked))
h.done("kill9-publish (%d trials)" % TRIALS, TRIALS)
