# SPDX-License-Identifier: MIT
"""A good change applies on every host of a cell (three agents), and only
there; reload hooks run; reports reach the server; SIGTERM stops cleanly;
--once works; the agent never applies the same generation twice."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentkit as K  # noqa: E402
import harness  # noqa: E402

passed = 0
root = K.tmpdir()
with harness.Server() as s:
    toks = K.setup_fleet(s, ["c1", "c2"])
    pk = K.pubkey(s)
    agents = []
    for i in range(3):
        a = K.Agent(root, "h%d" % i, "c1", toks["c1"], pk, [s.url],
                    reload_cmd='echo "$CELLGATE_VERSION $CELLGATE_GENERATION" >> %s' %
                    os.path.join(root, "h%d" % i, "reloads"))
        agents.append(a)
    other = K.Agent(root, "o1", "c2", toks["c2"], pk, [s.url])
    for a in agents + [other]:
        a.start(wait_started=True)

    v1, b1 = K.publish(s, harness.features(60))
    g1 = K.assign(s, v1, ["c1"])
    for a in agents:
        K.wait_for(lambda: a.content() == b1, 30, "%s to apply v1" % a.name)
        K.wait_for(lambda: a.held() == (v1, g1), 10, "%s state v1" % a.name)
    passed += 1

    v2, b2 = K.publish(s, harness.features(62))
    g2 = K.assign(s, v2, ["c1"])
    for a in agents:
        K.wait_for(lambda: a.content() == b2, 30, "%s to apply v2" % a.name)
        K.wait_for(lambda: a.held() == (v2, g2), 10, "%s state v2" % a.name)
    passed += 1

    # every host reports it runs v2
    for a in agents:
        K.wait_for(lambda: (K.host_config(s, a.name) or {}).get("lkg_version") == v2, 20,
                   "%s to report v2" % a.name)
        hc = K.host_config(s, a.name)
        K.check(hc["outcome"] == "applied" and hc["generation"] == g2, "report: %s" % hc)
    passed += 1

    # the other cell got nothing
    K.check(other.content() is None, "cell c2 must not receive c1's config")
    K.check(other.alive(), "agent o1 died")
    passed += 1

    # each generation was reloaded exactly once per host
    for a in agents:
        lines = open(os.path.join(a.dir, "reloads")).read().split("\n")
        lines = [ln for ln in lines if ln]
        K.check(lines == ["%d %d" % (v1, g1), "%d %d" % (v2, g2)],
                "%s reloads: %s" % (a.name, lines))
    passed += 1

    # SIGTERM stops cleanly and promptly, even in the middle of a long poll
    for a in agents + [other]:
        rc = a.stop(timeout=10)
        K.check(rc == 0, "%s exit status %s; log:\n%s" % (a.name, rc, a.logtext()[-2000:]))
    passed += 1

    # restart: nothing is applied again (no new reload), state kept
    a = agents[0]
    rc = a.once()
    K.check(rc == 0, "--once exit %s" % rc)
    lines = [ln for ln in open(os.path.join(a.dir, "reloads")).read().split("\n") if ln]
    K.check(len(lines) == 2, "restart re-applied: %s" % lines)
    K.check(a.content() == b2 and a.held() == (v2, g2), "restart changed state")
    passed += 1

    # --once applies a new generation in one cycle
    v3, b3 = K.publish(s, harness.features(63))
    g3 = K.assign(s, v3, ["c1"])
    rc = a.once()
    K.check(rc == 0 and a.content() == b3 and a.held() == (v3, g3),
            "--once did not apply v3 (rc %s); log:\n%s" % (rc, a.logtext()[-2000:]))
    st = a.state()
    K.check(json.dumps(st).find("pending") < 0, "pending left in state: %s" % st)
    passed += 1

K.rmtree(root)
harness.done("30-agent/01-apply", passed)
