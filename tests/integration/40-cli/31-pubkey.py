# SPDX-License-Identifier: MIT
"""`cellgate pubkey`: prints the server's public signing key exactly as
`cellgated pubkey --data DIR` does (64 hex and a newline: an agent's
`pubkey =` value), with the key id on stderr; `--out FILE` writes the same
line for an agent's `pubkey_file`, and a real cellgate-agent pinning that
file verifies and applies a version with it; a reader and an agent token
may ask; no token exits 4; a server whose answer is not an ed25519 key
with its own key id exits 3; a FILE that cannot be written exits 2."""
import hashlib, http.server, json, os, socketserver, subprocess, sys, tempfile, threading
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0


def code(r, want, what):
    h.check(r.returncode == want, "%s: exit %d, want %d\nstdout: %s\nstderr: %s"
            % (what, r.returncode, want, r.stdout, r.stderr))
    return r


class Liar(http.server.BaseHTTPRequestHandler):
    """A server whose key does not match its key id."""
    body = b""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(Liar.body)))
        self.end_headers()
        self.wfile.write(Liar.body)

    def log_message(self, *a):
        pass


tmp = tempfile.mkdtemp(prefix="cgpubkey.")
with h.Server() as s:
    want = subprocess.run([h.SERVER_BIN, "pubkey", "--data", s.data_dir], capture_output=True,
                          text=True, timeout=30)
    h.check(want.returncode == 0 and len(want.stdout) == 65, "cellgated pubkey %r" % want.stdout)
    key_id = hashlib.sha256(bytes.fromhex(want.stdout.strip())).hexdigest()[:16]

    r = code(s.cli("pubkey"), 0, "pubkey")
    h.check(r.stdout == want.stdout, "%r != %r" % (r.stdout, want.stdout))
    h.check(key_id in r.stderr, "key id not on stderr: %r" % r.stderr); n += 1
    b = json.loads(code(s.cli("pubkey", "--json"), 0, "pubkey --json").stdout)
    h.check(b["public_key"] == want.stdout.strip() and b["key_id"] == key_id
            and b["algorithm"] == "ed25519", "%s" % b); n += 1

    out = os.path.join(tmp, "server.pub")
    r = code(s.cli("pubkey", "--out", out), 0, "pubkey --out")
    h.check(open(out).read() == want.stdout and oct(os.stat(out).st_mode & 0o777) == "0o644",
            "file %r" % open(out).read())
    h.check(r.stdout == "wrote the server's public key %s to %s\n" % (key_id, out),
            "%r" % r.stdout); n += 1
    code(s.cli("pubkey", "--out", os.path.join(tmp, "no", "such", "dir", "k")), 2,
         "unwritable --out"); n += 1
    code(s.cli("pubkey", "extra"), 2, "an argument"); n += 1

    st, rd = s.api("POST", "/v1/tokens", {"name": "viewer", "role": "reader"})
    code(s.cli("pubkey", token=rd["token"]), 0, "a reader may ask")
    h.check(s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})[0] == 201, "cell")
    st, ag = s.api("POST", "/v1/tokens", {"name": "h1", "role": "agent", "cell": "c1"})
    h.check(st == 201, "agent token %s" % ag)
    r = code(s.cli("pubkey", token=ag["token"]), 0, "an agent may ask")
    h.check(r.stdout == want.stdout, "%r" % r.stdout)
    code(s.cli("pubkey", token=None), 4, "no token (401)"); n += 1

    # an agent pinning the file verifies and applies a version with it
    h.check(s.api("POST", "/v1/configs", {"name": "cfg", "kind": "config",
                                          "contract": h.FEATURE_CONTRACT})[0] == 201, "config")
    st, _, b = s.request("POST", "/v1/configs/cfg/versions?message=v1", json.dumps(h.features(5)))
    h.check(st == 201, "publish %s" % b)
    code(s.cli("assign", "cfg", "1", "--cell", "c1", "-m", "go"), 0, "assign")
    h.write(tmp, "agent.token", ag["token"])
    target = os.path.join(tmp, "cfg.json")
    h.write(tmp, "agent.conf", "server = %s\ntoken_file = %s\ncell = c1\nhost = h1\n"
            "state_dir = %s\npubkey_file = %s\n\n[config cfg]\npath = %s\n"
            % (s.url, os.path.join(tmp, "agent.token"), os.path.join(tmp, "state"), out, target))
    r = subprocess.run([h.AGENT_BIN, "--config", os.path.join(tmp, "agent.conf"), "--once"],
                       capture_output=True, text=True, timeout=60)
    h.check(r.returncode == 0 and os.path.exists(target)
            and json.load(open(target)) == h.features(5),
            "agent with the fetched key: exit %d %s" % (r.returncode, r.stderr)); n += 1

# a server whose key and key id disagree, or that sends no key
liar = socketserver.TCPServer(("127.0.0.1", 0), Liar)
threading.Thread(target=liar.serve_forever, daemon=True).start()
env = dict(os.environ, CELLGATE_SERVER="http://127.0.0.1:%d" % liar.server_address[1],
           CELLGATE_TOKEN="x")
for body in ({"key_id": "0000000000000000", "public_key": want.stdout.strip(),
              "algorithm": "ed25519"},
             {"key_id": key_id, "public_key": "zz", "algorithm": "ed25519"},
             {"key_id": key_id, "public_key": want.stdout.strip(), "algorithm": "rsa"}, {}):
    Liar.body = json.dumps(body).encode()
    r = subprocess.run([h.CLI_BIN, "pubkey", "--out", os.path.join(tmp, "bad.pub")],
                       capture_output=True, text=True, timeout=30, env=env)
    h.check(r.returncode == 3 and "not an ed25519 key" in r.stderr and r.stdout == ""
            and not os.path.exists(os.path.join(tmp, "bad.pub")),
            "%s: exit %d %r" % (body, r.returncode, r.stderr)); n += 1
liar.shutdown()

h.done("40-cli/31-pubkey", n)
