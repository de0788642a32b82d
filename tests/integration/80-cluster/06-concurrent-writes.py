# SPDX-License-Identifier: MIT
"""Concurrent writes through two replicas on one real PostgreSQL
(tests/helpers/pgserver.py); bounded in count and time (about 20 s).

- acknowledged_publishes_all_present (I8 across replicas, the publish
  compare-and-set on the live version): writer threads split over a and b
  publish distinct documents to one shared config and each to a config of
  its own. Every 201 is read at once through the OTHER replica, and again
  at the end with its exact bytes (metadata, raw, blob); numbers are unique
  and contiguous per config with nothing stored that was not acknowledged;
  each version's parent is the version just before it (each publish was
  validated against the live version it landed on); whatever was refused
  was a clean 409, never a 500 or a lost connection.
- assign_compare_and_set_across_replicas (I2, the enactor race): threads
  on both replicas start together at a barrier and assign with the same
  expect_generation: exactly one 201 per round, every other answer a 409;
  then free-running read-then-assign loops on both replicas: every win
  moved the generation by one from what its thread read, no generation is
  won twice or skipped, every loser was told a generation newer than the
  one it read. A stale plan applied late (AWS, October 2025): a planner
  that read generation g waits while the others move on, then assigns with
  g, through either replica: refused, and the cells keep the newest
  winner's version. The final generation equals the number of wins; the
  assignments carry it.
- forced_assigns_all_land: "force": true from racing writers on both
  replicas: every one lands, each on its own generation.
- audit_counts_equal_acknowledged_writes (I6): `cellgate audit verify`
  passes through either replica and the chain verifies here too; the
  version.publish and assign records are exactly the acknowledged writes
  (matched one to one by message/reason: no lost ack, no phantom write).
"""
import hashlib, http.client, json, os, re, shutil, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "helpers"))
import harness as h
import pgserver

SLOW = 3 if h.SANITIZED else 1
WRITERS = 6            # publishers, alternately on a and b
PUB_MAX = 40           # publishes per writer (half to the shared config)
PUB_SECS = 6 * SLOW    # ...or until this much time has passed
RACERS = 6             # assigners, alternately on a and b
ROUNDS = 20            # barrier rounds: all racers with one expect_generation
FREE_MAX = 30          # free-running read-then-assign per racer
FREE_SECS = 4 * SLOW
CELLS = ["c1", "c2"]
n = 0


def body_of(data):
    try:
        return json.loads(data) if data else None
    except ValueError:
        return data


def attempt(s, method, path, body=None, headers=None):
    """(status, parsed body) or (None, the exception): an answer that never
    came is an unknown outcome, which the checks refuse."""
    try:
        st, _, data = s.request(method, path, body, headers=headers, timeout=30 * SLOW)
        return st, body_of(data)
    except (OSError, http.client.HTTPException) as e:
        return None, repr(e)


def run_threads(what, targets):
    """Runs (function, args) pairs in threads and waits for them; a thread
    that raised (h.check's exit too) or hangs fails the test."""
    errors = []

    def guard(fn, args):
        try:
            fn(*args)
        except BaseException as e:
            errors.append(repr(e))

    ts = [threading.Thread(target=guard, args=t) for t in targets]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120 * SLOW)
    h.check(not any(t.is_alive() for t in ts), "%s: a thread hangs" % what)
    h.check(not errors, "%s: a thread failed: %s" % (what, errors))


def doc_bytes(config, w, i, nfeat=60):
    d = h.features(nfeat)
    d["limits"] = {"max": 200, "writer": w, "i": i, "config": config}
    return json.dumps(d, sort_keys=True).encode()


# Feature counts the publishers go through: each step is valid against the
# one before it (55 = 40 x 1.375, 80 = 55 x 1.45, shrinking is free), but
# 80 against a live 40 is twice as many and violates the contract's
# growth rule (x1.5): a publish validated against one live version that
# landed on another would show as a version that violates its parent.
CYCLE = [40, 55, 80, 55]


def grows_ok(new, old):
    """FEATURE_CONTRACT's growth rules, new document against its parent."""
    fn, fo = len(new["features"]), len(old["features"])
    return fn <= fo * 1.5 and fn - fo <= 40 and \
        len(json.dumps(new, sort_keys=True)) <= 2 * len(json.dumps(old, sort_keys=True))


# ---- acknowledged_publishes_all_present --------------------------------

def publisher(w, me, other, deadline, out, lock):
    """Publishes alternately to 'shared' and to its own config through me;
    each 201 is read at once through other."""
    for i in range(PUB_MAX):
        if time.time() > deadline:
            break
        cfg = "shared" if i % 2 == 0 else "own-%d" % w
        msg = "w%d-i%d" % (w, i)
        data = doc_bytes(cfg, w, i, CYCLE[(w + i // 2) % len(CYCLE)])
        st, b = attempt(me, "POST", "/v1/configs/%s/versions?message=%s" % (cfg, msg), data,
                        {"Content-Type": "application/json"})
        seen = None
        if st == 201:
            seen = attempt(other, "GET", "/v1/configs/%s/versions/%d" % (cfg, b["number"]))
        with lock:
            out.append({"config": cfg, "msg": msg, "bytes": data, "st": st, "body": b,
                        "seen": seen, "via": me})


def all_versions(s, cfg):
    out, after = [], 0
    while True:
        st, b = s.api("GET", "/v1/configs/%s/versions?limit=1000" % cfg +
                      ("&after=%d" % after if after else ""))
        h.check(st == 200, "list versions of %s: %s %s" % (cfg, st, b))
        out += b["versions"]
        if b["next_after"] is None:
            return out
        after = b["next_after"]


def check_publishes(a, b, res):
    global n
    acks = [r for r in res if r["st"] == 201]
    refused = [r for r in res if r["st"] != 201]
    code = lambda r: r["body"]["error"]["code"] if isinstance(r["body"], dict) else None
    bad = [r for r in refused if (r["st"], code(r)) not in ((409, "conflict"),
                                                          (422, "contract_violation"))]
    h.check(not bad, "publishes refused other than with a clean 409 or 422: %s" %
            [(r["msg"], r["st"], r["body"]) for r in bad[:5]]); n += 1
    alone = [r for r in refused if r["config"] != "shared"]
    h.check(not alone, "publishes to a config with one writer refused: %s" %
            [(r["msg"], r["st"], r["body"]) for r in alone[:5]]); n += 1
    for r in acks:
        v = r["body"]
        h.check(v["config"] == r["config"] and v["message"] == r["msg"] and
                v["sha256"] == hashlib.sha256(r["bytes"]).hexdigest() and
                v["size"] == len(r["bytes"]), "the 201 of %s: %s" % (r["msg"], v))
        st, seen = r["seen"]
        h.check(st == 200 and seen["sha256"] == v["sha256"],
                "%s v%d acknowledged but not read at once through the other replica: %s %s"
                % (r["config"], v["number"], st, seen))
    n += 1
    configs = sorted(set(r["config"] for r in res))
    stored_total = 0
    for cfg in configs:
        mine = [r for r in acks if r["config"] == cfg]
        nums = sorted(r["body"]["number"] for r in mine)
        h.check(len(set(nums)) == len(nums), "%s: a number acknowledged twice: %s" % (cfg, nums))
        h.check(nums == list(range(1, len(nums) + 1)),
                "%s: acknowledged numbers not contiguous from 1: %s" % (cfg, nums))
        for s in (a, b):
            vs = sorted(all_versions(s, cfg), key=lambda v: v["number"])
            h.check([v["number"] for v in vs] == nums,
                    "%s: stored %s, acknowledged %s" % (cfg, [v["number"] for v in vs], nums))
            h.check(all(v["parent"] == v["number"] - 1 for v in vs),
                    "%s: a version not validated against the one before it: %s"
                    % (cfg, [(v["number"], v["parent"]) for v in vs if v["parent"] != v["number"] - 1]))
            st, c = s.api("GET", "/v1/configs/" + cfg)
            h.check(st == 200 and c["latest_version"] == len(nums),
                    "%s: latest_version %s, acknowledged %d" % (cfg, c.get("latest_version"), len(nums)))
        stored_total += len(nums)
    n += 1
    # the exact bytes of every acknowledged version, through the other
    # replica than the one that acknowledged it
    for r in acks:
        s = b if r["via"] is a else a
        v = r["body"]
        st, hd, data = s.request("GET", "/v1/configs/%s/versions/%d/raw" % (r["config"], v["number"]))
        h.check(st == 200 and data == r["bytes"], "%s v%d: raw bytes differ (%s)"
                % (r["config"], v["number"], st))
        st, hd, data = s.request("GET", "/v1/blobs/" + v["sha256"])
        h.check(st == 200 and data == r["bytes"], "%s v%d: blob differs (%s)"
                % (r["config"], v["number"], st))
    n += 1
    # each version satisfies the contract against its parent, the live
    # version it landed on; each 422 was right about the live version it names
    docs = {(r["config"], r["body"]["number"]): json.loads(r["bytes"]) for r in acks}
    for (cfg, num), d in docs.items():
        if num == 1:
            continue
        h.check(grows_ok(d, docs[(cfg, num - 1)]),
                "%s v%d (%d features) landed on v%d (%d features) against the contract"
                % (cfg, num, len(d["features"]), num - 1, len(docs[(cfg, num - 1)]["features"])))
    n += 1
    invalid = [r for r in refused if r["st"] == 422]
    for r in invalid:
        live = r["body"]["error"]["details"]["base_version"]
        h.check(not grows_ok(json.loads(r["bytes"]), docs[(r["config"], live)]) and
                all(x["rule"].startswith("growth.") for x in r["body"]["error"]["details"]
                    ["violations"]), "%s refused against v%d: %s" % (r["msg"], live, r["body"]))
    n += 1
    shared = [r for r in res if r["config"] == "shared"]
    print("acknowledged_publishes_all_present: trials=%d acknowledged=%d refused=%d "
          "(409 conflict=%d, 422 against a newer live=%d; shared config %d/%d acknowledged) "
          "stored=%d lost=0 phantom=0 errors=0"
          % (len(res), len(acks), len(refused), sum(1 for r in refused if r["st"] == 409),
             len(invalid), sum(1 for r in shared if r["st"] == 201), len(shared), stored_total))
    return acks


# ---- assign_compare_and_set_across_replicas ----------------------------

def gen_of(s):
    st, c = s.api("GET", "/v1/configs/race")
    h.check(st == 200, "GET race: %s %s" % (st, c))
    return c["generation"]


def assign(s, version, expect, reason):
    return attempt(s, "POST", "/v1/configs/race/assign",
                   {"version": version, "cells": CELLS, "expect_generation": expect,
                    "reason": reason})


class Gate:
    """The racers' barrier, passed twice a round: the first passage reads
    the round's generation (read_gen, once, while every racer waits), the
    second waits for every answer of the round."""

    def __init__(self, read_gen):
        self.read_gen = read_gen
        self.k = 0
        self.b = threading.Barrier(RACERS, action=self.act)

    def act(self):
        if self.k % 2 == 0:
            self.read_gen()
        self.k += 1

    def wait(self, timeout):
        self.b.wait(timeout)


def racer_rounds(t, s, gate, expects, out, lock):
    for rnd in range(ROUNDS):
        gate.wait(60 * SLOW)          # the generation of this round was read
        g = expects[rnd]
        reason = "round%d-t%d" % (rnd, t)
        st, b = assign(s, 2 + (rnd + t) % 3, g, reason)
        with lock:
            out.append({"phase": "round", "round": rnd, "expect": g, "reason": reason,
                        "version": 2 + (rnd + t) % 3, "st": st, "body": b})
        gate.wait(60 * SLOW)          # everyone answered: the next round reads


def racer_free(t, s, deadline, out, lock):
    for i in range(FREE_MAX):
        if time.time() > deadline:
            break
        g = gen_of(s)
        reason = "free-t%d-i%d" % (t, i)
        st, b = assign(s, 2 + (i + t) % 3, g, reason)
        with lock:
            out.append({"phase": "free", "expect": g, "reason": reason,
                        "version": 2 + (i + t) % 3, "st": st, "body": b})


def stale_planner(s, out, lock, moved):
    """Reads g, waits until the others have moved on by 3, assigns with g."""
    g = gen_of(s)
    end = time.time() + 20 * SLOW
    while time.time() < end and gen_of(s) < g + 3:
        time.sleep(0.02)
    moved.append(gen_of(s) - g)
    st, b = assign(s, 1, g, "stale-plan")
    with lock:
        out.append({"phase": "stale", "expect": g, "reason": "stale-plan", "version": 1,
                    "st": st, "body": b})


def loser_ok(r):
    """A refusal is a 409 conflict naming a generation newer than the one
    the loser read."""
    if r["st"] != 409 or not isinstance(r["body"], dict):
        return False
    e = r["body"]["error"]
    if e["code"] != "conflict":
        return False
    m = re.search(r"generation is (\d+), not (\d+)", e["message"])
    if m:
        return int(m.group(2)) == r["expect"] and int(m.group(1)) > r["expect"]
    return "generation is no longer %d" % r["expect"] in e["message"]


def check_assigns(a, b, res, start_gen, moved):
    global n
    wins = [r for r in res if r["st"] == 201]
    losses = [r for r in res if r["st"] != 201]
    bad = [r for r in losses if not loser_ok(r)]
    h.check(not bad, "assigns refused other than with a clean 409 naming a newer generation: %s"
            % [(r["reason"], r["expect"], r["st"], r["body"]) for r in bad[:5]]); n += 1
    for r in wins:
        h.check(r["body"]["generation"] == r["expect"] + 1,
                "%s: won generation %s from expect %d" % (r["reason"], r["body"]["generation"],
                                                         r["expect"]))
    n += 1
    rounds = [r for r in res if r["phase"] == "round"]
    for rnd in range(ROUNDS):
        won = [r["reason"] for r in rounds if r["round"] == rnd and r["st"] == 201]
        h.check(len(won) == 1, "round %d: %d winners %s" % (rnd, len(won), won))
    n += 1
    gens = sorted(r["body"]["generation"] for r in wins)
    final = start_gen + len(wins)
    h.check(gens == list(range(start_gen + 1, final + 1)),
            "generations won: %s (a repeat or a gap)" % gens); n += 1
    stale = [r for r in res if r["phase"] == "stale"]
    h.check(len(stale) == 2 and all(r["st"] == 409 for r in stale) and moved[0] >= 3,
            "the stale plan landed: %s (moved %s)" % (stale, moved)); n += 1
    last = [r for r in wins if r["body"]["generation"] == final][0]
    for s in (a, b):
        h.check(gen_of(s) == final, "generation %d, wins %d" % (gen_of(s), len(wins)))
        st, asg = s.api("GET", "/v1/configs/race/assignments")
        h.check(st == 200 and sorted(x["cell"] for x in asg["assignments"]) == CELLS and
                all(x["generation"] == final and x["version"] == last["version"]
                    for x in asg["assignments"]),
                "assignments %s, newest winner %s v%d g%d" % (asg, last["reason"],
                                                              last["version"], final))
    n += 1
    by_phase = lambda p: [r for r in res if r["phase"] == p]
    print("assign_compare_and_set_across_replicas: trials=%d acknowledged=%d refused=%d "
          "(rounds=%d x %d racers: %d won, %d refused; free-running=%d: %d won) "
          "stale_plan=refused after others moved %d generations final_generation=%d "
          "repeated=0 skipped=0 lost=0"
          % (len(res), len(wins), len(losses), ROUNDS, RACERS,
             sum(1 for r in by_phase("round") if r["st"] == 201),
             sum(1 for r in by_phase("round") if r["st"] != 201), len(by_phase("free")),
             sum(1 for r in by_phase("free") if r["st"] == 201), moved[0], final))
    return wins, final


def check_audit(a, b, acks, wins, start_gen):
    global n
    for s in (a, b):
        r = s.cli("audit", "verify")
        h.check(r.returncode == 0 and "audit chain OK" in r.stdout,
                "audit verify through %d: %r %r" % (s.port, r.stdout, r.stderr))
    n += 1
    recs = h.audit_all(b)
    h.check(h.audit_verify(recs) is None, "the chain breaks at seq %s" % h.audit_verify(recs))
    m = re.search(r"(\d+) records", r.stdout)
    h.check(m and int(m.group(1)) >= len(recs), "verify counted %r, the API %d"
            % (r.stdout, len(recs))); n += 1
    pubs = {}
    for x in recs:
        if x["action"] == "version.publish" and x["reason"].startswith("w"):
            h.check(x["reason"] not in pubs, "two publish records for %s" % x["reason"])
            pubs[x["reason"]] = x
    acked = {r["msg"]: r for r in acks}
    h.check(sorted(pubs) == sorted(acked), "publish records %d, acknowledged %d; phantom %s, "
            "lost %s" % (len(pubs), len(acked), sorted(set(pubs) - set(acked))[:5],
                         sorted(set(acked) - set(pubs))[:5]))
    for k, r in acked.items():
        after = json.loads(pubs[k]["after"])
        h.check(pubs[k]["object"] == "config/%s/versions/%d" % (r["config"], r["body"]["number"])
                and after["sha256"] == r["body"]["sha256"], "record %s: %s" % (k, pubs[k]))
    n += 1
    asg = [x for x in recs if x["action"] == "assign" and x["object"] == "config/race"]
    won = {r["reason"]: r for r in wins}
    h.check(sorted(x["reason"] for x in asg) == sorted(won) and len(asg) == len(won),
            "assign records %d, acknowledged %d: phantom %s, lost %s"
            % (len(asg), len(won), sorted(set(x["reason"] for x in asg) - set(won))[:5],
               sorted(set(won) - set(x["reason"] for x in asg))[:5]))
    gens = []
    for x in asg:
        after, r = json.loads(x["after"]), won[x["reason"]]
        h.check(after["generation"] == r["body"]["generation"] and
                after["version"] == r["version"] and after["cells"] == CELLS,
                "assign record %s for %s" % (x, r))
        gens.append(after["generation"])
    h.check(gens == list(range(start_gen + 1, start_gen + len(wins) + 1)),
            "assign records' generations in chain order: %s" % gens); n += 1
    print("audit_counts_equal_acknowledged_writes: records=%d publish_records=%d "
          "acknowledged_publishes=%d assign_records=%d acknowledged_assigns=%d "
          "verify=ok through a and b lost=0 phantom=0"
          % (len(recs), len(pubs), len(acked), len(asg), len(won)))


tmp = tempfile.mkdtemp(prefix="cgconc.")
with pgserver.PgServer() as pg:
    dsn = pg.create_db("cg")
    d1, d2 = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    r = subprocess.run([h.SERVER_BIN, "init", "--store", dsn, "--data", d1],
                       capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 0, "init --store: %r" % r.stderr)
    token = [l.split(":", 1)[1].strip() for l in r.stdout.splitlines()
             if l.startswith("admin token")][0]
    os.makedirs(d2)
    shutil.copy(os.path.join(d1, "signing.key"), d2)
    for d in (d1, d2):
        open(os.path.join(d, "admin.token"), "w").write(token)
    args = lambda rid: ["--store", dsn, "--replica-id", rid, "--lease-ttl-ms", "3000"]
    a = h.Server(data_dir=d1, extra_args=args("a"), keep=True).start()
    b = h.Server(data_dir=d2, extra_args=args("b"), keep=True).start()
    servers = [a, b]
    try:
        for c in CELLS:
            st, _ = a.api("POST", "/v1/cells", {"id": c, "region": "r1", "zone": "z1"})
            h.check(st == 201, "cell %s: %s" % (c, st))
        for cfg in ["shared", "race"] + ["own-%d" % w for w in range(WRITERS)]:
            st, body = b.api("POST", "/v1/configs", {"name": cfg, "kind": "config",
                                                     "contract": h.FEATURE_CONTRACT})
            h.check(st == 201, "config %s: %s %s" % (cfg, st, body))

        # acknowledged_publishes_all_present
        res, lock = [], threading.Lock()
        deadline = time.time() + PUB_SECS
        t0 = time.time()
        run_threads("publishers", [(publisher, (w, servers[w % 2], servers[1 - w % 2], deadline,
                                                res, lock)) for w in range(WRITERS)])
        lost = [r for r in res if r["st"] is None]
        h.check(not lost, "publishes without an answer: %s" % [(r["msg"], r["body"]) for r in lost])
        fivexx = [r for r in res if r["st"] >= 500]
        h.check(not fivexx, "publishes answered 5xx: %s" % [(r["msg"], r["st"], r["body"])
                                                           for r in fivexx[:5]]); n += 1
        print("publishes: %d in %.1f s" % (len(res), time.time() - t0))
        acks = check_publishes(a, b, res)

        # assign_compare_and_set_across_replicas
        for i in range(4):    # v1 is the old plan's version, the racers assign v2..v4
            st, _, _ = a.request("POST", "/v1/configs/race/versions?message=race-v%d" % (i + 1),
                                 doc_bytes("race", 0, i), headers={"Content-Type": "application/json"})
            h.check(st == 201, "publish race v%d: %s" % (i + 1, st))
        start_gen = gen_of(a)
        ares = []
        expects = []
        gate = Gate(lambda: expects.append(gen_of(servers[len(expects) % 2])))
        t0 = time.time()
        run_threads("rounds", [(racer_rounds, (t, servers[t % 2], gate, expects, ares, lock))
                               for t in range(RACERS)])
        moved = []
        deadline = time.time() + FREE_SECS
        run_threads("free-running", [(racer_free, (t, servers[t % 2], deadline, ares, lock))
                                     for t in range(RACERS)] +
                    [(stale_planner, (b, ares, lock, moved))])
        # the same stale plan once more, through the other replica
        g_stale = [r["expect"] for r in ares if r["phase"] == "stale"][0]
        st, body = assign(a, 1, g_stale, "stale-plan-a")
        ares.append({"phase": "stale", "expect": g_stale, "reason": "stale-plan-a", "version": 1,
                     "st": st, "body": body})
        print("assigns: %d in %.1f s" % (len(ares), time.time() - t0))
        lost = [r for r in ares if r["st"] is None]
        h.check(not lost, "assigns without an answer: %s" % [(r["reason"], r["body"])
                                                            for r in lost])
        fivexx = [r for r in ares if r["st"] >= 500]
        h.check(not fivexx, "assigns answered 5xx: %s" % [(r["reason"], r["st"], r["body"])
                                                         for r in fivexx[:5]]); n += 1
        wins, final = check_assigns(a, b, ares, start_gen, moved)

        # audit_counts_equal_acknowledged_writes
        check_audit(a, b, acks, wins, start_gen)

        # forced_assigns_all_land: "force" overrides whatever changed since,
        # also while other forced writers move the generation on both
        # replicas; every one lands on its own generation
        st, cf = a.api("POST", "/v1/configs", {"name": "forced", "kind": "config",
                                               "contract": h.FEATURE_CONTRACT})
        st, _, _ = a.request("POST", "/v1/configs/forced/versions", doc_bytes("forced", 0, 0),
                             headers={"Content-Type": "application/json"})
        h.check(st == 201, "publish forced v1: %s" % st)
        fres = []

        def forcer(t, s):
            for i in range(8):
                st, body = attempt(s, "POST", "/v1/configs/forced/assign",
                                   {"version": 1, "cells": CELLS[:1], "force": True,
                                    "reason": "f%d-%d" % (t, i)})
                with lock:
                    fres.append((st, body))

        run_threads("forcers", [(forcer, (t, servers[t % 2])) for t in range(RACERS)])
        gens = sorted(b_["generation"] for st, b_ in fres if st == 201)
        h.check(len(gens) == len(fres), "forced assigns refused: %s" %
                [(st, b_) for st, b_ in fres if st != 201][:3])
        h.check(gens == list(range(1, len(fres) + 1)), "forced generations %s" % gens); n += 1
        print("forced_assigns_all_land: %d forced assigns across a and b, generations 1..%d"
              % (len(fres), gens[-1]))
    finally:
        for s in servers:
            s.stop()
shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks" % n)
