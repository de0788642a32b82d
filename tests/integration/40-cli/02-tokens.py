# SPDX-License-Identifier: MIT
"""Tokens through the CLI: create (secret shown once, with a warning),
publish with a deployer token, a reader is refused (403, exit 5), list,
revoke (then 401, exit 4), and a missing or bogus token (401, exit 4)."""
import json, os, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def run(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


def secret_of(r):
    for line in r.stdout.splitlines():
        if line.startswith("token: "):
            return line.split(": ", 1)[1].strip()
    h.fail("no secret in %r" % r.stdout)


tmp = tempfile.mkdtemp(prefix="cgcli.")
contract = h.write(tmp, "contract.json", json.dumps(h.FEATURE_CONTRACT))
doc = h.write(tmp, "v1.json", json.dumps(h.features(60)))
doc2 = h.write(tmp, "v2.json", json.dumps(h.features(61)))

with h.Server() as s:
    run(s.cli("config", "create", "bot-features", "--kind", "config", "--contract", contract), 0,
        "config create")

    r = run(s.cli("token", "create", "--role", "deployer", "--name", "ci"), 0, "token create")
    h.check("role deployer" in r.stdout and "not" in r.stderr.lower()
            and "shown again" in r.stderr, "%r %r" % (r.stdout, r.stderr))
    deployer = secret_of(r); n += 1
    r = run(s.cli("whoami", token=deployer), 0, "whoami deployer")
    h.check("deployer" in r.stdout, "%r" % r.stdout); n += 1
    r = run(s.cli("publish", "bot-features", doc, "-m", "by ci", token=deployer), 0,
            "publish as deployer")
    h.check("version 1" in r.stdout, "%r" % r.stdout); n += 1

    r = run(s.cli("token", "create", "--role", "reader", "--name", "viewer", "--json"), 0,
            "token create --json")
    b = json.loads(r.stdout)
    h.check(b["role"] == "reader" and b["token"], "%s" % b)
    reader = b["token"]; n += 1
    r = run(s.cli("publish", "bot-features", doc2, "-m", "x", token=reader), 5,
            "reader publish refused")
    h.check(r.stderr.startswith("cellgate: "), "%r" % r.stderr); n += 1
    run(s.cli("versions", "bot-features", token=reader), 0, "reader may read"); n += 1
    run(s.cli("token", "list", token=reader), 5, "reader cannot list tokens (403)"); n += 1

    r = run(s.cli("token", "list"), 0, "token list")
    h.check("ci" in r.stdout and "viewer" in r.stdout and deployer not in r.stdout,
            "list shows names, never secrets %r" % r.stdout); n += 1
    b = json.loads(run(s.cli("token", "list", "--json"), 0, "token list --json").stdout)
    tid = [t["id"] for t in b["tokens"] if t["name"] == "viewer"][0]
    r = run(s.cli("token", "revoke", str(tid)), 0, "revoke")
    h.check("revoked" in r.stdout, "%r" % r.stdout); n += 1
    run(s.cli("whoami", token=reader), 4, "revoked token -> 401"); n += 1
    r = run(s.cli("whoami", token=None), 4, "no token")
    h.check("CELLGATE_TOKEN" in r.stderr, "hint missing %r" % r.stderr); n += 1
    run(s.cli("whoami", "--token", "bogus", token=None), 4, "bogus token"); n += 1
    run(s.cli("token", "create", "--role", "deployer"), 2, "token create without --name"); n += 1

h.done("40-cli/02-tokens", n)
