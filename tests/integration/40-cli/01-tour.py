# SPDX-License-Identifier: MIT
"""The README tour, driven only through the `cellgate` CLI: cells, configs,
validate (good/bad and exit codes), publish (good -> versions 1 and 2, bad ->
exit 1 with every violation), versions, show, diff, plans, audit and
audit verify. Every read command's --json output must parse."""
import hashlib, json, os, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def ok(r, what):
    h.check(r.returncode == 0, "%s: exit %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, r.stdout, r.stderr))
    return r


def code(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


def js(r, what):
    ok(r, what)
    try:
        return json.loads(r.stdout)
    except ValueError:
        h.fail("%s: --json output does not parse: %r" % (what, r.stdout))


tmp = tempfile.mkdtemp(prefix="cgcli.")
contract = h.write(tmp, "contract.json", json.dumps(h.FEATURE_CONTRACT))
good_doc = json.dumps(h.features(60))
good = h.write(tmp, "v1.json", good_doc)
v2_doc = json.dumps(h.features(63))
v2 = h.write(tmp, "v2.json", v2_doc)
doubled = h.write(tmp, "doubled.json", json.dumps(h.features(240)))
plan = h.write(tmp, "plan.json", json.dumps({"waves": [
    {"name": "canary", "cells": 1, "bake_s": 60, "min_requests": 100},
    {"name": "rest", "percent": 100, "bake_s": 0}]}))
bad_plan = h.write(tmp, "bad-plan.json", json.dumps({"waves": [{"name": "x", "percent": 300}],
                                                     "skip_bake": True}))

with h.Server() as s:
    r = ok(s.cli("whoami"), "whoami")
    h.check("admin" in r.stdout, "whoami output %r" % r.stdout); n += 1
    b = js(s.cli("whoami", "--json"), "whoami --json")
    h.check(b["role"] == "admin", "whoami json %s" % b); n += 1

    # cells
    r = ok(s.cli("cell", "add", "use1-az1-c01", "--region", "us-east-1", "--zone", "use1-az1",
                 "--label", "tier=web"), "cell add")
    h.check("added cell use1-az1-c01" in r.stdout, "cell add output %r" % r.stdout); n += 1
    ok(s.cli("cell", "add", "use1-az2-c01", "--region=us-east-1", "--zone=use1-az2"), "cell add 2")
    r = code(s.cli("cell", "add", "use1-az1-c01", "--region", "us-east-1", "--zone", "use1-az1"),
             3, "duplicate cell")
    h.check(r.stderr.startswith("cellgate: "), "error prefix %r" % r.stderr); n += 1
    code(s.cli("cell", "add", "x", "--region", "r"), 2, "cell add without --zone"); n += 1
    code(s.cli("cell", "add", "x", "--region", "r", "--zone", "z", "--label", "novalue"), 2,
         "bad label"); n += 1
    r = ok(s.cli("cells"), "cells")
    lines = r.stdout.splitlines()
    h.check(lines[0].split()[:3] == ["ID", "REGION", "ZONE"] and len(lines) == 3
            and "tier=web" in r.stdout, "cells table %r" % r.stdout); n += 1
    h.check(ok(s.cli("cell", "list"), "cell list").stdout == r.stdout, "cell list == cells"); n += 1
    b = js(s.cli("cells", "--json"), "cells --json")
    h.check(sorted(c["id"] for c in b["cells"]) == ["use1-az1-c01", "use1-az2-c01"], "%s" % b); n += 1
    b = js(s.cli("--json", "cell", "show", "use1-az1-c01"), "cell show --json")
    h.check(b["labels"] == {"tier": "web"}, "labels %s" % b); n += 1
    code(s.cli("cell", "show", "nope"), 3, "cell show missing"); n += 1

    # configs
    r = ok(s.cli("config", "create", "bot-features", "--kind", "config", "--contract", contract),
           "config create")
    h.check("created config bot-features" in r.stdout, "%r" % r.stdout); n += 1
    code(s.cli("config", "create", "x", "--kind", "config", "--contract",
               os.path.join(tmp, "missing.json")), 2, "missing contract file"); n += 1
    r = ok(s.cli("config", "list"), "config list")
    h.check("bot-features" in r.stdout and r.stdout.startswith("NAME"), "%r" % r.stdout); n += 1
    b = js(s.cli("config", "list", "--json"), "config list --json")
    h.check(b["configs"][0]["name"] == "bot-features", "%s" % b); n += 1
    r = ok(s.cli("config", "show", "bot-features"), "config show")
    h.check("kind:" in r.stdout and "cardinality" in r.stdout, "%r" % r.stdout); n += 1
    b = js(s.cli("config", "show", "bot-features", "--json"), "config show --json")
    h.check(b["contract"]["max_bytes"] == 1048576, "%s" % b); n += 1

    # validate: dry run, exit 1 on violations
    r = ok(s.cli("validate", "bot-features", good), "validate good")
    h.check("is valid" in r.stdout, "%r" % r.stdout); n += 1
    r = code(s.cli("validate", "bot-features", doubled), 1, "validate too many (no live yet)")
    h.check("/features cardinality" in r.stdout and "(expected" in r.stdout
            and "1 violation" in r.stdout, "%r" % r.stdout); n += 1
    b = json.loads(code(s.cli("validate", "bot-features", doubled, "--json"), 1,
                        "validate --json").stdout)
    h.check(b["valid"] is False and b["violations"], "%s" % b); n += 1
    code(s.cli("validate", "no-such-config", good), 3, "validate unknown config"); n += 1
    code(s.cli("validate", "bot-features"), 2, "validate without FILE"); n += 1

    # publish
    r = ok(s.cli("publish", "bot-features", good, "-m", "first"), "publish 1")
    sha1 = hashlib.sha256(good_doc.encode()).hexdigest()
    h.check("published bot-features version 1 sha256 %s" % sha1 in r.stdout, "%r" % r.stdout); n += 1
    r = code(s.cli("validate", "bot-features", doubled), 1, "validate doubled against v1")
    vlines = [l for l in r.stdout.splitlines() if l.startswith("/") or l.startswith("(root)")]
    h.check(any("cardinality" in l for l in vlines) and any("growth" in l for l in vlines),
            "violations listed %r" % r.stdout)
    h.check(all("expected" in l and "actual" in l for l in vlines if "cardinality" in l),
            "expected/actual shown %r" % r.stdout); n += 1
    r = code(s.cli("publish", "bot-features", doubled, "-m", "doubled"), 1, "publish doubled")
    h.check("cardinality" in r.stdout and "growth" in r.stdout and "violation" in r.stdout
            and "not published" in r.stderr, "%r %r" % (r.stdout, r.stderr)); n += 1
    code(s.cli("publish", "bot-features", good), 2, "publish without -m"); n += 1
    r = ok(s.cli("publish", "bot-features", "-", "--message", "add 3 features", input=v2_doc),
           "publish 2 from stdin")
    h.check("version 2 " in r.stdout, "%r" % r.stdout); n += 1

    # versions / show
    r = ok(s.cli("versions", "bot-features"), "versions")
    rows = r.stdout.splitlines()[1:]
    h.check([row.split()[0] for row in rows] == ["2", "1"] and "add 3 features" in r.stdout,
            "versions %r" % r.stdout); n += 1
    r = ok(s.cli("versions", "bot-features", "--limit", "1"), "versions --limit")
    h.check(len(r.stdout.splitlines()) == 2, "%r" % r.stdout); n += 1
    b = js(s.cli("versions", "bot-features", "--json"), "versions --json")
    h.check([v["number"] for v in b["versions"]] == [2, 1], "%s" % b); n += 1
    r = ok(s.cli("show", "bot-features", "1"), "show")
    h.check(sha1 in r.stdout and "first" in r.stdout and '"features"' in r.stdout, "%r" % r.stdout)
    n += 1
    r = ok(s.cli("show", "bot-features", "2", "--raw"), "show --raw")
    h.check(r.stdout == v2_doc, "raw bytes differ"); n += 1
    b = js(s.cli("show", "bot-features", "2", "--json"), "show --json")
    h.check(b["number"] == 2 and b["parent"] == 1, "%s" % b); n += 1
    code(s.cli("show", "bot-features", "99"), 3, "show missing version"); n += 1
    code(s.cli("show", "bot-features", "x"), 2, "show bad number"); n += 1

    # diff: pretty-printed, sorted keys, unified
    r = ok(s.cli("diff", "bot-features", "1", "2"), "diff")
    out = r.stdout.splitlines()
    h.check(out[0] == "--- bot-features@1" and out[1] == "+++ bot-features@2"
            and out[2].startswith("@@ "), "diff header %r" % r.stdout)
    added = [l for l in out if l.startswith("+") and not l.startswith("+++")]
    h.check(any('"f060"' in l for l in added) and any('"f062"' in l for l in added)
            and not any(l.startswith("-") and not l.startswith("---") for l in out),
            "diff body %r" % r.stdout); n += 1
    r = ok(s.cli("diff", "bot-features", "2", "2"), "diff same")
    h.check(r.stdout == "", "diff of equal versions %r" % r.stdout); n += 1
    r = ok(s.cli("diff", "bot-features", "1", "2", "-U", "0"), "diff -U0")
    h.check(not any(l.startswith(" ") for l in r.stdout.splitlines()), "%r" % r.stdout); n += 1

    # plans
    r = ok(s.cli("plan", "set", "fast", plan), "plan set")
    h.check("created plan fast" in r.stdout, "%r" % r.stdout)
    r = ok(s.cli("plan", "set", "fast", plan), "plan set again")
    h.check("updated plan fast" in r.stdout, "%r" % r.stdout); n += 1
    r = code(s.cli("plan", "set", "bad", bad_plan), 1, "invalid plan")
    h.check("cellgate: " in r.stderr, "%r" % r.stderr); n += 1
    r = ok(s.cli("plan", "show", "fast"), "plan show")
    h.check("canary" in r.stdout, "%r" % r.stdout)
    b = js(s.cli("plan", "show", "fast", "--json"), "plan show --json")
    h.check(b["plan"]["waves"][0]["name"] == "canary", "%s" % b)
    r = ok(s.cli("plan", "list"), "plan list")
    h.check("canary,rest" in r.stdout, "%r" % r.stdout)
    js(s.cli("plan", "list", "--json"), "plan list --json"); n += 1
    r = ok(s.cli("config", "set-plan", "bot-features", "fast"), "set-plan")
    b = js(s.cli("config", "show", "bot-features", "--json"), "config show")
    h.check(b["plan"] == "fast", "%s" % b); n += 1

    # audit
    r = ok(s.cli("audit"), "audit")
    head = r.stdout.splitlines()[0].split()
    h.check(head == ["SEQ", "TIME", "ACTOR", "ACTION", "OBJECT", "REASON"], "%r" % head)
    h.check("version.publish" in r.stdout and "add 3 features" in r.stdout, "%r" % r.stdout); n += 1
    r = ok(s.cli("audit", "--limit", "2"), "audit --limit")
    h.check(len(r.stdout.splitlines()) == 3, "%r" % r.stdout)
    b = js(s.cli("audit", "--after", "2", "--json"), "audit --json")
    h.check(b["records"][0]["seq"] == 3, "%s" % b); n += 1
    records = h.audit_all(s)
    r = ok(s.cli("audit", "verify"), "audit verify")
    h.check(r.stdout.splitlines()[0] == "audit chain OK: %d records" % len(records),
            "%r" % r.stdout); n += 1

    # version, never needs a server
    r = ok(s.cli("version"), "version")
    h.check(r.stdout.startswith("cellgate "), "%r" % r.stdout); n += 1

h.done("40-cli/01-tour", n)
