# SPDX-License-Identifier: MIT
"""One version step, both ways (docs/operations.md "Upgrade"): the
previous release (the git tag in PREVIOUS, built here from `git archive`:
its agent and server only) against this build.

- `old_agent_new_server`: the previous agent applies versions from this
  server, reports, and shows as a host with its applied version;
- `agent_upgrade_and_back`: the same state dir under this build's agent
  (the version it held is kept, new ones apply), then under the previous
  agent again (a downgrade: it still applies new versions);
- `new_agent_old_server`: this build's agent applies versions from the
  previous server;
- `server_upgrade_in_place`: the previous server's data dir opened by this
  server (its migrations run): the agent's assignments and the audit chain
  are intact, new versions still reach the agent;
- `server_downgrade_refused`: the previous server on the upgraded data dir
  refuses to start with a clear message (it cannot know the newer schema)
  and changes nothing: this server opens it again.

Skipped (77) under CG_SANITIZED=1 (one build of the old tree is enough) and
when the tag is not in this clone (a shallow clone: the message says so)."""
import json, os, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "30-agent"))
import harness as h
import agentkit as K

PREVIOUS = "v0.1.0"
SKIP = 77
SRC = os.path.abspath(os.environ.get("CG_SRC_DIR") or
                      os.path.join(os.path.dirname(__file__), "..", "..", ".."))
n = 0

if h.SANITIZED:
    print("skipped: the previous release is built once, by the normal run")
    sys.exit(SKIP)
r = subprocess.run(["git", "-C", SRC, "rev-parse", "--verify", "-q", PREVIOUS + "^{commit}"],
                   capture_output=True, text=True)
if r.returncode != 0:
    print("skipped: %s is not in this clone (shallow?); `git fetch --tags` to test the "
          "version step" % PREVIOUS)
    sys.exit(SKIP)

tmp = tempfile.mkdtemp(prefix="cgupgrade.")
try:
    # -- the previous release's agent and server --------------------------------
    old_src = os.path.join(tmp, "src")
    os.makedirs(old_src)
    arch = subprocess.Popen(["git", "-C", SRC, "archive", PREVIOUS], stdout=subprocess.PIPE)
    r = subprocess.run(["tar", "-x", "-C", old_src], stdin=arch.stdout, capture_output=True)
    arch.wait(60)
    h.check(arch.returncode == 0 and r.returncode == 0, "git archive %s: %s" % (PREVIOUS, r.stderr))
    ob = os.path.join(tmp, "build")
    r = subprocess.run(["cmake", "-S", old_src, "-B", ob, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                        "-DCG_WITH_POSTGRES=OFF"], capture_output=True, text=True, timeout=120)
    h.check(r.returncode == 0, "configuring %s: %s" % (PREVIOUS, r.stderr[-2000:]))
    r = subprocess.run(["cmake", "--build", ob, "-j2", "--target", "cellgate-agent", "cellgated"],
                       capture_output=True, text=True, timeout=600)
    h.check(r.returncode == 0, "building %s: %s" % (PREVIOUS, (r.stdout + r.stderr)[-3000:]))
    OLD_AGENT = os.path.join(ob, "agent", "cellgate-agent")
    OLD_SERVER = os.path.join(ob, "server", "cellgated")
    old_v = subprocess.run([OLD_SERVER, "--version"], capture_output=True, text=True).stdout
    new_v = subprocess.run([h.SERVER_BIN, "--version"], capture_output=True, text=True).stdout
    h.check(old_v != new_v, "the previous server says %r, this one %r" % (old_v, new_v))
    print("previous: %s; this build: %s" % (old_v.strip(), new_v.strip()))
    nfeat = [60]

    def change(s, cells=("c1",)):
        nfeat[0] += 1
        v, b = K.publish(s, h.features(nfeat[0]))
        return v, K.assign(s, v, list(cells)), b

    def applies(a, v, g, b, what):
        K.wait_for(lambda: a.content() == b and a.held() == (v, g), 30,
                   "%s: agent to apply v%d g%d; log tail:\n%s" % (what, v, g, a.logtext()[-2500:]))

    # -- old_agent_new_server, agent_upgrade_and_back ----------------------------
    with h.Server(extra_args=["--tick-ms", "3600000"]) as s:
        toks = K.setup_fleet(s, ["c1"])
        root = os.path.join(tmp, "agents-a")
        old = K.Agent(root, "h1", "c1", toks["c1"], K.pubkey(s), [s.url], binary=OLD_AGENT)
        old.start(wait_started=True)
        v, g, b = change(s)
        applies(old, v, g, b, "the previous agent, this server")
        K.wait_for(lambda: (K.host_config(s, "h1") or {}).get("version") == v, 20,
                   "the previous agent's report")
        n += 1
        old.stop()
        held = old.held()
        new = K.Agent(root, "h1", "c1", toks["c1"], K.pubkey(s), [s.url])
        new.start(wait_started=True)
        time.sleep(1.5)
        h.check(new.held() == held and new.content() == b,
                "this agent lost what the previous one held: %s vs %s" % (new.held(), held))
        v, g, b = change(s)
        applies(new, v, g, b, "this agent after the upgrade")
        n += 1
        new.stop()
        back = K.Agent(root, "h1", "c1", toks["c1"], K.pubkey(s), [s.url], binary=OLD_AGENT)
        back.start(wait_started=True)
        v, g, b = change(s)
        applies(back, v, g, b, "the previous agent after a downgrade")
        n += 1
        back.stop()

    # -- new_agent_old_server, server_upgrade_in_place, server_downgrade_refused --
    data = os.path.join(tmp, "server-data")
    os.makedirs(data)
    so = h.Server(data_dir=data, extra_args=["--tick-ms", "3600000"], keep=True,
                  binary=OLD_SERVER).start()
    try:
        toks = K.setup_fleet(so, ["c1"])
        pub = K.pubkey(so)
        root = os.path.join(tmp, "agents-b")
        a = K.Agent(root, "h2", "c1", toks["c1"], pub, [so.url])
        a.start(wait_started=True)
        v, g, b = change(so)
        applies(a, v, g, b, "this agent, the previous server")
        n += 1
        head = h.audit_all(so)
    finally:
        so.stop()
    sn = h.Server(data_dir=data, extra_args=["--tick-ms", "3600000"], keep=True).start()
    try:
        a.stop()
        a = K.Agent(root, "h2", "c1", toks["c1"], pub, [sn.url])
        a.start(wait_started=True)
        after = h.audit_all(sn)
        h.check(after[:len(head)] == head and h.audit_verify(after) is None,
                "the upgraded store's audit chain differs or breaks")
        st, asg = sn.api("GET", "/v1/configs/features/assignments")
        h.check(st == 200 and asg["assignments"][0]["version"] == v, "assignments: %s" % asg)
        v, g, b = change(sn)
        applies(a, v, g, b, "after the server upgrade in place")
        n += 1
    finally:
        sn.stop()
    r = subprocess.run([OLD_SERVER, "serve", "--data", data, "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    h.check(r.returncode != 0 and r.stderr.strip() and "Segmentation" not in r.stderr,
            "the previous server on the upgraded data: exit %s, %r" % (r.returncode, r.stderr))
    print("the previous server on upgraded data says: %s" % r.stderr.strip().splitlines()[-1])
    sn = h.Server(data_dir=data, extra_args=["--tick-ms", "3600000"], keep=True).start()
    try:
        st, asg = sn.api("GET", "/v1/configs/features/assignments")
        h.check(st == 200 and asg["assignments"][0]["version"] == v,
                "after the refused downgrade: %s" % asg)
        h.check(h.audit_verify(h.audit_all(sn)) is None, "the chain after the refused downgrade")
        n += 1
    finally:
        sn.stop()
        a.stop()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print("ok: %d checks" % n)
