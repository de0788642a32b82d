# SPDX-License-Identifier: MIT
"""cellgated's options come from one table (server/config.c): the OPTIONS
section of docs/man/cellgated.8.md is exactly what `cellgated
--help-markdown` prints (regenerate it with scripts/gen-man-options.py),
the SYNOPSIS names every option, usage errors exit 2 with one line on
stderr, and values given in every form reach the running server."""
import difflib, os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

SRC = os.environ.get("CG_SRC_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
MAN = os.path.join(SRC, "docs", "man", "cellgated.8.md")


def run(*args):
    return subprocess.run([h.SERVER_BIN] + list(args), capture_output=True, text=True, timeout=30)


def section(text, heading):
    """The body of '## heading' up to the next '## ' section."""
    start = text.index("## %s\n" % heading) + len("## %s\n" % heading)
    end = text.find("\n## ", start)
    return text[start:] if end < 0 else text[start:end + 1]


n = 0
gen = run("--help-markdown")
h.check(gen.returncode == 0 and gen.stdout.startswith("Long options"), "--help-markdown: %r" % gen)
man = open(MAN).read()
body = section(man, "OPTIONS")
want = "\n" + gen.stdout + "\n"
if body != want:
    diff = "".join(difflib.unified_diff(body.splitlines(True), want.splitlines(True),
                                        "cellgated.8.md OPTIONS", "cellgated --help-markdown"))
    h.fail("the man page's OPTIONS section differs from the option table; run "
           "scripts/gen-man-options.py BUILD_DIR:\n" + diff)
n += 1

# every option of the table is in --help and in the man page's SYNOPSIS
names = [line.split("`--", 1)[1].split("`")[0].split(" ")[0]
         for line in gen.stdout.splitlines() if line.startswith("`") and "`--" in line]
h.check(len(names) >= 18, "options in --help-markdown: %s" % names)
hlp = run("--help")
h.check(hlp.returncode == 0 and hlp.stdout.startswith("usage: cellgated"), "--help: %r" % hlp)
synopsis = section(man, "SYNOPSIS")
for name in names:
    h.check("--%s " % name in hlp.stdout or "--%s\n" % name in hlp.stdout,
            "--%s missing from --help" % name)
    h.check("--" + name in synopsis, "--%s missing from the man page's SYNOPSIS" % name)
n += 1

v = run("--version")
h.check(v.returncode == 0 and v.stdout.startswith("cellgated "), "--version: %r" % v)
h.check("`%s`" % v.stdout.strip() in body, "--version prints %r, the man page says otherwise" % v.stdout)
n += 1

# usage errors: exit 2, one line on stderr, nothing started
for args, msg in [
        (["--threads", "65"], "cellgated: bad value '65' for --threads (1..64)\n"),
        (["--lane", "read=0/1"], "cellgated: bad value 'read=0/1' for --lane (NAME control, read, "
         "report or poll; WORKERS 1..256; QUEUE 1..1000000)\n"),
        (["--token-rate=0"], "cellgated: bad value '0' for --token-rate (0 < R <= 1e9)\n"),
        (["--frob"], "cellgated: unknown option '--frob' (see --help)\n"),
        (["--tick-ms"], "cellgated: missing value for --tick-ms (MS)\n"),
        (["serve", "--data", "x", "extra"], "cellgated: unexpected argument 'extra'\n"),
        (["--no-shed=yes"], "cellgated: --no-shed takes no value\n")]:
    r = run("--data", "/nonexistent/x", *args) if args[0] != "serve" else run(*args)
    h.check(r.returncode == 2 and r.stderr == msg and r.stdout == "",
            "%s: exit %d, stderr %r (want %r)" % (args, r.returncode, r.stderr, msg))
    n += 1
r = run("frobnicate", "--data", "/nonexistent/x")
h.check(r.returncode == 2 and r.stderr.startswith("cellgated: unknown command 'frobnicate'\nusage:"),
        "unknown command: %d %r" % (r.returncode, r.stderr[:80]))
n += 1

# short, attached and abbreviated forms reach the server: a 1 KiB body limit
with h.Server(extra_args=["-b1024", "--conn-t=30", "-L", "control=2/8", "--tick", "500"]) as s:
    st, b = s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z", "labels": {"x": "y" * 2000}})
    h.check(st == 413, "-b1024: a 2 KB body got %s %s" % (st, b))
    st, b = s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})
    h.check(st == 201, "a small body: %s %s" % (st, b))
    n += 1
h.done("options", n)
