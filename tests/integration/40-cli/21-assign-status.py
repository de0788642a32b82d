# SPDX-License-Identifier: MIT
"""`cellgate assign`, `status` and `hosts` against a real server, with
synthetic agent reports posted with the admin token: one host applies, one
is behind, one rejects with violations. Checks the human output, --json for
every read command, exit codes for conflicts and usage errors."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def code(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


def ok(r, what):
    return code(r, 0, what)


def js(r, what):
    ok(r, what)
    try:
        return json.loads(r.stdout)
    except ValueError:
        h.fail("%s: --json output does not parse: %r" % (what, r.stdout))


def report(s, host, cell, seq, version, gen, outcome="applied", lkg=None, **extra):
    lkg_v, lkg_g = lkg if lkg else (version, gen)
    c = {"config": "cfg", "version": version, "generation": gen, "outcome": outcome,
         "lkg_version": lkg_v, "lkg_generation": lkg_g}
    c.update(extra)
    st, b = s.api("POST", "/v1/agent/report", {"host": host, "cell": cell, "seq": seq,
                                               "window_ms": 1000, "configs": [c],
                                               "health": {"requests": 10, "errors": 0}})
    h.check(st == 204, "report %s: %s %s" % (host, st, b))


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    for c, reg, z in [("c1", "r1", "z1"), ("c2", "r1", "z2"), ("c3", "r2", "z3")]:
        st, b = s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})
        h.check(st == 201, "cell %s" % b)
    st, b = s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})
    h.check(st == 201, "config %s" % b)
    for k in (60, 62):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                             json.dumps(h.features(k)))
        h.check(st == 201, "publish %s" % b)

    # assign: every cell to version 1, then c3 to version 2 with a CAS
    r = ok(s.cli("assign", "cfg", "1", "--cell", "c1", "--cell", "c2", "--cell", "c3",
                 "-m", "first"), "assign 1")
    h.check(r.stdout.strip() == "assigned cfg version 1 to 3 cells (generation 1)",
            "assign output %r" % r.stdout); n += 1
    b = js(s.cli("assign", "cfg", "2", "--cell", "c3", "--expect-generation", "1", "--json"),
           "assign --json")
    h.check(b["generation"] == 2 and b["cells"] == ["c3"] and b["version"] == 2, "%s" % b); n += 1
    r = code(s.cli("assign", "cfg", "2", "--cell", "c2", "--expect-generation", "1"), 3,
             "stale generation")
    h.check(r.stderr.startswith("cellgate: not assigned:"), "%r" % r.stderr); n += 1
    code(s.cli("assign", "cfg", "9", "--cell", "c1"), 3, "unknown version"); n += 1
    code(s.cli("assign", "cfg", "1", "--cell", "nope"), 3, "unknown cell"); n += 1
    for args in (["assign", "cfg", "1", "--cell", "c1", "--force", "--expect-generation", "2"],
                 ["assign", "cfg", "1"], ["assign", "cfg", "x", "--cell", "c1"],
                 ["assign", "cfg"], ["assign", "cfg", "1", "--cell", "c1", "--expect-generation"],
                 ["assign", "cfg", "1", "--cell", "c1", "--cell", "c1"]):
        r = s.cli(*args)
        h.check(r.returncode == 2 and r.stderr.startswith("cellgate: "),
                "%s: exit %d %r" % (args, r.returncode, r.stderr))
        n += 1
    b = json.loads(ok(s.cli("--json", "status", "cfg"), "status --json").stdout)
    h.check(b["generation"] == 2 and b["versions"]["1"]["cells"] == 2, "%s" % b); n += 1

    # no host has reported yet
    r = ok(s.cli("status", "cfg"), "status before reports")
    h.check("no host reported" in r.stdout and "behind: none" in r.stdout, "%r" % r.stdout); n += 1
    r = ok(s.cli("hosts"), "hosts empty")
    h.check(r.stdout.split() == ["HOST", "CELL", "LAST", "SEEN", "CONFIG", "VERSION", "OUTCOME",
                                 "RUNNING"], "%r" % r.stdout); n += 1

    # h1 applied v1; h2 still runs v1 of generation 0 (behind);
    # h3 rejected v2 (violations) and keeps v1
    report(s, "h1", "c1", 1, 1, 1)
    report(s, "h2", "c2", 1, 1, 1, outcome="applied", lkg=(1, 0))
    report(s, "h3", "c3", 1, 2, 2, outcome="rejected", lkg=(1, 1), error="contract violation",
           violations=[{"pointer": "/features", "rule": "cardinality.max",
                        "message": "240 items, at most 200 allowed",
                        "expected": 200, "actual": 240}])

    r = ok(s.cli("status", "cfg"), "status")
    out = r.stdout
    lines = out.splitlines()
    h.check(lines[0] == "cfg: latest version 2, live version 0, generation 2", "%r" % out); n += 1
    h.check(any(l.split()[:3] == ["1", "2", "2"] for l in lines)
            and any(l.split()[:3] == ["2", "1", "1"] for l in lines),
            "versions table %r" % out); n += 1
    rows = {l.split()[3]: l.split() for l in lines if l.startswith("c") and len(l.split()) > 5}
    h.check(rows["h1"][:5] == ["c1", "1", "1", "h1", "1"] and "applied" in rows["h1"], "%s" % rows)
    h.check(rows["h3"][:5] == ["c3", "2", "2", "h3", "1"] and "rejected" in rows["h3"],
            "%s" % rows); n += 1
    h.check("behind: 2 hosts" in out and "  c2/h2: wants version 1, runs 1" in out
            and "  c3/h3: wants version 2, runs 1" in out, "behind %r" % out); n += 1
    h.check("rejected or failed: 1 host" in out
            and "  c3/h3: rejected (cell wants version 2, host runs 1): contract violation" in out
            and "    /features cardinality.max: 240 items, at most 200 allowed "
                "(expected 200, actual 240)" in out, "failed %r" % out); n += 1
    b = js(s.cli("status", "cfg", "--json"), "status --json")
    h.check(len(b["behind"]) == 2 and len(b["failed"]) == 1
            and b["failed"][0]["violations"][0]["rule"] == "cardinality.max", "%s" % b); n += 1
    code(s.cli("status", "nope"), 3, "status of unknown config"); n += 1
    code(s.cli("status"), 2, "status without CONFIG"); n += 1

    # hosts: a table of host x config; filters; --json
    r = ok(s.cli("hosts"), "hosts")
    rows = {l.split()[0]: l for l in r.stdout.splitlines()[1:]}
    h.check(sorted(rows) == ["h1", "h2", "h3"], "%r" % r.stdout)
    h.check(" ago)" in rows["h1"] and "cfg" in rows["h1"] and "applied" in rows["h1"],
            "%r" % rows["h1"])
    h.check("2 (gen 2)" in rows["h3"] and "rejected" in rows["h3"], "%r" % rows["h3"]); n += 1
    r = ok(s.cli("hosts", "--cell", "c3"), "hosts --cell")
    h.check(len(r.stdout.splitlines()) == 2 and "h3" in r.stdout, "%r" % r.stdout); n += 1
    b = js(s.cli("hosts", "--cell", "c1", "--config", "cfg", "--json"), "hosts --json")
    h.check([x["host"] for x in b["hosts"]] == ["h1"]
            and b["hosts"][0]["configs"][0]["outcome"] == "applied", "%s" % b); n += 1
    b = js(s.cli("hosts", "--config", "other", "--json"), "hosts other config")
    h.check(all(x["configs"] == [] for x in b["hosts"]), "%s" % b); n += 1
    code(s.cli("hosts", "--cell", "Bad Name"), 2, "hosts bad cell name (400)"); n += 1
    code(s.cli("hosts", "extra"), 2, "hosts with a positional"); n += 1

    # a reader cannot assign (403 -> 5)
    st, t = s.api("POST", "/v1/tokens", {"name": "rita", "role": "reader"})
    h.check(st == 201, "token %s" % t)
    r = code(s.cli("assign", "cfg", "1", "--cell", "c1", token=t["token"]), 5, "reader assign")
    ok(s.cli("status", "cfg", token=t["token"]), "reader status"); n += 1

    # --force overrides and is audited so; by default the CLI sends the
    # generation it read (a blind write is not possible)
    st, cfg = s.api("GET", "/v1/configs/cfg")
    g = cfg["generation"]
    b = js(s.cli("assign", "cfg", "1", "--cell", "c3", "--force", "-m", "undo", "--json"), "force")
    h.check(b["generation"] == g + 1, "%s" % b); n += 1
    st, au = s.api("GET", "/v1/audit?limit=1000")
    h.check(any(r["reason"] == "force: undo" for r in au["records"]), "force not audited"); n += 1
    b = js(s.cli("assign", "cfg", "2", "--cell", "c3", "--json"), "assign reads the generation")
    h.check(b["generation"] == g + 2, "%s" % b); n += 1

h.done("40-cli/21-assign-status", n)
