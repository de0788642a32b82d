# SPDX-License-Identifier: MIT
"""Integration test harness: a real cellgated on 127.0.0.1 with an ephemeral
port and a temporary data dir, driven over HTTP and through the CLI.

    with harness.Server() as s:
        st, body = s.api("GET", "/v1/cells")
        r = s.cli("cell", "add", "c1", "--region", "r1", "--zone", "z1")

Servers are stopped by PID (SIGTERM, then SIGKILL after a timeout). Every
wait is bounded. Binaries come from $CG_BIN_DIR (the CMake build tree).
"""
import hashlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN_DIR = os.environ.get("CG_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SERVER_BIN = os.path.join(BIN_DIR, "server", "cellgated")
CLI_BIN = os.path.join(BIN_DIR, "cli", "cellgate")
AGENT_BIN = os.path.join(BIN_DIR, "agent", "cellgate-agent")
DATA_DIR = os.environ.get("CG_TEST_DATA") or os.path.join(
    os.path.dirname(__file__), "..", "data")
SANITIZED = os.environ.get("CG_SANITIZED") == "1"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Server:
    """A cellgated process with its own data dir."""

    def __init__(self, data_dir=None, extra_args=(), keep=False, ssl_context=None, binary=None):
        """ssl_context: an ssl.SSLContext that trusts the server's CA when it
        serves HTTPS (extra_args with --tls-cert/--tls-key): url is then
        https:// and request() speaks TLS. binary: another cellgated (an
        older build, 98-upgrade); default this build's."""
        self.ssl_context = ssl_context
        self.binary = binary or SERVER_BIN
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="cgint.")
        self.extra_args = list(extra_args)
        self.keep = keep
        self.proc = None
        self.port = None
        self.admin_token = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    # -- lifecycle -------------------------------------------------------
    def start(self, timeout=30):
        port_file = os.path.join(self.data_dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data", self.data_dir, "--listen", "127.0.0.1:0",
             "--port-file", port_file] + self.extra_args,
            stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        # The first start prints the admin token before listening.
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail("cellgated exited early with %s; log:\n%s" % (
                    self.proc.returncode, open(self.log_path).read()))
            if os.path.exists(port_file):
                try:
                    self.port = int(open(port_file).read().strip())
                    break
                except ValueError:
                    pass
            time.sleep(0.02)
        else:
            self.stop()
            fail("cellgated did not start within %ss" % timeout)
        # Read stdout lines that are already there (token, listening line).
        out = b""
        os.set_blocking(self.proc.stdout.fileno(), False)
        end = time.time() + 5
        while b"listening on" not in out and time.time() < end:
            try:
                chunk = self.proc.stdout.read()
            except BlockingIOError:
                chunk = None
            if chunk:
                out += chunk
            else:
                time.sleep(0.01)
        for line in out.decode().splitlines():
            if line.startswith("admin token"):
                self.admin_token = line.split(":", 1)[1].strip()
                with open(os.path.join(self.data_dir, "admin.token"), "w") as f:
                    f.write(self.admin_token)
        if self.admin_token is None:
            p = os.path.join(self.data_dir, "admin.token")
            if os.path.exists(p):
                self.admin_token = open(p).read().strip()
        return self

    def stop(self, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc:
            self.proc.stdout.close()
            self.log.close()
        self.proc = None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self.proc:
            self.proc.stdout.close()
            self.log.close()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.own_dir and not self.keep and exc[0] is None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        elif exc[0] is not None:
            sys.stderr.write("server data kept in %s\n" % self.data_dir)

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.ssl_context else "http", self.port)

    def connection(self, timeout=30):
        """A new http.client connection to the server (HTTPS when it speaks
        TLS), for tests that hold one open."""
        if self.ssl_context:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    # -- HTTP ------------------------------------------------------------
    def request(self, method, path, body=None, token="admin", headers=None, timeout=30):
        """Returns (status, headers dict (lowercase), raw bytes)."""
        h = dict(headers or {})
        if token == "admin":
            token = self.admin_token
        if token:
            h["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        c = self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def api(self, method, path, body=None, token="admin", headers=None):
        """Returns (status, parsed JSON or None)."""
        st, _, data = self.request(method, path, body, token, headers)
        try:
            return st, json.loads(data) if data else None
        except ValueError:
            return st, data

    # -- CLI -------------------------------------------------------------
    def cli(self, *args, token="admin", input=None, timeout=60, env=None):
        e = dict(os.environ)
        e["CELLGATE_SERVER"] = self.url
        if token == "admin":
            token = self.admin_token
        if token:
            e["CELLGATE_TOKEN"] = token
        else:
            e.pop("CELLGATE_TOKEN", None)
        if env:
            e.update(env)
        return subprocess.run([CLI_BIN] + [str(a) for a in args], input=input,
                              capture_output=True, text=True, timeout=timeout, env=e)


def write(dirpath, name, content):
    p = os.path.join(dirpath, name)
    if not isinstance(content, (str, bytes)):
        content = json.dumps(content)
    with open(p, "w" if isinstance(content, str) else "wb") as f:
        f.write(content)
    return p


FEATURE_CONTRACT = {
    "media_type": "application/json",
    "schema": {"type": "object", "required": ["features"],
               "properties": {"features": {"type": "array",
                                           "items": {"type": "object",
                                                     "required": ["name", "type"]}}}},
    "max_bytes": 1048576,
    "cardinality": [{"pointer": "/features", "min": 1, "max": 200}],
    "growth": [{"pointer": "/features", "max_ratio": 1.5, "max_abs": 40},
               {"pointer": "", "max_ratio": 2.0}],
    "preserve": ["/limits"],
}


def features(n, limits=True):
    doc = {"features": [{"name": "f%03d" % i, "type": "bool"} for i in range(n)]}
    if limits:
        doc["limits"] = {"max": 200}
    return doc


def done(name, passed, failed=0):
    print("%s: %d passed, %d failed" % (name, passed, failed))
    sys.exit(1 if failed else 0)


def audit_hash(r):
    """Independent implementation of the chain hash documented in
    common/audit.h, used to cross-check the server and the CLI."""
    m = hashlib.sha256()
    m.update(b"cg-audit-v1\n")
    for f in [r["prev_hash"], str(r["seq"]), str(r["time_ms"]), r["actor"], r["action"],
              r["object"], r["before"], r["after"], r["reason"]]:
        b = f.encode()
        m.update(b"%d:" % len(b) + b + b"\n")
    return m.hexdigest()


def audit_all(s):
    out, after = [], 0
    while True:
        st, b = s.api("GET", "/v1/audit?limit=1000&after=%d" % after)
        check(st == 200, "audit list: %s %s" % (st, b))
        out += b["records"]
        if not b["records"]:
            return out
        after = b["next_after"]


def audit_verify(records):
    """Returns None if the chain verifies, else the first bad seq."""
    prev = "0" * 64
    for i, r in enumerate(records):
        if r["seq"] != i + 1 or r["prev_hash"] != prev or audit_hash(r) != r["hash"]:
            return r["seq"]
        prev = r["hash"]
    return None
