# SPDX-License-Identifier: MIT
"""The signing key's rotation (`cellgated rekey`), with real agents:
`rekey` prepares DIR/signing.key.next and prints its public key without
changing anything; an agent given the new key beside the old one keeps
applying through the switch, `rekey --commit` (while the server runs)
changes the store's recorded key (audited meta.set, before and after) and
the files, the restarted server signs with the new key; an agent that pins
only the old key refuses the new statements and keeps its last-known-good;
a server started with the old key is refused; a second --commit has
nothing to commit."""
import os, shutil, subprocess, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentkit as k
import harness as h

n = 0
root = k.tmpdir()
with h.Server(keep=True) as s:
    toks = k.setup_fleet(s, ["c0", "c1"])
    old = k.pubkey(s)
    d = s.data_dir
    r = subprocess.run([h.SERVER_BIN, "rekey", "--data", d], capture_output=True, text=True,
                       timeout=60)
    k.check(r.returncode == 0 and os.path.exists(os.path.join(d, "signing.key.next")),
            "rekey (prepare): %r %r" % (r.stdout, r.stderr))
    new = [l.split(":", 1)[1].split()[0] for l in r.stdout.splitlines()
           if l.startswith("new public key:")][0]
    k.check(len(new) == 64 and new != old, "new key %r" % new); n += 1
    r2 = subprocess.run([h.SERVER_BIN, "rekey", "--data", d], capture_output=True, text=True,
                        timeout=60)
    k.check(r2.returncode == 0 and new in r2.stdout, "a second prepare keeps the key"); n += 1
    k.check(k.pubkey(s) == old, "prepare changed the served key"); n += 1

    only_old = k.Agent(root, "h-old", "c0", toks["c0"], old, [s.url]).start()
    both = k.Agent(root, "h-both", "c1", toks["c1"], old, [s.url],
                   extra="pubkey = %s" % new).start()
    try:
        v1, body1 = k.publish(s, h.features(60))
        k.assign(s, v1, ["c0", "c1"])
        for a in (only_old, both):
            k.wait_for(lambda: a.content() == body1, 30, "%s to apply v1" % a.name)
        n += 1

        r = subprocess.run([h.SERVER_BIN, "rekey", "--data", d, "--commit"],
                           capture_output=True, text=True, timeout=60)
        k.check(r.returncode == 0 and new in r.stdout, "rekey --commit: %r %r"
                % (r.stdout, r.stderr)); n += 1
        k.check(os.path.exists(os.path.join(d, "signing.key.old")) and
                not os.path.exists(os.path.join(d, "signing.key.next")), "key files"); n += 1
        recs = h.audit_all(s)
        ms = [x for x in recs if x["action"] == "meta.set" and x["object"] == "meta/signing_pubkey"]
        k.check(len(ms) == 2 and old in ms[-1]["before"] and new in ms[-1]["after"],
                "the rotation is audited: %s" % ms[-1:]); n += 1
        r = subprocess.run([h.SERVER_BIN, "rekey", "--data", d, "--commit"],
                           capture_output=True, text=True, timeout=60)
        k.check(r.returncode == 1 and "missing" in r.stderr, "second commit: %r" % r.stderr); n += 1

        s.stop()
        s.extra_args = list(s.extra_args) + ["--listen", "127.0.0.1:%d" % s.port]  # same URL
        s.start()
        k.check(k.pubkey(s) == new, "the restarted server serves the new key"); n += 1
        v2, body2 = k.publish(s, h.features(62))
        k.assign(s, v2, ["c0", "c1"])
        k.wait_for(lambda: both.content() == body2, 30, "the agent with both keys to apply v2")
        n += 1
        k.wait_for(lambda: (k.host_config(s, "h-old") or {}).get("outcome") == "verify_failed",
                   30, "the agent pinned to the old key to refuse v2")
        k.check(only_old.content() == body1 and only_old.alive(),
                "the old-key agent left its last-known-good"); n += 1
    finally:
        for a in (only_old, both):
            a.stop()
    s.stop()
    # the old key back in place: refused
    shutil.copy(os.path.join(d, "signing.key"), os.path.join(d, "signing.key.new"))
    shutil.copy(os.path.join(d, "signing.key.old"), os.path.join(d, "signing.key"))
    r = subprocess.run([h.SERVER_BIN, "serve", "--data", d, "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=60)
    k.check(r.returncode == 1 and "signs with key" in r.stderr, "old key: %r" % r.stderr); n += 1
    shutil.copy(os.path.join(d, "signing.key.new"), os.path.join(d, "signing.key"))
k.rmtree(root)
print("ok: %d checks" % n)
