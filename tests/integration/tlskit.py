# SPDX-License-Identifier: MIT
"""Throwaway certificates for the TLS tests (not a test itself: the runner
only picks up files named NN-*.py), made with the openssl command-line tool
in a directory of the test's own:

    pki = tlskit.Pki(dirpath)
    ca = pki.ca("ca")                                 # CA cert + key
    srv = pki.server(ca, "srv")                       # SAN IP:127.0.0.1, DNS:localhost
    ag = pki.client(ca, "h1", ["cellgate://c1/h1"])   # URI SANs
    ctx = tlskit.context(ca.cert)                     # ssl context trusting ca

Keys are EC P-256 (fast to make) with mode 0600; every certificate gets a
serial of its own (read it back with serial()). Certificates are valid from
an hour ago (clocks) for 'days' days.
"""
import os
import ssl
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class Cert:
    def __init__(self, name, cert, key):
        self.name = name
        self.cert = cert  # PEM path (the certificate, then its chain)
        self.key = key    # PEM path (mode 0600)


def openssl(*args, input=None):
    r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True, input=input,
                       timeout=60)
    harness.check(r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stderr))
    return r.stdout


class Pki:
    def __init__(self, dirpath):
        self.dir = dirpath
        os.makedirs(dirpath, exist_ok=True)
        self.n = 0

    def _key(self, name):
        key = os.path.join(self.dir, name + ".key")
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", key)
        os.chmod(key, 0o600)
        return key

    def ca(self, name, days=3):
        key = self._key(name)
        cert = os.path.join(self.dir, name + ".pem")
        openssl("req", "-x509", "-new", "-key", key, "-out", cert, "-days", str(days),
                "-subj", "/CN=%s test CA" % name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        return Cert(name, cert, key)

    def _sign(self, ca, name, ext_lines, days, key=None):
        key = key or self._key(name)
        csr = os.path.join(self.dir, name + ".csr")
        ext = os.path.join(self.dir, name + ".ext")
        cert = os.path.join(self.dir, name + ".pem")
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=%s" % name)
        with open(ext, "w") as f:
            f.write("\n".join(ext_lines) + "\n")
        self.n += 1
        openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
                "-set_serial", str(1000 + self.n), "-out", cert, "-days", str(days),
                "-extfile", ext)
        return Cert(name, cert, key)

    def server(self, ca, name, days=2, key=None):
        return self._sign(ca, name, ["basicConstraints=CA:FALSE",
                                     "subjectAltName=IP:127.0.0.1,DNS:localhost",
                                     "extendedKeyUsage=serverAuth"], days, key)

    def client(self, ca, name, uris, days=2, key=None):
        lines = ["basicConstraints=CA:FALSE", "extendedKeyUsage=clientAuth"]
        if uris:
            lines.append("subjectAltName=" + ",".join("URI:" + u for u in uris))
        return self._sign(ca, name, lines, days, key)


def serial(pem_path):
    """The serial of a certificate file, as an int."""
    out = openssl("x509", "-in", pem_path, "-noout", "-serial")
    return int(out.strip().split("=", 1)[1], 16)


def not_after(pem_path):
    """notAfter of a certificate file, Unix seconds."""
    import email.utils
    out = openssl("x509", "-in", pem_path, "-noout", "-enddate")
    return int(email.utils.parsedate_to_datetime(
        out.strip().split("=", 1)[1].replace(" GMT", " +0000")).timestamp())


def context(ca_pem, cert=None):
    """A client context that trusts only ca_pem (and presents cert, a Cert,
    when given)."""
    ctx = ssl.create_default_context(cafile=ca_pem)
    if cert:
        ctx.load_cert_chain(cert.cert, cert.key)
    return ctx


def peer_serial(port, ca_pem, conn=None):
    """The serial of the certificate the server presents on a new
    connection (or on conn, an open http.client HTTPSConnection)."""
    import socket
    if conn is not None:
        der = conn.sock.getpeercert(binary_form=True)
    else:
        ctx = context(ca_pem)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                der = s.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = openssl("x509", "-noout", "-serial", input=pem)
    return int(out.strip().split("=", 1)[1], 16)


def metric(s, name):
    """The value of one sample line of /metrics ('name' with its labels)."""
    st, _, m = s.request("GET", "/metrics")
    harness.check(st == 200, "metrics: %s" % st)
    for line in m.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    harness.fail("no metric %s" % name)


def server_args(cert, client_ca=None, extra=()):
    args = ["--tls-cert", cert.cert, "--tls-key", cert.key]
    if client_ca:
        args += ["--tls-client-ca", client_ca.cert]
    return args + list(extra)
