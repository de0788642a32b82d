# SPDX-License-Identifier: MIT
"""The agent's own line of defence. A tampering proxy in front of a real
cellgated (holding the server's signing key, so it can also forge *validly
signed* bad statements) feeds the agent everything that must not be
applied. For each case the host stays on its last-known-good, the agent
keeps running, and (where the server can hear it) the report says why:

  contract violation (Cloudflare-style doubled feature file, validly signed:
  the server itself would refuse to publish it), the contract swapped for a
  permissive one together with that validly signed doubled file (the
  signed contract_sha256 catches it), sha256 mismatch, bad
  signature, older generation replayed, statement for another cell,
  expired statement, truncated blob (short body and broken transfer), a
  server answering 500s / 503 with Retry-After, a server that hangs,
  garbage and oversized answers. After each case the honest path works
  again (liveness)."""
import copy
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentkit as K  # noqa: E402
import harness  # noqa: E402

passed = 0
root = K.tmpdir()
with harness.Server() as s:
    toks = K.setup_fleet(s, ["c1", "c2"])
    signer = K.Signer.from_server(s)
    K.check(signer.pubhex == K.pubkey(s), "key file and /v1/agent/pubkey disagree")
    px = K.Proxy(s.port)
    a = K.Agent(root, "h1", "c1", toks["c1"], signer.pubhex, [px.url], wait=2)
    a.start(wait_started=True)
    nfeat = [60]

    def good_change():
        """Publishes and assigns the next honest version; returns (v, g, bytes)."""
        nfeat[0] += 1
        v, b = K.publish(s, harness.features(nfeat[0]))
        g = K.assign(s, v, ["c1"])
        return v, g, b

    def converge(v, g, b, timeout=30):
        K.wait_for(lambda: a.content() == b and a.held() == (v, g), timeout,
                   "agent to apply v%d g%d; log tail:\n%s" % (v, g, a.logtext()[-3000:]))

    def stays(b, secs=1.5):
        end = time.time() + secs
        while time.time() < end:
            K.check(a.alive(), "agent died; log:\n" + a.logtext()[-3000:])
            K.check(a.content() == b, "target file changed away from the last-known-good")
            time.sleep(0.1)

    def reported(outcome, needle, timeout=20):
        def ok():
            hc = K.host_config(s, "h1") or {}
            return hc.get("outcome") == outcome and needle in (hc.get("error") or "")
        K.wait_for(ok, timeout, "report %s/%s, have %s" % (outcome, needle,
                                                            K.host_config(s, "h1")))
        return K.host_config(s, "h1")

    def recover():
        """The honest path must work again after the attack stops."""
        px.reset()
        v, g, b = good_change()
        converge(v, g, b)
        return v, g, b

    lkg = good_change()
    converge(*lkg)
    # the signed contract_sha256 is the hash of the contract's canonical
    # text, i.e. of what GET /v1/configs/features serves, re-serialised
    st, cfg = s.api("GET", "/v1/configs/features")
    K.check(st == 200, "config get: %s %s" % (st, cfg))
    csha = K.contract_sha256(cfg["contract"])
    asg = px.seen[-1]["assignments"][0]
    K.check(asg["statement"]["statement"]["contract_sha256"] == csha == asg["contract_sha256"],
            "signed contract_sha256 %s, canonical %s" % (asg["statement"]["statement"], csha))
    passed += 1

    def forge(doc, cell="c1", gen_delta=1, sha=None, version=None, ttl_ms=3600000, config=None,
              issued_ms=None, item_contract=None):
        """Replaces the features assignment with a forged statement. It signs
        the contract_sha256 the server signed (the real contract);
        item_contract replaces only the unsigned copy next to it."""
        doc = copy.deepcopy(doc)
        for asg in doc["assignments"]:
            if asg["config"] == "features":
                g = asg["generation"] + gen_delta
                v = version or asg["version"] + 1
                sh = sha or asg["sha256"]
                csha = asg["statement"]["statement"]["contract_sha256"]
                asg.update({"generation": g, "version": v, "sha256": sh,
                            "contract_sha256": item_contract or csha})
                asg["statement"] = signer.statement(cell, config or "features", v, sh, g, csha,
                                                    ttl_ms=ttl_ms, issued_ms=issued_ms)
        return doc

    # 1. contract violation: a validly signed, doubled feature file (the
    #    server would refuse to publish it: cardinality and growth)
    doubled = K.canon(harness.features(2 * nfeat[0]))
    px.blobs[K.sha256(doubled)] = doubled
    px.rewrite_desired = lambda d: forge(d, sha=K.sha256(doubled))
    stays(lkg[2])
    hc = reported("rejected", "contract_violation")
    rules = sorted({x["rule"] for x in hc.get("violations", [])})
    K.check("cardinality.max" in rules or "growth.max_abs" in rules,
            "violations should name the cardinality/growth rules: %s" % rules)
    K.check(hc["lkg_version"] == lkg[0], "lkg must stay: %s" % hc)
    passed += 1
    # the forged generation was refused for good; the next honest one is newer
    px.reset()
    K.assign(s, lkg[0], ["c1"])  # burn the forged generation number
    lkg = recover()
    passed += 1

    # 1b. the proxy swaps the contract for a permissive one (with its true
    #     sha256 in the unsigned field) and the doubled file for a validly
    #     signed bad version. The statement signs the real contract's
    #     sha256, the fetched contract hashes to something else: refused
    #     (verify_failed, contract_mismatch), last-known-good kept. The
    #     agent is restarted first so that it has no contract cached and
    #     must fetch one (with the real one cached, case 1 applies).
    rc = a.stop()
    K.check(rc == 0, "agent exit status %s" % rc)
    a.start(wait_started=True)
    permissive = {"media_type": "application/json", "schema": {"type": "object"}}
    doubled = K.canon(harness.features(2 * nfeat[0]))
    px.blobs[K.sha256(doubled)] = doubled
    px.rewrite_config = lambda c: dict(c, contract=permissive)
    px.rewrite_desired = lambda d: forge(d, sha=K.sha256(doubled),
                                         item_contract=K.contract_sha256(permissive))
    stays(lkg[2])
    hc = reported("verify_failed", "contract_mismatch")
    K.check(hc["lkg_version"] == lkg[0] and hc["lkg_generation"] == lkg[1],
            "lkg must stay: %s" % hc)
    K.check(not hc.get("violations"), "no contract check may have run: %s" % hc)
    stays(lkg[2], 2)  # retried after backoffs, refused every time
    K.check(a.held() == lkg[:2], "held %s, want %s" % (a.held(), lkg[:2]))
    lkg = recover()
    passed += 1

    # 2. sha256 mismatch: the blob store hands out other bytes
    v, g, b = good_change()
    px.rewrite_blob = lambda sha, data: data.replace(b"f000", b"fXXX")
    stays(lkg[2])
    reported("verify_failed", "sha256_mismatch")
    px.reset()
    converge(v, g, b)  # the honest blob is fetched again after a backoff
    lkg = (v, g, b)
    passed += 1

    # 3. bad signature: one character of the signature flipped
    def flip(d):
        d = copy.deepcopy(d)
        for asg in d["assignments"]:
            sig = asg["statement"]["signature"]
            asg["statement"]["signature"] = ("A" if sig[0] != "A" else "B") + sig[1:]
        return d
    v, g, b = good_change()
    px.rewrite_desired = flip
    stays(lkg[2])
    reported("verify_failed", "bad_signature")
    px.reset()
    converge(v, g, b)
    lkg = (v, g, b)
    passed += 1

    # 3b. tampered field under a valid signature (version bumped)
    def tamper(d):
        d = copy.deepcopy(d)
        for asg in d["assignments"]:
            asg["statement"]["statement"]["generation"] += 5
        return d
    v, g, b = good_change()
    px.rewrite_desired = tamper
    stays(lkg[2])
    reported("verify_failed", "bad_signature")
    px.reset()
    converge(v, g, b)
    lkg = (v, g, b)
    passed += 1

    # 4. an older generation replayed (a real, still valid statement seen earlier)
    old = None
    for d in px.seen:
        for asg in d["assignments"]:
            if asg["config"] == "features" and asg["generation"] < lkg[1]:
                old = d
    K.check(old is not None, "no older desired state was recorded")
    px.rewrite_desired = lambda d: old
    stays(lkg[2])
    reported("verify_failed", "not_newer")
    lkg = recover()
    passed += 1

    # 5. a statement for another cell (real, signed by the server for c2)
    vo, bo = K.publish(s, harness.features(nfeat[0] + 1))
    nfeat[0] += 1  # the next good change publishes other bytes (identical ones are refused)
    K.assign(s, vo, ["c2"])
    st, other = s.api("GET", "/v1/agent/desired?cell=c2")
    K.check(st == 200 and other["assignments"], "desired for c2: %s %s" % (st, other))

    def swap(d):
        d = copy.deepcopy(d)
        d["assignments"] = other["assignments"]
        return d
    px.rewrite_desired = swap
    stays(lkg[2])
    reported("verify_failed", "wrong_cell")
    lkg = recover()
    passed += 1

    # 6. an expired statement (freeze attack), validly signed
    px.rewrite_desired = lambda d: forge(d, gen_delta=1, ttl_ms=3600000,
                                         issued_ms=int(time.time() * 1000) - 7200000)
    stays(lkg[2])
    reported("verify_failed", "expired")
    lkg = recover()
    passed += 1

    # 6b. a statement from a key nobody pinned
    stranger = K.Signer.random()

    def unknown_key(d):
        d = copy.deepcopy(d)
        for asg in d["assignments"]:
            asg["statement"] = stranger.statement("c1", "features", asg["version"] + 1,
                                                  asg["sha256"], asg["generation"] + 1,
                                                  asg["contract_sha256"])
        return d
    px.rewrite_desired = unknown_key
    stays(lkg[2])
    reported("verify_failed", "unknown_key")
    lkg = recover()
    passed += 1

    # 7. truncated blob: (a) a short body served as complete -> sha256 mismatch
    v, g, b = good_change()
    px.rewrite_blob = lambda sha, data: data[: len(data) // 2]
    stays(lkg[2])
    reported("verify_failed", "sha256_mismatch")
    # (b) the transfer breaks off (Content-Length not reached)
    px.rewrite_blob = lambda sha, data: "drop"
    stays(lkg[2], 2)
    px.reset()
    converge(v, g, b)
    lkg = (v, g, b)
    passed += 1

    # 8. a server that answers 500s, then 503 with Retry-After: no storm
    v, g, b = good_change()
    px.mode = "500"
    h0 = sum(px.hits.values())
    stays(lkg[2], 4)
    n500 = sum(px.hits.values()) - h0
    K.check(n500 <= 30, "%d requests in 4 s against a failing server: no backoff?" % n500)
    px.mode = "503"
    stays(lkg[2], 2)
    px.mode = "pass"
    converge(v, g, b)
    lkg = (v, g, b)
    passed += 1

    # 9. a server that hangs: timeouts, and SIGTERM still stops the agent at once
    v, g, b = good_change()
    px.mode = "hang"
    stays(lkg[2], 3)
    t0 = time.time()
    rc = a.stop(timeout=10)
    K.check(rc == 0 and time.time() - t0 < 5, "SIGTERM during a hang: rc %s after %.1fs" % (
        rc, time.time() - t0))
    a.start(wait_started=True)
    stays(lkg[2], 1.5)
    px.mode = "pass"
    converge(v, g, b)
    lkg = (v, g, b)
    passed += 1

    # 10. garbage and oversized answers
    v, g, b = good_change()
    px.mode = "garbage"
    stays(lkg[2], 2)
    px.mode = "huge"
    stays(lkg[2], 2)
    px.mode = "pass"
    converge(v, g, b)
    lkg = (v, g, b)
    passed += 1

    rc = a.stop()
    K.check(rc == 0, "agent exit status %s" % rc)
    px.close()

K.rmtree(root)
harness.done("30-agent/02-reject", passed)
