# SPDX-License-Identifier: MIT
"""The official JSON-Schema-Test-Suite, draft 2020-12 (tests/data/
json-schema-test-suite, MIT), through a real server: every group's schema
becomes a config's contract (`POST /v1/configs`), every test's instance is
checked with `POST /v1/configs/NAME/validate`, and the answer must be the
suite's. The files under optional/format/ run with "format_assertion": true
in the contract. Prints per-file counts (passed / failed / refused).

Refusals (a schema the server will not take) and wrong answers are allowed
only where listed below with a reason; a listed one that no longer happens
fails too, so the lists cannot go stale. The unit runner
(test_jsonschema_suite) runs the same files through common/jsonschema/
directly: the two paths must agree."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

SUITE = os.path.join(h.DATA_DIR, "json-schema-test-suite", "tests", "draft2020-12")

# (file, group description) -> why the server refuses the group's schema
REMOTE = "a remote $ref: a contract never fetches from the network (put the schema in $defs)"
META = ("$schema names a custom meta-schema (a remote document): a contract's $schema can only "
        "be the 2020-12 one")
DEPS = ("draft-7 \"dependencies\" is refused, naming dependentRequired/dependentSchemas: a "
        "keyword of another draft is neither honoured nor silently ignored")
REFUSED = {
    ("defs.json", "validate definition against metaschema"): REMOTE,
    ("ref.json", "remote ref, containing refs itself"): REMOTE,
    ("dynamicRef.json", "strict-tree schema, guards against misspelled properties"): REMOTE,
    ("dynamicRef.json", "tests for implementation dynamic anchor and reference link"): REMOTE,
    ("dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $defs first"): REMOTE,
    ("dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $ref first"): REMOTE,
    ("dynamicRef.json", "$ref to $dynamicRef finds detached $dynamicAnchor"): REMOTE,
    ("refRemote.json", "remote ref"): REMOTE,
    ("refRemote.json", "fragment within remote ref"): REMOTE,
    ("refRemote.json", "anchor within remote ref"): REMOTE,
    ("refRemote.json", "ref within remote ref"): REMOTE,
    ("refRemote.json", "base URI change"): REMOTE,
    ("refRemote.json", "base URI change - change folder"): REMOTE,
    ("refRemote.json", "base URI change - change folder in subschema"): REMOTE,
    ("refRemote.json", "root ref in remote ref"): REMOTE,
    ("refRemote.json", "remote ref with ref to defs"): REMOTE,
    ("refRemote.json", "Location-independent identifier in remote ref"): REMOTE,
    ("refRemote.json", "retrieved nested refs resolve relative to their URI not $id"): REMOTE,
    ("refRemote.json", "remote HTTP ref with different $id"): REMOTE,
    ("refRemote.json", "remote HTTP ref with different URN $id"): REMOTE,
    ("refRemote.json", "remote HTTP ref with nested absolute ref"): REMOTE,
    ("refRemote.json", "$ref to $ref finds detached $anchor"): REMOTE,
    ("vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary"): META,
    ("vocabulary.json", "ignore unrecognized optional vocabulary"): META,
    (os.path.join("optional", "cross-draft.json"),
     "refs to historic drafts are processed as historic drafts"): REMOTE,
    (os.path.join("optional", "dependencies-compatibility.json"), "single dependency"): DEPS,
    (os.path.join("optional", "dependencies-compatibility.json"), "empty dependents"): DEPS,
    (os.path.join("optional", "dependencies-compatibility.json"), "multiple dependents required"): DEPS,
    (os.path.join("optional", "dependencies-compatibility.json"), "dependencies with escaped characters"): DEPS,
    (os.path.join("optional", "dependencies-compatibility.json"), "single schema dependency"): DEPS,
    (os.path.join("optional", "dependencies-compatibility.json"), "boolean subschemas"): DEPS,
    (os.path.join("optional", "dependencies-compatibility.json"), "schema dependencies with escaped characters"): DEPS,
    (os.path.join("optional", "format-assertion.json"),
     "schema that uses custom metaschema with format-assertion: false"): META,
    (os.path.join("optional", "format-assertion.json"),
     "schema that uses custom metaschema with format-assertion: true"): META,
}
# (file, group description, test description) -> why the answer differs
WRONG = {
    (os.path.join("optional", "format", "ecmascript-regex.json"),
     "ECMA 262 lookbehind is valid, including variable width",
     "a variable-width lookbehind (ES2018)"):
        "PCRE2 10.42 (Debian 12) refuses variable-length lookbehind, so no pattern could use it",
}


def files():
    out = []
    for sub in ("", "optional", os.path.join("optional", "format")):
        d = os.path.join(SUITE, sub)
        if os.path.isdir(d):
            out += [os.path.join(sub, f) for f in sorted(os.listdir(d)) if f.endswith(".json")]
    return out


problems, seen_refused, seen_wrong = [], set(), set()
rows = []
with h.Server() as s:
    k = 0
    for f in files():
        fmt = f.startswith(os.path.join("optional", "format"))
        groups = json.load(open(os.path.join(SUITE, f)))
        passed = failed = refused = 0
        for g in groups:
            k += 1
            name = "s%d" % k
            contract = {"media_type": "application/json", "schema": g["schema"]}
            if fmt:
                contract["format_assertion"] = True
            st, b = s.api("POST", "/v1/configs", {"name": name, "kind": "config",
                                                  "contract": contract})
            key = (f, g["description"])
            if st != 201:
                refused += len(g["tests"])
                if key in REFUSED:
                    seen_refused.add(key)
                else:
                    problems.append("%s / %s: refused %s %s" % (f, g["description"], st,
                                                               json.dumps(b)[:300]))
                continue
            for t in g["tests"]:
                body = json.dumps(t["data"])
                st, _, ans = s.request("POST", "/v1/configs/%s/validate" % name, body,
                                       headers={"Content-Type": "application/json"})
                got = json.loads(ans).get("valid") if st == 200 else None
                tkey = (f, g["description"], t["description"])
                if got == t["valid"]:
                    passed += 1
                    continue
                failed += 1
                if tkey in WRONG:
                    seen_wrong.add(tkey)
                else:
                    problems.append("%s / %s / %s: want valid=%s, got %s %s" % (
                        f, g["description"], t["description"], t["valid"], st, ans[:300]))
        rows.append((f, passed, failed, refused))
for f, p, fl, r in rows:
    print("%-45s %4d passed %4d failed %4d refused" % (f, p, fl, r))
req = [r for r in rows if os.sep not in r[0]]
opt = [r for r in rows if os.sep in r[0]]
for label, rs in (("required", req), ("optional", opt)):
    print("%s files (%d): %d passed, %d failed, %d refused" % (
        label, len(rs), sum(r[1] for r in rs), sum(r[2] for r in rs), sum(r[3] for r in rs)))
for key in sorted(set(REFUSED) - seen_refused):
    problems.append("listed as refused but accepted now: %s / %s" % key)
for key in sorted(set(WRONG) - seen_wrong):
    problems.append("listed as a wrong answer but right now: %s / %s / %s" % key)
h.check(not problems, "%d problems:\n%s" % (len(problems), "\n".join(problems[:200])))
print("ok: %d files" % len(rows))
