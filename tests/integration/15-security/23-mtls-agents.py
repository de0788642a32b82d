# SPDX-License-Identifier: MIT
"""Mutual TLS for agents (--tls-client-ca): a verified client certificate
naming exactly one cellgate://CELL/HOST is an agent credential.

- certificate_agent_reports: an agent with a certificate for c1/h1 and no
  token polls the desired state of c1, reports as h1 (204) and is shown as
  h1 of c1; whoami says cert:c1/h1, role agent, host h1. On a route
  agents may not call the certificate is no credential (401).
- certificate_names_its_host: the same certificate reporting as h2 is
  refused (403, naming the rule), and so is a report for another cell.
- untrusted_certificates_refused: a certificate of another CA, one without
  a cellgate:// name, one with two, and one whose name is not CELL/HOST are
  each refused (401 with the reason), even with a valid agent token beside
  them; cellgate_tls_client_certs_refused_total counts them.
- reissued_certificate_keeps_the_host: the host claim belongs to
  cert:c1/h1, so a new certificate (new key, new serial) for c1/h1 reports
  as h1; a token agent cannot take h1, and a certificate cannot take a
  host a token claimed.
- require_client_cert: without --require-client-cert an agent token alone
  still works; with it, the same token is refused (403 naming the option)
  while an admin token and the certificate agent go on working.
"""
import http.client
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402
import tlskit as T  # noqa: E402

n = 0
tmp = tempfile.mkdtemp(prefix="cgtls.")
pki = T.Pki(tmp)
ca = pki.ca("ca")
srv = pki.server(ca, "srv")
h1 = pki.client(ca, "h1", ["cellgate://c1/h1"])
other_ca = pki.ca("other")
foreign = pki.client(other_ca, "foreign", ["cellgate://c1/h1"])
unnamed = pki.client(ca, "unnamed", [])
twice = pki.client(ca, "twice", ["cellgate://c1/h1", "cellgate://c1/h9"])
badname = pki.client(ca, "badname", ["cellgate://c1/h1/extra"])
spiffe = pki.client(ca, "spiffe", ["spiffe://example.org/x", "cellgate://c1/hs"])


def call(s, cert, method, path, body=None, token=None, headers=None):
    """One request over a new connection presenting 'cert' (a tlskit.Cert
    or None); returns (status, parsed body)."""
    ctx = T.context(ca.cert, cert)
    c = http.client.HTTPSConnection("127.0.0.1", s.port, timeout=30, context=ctx)
    hd = dict(headers or {})
    if token:
        hd["Authorization"] = "Bearer " + token
    if body is not None:
        body = json.dumps(body).encode()
        hd["Content-Type"] = "application/json"
    try:
        c.request(method, path, body=body, headers=hd)
        r = c.getresponse()
        data = r.read()
        return r.status, (json.loads(data) if data else None)
    finally:
        c.close()


def report(host, cell="c1", seq=1):
    return {"host": host, "cell": cell, "seq": seq, "window_ms": 10000, "configs": [],
            "health": {"requests": 10, "errors": 0}}


def hosts(s):
    st, b = s.api("GET", "/v1/hosts")
    return {x["host"]: x["cell"] for x in b["hosts"]}


args = T.server_args(srv, client_ca=ca)
with h.Server(extra_args=args, ssl_context=T.context(ca.cert), keep=True) as s:
    for c in ("c1", "c2"):
        st, _ = s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z" + c})
        h.check(st == 201, "cell %s: %s" % (c, st))
    st, t = s.api("POST", "/v1/tokens", {"name": "ag-c1", "role": "agent", "cell": "c1"})
    agent_token = t["token"]

    # certificate_agent_reports
    st, b = call(s, h1, "GET", "/v1/whoami")
    h.check(st == 200 and b["name"] == "cert:c1/h1" and b["role"] == "agent" and
            b["cell"] == "c1" and b.get("host") == "h1", "whoami with a certificate: %s %s"
            % (st, b))
    st, b = call(s, h1, "GET", "/v1/agent/desired?cell=c1")
    h.check(st == 200, "desired state with a certificate: %s %s" % (st, b))
    st, b = call(s, h1, "POST", "/v1/agent/report", report("h1"))
    h.check(st == 204, "report with a certificate: %s %s" % (st, b))
    h.check(hosts(s).get("h1") == "c1", "h1 not shown: %s" % hosts(s))
    st, b = call(s, h1, "GET", "/v1/cells")
    h.check(st == 401, "an agent certificate is no credential on an operator route: %s %s"
            % (st, b))
    n += 1
    print("certificate_agent_reports: ok")

    # certificate_names_its_host
    st, b = call(s, h1, "POST", "/v1/agent/report", report("h2", seq=2))
    h.check(st == 403 and "names host h1, not h2" in b["error"]["message"] and
            "reports only as the host it names" in b["error"]["message"],
            "h1's certificate reporting as h2: %s %s" % (st, b))
    st, b = call(s, h1, "POST", "/v1/agent/report", report("h1", cell="c2", seq=3))
    h.check(st == 403, "h1's certificate reporting for c2: %s %s" % (st, b))
    st, b = call(s, h1, "GET", "/v1/agent/desired?cell=c2")
    h.check(st == 403, "h1's certificate polling c2: %s %s" % (st, b))
    h.check("h2" not in hosts(s), "h2 appeared: %s" % hosts(s))
    n += 1
    print("certificate_names_its_host: ok")

    # untrusted_certificates_refused
    before = T.metric(s, "cellgate_tls_client_certs_refused_total")
    for cert, why in ((foreign, "NOT trusted"), (unnamed, "names no cellgate://"),
                      (twice, "names 2 cellgate://"), (badname, "CELL and HOST must be names")):
        st, b = call(s, cert, "POST", "/v1/agent/report", report("h1", seq=4),
                     token=agent_token)
        h.check(st == 401 and why in b["error"]["message"],
                "%s: %s %s" % (cert.name, st, b))
    h.check(T.metric(s, "cellgate_tls_client_certs_refused_total") == before + 4,
            "refusals counted")
    st, b = call(s, spiffe, "POST", "/v1/agent/report", report("hs"))
    h.check(st == 204, "other URI names beside the cellgate:// one: %s %s" % (st, b))
    n += 1
    print("untrusted_certificates_refused: ok")

    # reissued_certificate_keeps_the_host
    renewed = pki.client(ca, "h1-renewed", ["cellgate://c1/h1"])
    h.check(T.serial(renewed.cert) != T.serial(h1.cert), "same serial")
    st, b = call(s, renewed, "POST", "/v1/agent/report", report("h1", seq=5))
    h.check(st == 204, "a re-issued certificate for h1: %s %s" % (st, b))
    st, b = call(s, None, "POST", "/v1/agent/report", report("h1", seq=6), token=agent_token)
    h.check(st == 403 and "belongs to another agent credential (cert:c1/h1" in
            b["error"]["message"], "a token took the certificate's host: %s %s" % (st, b))
    st, b = call(s, None, "POST", "/v1/agent/report", report("ht"), token=agent_token)
    h.check(st == 204, "the token's own host: %s %s" % (st, b))
    took = pki.client(ca, "ht", ["cellgate://c1/ht"])
    st, b = call(s, took, "POST", "/v1/agent/report", report("ht", seq=2))
    h.check(st == 403 and "token:ag-c1" in b["error"]["message"],
            "a certificate took a token's host: %s %s" % (st, b))
    n += 1
    print("reissued_certificate_keeps_the_host: ok")

# require_client_cert
with h.Server(extra_args=args + ["--require-client-cert"], ssl_context=T.context(ca.cert),
              keep=True) as s:
    st, _ = s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})
    st, t = s.api("POST", "/v1/tokens", {"name": "ag-c1", "role": "agent", "cell": "c1"})
    st, b = call(s, None, "POST", "/v1/agent/report", report("hx"), token=t["token"])
    h.check(st == 403 and "--require-client-cert" in b["error"]["message"],
            "a token-only agent with --require-client-cert: %s %s" % (st, b))
    st, b = call(s, None, "GET", "/v1/agent/desired?cell=c1", token=t["token"])
    h.check(st == 403, "a token-only poll with --require-client-cert: %s %s" % (st, b))
    st, b = s.api("GET", "/v1/cells")
    h.check(st == 200, "admin token with --require-client-cert: %s" % st)
    st, b = call(s, h1, "POST", "/v1/agent/report", report("h1"))
    h.check(st == 204, "certificate agent with --require-client-cert: %s %s" % (st, b))
    h.check("hx" not in hosts(s), "the refused token's report arrived")
with h.Server(extra_args=args, ssl_context=T.context(ca.cert)) as s:
    st, _ = s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})
    st, t = s.api("POST", "/v1/tokens", {"name": "ag-c1", "role": "agent", "cell": "c1"})
    st, b = call(s, None, "POST", "/v1/agent/report", report("hx"), token=t["token"])
    h.check(st == 204, "control: a token-only agent without the option: %s %s" % (st, b))
n += 1
print("require_client_cert: ok")
shutil.rmtree(tmp, ignore_errors=True)
h.done("23-mtls-agents", n)
