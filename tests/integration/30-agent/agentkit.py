# SPDX-License-Identifier: MIT
"""Helpers for the cellgate-agent integration tests (not a test itself: the
runner only picks up files named NN-*.py).

  - Signer: ed25519 statements exactly as common/sign.c makes them, via
    libsodium through ctypes (the server's own key, read from its data dir,
    so a tampering proxy can forge *validly signed* bad statements: the
    agent's contract check is then its only line of defence).
  - Proxy: a small HTTP server in front of a real cellgated that passes
    everything through and lets a test rewrite desired-state answers,
    blobs and config objects (the contract), answer 500s (everything, or
    only blobs), or hang. It keeps the time of every request (`times`).
  - Agent: writes an agent config file, starts cellgate-agent, stops it by
    PID (SIGTERM, then SIGKILL), or SIGKILLs it.
  - setup_fleet(): cells, an agent token per cell, a config with the
    feature-file contract.

Everything listens on 127.0.0.1 with an ephemeral port; every wait is
bounded.
"""
import base64
import ctypes
import ctypes.util
import hashlib
import http.client
import http.server
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

check = harness.check
fail = harness.fail
SANITIZED = harness.SANITIZED


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def canon(doc):
    """The bytes the tests publish for a document."""
    return json.dumps(doc, sort_keys=True).encode()


# ---------------------------------------------------------------- signing
class Signer:
    def __init__(self, seed):
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        self.lib = ctypes.CDLL(name)
        if self.lib.sodium_init() < 0:
            fail("sodium_init failed")
        pk = ctypes.create_string_buffer(32)
        sk = ctypes.create_string_buffer(64)
        self.lib.crypto_sign_seed_keypair(pk, sk, seed)
        self.pk = pk.raw
        self.sk = sk
        self.pubhex = self.pk.hex()
        self.key_id = hashlib.sha256(self.pk).hexdigest()[:16]

    @classmethod
    def from_server(cls, s):
        text = open(os.path.join(s.data_dir, "signing.key")).read()
        magic, hexseed = text.split("\n")[:2]
        check(magic == "cellgate-ed25519-secret-v1", "unexpected key file")
        return cls(bytes.fromhex(hexseed))

    @classmethod
    def random(cls):
        return cls(os.urandom(32))

    def sign(self, st):
        st = dict(st)
        st.setdefault("key_id", self.key_id)
        c = "cellgate-statement-v2\n" + "".join(
            "%s=%s\n" % (k, st[k]) for k in sorted(st))
        sig = ctypes.create_string_buffer(64)
        msg = c.encode()
        self.lib.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), self.sk)
        return {"statement": st, "signature": base64.b64encode(sig.raw).decode()}

    def statement(self, cell, config, version, sha, generation, contract_sha, ttl_ms=3600000,
                  issued_ms=None):
        now = int(time.time() * 1000) if issued_ms is None else issued_ms
        return self.sign({"cell": cell, "config": config, "version": version,
                          "sha256": sha, "contract_sha256": contract_sha,
                          "generation": generation,
                          "issued_at": now, "expires_at": now + ttl_ms})


def contract_sha256(contract):
    """contract_sha256 of a contract object: the sha256 of its canonical
    text (compact, sorted keys), the form the server stores and the agent
    hashes."""
    return sha256(json.dumps(contract, sort_keys=True, separators=(",", ":"),
                             ensure_ascii=False).encode())


# ---------------------------------------------------------------- proxy
class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _forward(self, method):
        px = self.server.px
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        px.count(self.path, method)
        mode = px.mode
        if mode == "500":
            return self._send(500, {"Content-Type": "application/json"},
                              b'{"error":{"code":"internal","message":"injected"}}')
        if mode == "503":
            return self._send(503, {"Content-Type": "application/json", "Retry-After": "1"},
                              b'{"error":{"code":"unavailable","message":"injected"}}')
        if mode == "hang":
            end = time.time() + px.hang_s
            while time.time() < end and px.mode == "hang" and not px.closing:
                time.sleep(0.05)
            self.close_connection = True
            return
        if mode == "garbage":
            return self._send(200, {"Content-Type": "application/json"}, b"\x00{not json" * 50)
        if mode == "huge" and self.path.startswith("/v1/agent/desired"):
            return self._send(200, {"Content-Type": "application/json"},
                              b'{"assignments":[' + b" " * (6 << 20) + b"]}")
        if self.path.startswith("/v1/blobs/") and px.blob_status:
            return self._send(px.blob_status, {"Content-Type": "application/json"},
                              b'{"error":{"code":"internal","message":"injected blob failure"}}')
        if self.path.startswith("/v1/blobs/"):
            sha = self.path.rsplit("/", 1)[1]
            if sha in px.blobs:
                return self._send(200, {"Content-Type": "application/json"}, px.blobs[sha])
        hdrs = {k: v for k, v in self.headers.items()
                if k.lower() not in ("host", "content-length", "connection")}
        path = self.path
        rewrite_desired = px.rewrite_desired is not None and path.startswith("/v1/agent/desired")
        if rewrite_desired:
            # always fetch the full state so it can be rewritten
            hdrs.pop("If-None-Match", None)
            hdrs.pop("if-none-match", None)
            path = path.split("&wait=")[0]
        c = http.client.HTTPConnection("127.0.0.1", px.upstream_port, timeout=400)
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            rh = {k: v for k, v in r.getheaders()
                  if k.lower() not in ("content-length", "connection", "transfer-encoding")}
            status = r.status
        except Exception as e:  # upstream trouble is a 502
            return self._send(502, {}, str(e).encode())
        finally:
            c.close()
        if path.startswith("/v1/agent/desired") and status == 200:
            with px.lock:
                px.seen.append(json.loads(data))
        if rewrite_desired and status == 200:
            doc = json.loads(data)
            doc = px.rewrite_desired(doc)
            data = json.dumps(doc).encode()
            etag = sha256(data)[:32]
            rh["ETag"] = '"%s"' % etag
            inm = self.headers.get("If-None-Match", "").strip('"')
            if inm == etag:
                time.sleep(px.same_wait_s)  # behave like a long poll
                return self._send(304, {"ETag": rh["ETag"]}, b"")
        if (path.startswith("/v1/configs/") and px.rewrite_config is not None
                and status == 200):
            data = json.dumps(px.rewrite_config(json.loads(data))).encode()
        if path.startswith("/v1/blobs/") and px.rewrite_blob is not None and status == 200:
            res = px.rewrite_blob(path.rsplit("/", 1)[1], data)
            if res == "drop":
                # promise more than we send, then close: a truncated transfer
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) + 100))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            data = res
        return self._send(status, rh, data)

    def _send(self, status, headers, data):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if status != 304 and data:
            self.wfile.write(data)

    def do_GET(self):
        self._forward("GET")

    def do_POST(self):
        self._forward("POST")


class _TServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # clients that give up (timeouts, SIGKILL) are expected here


class Proxy:
    """HTTP proxy on 127.0.0.1:0 in front of a real cellgated."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.mode = "pass"  # pass | 500 | 503 | hang | garbage
        self.hang_s = 60
        self.same_wait_s = 0.5
        self.rewrite_desired = None  # fn(doc) -> doc
        self.rewrite_blob = None  # fn(sha, bytes) -> bytes | "drop"
        self.rewrite_config = None  # fn(config object) -> config object
        self.blobs = {}  # sha -> bytes served without asking upstream
        self.blob_status = None  # e.g. 500: every blob request answered with it
        self.seen = []  # desired-state documents seen from upstream
        self.times = []  # (time.monotonic(), method, path without query) of every request
        self.closing = False
        self.hits = {}
        self.lock = threading.Lock()
        self.srv = _TServer(("127.0.0.1", 0), _Handler)
        self.srv.px = self
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def count(self, path, method="GET"):
        key = path.split("?")[0]
        with self.lock:
            self.hits[key] = self.hits.get(key, 0) + 1
            self.times.append((time.monotonic(), method, key))

    def times_of(self, prefix, method=None, since=0.0):
        """Monotonic times of the requests whose path starts with prefix."""
        with self.lock:
            return [t for t, m, p in self.times
                    if p.startswith(prefix) and (method is None or m == method) and t >= since]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def reset(self):
        self.mode = "pass"
        self.rewrite_desired = None
        self.rewrite_blob = None
        self.rewrite_config = None
        self.blobs = {}
        self.blob_status = None

    def close(self):
        self.closing = True
        self.srv.shutdown()
        self.srv.server_close()


# ---------------------------------------------------------------- agent
class Agent:
    """One cellgate-agent process managing one config file."""

    def __init__(self, root, name, cell, token, pubhex, servers, config="features",
                 reload_cmd=None, check_cmd=None, contract_file=None, report_interval=1,
                 wait=2, extra="", request_timeout=3, reload_timeout=5, backoff_base_ms=200,
                 backoff_cap_ms=1500, binary=None):
        """binary: another cellgate-agent (an older build, 98-upgrade);
        default this build's."""
        self.binary = binary or harness.AGENT_BIN
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.name = name
        self.cell = cell
        self.config = config
        self.state_dir = os.path.join(self.dir, "state")
        self.target = os.path.join(self.dir, "features.json")
        self.log_path = os.path.join(self.dir, "agent.log")
        self.conf_path = os.path.join(self.dir, "agent.conf")
        lines = ["# written by agentkit.py"]
        lines += ["server = %s" % u for u in servers]
        if token is not None:  # None: a client certificate in 'extra' instead
            tok = os.path.join(self.dir, "token")
            with open(tok, "w") as f:
                f.write(token + "\n")
            lines.append("token_file = %s" % tok)
        lines += ["cell = %s" % cell, "host = %s" % name,
                  "state_dir = %s" % self.state_dir, "pubkey = %s" % pubhex,
                  "report_interval = %d" % report_interval, "poll_wait = %d" % wait,
                  "request_timeout = %d" % request_timeout, "connect_timeout = 2",
                  "log_level = debug", "backoff_base_ms = %d" % backoff_base_ms,
                  "backoff_cap_ms = %d" % backoff_cap_ms,
                  extra, "", "[config %s]" % config,
                  "path = %s" % self.target]
        if reload_cmd:
            lines.append("reload = %s" % reload_cmd)
            lines.append("reload_timeout = %d" % reload_timeout)
        if check_cmd:
            lines.append("check = %s" % check_cmd)
        if contract_file:
            lines.append("contract_file = %s" % contract_file)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None
        self.log = None

    def start(self, *args, wait_started=False):
        n0 = self.logtext().count("started: cell")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.binary, "--config", self.conf_path] + list(args),
                                     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        if wait_started:
            # signal handlers are installed before this line is logged
            wait_for(lambda: self.logtext().count("started: cell") > n0 or not self.alive(),
                     30, "agent %s to start" % self.name)
        return self

    def once(self, timeout=60):
        with open(self.log_path, "ab") as log:
            r = subprocess.run([self.binary, "--config", self.conf_path, "--once"],
                               stdout=log, stderr=log, stdin=subprocess.DEVNULL, timeout=timeout)
        return r.returncode

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                fail("agent %s did not stop on SIGTERM within %ss" % (self.name, timeout))
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None
        return rc

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None

    def content(self):
        try:
            with open(self.target, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def state(self):
        try:
            with open(os.path.join(self.state_dir, "state.json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def held(self):
        st = self.state() or {}
        c = st.get("configs", {}).get(self.config, {})
        return c.get("lkg_version", 0), c.get("lkg_generation", 0)

    def logtext(self):
        try:
            return open(self.log_path, errors="replace").read()
        except FileNotFoundError:
            return ""


def wait_for(cond, timeout, what, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    fail("timed out after %ss waiting for %s" % (timeout, what))


# ---------------------------------------------------------------- fleet
def setup_fleet(s, cells, config="features", contract=None):
    """Cells (one zone each), an agent token per cell, the config.
    Returns {cell: token}."""
    toks = {}
    for i, cell in enumerate(cells):
        st, b = s.api("POST", "/v1/cells", {"id": cell, "region": "r1", "zone": "z%d" % i})
        check(st == 201, "cell add %s: %s %s" % (cell, st, b))
        st, b = s.api("POST", "/v1/tokens", {"name": "agent-" + cell, "role": "agent",
                                             "cell": cell})
        check(st == 201, "token: %s %s" % (st, b))
        toks[cell] = b["token"]
    st, b = s.api("POST", "/v1/configs", {"name": config, "kind": "config",
                                          "contract": contract or harness.FEATURE_CONTRACT})
    check(st == 201, "config create: %s %s" % (st, b))
    return toks


def publish(s, doc, config="features"):
    body = canon(doc)
    st, _, data = s.request("POST", "/v1/configs/%s/versions" % config, body,
                            headers={"Content-Type": "application/json"})
    check(st == 201, "publish: %s %s" % (st, data[:300]))
    v = json.loads(data)
    return v["number"], body


def assign(s, version, cells, config="features"):
    st, b = s.api("POST", "/v1/configs/%s/assign" % config, {"version": version, "cells": cells, "force": True})
    check(st == 201, "assign: %s %s" % (st, b))
    return b["generation"]


def pubkey(s):
    st, b = s.api("GET", "/v1/agent/pubkey")
    check(st == 200 and len(b.get("public_key", "")) == 64, "pubkey: %s %s" % (st, b))
    return b["public_key"]


def hosts(s, cell=None):
    st, b = s.api("GET", "/v1/hosts" + ("?cell=%s" % cell if cell else ""))
    check(st == 200, "hosts: %s %s" % (st, b))
    return b["hosts"]


def host_config(s, host, config="features"):
    for h in hosts(s):
        if h["host"] == host:
            for c in h.get("configs", []):
                if c.get("config") == config:
                    return c
    return None


def tmpdir():
    return tempfile.mkdtemp(prefix="cgagent.")


def rmtree(d):
    shutil.rmtree(d, ignore_errors=True)
