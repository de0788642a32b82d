# SPDX-License-Identifier: MIT
"""SIGHUP swaps cellgated's TLS certificate without dropping a connection:

- reload_swaps_the_certificate: the certificate and key files are replaced
  (a renewal) and the server gets SIGHUP: new connections are handed the
  new certificate (its serial), cellgate_tls_reloads_total{outcome="ok"}
  and the expiry gauge follow, and the log says so.
- open_connections_survive: a keep-alive connection opened before the
  reload goes on answering on the same TLS session (still showing the old
  certificate: it was not reconnected), and an agent long-poll parked
  across the reload is answered on its connection.
- broken_files_keep_the_old_certificate: a certificate file that is not
  PEM, a key that does not match the certificate and a key file others may
  read are each refused on SIGHUP: the log says why, the failures are
  counted (outcome="failed"), and the server goes on with the last good
  certificate; a good pair after them is taken again.
"""
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402
import tlskit as T  # noqa: E402

n = 0
tmp = tempfile.mkdtemp(prefix="cgtls.")
pki = T.Pki(tmp)
ca = pki.ca("ca")
first = pki.server(ca, "srv1", days=1)
# the files the server is started with; renewals are copied over them
live = T.Cert("live", os.path.join(tmp, "live.pem"), os.path.join(tmp, "live.key"))


def install(cert, key_src=None):
    """Writes cert (and its key, or key_src's) over the live files, the
    way a renewal tool does: new file, then rename."""
    for src, dst in ((cert.cert, live.cert), ((key_src or cert).key, live.key)):
        shutil.copyfile(src, dst + ".new")
        os.chmod(dst + ".new", 0o600)
        os.replace(dst + ".new", dst)


def wait_metric(s, name, want, what):
    end = time.time() + 20
    while time.time() < end:
        if T.metric(s, name) == want:
            return
        time.sleep(0.05)
    h.fail("timed out waiting for %s == %s (%s): %s" % (name, want, what, T.metric(s, name)))


def hup(s, outcome, count, what):
    os.kill(s.proc.pid, signal.SIGHUP)
    wait_metric(s, 'cellgate_tls_reloads_total{outcome="%s"}' % outcome, count, what)


def log(s):
    return open(s.log_path, errors="replace").read()


install(first)
with h.Server(extra_args=T.server_args(live), ssl_context=T.context(ca.cert), keep=True) as s:
    st, _ = s.api("POST", "/v1/cells", {"id": "c1", "region": "r", "zone": "z"})
    h.check(st == 201, "cell: %s" % st)
    st, tok = s.api("POST", "/v1/tokens", {"name": "ag", "role": "agent", "cell": "c1"})
    h.check(st == 201, "agent token: %s" % st)
    h.check(T.peer_serial(s.port, ca.cert) == T.serial(first.cert), "first certificate served")

    # a keep-alive connection and a parked long-poll, both opened before
    auth = {"Authorization": "Bearer " + s.admin_token}
    keep = s.connection()
    keep.request("GET", "/v1/whoami", headers=auth)
    r = keep.getresponse()
    h.check(r.status == 200, "keep-alive: %s" % r.status)
    r.read()
    sock_before = keep.sock
    st, hd, _ = s.request("GET", "/v1/agent/desired?cell=c1", token=tok["token"])
    etag = hd["etag"]
    parked = {}

    def long_poll():
        c = s.connection(timeout=60)
        try:
            c.request("GET", "/v1/agent/desired?cell=c1&wait=6",
                      headers={"Authorization": "Bearer " + tok["token"], "If-None-Match": etag})
            resp = c.getresponse()
            resp.read()
            parked["status"] = resp.status
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            parked["error"] = repr(e)
        finally:
            c.close()

    th = threading.Thread(target=long_poll)
    th.start()
    wait_metric(s, "cellgate_longpolls_parked", 1, "the long-poll to park")

    # reload_swaps_the_certificate
    second = pki.server(ca, "srv2", days=2)
    install(second)
    hup(s, "ok", 1, "the first reload")
    h.check(T.peer_serial(s.port, ca.cert) == T.serial(second.cert),
            "a new connection still gets the old certificate after SIGHUP")
    h.check(T.metric(s, 'cellgate_tls_cert_expiry_timestamp_seconds{cert="server"}') ==
            T.not_after(second.cert), "expiry gauge follows the new certificate")
    h.check("SIGHUP: reloaded the TLS files" in log(s), "reload logged")
    n += 1
    print("reload_swaps_the_certificate: ok")

    # open_connections_survive
    keep.request("GET", "/v1/whoami", headers=auth)
    r = keep.getresponse()
    h.check(r.status == 200, "keep-alive after the reload: %s" % r.status)
    r.read()
    h.check(keep.sock is sock_before, "the keep-alive connection was reopened")
    h.check(T.peer_serial(s.port, ca.cert, conn=keep) == T.serial(first.cert),
            "the open connection's session changed certificate")
    th.join(30)
    h.check(parked == {"status": 304}, "the parked long-poll across the reload: %s" % parked)
    keep.close()
    n += 1
    print("open_connections_survive: ok")

    # broken_files_keep_the_old_certificate
    with open(live.cert, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    hup(s, "failed", 1, "a broken certificate file")
    h.check("TLS files not reloaded, the old credentials stay" in log(s) and live.cert in log(s),
            "why the reload failed is not logged:\n" + log(s)[-2000:])
    h.check(T.peer_serial(s.port, ca.cert) == T.serial(second.cert),
            "a broken file replaced the certificate in use")
    third = pki.server(ca, "srv3")
    install(third, key_src=second)  # the new certificate with the old key
    hup(s, "failed", 2, "a key that is not the certificate's")
    h.check("is not the key of the certificate" in log(s), "mismatch not logged")
    install(third)
    os.chmod(live.key, 0o644)
    hup(s, "failed", 3, "a key file others may read")
    h.check("accessible by other users" in log(s), "key mode not logged")
    h.check(T.peer_serial(s.port, ca.cert) == T.serial(second.cert),
            "a refused reload replaced the certificate in use")
    h.check(T.metric(s, 'cellgate_tls_reloads_total{outcome="ok"}') == 1, "ok count moved")
    os.chmod(live.key, 0o600)
    hup(s, "ok", 2, "a good pair again")
    h.check(T.peer_serial(s.port, ca.cert) == T.serial(third.cert), "the good pair not taken")
    st, b = s.api("GET", "/v1/whoami")
    h.check(st == 200, "serving after the reloads: %s" % st)
    n += 1
    print("broken_files_keep_the_old_certificate: ok")
shutil.rmtree(tmp, ignore_errors=True)
h.done("22-tls-reload", n)
