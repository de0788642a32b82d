# SPDX-License-Identifier: MIT
"""A real cellgate-agent over mutual TLS, without a token:

- agent_applies_over_mtls: an agent configured with tls_cert/tls_key (a
  certificate for cellgate://c1/h1, no token) and ca_file applies a version
  assigned to c1 and reports it as h1, against a server that refuses agent
  tokens alone (--require-client-cert); the server's host view shows it.
- agent_host_must_match_certificate: an agent whose configured host (h2)
  is not its certificate's (h1) may read its cell's state, but its reports
  are refused: the log names the rule, and h2 never appears.
- agent_verifies_the_server: an agent without ca_file (the system's CAs do
  not know the test CA) connects to nothing: its log says the server's
  certificate is not trusted, and nothing is applied.
- agent_refuses_an_open_key: a client key file other users may read stops
  the agent at start (exit 2) with a message naming the file.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "30-agent"))
import agentkit as K  # noqa: E402
import harness as h  # noqa: E402
import tlskit as T  # noqa: E402

n = 0
root = K.tmpdir()
pki = T.Pki(os.path.join(root, "pki"))
ca = pki.ca("ca")
srv = pki.server(ca, "srv")
h1 = pki.client(ca, "h1", ["cellgate://c1/h1"])
h1b = pki.client(ca, "h1b", ["cellgate://c1/h1"])


def tls_lines(cert, ca_file=True):
    lines = ["tls_cert = %s" % cert.cert, "tls_key = %s" % cert.key]
    if ca_file:
        lines.append("ca_file = %s" % ca.cert)
    return "\n".join(lines)


with h.Server(extra_args=T.server_args(srv, client_ca=ca, extra=["--require-client-cert"]),
              ssl_context=T.context(ca.cert), keep=True) as s:
    K.setup_fleet(s, ["c1"])
    pk = K.pubkey(s)
    good = K.Agent(root, "h1", "c1", None, pk, [s.url], extra=tls_lines(h1))
    wrong = K.Agent(root, "h2", "c1", None, pk, [s.url], extra=tls_lines(h1b))
    blind = K.Agent(root, "h3", "c1", None, pk, [s.url], extra=tls_lines(h1, ca_file=False))
    for a in (good, wrong, blind):
        a.start(wait_started=True)

    v1, b1 = K.publish(s, h.features(40))
    g1 = K.assign(s, v1, ["c1"])
    K.wait_for(lambda: good.content() == b1, 30, "h1 to apply v1 over mTLS")
    K.wait_for(lambda: (K.host_config(s, "h1") or {}).get("lkg_version") == v1, 30,
               "h1 to report v1")
    hc = K.host_config(s, "h1")
    h.check(hc["generation"] == g1 and hc["outcome"] == "applied", "h1's report: %s" % hc)
    n += 1
    print("agent_applies_over_mtls: ok")

    K.wait_for(lambda: "names host h1, not h2" in wrong.logtext(), 30,
               "h2's refused report in its log")
    h.check(all(x["host"] != "h2" for x in K.hosts(s)), "h2 appeared: %s" % K.hosts(s))
    n += 1
    print("agent_host_must_match_certificate: ok")

    K.wait_for(lambda: "not trusted" in blind.logtext(), 30, "h3's verification failure")
    h.check(blind.content() is None, "h3 applied without trusting the server")
    h.check(all(x["host"] != "h3" for x in K.hosts(s)), "h3 reported")
    n += 1
    print("agent_verifies_the_server: ok")

    for a in (good, wrong, blind):
        rc = a.stop()
        h.check(rc == 0, "%s exit %s" % (a.name, rc))

    os.chmod(h1.key, 0o644)
    r = subprocess.run([h.AGENT_BIN, "--config", good.conf_path, "--once"], capture_output=True,
                       text=True, timeout=60)
    h.check(r.returncode == 2 and "accessible by other users" in r.stderr and h1.key in r.stderr,
            "an open client key: %s %s" % (r.returncode, r.stderr))
    os.chmod(h1.key, 0o600)
    n += 1
    print("agent_refuses_an_open_key: ok")
K.rmtree(root)
h.done("24-mtls-agent-e2e", n)
