#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/demo.sh BUILD_DIR - the guided demo behind `make demo`.
#
# Starts cellgated (embedded SQLite store in a temporary directory) and
# cellgate-sim (3 regions x 3 zones x 4 cells x 5 hosts, speaking the real
# agent protocol), then walks through the product with the real CLI:
#   1. a config with a Cloudflare-style contract, and a plan with short bakes
#   2. a good version rolled out wave by wave (cellgate rollout watch)
#   3. a doubled feature file: refused at publish, nothing rolled out
#   4. a valid but bad version: caught by the first wave's gate and rolled
#      back by the controller; blast radius and detection time from the sim
#   then the audit log verified, and the drills of the config's safety net
#   (a production-like plan passes them; plan check catches a wide first wave)
#   5. the audit log, and its verification
# Everything it starts is stopped by PID (trap); every wait is bounded.
# Finishes in well under 3 minutes; exits 0 when the story went as told.
set -euo pipefail

BUILD=${1:-build}
BUILD=$(cd "$BUILD" && pwd)
SERVER_BIN=$BUILD/server/cellgated
CLI_BIN=$BUILD/cli/cellgate
SIM_BIN=$BUILD/sim/cellgate-sim
for b in "$SERVER_BIN" "$CLI_BIN" "$SIM_BIN"; do
  [ -x "$b" ] || { echo "demo: $b is missing; run 'make build' first" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "demo: python3 is needed" >&2; exit 2; }

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/cellgate-demo.XXXXXX")
DATA=$DEMO/data
mkdir -p "$DATA"
SERVER_PID=""
SIM_PID=""
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
  # sed reads all of it: "head" would exit early and, under pipefail, a
  # long output would end the demo with SIGPIPE (141) from printf
  printf '%s\n' "$out" | sed -n "1,${n}s/^/    /p"
  if [ "$(printf '%s\n' "$out" | wc -l)" -gt "$n" ]; then
    note "    ..."
  fi
  return "$rc"
}
cg() { "$CLI_BIN" "$@"; }

die() {
  bad "$*"
  note "server log: $DATA/server.log   sim log: $DEMO/sim.log"
  exit 1
}

# ---- stop everything we started, by PID ----------------------------------------
stop_pid() { # pid name
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
  local rc=$?
  stop_pid "$SIM_PID"
  stop_pid "$SERVER_PID"
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

printf '%scellgate demo%s: safe configuration change on a simulated fleet\n' "$B" "$N"
note "working directory: $DEMO"

# ---- the server ------------------------------------------------------------------
heading "Start the control plane"
say "cellgated keeps its state in an embedded SQLite store in $DATA. The rollout controller ticks every 250 ms here so the demo is quick."
"$SERVER_BIN" serve --data "$DATA" --listen 127.0.0.1:0 --port-file "$DEMO/port" \
  --tick-ms 250 >"$DEMO/server.out" 2>"$DATA/server.log" </dev/null &
SERVER_PID=$!
wait_for 20 "cellgated to listen" test -s "$DEMO/port"
wait_for 10 "the admin token" grep -q 'listening on' "$DEMO/server.out"
PORT=$(cat "$DEMO/port")
TOKEN=$(sed -n 's/^admin token[^:]*: *//p' "$DEMO/server.out")
[ -n "$TOKEN" ] || die "no admin token printed"
printf '%s\n' "$TOKEN" >"$DEMO/admin.token"
chmod 600 "$DEMO/admin.token"
export CELLGATE_SERVER=http://127.0.0.1:$PORT CELLGATE_TOKEN=$TOKEN
ok "cellgated (pid $SERVER_PID) listens on $CELLGATE_SERVER"

# ---- the fleet ---------------------------------------------------------------------
heading "Start a simulated fleet"
say "cellgate-sim runs 180 hosts in one process: 3 regions x 3 zones x 4 cells x 5 hosts. Each host speaks the real agent protocol: it long-polls its cell's desired state, verifies the signed statement, checks the document against the contract itself, applies it and reports its health every second. Each host serves ~200 requests/s; errors and latency depend on the version it runs."
"$SIM_BIN" --regions 3 --zones 3 --cells 4 --hosts 5 --rps 200 --report-ms 1000 \
  --wait 20 --apply-delay-ms 300 --startup-ms 1000 --summary-ms 5000 --monitor-ms 500 \
  --token-prefix demo --json-out "$DEMO/sim.json" --json-every-ms 500 \
  --ready-file "$DEMO/sim.ready" >"$DEMO/sim.out" 2>"$DEMO/sim.log" </dev/null &
SIM_PID=$!
wait_for 30 "every simulated host to poll once" test -e "$DEMO/sim.ready"
ok "cellgate-sim (pid $SIM_PID): $(sed -n 's/^cellgate-sim: \(.* hosts in .*\) ->.*/\1/p' "$DEMO/sim.log" | head -1)"
run_head 5 cg cells

# ---- 1. contract and plan ----------------------------------------------------------
heading "A config with a contract, and a plan"
say "bot-features is a feature file every proxy loads, like the one in the Cloudflare outage of 2025-11-18. Its contract bounds the list (at most 200 features) and its growth against the live version (x1.5, +40 at most), and says /limits must not disappear."
cat >"$DEMO/contract.json" <<'EOF'
{
  "media_type": "application/json",
  "schema": { "type": "object", "required": ["features"],
              "properties": { "features": { "type": "array",
                  "items": { "type": "object", "required": ["name", "type"] } } } },
  "max_bytes": 1048576,
  "cardinality": [ { "pointer": "/features", "min": 1, "max": 200 } ],
  "growth": [ { "pointer": "/features", "max_ratio": 1.5, "max_abs": 40 },
              { "pointer": "", "max_ratio": 2.0 } ],
  "preserve": [ "/limits" ]
}
EOF
cat >"$DEMO/plan.json" <<'EOF'
{
  "waves": [
    { "name": "canary",  "cells": 1,      "bake_s": 4, "min_requests": 2000 },
    { "name": "zone",    "percent": 12,   "bake_s": 3, "min_requests": 4000 },
    { "name": "rest",    "percent": 100,  "bake_s": 2 }
  ],
  "max_zones_per_region": 1,
  "gates": {
    "error_rate": { "max": 0.05, "max_ratio": 2.0, "min_delta": 0.005 },
    "latency_p99_ms": { "max_ratio": 1.5, "min_delta": 20 },
    "max_apply_failures": 0,
    "min_converged": 1.0
  },
  "stuck_timeout_s": 60, "on_stuck": "rollback", "on_gate_failure": "rollback"
}
EOF
run cat "$DEMO/plan.json"
note "    (bake times of seconds for the demo; production plans bake for tens of minutes)"
run cg config create bot-features --kind config --contract "$DEMO/contract.json" >/dev/null ||
  die "config create failed"
run cg plan set demo-plan "$DEMO/plan.json" >/dev/null || die "plan set failed"
run cg config set-plan bot-features demo-plan >/dev/null || die "config set-plan failed"
say "How the plan splits the fleet: each step bakes and is gated, and a wave never spans two zones of a region. (Which cells come first is drawn per config and version, so the rollout below may start elsewhere.)"
run_head 16 cg plan preview demo-plan --config bot-features || die "plan preview failed"

# Generates a feature file: features N [sim-json]
features() {
  python3 - "$@" <<'EOF'
import json, sys
n = int(sys.argv[1])
doc = {"features": [{"name": "feature-%03d" % i, "type": "bool"} for i in range(n)],
       "limits": {"max_features": 200}}
if len(sys.argv) > 2:
    doc["sim"] = json.loads(sys.argv[2])
print(json.dumps(doc, indent=1))
EOF
}
# Starts a rollout and prints its id.
start_rollout() { # version reason
  cg --json rollout start bot-features "$1" -m "$2" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
# Reads a field of the sim's JSON report with a Python expression over `d`.
simjson() {
  python3 - "$DEMO/sim.json" "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], {"d": d}))
EOF
}

# ---- 2. a good change ------------------------------------------------------------------
heading "Publish a good version and roll it out"
features 60 >"$DEMO/v1.json"
run cg publish bot-features "$DEMO/v1.json" -m "60 features" || die "publish v1 failed"
ID1=$(start_rollout 1 "first feature file") || die "rollout start failed"
ok "rollout $ID1 started; the controller moves it wave by wave"
say "Each step waits for its bake time, its minimum requests and every host of its cells to report the new generation, and compares the step's health with cells still on the old version."
printf '%s$ cellgate rollout watch %s%s\n' "$C" "$ID1" "$N"
set +e
timeout 90 "$CLI_BIN" rollout watch "$ID1" --interval 1000 2>&1 | sed 's/^/    /'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || die "the good rollout did not complete (watch exit $rc)"
ok "rollout $ID1 completed: every cell runs version 1"
wait_for 15 "every simulated host to run v1" \
  sh -c "grep -q 'bot-features v1: 180 |' '$DEMO/sim.log' || \
         python3 -c 'import json,sys; d=json.load(open(\"$DEMO/sim.json\")); \
         v=[x for x in d[\"versions\"] if x[\"version\"]==1]; sys.exit(0 if v and v[0][\"hosts_now\"]==180 else 1)'"
run_head 8 cg status bot-features

# ---- 3. the doubled file -----------------------------------------------------------------
heading "Publish a doubled feature file"
say "A generator bug doubles the file: 120 features instead of 60. In 2025 this is what crashed proxies around the world within minutes. Here the server checks the contract at publish and refuses it, listing every violation."
features 120 >"$DEMO/doubled.json"
set +e
run cg publish bot-features "$DEMO/doubled.json" -m "regenerated features"
rc=$?
set -e
[ "$rc" = 1 ] || die "the doubled file was not refused (exit $rc)"
ok "refused (exit 1): nothing was stored, nothing is rolled out"
run cg versions bot-features
run cg rollout list --open

# ---- 4. a valid but bad change ----------------------------------------------------------------
heading "Publish a valid but bad version"
say "62 features: within every contract bound, so it is published. But it is bad: hosts that run it fail 8% of their requests (the simulator reads that from the document's \"sim\" object, the stand-in for a real bug). Only the controller's health gates can catch this."
features 62 '{"error_rate": 0.08}' >"$DEMO/v2.json"
run cg publish bot-features "$DEMO/v2.json" -m "two more features" || die "publish v2 failed"
ID2=$(start_rollout 2 "two more features") || die "rollout start failed"
ok "rollout $ID2 started"
printf '%s$ cellgate rollout watch %s%s\n' "$C" "$ID2" "$N"
set +e
timeout 90 "$CLI_BIN" rollout watch "$ID2" --interval 1000 2>&1 | sed 's/^/    /'
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 1 ] || die "the bad rollout was not stopped (watch exit $rc)"
wait_for 20 "the sim to see the rollback end" sh -c \
  "python3 -c 'import json,sys; d=json.load(open(\"$DEMO/sim.json\")); \
   r=[x for x in d[\"rollouts\"] if x[\"id\"]==$ID2]; \
   sys.exit(0 if r and r[0][\"state\"]==\"rolled_back\" and \
   r[0][\"blast_radius\"][\"last_host_left_at\"] else 1)'"
STATE=$(simjson "[r for r in d['rollouts'] if r['id']==$ID2][0]['state']")
[ "$STATE" = rolled_back ] || die "rollout $ID2 ended $STATE, expected rolled_back"
ok "the first wave's gate failed and the controller rolled version 2 back"

say ""
say "${B}Blast radius${N}, as the simulated fleet measured it:"
python3 - "$DEMO/sim.json" "$ID2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
r = [x for x in d["rollouts"] if x["id"] == int(sys.argv[2])][0]
b = r["blast_radius"]
print("    cells that ever ran v2:   %d of %d  (%s)" % (b["cells_count"], d["fleet"]["cells"],
                                                      ", ".join(b["cells"])))
print("    hosts that ever ran v2:   %d of %d" % (b["hosts"], d["fleet"]["hosts"]))
print("    only first-wave cells:    %s" % ("yes" if b["only_first_step_cells"] else
                                            "NO: " + ", ".join(b["cells_outside_first_step"])))
print("    requests served by v2:    %d (%d failed)" % (b["requests"], b["errors"]))
print("    share of fleet requests:  %.2f%% while v2 was out, %.3f%% of the whole run"
      % (100 * b["share_of_fleet_requests"], 100 * b["share_of_run"]))
print("    detected:                 %.1f s after the rollout started (%.1f s after publish)"
      % (r["time_to_detect_s"], r["time_to_detect_from_publish_s"]))
print("    rollback complete:        %.1f s after the start (every host back on v1)"
      % r["time_to_end_of_rollback_s"])
print("    why:                      %s" % r["reason"])
EOF
note "    (from $DEMO/sim.json, written by cellgate-sim --json-out)"
say "Without staging, all 180 hosts would have run v2 within seconds."

# ---- 5. audit -------------------------------------------------------------------------------
heading "The audit log"
say "Every change above, by people and by the controller, is one hash-chained audit record written in the same transaction as the change."
printf '%s$ cellgate audit%s\n' "$C" "$N"
note "    ... (the last 14 records)"
cg audit --limit 1000 | tail -n 14 | sed 's/^/    /'
run cg audit verify || die "the audit chain does not verify"
ok "the chain verifies from the first record"

# ---- 6. drills ------------------------------------------------------------------------------
heading "Drills: does the safety net still catch a bad change?"
say "A drill runs the config's real contract, plan and policy on a copy of this fleet (36 cells, their zones and host counts) with the real controller and gates, in virtual time; production is never touched. Here with the plan a production fleet would use (bakes of 15 to 30 minutes):"
cat >"$DEMO/production.json" <<'EOF2'
{ "waves": [ { "name": "canary", "cells": 1, "bake_s": 900, "min_requests": 2000 },
             { "name": "zone", "percent": 12, "bake_s": 1800, "min_requests": 4000 },
             { "name": "rest", "percent": 100, "bake_s": 600 } ],
  "gates": { "error_rate": { "max": 0.05, "max_ratio": 2.0, "min_delta": 0.005 } },
  "stuck_timeout_s": 3600, "on_stuck": "halt", "on_gate_failure": "rollback" }
EOF2
cg plan set production "$DEMO/production.json" >/dev/null || die "plan set failed"
run cg drill run bot-features --plan production || die "a drill of the production plan failed"
ok "every scenario passed: recorded (cellgate drill status), audited, in /metrics"
say "plan check runs the same drills for a proposed plan before anyone uses it. A plan that lets its first wave take eight cells over two zones of a region (max_zones_per_region 2) puts a bad version on both zones at once:"
cat >"$DEMO/wide.json" <<'EOF2'
{ "waves": [ { "name": "canary", "cells": 8, "bake_s": 900, "min_requests": 2000 },
             { "name": "rest", "percent": 100, "bake_s": 600 } ],
  "max_zones_per_region": 2,
  "gates": { "error_rate": { "max": 0.05, "max_ratio": 2.0, "min_delta": 0.005 } },
  "stuck_timeout_s": 3600, "on_gate_failure": "rollback" }
EOF2
run cg plan check "$DEMO/wide.json" --config bot-features --scenario known-bad &&
  die "plan check passed a first wave over two zones"
ok "the wide first wave was caught before anyone used it (and nothing was stored)"

# ---- done ------------------------------------------------------------------------------------
heading "Done"
stop_pid "$SIM_PID"
SIM_PID=""
stop_pid "$SERVER_PID"
SERVER_PID=""
say "Stopped cellgate-sim and cellgated. The demo took $(($(date +%s) - T0)) s."
say "The server's files (store, signing key, log) are in $DATA; the admin token is in $DEMO/admin.token; the simulator's report is $DEMO/sim.json. Remove $DEMO when you are done."
