# SPDX-License-Identifier: MIT
"""Output formats and colour of the table commands: for cells, config
list, versions, plan list, token list, hosts, rollout list, audit and
status, `-o json` prints exactly what `--json` does, `-o yaml` the same
data as YAML (checked key by key on the lines, the round trip itself is in
test_cli_output), `-o wide` the table with more columns; an unknown `-o`
is exit 2 naming the choices. Colour: `--color=always` colours the table
header, state cells and the "cellgate:" of errors; a pipe gets none by
default; on a terminal (a pty) colour is on by default and off with
NO_COLOR=1, TERM=dumb, --no-color or --color=never."""
import json, os, pty, re, select, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
ESC = "\x1b["


def toks(line):
    """A table row's words, with an age such as "(1s ago)" made one word
    without its number: the plain and the wide listing are two requests,
    and a second may pass between them."""
    return re.sub(r"\(\d+[a-z]+ ago\)", "(ago)", line).split()


def code(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


def on_pty(s, args, env_extra):
    """Runs the CLI with stdout and stderr on a pty; returns its output."""
    env = dict(os.environ, CELLGATE_SERVER=s.url, CELLGATE_TOKEN=s.admin_token, TERM="xterm")
    env.pop("NO_COLOR", None)
    env.update(env_extra)
    master, slave = pty.openpty()
    p = subprocess.Popen([h.CLI_BIN] + args, stdout=slave, stderr=slave, stdin=subprocess.DEVNULL,
                         env=env)
    os.close(slave)
    out, end = b"", time.time() + 30
    while time.time() < end:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    p.wait(10)
    os.close(master)
    return p.returncode, out.decode()


with h.Server(extra_args=["--tick-ms", "100"]) as s:
    h.check(s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})[0] == 201, "cell")
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    for k in (5, 6):
        st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v",
                             json.dumps(h.features(k)))
        h.check(st == 201, "publish %s" % b)
    h.check(s.api("PUT", "/v1/plans/p", {"waves": [{"name": "all", "percent": 100,
                                                    "bake_s": 3600}]})[0] == 201, "plan")
    code(s.cli("assign", "cfg", "1", "--cell", "c1", "-m", "base"), 0, "assign")
    code(s.cli("rollout", "start", "cfg", "2", "--plan", "p", "-m", "go"), 0, "rollout")
    st, _ = s.api("POST", "/v1/agent/report", {
        "host": "h1", "cell": "c1", "seq": 1, "window_ms": 1000,
        "configs": [{"config": "cfg", "version": 1, "generation": 1, "outcome": "applied",
                     "lkg_version": 1, "lkg_generation": 1}], "health": {"requests": 1}})
    h.check(st in (200, 204), "report %s" % st)

    commands = [["cells"], ["config", "list"], ["versions", "cfg"], ["plan", "list"],
                ["token", "list"], ["hosts"], ["rollout", "list"], ["audit"], ["status", "cfg"]]
    def same_json(cmd):
        """--json, -o json and --output=json agree. The rollout runs and the
        host's age ticks between two calls: a difference must persist over
        three tries to count."""
        for _ in range(3):
            j = code(s.cli(*cmd, "--json"), 0, "%s --json" % cmd).stdout
            o = code(s.cli(*cmd, "-o", "json"), 0, "%s -o json" % cmd).stdout
            g = code(s.cli("--output=json", *cmd), 0, "--output=json %s" % cmd).stdout
            if j == o == g:
                return j
            time.sleep(0.3)
        h.check(o == j, "%s: -o json differs from --json" % cmd)
        h.check(g == j, "%s: --output=json before the command" % cmd)
        return j

    for cmd in commands:
        j = same_json(cmd)
        data = json.loads(j)
        y = code(s.cli(*cmd, "-o", "yaml"), 0, "%s -o yaml" % cmd).stdout
        top = [l.split(":")[0] for l in y.splitlines() if l and not l[0] in " -"]
        h.check(top == list(data.keys()), "%s: YAML top-level keys %s, JSON %s\n%s"
                % (cmd, top, list(data.keys()), y))
        h.check("{" not in y.splitlines()[0] and ESC not in y, "%s: not block YAML %r" % (cmd, y))
        n += 1

    # a list's first item, field by field
    y = code(s.cli("cells", "-o", "yaml"), 0, "cells -o yaml").stdout
    c = json.loads(s.cli("cells", "--json").stdout)["cells"][0]
    h.check(y.startswith("cells:\n- id: c1\n  region: r\n  zone: z\n  labels: {}\n  created_at: \"%s\"\n"
                         % c["created_at"]) and y.endswith("next_after: null\n"), "%r" % y); n += 1

    # wide: more columns, the same rows
    for cmd, extra in [(["cells"], "CREATED_AT"), (["versions", "cfg"], "FULL_SHA256"),
                       (["rollout", "list"], "STEP_INDEX"), (["audit"], "HASH"),
                       (["token", "list"], "EXPIRES_AT"), (["hosts"], "LAST_SEEN_AT"),
                       (["config", "list"], "CREATED_AT")]:
        plain = code(s.cli(*cmd), 0, "%s" % cmd).stdout.splitlines()
        wide = code(s.cli(*cmd, "-o", "wide"), 0, "%s -o wide" % cmd).stdout.splitlines()
        h.check(extra in wide[0].split() and extra not in plain[0].split()
                and len(wide) == len(plain)
                and all(toks(w)[:len(toks(p))] == toks(p) for p, w in zip(plain[1:], wide[1:])),
                "%s -o wide:\n%s\nplain:\n%s" % (cmd, "\n".join(wide), "\n".join(plain))); n += 1
    v = json.loads(s.cli("versions", "cfg", "--json").stdout)["versions"][0]
    h.check(v["sha256"] in s.cli("versions", "cfg", "-o", "wide").stdout, "full sha256"); n += 1

    for bad in (["-o", "xml"], ["--output", ""], ["-o", "yaml", "--json"]):
        r = code(s.cli("cells", *bad), 2, "cells %s" % bad)
        h.check(bad[1] != "xml" or
                "unknown output format 'xml' (choose json, yaml or wide)" in r.stderr,
                "%r" % r.stderr); n += 1
    code(s.cli("cells", "--color=rainbow"), 2, "bad --color"); n += 1

    # colour: forced, piped, NO_COLOR, on a terminal
    r = code(s.cli("rollout", "list", "--color=always"), 0, "--color=always")
    h.check(ESC + "1mID" + ESC + "0m" in r.stdout and ESC + "32mrunning" + ESC + "0m" in r.stdout,
            "no colour with --color=always: %r" % r.stdout)
    r = code(s.cli("cell", "show", "nope", "--color=always"), 3, "error in colour")
    h.check(r.stderr.startswith(ESC + "31mcellgate:" + ESC + "0m "), "%r" % r.stderr); n += 1
    r = code(s.cli("audit", "verify", "--color=always"), 0, "audit verify in colour")
    h.check(r.stdout.startswith("audit chain " + ESC + "32mOK" + ESC + "0m: "), "%r" % r.stdout)
    r = code(s.cli("audit", "verify"), 0, "audit verify on a pipe")
    h.check(r.stdout.startswith("audit chain OK: "), "%r" % r.stdout); n += 1
    r = code(s.cli("rollout", "list", "--color=always", env={"NO_COLOR": "1"}), 0,
             "always beats NO_COLOR")
    h.check(ESC in r.stdout, "%r" % r.stdout); n += 1
    for args, env in [([], {}), ([], {"NO_COLOR": "1"}), (["--color=auto"], {})]:
        r = code(s.cli("rollout", "list", *args, env=env), 0, "pipe")
        h.check(ESC not in r.stdout and ESC not in r.stderr, "colour on a pipe: %r" % r.stdout)
    n += 1
    rc, out = on_pty(s, ["rollout", "list"], {})
    h.check(rc == 0 and ESC + "32mrunning" in out, "no colour on a terminal: %r" % out); n += 1
    rc, out = on_pty(s, ["cell", "show", "nope"], {})
    h.check(rc == 3 and ESC + "31mcellgate:" in out, "error not red on a terminal: %r" % out)
    for args, env in [([], {"NO_COLOR": "1"}), ([], {"TERM": "dumb"}), (["--no-color"], {}),
                      (["--color=never"], {}), ([], {"NO_COLOR": "yes"})]:
        rc, out = on_pty(s, ["rollout", "list"] + args, env)
        h.check(rc == 0 and "running" in out and ESC not in out,
                "colour on a terminal with %s %s: %r" % (args, env, out)); n += 1
    rc, out = on_pty(s, ["rollout", "list"], {"NO_COLOR": ""})
    h.check(ESC in out, "an empty NO_COLOR must not disable colour: %r" % out); n += 1

h.done("40-cli/32-output", n)
