#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""differential.py: common/flagd against flagd's own evaluator.

Usage: differential.py --driver BUILD/tests/flagd_eval --work DIR [--contexts N] [--seed S]

Installs the pinned @openfeature/flagd-core (tests/flagd/package-lock.json)
into DIR with `npm ci`, generates N random evaluation contexts (seeded),
evaluates every flag of every document in tests/flagd/docs/ for each
context with both flagd_eval (C, common/flagd) and reference.js (node,
flagd-core), and compares value, variant, reason and error code.

A difference is deliberate only when differences.md lists its class and the
reference's output shows it (today: a fractional bucketing value with
non-ASCII text, which flagd-core hashes as UTF-16 code units where flagd
hashes UTF-8 bytes). Any other difference fails the test (exit 1) and is
printed with its document, flag and context. Without node or npm the test
is skipped (exit 77).
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NOW_S = 1767225600  # 2026-01-01T00:00:00Z: $flagd.timestamp on both sides
SKIP = 77


def npm_install(work):
    """npm ci into work/, once per lockfile."""
    lock = os.path.join(HERE, "package-lock.json")
    with open(lock, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    stamp = os.path.join(work, ".lock-sha256")
    os.makedirs(work, exist_ok=True)
    for name in ("package.json", "package-lock.json", "reference.js"):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(work, name))
    if os.path.exists(stamp) and open(stamp).read() == digest and os.path.isdir(
            os.path.join(work, "node_modules", "@openfeature", "flagd-core")):
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
                   cwd=work, check=True, timeout=300)
    with open(stamp, "w") as f:
        f.write(digest)


def pick(rng, choices):
    return choices[rng.randrange(len(choices))]


def rand_value(rng, depth=0):
    """Any JSON value, for fields whose type the rules do not expect."""
    k = rng.randrange(9 if depth < 2 else 6)
    if k == 0:
        return None
    if k == 1:
        return rng.random() < 0.5
    if k == 2:
        return rng.randrange(-5, 120)
    if k == 3:
        return pick(rng, [0, 0.5, -1.25, 1e21, 1e-7, 100.0, 2.5])
    if k == 4:
        return pick(rng, ["", "0", "30", " 30 ", "abc", "1e2", "0x1f", "gold", "de", "true", "null"])
    if k == 5:
        return pick(rng, ["red", "blue", "x", "Zürich", "日本"])
    if k == 6:
        return [rand_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if k == 7:
        return {"qty": rand_value(rng, depth + 1)}
    return {}


VERSIONS = ["1.2.3", "1.2.4", "1.2.3-alpha", "1.2.3-alpha.1", "1.2.3-alpha.beta", "1.2.3-1",
            "1.2.3+build.5", "v1.2.3", "V2.0.0", "2.0.0-beta.2", "2.0.0-beta.11", "2.0.0-rc.1",
            "2.0.0", "1.10.0", "1.9.9", "1", "1.2", "01.2.3", "1.2.3.4", "not-a-version", "",
            " 1.2.3 ", "0.0.1", "10.20.30", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "v1.10.1"]


def rand_context(rng):
    c = {}

    def maybe(key, gen, p=0.8):
        if rng.random() < p:
            c[key] = gen() if rng.random() < 0.9 else rand_value(rng)

    tk = rng.random()
    if tk < 0.8:
        c["targetingKey"] = "user-%d" % rng.randrange(100000)
    elif tk < 0.85:
        c["targetingKey"] = pick(rng, ["", "ü-%d" % rng.randrange(100), "日本-%d" % rng.randrange(100)])
    elif tk < 0.9:
        c["targetingKey"] = rng.randrange(1000)
    maybe("email", lambda: pick(rng, ["admin", "user", "ops", "ana"]) + "%d@" % rng.randrange(50)
          + pick(rng, ["example.com", "example.org", "test.net", "mail.de"]))
    maybe("age", lambda: pick(rng, [rng.randrange(0, 90), rng.randrange(0, 90), str(rng.randrange(90)),
                                    30, 17.5]))
    maybe("score", lambda: pick(rng, [rng.randrange(-10, 120), "10", 10, 50.5, 0]))
    maybe("country", lambda: pick(rng, ["de", "fr", "nl", "us", "example", "abc", "de"]))
    maybe("home", lambda: pick(rng, ["de", "fr", "us"]))
    maybe("tier", lambda: pick(rng, ["gold", "silver", "bronze", "platinum", ""]))
    maybe("name", lambda: pick(rng, ["alice", "bob", "mallory", "Zed", "zoe", "émile", ""]))
    maybe("beta", lambda: rng.random() < 0.5)
    maybe("tags", lambda: rng.sample(["red", "blue", "green", "blocked", "x"], rng.randrange(4)))
    maybe("user", lambda: {"role": pick(rng, ["admin", "user", "guest", "root"]),
                           "id": rng.randrange(100)} if rng.random() < 0.8 else {"id": None})
    maybe("items", lambda: [{"qty": rng.randrange(0, 10)} for _ in range(rng.randrange(5))])
    maybe("version", lambda: pick(rng, VERSIONS))
    maybe("min_version", lambda: pick(rng, VERSIONS))
    maybe("factor", lambda: pick(rng, [1, 0.5, 2, -1]))
    maybe("plans", lambda: {"de": "gold", "fr": "silver", "us": "bronze"})
    maybe("launch", lambda: NOW_S + rng.randrange(-1000, 1000))
    maybe("rollout", lambda: rng.randrange(-10, 110))
    return c


def flag_type(doc, key):
    variants = doc["flags"][key]["variants"]
    v = next(iter(variants.values()))
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return "object"


WRONG = {"boolean": "string", "string": "number", "number": "boolean", "object": "string"}


def requests_for(doc, rng, n):
    keys = sorted(doc["flags"])
    out = []
    for i in range(n):
        ctx = rand_context(rng)
        for k in keys:
            t = flag_type(doc, k)
            if i % 17 == 0:
                t = WRONG[t]
            out.append({"flag": k, "type": t, "context": ctx})
        if i % 50 == 0:
            out.append({"flag": "no-such-flag", "type": "boolean", "context": ctx})
    return out


def run(cmd, requests, cwd=None):
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    p = subprocess.run(cmd, input=data.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd=cwd, timeout=600)
    if p.returncode != 0:
        sys.stderr.write(p.stderr.decode(errors="replace"))
        raise SystemExit("differential: %s failed (exit %d)" % (cmd[0], p.returncode))
    lines = p.stdout.decode().splitlines()
    if len(lines) != len(requests):
        raise SystemExit("differential: %s gave %d results for %d requests"
                         % (cmd[0], len(lines), len(requests)))
    return [json.loads(line) for line in lines]


def same(a, b):
    return all(a.get(k) == b.get(k) for k in ("value", "variant", "reason", "error"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--driver", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--contexts", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=20260101)
    args = ap.parse_args()
    args.work = os.path.abspath(args.work)
    args.driver = os.path.abspath(args.driver)
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("differential: skipped: node and npm are not installed (scripts/deps.sh installs them)")
        return SKIP
    npm_install(args.work)
    rng = random.Random(args.seed)
    total = identical = deliberate = 0
    real = []
    docs_dir = os.path.join(HERE, "docs")
    for name in sorted(os.listdir(docs_dir)):
        if not name.endswith(".json"):
            continue
        path = os.path.join(docs_dir, name)
        with open(path) as f:
            doc = json.load(f)
        reqs = requests_for(doc, rng, args.contexts)
        ours = run([args.driver, path, str(NOW_S)], reqs)
        ref = run(["node", os.path.join(args.work, "reference.js"), path, str(NOW_S)], reqs,
                  cwd=args.work)
        for req, a, b in zip(reqs, ours, ref):
            total += 1
            if same(a, b):
                identical += 1
            elif b.get("nonascii_hash"):
                deliberate += 1  # differences.md: "Non-ASCII bucketing values"
            else:
                real.append((name, req, a, b))
    print("differential: %d evaluations, %d identical, %d deliberate differences"
          % (total, identical, deliberate))
    for name, req, a, b in real[:25]:
        b = {k: v for k, v in b.items() if k != "nonascii_hash"}
        print("DIFFERENCE %s flag=%s type=%s\n  context: %s\n  ours:    %s\n  flagd:   %s"
              % (name, req["flag"], req["type"], json.dumps(req["context"], ensure_ascii=False),
                 json.dumps(a, sort_keys=True), json.dumps(b, sort_keys=True)))
    if real:
        print("differential: %d real differences" % len(real))
        return 1
    if total < 10000:
        print("differential: only %d evaluations" % total)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
