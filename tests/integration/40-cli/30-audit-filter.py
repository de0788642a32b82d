# SPDX-License-Identifier: MIT
"""Filtering the audit log by config, actor and time, through GET /v1/audit
(?config=&actor=&from=&to=, the dashboard's filter) and `cellgate audit
--config --actor --since | --from --to`: two configs, one changed by a
deployer token "ci" and one by the admin; each filter keeps exactly the
records it names (the config's own objects and records whose summary names
it), filters combine, a small page says "more" and its next_after
continues the scan, bad filters are 400 / exit 2, --json prints the
server's page."""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def code(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


def seqs(out):
    """The SEQ column of an `audit` table."""
    lines = out.splitlines()
    h.check(lines and lines[0].split()[0] == "SEQ", "not a table: %r" % out)
    return [int(l.split()[0]) for l in lines[1:]]


def about(r, cfg):
    key = '"config":"%s"' % cfg
    return (r["object"] == "config/" + cfg or r["object"].startswith("config/%s/" % cfg)
            or key in (r.get("after") or "") or key in (r.get("before") or ""))


with h.Server() as s:
    st, tok = s.api("POST", "/v1/tokens", {"name": "ci", "role": "deployer"})
    h.check(st == 201, "token %s" % tok)
    h.check(s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})[0] == 201, "cell")
    for cfg in ("app", "db"):
        h.check(s.api("POST", "/v1/configs", {"name": cfg, "kind": "config",
                                              "contract": h.FEATURE_CONTRACT})[0] == 201, cfg)
    for k in (10, 11):
        st, _, b = s.request("POST", "/v1/configs/app/versions?message=by+ci",
                             json.dumps(h.features(k)), token=tok["token"])
        h.check(st == 201, "publish app %s" % b)
    time.sleep(0.05)
    mid_ms = int(time.time() * 1000)
    time.sleep(0.05)
    st, _, b = s.request("POST", "/v1/configs/db/versions?message=by+admin",
                         json.dumps(h.features(10)))
    h.check(st == 201, "publish db %s" % b)
    recs = h.audit_all(s)
    app = [r["seq"] for r in recs if about(r, "app")]
    by_ci = [r["seq"] for r in recs if r["actor"] == "token:ci"]
    late = [r["seq"] for r in recs if r["time_ms"] >= mid_ms]
    h.check(len(app) >= 3 and len(by_ci) == 2 and late, "fixture %s" % recs)

    # the API
    st, b = s.api("GET", "/v1/audit?config=app")
    h.check(st == 200 and [r["seq"] for r in b["records"]] == app and b["more"] is False,
            "?config=app %s" % b); n += 1
    st, b = s.api("GET", "/v1/audit?actor=token:ci")
    h.check(st == 200 and [r["seq"] for r in b["records"]] == by_ci, "?actor %s" % b); n += 1
    st, b = s.api("GET", "/v1/audit?from=%d" % mid_ms)
    h.check(st == 200 and [r["seq"] for r in b["records"]] == late, "?from %s" % b); n += 1
    st, b = s.api("GET", "/v1/audit?config=app&to=%d" % mid_ms)
    h.check(st == 200 and [r["seq"] for r in b["records"]] == [x for x in app if x not in late],
            "?config&to %s" % b); n += 1
    st, b = s.api("GET", "/v1/audit?config=app&limit=1")
    h.check(st == 200 and [r["seq"] for r in b["records"]] == app[:1] and b["more"] is True
            and b["next_after"] == app[0], "a page of 1: %s" % b)
    st, b = s.api("GET", "/v1/audit?config=app&limit=1&after=%d" % b["next_after"])
    h.check(st == 200 and [r["seq"] for r in b["records"]] == app[1:2], "next page %s" % b); n += 1
    st, b = s.api("GET", "/v1/audit")
    h.check(st == 200 and "more" not in b and len(b["records"]) == len(recs), "unfiltered %s" % b)
    n += 1
    for q in ("config=Bad%20Name", "actor=", "from=yesterday", "from=10&to=5", "actor=a%01b"):
        st, b = s.api("GET", "/v1/audit?" + q)
        h.check(st == 400, "?%s: %s %s" % (q, st, b)); n += 1

    # the CLI
    r = code(s.cli("audit", "--config", "app"), 0, "audit --config")
    h.check(seqs(r.stdout) == app, "%r" % r.stdout); n += 1
    r = code(s.cli("audit", "--actor", "token:ci"), 0, "audit --actor")
    h.check(seqs(r.stdout) == by_ci and all("token:ci" in l for l in r.stdout.splitlines()[1:]),
            "%r" % r.stdout); n += 1
    r = code(s.cli("audit", "--config", "db", "--actor", "token:ci"), 0, "no match")
    h.check(r.stdout == "no records\n", "%r" % r.stdout); n += 1
    r = code(s.cli("audit", "--since", "1h"), 0, "audit --since")
    h.check(seqs(r.stdout) == [x["seq"] for x in recs], "%r" % r.stdout); n += 1
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mid_ms / 1000)) + \
        ".%03dZ" % (mid_ms % 1000)
    r = code(s.cli("audit", "--from", iso), 0, "audit --from")
    h.check(seqs(r.stdout) == late, "%r" % r.stdout)
    r = code(s.cli("audit", "--from", "2020-01-01T00:00:00Z", "--to", iso, "--config", "app"), 0,
             "audit --from --to")
    h.check(seqs(r.stdout) == [x for x in app if x not in late], "%r" % r.stdout); n += 1
    r = code(s.cli("audit", "--config", "app", "--limit", "1"), 0, "audit --limit 1")
    h.check(seqs(r.stdout) == app[:1] and
            "more: cellgate audit --after %d (same filters)" % app[0] in r.stderr,
            "%r %r" % (r.stdout, r.stderr)); n += 1
    b = json.loads(code(s.cli("audit", "--config", "app", "--json"), 0, "--json").stdout)
    h.check([x["seq"] for x in b["records"]] == app and b["more"] is False, "%s" % b); n += 1
    for args in (["--since", "1h", "--from", iso], ["--since", "soon"], ["--from", "x"],
                 ["--from", iso, "--to", "2020-01-01T00:00:00Z"], ["--confg", "app"]):
        code(s.cli("audit", *args), 2, "audit %s" % args); n += 1
    r = code(s.cli("audit", "--config", "Not A Name"), 2, "server 400 -> exit 2")
    h.check("config must be a name" in r.stderr, "%r" % r.stderr); n += 1

h.done("40-cli/30-audit-filter", n)
