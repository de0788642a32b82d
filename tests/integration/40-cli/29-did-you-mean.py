# SPDX-License-Identifier: MIT
"""A mistyped command, sub-command or option is a usage error (exit 2) that
names the nearest one from the command table ("did you mean"); a word
near nothing gets no guess. Nothing is sent: the server URL points nowhere."""
import os, subprocess, sys
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
env = dict(os.environ, CELLGATE_SERVER="http://127.0.0.1:9")
env.pop("CELLGATE_TOKEN", None)


def cli(*args):
    return subprocess.run([h.CLI_BIN] + list(args), capture_output=True, text=True, timeout=30,
                          env=env)


for args, want in [
        (["rollot", "list"], 'cellgate: unknown command "rollot"; did you mean "rollout"?\n'),
        (["help", "rollot"], 'cellgate: unknown command "rollot"; did you mean "rollout"?\n'),
        (["--json", "tokn", "list"], 'cellgate: unknown command "tokn"; did you mean "token"?\n'),
        (["frobnicate"], "cellgate: unknown command \"frobnicate\"; see 'cellgate help'\n")]:
    r = cli(*args)
    h.check(r.returncode == 2 and r.stderr == want and r.stdout == "",
            "%s: exit %d %r" % (args, r.returncode, r.stderr)); n += 1

for args, want in [
        (["rollout", "lsit"], 'cellgate: unknown rollout command "lsit"; did you mean "list"?\n'),
        (["cell", "shwo", "x"], 'cellgate: unknown cell command "shwo"; did you mean "show"?\n'),
        (["token", "xyzzy"], 'cellgate: unknown token command "xyzzy"\n'),
        (["audit", "verfy"], 'cellgate: unknown audit command "verfy"; did you mean "verify"?\n'),
        (["audit", "chekpoints"],
         'cellgate: unknown audit command "chekpoints"; did you mean "checkpoints"?\n'),
        (["cells", "--limt", "3"], "cellgate: unknown option '--limt'; did you mean '--limit'?\n"),
        (["rollout", "list", "--confg=x"],
         "cellgate: unknown option '--confg'; did you mean '--config'?\n"),
        (["versions", "cfg", "--sever", "http://x"],
         "cellgate: unknown option '--sever'; did you mean '--server'?\n"),
        (["audit", "--zzzzzz"], "cellgate: unknown option '--zzzzzz'\n")]:
    r = cli(*args)
    first = r.stderr.splitlines(True)[:1]
    h.check(r.returncode == 2 and first == [want] and "usage: cellgate" in r.stderr,
            "%s: exit %d %r" % (args, r.returncode, r.stderr)); n += 1

h.done("40-cli/29-did-you-mean", n)
