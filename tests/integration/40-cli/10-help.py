# SPDX-License-Identifier: MIT
"""Help and usage for every command in the table: `cellgate help` lists
them, `help CMD`, `CMD --help` and `-h CMD` print a usage starting with
"usage: cellgate CMD" and exit 0; usage errors exit 2 with a message on
stderr. Needs no server."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h


def cli(*args):
    env = dict(os.environ, CELLGATE_SERVER="http://127.0.0.1:9")
    env.pop("CELLGATE_TOKEN", None)
    return subprocess.run([h.CLI_BIN] + list(args), capture_output=True, text=True,
                          timeout=30, env=env)


n = 0
r = cli("help")
h.check(r.returncode == 0 and "Commands:" in r.stdout, "help %r" % r.stdout)
commands = []
in_list = False
for line in r.stdout.splitlines():
    if line == "Commands:":
        in_list = True
    elif in_list and line.startswith("  "):
        commands.append(line.split()[0])
    elif in_list:
        break
h.check(len(commands) >= 14 and commands == sorted(commands), "commands %s" % commands); n += 1
for want in ["audit", "cell", "cells", "config", "diff", "help", "plan", "publish", "show",
             "token", "validate", "version", "versions", "whoami"]:
    h.check(want in commands, "%s missing from help" % want)
n += 1

for c in commands:
    for args in (["help", c], [c, "--help"], ["-h", c], [c, "-h"]):
        r = cli(*args)
        h.check(r.returncode == 0 and r.stdout.startswith("usage: cellgate " + c),
                "%s: exit %d %r" % (args, r.returncode, r.stdout[:80]))
    n += 1
for c, sub in [("cell", "add"), ("config", "create"), ("plan", "set"), ("token", "create"),
               ("audit", "verify")]:
    r = cli(c, sub, "--help")
    h.check(r.returncode == 0 and r.stdout.startswith("usage: cellgate " + c), "%s %s" % (c, sub))
    n += 1

usage_errors = [
    [], ["frobnicate"], ["--frob"], ["cell"], ["cell", "frob"], ["cell", "add"],
    ["cell", "add", "x", "--region", "r"], ["config", "create", "x"], ["validate", "cfg"],
    ["publish", "cfg", "file"], ["versions"], ["show", "cfg"], ["show", "cfg", "zero"],
    ["diff", "cfg", "1"], ["diff", "cfg", "a", "b"], ["plan", "set", "p"],
    ["token", "create", "--role", "reader"], ["token", "revoke"], ["audit", "--limit", "x"],
    ["audit", "--limit", "5000"], ["whoami", "extra"], ["help", "frobnicate"],
    ["versions", "cfg", "--limit"], ["cells", "--timeout", "-5"],
]
for args in usage_errors:
    r = cli(*args)
    h.check(r.returncode == 2, "%s: exit %d, want 2 (%r)" % (args, r.returncode, r.stderr))
    h.check(r.stderr.startswith("cellgate: ") or r.stderr.startswith("usage: "),
            "%s: stderr %r" % (args, r.stderr))
    n += 1

# a FILE that does not exist / stdin marker
r = cli("validate", "cfg", "/nonexistent/file.json")
h.check(r.returncode == 2 and "cannot read" in r.stderr, "%r" % r.stderr); n += 1

r = cli("version")
h.check(r.returncode == 0 and "libcellgate" in r.stdout, "%r" % r.stdout); n += 1

h.done("40-cli/10-help", n)
