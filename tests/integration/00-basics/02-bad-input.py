# SPDX-License-Identifier: MIT
"""Bad input everywhere: malformed JSON, wrong types, unknown fields,
oversized bodies, bad ids, unknown objects, random bytes. The server answers
4xx with the error shape, stores nothing half-written and never crashes."""
import json, os, random, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

passed = 0
with h.Server(extra_args=["--max-body", "65536"]) as s:
    def expect(method, path, body, status, code=None, headers=None):
        global passed
        st, b = s.api(method, path, body, headers=headers)
        h.check(st == status, "%s %s %r: want %d got %d %s" % (method, path, body if not isinstance(body, bytes) else body[:40], status, st, b))
        h.check(isinstance(b, dict) and "error" in b and "message" in b["error"],
                "%s %s: error body %r" % (method, path, b))
        if code:
            h.check(b["error"]["code"] == code, "%s %s: code %s want %s" % (method, path, b["error"]["code"], code))
        passed += 1

    json_routes = [("POST", "/v1/cells"), ("POST", "/v1/configs"), ("POST", "/v1/tokens"),
                   ("PUT", "/v1/plans/p1")]
    for m, p in json_routes:
        expect(m, p, b"{not json", 400 if "plans" not in p else 400, "bad_request")
        expect(m, p, b"[1,2,3]", 400, "bad_request")
        expect(m, p, b"", 400, "bad_request")
        expect(m, p, b"{}", 400 if "plans" not in p else 422)
        expect(m, p, b'{"a":1,"a":2}', 400, "bad_request")   # duplicate key
        expect(m, p, b"[" * 5000 + b"]" * 5000, 400, "bad_request")  # too deep
        expect(m, p, b"{}", 415, "unsupported_media_type", headers={"Content-Type": "text/plain"})
        expect(m, p, b"x" * 70000, 413, "payload_too_large")
    expect("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z", "extra": 1}, 400, "bad_request")
    expect("POST", "/v1/cells", {"id": 5, "region": "r", "zone": "z"}, 400, "bad_request")
    expect("POST", "/v1/cells", {"id": "Bad Id", "region": "r", "zone": "z"}, 400, "bad_request")
    expect("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z", "labels": {"k": 1}}, 400)
    expect("POST", "/v1/configs", {"name": "c", "kind": "nope", "contract": {}}, 400)
    expect("POST", "/v1/configs", {"name": "c", "contract": {"max_bytes": "big"}}, 422, "invalid")
    expect("POST", "/v1/configs", {"name": "c", "contract": {"schema": {"type": 12}}}, 422, "invalid")
    expect("POST", "/v1/configs", {"name": "c", "contract": {}, "plan": "missing"}, 404, "not_found")
    expect("POST", "/v1/tokens", {"name": "t", "role": "king"}, 400)
    expect("POST", "/v1/tokens", {"name": "t", "role": "agent"}, 400)
    expect("POST", "/v1/tokens", {"name": "t", "role": "agent", "cell": "nocell"}, 404)
    expect("POST", "/v1/tokens", {"name": "t", "role": "reader", "cell": "c"}, 400)
    expect("GET", "/v1/configs/nope", None, 404, "not_found")
    expect("GET", "/v1/configs/nope/versions", None, 404, "not_found")
    expect("GET", "/v1/configs/nope/versions/1", None, 404, "not_found")
    expect("GET", "/v1/configs/nope/versions/abc", None, 400, "bad_request")
    expect("GET", "/v1/configs/nope/versions/-1", None, 400, "bad_request")
    expect("GET", "/v1/configs/nope/versions?limit=0", None, 400, "bad_request")
    expect("POST", "/v1/configs/nope/versions", b"{}", 404, "not_found")
    expect("GET", "/v1/blobs/xyz", None, 400, "bad_request")
    expect("GET", "/v1/blobs/" + "0" * 64, None, 404, "not_found")
    expect("GET", "/v1/audit?limit=100000", None, 400, "bad_request")
    expect("GET", "/v1/audit?after=x", None, 400, "bad_request")
    expect("DELETE", "/v1/tokens/0", None, 400, "bad_request")
    expect("DELETE", "/v1/tokens/999", None, 404, "not_found")

    # Nothing above created anything: only the init audit record exists
    # (and the leadership of the controller this replica took at start).
    st, b = s.api("GET", "/v1/audit")
    mine = [r for r in b["records"] if r["action"] not in ("lease.acquire", "meta.set")]
    h.check(st == 200 and len(mine) == 1, "audit after bad input: %s" % b)
    st, b = s.api("GET", "/v1/cells")
    h.check(b["cells"] == [], "cells created by bad input: %s" % b)

    # Random bytes at every route: never a 5xx, never a crash.
    rnd = random.Random(42)
    paths = ["/v1/cells", "/v1/configs", "/v1/configs/x/versions", "/v1/configs/x/validate",
             "/v1/plans/x", "/v1/tokens", "/v1/audit", "/v1/cells/x", "/v1/blobs/x"]
    for i in range(300):
        body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(0, 300)))
        m = rnd.choice(["GET", "POST", "PUT", "DELETE"])
        st, _, _ = s.request(m, rnd.choice(paths), body)
        h.check(st < 500, "random input got %d" % st)
    passed += 1
    st, b = s.api("GET", "/healthz", token=None)
    h.check(st == 200, "server died after random input")
h.done("bad-input", passed)
