# SPDX-License-Identifier: MIT
"""The README's tour as written: every `$ ` command of its sections "Five-minute
tour", "Rolling a change through the fleet", "Watching it, and finding the
change behind an incident" and "Hosts: cellgate-agent" (with their
continuation lines and here-documents) is extracted from README.md and run,
in order, with bash in one directory against a test server, so the README
cannot rot. Each must exit 0, except what the README itself says fails (the
doubled file: exit 1 with its violations) or runs until Ctrl-C (`rollout
watch`: still running after a few seconds). Also checks that the "doubled"
file really holds twice the features of the first one, and that the agent
config has the [health] section the README's own plan needs (its gates and
min_requests): the agent, run once, scrapes the metrics URL it names.

Only these changes are made to the commands: `make run` and `export` lines
are skipped (the server is the test's, CELLGATE_SERVER and CELLGATE_TOKEN
are in the environment), `build/` is the build tree, the server URL and
the Prometheus URL of agent.conf point at the test's, and the agent runs
with --once."""
import http.server
import json
import os
import re
import socketserver
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "README.md")
SECTIONS = ["Five-minute tour", "Rolling a change through the fleet",
            "Watching it, and finding the change behind an incident", "Hosts: cellgate-agent"]
SKIP = re.compile(r"^(make run|export )")
UNTIL_CTRL_C = re.compile(r"^cellgate rollout watch ")
n = 0


def sections(text):
    """{title: body} of the README's level-2 sections."""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            cur = line[3:].strip().strip("`")
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return out


def commands(lines):
    """The `$ ` commands of the code blocks of 'lines', each with its
    continuation lines (a trailing backslash, an indented line, a
    here-document up to its terminator)."""
    cmds, block, cur, heredoc = [], False, None, None
    for line in lines:
        if line.startswith("```"):
            if cur:
                cmds.append("\n".join(cur))
            block, cur, heredoc = not block, None, None
            continue
        if not block:
            continue
        if cur is not None and (heredoc or cur[-1].rstrip().endswith("\\")
                                or (line.startswith(" ") and not line.startswith("$"))):
            cur.append(line)
            if heredoc and line.strip() == heredoc:
                heredoc = None
            continue
        if cur:
            cmds.append("\n".join(cur))
            cur = None
        if line.startswith("$ "):
            cur = [line[2:]]
            m = re.search(r"<<-?'?(\w+)'?", line)
            heredoc = m.group(1) if m else None
    if cur:
        cmds.append("\n".join(cur))
    return cmds


class Metrics(http.server.BaseHTTPRequestHandler):
    """A service's /metrics: the counters the README's [health] names."""
    hits = 0

    def do_GET(self):
        Metrics.hits += 1
        body = ('http_requests_total{code="200"} 9000\n'
                'http_requests_total{code="500"} 3\n').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


text = open(README).read()
secs = sections(text)
cmds = []
for title in SECTIONS:
    h.check(title in secs, "README has no section %r" % title)
    cmds += commands(secs[title])
h.check(len(cmds) > 30, "only %d commands found in the README's tour" % len(cmds)); n += 1

tmp = tempfile.mkdtemp(prefix="cgreadme.")
bin_dir = os.path.abspath(h.BIN_DIR)
metrics = socketserver.TCPServer(("127.0.0.1", 0), Metrics)
threading.Thread(target=metrics.serve_forever, daemon=True).start()
metrics_url = "http://127.0.0.1:%d/metrics" % metrics.server_address[1]

with h.Server() as s:
    env = dict(os.environ)
    env["PATH"] = os.path.join(bin_dir, "cli") + os.pathsep + env.get("PATH", "")
    env["CELLGATE_SERVER"] = s.url
    env["CELLGATE_TOKEN"] = s.admin_token
    ran, agent_out = 0, ""
    for cmd in cmds:
        if SKIP.match(cmd):
            continue
        run = re.sub(r"(^|\s)build/", lambda m: m.group(1) + bin_dir + "/", cmd)
        run = run.replace("http://127.0.0.1:9100/metrics", metrics_url)
        run = run.replace("http://127.0.0.1:7070", s.url)
        if "cellgate-agent --config" in run:
            run += " --once"
        ran += 1
        try:
            r = subprocess.run(["bash", "-c", "set -o pipefail\n" + run], cwd=tmp, env=env,
                               capture_output=True, text=True, timeout=8 if UNTIL_CTRL_C.match(cmd)
                               else 120)
        except subprocess.TimeoutExpired:
            h.check(UNTIL_CTRL_C.match(cmd), "README command did not finish: %s" % cmd)
            continue
        h.check(not UNTIL_CTRL_C.match(cmd), "%s ended (exit %d) although the README says it "
                "runs until Ctrl-C\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr))
        h.check(r.returncode == 0, "README command failed (exit %d): %s\nstdout: %s\nstderr: %s"
                % (r.returncode, cmd, r.stdout, r.stderr))
        if "cellgate-agent --config" in cmd:
            agent_out = r.stdout + r.stderr
        if "doubled.json -m" in cmd:
            h.check("exit 1" in r.stdout and "violation" in r.stdout,
                    "the doubled file was not refused with its violations: %r" % r.stdout)
            first = json.load(open(os.path.join(tmp, "features.json")))
            doubled = json.load(open(os.path.join(tmp, "doubled.json")))
            h.check(len(doubled["features"]) == 2 * len(first["features"]),
                    "the \"doubled\" file holds %d features, the first one %d"
                    % (len(doubled["features"]), len(first["features"]))); n += 1
    h.check(ran > 30, "only %d commands ran" % ran); n += 1

    # The agent config the README gives has the [health] its plan needs.
    conf = open(os.path.join(tmp, "agent.conf")).read()
    plan = json.load(open(os.path.join(tmp, "plan.json")))
    h.check(plan.get("gates") and any(w.get("min_requests") for w in plan["waves"]),
            "the README's plan has no gates or min_requests: %s" % plan)
    h.check(re.search(r"^\[health\]$", conf, re.M) and re.search(r"^requests\s*=", conf, re.M)
            and re.search(r"^errors\s*=", conf, re.M),
            "agent.conf has no [health] with requests and errors:\n%s" % conf)
    h.check(Metrics.hits > 0, "the agent never scraped the [health] metrics:\n" + agent_out); n += 1
    st, b = s.api("GET", "/v1/hosts?cell=r1-z1-c01")
    h.check(st == 200 and any(x.get("host") == "host-17" for x in b["hosts"]),
            "host-17 did not report: %s %s" % (st, b)); n += 1

metrics.shutdown()
h.done("40-cli/33-readme-tour", n)
