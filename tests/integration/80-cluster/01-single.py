# SPDX-License-Identifier: MIT
"""One replica on the SQLite store: it leads at once under replica id
"local" (GET /v1/cluster, `cellgate cluster status`, the cellgate_cluster_*
metrics, the audit record of the leadership); a restart under the same id
takes the same term back at once; a clean stop releases the lease; a bad
--replica-id or --lease-ttl-ms is a usage error."""
import json, os, shutil, subprocess, sys, tempfile
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
with h.Server(keep=True) as s:
    st, b = s.api("GET", "/v1/cluster")
    h.check(st == 200, "GET /v1/cluster %s %s" % (st, b))
    h.check(b["leader"] == "local" and b["replica"] == "local" and b["term"] >= 1,
            "leader: %s" % b); n += 1
    h.check(b["replicas"] == [{"id": "local", "leader": True}], "replicas %s" % b); n += 1
    h.check(b["lease"]["live"] and 0 < b["lease"]["expires_in_ms"] <= 6000,
            "lease %s" % b["lease"]); n += 1
    h.check(b["this"]["is_leader"] and b["this"]["term"] == b["term"], "this %s" % b); n += 1
    term = b["term"]

    r = s.cli("cluster", "status")
    h.check(r.returncode == 0 and "leader:" in r.stdout and "local" in r.stdout
            and "(leader)" in r.stdout and "term:" in r.stdout, "cli %r %r" % (r.stdout, r.stderr))
    n += 1
    r = s.cli("cluster", "status", "--json")
    h.check(r.returncode == 0 and json.loads(r.stdout)["leader"] == "local", "cli json %r" % r.stdout)
    n += 1
    r = s.cli("cluster", "nope")
    h.check(r.returncode == 2, "unknown subcommand exit %d" % r.returncode); n += 1

    # a reader may look; no token may not
    st, _ = s.api("GET", "/v1/cluster", token=None)
    h.check(st == 401, "no token: %s" % st); n += 1

    st, _, data = s.request("GET", "/metrics", None, "admin", None)
    text = data.decode()
    for fam in ("cellgate_cluster_is_leader 1", "cellgate_cluster_term %d" % term,
                "cellgate_controller_fenced_refused_total 0"):
        h.check(fam in text, "metrics lack %r" % fam); n += 1

    st, b = s.api("GET", "/v1/audit")
    leads = [r for r in b["records"] if r["action"] == "lease.acquire"]
    h.check(len(leads) == 1 and leads[0]["object"] == "lease/controller"
            and json.loads(leads[0]["after"])["holder"] == "local", "audit %s" % leads); n += 1
    data_dir = s.data_dir

# A restart under the same id: the same term, at once.
with h.Server(data_dir=data_dir, keep=True) as s:
    st, b = s.api("GET", "/v1/cluster")
    h.check(st == 200 and b["leader"] == "local" and b["this"]["is_leader"],
            "after restart %s" % b); n += 1
    # the clean stop above released the lease: a new term, audited
    h.check(b["term"] > term, "a released lease starts a new term: %s" % b); n += 1

# Another id on the same store waits for nobody (released) and leads.
with h.Server(data_dir=data_dir, extra_args=["--replica-id", "other"]) as s:
    st, b = s.api("GET", "/v1/cluster")
    h.check(st == 200 and b["leader"] == "other", "other id %s" % b); n += 1

for bad in (["--replica-id", "x" * 60], ["--lease-ttl-ms", "100"]):
    tmp = tempfile.mkdtemp(prefix="cgclu.")
    r = subprocess.run([h.SERVER_BIN, "serve", "--data", tmp + "/d", "--listen",
                        "127.0.0.1:0"] + bad, capture_output=True, text=True, timeout=30)
    shutil.rmtree(tmp, ignore_errors=True)
    h.check(r.returncode != 0 and ("replica id" in r.stderr or "lease-ttl-ms" in r.stderr),
            "bad %s: exit %d %r" % (bad, r.returncode, r.stderr)); n += 1

shutil.rmtree(data_dir, ignore_errors=True)
print("ok: %d checks" % n)
