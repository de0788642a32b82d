# SPDX-License-Identifier: MIT
"""Issue 17, identical changes and `rollback` without --to
(docs/plans.md "Rollback without --to", docs/contracts.md "Identical
publishes"):

- a publish of bytes identical to the live or the latest version is refused
  with 409 "identical to version N" and no audit record, unless
  allow_identical (`cellgate publish --allow-identical`);
- a rollout to a version every cell is already assigned is refused with 409
  ("already assigned to every cell");
- `rollback` without --to before any completed rollout is refused, after
  the first completed rollout (from_version 0) is refused with a message
  saying what to do, and after a later one returns the cells to the
  version that rollout started from, saying which version it chose.
Synthetic reports from one healthy host per cell drive the gates."""
import json, os, sys, threading, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

n = 0
SLOW = 3 if h.SANITIZED else 1
CELLS = ["c1", "c2", "c3"]


class Fleet(threading.Thread):
    """One host per cell, every 50 ms: the cell's assignment as applied,
    with healthy traffic."""

    def __init__(self, s):
        super().__init__(daemon=True)
        self.s, self.stop, self.seq = s, threading.Event(), 0

    def run(self):
        while not self.stop.is_set():
            try:
                st, b = self.s.api("GET", "/v1/configs/app/assignments")
                cur = {a["cell"]: a for a in b["assignments"]} if st == 200 else {}
                self.seq += 1
                for c in CELLS:
                    a = cur.get(c)
                    cfgs = [] if not a else [{"config": "app", "version": a["version"],
                                              "generation": a["generation"], "outcome": "applied",
                                              "lkg_version": a["version"],
                                              "lkg_generation": a["generation"]}]
                    self.s.api("POST", "/v1/agent/report", {
                        "host": "h-" + c, "cell": c, "seq": self.seq, "window_ms": 50,
                        "configs": cfgs, "health": {"requests": 40, "errors": 0}})
            except (OSError, TypeError, AttributeError, KeyError):
                pass
            self.stop.wait(0.05)


def wait_state(s, rid, state, timeout=30 * SLOW):
    end = time.time() + timeout
    b = None
    while time.time() < end:
        st, b = s.api("GET", "/v1/rollouts/%d" % rid)
        h.check(st == 200, "status %s %s" % (st, b))
        if b["state"] == state:
            return b
        time.sleep(0.1)
    h.fail("rollout %d never reached %s; last %s" % (rid, state, json.dumps(b)[:1500]))


def assigned(s):
    st, b = s.api("GET", "/v1/configs/app/assignments")
    h.check(st == 200, "assignments %s" % b)
    return sorted(a["version"] for a in b["assignments"])


def audit_count(s):
    return len(h.audit_all(s))


def publish(s, doc, query=""):
    st, _, b = s.request("POST", "/v1/configs/app/versions?message=m" + query, json.dumps(doc))
    return st, json.loads(b)


def rollout(s, version):
    st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": version, "reason": "t"})
    h.check(st == 201, "rollout to %d: %s %s" % (version, st, b))
    return wait_state(s, b["id"], "completed")


with h.Server(extra_args=["--tick-ms", "50"]) as s:
    fleet = Fleet(s)
    for c in CELLS:
        h.check(s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z" + c})[0] == 201, c)
    s.api("PUT", "/v1/plans/p", {"waves": [{"name": "all", "percent": 100, "bake_s": 0}]})
    h.check(s.api("POST", "/v1/configs", {"name": "app", "contract": {}, "plan": "p"})[0] == 201,
            "config")
    fleet.start()
    try:
        # identical publishes: refused, nothing audited; allowed on request
        st, b = publish(s, {"v": 1})
        h.check(st == 201 and b["number"] == 1, "publish v1 %s %s" % (st, b))
        before = audit_count(s)
        st, b = publish(s, {"v": 1})
        h.check(st == 409 and b["error"]["code"] == "identical"
                and "identical to version 1" in b["error"]["message"]
                and b["error"]["details"]["existing_version"] == 1,
                "identical publish: %s %s" % (st, b))
        h.check(audit_count(s) == before, "a refused publish is not audited")
        r = s.cli("publish", "app", "-", "-m", "again", input=json.dumps({"v": 1}))
        h.check(r.returncode != 0 and "identical to version 1" in r.stderr,
                "cli identical: %d %s %s" % (r.returncode, r.stdout, r.stderr))
        n += 1
        st, b = publish(s, {"v": 1}, "&allow_identical=maybe")
        h.check(st == 400, "allow_identical=maybe: %s %s" % (st, b))
        r = s.cli("publish", "app", "-", "-m", "on purpose", "--allow-identical",
                  input=json.dumps({"v": 1}))
        h.check(r.returncode == 0 and "version 2" in r.stdout, "cli --allow-identical %s %s"
                % (r.stdout, r.stderr))
        h.check(audit_count(s) == before + 1, "the allowed publish is audited")
        n += 1

        # rollback without --to before any completed rollout
        st, b = s.api("POST", "/v1/configs/app/rollback", {"reason": "nothing yet"})
        h.check(st == 409 and b["error"]["code"] == "nothing_to_roll_back",
                "rollback before any rollout: %s %s" % (st, b))

        # the first rollout cannot be undone without --to
        first = rollout(s, 1)
        h.check(first["from_version"] == 0, "first rollout from 0: %s" % first)
        h.check(assigned(s) == [1, 1, 1], "all on 1: %s" % assigned(s))
        st, b = s.api("POST", "/v1/rollouts", {"config": "app", "version": 1, "reason": "again"})
        h.check(st == 409 and "already assigned to every cell" in b["error"]["message"],
                "rollout to an assigned version: %s %s" % (st, b))
        st, b = s.api("POST", "/v1/configs/app/rollback", {"reason": "undo first"})
        h.check(st == 409 and b["error"]["code"] == "first_rollout"
                and "--to" in b["error"]["message"] and "first" in b["error"]["message"],
                "rollback of the first rollout: %s %s" % (st, b))
        r = s.cli("rollback", "app", "-m", "undo first")
        h.check(r.returncode != 0 and "started from no live version" in r.stderr,
                "cli rollback of the first rollout: %d %s" % (r.returncode, r.stderr))
        n += 1

        # publish 3, roll it out; rollback without --to goes back to 1
        st, b = publish(s, {"v": 3})
        h.check(st == 201 and b["number"] == 3, "publish v3 %s %s" % (st, b))
        second = rollout(s, 3)
        h.check(second["from_version"] == 1, "second rollout from 1: %s" % second)
        h.check(assigned(s) == [3, 3, 3], "all on 3: %s" % assigned(s))
        r = s.cli("rollback", "app", "-m", "undo three")
        h.check(r.returncode == 0 and "chose version 1" in r.stdout
                and "rollout %d" % second["id"] in r.stdout,
                "cli rollback: %d %s %s" % (r.returncode, r.stdout, r.stderr))
        back = s.api("GET", "/v1/rollouts?config=app")[1]["rollouts"][0]
        h.check(back["kind"] == "rollback" and back["to_version"] == 1, "rollback %s" % back)
        wait_state(s, back["id"], "completed")
        h.check(assigned(s) == [1, 1, 1], "all back on 1: %s" % assigned(s))
        n += 1

        # and undo again flips to 3 (the from_version of the rollback)
        st, b = s.api("POST", "/v1/configs/app/rollback", {"reason": "redo"})
        h.check(st == 201 and b["to_version"] == 3 and b["undoes_rollout"] == back["id"],
                "undo of the rollback: %s %s" % (st, b))
        wait_state(s, b["id"], "completed")
        h.check(assigned(s) == [3, 3, 3], "all on 3 again: %s" % assigned(s))
        n += 1
    finally:
        fleet.stop.set()
        fleet.join(5)
h.done("undo-identical", n)
