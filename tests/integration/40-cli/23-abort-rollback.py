# SPDX-License-Identifier: MIT
"""Ending rollouts early through the CLI: `rollout abort` (and `rollout
watch` on a terminal, through a pty, redrawing in place until it exits 1),
`rollback` of an open rollout (its cells return; watch exits 1 on
rolled_back), `rollback --to` without an open rollout, and usage errors
(exit 2) of every new command."""
import json, os, pty, select, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1


def code(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


def ok(r, what):
    return code(r, 0, what)


def status(s, rid):
    st, b = s.api("GET", "/v1/rollouts/%d" % rid)
    h.check(st == 200, "status %s %s" % (st, b))
    return b


def wait_for(s, rid, pred, what, timeout=20 * SLOW):
    end = time.time() + timeout
    while time.time() < end:
        b = status(s, rid)
        if pred(b):
            return b
        time.sleep(0.1)
    h.fail("timed out waiting for %s; last status %s" % (what, json.dumps(b)[:2000]))


def start(s, version, msg):
    r = ok(s.cli("rollout", "start", "cfg", str(version), "-m", msg, "--json"), "start " + msg)
    return json.loads(r.stdout)["id"]


def assignments(s):
    st, b = s.api("GET", "/v1/configs/cfg/assignments")
    return {a["cell"]: a["version"] for a in b["assignments"]}


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    for c, reg, z in [("c1", "r1", "z1"), ("c2", "r1", "z2"), ("c3", "r2", "z3")]:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})[0] == 201, c)
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    for k in (60, 62, 64):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                             json.dumps(h.features(k)))
        h.check(st == 201, "publish %s" % b)
    # long bakes: rollouts stay on their first step until we end them
    plan = {"waves": [{"name": "canary", "cells": 1, "bake_s": 600},
                      {"name": "rest", "percent": 100, "bake_s": 600}]}
    h.check(s.api("PUT", "/v1/plans/slow", plan)[0] == 201, "plan")
    ok(s.cli("config", "set-plan", "cfg", "slow"), "set-plan")
    ok(s.cli("assign", "cfg", "1", "--cell", "c1", "--cell", "c2", "--cell", "c3"), "baseline")

    # abort, watched on a terminal: frames are redrawn in place; exit 1
    rid = start(s, 2, "first try")
    wait_for(s, rid, lambda b: b["step_state"] == "bake", "the canary to start")
    master, slave = pty.openpty()
    env = dict(os.environ, CELLGATE_SERVER=s.url, CELLGATE_TOKEN=s.admin_token, TERM="xterm")
    env.pop("NO_COLOR", None)
    watch = subprocess.Popen([h.CLI_BIN, "rollout", "watch", str(rid), "--interval", "100"],
                             stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             env=env)
    os.close(slave)
    out = b""
    end = time.time() + 0.8 * SLOW
    while time.time() < end:
        if select.select([master], [], [], 0.1)[0]:
            out += os.read(master, 65536)
    r = ok(s.cli("rollout", "abort", str(rid), "-m", "wrong version"), "abort")
    h.check(r.stdout.startswith("aborted rollout %d: " % rid) and "): aborted" in r.stdout,
            "%r" % r.stdout); n += 1
    end = time.time() + 20 * SLOW
    while watch.poll() is None and time.time() < end:
        if select.select([master], [], [], 0.1)[0]:
            try:
                out += os.read(master, 65536)
            except OSError:
                break
    try:
        while select.select([master], [], [], 0.2)[0]:
            chunk = os.read(master, 65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    os.close(master)
    try:
        watch.wait(20 * SLOW)
    except subprocess.TimeoutExpired:
        watch.kill()
        h.fail("watch did not end after the abort: %r" % out)
    text = out.decode(errors="replace")
    h.check(watch.returncode == 1, "watch exit %s: %r" % (watch.returncode, text))
    h.check("\x1b[" in text and "\x1b[J" in text, "no redraw escapes: %r" % text)
    # on a terminal the final verdict is in colour (red), unless NO_COLOR
    h.check("step 1/3 canary  [" in text and "rollout %d \x1b[31maborted\x1b[0m" % rid in text,
            "%r" % text)
    n += 1
    r = code(s.cli("rollout", "watch", str(rid)), 1, "watch of an aborted rollout")
    h.check(r.stdout.splitlines()[-1] == "rollout %d aborted" % rid
            and "abort: by token:admin, reason: wrong version" in r.stdout, "%r" % r.stdout); n += 1
    code(s.cli("rollout", "abort", str(rid)), 3, "abort twice (409)"); n += 1
    code(s.cli("rollout", "resume", str(rid)), 3, "resume an ended rollout"); n += 1

    # rollback of an open rollout: its cells return to what they ran
    before = assignments(s)
    rid = start(s, 3, "second try")
    b = wait_for(s, rid, lambda b: b["step_state"] == "bake", "the canary to start")
    canary = b["steps"][0]["cells"][0]
    h.check(assignments(s)[canary] == 3, "canary not on 3: %s" % assignments(s))
    code(s.cli("rollback", "cfg", "--to", "1", "-m", "x"), 3, "--to with an open rollout"); n += 1
    r = ok(s.cli("rollback", "cfg", "-m", "errors up"), "rollback open rollout")
    h.check(r.stdout.startswith("rolling back: rollout %d: cfg" % rid), "%r" % r.stdout); n += 1
    r = s.cli("rollout", "watch", str(rid), "--interval", "100", timeout=60 * SLOW)
    code(r, 1, "watch a rollback")
    h.check(r.stdout.splitlines()[-1] == "rollout %d rolled_back" % rid
            and "rollback.start: by token:admin, reason: errors up" in r.stdout
            and "rollback.assign: version %d, cells %s" % (before[canary], canary) in r.stdout,
            "%r" % r.stdout); n += 1
    h.check(assignments(s) == before, "%s, want %s" % (assignments(s), before)); n += 1
    r = ok(s.cli("rollout", "list", "--config", "cfg"), "list")
    states = [l.split()[5] for l in r.stdout.splitlines()[1:]]
    h.check(states == ["rolled_back", "aborted"], "%r" % r.stdout); n += 1

    # no open rollout and no live version: rollback needs --to
    r = code(s.cli("rollback", "cfg", "-m", "nothing live"), 3, "rollback without live")
    h.check("no live version" in r.stderr, "%r" % r.stderr); n += 1
    r = ok(s.cli("rollback", "cfg", "--to", "2", "-m", "back to 2", "--json"), "rollback --to")
    b = json.loads(r.stdout)
    h.check(b["kind"] == "rollback" and b["to_version"] == 2 and b["state"] == "running",
            "%s" % b); n += 1
    ok(s.cli("rollout", "abort", str(b["id"])), "abort the rollback")

    # usage errors: exit 2, a message on stderr, nothing sent
    for args in (["rollout"], ["rollout", "frob"], ["rollout", "start", "cfg"],
                 ["rollout", "start", "cfg", "x", "-m", "m"], ["rollout", "start", "cfg", "2"],
                 ["rollout", "status"], ["rollout", "status", "abc"], ["rollout", "status", "0"],
                 ["rollout", "list", "extra"], ["rollout", "watch", "1", "--interval", "1"],
                 ["rollout", "watch", "1", "--interval", "x"], ["rollout", "watch"],
                 ["rollout", "pause"], ["rollout", "approve", "-1"], ["rollout", "abort", "1", "2"],
                 ["rollback"], ["rollback", "cfg"], ["rollback", "cfg", "--to", "0", "-m", "m"],
                 ["rollback", "cfg", "--to", "x", "-m", "m"], ["plan", "preview"],
                 ["hosts", "--cell"], ["status", "a", "b"], ["assign", "cfg", "1"]):
        r = s.cli(*args)
        h.check(r.returncode == 2 and r.stderr.startswith("cellgate: "),
                "%s: exit %d %r" % (args, r.returncode, r.stderr))
        n += 1
    for args in (["rollout", "watch", "--help"], ["rollout", "start", "--help"],
                 ["plan", "preview", "--help"], ["rollback", "--help"]):
        r = ok(s.cli(*args), " ".join(args))
        h.check(r.stdout.startswith("usage: cellgate " + args[0]), "%r" % r.stdout); n += 1

h.done("40-cli/23-abort-rollback", n)
