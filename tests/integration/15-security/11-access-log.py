# SPDX-License-Identifier: MIT
"""The access log (--access-log FILE): one line per request with time,
address, method, path, status, duration, route, the token's name and
bytes; a failed authentication shows its address, 401 and no name; no
token secret and no query string ever reaches the file; a path that tries
to forge a line (%0a) cannot; after logrotate moved the file, SIGHUP
opens the path again (reopened_on_sighup)."""
import http.client, os, re, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
tmp = tempfile.mkdtemp(prefix="cgal.")
log = os.path.join(tmp, "access.log")
with h.Server(extra_args=["--access-log", log]) as s:
    st, _ = s.api("GET", "/v1/cells")
    h.check(st == 200, "cells: %s" % st)
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10, source_address=("127.0.0.2", 0))
    c.request("GET", "/v1/cells", headers={"Authorization": "Bearer cg_not_a_real_token_secret"})
    r = c.getresponse(); r.read(); c.close()
    h.check(r.status == 401, "bad token: %s" % r.status)
    st, _, _ = s.request("GET", "/v1/audit?limit=1&reason=s3cr3t-in-query")
    st, _, _ = s.request("GET", "/v1/cells/x%0a2026-01-01T00:00:00.000Z%20forged%20line")
    time.sleep(0.3)
    text = open(log).read()
    lines = text.splitlines()
    pat = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\S+) (\S+) (\S+) (\d{3}) "
                     r"[\d.]+ms route=(\S+) who=(\S+) bytes=\d+$")
    parsed = [pat.match(l) for l in lines]
    h.check(all(parsed) and len(lines) >= 4, "malformed lines: %s" % [l for l, p in
                                                                       zip(lines, parsed) if not p])
    n += 1
    ok = [p for p in parsed if p.group(3) == "/v1/cells" and p.group(4) == "200"]
    h.check(ok and ok[0].group(1) == "127.0.0.1" and ok[0].group(5) == "cells.list" and
            ok[0].group(6) == "admin", "the 200 line: %s" % lines); n += 1
    bad = [p for p in parsed if p.group(4) == "401"]
    h.check(bad and bad[0].group(1) == "127.0.0.2" and bad[0].group(6) == "-",
            "the 401 line: %s" % lines); n += 1
    h.check(s.admin_token not in text and "cg_not_a_real_token_secret" not in text,
            "a token secret reached the access log"); n += 1
    h.check("s3cr3t-in-query" not in text and "/v1/audit " in text, "the query was logged"); n += 1
    h.check(not any(l.startswith("2026-01-01") for l in lines) and
            not any("forged" in l and not pat.match(l) for l in lines), "a forged line: %s" % lines)
    n += 1
    # reopened_on_sighup: logrotate moves the file and sends SIGHUP; the
    # server writes to a new file at the same path from then on
    import signal
    os.rename(log, log + ".1")
    os.kill(s.proc.pid, signal.SIGHUP)
    end = time.time() + 20
    while time.time() < end and "SIGHUP: reloaded the access log" not in open(s.log_path).read():
        time.sleep(0.05)
    st, _ = s.api("GET", "/v1/cells?limit=1")
    time.sleep(0.3)
    h.check(os.path.exists(log) and "/v1/cells 200" in open(log).read(),
            "no new access log after SIGHUP")
    h.check("/v1/cells 200" in open(log + ".1").read(), "the moved file lost its lines"); n += 1
print("ok: %d checks" % n)
