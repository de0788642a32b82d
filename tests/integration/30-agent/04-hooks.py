# SPDX-License-Identifier: MIT
"""Hooks and start-up: a failing reload hook restores the last-known-good
(and reloads it) and reports reload_failed; a reload that hangs is killed
(its whole process group) at its timeout; a failing check command rejects
the document before it touches the target; the agent fails over to the
next server when the first is unreachable; a corrupt state file is moved
aside, the files on disk are kept, and the agent converges again."""
import glob
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentkit as K  # noqa: E402
import harness  # noqa: E402

RELOAD = r'''#!/bin/sh
echo "$CELLGATE_VERSION" >> "$(dirname "$CELLGATE_PATH")/reloads"
if grep -q BADRELOAD "$CELLGATE_PATH"; then exit 3; fi
if grep -q SLOWRELOAD "$CELLGATE_PATH"; then sleep 60 & sleep 60; fi
exit 0
'''
CHECK = r'''#!/bin/sh
grep -q BADCHECK "$1" && exit 1
exit 0
'''

passed = 0
root = K.tmpdir()
with harness.Server() as s:
    toks = K.setup_fleet(s, ["c1"])
    pk = K.pubkey(s)
    for name, text in (("reload.sh", RELOAD), ("check.sh", CHECK)):
        p = os.path.join(root, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o755)
    dead = "http://127.0.0.1:9"  # nothing listens on the discard port
    a = K.Agent(root, "h1", "c1", toks["c1"], pk, [dead, s.url],
                reload_cmd=os.path.join(root, "reload.sh"),
                check_cmd=os.path.join(root, "check.sh"), reload_timeout=1)
    a.start(wait_started=True)

    def doc(note, n=60):
        d = harness.features(n)
        d["limits"]["note"] = note
        return d

    def reloads():
        p = os.path.join(a.dir, "reloads")
        return [x for x in open(p).read().split()] if os.path.exists(p) else []

    def reported(outcome, needle, timeout=20):
        def ok():
            hc = K.host_config(s, "h1") or {}
            return hc.get("outcome") == outcome and needle in (hc.get("error") or "")
        K.wait_for(ok, timeout, "report %s/%s, have %s" % (outcome, needle,
                                                            K.host_config(s, "h1")))

    # failover: the first server is unreachable, the second serves
    v1, b1 = K.publish(s, doc("good-1"))
    g1 = K.assign(s, v1, ["c1"])
    K.wait_for(lambda: a.content() == b1 and a.held() == (v1, g1), 30,
               "apply via the second server; log:\n" + a.logtext()[-2000:])
    passed += 1

    # a reload hook that fails: restored, reloaded again, reported
    v2, b2 = K.publish(s, doc("BADRELOAD"))
    g2 = K.assign(s, v2, ["c1"])
    reported("reload_failed", "reload command exited with status 3")
    K.check(a.content() == b1, "the last-known-good was not restored")
    K.check(a.held() == (v1, g1), "held moved on a failed reload: %s" % (a.held(),))
    r = reloads()
    K.check(r[-2:] == [str(v2), str(v1)],
            "expected reload of v2 then of the restored v1: %s" % r)
    passed += 1

    # a reload that hangs: killed at its timeout (process group), restored
    v3, b3 = K.publish(s, doc("SLOWRELOAD"))
    t0 = time.time()
    K.assign(s, v3, ["c1"])
    reported("reload_failed", "timed out")
    K.check(time.time() - t0 < 15, "hung reload was not killed in time")
    K.check(a.content() == b1, "the last-known-good was not restored after a timeout")
    passed += 1

    # a check command that fails: rejected before the target is touched
    n_before = len(reloads())
    v4, b4 = K.publish(s, doc("BADCHECK"))
    K.assign(s, v4, ["c1"])
    reported("rejected", "check command exited with status 1")
    K.check(a.content() == b1 and len(reloads()) == n_before,
            "a rejected document touched the target or ran the reload")
    passed += 1

    # and a good one goes through after all that
    v5, b5 = K.publish(s, doc("good-5"))
    g5 = K.assign(s, v5, ["c1"])
    K.wait_for(lambda: a.content() == b5 and a.held() == (v5, g5), 30, "apply v5")
    K.check(a.stop() == 0, "agent exit status")
    passed += 1

    # a corrupt state file: moved aside, target kept, converges again
    with open(os.path.join(a.state_dir, "state.json"), "w") as f:
        f.write('{"format":1,"configs":{"features":{"lkg_generation":"oops"')
    v6, b6 = K.publish(s, doc("good-6"))
    g6 = K.assign(s, v6, ["c1"])
    a.start(wait_started=True)
    K.check(a.content() in (b5, b6), "target changed to something else")
    K.wait_for(lambda: a.content() == b6 and a.held() == (v6, g6), 30, "apply after corrupt state")
    K.check(glob.glob(os.path.join(a.state_dir, "state.json.corrupt.*")),
            "corrupt state was not kept aside")
    K.check("unusable" in a.logtext(), "corrupt state was not logged")
    K.check(a.stop() == 0, "agent exit status")
    passed += 1

    # server unreachable at start: the file on disk stays, the agent keeps trying
    b = K.Agent(root, "h2", "c1", toks["c1"], pk, [dead])
    with open(b.target, "wb") as f:
        f.write(b1)
    b.start(wait_started=True)
    time.sleep(2)
    K.check(b.alive() and b.content() == b1, "unreachable server: agent died or file changed")
    K.check(b.logtext().count("poll:") >= 2, "agent is not retrying:\n" + b.logtext())
    K.check(b.stop() == 0, "agent exit status")
    rc = b.once()
    K.check(rc == 3, "--once against a dead server should exit 3, got %s" % rc)
    passed += 1

K.rmtree(root)
harness.done("30-agent/04-hooks", passed)
