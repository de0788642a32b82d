# SPDX-License-Identifier: MIT
"""Keyset paging of every list route (docs/api/README.md, "Paging").

Against a real cellgated: more than two pages each of cells (with names of
every allowed character), configs, plans, tokens, versions, rollouts (all,
of one config, open only), assignments, the status view's cells and hosts,
walked with small limits. Edge cases: limit 1, a count that is an exact
multiple of the limit (next_after is null on the last full page: no empty
page follows), after past the end, a cursor that names no item, the
defaults (1000 for the lists that answered everything before paging, 100
for versions), versions' before/after, and every bad limit/after (400
bad_request with the API's error shape). The CLI prints everything without
options and one page with --limit/--after (stderr says how to continue).

Against a scripted server with tiny pages: libcellgate's list functions
(through the CLI) follow every page, merge them (the status view's
"behind" and "failed" too), send the cursor escaped, and refuse a server
whose cursor does not advance."""
import json, os, subprocess, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
# Every character a name may hold, in byte order: '-' < '.' < digits < '_' < letters.
CELLS = ["0x", "a", "a-b", "a.b", "a0", "a_b", "b--", "z.9"]
CONFIGS = ["app", "cfg-a", "cfg.b", "cfg_c", "ro", "ro2"]
PLANS = ["p-1", "p.2", "p0", "p_3", "slow"]
PLAN = {"waves": [{"name": "canary", "cells": 1, "bake_s": 600},
                  {"name": "rest", "percent": 100, "bake_s": 600}]}


def get(s, path):
    st, b = s.api("GET", path)
    h.check(st == 200, "GET %s: %s %s" % (path, st, b))
    return b


def walk(s, path, key, limit, cursor):
    """Follows next_after from the first page; returns (items, pages)."""
    items, pages, after = [], 0, None
    while True:
        sep = "&" if "?" in path else "?"
        q = "%s%slimit=%d" % (path, sep, limit)
        if after is not None:
            q += "&after=%s" % after
        b = get(s, q)
        pages += 1
        h.check(key in b and "next_after" in b, "%s: %s" % (q, b))
        h.check(len(b[key]) <= limit, "%s: %d items" % (q, len(b[key])))
        items += b[key]
        if b["next_after"] is None:
            return items, pages
        h.check(len(b[key]) == limit, "%s: a page before the last is full: %s" % (q, b))
        h.check(b["next_after"] == cursor(b[key][-1]), "%s: next_after %r" % (q, b["next_after"]))
        h.check(pages < 200, "%s: no end" % path)
        after = b["next_after"]


def bad(s, path, what):
    st, b = s.api("GET", path)
    h.check(st == 400 and b["error"]["code"] == "bad_request" and b["error"]["message"]
            and b["error"]["details"] == {}, "%s (%s): %s %s" % (path, what, st, b))


def report(s, host, cell, version, gen, outcome="applied", lkg=None):
    lkg = version if lkg is None else lkg
    body = {"host": host, "cell": cell, "seq": 1, "window_ms": 10000,
            "configs": [{"config": "app", "version": version, "generation": gen,
                         "outcome": outcome, "lkg_version": lkg,
                         "lkg_generation": gen if lkg == version else 0}],
            "health": {"requests": 10, "errors": 0}}
    if outcome != "applied":
        body["configs"][0]["error"] = "contract violation"
    st, b = s.api("POST", "/v1/agent/report", body)
    h.check(st == 204, "report %s: %s %s" % (host, st, b))


with h.Server() as s:
    for c in CELLS:
        st, b = s.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": "z1"})
        h.check(st == 201, "cell %s: %s" % (c, b))
    for c in CONFIGS:
        st, b = s.api("POST", "/v1/configs", {"name": c, "contract": {"schema": {"type": "object"}}})
        h.check(st == 201, "config %s: %s" % (c, b))
    for p in PLANS:
        h.check(s.api("PUT", "/v1/plans/" + p, PLAN)[0] == 201, "plan " + p)
    for i in range(7):
        h.check(s.api("POST", "/v1/configs/app/versions", {"v": i})[0] == 201, "publish")
    for c in ("ro", "ro2"):
        for i in range(2):
            h.check(s.api("POST", "/v1/configs/%s/versions" % c, {"v": i})[0] == 201, "publish")
    tokens = [1]  # the admin token made by init
    for i in range(5):
        st, b = s.api("POST", "/v1/tokens", {"name": "t%d" % i, "role": "reader"})
        h.check(st == 201, "token %s" % b)
        tokens.append(b["id"])

    # ---- cells: names sorted bytewise, every limit, cursors ----
    ids = lambda x: [c["id"] for c in x]
    b = get(s, "/v1/cells")
    h.check(ids(b["cells"]) == CELLS and b["next_after"] is None, "default page %s" % b); n += 1
    for limit, pages in [(3, 3), (4, 2), (1, 8), (8, 1), (1000, 1)]:
        got, p = walk(s, "/v1/cells", "cells", limit, lambda c: c["id"])
        h.check(ids(got) == CELLS and p == pages, "limit %d: %d pages %s" % (limit, p, ids(got)))
    n += 1
    b = get(s, "/v1/cells?limit=4&after=a.b")
    h.check(ids(b["cells"]) == ["a0", "a_b", "b--", "z.9"] and b["next_after"] is None,
            "exact last page %s" % b)
    b = get(s, "/v1/cells?limit=2&after=a-a")  # names no cell: starts at the next one
    h.check(ids(b["cells"]) == ["a-b", "a.b"] and b["next_after"] == "a.b", "between %s" % b)
    for past in ("z.9", "zzz"):
        b = get(s, "/v1/cells?after=" + past)
        h.check(b == {"cells": [], "next_after": None}, "past the end %s" % b)
    n += 1

    # ---- configs and plans ----
    got, p = walk(s, "/v1/configs", "configs", 2, lambda c: c["name"])
    h.check([c["name"] for c in got] == CONFIGS and p == 3, "configs %s" % got)
    h.check(all("contract" in c for c in got), "configs are whole objects")
    got, p = walk(s, "/v1/plans", "plans", 2, lambda x: x["name"])
    h.check([x["name"] for x in got] == PLANS and p == 3, "plans %s" % got); n += 1

    # ---- tokens: by id, numeric cursor ----
    got, p = walk(s, "/v1/tokens", "tokens", 2, lambda t: t["id"])
    h.check([t["id"] for t in got] == tokens and p == 3, "tokens %s" % got)
    b = get(s, "/v1/tokens?after=%d" % tokens[-1])
    h.check(b == {"tokens": [], "next_after": None}, "tokens past the end %s" % b)
    b = get(s, "/v1/tokens?after=0&limit=1")
    h.check(b["tokens"][0]["id"] == 1 and b["next_after"] == 1, "after=0 %s" % b); n += 1

    # ---- versions: newest first; after = before; default 100 ----
    nums = lambda x: [v["number"] for v in x]
    got, p = walk(s, "/v1/configs/app/versions", "versions", 3, lambda v: v["number"])
    h.check(nums(got) == [7, 6, 5, 4, 3, 2, 1] and p == 3, "versions %s" % nums(got))
    got, p = walk(s, "/v1/configs/app/versions", "versions", 7, lambda v: v["number"])
    h.check(p == 1, "7 versions, limit 7: one page")
    b = get(s, "/v1/configs/app/versions?limit=2&before=5")
    b2 = get(s, "/v1/configs/app/versions?limit=2&after=5")
    h.check(nums(b["versions"]) == [4, 3] and b == b2 and b["next_after"] == 3, "before %s" % b)
    b = get(s, "/v1/configs/app/versions?after=1")
    h.check(b == {"versions": [], "next_after": None}, "versions past the end %s" % b)
    for i in range(100):
        h.check(s.api("POST", "/v1/configs/cfg-a/versions", {"v": i})[0] == 201, "publish")
    b = get(s, "/v1/configs/cfg-a/versions")
    h.check(len(b["versions"]) == 100 and b["next_after"] is None, "exactly the default")
    h.check(s.api("POST", "/v1/configs/cfg-a/versions", {"v": 100})[0] == 201, "publish")
    b = get(s, "/v1/configs/cfg-a/versions")
    h.check(len(b["versions"]) == 100 and b["next_after"] == 2, "default 100 %s" % b["next_after"])
    n += 1

    # ---- rollouts: newest first, filtered by config and open ----
    rids = {}
    for c in ("ro", "ro2"):
        for k in range(3):
            st, b = s.api("POST", "/v1/rollouts", {"config": c, "version": 2, "plan": "slow"})
            h.check(st == 201, "rollout start %s %s" % (st, b))
            rids.setdefault(c, []).append(b["id"])
            if k < 2:
                st, b = s.api("POST", "/v1/rollouts/%d/abort" % b["id"], {"reason": "paging"})
                h.check(st == 200 and b["state"] == "aborted", "abort %s" % b)
    every = sorted(rids["ro"] + rids["ro2"], reverse=True)
    got, p = walk(s, "/v1/rollouts", "rollouts", 4, lambda r: r["id"])
    h.check([r["id"] for r in got] == every and p == 2, "rollouts %s" % got)
    got, p = walk(s, "/v1/rollouts?config=ro", "rollouts", 1, lambda r: r["id"])
    h.check([r["id"] for r in got] == rids["ro"][::-1] and p == 3, "of ro %s" % got)
    got, p = walk(s, "/v1/rollouts?open=1", "rollouts", 1, lambda r: r["id"])
    h.check([r["id"] for r in got] == [rids["ro2"][2], rids["ro"][2]] and p == 2, "open %s" % got)
    got, p = walk(s, "/v1/rollouts?config=ro2&open=1", "rollouts", 1, lambda r: r["id"])
    h.check([r["id"] for r in got] == [rids["ro2"][2]] and p == 1, "open of ro2 %s" % got)
    b = get(s, "/v1/rollouts?after=%d" % min(every))
    h.check(b == {"rollouts": [], "next_after": None}, "rollouts past the end %s" % b); n += 1
    for c in ("ro", "ro2"):
        s.api("POST", "/v1/rollouts/%d/abort" % rids[c][2], {"reason": "paging"})

    # ---- assignments, status and hosts: one version per cell, hosts reporting ----
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": CELLS[:4], "force": True})
    h.check(st == 201, "assign %s" % b)
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 2, "cells": CELLS[4:], "force": True})
    h.check(st == 201 and b["generation"] == 2, "assign %s" % b)
    got, p = walk(s, "/v1/configs/app/assignments", "assignments", 3, lambda a: a["cell"])
    h.check([a["cell"] for a in got] == CELLS and p == 3, "assignments %s" % got)
    h.check(get(s, "/v1/configs/nope/assignments") == {"assignments": [], "next_after": None},
            "assignments of an unknown config")
    hosts = []
    for i, c in enumerate(CELLS):
        for k in range(2):
            name = "h%02d-%d" % (i, k)
            hosts.append(name)
            v = 1 if i < 4 else 2
            if name == "h05-1":  # behind and rejected its cell's version
                report(s, name, c, 2, 2, "rejected", lkg=0)
            else:
                report(s, name, c, v, v)
    got, p = walk(s, "/v1/hosts", "hosts", 5, lambda x: x["host"])
    h.check([x["host"] for x in got] == sorted(hosts) and p == 4, "hosts %s" % got)
    got, p = walk(s, "/v1/hosts?cell=a_b", "hosts", 1, lambda x: x["host"])
    h.check([x["host"] for x in got] == ["h05-0", "h05-1"] and p == 2, "hosts of a_b %s" % got)
    b = get(s, "/v1/hosts?after=h99")
    h.check(b == {"hosts": [], "next_after": None}, "hosts past the end %s" % b); n += 1

    whole = get(s, "/v1/configs/app/status")
    h.check([c["cell"] for c in whole["cells"]] == CELLS and whole["next_after"] is None,
            "status %s" % whole)
    h.check(whole["versions"] == {"1": {"cells": 4, "hosts": 8}, "2": {"cells": 4, "hosts": 8}},
            "versions %s" % whole["versions"])
    got, p = walk(s, "/v1/configs/app/status", "cells", 3, lambda c: c["cell"])
    h.check(got == whole["cells"] and p == 3, "status pages %s" % got)
    behind, failed = [], []
    after = ""
    while True:
        b = get(s, "/v1/configs/app/status?limit=3" + after)
        h.check(b["versions"] == whole["versions"], "versions on every page")
        page_cells = {c["cell"] for c in b["cells"]}
        h.check(all(x["cell"] in page_cells for x in b["behind"] + b["failed"]),
                "behind/failed of the page's cells %s" % b)
        behind += b["behind"]
        failed += b["failed"]
        if b["next_after"] is None:
            break
        after = "&after=" + b["next_after"]
    h.check(behind == whole["behind"] and failed == whole["failed"]
            and [x["host"] for x in failed] == ["h05-1"], "behind %s failed %s" % (behind, failed))
    n += 1

    # ---- bad limit / after: 400 bad_request ----
    for path in ["/v1/cells", "/v1/configs", "/v1/plans", "/v1/tokens", "/v1/rollouts",
                 "/v1/hosts", "/v1/configs/app/versions", "/v1/configs/app/assignments",
                 "/v1/configs/app/status"]:
        sep = "&" if "?" in path else "?"
        for q in ["limit=0", "limit=1001", "limit=-1", "limit=x", "limit=", "limit=1e3",
                  "after=", "after=%20"]:
            bad(s, path + sep + q, q)
    for path in ["/v1/cells", "/v1/configs", "/v1/plans", "/v1/hosts",
                 "/v1/configs/app/assignments", "/v1/configs/app/status"]:
        for q in ["after=A", "after=-a", "after=a%2Fb", "after=" + "a" * 64]:
            bad(s, path + "?" + q, q)
    for path in ["/v1/tokens", "/v1/rollouts", "/v1/configs/app/versions"]:
        for q in ["after=-1", "after=a", "after=9223372036854775808"]:
            bad(s, path + "?" + q, q)
    bad(s, "/v1/configs/app/versions?before=3&after=3", "before and after")
    st, b = s.api("GET", "/v1/configs/nope/versions?limit=2")
    h.check(st == 404, "versions of an unknown config %s" % st); n += 1

    # ---- the CLI: everything by default, one page with --limit/--after ----
    def rows(r):
        return [l.split()[0] for l in r.stdout.splitlines()[1:]]

    r = s.cli("cells")
    h.check(r.returncode == 0 and rows(r) == CELLS and r.stderr == "", "cells %r" % (r,))
    r = s.cli("cell", "list", "--limit", "3")
    h.check(rows(r) == CELLS[:3] and r.stderr == "more: cellgate cell list --limit 3 --after a-b\n",
            "cell list --limit %r" % (r,))
    r = s.cli("cells", "--limit", "3", "--after", "a-b", "--json")
    b = json.loads(r.stdout)
    h.check(ids(b["cells"]) == CELLS[3:6] and b["next_after"] == "a_b", "--json page %s" % b)
    r = s.cli("cells", "--after", "a_b")
    h.check(rows(r) == CELLS[6:] and r.stderr == "", "--after alone %r" % (r,))
    r = s.cli("config", "list")
    h.check(rows(r) == CONFIGS, "config list %r" % (r,))
    r = s.cli("plan", "list", "--limit", "2", "--after", "p.2")
    h.check(rows(r) == ["p0", "p_3"] and "--after p_3" in r.stderr, "plan list %r" % (r,))
    r = s.cli("token", "list", "--limit", "2")
    h.check(rows(r) == [str(t) for t in tokens[:2]], "token list %r" % (r,))
    r = s.cli("rollout", "list", "--config", "ro", "--limit", "2")
    h.check(rows(r) == [str(x) for x in rids["ro"][::-1][:2]] and
            r.stderr == "more: cellgate rollout list --config ro --limit 2 --after %d\n"
            % rids["ro"][1], "rollout list %r" % (r,))
    r = s.cli("rollout", "list")
    h.check(rows(r) == [str(x) for x in every], "rollout list %r" % (r,))
    r = s.cli("hosts", "--cell", "a_b", "--limit", "1")
    h.check(rows(r) == ["h05-0"] and "hosts --cell a_b --limit 1 --after h05-0" in r.stderr,
            "hosts %r" % (r,))
    r = s.cli("hosts")
    h.check(rows(r) == sorted(hosts), "hosts %r" % (r,))
    r = s.cli("versions", "app", "--limit", "3")
    h.check(rows(r) == ["7", "6", "5"] and r.stderr == "more: cellgate versions app --limit 3 "
            "--after 5\n", "versions %r" % (r,))
    r = s.cli("versions", "app", "--limit", "3", "--after", "2")
    h.check(rows(r) == ["1"] and r.stderr == "", "versions --after %r" % (r,))
    r = s.cli("status", "app")
    h.check(r.returncode == 0 and "h05-1: rejected" in r.stdout, "status %r" % (r,))
    for args in (["cells", "--limit", "1001"], ["token", "list", "--after", ""],
                 ["versions", "app", "--after", "3", "--before", "3"]):
        r = s.cli(*args)
        h.check(r.returncode == 2, "%s: exit %d %r" % (args, r.returncode, r.stderr))
    r = s.cli("token", "list", "--after", "x")  # the server refuses the cursor: 400 -> exit 2
    h.check(r.returncode == 2 and "after" in r.stderr, "bad cursor %r" % (r,)); n += 1


# ---- libcellgate follows pages: a scripted server with pages of 2 ----
SEEN = []
FAKE_CELLS = ["a", "c/x y", "c0", "c1", "c2", "c3"]  # sorted; "c/x y" needs escaping


def page(items, key, q, size=2):
    after = q.get("after", [None])[0]
    rest = [x for x in items if after is None or key(x) > after]
    out = rest[:size]
    return out, (key(out[-1]) if len(rest) > size else None)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query, keep_blank_values=True)
        SEEN.append(self.path)
        if u.path == "/v1/cells":
            out, nxt = page([{"id": c, "region": "r", "zone": "z"} for c in FAKE_CELLS],
                            lambda x: x["id"], q)
            data = {"cells": out, "next_after": nxt}
        elif u.path == "/v1/configs/app/status":
            cells = [{"cell": c, "version": 1, "generation": 1,
                      "hosts": [{"host": "h-" + c, "running_version": 0, "outcome": "rejected",
                                 "error": "bad"}]} for c in FAKE_CELLS[:5]]
            out, nxt = page(cells, lambda x: x["cell"], q)
            data = {"config": "app", "latest_version": 1, "live_version": 0, "generation": 1,
                    "versions": {"1": {"cells": 5, "hosts": 5}}, "cells": out,
                    "behind": [{"cell": c["cell"], "host": "h-" + c["cell"], "want": 1,
                                "running": 0} for c in out],
                    "failed": [dict(c["hosts"][0], cell=c["cell"]) for c in out],
                    "next_after": nxt}
        elif u.path == "/v1/plans":  # a cursor that never advances
            data = {"plans": [{"name": "p1", "plan": {}}], "next_after": "p1"}
        elif u.path == "/v1/tokens":  # an old server: no next_after at all
            data = {"tokens": [{"id": 1, "name": "admin", "role": "admin"}]}
        else:
            data = {"error": {"code": "not_found", "message": "no " + u.path, "details": {}}}
        raw = json.dumps(data).encode()
        self.send_response(200 if "error" not in data else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()


def cli(*args):
    env = dict(os.environ, CELLGATE_SERVER="http://127.0.0.1:%d" % srv.server_address[1],
               CELLGATE_TOKEN="t0k")
    return subprocess.run([h.CLI_BIN] + list(args), capture_output=True, text=True, timeout=60,
                          env=env)


try:
    r = cli("cells")
    h.check(r.returncode == 0 and [l.split()[0] for l in r.stdout.splitlines()[1:]] ==
            ["a", "c/x", "c0", "c1", "c2", "c3"], "followed cells %r" % (r,))
    h.check(SEEN == ["/v1/cells?limit=1000", "/v1/cells?after=c%2Fx%20y&limit=1000",
                     "/v1/cells?after=c1&limit=1000"], "requests %s" % SEEN)
    r = cli("cells", "--json")
    b = json.loads(r.stdout)
    h.check([c["id"] for c in b["cells"]] == FAKE_CELLS and b["next_after"] is None,
            "merged document %s" % b); n += 1
    del SEEN[:]
    r = cli("cells", "--after", "c/x", "--limit", "2")
    h.check(SEEN == ["/v1/cells?after=c%2Fx&limit=2"], "escaped cursor %s" % SEEN)
    r = cli("status", "app", "--json")
    b = json.loads(r.stdout)
    h.check([c["cell"] for c in b["cells"]] == FAKE_CELLS[:5] and len(b["behind"]) == 5 and
            len(b["failed"]) == 5 and b["versions"]["1"]["cells"] == 5 and b["next_after"] is None,
            "merged status %s" % b)
    r = cli("status", "app")
    h.check(r.returncode == 0 and "behind: 5 hosts" in r.stdout and
            "rejected or failed: 5 hosts" in r.stdout, "status %r" % (r,)); n += 1
    r = cli("plan", "list")
    h.check(r.returncode == 3 and "cursor" in r.stderr, "stuck cursor %r" % (r,))
    r = cli("token", "list")
    h.check(r.returncode == 0 and "admin" in r.stdout, "old server %r" % (r,)); n += 1
finally:
    srv.shutdown()

h.done("20-configs/03-paging", n)
