#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/demo-ha.sh BUILD_DIR - the high-availability demo behind `make demo-ha`.
#
# Starts a throwaway PostgreSQL (scripts/pg-local.sh: 127.0.0.1, an
# ephemeral port, as the 'postgres' user when run as root), three cellgated
# replicas on it (init once, the signing key copied to each, serve with
# --store and a 3 s leader lease), and cellgate-sim with 180 hosts spread
# over the three (--server URL1,URL2,URL3), then with the real CLI:
#   1. a config, a plan of four waves with short bakes, a rollout started
#   2. in the middle of the rollout, SIGKILL of the leader; the takeover as
#      GET /v1/cluster shows it: old leader and term, new leader and term,
#      seconds from the kill
#   3. the rollout completing under the new leader (cellgate rollout watch),
#      every host on the new version (the hosts of the dead replica failed
#      over to the next one)
#   4. the killed replica back as a follower; the audit log verified through
#      a surviving replica
# Everything it starts is stopped by PID (trap, also on Ctrl-C); every wait
# is bounded. Finishes in under a minute; exits 0 when the story went as told.
set -euo pipefail

BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SERVER_BIN=$BUILD/server/cellgated
CLI_BIN=$BUILD/cli/cellgate
SIM_BIN=$BUILD/sim/cellgate-sim
PG_LOCAL=$ROOT/scripts/pg-local.sh
for b in "$SERVER_BIN" "$CLI_BIN" "$SIM_BIN"; do
  [ -x "$b" ] || { echo "demo-ha: $b is missing; run 'make build' first" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "demo-ha: python3 is needed" >&2; exit 2; }

TTL_MS=3000   # the leader lease: renewed every 1 s, a dead leader replaced within 4 s
REPLICAS=(a b c)
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/cellgate-demo-ha.XXXXXX")
# PostgreSQL runs as 'postgres' when we are root: it must get through $DEMO
# to its own directory (o+x, no listing; the files here are 0600).
chmod 711 "$DEMO"
PG_DIR=$DEMO/pg
declare -A PID PORT
SIM_PID=""
PG_STARTED=""
T0=$(date +%s)

# ---- presentation ------------------------------------------------------------
if [ -t 1 ]; then
  B=$'\e[1m'; D=$'\e[2m'; G=$'\e[32m'; R=$'\e[31m'; C=$'\e[36m'; N=$'\e[0m'
else
  B=""; D=""; G=""; R=""; C=""; N=""
fi
step_no=0
heading() {
  step_no=$((step_no + 1))
  printf '\n%s== %d. %s ==%s\n' "$B" "$step_no" "$1" "$N"
}
say() { printf '%s\n' "$*" | fold -s -w 78; }
note() { printf '%s%s%s\n' "$D" "$*" "$N"; }
ok() { printf '%s✔ %s%s\n' "$G" "$*" "$N"; }
bad() { printf '%s✘ %s%s\n' "$R" "$*" "$N"; }
# The command line as a user would type it (cg -> cellgate, quoted args).
shown() {
  local out="" a
  for a in "$@"; do
    [ "$a" = cg ] && [ -z "$out" ] && a=cellgate
    case "$a" in *[[:space:]]*) a="\"$a\"" ;; esac
    out="$out${out:+ }$a"
  done
  printf '%s$ %s%s\n' "$C" "$out" "$N"
}
# Shows a command, then runs it with its output indented.
run() {
  shown "$@"
  "$@" 2>&1 | sed 's/^/    /'
  return "${PIPESTATUS[0]}"
}
# Like run, but shows only the first N lines of the output.
run_head() { # N command...
  local n=$1 out rc=0
  shift
  shown "$@"
  out=$("$@" 2>&1) || rc=$?
  printf '%s\n' "$out" | sed -n "1,${n}s/^/    /p"
  if [ "$(printf '%s\n' "$out" | wc -l)" -gt "$n" ]; then
    note "    ..."
  fi
  return "$rc"
}
cg() { "$CLI_BIN" "$@"; }

die() {
  bad "$*"
  note "logs: $DEMO/*.log (one per replica), $DEMO/sim.log, $PG_DIR/postgres.log"
  exit 1
}

# ---- stop everything we started, by PID ----------------------------------------
stop_pid() { # pid
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  local rc=$? r
  trap - INT TERM
  stop_pid "$SIM_PID"
  for r in "${REPLICAS[@]}"; do stop_pid "${PID[$r]:-}"; done
  if [ -n "$PG_STARTED" ]; then
    bash "$PG_LOCAL" stop "$PG_DIR" || true
    rm -rf "$PG_DIR/data" # the database files (owned by postgres); the log stays
  fi
  [ "$rc" = 0 ] || note "stopped everything the demo started; logs are in $DEMO"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # seconds description command...
  local secs=$1 what=$2 i
  shift 2
  for i in $(seq 1 $((secs * 10))); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  die "timed out after ${secs}s waiting for $what"
}

now() { date +%s.%N; }
secs_since() { python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$(now)"; }

# cluster_json URL: GET /v1/cluster through one replica (the CLI's --json).
cluster_json() { "$CLI_BIN" --server "$1" --timeout 2000 --json cluster status 2>/dev/null; }
# cluster_field URL EXPR: a Python expression over the answer `d`.
cluster_field() {
  cluster_json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$2"
}

printf '%scellgate HA demo%s: three replicas on PostgreSQL, the leader killed mid-rollout\n' "$B" "$N"
note "working directory: $DEMO"

# ---- PostgreSQL ----------------------------------------------------------------------
heading "Start PostgreSQL"
say "A throwaway PostgreSQL cluster in $PG_DIR, listening on 127.0.0.1 only (the way the tests start theirs; as root it runs as the 'postgres' user)."
shown scripts/pg-local.sh start "$PG_DIR"
PG_STARTED=1
read -r PG_PORT PG_PID < <(bash "$PG_LOCAL" start "$PG_DIR") || die "PostgreSQL did not start"
[ -n "${PG_PID:-}" ] || die "PostgreSQL did not start"
DSN=$(bash "$PG_LOCAL" createdb "$PG_DIR" cellgate) || die "createdb failed"
PG_VERSION=$(psql -X -A -t -d "$DSN" -c 'SHOW server_version' 2>/dev/null | cut -d' ' -f1) || true
ok "PostgreSQL ${PG_VERSION:-} (pid $PG_PID) on 127.0.0.1:$PG_PORT, database $DSN"

# ---- replicas --------------------------------------------------------------------------
heading "Three cellgated replicas on one store"
say "'init --store' creates the schema, the first admin token and the signing key once. Every replica gets a copy of the key (agents pin one key) and serves the whole API; one of them leads the rollout controller under a lease of ${TTL_MS} ms, renewed every third of it. Every controller write carries the lease's term and the database refuses a stale one."
shown cellgated init --store "$DSN" --data "$DEMO/a"
"$SERVER_BIN" init --store "$DSN" --data "$DEMO/a" >"$DEMO/init.out" 2>&1 ||
  { cat "$DEMO/init.out" >&2; die "init --store failed"; }
# the token is a secret: shown abridged, kept in a 0600 file
sed 's/^\(admin token[^:]*: *cg_....\).*/\1… (kept in admin.token)/; s/^/    /' "$DEMO/init.out"
TOKEN=$(sed -n 's/^admin token[^:]*: *//p' "$DEMO/init.out")
[ -n "$TOKEN" ] || die "no admin token printed by init"
printf '%s\n' "$TOKEN" >"$DEMO/admin.token"
chmod 600 "$DEMO/admin.token"
export CELLGATE_TOKEN=$TOKEN
for r in b c; do
  mkdir -p "$DEMO/$r"
  cp "$DEMO/a/signing.key" "$DEMO/$r/"
done
shown cp "$DEMO/a/signing.key" "$DEMO/b/"
shown cp "$DEMO/a/signing.key" "$DEMO/c/"

# start_replica ID: serve on an ephemeral port; sets PID[ID] and PORT[ID].
start_replica() {
  local r=$1
  rm -f "$DEMO/$r.port"
  "$SERVER_BIN" serve --store "$DSN" --data "$DEMO/$r" --replica-id "$r" \
    --lease-ttl-ms "$TTL_MS" --tick-ms 250 --listen 127.0.0.1:0 --port-file "$DEMO/$r.port" \
    >>"$DEMO/$r.out" 2>>"$DEMO/$r.log" </dev/null &
  PID[$r]=$!
  wait_for 20 "replica $r to listen" test -s "$DEMO/$r.port"
  PORT[$r]=$(cat "$DEMO/$r.port")
}
url() { echo "http://127.0.0.1:${PORT[$1]}"; }
for r in "${REPLICAS[@]}"; do
  shown cellgated serve --store "$DSN" --data "$DEMO/$r" --replica-id "$r" --lease-ttl-ms "$TTL_MS" --tick-ms 250
  start_replica "$r"
done
for r in "${REPLICAS[@]}"; do ok "replica $r (pid ${PID[$r]}) listens on $(url "$r")"; done
wait_for 15 "one leader and three live replicas" sh -c \
  "'$CLI_BIN' --server '$(url b)' --json cluster status 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if d[\"leader\"] and len(d[\"replicas\"]) == 3 else 1)'"
run cg --server "$(url b)" cluster status || die "cluster status failed"
LEADER=$(cluster_field "$(url b)" 'd["leader"]')
TERM1=$(cluster_field "$(url b)" 'd["term"]')
ok "replica $LEADER leads the controller, term $TERM1; asked through replica b, every replica gives the same answer"

# ---- the fleet -----------------------------------------------------------------------
heading "A simulated fleet on all three replicas"
SIM_SERVERS="$(url a),$(url b),$(url c)"
say "cellgate-sim runs 180 hosts (3 regions x 3 zones x 4 cells x 5 hosts), each speaking the real agent protocol. With --server URL1,URL2,URL3 host i starts on replica i mod 3 and moves to the next replica when its own stops answering, as the agent does with several 'server' entries. A report sent to any replica reaches the leader's gates (the replicas relay reports through the database)."
shown cellgate-sim --server "$SIM_SERVERS" --regions 3 --zones 3 --cells 4 --hosts 5 --report-ms 1000 ...
"$SIM_BIN" --server "$SIM_SERVERS" --regions 3 --zones 3 --cells 4 --hosts 5 --rps 200 \
  --report-ms 1000 --wait 20 --apply-delay-ms 300 --startup-ms 1000 --summary-ms 5000 \
  --monitor-ms 500 --token-prefix demo-ha --json-out "$DEMO/sim.json" --json-every-ms 500 \
  --ready-file "$DEMO/sim.ready" >"$DEMO/sim.out" 2>"$DEMO/sim.log" </dev/null &
SIM_PID=$!
wait_for 30 "every simulated host to poll once" test -e "$DEMO/sim.ready"
ok "cellgate-sim (pid $SIM_PID): $(sed -n 's/^cellgate-sim: \(.* hosts in .*\) ->.*/\1/p' "$DEMO/sim.log" | head -1), 60 on each replica"

# ---- config, plan, rollout -------------------------------------------------------------
heading "A config, a plan with four waves, a rollout"
# Operator commands go to replica b until it matters which one answers.
export CELLGATE_SERVER
CELLGATE_SERVER=$(url b)
cat >"$DEMO/contract.json" <<'EOF'
{
  "media_type": "application/json",
  "schema": { "type": "object", "required": ["features"],
              "properties": { "features": { "type": "array",
                  "items": { "type": "object", "required": ["name", "type"] } } } },
  "max_bytes": 1048576,
  "cardinality": [ { "pointer": "/features", "min": 1, "max": 200 } ]
}
EOF
cat >"$DEMO/plan.json" <<'EOF'
{
  "waves": [
    { "name": "canary", "cells": 1,     "bake_s": 3, "min_requests": 2000 },
    { "name": "zone",   "percent": 12,  "bake_s": 3, "min_requests": 4000 },
    { "name": "half",   "percent": 50,  "bake_s": 2 },
    { "name": "rest",   "percent": 100, "bake_s": 2 }
  ],
  "max_zones_per_region": 1,
  "gates": {
    "error_rate": { "max": 0.05, "max_ratio": 2.0, "min_delta": 0.005 },
    "latency_p99_ms": { "max_ratio": 1.5, "min_delta": 20 },
    "max_apply_failures": 0,
    "min_converged": 1.0
  },
  "stuck_timeout_s": 90, "on_stuck": "rollback", "on_gate_failure": "rollback"
}
EOF
run cat "$DEMO/plan.json"
note "    (bake times of seconds for the demo; production plans bake for tens of minutes)"
run cg config create bot-features --kind config --contract "$DEMO/contract.json" >/dev/null ||
  die "config create failed"
run cg plan set ha-plan "$DEMO/plan.json" >/dev/null || die "plan set failed"
run cg config set-plan bot-features ha-plan >/dev/null || die "config set-plan failed"
python3 - >"$DEMO/v1.json" <<'EOF'
import json
print(json.dumps({"features": [{"name": "feature-%03d" % i, "type": "bool"} for i in range(60)],
                  "limits": {"max_features": 200}}, indent=1))
EOF
run cg publish bot-features "$DEMO/v1.json" -m "60 features" || die "publish failed"
shown cg rollout start bot-features 1 -m "first feature file"
ID=$(cg --json rollout start bot-features 1 -m "first feature file" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || die "rollout start failed"
# rollout_field EXPR: a Python expression over GET /v1/rollouts/ID (`d`).
rollout_field() {
  "$CLI_BIN" --timeout 2000 --json rollout status "$ID" 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
STEPS=$(rollout_field 'd["steps_total"]')
ok "rollout $ID started: $STEPS steps; replica $LEADER's controller moves it"

# ---- kill the leader -------------------------------------------------------------------
heading "Kill the leader in the middle of the rollout"
KILL_AT_STEP=3
say "Waiting until the rollout reaches step $KILL_AT_STEP of $STEPS, then SIGKILL of replica $LEADER: no clean stop, no lease released. The other replicas see its lease run out and one of them takes it with a new term."
# ("step" in the JSON counts from 0)
wait_for 60 "rollout $ID to reach step $KILL_AT_STEP" sh -c \
  "[ \"\$('$CLI_BIN' --timeout 2000 --json rollout status $ID 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"step\"] + 1 >= $KILL_AT_STEP or d[\"state\"] != \"running\")')\" = True ]"
[ "$(rollout_field 'd["state"]')" = running ] || die "the rollout ended before the kill: $(rollout_field 'd["state"]')"
run_head 2 cg rollout status "$ID"
SURVIVORS=()
for r in "${REPLICAS[@]}"; do [ "$r" = "$LEADER" ] || SURVIVORS+=("$r"); done
ASK=${SURVIVORS[0]}

# One watcher, started before the kill: GET /v1/cluster through the
# survivors every 50 ms (one process: a CLI and a Python per poll would
# take longer than that on a busy machine), a line per change of
# (leader, term): "EPOCH_S LEADER|- TERM ACQUIRED|-". Ends at a new leader
# or after 40 s.
python3 - "$LEADER" "${PORT[$ASK]}" "${PORT[${SURVIVORS[1]}]}" >"$DEMO/takeover.log" 2>&1 <<'EOF' &
import http.client, json, os, sys, time
old, ports = sys.argv[1], sys.argv[2:]
hdr = {"Authorization": "Bearer " + os.environ["CELLGATE_TOKEN"]}
last, deadline = None, time.time() + 40
while time.time() < deadline:
    for port in ports:
        try:
            c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=1)
            c.request("GET", "/v1/cluster", headers=hdr)
            d = json.loads(c.getresponse().read())
            c.close()
        except (OSError, ValueError, http.client.HTTPException):
            continue
        key = (d["leader"], d["term"])
        if key != last:
            print("%.3f %s %s %s" % (time.time(), d["leader"] or "-", d["term"],
                                     (d["lease"] or {}).get("acquired") or "-"), flush=True)
            last = key
        if d["leader"] and d["leader"] != old:
            sys.exit(0)
        break
    time.sleep(0.05)
sys.exit(1)
EOF
WATCH_PID=$!
wait_for 10 "the takeover watcher's first answer" test -s "$DEMO/takeover.log"
printf '%s$ kill -KILL %s%s   %s# replica %s, the leader (term %s)%s\n' "$C" "${PID[$LEADER]}" "$N" "$D" "$LEADER" "$TERM1" "$N"
KILL_T=$(now)
kill -KILL "${PID[$LEADER]}"
wait "${PID[$LEADER]}" 2>/dev/null || true
PID[$LEADER]=""
note "    watching GET /v1/cluster through replicas ${SURVIVORS[*]} every 50 ms"
wait "$WATCH_PID" || die "no replica took the lease within 40 s"
# The new term began at the lease's "acquired" (the database's clock, the
# same machine's clock here): its distance from the kill is the takeover.
read -r NEW TERM2 NULL_SEEN NEW_SEEN TOOK ACQ_HMS < <(python3 - "$KILL_T" "$DEMO/takeover.log" <<'EOF'
import datetime, sys
kill = float(sys.argv[1])
rows = [l.split() for l in open(sys.argv[2]) if l.strip()]
null = [float(r[0]) - kill for r in rows if r[1] == "-" and float(r[0]) >= kill]
t, leader, term, acq = rows[-1]
a = datetime.datetime.strptime(acq, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(leader, term, "%.2f" % null[0] if null else "-", "%.2f" % (float(t) - kill),
      "%.2f" % (a.timestamp() - kill), a.astimezone().strftime("%H:%M:%S.%f")[:-3])
EOF
)
[ -n "${NEW:-}" ] && [ "$NEW" != "$LEADER" ] || die "no new leader in $DEMO/takeover.log"
TTL_S=$(echo "scale=1; $TTL_MS / 1000" | bc)
BOUND_S=$(echo "scale=1; $TTL_MS * 4 / 3000" | bc)
printf '    %-18s %s\n' \
  "old leader:" "$LEADER, term $TERM1, killed at $(date -d "@$KILL_T" +%T.%3N)" \
  "no leader:" "$([ "$NULL_SEEN" = - ] && echo "not seen between two polls" || echo "from $NULL_SEEN s after the kill: the lease ran out, nobody holds it yet")" \
  "new leader:" "$NEW, term $TERM2, lease acquired at $ACQ_HMS (database clock); seen after $NEW_SEEN s" \
  "takeover:" "$TOOK s after the kill" \
  "bound:" "lease ttl $TTL_S s + one renewal period $(echo "scale=1; $TTL_MS / 3000" | bc) s = $BOUND_S s"
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$TOOK" "$BOUND_S"; then
  ok "replica $NEW leads the controller, term $TERM2 (was $LEADER, term $TERM1): $TOOK s after the kill, within the $BOUND_S s bound"
else
  bad "replica $NEW leads, term $TERM2, but $TOOK s after the kill: more than the $BOUND_S s bound (a busy machine?)"
fi
run cg --server "$(url "$ASK")" cluster status || true
say "Replica $NEW's log:"
grep -h 'cluster:' "$DEMO/$NEW.log" | tail -n 2 | sed 's/^/    /'

# ---- the rollout completes -------------------------------------------------------------
heading "The rollout completes under the new leader"
CELLGATE_SERVER=$(url "$ASK")
say "The new leader reads the rollout from the database and goes on from the step it was in: the bake time already served counts, nothing is assigned twice. The 60 hosts of replica $LEADER found it gone and moved to the next replica."
printf '%s$ cellgate rollout watch %s%s   %s# through replica %s%s\n' "$C" "$ID" "$N" "$D" "$ASK" "$N"
set +e
timeout 120 "$CLI_BIN" rollout watch "$ID" --interval 1000 2>&1 | tee "$DEMO/watch.out" | sed 's/^/    /'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || die "the rollout did not complete (watch exit $rc)"
ok "rollout $ID completed: every cell runs version 1"
wait_for 20 "every simulated host to run v1" sh -c \
  "python3 -c 'import json,sys; d=json.load(open(\"$DEMO/sim.json\")); \
   v=[x for x in d[\"versions\"] if x[\"version\"]==1]; sys.exit(0 if v and v[0][\"hosts_now\"]==180 else 1)'"
FAILOVERS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["agents"]["failovers"])' "$DEMO/sim.json")
ok "all 180 simulated hosts run version 1; $FAILOVERS hosts moved to another replica after the kill (cellgate-sim's agents.failovers)"
say "The rollout's events around the takeover: nothing moves between the kill and the new term; then the new leader goes on."
# The watch printed every event (second resolution); the same events in the
# JSON carry milliseconds, to place the kill and the new term among them.
"$CLI_BIN" --json rollout status "$ID" >"$DEMO/rollout.json" 2>/dev/null || true
python3 - "$DEMO/watch.out" "$DEMO/rollout.json" "$KILL_T" "$LEADER" "$TERM1" "$TOOK" "$NEW" "$TERM2" <<'EOF'
import json, re, sys, time
watch, rj, kill, old, t1, took, new, t2 = sys.argv[1:9]
kill = float(kill)
lines = [m.group(2) for m in (re.match(r"\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)  (.*)", l)
                              for l in open(watch)) if m]
try:
    ms = [e["time_ms"] / 1000.0 for e in json.load(open(rj))["events"]]
except (OSError, ValueError, KeyError):
    ms = []
if len(ms) != len(lines):
    sys.exit(0)  # cannot place them exactly: say nothing rather than something wrong
rows = [(t, "   " + text) for t, text in zip(ms, lines)]
rows += [(kill, "-- replica %s, the leader (term %s), killed" % (old, t1)),
         (kill + float(took), "-- replica %s leads, term %s" % (new, t2))]
rows.sort(key=lambda r: r[0])
first = max(0, [i for i, r in enumerate(rows) if r[0] >= kill][0] - 3)
for t, text in rows[first:first + 10]:
    print("    %s.%03d %s" % (time.strftime("%H:%M:%S", time.localtime(t)), int(t % 1 * 1000),
                            text[:100]))
EOF

# ---- the killed replica returns ---------------------------------------------------------
heading "The killed replica comes back as a follower"
say "Restarted under the same id after its term ended, replica $LEADER joins the list again and follows: the lease stays with $NEW."
shown cellgated serve --store "$DSN" --data "$DEMO/$LEADER" --replica-id "$LEADER" --lease-ttl-ms "$TTL_MS" --tick-ms 250
start_replica "$LEADER"
wait_for 15 "replica $LEADER in the list of replicas" sh -c \
  "'$CLI_BIN' --server '$(url "$LEADER")' --json cluster status 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if len(d[\"replicas\"]) == 3 and d[\"this\"][\"last_ok_age_ms\"] >= 0 else 1)'"
run cg --server "$(url "$LEADER")" cluster status || true
[ "$(cluster_field "$(url "$LEADER")" 'd["leader"]')" = "$NEW" ] || die "the lease moved again"
ok "replica $LEADER (pid ${PID[$LEADER]}) follows; $NEW still leads, term $TERM2"

# ---- audit -------------------------------------------------------------------------------
heading "The audit log, through a surviving replica"
say "Every change above is one hash-chained audit record written in the same transaction as the change, whichever replica made it; a change of leader is audited too (lease.acquire, with the old and the new holder)."
printf '%s$ cellgate --json audit | (the lease.acquire records)%s\n' "$C" "$N"
cg --json audit --limit 1000 | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["action"] != "lease.acquire":
        continue
    b = json.loads(r["before"]) if r["before"] else None
    a = json.loads(r["after"])
    print("    seq %-4d %s  %s: %s -> %s, term %d (ttl %d ms)" % (
        r["seq"], r["time"][11:23], r["object"],
        "%s, term %d" % (b["holder"], b["term"]) if b else "nobody", a["holder"], a["term"],
        a.get("ttl_ms", 0)))' || true
printf '%s$ cellgate audit verify%s   %s# through replica %s%s\n' "$C" "$N" "$D" "$ASK" "$N"
cg audit verify 2>&1 | sed 's/^/    /'
[ "${PIPESTATUS[0]}" = 0 ] || die "the audit chain does not verify"
ok "the chain verifies from the first record"

# ---- done --------------------------------------------------------------------------------
heading "Done"
stop_pid "$SIM_PID"
SIM_PID=""
for r in "${REPLICAS[@]}"; do
  stop_pid "${PID[$r]}"
  PID[$r]=""
done
bash "$PG_LOCAL" stop "$PG_DIR"
rm -rf "$PG_DIR/data"
PG_STARTED=""
say "Stopped cellgate-sim, the three replicas and PostgreSQL. The demo took $(($(date +%s) - T0)) s."
say "Logs are in $DEMO (a.log, b.log, c.log, sim.log, pg/postgres.log); the database files were removed. Remove $DEMO when you are done."
