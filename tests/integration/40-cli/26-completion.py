# SPDX-License-Identifier: MIT
"""`cellgate completion bash|zsh` and `cellgate --version`: the bash script
passes `bash -n`, and sourced in a real bash it completes command names
(every command of `cellgate help`), each command's own options (from its
usage) and the global ones, skipping the values of global options; the
zsh script is the same function behind #compdef and bashcompinit; a
missing or unknown shell is a usage error (exit 2); --version prints the
CLI's and the library's versions."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

n = 0


def cli(*args):
    return subprocess.run([h.CLI_BIN] + list(args), capture_output=True, text=True, timeout=30)


def complete(script, words):
    """COMPREPLY of _cellgate for words (the last is being completed)."""
    prog = ('%s\nCOMP_WORDS=(%s); COMP_CWORD=%d; _cellgate; printf "%%s\\n" "${COMPREPLY[@]}"'
            % (script, " ".join("'%s'" % w for w in words), len(words) - 1))
    r = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, timeout=30)
    h.check(r.returncode == 0, "bash: %r" % r.stderr)
    return [x for x in r.stdout.splitlines() if x]


r = cli("completion", "bash")
h.check(r.returncode == 0 and "complete -o default -F _cellgate cellgate" in r.stdout,
        "completion bash: %r" % r.stderr); n += 1
bash = r.stdout
r = subprocess.run(["bash", "-n"], input=bash, capture_output=True, text=True, timeout=30)
h.check(r.returncode == 0, "bash -n: %r" % r.stderr); n += 1

commands = re.findall(r"^  ([a-z]+) ", cli("help").stdout.split("Commands:")[1], re.M)
h.check(len(commands) > 20, "commands from help: %s" % commands)
h.check(sorted(complete(bash, ["cellgate", ""])) == sorted(commands),
        "every command: %s" % complete(bash, ["cellgate", ""])); n += 1
h.check(complete(bash, ["cellgate", "rol"]) == ["rollback", "rollout"], "rol"); n += 1
h.check(complete(bash, ["cellgate", "why", "--ce"]) == ["--cell"], "why --ce"); n += 1
h.check(complete(bash, ["cellgate", "--token", "t", "state", "--con"]) == ["--config"],
        "a global option's value is skipped"); n += 1
h.check("--json" in complete(bash, ["cellgate", "changes", "--"]) and
        "--since" in complete(bash, ["cellgate", "changes", "--"]), "options and globals"); n += 1
h.check(complete(bash, ["cellgate", "--ti"]) == ["--timeout"], "global options"); n += 1

r = cli("completion", "zsh")
h.check(r.returncode == 0 and r.stdout.startswith("#compdef cellgate\n") and
        "bashcompinit" in r.stdout and "_cellgate()" in r.stdout, "zsh: %r" % r.stdout[:200]); n += 1
for args in ((), ("fish",), ("bash", "zsh")):
    r = cli("completion", *args)
    h.check(r.returncode == 2 and ("bash or zsh" in r.stderr or "bash|zsh" in r.stderr),
            "completion %s: %s %r"
            % (args, r.returncode, r.stderr)); n += 1

r = cli("--version")
h.check(r.returncode == 0 and re.match(r"cellgate [0-9.]+ \(libcellgate [0-9.]+\)$",
                                       r.stdout.strip()), "--version: %r" % r.stdout); n += 1
h.done("26-completion", n)
