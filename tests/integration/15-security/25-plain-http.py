# SPDX-License-Identifier: MIT
"""Plain http:// is for this host only: the CLI and the agent refuse an
http:// server on another address before sending anything, unless told.

The "other address" is http://192.0.2.1:1 (TEST-NET-1: nothing is there).
No test traffic may leave the machine, so every process here runs with
http_proxy pointing at a recorder on 127.0.0.1: a request that goes out
(what --allow-plain-http asks for, or what a broken refusal would let
through) reaches the recorder, never 192.0.2.1.

- cli_refuses_plain_http_to_another_host: `cellgate whoami` against
  http://192.0.2.1:1 exits 2 with a message naming the rule and the way
  out, and the recorder saw nothing; so does CELLGATE_SERVER.
- cli_allow_plain_http: with --allow-plain-http (or
  CELLGATE_ALLOW_PLAIN_HTTP=1) the request goes out (to the recorder,
  addressed to 192.0.2.1).
- loopback_is_allowed: http://127.0.0.1:PORT and http://localhost:PORT
  reach a real server without the option.
- agent_refuses_plain_http_to_another_host: cellgate-agent with that
  server exits 2 at start with the rule, and sends nothing; with
  --allow-plain-http (or allow_plain_http = true) it polls (the recorder
  sees its request for 192.0.2.1).
"""
import http.server
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402

REMOTE = "http://192.0.2.1:1"
n = 0


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request 503 and remembers its request line."""

    def log_message(self, *a):
        pass

    def _any(self):
        self.server.seen.append(self.requestline)
        body = b'{"error":{"code":"unavailable","message":"recorder"}}'
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _any


class TServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


rec = TServer(("127.0.0.1", 0), Recorder)
rec.seen = []
threading.Thread(target=rec.serve_forever, daemon=True).start()
proxy = "http://127.0.0.1:%d" % rec.server_address[1]


def env(**kw):
    e = dict(os.environ)
    for k in ("CELLGATE_ALLOW_PLAIN_HTTP", "CELLGATE_CA_FILE", "CELLGATE_TOKEN"):
        e.pop(k, None)
    e.update({"http_proxy": proxy, "HTTP_PROXY": proxy, "no_proxy": "", "NO_PROXY": "",
              "CELLGATE_SERVER": REMOTE})
    e.update(kw)
    return e


def cli(*args, **kw):
    return subprocess.run([h.CLI_BIN] + list(args), capture_output=True, text=True, timeout=60,
                          env=env(**kw))


# cli_refuses_plain_http_to_another_host
r = cli("--server", REMOTE, "--token", "cg_x", "whoami")
h.check(r.returncode == 2 and "refusing plain http://" in r.stderr and "192.0.2.1" in r.stderr
        and "--allow-plain-http" in r.stderr, "cellgate whoami: %s %s" % (r.returncode, r.stderr))
r = cli("cell", "list")
h.check(r.returncode == 2 and "refusing plain http://" in r.stderr,
        "CELLGATE_SERVER: %s %s" % (r.returncode, r.stderr))
h.check(rec.seen == [], "a refused request went out: %s" % rec.seen)
n += 1
print("cli_refuses_plain_http_to_another_host: ok")

# cli_allow_plain_http
r = cli("--allow-plain-http", "whoami")
h.check(r.returncode == 3, "with --allow-plain-http: %s %s" % (r.returncode, r.stderr))
r = cli("whoami", CELLGATE_ALLOW_PLAIN_HTTP="1")
h.check(r.returncode == 3, "with CELLGATE_ALLOW_PLAIN_HTTP=1: %s %s" % (r.returncode, r.stderr))
h.check(len(rec.seen) == 2 and all("http://192.0.2.1:1/v1/whoami" in x for x in rec.seen),
        "allowed requests: %s" % rec.seen)
n += 1
print("cli_allow_plain_http: ok")

# loopback_is_allowed
with h.Server() as s:
    for url in ("http://127.0.0.1:%d" % s.port, "http://localhost:%d" % s.port):
        r = subprocess.run([h.CLI_BIN, "--server", url, "--token", s.admin_token, "whoami"],
                           capture_output=True, text=True, timeout=60,
                           env=env(no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost"))
        h.check(r.returncode == 0 and "admin" in r.stdout,
                "%s: %s %s %s" % (url, r.returncode, r.stdout, r.stderr))
n += 1
print("loopback_is_allowed: ok")

# agent_refuses_plain_http_to_another_host
d = tempfile.mkdtemp(prefix="cgplain.")
conf = os.path.join(d, "agent.conf")
with open(conf, "w") as f:
    f.write("server = %s\ntoken = cg_x\ncell = c1\nhost = h1\nstate_dir = %s\npubkey = %s\n"
            "request_timeout = 2\n[config features]\npath = %s\n"
            % (REMOTE, os.path.join(d, "state"), "00" * 32, os.path.join(d, "f.json")))
seen = len(rec.seen)
r = subprocess.run([h.AGENT_BIN, "--config", conf, "--once"], capture_output=True, text=True,
                   timeout=60, env=env())
h.check(r.returncode == 2 and "refusing plain http://" in r.stderr,
        "agent: %s %s" % (r.returncode, r.stderr))
h.check(len(rec.seen) == seen, "the refusing agent sent: %s" % rec.seen[seen:])
r = subprocess.run([h.AGENT_BIN, "--config", conf, "--once", "--allow-plain-http"],
                   capture_output=True, text=True, timeout=60, env=env())
h.check(r.returncode == 3, "agent --allow-plain-http: %s %s" % (r.returncode, r.stderr))
h.check(any("http://192.0.2.1:1/v1/agent/desired" in x for x in rec.seen[seen:]),
        "the allowed agent's poll: %s" % rec.seen[seen:])
text = open(conf).read().replace("request_timeout = 2\n",
                                 "request_timeout = 2\nallow_plain_http = true\n")
with open(conf, "w") as f:
    f.write(text)
seen = len(rec.seen)
r = subprocess.run([h.AGENT_BIN, "--config", conf, "--once"], capture_output=True, text=True,
                   timeout=60, env=env())
h.check(r.returncode == 3 and len(rec.seen) > seen,
        "allow_plain_http = true: %s %s %s" % (r.returncode, r.stderr, rec.seen[seen:]))
n += 1
print("agent_refuses_plain_http_to_another_host: ok")
rec.shutdown()
shutil.rmtree(d, ignore_errors=True)
h.done("25-plain-http", n)
