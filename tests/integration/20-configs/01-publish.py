# SPDX-License-Identifier: MIT
"""Cells, configs, validate, publish (contract enforced, nothing stored on a
violation), versions, raw bytes, blobs with immutable caching, plans, audit."""
import hashlib, json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
with h.Server() as s:
    st, b = s.api("POST", "/v1/cells", {"id": "use1-az1-c01", "region": "us-east-1", "zone": "use1-az1"})
    h.check(st == 201 and b["id"] == "use1-az1-c01", "cell add %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/cells", {"id": "use1-az1-c01", "region": "us-east-1", "zone": "use1-az1"})
    h.check(st == 409, "duplicate cell %s" % st); n += 1
    st, b = s.api("POST", "/v1/configs", {"name": "bot-features", "kind": "config", "contract": h.FEATURE_CONTRACT})
    h.check(st == 201 and b["latest_version"] == 0, "config create %s %s" % (st, b)); n += 1
    st, b = s.api("POST", "/v1/configs", {"name": "bot-features", "contract": {}})
    h.check(st == 409, "duplicate config %s" % st); n += 1

    good = json.dumps(h.features(60)).encode()
    st, b = s.api("POST", "/v1/configs/bot-features/validate", good)
    h.check(st == 200 and b["valid"] is True and b["violations"] == [], "validate good %s" % b); n += 1
    st, b = s.api("POST", "/v1/configs/bot-features/versions?message=first", good)
    h.check(st == 201 and b["number"] == 1 and b["sha256"] == hashlib.sha256(good).hexdigest()
            and b["message"] == "first" and b["author"] == "token:admin", "publish 1 %s" % b); n += 1

    # Cloudflare: the feature file doubles -> rejected with every violation, nothing stored.
    doubled = json.dumps(h.features(240)).encode()
    st, b = s.api("POST", "/v1/configs/bot-features/validate", doubled)
    h.check(st == 200 and b["valid"] is False and len(b["violations"]) >= 2, "validate doubled %s" % b); n += 1
    st, b = s.api("POST", "/v1/configs/bot-features/versions", doubled)
    h.check(st == 422 and b["error"]["code"] == "contract_violation", "publish doubled %s %s" % (st, b))
    rules = {v["rule"] for v in b["error"]["details"]["violations"]}
    h.check(any(r.startswith("cardinality") for r in rules) and any(r.startswith("growth") for r in rules),
            "doubled rules %s" % rules)
    for v in b["error"]["details"]["violations"]:
        h.check(set(v) >= {"pointer", "rule", "expected", "actual", "message"}, "violation shape %s" % v)
    n += 1
    nolimits = json.dumps(h.features(61, limits=False)).encode()
    st, b = s.api("POST", "/v1/configs/bot-features/versions", nolimits)
    h.check(st == 422 and any(v["rule"] == "preserve" for v in b["error"]["details"]["violations"]),
            "preserve %s" % b); n += 1
    st, b = s.api("POST", "/v1/configs/bot-features/versions", b"{broken")
    h.check(st == 422 and b["error"]["details"]["violations"][0]["rule"] == "json", "bad json doc %s" % b); n += 1
    st, b = s.api("GET", "/v1/configs/bot-features")
    h.check(b["latest_version"] == 1, "rejected publishes stored something: %s" % b); n += 1

    v2 = json.dumps(h.features(63)).encode()
    st, b = s.api("POST", "/v1/configs/bot-features/versions?message=add%203%20features", v2)
    h.check(st == 201 and b["number"] == 2 and b["parent"] == 1 and b["message"] == "add 3 features",
            "publish 2 %s" % b); n += 1
    st, b = s.api("GET", "/v1/configs/bot-features/versions")
    h.check([v["number"] for v in b["versions"]] == [2, 1], "versions %s" % b); n += 1
    st, b = s.api("GET", "/v1/configs/bot-features/versions?limit=1&before=2")
    h.check([v["number"] for v in b["versions"]] == [1], "versions paging %s" % b); n += 1
    st, hd, data = s.request("GET", "/v1/configs/bot-features/versions/2/raw")
    h.check(st == 200 and data == v2 and hd["etag"] == '"%s"' % hashlib.sha256(v2).hexdigest(), "raw"); n += 1
    sha = hashlib.sha256(v2).hexdigest()
    st, hd, data = s.request("GET", "/v1/blobs/" + sha)
    h.check(st == 200 and data == v2 and "immutable" in hd["cache-control"], "blob %s %s" % (st, hd)); n += 1
    st, hd, data = s.request("GET", "/v1/blobs/" + sha, headers={"If-None-Match": '"%s"' % sha})
    h.check(st == 304 and data == b"", "blob 304 %s" % st); n += 1

    # Plans are validated; every problem is named.
    plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 60, "min_requests": 100},
                      {"name": "rest", "percent": 100, "bake_s": 0}]}
    st, b = s.api("PUT", "/v1/plans/fast", plan)
    h.check(st == 201 and b["name"] == "fast", "plan put %s %s" % (st, b)); n += 1
    st, b = s.api("PUT", "/v1/plans/fast", plan)
    # the same body again: no new plan version, no audit record (issue 17)
    h.check(st == 200 and b["version"] == 1, "plan update %s %s" % (st, b)); n += 1
    st, b = s.api("PUT", "/v1/plans/bad", {"waves": [{"name": "x", "percent": 300}], "skip_bake": True})
    h.check(st == 422 and b["error"]["code"] == "invalid" and len(b["error"]["details"]["errors"]) >= 2,
            "bad plan %s" % b); n += 1
    st, b = s.api("PUT", "/v1/configs/bot-features/plan", {"plan": "fast"})
    h.check(st == 200 and b["plan"] == "fast", "set plan %s" % b); n += 1

    st, b = s.api("GET", "/v1/audit")
    recs = [r for r in b["records"] if r["action"] not in ("lease.acquire", "meta.set")]
    actions = [r["action"] for r in recs]
    h.check(actions == ["token.create", "cell.add", "config.create", "version.publish",
                        "version.publish", "plan.set", "config.set_plan"],
            "audit actions %s" % actions); n += 1
    h.check(recs[4]["reason"] == "add 3 features", "audit reason"); n += 1
h.done("publish", n)
