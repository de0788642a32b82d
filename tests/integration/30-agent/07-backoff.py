# SPDX-License-Identifier: MIT
"""Finding 8, "The agent storms sooner than it says": the real gaps between
the agent's attempts, measured where the requests arrive.

The agent used to cut every wait of its loop at the next report and poll
whenever it woke, so it logged "retrying in 4-6 s" (or 51352 ms) and
retried 0.2-1.1 s later: the real backoff ceiling was the report interval,
and a blob that kept failing was fetched again by every host once per
interval. Now a poll cycle (desired state, contract, blob) and a report
each keep their own time (agent/sched.c):

  1. poll_backoff_holds_between_reports: a server that answers every
     GET with 503 (no Retry-After) and accepts reports. Every gap between
     two polls is at least the "retrying in X ms" the agent logged (and
     not much more); the first delays stay under their backoff ceilings
     and, once the retry budget is spent, gaps are at least a long-poll
     wait, far above the 1 s report interval; reports still go out about
     every second; a bounded number of polls in the window.
  2. failing_blob_backs_off: a real cellgated behind a proxy whose blob
     store answers 500: the blob's fetches are spaced by the logged
     backoff too, reports go on, and the honest blob is applied once the
     store heals.
  3. mismatched_blob_backs_off: the same with a blob whose bytes do not
     hash to the signed sha256 (verify_failed, retried after a backoff).
  4. refusal_survives_restart: a validly signed version that violates the
     contract is refused; state.json records the refused generation, its
     version and "contract_violation"; after a restart the agent neither
     applies nor fetches that blob again.

Timing bounds are lower bounds that a slow machine only makes easier
(a gap is never shorter than the delay the agent chose) plus generous
upper bounds; ASan builds get more slack."""
import http.server
import os
import re
import socketserver
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import agentkit as K  # noqa: E402
import harness  # noqa: E402

SLACK = 3.0 if K.SANITIZED else 1.0
TOL = 0.05  # clock granularity: a gap is never shorter than the delay chosen
BASE_MS, CAP_MS = 400, 6000
WAIT_S = 5  # poll_wait: a retry the budget refuses waits a jittered long poll, >= 0.8 x this
RETRIES = 3  # retries the budget allows per minute to an agent with few requests
RETRY_RE = re.compile(r"poll: (.*) \(retrying in (\d+) ms\)")

passed = 0
root = K.tmpdir()


def logged_delays(agent, offset):
    """The delays the agent logged after byte 'offset' of its log, in s."""
    return [int(m.group(2)) / 1000.0 for m in RETRY_RE.finditer(agent.logtext()[offset:])]


def check_gaps(what, times, delays, min_n=2):
    """Each gap between consecutive attempts is at least the delay logged
    after the first of them, and not much longer."""
    n = min(len(times) - 1, len(delays))
    K.check(n >= min_n, "%s: only %d attempts/%d logged delays" % (what, len(times), len(delays)))
    rows = []
    for i in range(n):
        gap = times[i + 1] - times[i]
        rows.append("%.3f s (logged %.3f s)" % (gap, delays[i]))
        K.check(gap >= delays[i] - TOL,
                "%s: attempt %d came %.3f s after the previous one, but the agent logged "
                "'retrying in %d ms': the backoff did not hold. Gaps: %s"
                % (what, i + 2, gap, delays[i] * 1000, rows))
        K.check(gap <= delays[i] + 2.0 * SLACK,
                "%s: attempt %d came %.3f s after the previous one, the agent logged %d ms"
                % (what, i + 2, gap, delays[i] * 1000))
    print("%s: gaps %s" % (what, ", ".join(rows)))
    return [times[i + 1] - times[i] for i in range(n)]


def check_reports(what, times, window):
    """Reports kept their own schedule (interval 1 s, jittered +-20%)."""
    K.check(len(times) >= window / 2.5,
            "%s: %d reports in %.0f s with a 1 s interval" % (what, len(times), window))
    gaps = [b - a for a, b in zip(times, times[1:])]
    K.check(max(gaps) <= 1.2 + 2.0 * SLACK,
            "%s: reports stalled: gaps %s" % (what, ["%.2f" % g for g in gaps]))


def max_attempts(window):
    """Polls a failing agent may make in 'window' s: the first, the retries
    the budget allows, then one per refused-retry wait (>= 0.8 x WAIT_S)."""
    return 1 + RETRIES + int(window / (0.8 * WAIT_S)) + 1


# ---------------------------------------------------------------- 1. a 503 server
class _Stub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.record("GET", self.path)
        self._answer(503, b'{"error":{"code":"unavailable","message":"injected"}}')

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.server.record("POST", self.path)
        self._answer(202, b"{}")


class _StubServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Stub)
        self.lock = threading.Lock()
        self.times = []

    def record(self, method, path):
        with self.lock:
            self.times.append((time.monotonic(), method, path.split("?")[0]))

    def times_of(self, method, prefix):
        with self.lock:
            return [t for t, m, p in self.times if m == method and p.startswith(prefix)]

    def handle_error(self, request, client_address):
        pass


stub = _StubServer()
threading.Thread(target=stub.serve_forever, daemon=True).start()
a = K.Agent(root, "stub", "c1", "not-a-real-token", K.Signer.random().pubhex,
            ["http://127.0.0.1:%d" % stub.server_address[1]], wait=WAIT_S,
            report_interval=1, backoff_base_ms=BASE_MS, backoff_cap_ms=CAP_MS)
WINDOW = 14.0
a.start(wait_started=True)
time.sleep(WINDOW)
rc = a.stop()
stub.shutdown()
stub.server_close()
K.check(rc == 0, "agent exit status %s" % rc)
polls = stub.times_of("GET", "/v1/agent/desired")
reports = stub.times_of("POST", "/v1/agent/report")
delays = logged_delays(a, 0)
gaps = check_gaps("503 polls", polls, delays)
# the first delays are full-jitter draws under their ceilings 0.4, 0.8,
# 1.6 s; from the 4th failure on the budget refuses retries: a long-poll
# wait (>= 0.8 x 5 s), far above the report interval the old loop kept to
for i, d in enumerate(delays[:RETRIES]):
    K.check(d <= min(CAP_MS, BASE_MS * 2 ** i) / 1000.0 + 0.001,
            "delay %d is %.3f s, above its ceiling" % (i + 1, d))
K.check(len(gaps) > RETRIES and min(gaps[RETRIES:]) >= 0.8 * WAIT_S - TOL,
        "once the retry budget is spent, polls must wait a long-poll period: gaps %s"
        % ["%.2f" % g for g in gaps])
K.check(max(gaps) > max(gaps[:2]) and max(gaps) > 3 * 1.2,
        "the gaps must grow beyond the report interval: %s" % ["%.2f" % g for g in gaps])
K.check(len(polls) <= max_attempts(WINDOW),
        "%d polls in %.0f s against a failing server (at most %d expected)"
        % (len(polls), WINDOW, max_attempts(WINDOW)))
check_reports("503 reports", reports, WINDOW)
print("503 server: %d polls and %d reports in %.0f s" % (len(polls), len(reports), WINDOW))
passed += 1

# ---------------------------------------------------------------- 2-4. a real server
with harness.Server() as s:
    toks = K.setup_fleet(s, ["c1"])
    signer = K.Signer.from_server(s)
    px = K.Proxy(s.port)
    a = K.Agent(root, "h1", "c1", toks["c1"], signer.pubhex, [px.url], wait=WAIT_S,
                report_interval=1, backoff_base_ms=BASE_MS, backoff_cap_ms=CAP_MS)
    nfeat = [60]

    def good_change():
        nfeat[0] += 1
        v, b = K.publish(s, harness.features(nfeat[0]))
        g = K.assign(s, v, ["c1"])
        return v, g, b

    def converge(v, g, b, timeout=40):
        K.wait_for(lambda: a.content() == b and a.held() == (v, g), timeout,
                   "agent to apply v%d g%d; log tail:\n%s" % (v, g, a.logtext()[-3000:]))

    lkg = good_change()
    a.start(wait_started=True)
    converge(*lkg)

    def failing_blob(what, setup):
        """Publishes a change whose blob keeps failing (setup(px) breaks
        it) for a window, then heals the proxy; returns the new lkg."""
        off = len(a.logtext())
        t0 = time.monotonic()
        setup(px)
        v, g, b = good_change()
        window = 15.0
        time.sleep(window)
        sha = K.sha256(b)
        fetches = px.times_of("/v1/blobs/" + sha, since=t0)
        delays = logged_delays(a, off)
        K.check(a.content() == lkg[2] and a.held() == lkg[:2],
                "%s: the last-known-good must stay" % what)
        # a budget spent by the previous case leaves room for only 2-3
        # fetches (>= 4 s apart) in the window
        check_gaps(what, fetches, delays, min_n=1)
        K.check(len(fetches) <= max_attempts(window),
                "%s: blob fetched %d times in %.0f s (at most %d expected)"
                % (what, len(fetches), window, max_attempts(window)))
        check_reports(what + " reports", px.times_of("/v1/agent/report", "POST", since=t0),
                      window)
        print("%s: %d fetches of the blob in %.0f s" % (what, len(fetches), window))
        px.reset()
        converge(v, g, b)
        return v, g, b

    def blob_500(p):
        p.blob_status = 500

    def blob_mismatch(p):
        p.rewrite_blob = lambda sha, data: data.replace(b"f000", b"fXXX")

    lkg = failing_blob("blob 500", blob_500)
    passed += 1
    lkg = failing_blob("blob sha256 mismatch", blob_mismatch)
    passed += 1

    # 4. a validly signed version that violates the contract (doubled)
    doubled = K.canon(harness.features(2 * nfeat[0]))
    dsha = K.sha256(doubled)
    px.blobs[dsha] = doubled
    forged = {}

    def forge(doc):
        for asg in doc["assignments"]:
            if asg["config"] == "features":
                g, v = asg["generation"] + 1, asg["version"] + 1
                csha = asg["statement"]["statement"]["contract_sha256"]
                asg.update({"generation": g, "version": v, "sha256": dsha})
                asg["statement"] = signer.statement("c1", "features", v, dsha, g, csha)
                forged.update(generation=g, version=v)
        return doc

    px.rewrite_desired = forge

    def refused():
        c = (a.state() or {}).get("configs", {}).get("features", {})
        return forged and c.get("rejected_generation") == forged["generation"] and c

    c = K.wait_for(refused, 30, "the refusal in state.json; log tail:\n" + a.logtext()[-2000:])
    K.check(c.get("rejected_version") == forged["version"]
            and c.get("rejected_reason") == "contract_violation",
            "state.json must say which version was refused and why: %s" % c)
    K.check(a.content() == lkg[2] and a.held() == lkg[:2], "the last-known-good must stay")
    n_before = len(px.times_of("/v1/blobs/" + dsha))
    K.check(n_before >= 1, "the doubled blob was never fetched")
    rc = a.stop()
    K.check(rc == 0, "agent exit status %s" % rc)
    off = len(a.logtext())
    t_restart = time.monotonic()
    a.start(wait_started=True)
    K.wait_for(lambda: "was refused before (contract_violation)" in a.logtext()[off:], 20,
               "the restarted agent to load the refusal")
    # several poll cycles with the same signed, refused generation on offer
    K.wait_for(lambda: len(px.times_of("/v1/agent/desired", since=t_restart)) >= 4, 30,
               "four polls after the restart")
    K.check(len(px.times_of("/v1/blobs/" + dsha)) == n_before,
            "the restarted agent fetched the refused blob again (%d fetches, %d before)"
            % (len(px.times_of("/v1/blobs/" + dsha)), n_before))
    K.check(a.content() == lkg[2] and a.held() == lkg[:2], "the last-known-good must stay")
    c = (a.state() or {}).get("configs", {}).get("features", {})
    K.check(c.get("rejected_generation") == forged["generation"], "refusal lost: %s" % c)
    # liveness: the next honest generation (past the forged number) applies
    px.reset()
    K.assign(s, lkg[0], ["c1"])  # burn the forged generation number
    v, g, b = good_change()
    converge(v, g, b)
    passed += 1

    rc = a.stop()
    K.check(rc == 0, "agent exit status %s" % rc)
    px.close()

K.rmtree(root)
harness.done("30-agent/07-backoff", passed)
