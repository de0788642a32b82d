# SPDX-License-Identifier: MIT
"""The dashboard in a real browser: Debian's chromium, headless, driven by
the npm package puppeteer-core, with axe-core on every page (versions
pinned in tests/browser/package-lock.json, installed with `npm ci` into the
build tree). tests/browser/dashboard.js does the work: log in, start a
rollout, watch it live, approve, abort, roll back, a diff, the audit
chain, log out. Screenshots land in BUILD/artifacts/dashboard/."""
import os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

SRC = os.path.join(os.environ.get("CG_SRC_DIR", os.path.join(os.path.dirname(__file__),
                                                               "..", "..", "..")),
                   "tests", "browser")
BIN = os.environ.get("CG_BIN_DIR", tempfile.gettempdir())


def npm_ci():
    """node_modules of tests/browser in the build tree (npm ci, once per lockfile)."""
    base = os.path.join(BIN, "browser")
    stamp = os.path.join(base, ".installed")
    lock = open(os.path.join(SRC, "package-lock.json")).read()
    if not (os.path.exists(stamp) and open(stamp).read() == lock):
        os.makedirs(base, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(SRC, f), base)
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=base, capture_output=True, text=True, timeout=300)
        h.check(r.returncode == 0, "npm ci: %s %s" % (r.stdout, r.stderr))
        open(stamp, "w").write(lock)
    for f in ("lib.js", "dashboard.js"):
        shutil.copy(os.path.join(SRC, f), base)
    return base


for tool in ("node", "npm", "chromium"):
    if not shutil.which(tool):
        h.fail("%s is needed (scripts/deps.sh installs Debian's nodejs, npm and chromium)" % tool)

base = npm_ci()
art = os.path.join(BIN, "artifacts", "dashboard")
shutil.rmtree(art, ignore_errors=True)
with h.Server(extra_args=["--tick-ms", "100"]) as s:
    env = dict(os.environ, CG_URL=s.url, CG_UI="/ui", CG_ADMIN=s.admin_token, CG_ARTIFACTS=art)
    r = subprocess.run(["node", os.path.join(base, "dashboard.js")], cwd=base, env=env,
                       capture_output=True, text=True, timeout=400)
    sys.stdout.write(r.stdout)
    passed = sum(1 for l in r.stdout.splitlines() if l.startswith("ok "))
    failed = sum(1 for l in r.stdout.splitlines() if l.startswith("FAIL "))
    if r.returncode != 0 and failed == 0:
        failed = 1
        sys.stdout.write("node exited %d: %s\n" % (r.returncode, r.stderr[-3000:]))
    shots = sorted(os.listdir(art)) if os.path.isdir(art) else []
    print("screenshots in %s: %s" % (art, " ".join(shots)))
h.done("dashboard-browser", passed, failed)
