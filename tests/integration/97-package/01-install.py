#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The Debian packages, installed and run (docs/packaging.md).

Builds the five packages from this build tree (make-deb.sh with the
prebuilt path: no second build), checks them with lintian (no error),
installs them with dpkg, and checks the installed system:

- every program answers --version with the project's version;
- the man pages are installed and render without a groff warning;
- a program built with `pkg-config --cflags --libs cellgate` links the
  installed libcellgate.so.0 and runs;
- the postinst made the user cellgate, the store in /var/lib/cellgate
  owned by it, and the first admin token in /etc/cellgate/admin.token,
  root's only (0600), printed nowhere;
- the installed cellgated, run as cellgate with the packaged
  /etc/cellgate/cellgated.conf (only the listener moved to 127.0.0.1:0),
  answers, accepts that token, and survives a SIGHUP reload;
- an operator's journey with the installed programs only: `cellgate apply
  -f` from "CI" (cells, a plan, a config scoped to one region; a second
  apply changes nothing), two hosts running the installed agent as its unit
  does, a version published and rolled out: the host in the scope applies
  it, the host outside never receives it;
- the packaged agent configuration stops the agent with a clear error;
- systemd-analyze verify accepts the installed units;
- dpkg --purge removes every file, the store and the token.

The packages are purged in a finally block, also on failure. Skipped
(exit 77) when not root or under CG_SANITIZED=1: sanitized binaries are
never installed system-wide. Refuses to run (fails) when a cellgate
package is installed already: it would be replaced and purged.
"""
import fcntl
import glob
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402

SKIP = 77
PACKAGES = ["cellgate-server", "cellgate-agent", "cellgate", "libcellgate0", "libcellgate-dev"]
VERSION = "0.2.0"
SRC = os.path.abspath(os.environ.get("CG_SRC_DIR") or
                      os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.path.abspath(h.BIN_DIR)
DEADLINE = time.time() + 240

if os.geteuid() != 0:
    print("skipped: installing packages needs root")
    sys.exit(SKIP)
if h.SANITIZED:
    print("skipped: sanitized binaries are never installed system-wide")
    sys.exit(SKIP)
for tool in ("dpkg-buildpackage", "lintian", "systemd-analyze", "groff", "pkg-config", "setpriv"):
    h.check(shutil.which(tool), "%s not found (scripts/deps.sh installs it)" % tool)

sys.path.insert(0, os.path.join(SRC, "tests", "packaging"))
import check_man  # noqa: E402


def run(cmd, timeout=120, **kw):
    left = max(5, DEADLINE - time.time())
    return subprocess.run(cmd, capture_output=True, text=True, timeout=min(timeout, left), **kw)


def installed(pkg):
    """Anything of pkg on the system: installed, unpacked, or its conffiles."""
    r = run(["dpkg-query", "-W", "-f=${db:Status-Status}", pkg])
    return r.returncode == 0 and r.stdout.strip() not in ("", "not-installed")


def put(d, name, content):
    """h.write() that makes the directories on the way."""
    os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
    return h.write(d, name, content)


def unit_exec(unit):
    """The ExecStart argv of an installed unit (what systemd would run)."""
    for line in open(unit):
        if line.startswith("ExecStart="):
            return line.split("=", 1)[1].split()
    h.fail("%s has no ExecStart" % unit)


def journey(base, token):
    """With the installed programs only: CI applies a directory of
    declarative files (cells, a plan, a config scoped to one region), two
    hosts run the installed agent as its unit does (one per cell), a
    version is published and rolled out with the installed CLI: the host in
    the scope applies it, the other never receives it. Returns the checks."""
    checks = 0
    env = dict(os.environ, CELLGATE_SERVER=base, CELLGATE_TOKEN=token, NO_COLOR="1")
    cli = lambda *a, timeout=60: run(["/usr/bin/cellgate"] + list(a), timeout=timeout, env=env)
    repo = os.path.join(tmp, "repo")
    put(repo, "cells/cells.yaml",
            "kind: Cell\nname: eu-c1\nspec: {region: eu, zone: eu-a, labels: {tier: web}}\n---\n"
            "kind: Cell\nname: us-c1\nspec: {region: us, zone: us-a, labels: {tier: web}}\n")
    put(repo, "plans/fast.yaml",
            "kind: Plan\nname: fast\nspec:\n  waves: [{name: all, percent: 100, bake_s: 0}]\n"
            "  max_zones_per_region: 10\n  first_wave_regions: 2\n")
    put(repo, "configs/app/contract.json", json.dumps(h.FEATURE_CONTRACT))
    put(repo, "configs/app/config.yaml",
            "kind: Config\nname: app\nspec:\n  contract_file: contract.json\n  plan: fast\n"
            "  scope: {regions: [eu]}\n")
    r = cli("diff", "-f", repo)
    h.check(r.returncode == 1 and "Config app" in r.stdout, "diff -f: %s %s" % (r.stdout, r.stderr))
    r = cli("apply", "-f", repo, "-m", "from CI")
    h.check(r.returncode == 0, "apply -f: %s %s" % (r.stdout, r.stderr))
    r = cli("apply", "-f", repo, "-m", "from CI")
    h.check(r.returncode == 0 and "nothing to do" in r.stdout, "second apply: %s" % r.stdout)
    r = cli("config", "scope", "app")
    h.check("cells in its fleet (1): eu-c1" in r.stdout, "scope: %s %s" % (r.stdout, r.stderr))
    checks += 1
    pub = os.path.join(tmp, "server.pub")
    r = cli("pubkey", "--out", pub)
    h.check(r.returncode == 0 and os.path.getsize(pub) > 0, "pubkey: %s" % r.stderr)
    agents, paths = [], {}
    try:
        for cell in ("eu-c1", "us-c1"):
            r = cli("token", "create", "--role", "agent", "--name", "agent-" + cell, "--cell",
                    cell, "--json")
            h.check(r.returncode == 0, "token: %s" % r.stderr)
            tok = json.loads(r.stdout)["token"]
            d = os.path.join(tmp, "host-" + cell)
            os.makedirs(os.path.join(d, "state"), 0o700)
            tf = put(d, "agent.token", tok)
            os.chmod(tf, 0o600)
            paths[cell] = os.path.join(d, "app.json")
            conf = put(d, "agent.conf",
                           "server = %s   # the packaged format, trailing comments included\n"
                           "token_file = %s\ncell = %s\nhost = host-%s\npubkey_file = %s\n"
                           "state_dir = %s\nreport_interval = 1\npoll_wait = 5\n"
                           "[config app]\npath = %s\n"
                           % (base, tf, cell, cell, pub, os.path.join(d, "state"), paths[cell]))
            argv = [a if a != "/etc/cellgate/agent.conf" else conf
                    for a in unit_exec("/lib/systemd/system/cellgate-agent.service")]
            agents.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                           stderr=open(os.path.join(d, "agent.log"), "wb"),
                                           stdin=subprocess.DEVNULL))
        doc = put(tmp, "app-v1.json", json.dumps(h.features(60)))
        r = cli("publish", "app", doc, "-m", "v1")
        h.check(r.returncode == 0, "publish: %s %s" % (r.stdout, r.stderr))
        r = cli("rollout", "start", "app", "1", "--plan", "fast", "-m", "first release")
        h.check(r.returncode == 0, "rollout start: %s %s" % (r.stdout, r.stderr))
        rid = r.stdout.split()[2].rstrip(":")
        r = cli("rollout", "watch", rid, "--interval", "200", timeout=90)
        h.check(r.returncode == 0, "rollout watch: %s %s\nagents: %s" % (
            r.stdout[-1500:], r.stderr, [open(os.path.join(tmp, "host-" + c, "agent.log")).read()
                                         for c in ("eu-c1", "us-c1")]))
        end = time.time() + 30
        while time.time() < end and not os.path.exists(paths["eu-c1"]):
            time.sleep(0.1)
        h.check(os.path.exists(paths["eu-c1"]) and
                json.load(open(paths["eu-c1"])) == h.features(60),
                "the host in the scope did not apply the version")
        checks += 1
        time.sleep(2)  # two more polls and reports of the other host
        h.check(not os.path.exists(paths["us-c1"]), "a host outside the scope received app")
        r = cli("status", "app", "--json")
        h.check(r.returncode == 0 and "us-c1" not in r.stdout, "status: %s" % r.stdout[:800])
        checks += 1
    finally:
        for a in agents:
            a.terminate()
        for a in agents:
            try:
                a.wait(10)
            except subprocess.TimeoutExpired:
                a.kill()
    return checks


# One run at a time on this machine (other build trees may run it too).
lock = open("/run/lock/cellgate-package-test.lock", "w")
end = time.time() + 120
while True:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        h.check(time.time() < end, "another package test held the lock for 120 s")
        time.sleep(1)

there = [p for p in PACKAGES if installed(p)]
h.check(not there, "already installed: %s; this test would replace and purge them "
        "(dpkg --purge %s first if they are a test's leftovers)" % (there, " ".join(there)))
h.check(not os.path.exists("/var/lib/cellgate") and not os.path.exists("/etc/cellgate/admin.token"),
        "/var/lib/cellgate or /etc/cellgate/admin.token exist without the package: "
        "remove them first (they would be taken for the package's)")

tmp = tempfile.mkdtemp(prefix="cgpkg.")
server = None
passed = 0
try:
    # -- build (prebuilt) and lintian ---------------------------------------
    out = os.path.join(tmp, "deb")
    r = run(["bash", os.path.join(SRC, "scripts", "make-deb.sh"), out, BIN], timeout=180)
    h.check(r.returncode == 0, "make-deb.sh: %s\n%s" % (r.stdout, r.stderr))
    debs = sorted(glob.glob(os.path.join(out, "*.deb")))
    names = sorted(os.path.basename(d).split("_")[0] for d in debs)
    h.check(names == sorted(PACKAGES), "packages built: %s" % names)
    changes = glob.glob(os.path.join(out, "*.changes"))
    r = run(["lintian", "--pedantic", "--suppress-tags", "running-with-root-privileges"] +
            changes, timeout=120)
    errors = [l for l in r.stdout.splitlines() if l.startswith("E:")]
    h.check(not errors, "lintian errors:\n" + "\n".join(errors))
    for l in r.stdout.splitlines():
        print("lintian: " + l)
    passed += 1

    # -- install ------------------------------------------------------------
    r = run(["dpkg", "-i"] + debs, timeout=120)
    h.check(r.returncode == 0, "dpkg -i: %s %s" % (r.stdout, r.stderr))
    for p in PACKAGES:
        h.check(installed(p), "%s is not installed after dpkg -i" % p)

    # -- versions -------------------------------------------------------------
    for prog, want in (("/usr/sbin/cellgated", "cellgated " + VERSION),
                       ("/usr/sbin/cellgate-agent", "cellgate-agent " + VERSION),
                       ("/usr/bin/cellgate", VERSION), ("/usr/bin/cellgate-sim", VERSION)):
        r = run([prog, "--version"], timeout=30)
        h.check(r.returncode == 0 and want in r.stdout,
                "%s --version: %s %r %r" % (prog, r.returncode, r.stdout, r.stderr))
    passed += 1

    # -- man pages ------------------------------------------------------------
    problems = []
    for page in check_man.PAGES:
        path = "/usr/share/man/man%s/%s.gz" % (page[-1], page)
        if not os.path.exists(path):
            problems.append("%s: not installed" % path)
        else:
            problems += check_man.check_page(path)
    h.check(not problems, "installed man pages:\n" + "\n".join(problems))
    passed += 1

    # -- pkg-config, link, run ----------------------------------------------
    prog_c = h.write(tmp, "v.c", "#include <stdio.h>\n#include <cellgate/cellgate.h>\n"
                     "int main(void)\n{\n    printf(\"%s\\n\", cg_version());\n"
                     "    return cg_version_num() == CG_VERSION_NUM ? 0 : 1;\n}\n")
    r = run(["pkg-config", "--cflags", "--libs", "cellgate"], timeout=30)
    h.check(r.returncode == 0 and "-lcellgate" in r.stdout, "pkg-config: %r %r" % (r.stdout, r.stderr))
    exe = os.path.join(tmp, "v")
    r = run(["cc", "-std=c11", "-Wall", "-Werror", "-o", exe, prog_c] + r.stdout.split(), timeout=60)
    h.check(r.returncode == 0, "compiling against the installed header and library: %s" % r.stderr)
    r = run([exe], timeout=30)
    h.check(r.returncode == 0 and r.stdout.strip() == VERSION, "the program: %s %r" % (
        r.returncode, r.stdout))
    r = run(["ldd", exe], timeout=30)
    h.check(re.search(r"libcellgate\.so\.0 => (/usr)?/lib/", r.stdout),
            "not linked to the installed library:\n" + r.stdout)
    passed += 1

    # -- what the postinst did -----------------------------------------------
    user = pwd.getpwnam("cellgate")
    st = os.stat("/etc/cellgate/admin.token")
    h.check(st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600,
            "admin.token: uid %d mode %o" % (st.st_uid, stat.S_IMODE(st.st_mode)))
    token = open("/etc/cellgate/admin.token").read().strip()
    h.check(len(token) > 20, "admin.token holds %r" % token)
    for f in ("/var/lib/cellgate", "/var/lib/cellgate/cellgate.db", "/var/lib/cellgate/signing.key"):
        st = os.stat(f)
        h.check(st.st_uid == user.pw_uid, "%s is not owned by cellgate" % f)
    st = os.stat("/etc/cellgate/cellgated.conf")
    h.check(st.st_gid == user.pw_gid and stat.S_IMODE(st.st_mode) == 0o640,
            "cellgated.conf: gid %d mode %o" % (st.st_gid, stat.S_IMODE(st.st_mode)))
    r = run(["dpkg-query", "--control-show", "cellgate-server", "conffiles"], timeout=30)
    h.check("/etc/cellgate/cellgated.conf" in r.stdout, "cellgated.conf is no conffile: %r" % r.stdout)
    passed += 1

    # -- the installed server, as cellgate, with the packaged options ---------
    run_dir = os.path.join(tmp, "run")
    os.mkdir(run_dir, 0o700)
    os.chown(run_dir, user.pw_uid, user.pw_gid)
    os.chmod(tmp, 0o711)
    port_file = os.path.join(run_dir, "port")
    log_path = os.path.join(tmp, "server.log")
    log = open(log_path, "wb")
    server = subprocess.Popen(
        ["setpriv", "--reuid", "cellgate", "--regid", "cellgate", "--init-groups",
         "/usr/sbin/cellgated", "serve", "--config", "/etc/cellgate/cellgated.conf",
         "--listen", "127.0.0.1:0", "--port-file", port_file],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    end = time.time() + 30
    port = None
    while time.time() < end and port is None:
        h.check(server.poll() is None, "the installed cellgated exited %s:\n%s" % (
            server.returncode, open(log_path).read()))
        try:
            port = int(open(port_file).read())
        except (OSError, ValueError):
            time.sleep(0.05)
    h.check(port, "the installed cellgated did not listen within 30 s")
    base = "http://127.0.0.1:%d" % port
    with urllib.request.urlopen(base + "/healthz", timeout=10) as resp:
        h.check(resp.status == 200, "/healthz: %s" % resp.status)
    req = urllib.request.Request(base + "/v1/tokens", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=10) as resp:
        h.check(resp.status == 200, "/v1/tokens with the packaged admin token: %s" % resp.status)
    server.send_signal(signal.SIGHUP)
    end = time.time() + 10
    while time.time() < end and b"SIGHUP" not in open(log_path, "rb").read():
        time.sleep(0.05)
    h.check(server.poll() is None and b"SIGHUP: reloaded" in open(log_path, "rb").read(),
            "SIGHUP: %s" % open(log_path).read())
    passed += 1

    # -- the operator's journey: declarative files from CI, two hosts, a
    # scoped config rolled to the cells it names (issue 17, "done means") --
    passed += journey(base, token)
    server.send_signal(signal.SIGTERM)
    server.wait(30)
    h.check(server.returncode == 0, "cellgated exited %s after SIGTERM" % server.returncode)
    server = None
    log.close()
    text = open(log_path).read()
    h.check(token not in text, "the admin token is in the server's output")
    passed += 1

    # -- the packaged agent configuration: a clear refusal, no crash ----------
    r = run(["/usr/sbin/cellgate-agent", "--config", "/etc/cellgate/agent.conf", "--once"],
            timeout=30)
    h.check(r.returncode == 2 and "cellgate-agent" in r.stderr,
            "agent with the packaged, unfilled agent.conf: %s %r" % (r.returncode, r.stderr))
    passed += 1

    # -- systemd-analyze verify ------------------------------------------------
    units = ["/lib/systemd/system/cellgated.service", "/lib/systemd/system/cellgate-agent.service"]
    r = run(["systemd-analyze", "verify"] + units, timeout=60)
    h.check(r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(),
            "systemd-analyze verify: %s %s %s" % (r.returncode, r.stdout, r.stderr))
    passed += 1
finally:
    if server is not None and server.poll() is None:
        server.kill()
        server.wait(10)
    files = ["/usr/sbin/cellgated", "/usr/sbin/cellgate-agent", "/usr/bin/cellgate",
             "/usr/bin/cellgate-sim", "/usr/include/cellgate/cellgate.h",
             "/lib/systemd/system/cellgated.service", "/usr/share/man/man8/cellgated.8.gz",
             "/etc/cellgate", "/var/lib/cellgate", "/usr/share/cellgate"]
    r = subprocess.run(["dpkg", "--purge"] + PACKAGES, capture_output=True, text=True, timeout=120)
    shutil.rmtree(tmp, ignore_errors=True)
    if sys.exc_info()[0] is None:
        h.check(r.returncode == 0, "dpkg --purge: %s %s" % (r.stdout, r.stderr))
        left = [f for f in files if os.path.lexists(f)]
        left += glob.glob("/usr/lib/*/libcellgate.so*")
        h.check(not left, "left after dpkg --purge: %s" % left)
        h.check(not [p for p in PACKAGES if installed(p)], "still installed after the purge")
passed += 1
h.done("97-package/01-install", passed)
