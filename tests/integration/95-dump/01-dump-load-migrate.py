# SPDX-License-Identifier: MIT
"""`cellgated dump`, `load` and `migrate` on SQLite (and the store's record
of its signing key, which refuses a replica with another key): a dump of a used store
loads into a new data directory (with the original signing key) as the
same store: versions, generations, tokens and the audit chain with the
same head; the copy serves and goes on. A dump that was edited (one audit
reason) or truncated (no trailer) loads nothing; a load without the key,
into a used store, or of a foreign file is refused. `migrate` copies a
data directory into another store the same way."""
import json, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
tmp = tempfile.mkdtemp(prefix="cgdump.")


def cg(*args, input=None):
    return subprocess.run([h.SERVER_BIN] + list(args), capture_output=True, text=True,
                          input=input, timeout=120)


def audit_head(s):
    """(seq, hash) of the newest record; the whole chain verifies."""
    r = s.cli("audit", "verify")
    h.check(r.returncode == 0, "audit verify: %r %r" % (r.stdout, r.stderr))
    for line in r.stdout.splitlines():
        if "head:" in line:
            seq = int(line.split("seq", 1)[1].split()[0])
            return seq, line.split("hash", 1)[1].strip()
    h.fail("no head in %r" % r.stdout)


def same_history(s, head):
    """The copy's chain verifies and holds the original's record at the
    original's head (a later record is the copy's own: it took the
    controller lease when it started)."""
    audit_head(s)
    st, b = s.api("GET", "/v1/audit?after=%d&limit=1" % (head[0] - 1))
    return st == 200 and b["records"] and b["records"][0]["hash"] == head[1]


with h.Server(keep=True) as s:
    s.api("POST", "/v1/cells", {"id": "c1", "region": "r1", "zone": "z1"})
    s.api("POST", "/v1/configs", {"name": "app", "kind": "config",
                                  "contract": h.FEATURE_CONTRACT})
    for k in (60, 61):
        st, _, _ = s.request("POST", "/v1/configs/app/versions?message=v",
                             json.dumps(h.features(k)), headers={"Content-Type":
                                                                 "application/json"})
        h.check(st == 201, "publish %s" % st)
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 2, "cells": ["c1"],
                                                     "expect_generation": 0})
    h.check(st in (200, 201), "assign %s %s" % (st, b))
    st, b = s.api("POST", "/v1/tokens", {"name": "ci", "role": "deployer"})
    h.check(st == 201, "token %s" % st)
    ci = b["token"]
    head = audit_head(s)
    src = s.data_dir
    token = s.admin_token

dump = os.path.join(tmp, "backup.jsonl")
r = cg("dump", "--data", src, "--out", dump)
h.check(r.returncode == 0 and "dumped" in r.stderr, "dump: %r" % r.stderr); n += 1
h.check(oct(os.stat(dump).st_mode & 0o777) == "0o600", "dump mode"); n += 1
lines = open(dump).read().splitlines()
h.check(json.loads(lines[0])["format"] == "cellgate-dump" and "end" in json.loads(lines[-1]),
        "header and trailer"); n += 1

# no key: refused, nothing created
d2 = os.path.join(tmp, "d2")
r = cg("load", "--data", d2, "--in", dump)
h.check(r.returncode == 1 and "signing.key" in r.stderr, "load without key: %r" % r.stderr)
n += 1
os.makedirs(d2, exist_ok=True)
shutil.copy(os.path.join(src, "signing.key"), d2)

# edited and truncated dumps load nothing
bad = os.path.join(tmp, "edited.jsonl")
edited = []
done = False
for line in lines:
    o = json.loads(line)
    if not done and o.get("t") == "audit" and o["r"]["action"] == "version.publish":
        o["r"]["reason"] = "nothing to see"
        done = True
    edited.append(json.dumps(o))
open(bad, "w").write("\n".join(edited) + "\n")
r = cg("load", "--data", d2, "--in", bad)
h.check(r.returncode == 1 and "hash mismatch" in r.stderr, "edited: %r" % r.stderr); n += 1
h.check(not os.path.exists(os.path.join(d2, "cellgate.db")), "edited load left a store"); n += 1
short = os.path.join(tmp, "short.jsonl")
open(short, "w").write("\n".join(lines[:-1]) + "\n")
r = cg("load", "--data", d2, "--in", short)
h.check(r.returncode == 1 and "truncated" in r.stderr, "truncated: %r" % r.stderr); n += 1
r = cg("load", "--data", d2, "--in", "-", input='{"hello":1}\n')
h.check(r.returncode == 1 and "not a cellgate dump" in r.stderr, "foreign: %r" % r.stderr)
n += 1

# the good dump loads; the copy is the same store and goes on
r = cg("load", "--data", d2, "--in", dump)
h.check(r.returncode == 0 and "audit chain verifies" in r.stderr, "load: %r" % r.stderr); n += 1
r = cg("load", "--data", d2, "--in", dump)
h.check(r.returncode == 1 and "exists" in r.stderr, "load twice: %r" % r.stderr); n += 1
open(os.path.join(d2, "admin.token"), "w").write(token)
with h.Server(data_dir=d2, keep=True) as s2:
    h.check(same_history(s2, head), "the copy's history differs"); n += 1
    st, b = s2.api("GET", "/v1/configs/app")
    h.check(st == 200 and b["generation"] == 1 and b["latest_version"] == 2, "config %s" % b)
    n += 1
    st, b = s2.api("GET", "/v1/whoami", token=ci)
    h.check(st == 200 and b["name"] == "ci", "the deployer token works on the copy: %s" % b)
    n += 1
    st, b = s2.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["c1"],
                                                      "expect_generation": 1})
    h.check(st in (200, 201) and b["generation"] == 2, "the copy goes on: %s %s" % (st, b)); n += 1

# migrate: the same, in one command
d3 = os.path.join(tmp, "d3")
os.makedirs(d3)
shutil.copy(os.path.join(src, "signing.key"), d3)
r = cg("migrate", "--from-data", src, "--to", "sqlite:" + os.path.join(d3, "cellgate.db"))
h.check(r.returncode == 0 and "audit chain verifies" in r.stderr and "next:" in r.stderr,
        "migrate: %r" % r.stderr); n += 1
open(os.path.join(d3, "admin.token"), "w").write(token)
with h.Server(data_dir=d3) as s3:
    h.check(same_history(s3, head), "the migrated history differs"); n += 1
# a replica with another signing key is refused: the store knows its key
other = os.path.join(tmp, "other")
r = cg("init", "--data", other)
h.check(r.returncode == 0, "init other: %r" % r.stderr)
shutil.copy(os.path.join(d3, "signing.key"), os.path.join(tmp, "d3.key"))
shutil.copy(os.path.join(other, "signing.key"), os.path.join(d3, "signing.key"))
r = cg("serve", "--data", d3, "--listen", "127.0.0.1:0")
h.check(r.returncode == 1 and "copy the cluster's signing.key" in r.stderr,
        "a foreign key: %d %r" % (r.returncode, r.stderr)); n += 1
shutil.copy(os.path.join(tmp, "d3.key"), os.path.join(d3, "signing.key"))
r = cg("migrate", "--from-data", src, "--to", "sqlite:" + os.path.join(d3, "cellgate.db"))
h.check(r.returncode == 1 and "not empty" in r.stderr, "migrate into a used store: %r"
        % r.stderr); n += 1
r = cg("migrate", "--to", "x")
h.check(r.returncode == 2, "migrate without --from-data: %d" % r.returncode); n += 1

shutil.rmtree(tmp, ignore_errors=True)
shutil.rmtree(src, ignore_errors=True)
print("ok: %d checks" % n)
