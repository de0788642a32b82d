# SPDX-License-Identifier: MIT
"""A contract with "format_assertion", "\\u0000" in const/enum and big numbers
(docs/contracts.md "format", "Big numbers", "NUL in strings"), through every
path that loads it: the API (config create, POST .../validate, publish, GET
of the config), the CLI (config create --contract FILE) and the offline
`validate --contract`. A body field other than the contract that holds a
NUL is refused in the project's own words."""
import json, os, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

CONTRACT = {
    "format_assertion": True,
    "schema": {
        "type": "object",
        "properties": {
            "nul": {"const": "a\u0000b"},
            "pick": {"enum": ["x\u0000", "y"]},
            "ip": {"type": "string", "format": "ipv4"},
            "when": {"format": "date-time"},
            "odd": {"format": "x-not-a-known-format"},
            "big": {"maximum": 18446744073709551615},
            "half": {"type": "integer", "multipleOf": 0.5},
        },
    },
}
GOOD = {"nul": "a\u0000b", "pick": "x\u0000", "ip": "10.0.0.1", "when": "2026-12-06T23:59:60Z",
        "odd": "anything", "big": 18446744073709551600, "half": 1e308}

n = 0
with h.Server() as s, tempfile.TemporaryDirectory() as tmp:
    st, b = s.api("POST", "/v1/configs", {"name": "fmt", "kind": "config", "contract": CONTRACT})
    h.check(st == 201, "create with NUL, big numbers, format_assertion: %s %s" % (st, b)); n += 1

    st, b = s.api("GET", "/v1/configs/fmt")
    h.check(st == 200 and b["contract"]["schema"]["properties"]["nul"]["const"] == "a\u0000b"
            and b["contract"]["format_assertion"] is True
            and b["contract"]["schema"]["properties"]["big"]["maximum"] >= 1.8446744073709550e19,
            "stored contract keeps NUL and the big number: %s" % b); n += 1

    st, b = s.api("POST", "/v1/configs/fmt/validate", json.dumps(GOOD))
    h.check(st == 200 and b["valid"] is True, "good document: %s" % b); n += 1

    bad = dict(GOOD, nul="ab", pick="x", ip="10.0.0.300", when="2026-12-06T22:59:60Z",
               big=18446744073709551616000)
    st, b = s.api("POST", "/v1/configs/fmt/validate", json.dumps(bad))
    got = {(v["pointer"], v["rule"]): v for v in b.get("violations", [])}
    h.check(st == 200 and b["valid"] is False and set(got) == {
        ("/nul", "schema:const"), ("/pick", "schema:enum"), ("/ip", "schema:format"),
        ("/when", "schema:format"), ("/big", "schema:maximum")}, "bad document: %s" % b)
    h.check(got[("/ip", "schema:format")]["message"] == "not a valid ipv4 address",
            "format message %s" % got[("/ip", "schema:format")]); n += 1

    st, b = s.api("POST", "/v1/configs/fmt/versions", json.dumps(GOOD))
    h.check(st == 201, "publish with NUL in a string: %s %s" % (st, b)); n += 1

    # without the option, "format" stays an annotation
    plain = json.loads(json.dumps(CONTRACT))
    del plain["format_assertion"]
    st, b = s.api("POST", "/v1/configs", {"name": "plain", "contract": plain})
    h.check(st == 201, "create plain %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs/plain/validate", json.dumps(dict(GOOD, ip="10.0.0.300")))
    h.check(st == 200 and b["valid"] is True, "format is an annotation by default: %s" % b); n += 1

    # a NUL anywhere but in the contract is refused, without jansson's words
    st, _, raw = s.request("POST", "/v1/configs",
                           b'{"name": "x\\u0000y", "contract": {}}',
                           headers={"Content-Type": "application/json"})
    h.check(st == 400 and b"NUL" in raw and b"JSON_ALLOW_NUL" not in raw,
            "NUL in a name: %s %s" % (st, raw)); n += 1
    st, b = s.api("POST", "/v1/configs", {"name": "badfa", "contract": {"format_assertion": 1}})
    h.check(st == 422 and "format_assertion" in json.dumps(b), "non-boolean option: %s %s" % (st, b))
    n += 1

    # the CLI: config create from a file, and the offline check
    cpath = h.write(tmp, "contract.json", CONTRACT)
    good = h.write(tmp, "good.json", GOOD)
    badp = h.write(tmp, "bad.json", bad)
    r = s.cli("config", "create", "fmt-cli", "--kind", "config", "--contract", cpath)
    h.check(r.returncode == 0, "cli config create: %s %s" % (r.stdout, r.stderr)); n += 1
    st, b = s.api("POST", "/v1/configs/fmt-cli/validate", json.dumps(bad))
    h.check(st == 200 and len(b["violations"]) == 5, "via the CLI's contract: %s" % b); n += 1
    r = s.cli("validate", "--contract", cpath, good)
    h.check(r.returncode == 0, "offline good: %s %s" % (r.stdout, r.stderr)); n += 1
    r = s.cli("validate", "--contract", cpath, badp)
    h.check(r.returncode == 1 and "not a valid ipv4 address" in r.stdout + r.stderr
            and "JSON_ALLOW_NUL" not in r.stdout + r.stderr,
            "offline bad: %s %s" % (r.stdout, r.stderr)); n += 1

h.done("20-configs/05-contract-format", n)
