# SPDX-License-Identifier: MIT
"""TLS in cellgated (--tls-cert, --tls-key, --tls-priorities):

- https_with_ca_file_works: the server speaks HTTPS with a certificate of a
  throwaway CA; the CLI with --ca-file (and with CELLGATE_CA_FILE) talks to
  it; /metrics exports the certificate's notAfter and counts TLS 1.3
  handshakes.
- server_certificate_is_verified: without the CA (the system's CAs do not
  know it) the CLI fails verification (exit 3, "not trusted") and sends
  nothing; the server counts the aborted handshake.
- old_protocols_refused: a client that offers only TLS 1.1 gets no
  handshake; the same client is accepted by a server started with
  --tls-priorities that allows TLS 1.1 (so the client really offered it).
- weak_ciphers_refused: a TLS 1.2 client that offers only a CBC/SHA-1
  suite (ECDHE-ECDSA-AES128-SHA) gets no handshake; a server with
  --tls-priorities NORMAL accepts it; a TLS 1.2 AEAD suite is accepted.
- key_file_must_be_private: a key file other users may read is refused at
  start (exit 1, says which file and the mode), like ssh; so is a key that
  is not the certificate's, a CA option without the certificate, and a bad
  priority string.
"""
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402
import tlskit as T  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)  # ssl's TLSv1_1, on purpose
n = 0
tmp = tempfile.mkdtemp(prefix="cgtls.")
pki = T.Pki(tmp)
ca = pki.ca("ca")
srv = pki.server(ca, "srv")
other = pki.ca("other")


def handshake(port, ctx):
    """None when the handshake succeeds, else the error text."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = s.recv(4096)
                h.check(b" 200 " in data, "healthz over TLS: %r" % data[:80])
                return None
    except (ssl.SSLError, ConnectionError, OSError) as e:
        return str(e)


def tls11_client():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca.cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def cbc_client():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca.cert)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0")
    return ctx


def start_fails(*args):
    """Starts a server that must refuse to start; (exit status, stderr).
    One that starts after all is stopped by its PID (status None)."""
    d = tempfile.mkdtemp(prefix="cgtls-d.", dir=tmp)
    err = os.path.join(d, "stderr")
    with open(err, "w") as ef:
        p = subprocess.Popen([h.SERVER_BIN, "serve", "--data", d, "--listen", "127.0.0.1:0"] +
                             list(args), stdout=subprocess.DEVNULL, stderr=ef,
                             stdin=subprocess.DEVNULL)
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
            rc = None
    return rc, open(err).read()


with h.Server(extra_args=T.server_args(srv), ssl_context=T.context(ca.cert), keep=True) as s:
    h.check(s.url.startswith("https://"), s.url)
    # https_with_ca_file_works
    st, b = s.api("GET", "/v1/whoami")
    h.check(st == 200 and b["role"] == "admin", "whoami over TLS: %s %s" % (st, b))
    r = s.cli("--ca-file", ca.cert, "cell", "add", "c1", "--region", "r1", "--zone", "z1")
    h.check(r.returncode == 0, "cellgate --ca-file: %s %s" % (r.returncode, r.stderr))
    r = s.cli("cell", "list", env={"CELLGATE_CA_FILE": ca.cert})
    h.check(r.returncode == 0 and "c1" in r.stdout,
            "CELLGATE_CA_FILE: %s %s %s" % (r.returncode, r.stdout, r.stderr))
    h.check(T.metric(s, 'cellgate_tls_cert_expiry_timestamp_seconds{cert="server"}') ==
            T.not_after(srv.cert), "expiry metric is the certificate's notAfter")
    h.check(T.metric(s, 'cellgate_tls_handshakes_total{version="TLS1.3"}') >= 3,
            "TLS 1.3 handshakes counted")
    # the exposition with the TLS families passes promtool, and the families
    # the alert rules of docs/operations.md use are there
    st, _, body = s.request("GET", "/metrics")
    promtool = shutil.which("promtool")
    h.check(promtool is not None, "promtool not found (scripts/deps.sh installs prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       timeout=60)
    h.check(r.returncode == 0, "promtool: %s %s" % (r.stdout, r.stderr))
    src = os.environ.get("CG_SRC_DIR") or os.path.join(os.path.dirname(__file__), "..", "..",
                                                       "..")
    doc = open(os.path.join(src, "docs", "operations.md")).read()
    rules = doc[doc.index("### Alert rules"):]
    used = set(re.findall(r"cellgate_tls_[a-z_]+", rules[:rules.index("```\n", 30)]))
    have = set(re.findall(r"^# TYPE (cellgate_tls_[a-z_]+)", body.decode(), re.M))
    h.check(used and used <= have, "TLS families of the alert rules: %s, /metrics has %s"
            % (sorted(used), sorted(have)))
    n += 1
    print("https_with_ca_file_works: ok")

    # server_certificate_is_verified
    before = T.metric(s, "cellgate_tls_handshake_failures_total")
    r = s.cli("cell", "add", "c2", "--region", "r1", "--zone", "z2",
              env={"CELLGATE_CA_FILE": ""})
    h.check(r.returncode == 3 and "not trusted" in r.stderr,
            "without the CA: %s %s" % (r.returncode, r.stderr))
    r = s.cli("--ca-file", other.cert, "cell", "add", "c2", "--region", "r1", "--zone", "z2")
    h.check(r.returncode == 3 and "not trusted" in r.stderr,
            "with another CA: %s %s" % (r.returncode, r.stderr))
    st, b = s.api("GET", "/v1/cells")
    h.check([c["id"] for c in b["cells"]] == ["c1"], "a refused client's request arrived: %s" % b)
    h.check(T.metric(s, "cellgate_tls_handshake_failures_total") >= before + 2,
            "aborted handshakes counted")
    # plain HTTP to the TLS port gets no answer
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    try:
        c.request("GET", "/healthz")
        resp = c.getresponse()
        h.fail("plain HTTP answered on the TLS port: %s" % resp.status)
    except (ConnectionError, http.client.HTTPException, OSError):
        pass
    finally:
        c.close()
    n += 1
    print("server_certificate_is_verified: ok")

    # old_protocols_refused / weak_ciphers_refused (default priorities)
    err = handshake(s.port, tls11_client())
    h.check(err is not None, "a TLS 1.1 client was accepted")
    err = handshake(s.port, cbc_client())
    h.check(err is not None, "a CBC/SHA-1 suite was accepted")
    aead = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    aead.load_verify_locations(ca.cert)
    aead.maximum_version = ssl.TLSVersion.TLSv1_2
    aead.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    h.check(handshake(s.port, aead) is None, "TLS 1.2 with an AEAD suite refused")
    h.check(T.metric(s, 'cellgate_tls_handshakes_total{version="TLS1.2"}') >= 1,
            "TLS 1.2 handshake counted")

# the same clients against a server told to allow old protocols and ciphers:
# they really offered TLS 1.1 and the CBC suite
lax = "NORMAL:+VERS-TLS1.1:+VERS-TLS1.0:+SHA1:+AES-128-CBC"
with h.Server(extra_args=T.server_args(srv, extra=["--tls-priorities", lax]),
              ssl_context=T.context(ca.cert)) as s:
    err = handshake(s.port, tls11_client())
    h.check(err is None, "control: TLS 1.1 against --tls-priorities %s: %s" % (lax, err))
    n += 1
    print("old_protocols_refused: ok")
    err = handshake(s.port, cbc_client())
    h.check(err is None, "control: CBC suite against --tls-priorities %s: %s" % (lax, err))
    n += 1
    print("weak_ciphers_refused: ok")

# key_file_must_be_private (and other refusals at start)
os.chmod(srv.key, 0o644)
rc, err = start_fails("--tls-cert", srv.cert, "--tls-key", srv.key)
h.check(rc == 1 and "accessible by other users" in err and srv.key in err
        and "0644" in err, "world-readable key: %s %s" % (rc, err))
os.chmod(srv.key, 0o600)
rc, err = start_fails("--tls-cert", srv.cert, "--tls-key", other.key)
h.check(rc == 1 and "is not the key of the certificate" in err,
        "mismatched key: %s %s" % (rc, err))
rc, err = start_fails("--tls-client-ca", ca.cert)
h.check(rc == 1 and "needs --tls-cert" in err,
        "client CA without TLS: %s %s" % (rc, err))
rc, err = start_fails("--tls-cert", srv.cert, "--tls-key", srv.key,
                      "--tls-priorities", "NORMAL:+BOGUS")
h.check(rc == 1 and "--tls-priorities" in err,
        "bad priorities: %s %s" % (rc, err))
rc, err = start_fails("--tls-cert", srv.cert, "--tls-key", srv.key, "--require-client-cert")
h.check(rc == 1 and "--require-client-cert needs --tls-client-ca" in err,
        "require without CA: %s %s" % (rc, err))
n += 1
print("key_file_must_be_private: ok")
shutil.rmtree(tmp, ignore_errors=True)
h.done("21-tls-serve", n)
