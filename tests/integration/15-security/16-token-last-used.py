# SPDX-License-Identifier: MIT
"""When each token was last used (issue "security hardening"), without a
write per request: the transport notes every authenticated request's token
and writes a token's use at most once a minute, off the request path
(server/http/lastused.c, store_token_touch(), not audited).

- last_used_after_a_request: a new token shows last_used null ("never" in
  `cellgate token list`); after one request it shows a time between the
  request and now (bounded wait: the writer batches for a second).
- not_on_every_request: more requests with it in the next seconds do not
  move last_used_ms (the next write would be a minute later); no audit
  record for any of it; cellgate_token_last_used_writes_total counts the
  writes.
- survives_restart_and_dump: the times, an expiry, a scope and a rotation
  survive a restart, and `cellgate dump` then `load` into a new data
  directory keeps every new column (expires, configs, last used,
  rotated_to) of every token."""
import os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
tmp = tempfile.mkdtemp(prefix="cglastused.")
FIELDS = ("id", "name", "role", "expires_ms", "last_used_ms", "configs", "rotated_to",
          "revoked_at")


def token(s, tid):
    st, b = s.api("GET", "/v1/tokens")
    h.check(st == 200, "list: %s" % st)
    return [t for t in b["tokens"] if t["id"] == tid][0]


def metric(s, name):
    st, _, m = s.request("GET", "/metrics")
    for line in m.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    h.fail("no metric %s" % name)


def tokens_of(s):
    st, b = s.api("GET", "/v1/tokens")
    return [{k: t[k] for k in FIELDS} for t in b["tokens"]]


with h.Server(keep=True) as s:
    # last_used_after_a_request
    st, b = s.api("POST", "/v1/tokens", {"name": "viewer", "role": "reader"})
    rd, rid = b["token"], b["id"]
    h.check(b["last_used_at"] is None and b["last_used_ms"] == 0, "new: %s" % b); n += 1
    r = s.cli("token", "list")
    row = [line for line in r.stdout.splitlines() if line.split()[:2] == [str(rid), "viewer"]]
    h.check(row and "never" in row[0], "list: %r" % r.stdout); n += 1
    t0 = int(time.time() * 1000)
    st, _ = s.api("GET", "/v1/cells", token=rd)
    h.check(st == 200, "use: %s" % st)
    deadline = time.time() + 30
    while token(s, rid)["last_used_ms"] == 0:
        h.check(time.time() < deadline, "last_used never written")
        time.sleep(0.2)
    first = token(s, rid)
    h.check(t0 <= first["last_used_ms"] <= int(time.time() * 1000) and first["last_used_at"],
            "the request's time: %s (sent at %d)" % (first, t0)); n += 1
    r = s.cli("token", "list")
    row = [line for line in r.stdout.splitlines() if line.split()[:2] == [str(rid), "viewer"]]
    h.check(row and " ago" in row[0], "list: %r" % r.stdout); n += 1
    print("last_used_after_a_request: ok")

    # not_on_every_request
    audit_before = len(h.audit_all(s))
    for _ in range(5):
        st, _ = s.api("GET", "/v1/whoami", token=rd)
        h.check(st == 200, "whoami: %s" % st)
        time.sleep(0.4)
    time.sleep(2.5)  # past the writer's one-second batching
    again = token(s, rid)
    h.check(again["last_used_ms"] == first["last_used_ms"],
            "written on every request: %s then %s" % (first, again)); n += 1
    recs = h.audit_all(s)
    h.check(len(recs) == audit_before, "a use is not audited: %s" % recs[audit_before:]); n += 1
    h.check(metric(s, "cellgate_token_last_used_writes_total") >= 2 and
            metric(s, "cellgate_token_last_used_dropped_total") == 0, "counted"); n += 1
    print("not_on_every_request: ok")

    # survives_restart_and_dump
    st, b = s.api("POST", "/v1/tokens", {"name": "ci", "role": "deployer", "ttl_s": 86400,
                                         "configs": ["app", "web"]})
    ci_id = b["id"]
    st, _ = s.api("GET", "/v1/cells", token=b["token"])
    st, b = s.api("POST", "/v1/tokens/%d/rotate" % ci_id, {"grace_s": 3600})
    h.check(st == 201, "rotate: %s %s" % (st, b))
    deadline = time.time() + 30
    while token(s, ci_id)["last_used_ms"] == 0:
        h.check(time.time() < deadline, "ci's use never written")
        time.sleep(0.2)
    s.stop()
    s.start()
    before = tokens_of(s)
    h.check(token(s, rid)["last_used_ms"] == first["last_used_ms"], "after a restart"); n += 1
    old = [t for t in before if t["id"] == ci_id][0]
    h.check(old["rotated_to"] and old["configs"] == ["app", "web"] and old["expires_ms"] > 0
            and old["last_used_ms"] > 0, "the rotated token: %s" % old); n += 1
    src, admin = s.data_dir, s.admin_token

dump = os.path.join(tmp, "backup.jsonl")
r = subprocess.run([h.SERVER_BIN, "dump", "--data", src, "--out", dump], capture_output=True,
                   text=True, timeout=120)
h.check(r.returncode == 0, "dump: %r" % r.stderr)
d2 = os.path.join(tmp, "copy")
os.makedirs(d2)
shutil.copy(os.path.join(src, "signing.key"), d2)
r = subprocess.run([h.SERVER_BIN, "load", "--data", d2, "--in", dump], capture_output=True,
                   text=True, timeout=120)
h.check(r.returncode == 0, "load: %r" % r.stderr)
with open(os.path.join(d2, "admin.token"), "w") as f:
    f.write(admin)
with h.Server(data_dir=d2) as s2:
    after = tokens_of(s2)
    # the copy's own requests (this list) may have moved the admin token's
    # last use; every other token is exactly as it was
    h.check([t for t in after if t["id"] != 1] == [t for t in before if t["id"] != 1],
            "the copy's tokens:\n%s\nvs\n%s" % (after, before)); n += 1
print("survives_restart_and_dump: ok")
shutil.rmtree(tmp, ignore_errors=True)
shutil.rmtree(src, ignore_errors=True)

h.done("15-security/16-token-last-used", n)
