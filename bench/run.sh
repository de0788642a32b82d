#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh BUILD_DIR [name...]: cellgate benchmarks against their peers.
# Called by `make bench` (which builds first). Never part of `make test`.
#
#   bench/run.sh build                 every benchmark in BENCHES
#   bench/run.sh build publish         one benchmark (bench_publish)
#   BENCH_DURATION=5s bench/run.sh build publish
#   BENCH_PERF=1 bench/run.sh build publish   + perf profile of cellgated
#
# Prints machine facts, then one line per figure, and writes every figure
# (with its peer figure and the ratio) to bench/results/latest.json.
#
# Adding a benchmark: write bench_NAME() below (start what it needs with the
# helpers in bench/lib.sh, record with `fig`, print with `figure_line`) and
# append NAME to BENCHES. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export BENCH_DIR="$ROOT/bench" # publish.lua finds report.lua through it
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD="$ROOT/$BUILD"
shift || true

BENCHES=(publish publish_pg validate controller poll fanout killswitch flags fanout_replicas3 wake_nonwriter rss safety storm failover ui_render backup correlate drills)
DUR=${BENCH_DURATION:-10s}
RESULTS="$BENCH_DIR/results/latest.json"

# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"

SUMMARY=()
# figure_line LINE: print a figure line now and again in the final summary.
figure_line() {
  say "$1"
  SUMMARY+=("$1")
}

# perf_start PID / perf_stop NAME: optional CPU profile (BENCH_PERF=1).
PERF_PID=""
perf_start() {
  [[ ${BENCH_PERF:-0} == 1 ]] || return 0
  command -v perf >/dev/null || { note "perf not installed; no profile"; return 0; }
  perf record -q -F 499 -g -p "$1" -o "$BENCH_TMP/perf.data" -- sleep "${DUR%s}" 2>/dev/null &
  PERF_PID=$!
  track_pid "$PERF_PID"
}
perf_stop() {
  [[ -n $PERF_PID ]] || return 0
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  say "--- perf profile ($1, top self-time symbols) ---"
  # (|| true: head closing the pipe must not stop the run under pipefail)
  perf report -i "$BENCH_TMP/perf.data" --stdio --no-children --sort symbol 2>/dev/null |
    grep -E '^ +[0-9]' | head -25 || true
  say "--- perf profile ($1, by shared object) ---"
  perf report -i "$BENCH_TMP/perf.data" --stdio --no-children --sort dso 2>/dev/null |
    grep -E '^ +[0-9]' | head -10 || true
}

# ---------------------------------------------------------------------------
# publish: cellgated publish (validate + store with fsync + audit) vs etcd put.
# 2 KB documents, 16 connections, 2 wrk threads, $DUR, round-robin over 16
# configs so compare-and-set conflicts on the live version stay rare.
# ---------------------------------------------------------------------------
PUBLISH_CONFIGS=16
PUBLISH_CONTRACT='{
  "media_type": "application/json",
  "schema": {
    "type": "object",
    "required": ["service", "revision", "routes", "limits"],
    "properties": {
      "service": {"type": "string", "minLength": 1, "maxLength": 63},
      "revision": {"type": "integer", "minimum": 0},
      "cell": {"type": "string"},
      "routes": {"type": "array", "items": {
        "type": "object", "required": ["prefix", "upstream", "timeout_ms"],
        "properties": {
          "prefix": {"type": "string", "pattern": "^/"},
          "upstream": {"type": "string"},
          "timeout_ms": {"type": "integer", "minimum": 1, "maximum": 60000},
          "retries": {"type": "integer", "minimum": 0, "maximum": 5}}}},
      "limits": {"type": "object", "required": ["max_conns"],
        "properties": {"max_conns": {"type": "integer", "minimum": 1}}}}},
  "max_bytes": 65536,
  "cardinality": [{"pointer": "/routes", "min": 1, "max": 64}],
  "growth": [{"pointer": "/routes", "max_ratio": 1.5, "max_abs": 8},
             {"pointer": "", "max_ratio": 2.0}],
  "preserve": ["/limits"]
}'

# etcd_put_phase: the peer of both publish figures, fresh, the peer folder's
# own script and settings. The disk is the bottleneck of both, so its
# fdatasync latency is probed before each phase. Sets ETCD_LINE, ETCD_DISK.
etcd_put_phase() {
  ETCD_DISK=$(fsync_probe "$BENCH_TMP")
  start_etcd
  local m0 m1
  m0=$(etcd_fsyncs)
  ETCD_LINE=$(cd "$PEERS" && VSIZE=2048 TAG=etcd_put_v2048 PEERS_DIR="$PEERS" \
    run_wrk "$BENCH_TMP/etcd_put.txt" "$ETCD_PID" \
    -t2 -c16 -d"$DUR" --latency -s etcd_put.lua http://127.0.0.1:23790/v3/kv/put)
  m1=$(etcd_fsyncs)
  ETCD_COMMITS=$(($(kv "$m1" n) - $(kv "$m0" n)))
  ETCD_FSYNC_S=$(awk -v a="$(kv "$m0" s)" -v b="$(kv "$m1" s)" 'BEGIN {printf "%.3f", b - a}')
  say "$ETCD_LINE"
  stop_etcd
}

# etcd_fsyncs: "n=COUNT s=SECONDS" of etcd's WAL fsyncs so far (its
# /metrics histogram etcd_disk_wal_fsync_duration_seconds): one per batch
# of entries raft makes durable, etcd's group commit.
etcd_fsyncs() {
  curl -s http://127.0.0.1:23790/metrics |
    awk '/^etcd_disk_wal_fsync_duration_seconds_count/ {n=$2} /^etcd_disk_wal_fsync_duration_seconds_sum/ {s=$2}
         END {printf "n=%d s=%.6f", n, s}'
}

# cg_commits: "n=COMMITS s=SECONDS" of cellgated's store so far (/metrics:
# cellgate_store_commit_seconds; a group commit counts once).
cg_commits() {
  curl -s -H "Authorization: Bearer $CG_TOKEN" "$CG_URL/metrics" |
    awk '/^cellgate_store_commit_seconds_count/ {n=$2} /^cellgate_store_commit_seconds_sum/ {s=$2}
         END {printf "n=%d s=%.6f", n, s}'
}

# publish_populate: on CG_URL, 16 configs with the contract above and one
# seed version each (so every measured publish also runs the growth checks
# against a live version).
publish_populate() {
  local cfg i code seed
  for ((i = 0; i < PUBLISH_CONFIGS; i++)); do
    cfg=$(printf 'bench-%02d' "$i")
    code=$(cg_api POST /v1/configs "{\"name\":\"$cfg\",\"kind\":\"config\",\"contract\":$PUBLISH_CONTRACT}")
    [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "create $cfg: HTTP $code"; }
    seed=$(python3 -c 'import json,sys
r=[{"prefix":"/api/v1/svc-%02d"%i,"upstream":"svc-%02d.internal:8443"%i,"timeout_ms":250*i,"retries":2} for i in range(1,9)]
d={"service":"edge-proxy","revision":0,"cell":sys.argv[1],"routes":r,"limits":{"max_conns":1000,"max_rps":20000,"burst":400}}
s=json.dumps(d,separators=(",",":")); print(s[:-1]+",\"pad\":\""+"x"*(2048-len(s)-10)+"\"}")' "$cfg")
    code=$(cg_api POST "/v1/configs/$cfg/versions" "$seed")
    [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "seed $cfg: HTTP $code"; }
  done
}

# publish_stored: the versions CG_URL holds over all configs (or "unknown").
publish_stored() {
  local code
  code=$(cg_api GET /v1/configs)
  python3 -c 'import json,sys; print(sum(c["latest_version"] for c in json.load(open(sys.argv[1]))["configs"]))' \
    "$BENCH_TMP/resp" 2>/dev/null || echo unknown
}

bench_publish() {
  local etcd_line cg_line stored
  say "== publish_2kb_c16: cellgated publish vs etcd 3.4 put (2 KB, 16 conns, $DUR) =="

  local etcd_disk cg_disk
  etcd_put_phase
  etcd_line=$ETCD_LINE etcd_disk=$ETCD_DISK

  # cellgated: fresh data dir, 16 configs, one seed version each.
  start_cellgated "$BUILD" "$BENCH_TMP/cg-publish"
  publish_populate

  cg_disk=$(fsync_probe "$BENCH_TMP")
  local c0 c1 cg_commits cg_commit_s
  c0=$(cg_commits)
  perf_start "$CG_PID"
  cg_line=$(CG_TOKEN=$CG_TOKEN BENCH_THREADS=2 NCONFIGS=$PUBLISH_CONFIGS \
    DOC_BYTES=2048 TAG=cellgate_publish_2kb_c16 \
    run_wrk "$BENCH_TMP/cg_publish.txt" "$CG_PID" \
    -t2 -c16 -d"$DUR" --latency -s "$BENCH_DIR/publish.lua" "$CG_URL/")
  c1=$(cg_commits)
  cg_commits=$(($(kv "$c1" n) - $(kv "$c0" n)))
  cg_commit_s=$(awk -v a="$(kv "$c0" s)" -v b="$(kv "$c1" s)" 'BEGIN {printf "%.3f", b - a}')
  say "$cg_line"
  perf_stop publish

  # Cross-check: versions stored = seeds + 201s counted by wrk.
  stored=$(publish_stored)
  local data_kb
  data_kb=$(du -sk "$BENCH_TMP/cg-publish" | cut -f1)
  stop_pid "$CG_PID"
  if grep -qiE 'error|warn|fail' "$CG_LOG"; then
    say "--- cellgated log (errors/warnings, last 10) ---"
    grep -iE 'error|warn|fail' "$CG_LOG" | tail -10
  fi

  local cg_rps etcd_rps cg_ok not_ok sock errors
  cg_rps=$(kv "$cg_line" rps)
  cg_ok=$(kv "$cg_line" ok)
  etcd_rps=$(kv "$etcd_line" rps)
  not_ok=$(kv "$cg_line" not_ok)
  sock=$(($(kv "$cg_line" err_connect) + $(kv "$cg_line" err_read) + $(kv "$cg_line" err_write) + $(kv "$cg_line" err_timeout)))
  errors=$((not_ok + sock))
  # wrk stops with up to one request per connection in flight, which the
  # server still completes: stored - seeds - 201s must be within [0, 16].
  local extra=unknown dup
  dup=$(kv "$cg_line" dup201)
  if [[ $stored != unknown ]]; then
    extra=$((stored - PUBLISH_CONFIGS - cg_ok))
    ((extra >= 0 && extra <= 16)) ||
      say "WARNING: server stored $((stored - PUBLISH_CONFIGS)) versions but wrk counted $cg_ok 201s (expected 0..16 more stored)"
  fi
  [[ ${dup:-0} == 0 ]] || say "WARNING: $dup 201 responses named a version number already returned"

  figure_line "publish_2kb_c16 cellgate_rps=$cg_rps etcd_rps=$etcd_rps ratio=$(ratio "$cg_rps" "$etcd_rps") p50_ms=$(kv "$cg_line" p50_ms) p99_ms=$(kv "$cg_line" p99_ms) errors=$errors non201=$not_ok codes=$(kv "$cg_line" codes) etcd_p50_ms=$(kv "$etcd_line" p50_ms) etcd_p99_ms=$(kv "$etcd_line" p99_ms) cg_cpu_s=$(kv "$cg_line" server_cpu_s) etcd_cpu_s=$(kv "$etcd_line" server_cpu_s) cg_write_kb_per_op=$(ratio "$(kv "$cg_line" server_write_kb)" "$cg_ok" 1) etcd_write_kb_per_op=$(ratio "$(kv "$etcd_line" server_write_kb)" "$(kv "$etcd_line" req)" 1) disk_fsync_p50_ms=$(kv "$cg_disk" p50_ms)/$(kv "$etcd_disk" p50_ms) cg_per_commit=$(ratio "$cg_ok" "$cg_commits" 1) etcd_per_fsync=$(ratio "$(kv "$etcd_line" req)" "$ETCD_COMMITS" 1) cg_commit_ms=$(ratio "$(echo "$cg_commit_s * 1000" | bc)" "$cg_commits" 3) etcd_fsync_ms=$(ratio "$(echo "$ETCD_FSYNC_S * 1000" | bc)" "$ETCD_COMMITS" 3)"

  fig publish_2kb_c16 \
    "what=publish of ~2 KB JSON documents (contract check + fsync'd store + audit), 16 connections, round-robin over $PUBLISH_CONFIGS configs" \
    "load=wrk -t2 -c16 -d$DUR --latency -s bench/publish.lua" \
    "rps=$cg_rps" "ok_201=$cg_ok" "requests=$(kv "$cg_line" req)" "non201=$not_ok" \
    "codes=$(kv "$cg_line" codes)" "socket_errors=$sock" \
    "p50_ms=$(kv "$cg_line" p50_ms)" "p90_ms=$(kv "$cg_line" p90_ms)" "p99_ms=$(kv "$cg_line" p99_ms)" \
    "p999_ms=$(kv "$cg_line" p999_ms)" "max_ms=$(kv "$cg_line" max_ms)" \
    "server_cpu_s=$(kv "$cg_line" server_cpu_s)" "server_write_kb=$(kv "$cg_line" server_write_kb)" "versions_stored=$stored" "stored_minus_201s=$extra" \
    "dup201=$dup" "data_dir_kb=$data_kb" \
    "disk_fdatasync_p50_ms=$(kv "$cg_disk" p50_ms)" "disk_fdatasync_p99_ms=$(kv "$cg_disk" p99_ms)" \
    "peer.disk_fdatasync_p50_ms=$(kv "$etcd_disk" p50_ms)" "peer.disk_fdatasync_p99_ms=$(kv "$etcd_disk" p99_ms)" \
    "peer.name=etcd $(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p') v3 gateway PUT /v3/kv/put" \
    "peer.load=VSIZE=2048 wrk -t2 -c16 -d$DUR --latency -s etcd_put.lua (peers folder)" \
    "peer.rps=$etcd_rps" "peer.requests=$(kv "$etcd_line" req)" \
    "peer.p50_ms=$(kv "$etcd_line" p50_ms)" "peer.p99_ms=$(kv "$etcd_line" p99_ms)" \
    "peer.errors=$(($(kv "$etcd_line" err_connect) + $(kv "$etcd_line" err_read) + $(kv "$etcd_line" err_write) + $(kv "$etcd_line" err_status) + $(kv "$etcd_line" err_timeout)))" \
    "peer.server_cpu_s=$(kv "$etcd_line" server_cpu_s)" "peer.server_write_kb=$(kv "$etcd_line" server_write_kb)" \
    "commits=$cg_commits" "commit_s=$cg_commit_s" "peer.wal_fsyncs=$ETCD_COMMITS" "peer.wal_fsync_s=$ETCD_FSYNC_S" \
    "ratio=$(ratio "$cg_rps" "$etcd_rps")" "ratio_of=cellgate rps / etcd rps"
}

# ---------------------------------------------------------------------------
# validate: contract check of a 1 MiB document (bench/bench_validate.c).
# No peer; the figure is compared with the 20 ms goal.
# ---------------------------------------------------------------------------
bench_validate() {
  local bin="$BUILD/bench/bench_validate" out line med p99 goal ok
  say "== validate_1mib: contract check of a 1 MiB document =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  out=$(timeout 300 "$bin" 2>"$BENCH_TMP/validate.err") || { cat "$BENCH_TMP/validate.err" >&2; die "bench_validate failed"; }
  sed 's/^/  /' "$BENCH_TMP/validate.err"
  say "$out"
  line=$(grep '^validate_1mib ' <<<"$out" | head -1)
  [[ -n $line ]] || die "bench_validate printed no validate_1mib line"
  med=$(kv "$line" median_ms)
  p99=$(kv "$line" p99_ms)
  goal=$(kv "$line" goal_ms)
  goal=${goal:-20}
  ok=no
  [[ $(echo "$p99 <= $goal" | bc) == 1 ]] && ok=yes
  figure_line "validate_1mib median_ms=$med p99_ms=$p99 goal_ms=$goal ok=$ok"
  fig validate_1mib "what=cg_contract_check of a ~1 MiB document, live version prepared (bench/bench_validate.c)" \
    "bytes=$(kv "$line" bytes)" "median_ms=$med" "p99_ms=$p99" "goal_ms=$goal" "ok=$ok" "ok_rule=p99_ms <= goal_ms"
  line=$(grep '^validate_1mib_cold ' <<<"$out" | head -1 || true)
  if [[ -n $line ]]; then
    fig validate_1mib "cold.median_ms=$(kv "$line" median_ms)" "cold.p99_ms=$(kv "$line" p99_ms)"
  fi
}

# ---------------------------------------------------------------------------
# controller: one rollout-controller tick for 1,000 cells, 50 open rollouts
# and 10,000 hosts' reports, in-process with an injected clock
# (bench/bench_controller.c). No peer; the figure is compared with the 5 ms
# goal of issue 4. CONTROLLER_TICKS sets how many ticks are timed.
# ---------------------------------------------------------------------------
CONTROLLER_TICKS=${CONTROLLER_TICKS:-200}

bench_controller() {
  local bin="$BUILD/bench/bench_controller" out line med p99 max goal ok ev wr ls ing
  say "== controller_tick: 1,000 cells, 50 open rollouts, 10,000 hosts ($CONTROLLER_TICKS ticks) =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  out=$(TMPDIR="$BENCH_TMP" timeout 3600 "$bin" "$CONTROLLER_TICKS" 2>"$BENCH_TMP/controller.err") ||
    { cat "$BENCH_TMP/controller.err" >&2; die "bench_controller failed"; }
  sed 's/^/  /' "$BENCH_TMP/controller.err"
  say "$out"
  line=$(grep '^controller_tick ' <<<"$out" | head -1)
  [[ -n $line ]] || die "bench_controller printed no controller_tick line"
  med=$(kv "$line" median_ms)
  p99=$(kv "$line" p99_ms)
  max=$(kv "$line" max_ms)
  goal=$(kv "$line" goal_ms)
  goal=${goal:-5}
  ok=no
  [[ $(echo "$p99 <= $goal" | bc) == 1 ]] && ok=yes
  ev=$(grep '^controller_tick_eval_only ' <<<"$out" | head -1 || true)
  wr=$(grep '^controller_tick_with_writes ' <<<"$out" | head -1 || true)
  ls=$(grep '^store_list_open_rollouts ' <<<"$out" | head -1 || true)
  ing=$(grep '^report_ingest ' <<<"$out" | head -1 || true)
  figure_line "controller_tick cells=$(kv "$line" cells) rollouts=$(kv "$line" rollouts) hosts=$(kv "$line" hosts) median_ms=$med p99_ms=$p99 max_ms=$max goal_ms=$goal ok=$ok eval_only_median_ms=$(kv "$ev" median_ms) with_writes_median_ms=$(kv "$wr" median_ms) report_ingest_per_s=$(kv "$ing" reports_per_s)"
  fig controller_tick "what=controller_tick() over 50 open rollouts baking in different waves (1..250 cells on the new version), 1,000 cells, gates over 10,000 hosts' reports (bench/bench_controller.c)" \
    "cells=$(kv "$line" cells)" "rollouts=$(kv "$line" rollouts)" "hosts=$(kv "$line" hosts)" "ticks=$(kv "$line" ticks)" \
    "median_ms=$med" "p99_ms=$p99" "max_ms=$max" "goal_ms=$goal" "ok=$ok" "ok_rule=p99_ms <= goal_ms" \
    "eval_only.ticks=$(kv "$ev" ticks)" "eval_only.median_ms=$(kv "$ev" median_ms)" "eval_only.p99_ms=$(kv "$ev" p99_ms)" \
    "with_writes.ticks=$(kv "$wr" ticks)" "with_writes.median_ms=$(kv "$wr" median_ms)" "with_writes.max_ms=$(kv "$wr" max_ms)" \
    "store_list_open_rollouts.median_ms=$(kv "$ls" median_ms)" "store_list_open_rollouts.p99_ms=$(kv "$ls" p99_ms)"
  if [[ -n $ing ]]; then
    fig report_ingest "what=reports_ingest() of one host report (25 configs, health with a 23-bucket histogram and 2 metrics), 10,000 hosts every 10 s of simulated time (bench/bench_controller.c)" \
      "reports_per_s=$(kv "$ing" reports_per_s)" "reports=$(kv "$ing" reports)" \
      "configs_per_report=$(kv "$ing" configs_per_report)" "series=$(kv "$ing" series)"
  fi
}

# ---------------------------------------------------------------------------
# Agent path (docs/api/agent.md; docs/design.md "Hot paths"): poll, fan-out, RSS.
# ---------------------------------------------------------------------------
AGENT_CONTRACT='{"media_type":"application/json","schema":{"type":"object","required":["service","revision"]},"max_bytes":65536}'

# agent_setup DIR NCELLS MIN_BODY: fresh cellgated with NCELLS cells
# (cell-0000..), configs agent-cfg-0.. each with versions 1 and 2 and v1
# assigned to every cell, added until the desired-state body of a cell is
# >= MIN_BODY bytes (each assignment carries a signed statement, ~600 bytes),
# and one agent token per cell. Sets AG_CONFIG (the config the fan-out
# re-assigns), AG_CELL, AG_TOKEN (cell-0000's agent token), AG_ETAG (its
# quoted ETag), AG_BODY_BYTES, AG_NCONFIGS, AG_TOKENS (file: "cell token").
agent_setup() {
  start_cellgated "$BUILD" "$1"
  agent_populate "$@"
}

# agent_populate DIR NCELLS MIN_BODY: the same on the server of CG_URL and
# CG_TOKEN (already running; DIR names the tokens file DIR.tokens).
agent_populate() {
  local dir=$1 ncells=$2 min_body=$3 i k cell cells="" code cfg tok
  for ((i = 0; i < ncells; i++)); do
    cell=$(printf 'cell-%04d' "$i")
    code=$(cg_api POST /v1/cells "{\"id\":\"$cell\",\"region\":\"bench-1\",\"zone\":\"bench-1a\"}")
    [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "create cell $cell: HTTP $code"; }
    cells+="${cells:+,}\"$cell\""
  done
  AG_CELL="cell-0000"
  AG_CONFIG=agent-cfg-0
  AG_BODY_BYTES=0
  for ((k = 0; k < 8; k++)); do
    cfg=agent-cfg-$k
    code=$(cg_api POST /v1/configs "{\"name\":\"$cfg\",\"kind\":\"config\",\"contract\":$AGENT_CONTRACT}")
    [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "create $cfg: HTTP $code"; }
    for i in 1 2; do
      code=$(cg_api POST "/v1/configs/$cfg/versions" "{\"service\":\"edge-proxy\",\"revision\":$i}")
      [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "publish $cfg v$i: HTTP $code"; }
    done
    code=$(cg_api POST "/v1/configs/$cfg/assign" "{\"version\":1,\"cells\":[$cells],\"force\":true,\"reason\":\"bench setup\"}")
    [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "assign $cfg: HTTP $code"; }
    code=$(cg_api GET "/v1/agent/desired?cell=$AG_CELL")
    [[ $code == 200 ]] || { cat "$BENCH_TMP/resp" >&2; die "desired $AG_CELL: HTTP $code"; }
    AG_BODY_BYTES=$(wc -c <"$BENCH_TMP/resp")
    AG_NCONFIGS=$((k + 1))
    ((AG_BODY_BYTES >= min_body)) && break
  done
  AG_TOKENS="$dir.tokens"
  : >"$AG_TOKENS"
  for ((i = 0; i < ncells; i++)); do
    cell=$(printf 'cell-%04d' "$i")
    code=$(cg_api POST /v1/tokens "{\"name\":\"agent-$cell\",\"role\":\"agent\",\"cell\":\"$cell\"}")
    [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "agent token for $cell: HTTP $code"; }
    tok=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$BENCH_TMP/resp")
    printf '%s %s\n' "$cell" "$tok" >>"$AG_TOKENS"
  done
  AG_TOKEN=$(awk 'NR==1 {print $2}' "$AG_TOKENS")
  AG_ETAG=$(curl -sS -D - -o /dev/null -H "Authorization: Bearer $AG_TOKEN" \
    "$CG_URL/v1/agent/desired?cell=$AG_CELL" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}')
  [[ -n $AG_ETAG ]] || die "no ETag on GET /v1/agent/desired"
}

# raise_nofile N: soft RLIMIT_NOFILE of this shell (and so of cellgated and
# bench_fanout started from it) to at least N; false if the hard limit is lower.
raise_nofile() {
  (($(ulimit -Sn) >= $1)) && return 0
  (($(ulimit -Hn) >= $1)) || return 1
  ulimit -Sn "$(ulimit -Hn)"
}

# ---------------------------------------------------------------------------
# poll: GET /v1/agent/desired answered 304 (If-None-Match = current ETag)
# and 200 (~2 KB body) vs nginx serving a 2 KB static file (304 / 200) and
# etcd's serializable gateway range read of a 2 KB value. wrk -t2 -c64.
# ---------------------------------------------------------------------------
bench_poll() {
  local ng_304 ng_200 etcd_line cg_304 cg_200 ng_etag ng_pids code url
  say "== poll: GET /v1/agent/desired 304 / 200 vs nginx 2 KB file and etcd range (64 conns, $DUR) =="

  # Peer 1: nginx, the peer folder's tuned config and its get.lua.
  start_nginx nginx/nginx.conf
  ng_pids=$(printf '%s' "$NGINX_PID"; pgrep -P "$NGINX_PID" | sed 's/^/,/' | tr -d '\n')
  url=http://127.0.0.1:18080/cell.json
  ng_etag=$(curl -sI "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}')
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $ng_etag" "$url")
  [[ $code == 304 ]] || die "nginx did not answer 304 to its own ETag ($code)"
  ng_304=$(cd "$PEERS" && TAG=nginx_tuned_304 PEERS_DIR="$PEERS" run_wrk "$BENCH_TMP/ng_304.txt" "$ng_pids" \
    -t2 -c64 -d"$DUR" --latency -s get.lua -H "If-None-Match: $ng_etag" "$url")
  say "$ng_304"
  ng_200=$(cd "$PEERS" && TAG=nginx_tuned_200 PEERS_DIR="$PEERS" run_wrk "$BENCH_TMP/ng_200.txt" "$ng_pids" \
    -t2 -c64 -d"$DUR" --latency -s get.lua "$url")
  say "$ng_200"
  stop_nginx

  # Peer 2: etcd's gateway range read of one 2 KB value, serializable.
  start_etcd
  python3 -c "import base64,json;print(json.dumps({'key':base64.b64encode(b'cfg/cell-doc').decode(),'value':base64.b64encode(b'x'*2048).decode()}))" >"$BENCH_TMP/etcd_doc.json"
  curl -sS -o /dev/null -X POST http://127.0.0.1:23790/v3/kv/put --data @"$BENCH_TMP/etcd_doc.json"
  local etcd_bytes
  etcd_bytes=$(curl -s -X POST http://127.0.0.1:23790/v3/kv/range -d '{"key":"Y2ZnL2NlbGwtZG9j","serializable":true}' | wc -c)
  etcd_line=$(cd "$PEERS" && SERIAL=1 TAG=etcd_range_serializable PEERS_DIR="$PEERS" \
    run_wrk "$BENCH_TMP/etcd_range.txt" "$ETCD_PID" \
    -t2 -c64 -d"$DUR" --latency -s etcd_range.lua http://127.0.0.1:23790/v3/kv/range)
  say "$etcd_line"
  stop_etcd

  # cellgated: one cell, configs assigned until its body is ~2 KB, an agent token.
  agent_setup "$BENCH_TMP/cg-poll" 1 1900
  url="$CG_URL/v1/agent/desired?cell=$AG_CELL"
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AG_TOKEN" -H "If-None-Match: $AG_ETAG" "$url")
  [[ $code == 304 ]] || die "cellgated did not answer 304 to its own ETag ($code)"
  note "cellgated desired body: $AG_BODY_BYTES bytes ($AG_NCONFIGS assignments), ETag $AG_ETAG"
  perf_start "$CG_PID"
  cg_304=$(EXPECT=304 TAG=cellgate_poll_304 run_wrk "$BENCH_TMP/cg_304.txt" "$CG_PID" \
    -t2 -c64 -d"$DUR" --latency -s "$BENCH_DIR/poll.lua" \
    -H "Authorization: Bearer $AG_TOKEN" -H "If-None-Match: $AG_ETAG" "$url")
  say "$cg_304"
  perf_stop poll_304
  perf_start "$CG_PID"
  cg_200=$(EXPECT=200 TAG=cellgate_poll_200 run_wrk "$BENCH_TMP/cg_200.txt" "$CG_PID" \
    -t2 -c64 -d"$DUR" --latency -s "$BENCH_DIR/poll.lua" \
    -H "Authorization: Bearer $AG_TOKEN" "$url")
  say "$cg_200"
  perf_stop poll_200

  # The same two loads with POLL_PARKED (default 19,000: about this
  # machine's descriptor ceiling) other long-polls parked on the server
  # (bench_fanout -r 0 -L: parks them and holds them; issue 18 item 6).
  local cg_304p="" cg_200p="" fan_pid fan_out="$BENCH_TMP/poll_parked.txt" i parked_n="${POLL_PARKED:-19000}"
  if ((parked_n > 0)) && raise_nofile $((parked_n + 512)); then
    "$BUILD/bench/bench_fanout" -p "${CG_URL##*:}" -a "$CG_TOKEN" -k "$AG_TOKENS" -c "$AG_CONFIG" \
      -v 1,2 -n "$parked_n" -r 0 -w 300 -L 600 -T 60 -P "$CG_PID" >"$fan_out" 2>&1 &
    fan_pid=$!
    track_pid "$fan_pid"
    for ((i = 0; i < 1200; i++)); do
      grep -q '^SETUP' "$fan_out" && break
      kill -0 "$fan_pid" 2>/dev/null || break
      sleep 0.1
    done
    sed 's/^/  /' "$fan_out"
    if grep -q "^SETUP .*parked=$parked_n " "$fan_out"; then
      cg_304p=$(EXPECT=304 TAG=cellgate_poll_304_parked run_wrk "$BENCH_TMP/cg_304p.txt" "$CG_PID" \
        -t2 -c64 -d"$DUR" --latency -s "$BENCH_DIR/poll.lua" \
        -H "Authorization: Bearer $AG_TOKEN" -H "If-None-Match: $AG_ETAG" "$url")
      say "$cg_304p"
      cg_200p=$(EXPECT=200 TAG=cellgate_poll_200_parked run_wrk "$BENCH_TMP/cg_200p.txt" "$CG_PID" \
        -t2 -c64 -d"$DUR" --latency -s "$BENCH_DIR/poll.lua" \
        -H "Authorization: Bearer $AG_TOKEN" "$url")
      say "$cg_200p"
    else
      note "the $parked_n parked polls did not all park; no poll figures under that load"
    fi
    stop_pid "$fan_pid"
  else
    note "POLL_PARKED=$parked_n: no load of parked polls (ulimit -Hn $(ulimit -Hn))"
  fi
  local cg_rss
  cg_rss=$(vm_rss_kb "$CG_PID")
  stop_pid "$CG_PID"
  if grep -qiE 'error|warn|fail' "$CG_LOG"; then
    say "--- cellgated log (errors/warnings, last 10) ---"
    grep -iE 'error|warn|fail' "$CG_LOG" | tail -10
  fi

  local path line cg ng et r re ok sock
  for path in 304 200; do
    if [[ $path == 304 ]]; then line=$cg_304 ng=$(kv "$ng_304" rps); else line=$cg_200 ng=$(kv "$ng_200" rps); fi
    cg=$(kv "$line" rps)
    et=$(kv "$etcd_line" rps)
    r=$(ratio "$cg" "$ng")
    re=$(ratio "$cg" "$et")
    sock=$(($(kv "$line" err_connect) + $(kv "$line" err_read) + $(kv "$line" err_write) + $(kv "$line" err_timeout)))
    ok=no
    local pl pr
    if [[ $path == 304 ]]; then pl=$cg_304p; else pl=$cg_200p; fi
    pr=$(ratio "$(kv "$pl" rps)" "$cg")
    [[ -n $pl ]] || pr=null
    [[ $r != null && $re != null && $(echo "$r >= 1.5 && $re >= 4" | bc) == 1 ]] && ok=yes
    if [[ $path == 304 ]]; then
      figure_line "poll_304 cellgate_rps=$cg nginx_rps=$ng ratio=$r etcd_range_rps=$et ratio_etcd=$re p50_ms=$(kv "$line" p50_ms) p99_ms=$(kv "$line" p99_ms) nginx_p99_ms=$(kv "$ng_304" p99_ms) etcd_p99_ms=$(kv "$etcd_line" p99_ms) non304=$(kv "$line" not_ok) errors=$sock cg_cpu_s=$(kv "$line" server_cpu_s) nginx_cpu_s=$(kv "$ng_304" server_cpu_s) etcd_cpu_s=$(kv "$etcd_line" server_cpu_s) parked_load=${parked_n} parked_rps=$(kv "$pl" rps) parked_ratio=$pr goal_ratio=1.5 goal_ratio_etcd=4 ok=$ok"
    else
      figure_line "poll_200 cellgate_rps=$cg nginx_rps=$ng ratio=$r etcd_range_rps=$et ratio_etcd=$re p50_ms=$(kv "$line" p50_ms) p99_ms=$(kv "$line" p99_ms) nginx_p99_ms=$(kv "$ng_200" p99_ms) etcd_p99_ms=$(kv "$etcd_line" p99_ms) body_bytes=$AG_BODY_BYTES assignments=$AG_NCONFIGS nginx_body_bytes=2048 etcd_body_bytes=$etcd_bytes non200=$(kv "$line" not_ok) errors=$sock cg_cpu_s=$(kv "$line" server_cpu_s) nginx_cpu_s=$(kv "$ng_200" server_cpu_s) parked_load=${parked_n} parked_rps=$(kv "$pl" rps) parked_ratio=$pr goal_ratio=1.5 goal_ratio_etcd=4 ok=$ok"
    fi
    fig "poll_$path" \
      "what=GET /v1/agent/desired?cell=C with an agent token, answered $path from memory$([[ $path == 304 ]] && echo " (If-None-Match = current ETag)" || echo ", body $AG_BODY_BYTES bytes ($AG_NCONFIGS signed assignments)")" \
      "load=wrk -t2 -c64 -d$DUR --latency -s bench/poll.lua" \
      "rps=$cg" "requests=$(kv "$line" req)" "ok=$(kv "$line" ok)" "not_ok=$(kv "$line" not_ok)" \
      "codes=$(kv "$line" codes)" "socket_errors=$sock" \
      "p50_ms=$(kv "$line" p50_ms)" "p90_ms=$(kv "$line" p90_ms)" "p99_ms=$(kv "$line" p99_ms)" \
      "p999_ms=$(kv "$line" p999_ms)" "max_ms=$(kv "$line" max_ms)" \
      "server_cpu_s=$(kv "$line" server_cpu_s)" "server_rss_kb=$cg_rss" "body_bytes=$AG_BODY_BYTES" \
      "peer.name=nginx $(nginx -v 2>&1 | sed 's#.*nginx/##') tuned (peers nginx/nginx.conf), 2048-byte /cell.json" \
      "peer.load=wrk -t2 -c64 -d$DUR --latency -s get.lua (peers folder)$([[ $path == 304 ]] && echo " -H If-None-Match")" \
      "peer.rps=$ng" \
      "peer.p99_ms=$(kv "$([[ $path == 304 ]] && echo "$ng_304" || echo "$ng_200")" p99_ms)" \
      "peer.server_cpu_s=$(kv "$([[ $path == 304 ]] && echo "$ng_304" || echo "$ng_200")" server_cpu_s)" \
      "peer_etcd.name=etcd $(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p') v3 gateway POST /v3/kv/range serializable, 2 KB value" \
      "peer_etcd.load=SERIAL=1 wrk -t2 -c64 -d$DUR --latency -s etcd_range.lua (peers folder)" \
      "peer_etcd.rps=$et" "peer_etcd.p99_ms=$(kv "$etcd_line" p99_ms)" "peer_etcd.body_bytes=$etcd_bytes" \
      "peer_etcd.server_cpu_s=$(kv "$etcd_line" server_cpu_s)" \
      "ratio=$r" "ratio_of=cellgate rps / nginx rps" "ratio_etcd=$re" "ratio_etcd_of=cellgate rps / etcd range rps" \
      "parked_load=$parked_n" "parked_rps=$(kv "$pl" rps)" "parked_p99_ms=$(kv "$pl" p99_ms)" \
      "parked_ratio=$pr" "parked_ratio_of=rps with parked_load long-polls parked / rps without" \
      "goal=ratio >= 1.5 and ratio_etcd >= 4 (issue 18)" "ok=$ok"
  done
}

# ---------------------------------------------------------------------------
# fanout: N parked long-polls of one cell (FANOUT_CELLS to spread them), one
# assignment change, time until every poll has its 200 (bench/bench_fanout.c)
# vs etcd's gateway watch with the same number of watchers (the peer
# folder's run_watch_bench.sh / watch_fanout.c, 2 KB value).
# ---------------------------------------------------------------------------
FANOUT_NS=${FANOUT_NS:-1000 5000 10000 19000}
FANOUT_ROUNDS=${FANOUT_ROUNDS:-5}
FANOUT_CELLS=${FANOUT_CELLS:-1}

bench_fanout() {
  local bin="$BUILD/bench/bench_fanout" ns=() n out etcd_out
  say "== fanout: N parked long-polls, one assignment change vs etcd gateway watch (N = $FANOUT_NS, $FANOUT_ROUNDS rounds) =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  for n in $FANOUT_NS; do
    if raise_nofile $((n + 256)); then ns+=("$n"); else note "skipping N=$n: ulimit -Hn $(ulimit -Hn) is too low"; fi
  done
  ((${#ns[@]})) || die "no N fits the file descriptor limit"

  # Peer: etcd, fresh, all N in one go with the peer script (it compiles watch_fanout).
  start_etcd
  etcd_out="$BENCH_TMP/etcd_watch.txt"
  (cd "$PEERS" && timeout 900 ./run_watch_bench.sh "${ns[*]}" 2048 "$FANOUT_ROUNDS" _bench) >"$etcd_out" 2>&1 ||
    note "run_watch_bench.sh exited $?"
  stop_etcd
  grep -q '^ROUND' "$etcd_out" || { cat "$etcd_out" >&2; die "etcd watch fan-out printed no ROUND line"; }

  # cellgated: fresh, FANOUT_CELLS cells, a ~2 KB desired body (like the 2 KB value etcd sends).
  agent_setup "$BENCH_TMP/cg-fanout" "$FANOUT_CELLS" 1900
  note "cellgated desired body: $AG_BODY_BYTES bytes ($AG_NCONFIGS assignments); $FANOUT_CELLS cell(s)"
  for n in "${ns[@]}"; do
    out="$BENCH_TMP/cg_fanout_$n.txt"
    timeout 600 "$bin" -p "${CG_URL##*:}" -a "$CG_TOKEN" -k "$AG_TOKENS" -c "$AG_CONFIG" -v 1,2 \
      -n "$n" -r "$FANOUT_ROUNDS" -w 60 -T 30 -P "$CG_PID" -o "$BENCH_TMP/cg_fanout_$n.csv" >"$out" 2>&1 ||
      note "bench_fanout -n $n exited $?"
    sed 's/^/  /' "$out"
    kill -0 "$CG_PID" 2>/dev/null || { tail -20 "$CG_LOG" >&2; die "cellgated died during fanout N=$n"; }
    sleep 1
  done
  stop_pid "$CG_PID"
  if grep -qiE 'error|warn|fail' "$CG_LOG"; then
    say "--- cellgated log (errors/warnings, last 10) ---"
    grep -iE 'error|warn|fail' "$CG_LOG" | tail -10
  fi

  local cg et_block et_p100 et_send et_ack et_recv cg_p100 r rs ok extra
  for n in "${ns[@]}"; do
    cg=$(grep '^RESULT' "$BENCH_TMP/cg_fanout_$n.txt" | tail -1)
    [[ -n $cg ]] || { say "fanout_n$n: bench_fanout printed no RESULT (see above)"; continue; }
    et_block=$(awk -v n="$n" '/^== N=/ {on = ($2 == "N=" n)} on' "$etcd_out")
    sed -n '/^SETUP\|^ALLRECV\|^RESULT/s/^/  etcd: /p' <<<"$et_block"
    # etcd per round: "... from_ack_ms p50=.. p99=.. max=X"; median of X over rounds (same rule as ours)
    et_p100=$(sed -n 's/^ROUND.*from_ack_ms p50=[^ ]* p99=[^ ]* max=\([^ ]*\).*/\1/p' <<<"$et_block" | median)
    et_send=$(sed -n 's/^ROUND.*from_send_ms p50=[^ ]* p99=[^ ]* max=\([^ ]*\) .*/\1/p' <<<"$et_block" | median)
    et_ack=$(sed -n 's/^ROUND [0-9]* put_ack_ms=\([^ ]*\).*/\1/p' <<<"$et_block" | median)
    et_recv=$(sed -n 's/^ROUND.* received=\([^ ]*\).*/\1/p' <<<"$et_block" | tail -1)
    cg_p100=$(kv "$cg" ack_p100_ms)
    r=$(ratio "$cg_p100" "$et_p100")
    rs=$(ratio "$(kv "$cg" median_send_p100_ms)" "$et_send")
    extra=""
    if [[ $n == 5000 ]]; then
      ok=no
      [[ -n $cg_p100 && $(kv "$cg" rounds_complete) == "$(kv "$cg" rounds)" && $(echo "$cg_p100 < 100" | bc) == 1 ]] && ok=yes
      extra=" goal_ms=100 ok=$ok"
      fig "fanout_n$n" "goal_ms=100" "ok=$ok" "ok_rule=median round's ack_p100_ms < goal_ms, every poll answered in every round"
    fi
    figure_line "fanout_n$n cellgate_p100_ms=$cg_p100 etcd_p100_ms=${et_p100:-null} ratio=$r cellgate_p50_ms=$(kv "$cg" ack_p50_ms) cellgate_p90_ms=$(kv "$cg" ack_p90_ms) cellgate_p99_ms=$(kv "$cg" ack_p99_ms) received=$(kv "$cg" received) rounds_complete=$(kv "$cg" rounds_complete)/$(kv "$cg" rounds) assign_ack_ms=$(kv "$cg" assign_ack_ms) etcd_put_ack_ms=${et_ack:-null} cellgate_from_send_p100_ms=$(kv "$cg" median_send_p100_ms) etcd_from_send_p100_ms=${et_send:-null} ratio_from_send=$rs etcd_received=${et_recv:-null}$extra"
    fig "fanout_n$n" \
      "what=$n long-polls GET /v1/agent/desired?wait=60 parked on $FANOUT_CELLS cell(s) (body $AG_BODY_BYTES bytes), one POST /v1/configs/NAME/assign; ms from its 201 (ack) / from sending it to each poll's 200; median of $FANOUT_ROUNDS rounds by p100" \
      "load=bench/bench_fanout -n $n -r $FANOUT_ROUNDS (epoll, 1 thread)" \
      "p50_ms=$(kv "$cg" ack_p50_ms)" "p90_ms=$(kv "$cg" ack_p90_ms)" "p99_ms=$(kv "$cg" ack_p99_ms)" "p100_ms=$cg_p100" \
      "received=$(kv "$cg" received)" "rounds=$(kv "$cg" rounds)" "rounds_complete=$(kv "$cg" rounds_complete)" \
      "median_round=$(kv "$cg" median_round)" "best_p100_ms=$(kv "$cg" best_ack_p100_ms)" "worst_p100_ms=$(kv "$cg" worst_ack_p100_ms)" \
      "assign_ack_ms=$(kv "$cg" assign_ack_ms)" "from_send_p50_ms=$(kv "$cg" send_p50_ms)" "from_send_p100_ms=$(kv "$cg" median_send_p100_ms)" \
      "idle_rss_kb=$(kv "$cg" idle_rss_kb)" "parked_rss_kb=$(kv "$cg" parked_rss_kb)" \
      "peer.name=etcd $(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p') v3 gateway POST /v3/watch, one key, 2 KB value" \
      "peer.load=run_watch_bench.sh \"${ns[*]}\" 2048 $FANOUT_ROUNDS (watch_fanout -g 1000 -T 30, peers folder)" \
      "peer.p100_ms=${et_p100:-null}" "peer.put_ack_ms=${et_ack:-null}" "peer.from_send_p100_ms=${et_send:-null}" \
      "peer.received=${et_recv:-null}" \
      "ratio=$r" "ratio_of=cellgate p100 / etcd p100 (ms from ack; lower is better)" \
      "ratio_from_send=$rs"
  done
}

# ---------------------------------------------------------------------------
# rss: cellgated's resident memory per parked long-poll (10,000 parked).
# ---------------------------------------------------------------------------
RSS_PARKED=${RSS_PARKED:-10000 19000}

bench_rss() {
  local n
  # RSS_PARKED: one or more counts (default 10,000 and 19,000: about this
  # machine's descriptor ceiling of 20,000 per process; issue 18 item 6)
  for n in $RSS_PARKED; do
    bench_rss_n "$n"
  done
}

bench_rss_n() {
  local n=$1 bin="$BUILD/bench/bench_fanout" out line idle parked per ok rep rep_per name
  name=rss_per_parked_poll
  [[ $n == 10000 ]] || name=rss_per_parked_poll_n$n
  say "== rss: cellgated VmRSS idle and with $n parked long-polls =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  raise_nofile $((n + 256)) || { note "skipping $n: ulimit -Hn $(ulimit -Hn) < $((n + 256))"; return 0; }
  agent_setup "$BENCH_TMP/cg-rss-$n" 1 1900
  sleep 1
  out="$BENCH_TMP/cg_rss_$n.txt"
  timeout 300 "$bin" -p "${CG_URL##*:}" -a "$CG_TOKEN" -k "$AG_TOKENS" -c "$AG_CONFIG" -v 1,2 \
    -n "$n" -r 2 -w 60 -T 30 -P "$CG_PID" >"$out" 2>&1 || note "bench_fanout -r 2 exited $?"
  sed 's/^/  /' "$out"
  stop_pid "$CG_PID"
  line=$(grep '^SETUP' "$out" | tail -1)
  [[ -n $line ]] || die "bench_fanout printed no SETUP line"
  idle=$(kv "$line" idle_rss_kb)
  parked=$(kv "$line" parked_rss_kb)
  per=$(((parked - idle) * 1024 / n))
  # The same polls parked again after one wake (each connection has now
  # served a 200 of ~2 KB): what a fleet that re-polls costs.
  rep=$(sed -n 's/^REPARKED round=0 reparked_rss_kb=\([0-9]*\).*/\1/p' "$out")
  rep_per=null
  [[ -n $rep ]] && rep_per=$(((rep - idle) * 1024 / n))
  ok=no
  ((per <= 2048)) && [[ $(kv "$line" parked) == "$n" ]] && ok=yes
  figure_line "$name bytes=$per idle_rss_kb=$idle parked_rss_kb=$parked parked=$(kv "$line" parked)/$n goal_bytes=2048 ok=$ok after_one_wake_bytes=$rep_per reparked_rss_kb=${rep:-null}"
  fig "$name" "what=(VmRSS with $n parked long-polls - VmRSS idle) / $n, fresh cellgated, 1 cell" \
    "bytes=$per" "idle_rss_kb=$idle" "parked_rss_kb=$parked" "parked=$(kv "$line" parked)" "n=$n" \
    "after_one_wake_bytes=$rep_per" "reparked_rss_kb=${rep:-null}" \
    "after_one_wake_what=the same polls answered once (200, ~2 KB) and parked again" \
    "goal_bytes=2048" "ok=$ok" "ok_rule=bytes <= goal_bytes, all parked"
}

# ---------------------------------------------------------------------------
# safety: detection, blast radius and time to rollback of bad changes under
# the real controller (bench/bench_safety.c) on a fleet with realistic noise
# (heavy-tailed latency, over-dispersed errors, a chronically bad cell),
# against a naive all-at-once push with a fleet error-rate alarm; false
# rollbacks of good changes; A/A bakes peeked after every report.
# SAFETY_TRIALS (default 100) per scenario and system, SAFETY_GOOD_TRIALS
# (default 2x) per good-change scenario, SAFETY_AA_BAKES (default 10x);
# SAFETY_JOBS processes (default 2). Every SAFETY_ROW and SAFETY_GOAL line
# is recorded, whatever its scenario or goal.
# ---------------------------------------------------------------------------
SAFETY_TRIALS=${SAFETY_TRIALS:-100}

bench_safety() {
  local bin="$BUILD/bench/bench_safety" out line sc sy name kvp k v ok
  say "== safety: $SAFETY_TRIALS seeded trials per scenario (good changes and A/A more), cellgate vs naive push + alarm, realistic noise =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  out=$(timeout 1800 "$bin" "$SAFETY_TRIALS" 2>"$BENCH_TMP/safety.err") ||
    { cat "$BENCH_TMP/safety.err" >&2; die "bench_safety failed"; }
  sed 's/^/  /' "$BENCH_TMP/safety.err"
  grep -v '^SAFETY_' <<<"$out"
  fig safety "what=36 cells x 10 hosts, seeded trials per scenario; cellgate = the real controller + reports + SQLite store with a simulated fleet (cellgate-sim's health model: heavy-tailed latency, over-dispersed errors); naive = push to every cell at once, 5-min fleet error-rate alarm (> 1.5 x previous hour and > 1%), rollback 2-10 min after it fires; aa_peek = gates after every host report, min_delta 0 (bench/bench_safety.c, bench/README.md)" \
    "blast_radius_what=requests served by the new version / all fleet requests from start until the last host is back on the old version (completion or the 3 h horizon when not rolled back)" \
    "noise=$(grep -m1 '^noise: ' <<<"$out" | sed 's/^noise: //')" \
    "trials=$SAFETY_TRIALS" "good_trials=${SAFETY_GOOD_TRIALS:-$((2 * SAFETY_TRIALS))}" \
    "aa_bakes=${SAFETY_AA_BAKES:-$((10 * SAFETY_TRIALS))}"
  while read -r line; do
    sc=$(kv "$line" scenario)
    sy=$(kv "$line" system)
    for kvp in $line; do
      [[ $kvp == *=* ]] || continue
      k=${kvp%%=*}
      v=${kvp#*=}
      [[ $k == scenario || $k == system ]] && continue
      [[ $v == nan ]] && v=null
      fig safety "$sc.$sy.$k=$v"
    done
  done < <(grep '^SAFETY_ROW ' <<<"$out")
  while read -r line; do
    name=$(kv "$line" name)
    ok=$(kv "$line" ok)
    figure_line "safety_goal ${line#SAFETY_GOAL }"
    for kvp in $line; do
      [[ $kvp == *=* ]] || continue
      k=${kvp%%=*}
      [[ $k == name ]] && continue
      fig safety "goals.$name.$k=${kvp#*=}"
    done
    [[ -n $ok ]] || die "bench_safety printed a goal without ok="
  done < <(grep '^SAFETY_GOAL ' <<<"$out")
  grep -q '^SAFETY_GOAL ' <<<"$out" || die "bench_safety printed no SAFETY_GOAL line"
}

# ---------------------------------------------------------------------------
# storm: 10,000 simulated hosts (cellgate-sim) reconnecting after a SIGKILL
# of cellgated and a restart 10 s later on the same data dir and port;
# a rollback issued 1 s into a second such storm; and the metastability
# comparison (protections off: sim --naive-retries + server --no-shed;
# server: naive sim + the server's defences; on: the defaults), all with a
# report lane slowed by --fault-delay. bench/storm.py drives it
# (sim --trace-out: one CSV line per 100 ms) and prints FIGURE lines.
# STORM_WHAT=storm|meta|all (default all). No peer. Issue 6; docs/design.md
# "The failures it exists to prevent" (the EC2 lease storm).
# ---------------------------------------------------------------------------
bench_storm() {
  local out line k v name
  say "== storm: 10,000 hosts reconnect after SIGKILL + restart; rollback during it; metastability =="
  [[ -x $BUILD/sim/cellgate-sim ]] || die "no $BUILD/sim/cellgate-sim (run make build)"
  raise_nofile 20000 || note "open-file hard limit below 20000: 10,000 hosts may not fit"
  out=$(timeout 1800 python3 "$BENCH_DIR/storm.py" "${STORM_WHAT:-all}" --build "$BUILD" \
    --work "$BENCH_TMP/storm" 2>"$BENCH_TMP/storm.err") ||
    { cat "$BENCH_TMP/storm.err" >&2; say "$out"; die "bench/storm.py failed"; }
  sed 's/^/  /' "$BENCH_TMP/storm.err"
  grep -v '^FIGURE ' <<<"$out" || true
  while read -r line; do
    line=${line#FIGURE }
    name=${line%% *}
    for kv in ${line#* }; do fig "$name" "$kv"; done
    case $name in
      storm)
        figure_line "storm_recovery_s=$(kv "$line" storm_recovery_s) peak_to_mean=$(kv "$line" peak_to_mean) goodput_30s=$(kv "$line" goodput_30s) rss_max_kb=$(kv "$line" rss_max_kb) fds_max=$(kv "$line" fds_max) (hosts=$(kv "$line" hosts) goodput_t90_s=$(kv "$line" goodput_t90_s) useful_share_30s=$(kv "$line" useful_share_30s) peak_to_mean_conns=$(kv "$line" peak_to_mean_conns) fds_after_restart_max=$(kv "$line" fds_after_restart_max))" ;;
      rollback_during_storm)
        figure_line "rollback_during_storm api_ms=$(kv "$line" api_ms) all_hosts_s=$(kv "$line" all_hosts_s) (rollout_state=$(kv "$line" rollout_state) issued_after_restart_s=$(kv "$line" issued_after_restart_s))" ;;
      metastability)
        figure_line "metastability steady_diff=$(kv "$line" steady_diff) comparable=$(kv "$line" comparable) protections=off goodput_after_30s=$(kv "$line" off.goodput_after_30s) recovered=$(kv "$line" off.recovered) / protections=server goodput_after_30s=$(kv "$line" server.goodput_after_30s) recovered=$(kv "$line" server.recovered) / protections=on goodput_after_30s=$(kv "$line" on.goodput_after_30s) recovered=$(kv "$line" on.recovered) (reports accepted per s in 5 s buckets, off: $(kv "$line" off.goodput_series) server: $(kv "$line" server.goodput_series) on: $(kv "$line" on.goodput_series))" ;;
    esac
  done < <(grep '^FIGURE ' <<<"$out")
  grep -q '^FIGURE ' <<<"$out" || die "bench/storm.py printed no FIGURE line"
}

# ---------------------------------------------------------------------------
# High availability (docs/operations.md §6): cellgated with its store on
# PostgreSQL, and replicas of one store. One throwaway PostgreSQL for the
# run (start_pg: scripts/pg-local.sh, 127.0.0.1, an ephemeral port, as the
# 'postgres' user when root), a fresh database per benchmark.
# ---------------------------------------------------------------------------

# wait_replicas_caught_up: every replica of RP_URLS serves the desired state
# of the first and the last cell of AG_TOKENS with AG_NCONFIGS assignments
# (cells, configs, assignments and tokens were made through r0 and reach the
# others through the store's change log). 20 s at most.
wait_replicas_caught_up() {
  local k i line cell tok n ok
  for ((i = 0; i < 200; i++)); do
    ok=1
    for k in "${!RP_URLS[@]}"; do
      for line in "$(head -1 "$AG_TOKENS")" "$(tail -1 "$AG_TOKENS")"; do
        read -r cell tok <<<"$line"
        n=$(curl -s -H "Authorization: Bearer $tok" "${RP_URLS[$k]}/v1/agent/desired?cell=$cell" |
          python3 -c 'import json,sys; print(len(json.load(sys.stdin)["assignments"]))' 2>/dev/null) || n=-1
        [[ $n == "$AG_NCONFIGS" ]] || ok=0
      done
    done
    ((ok)) && return 0
    sleep 0.1
  done
  die "the replicas did not catch up with r0 within 20 s"
}

# fanout_csv_stats CSV: from bench_fanout's per-poll CSV (round, conn, cell,
# ms_from_send, ms_from_ack, replica), key=value figures: per round the
# p50/p99/p100 from the request (send) over every poll, and the p100 of the
# writer (replica 0) and of the others; the round reported is the median
# round by p100 ("worst_*": the slowest round); pooled_* over every round.
fanout_csv_stats() {
  python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
def pct(v, p):
    v = sorted(v)
    if not v:
        return -1
    return v[min(len(v) - 1, max(0, int(p / 100.0 * len(v) + 0.999999) - 1))]
rounds = {}
for r in rows:
    rounds.setdefault(int(r["round"]), []).append(r)
per = []
for k in sorted(rounds):
    rs = rounds[k]
    send = [float(r["ms_from_send"]) for r in rs]
    w = [float(r["ms_from_send"]) for r in rs if r.get("replica", "0") == "0"]
    o = [float(r["ms_from_send"]) for r in rs if r.get("replica", "0") != "0"]
    per.append({"round": k, "n": len(rs), "p50": pct(send, 50), "p99": pct(send, 99),
                "p100": max(send), "writer_p100": max(w) if w else -1,
                "nonwriter_p100": max(o) if o else -1})
per.sort(key=lambda x: x["p100"])
med, worst = per[(len(per) - 1) // 2], per[-1]
allw = [float(r["ms_from_send"]) for r in rows if r.get("replica", "0") == "0"]
allo = [float(r["ms_from_send"]) for r in rows if r.get("replica", "0") != "0"]
allo_ack = [float(r["ms_from_ack"]) for r in rows if r.get("replica", "0") != "0"]
allw_ack = [float(r["ms_from_ack"]) for r in rows if r.get("replica", "0") == "0"]
print("median_round=%d p50_ms=%.1f p99_ms=%.1f p100_ms=%.1f writer_p100_ms=%.1f nonwriter_p100_ms=%.1f "
      "worst_p100_ms=%.1f rounds=%d "
      "pooled_writer_n=%d pooled_writer_p50_ms=%.1f pooled_writer_p99_ms=%.1f pooled_writer_max_ms=%.1f "
      "pooled_nonwriter_n=%d pooled_nonwriter_p50_ms=%.1f pooled_nonwriter_p99_ms=%.1f "
      "pooled_nonwriter_max_ms=%.1f pooled_nonwriter_ack_p50_ms=%.1f pooled_nonwriter_ack_p99_ms=%.1f "
      "pooled_writer_ack_p50_ms=%.1f"
      % (med["round"], med["p50"], med["p99"], med["p100"], med["writer_p100"],
         med["nonwriter_p100"], worst["p100"], len(per),
         len(allw), pct(allw, 50), pct(allw, 99), max(allw) if allw else -1,
         len(allo), pct(allo, 50), pct(allo, 99), max(allo) if allo else -1,
         pct(allo_ack, 50), pct(allo_ack, 99), pct(allw_ack, 50)))
PY
}

# replica_metrics URL: the cellgate_replica_* lines of one replica's /metrics.
replica_metrics() {
  curl -s -H "Authorization: Bearer $CG_TOKEN" "$1/metrics" | grep '^cellgate_replica_' || true
}

# ---------------------------------------------------------------------------
# publish_pg: publish_2kb_c16 with the store on PostgreSQL: one cellgated
# (--store), the same 16 configs, documents and wrk settings, vs etcd put
# in the same run. PostgreSQL's CPU (postmaster and backends) and the WAL it
# wrote are reported apart from cellgated's; then the same load over one
# connection (c1_rps: how throughput scales with concurrency). Goal:
# ratio >= 1 (printed, not asserted).
# ---------------------------------------------------------------------------
bench_publish_pg() {
  local etcd_line etcd_disk cg_line cg_disk stored dsn pgp c0 l0 pg_cpu wal c1_line
  say "== publish_pg_c16: cellgated on PostgreSQL publish vs etcd 3.4 put (2 KB, 16 conns, $DUR) =="
  etcd_put_phase
  etcd_line=$ETCD_LINE etcd_disk=$ETCD_DISK

  start_pg
  dsn=$(new_pg_db publish_pg)
  start_replicas "$dsn" "$BENCH_TMP/cg-publish-pg" 1
  publish_populate
  cg_disk=$(fsync_probe "$BENCH_TMP")
  IFS=, read -r -a pgp <<<"$(pg_pids)"
  c0=$(cpu_ticks "${pgp[@]}")
  l0=$(psql -X -A -t -d "$dsn" -c 'SELECT pg_current_wal_lsn()')
  perf_start "$CG_PID"
  cg_line=$(CG_TOKEN=$CG_TOKEN BENCH_THREADS=2 NCONFIGS=$PUBLISH_CONFIGS \
    DOC_BYTES=2048 TAG=cellgate_publish_pg_c16 \
    run_wrk "$BENCH_TMP/cg_publish_pg.txt" "$CG_PID" \
    -t2 -c16 -d"$DUR" --latency -s "$BENCH_DIR/publish.lua" "$CG_URL/")
  pg_cpu=$(cpu_seconds $(($(cpu_ticks "${pgp[@]}") - c0)))
  wal=$(psql -X -A -t -d "$dsn" -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$l0')::bigint")
  say "$cg_line pg_cpu_s=$pg_cpu pg_wal_bytes=$wal"
  perf_stop publish_pg
  stored=$(publish_stored)
  # the same publishes over one connection: concurrent publishes on
  # PostgreSQL should share WAL flushes (group commit), so c16 >> c1
  c1_line=$(CG_TOKEN=$CG_TOKEN BENCH_THREADS=1 NCONFIGS=$PUBLISH_CONFIGS \
    DOC_BYTES=2048 TAG=cellgate_publish_pg_c1 \
    run_wrk "$BENCH_TMP/cg_publish_pg_c1.txt" "$CG_PID" \
    -t1 -c1 -d"$DUR" --latency -s "$BENCH_DIR/publish.lua" "$CG_URL/")
  say "$c1_line"
  stop_replicas
  if grep -qiE 'error|warn|fail' "$CG_LOG"; then
    say "--- cellgated log (errors/warnings, last 10) ---"
    grep -iE 'error|warn|fail' "$CG_LOG" | tail -10
  fi

  local cg_rps etcd_rps cg_ok not_ok sock errors extra=unknown dup r ok
  cg_rps=$(kv "$cg_line" rps)
  cg_ok=$(kv "$cg_line" ok)
  etcd_rps=$(kv "$etcd_line" rps)
  not_ok=$(kv "$cg_line" not_ok)
  sock=$(($(kv "$cg_line" err_connect) + $(kv "$cg_line" err_read) + $(kv "$cg_line" err_write) + $(kv "$cg_line" err_timeout)))
  errors=$((not_ok + sock))
  dup=$(kv "$cg_line" dup201)
  if [[ $stored != unknown ]]; then
    extra=$((stored - PUBLISH_CONFIGS - cg_ok))
    ((extra >= 0 && extra <= 16)) ||
      say "WARNING: the store holds $((stored - PUBLISH_CONFIGS)) versions but wrk counted $cg_ok 201s (expected 0..16 more stored)"
  fi
  [[ ${dup:-0} == 0 ]] || say "WARNING: $dup 201 responses named a version number already returned"
  r=$(ratio "$cg_rps" "$etcd_rps")
  ok=no
  [[ $r != null && $(echo "$r >= 1" | bc) == 1 ]] && ok=yes
  figure_line "publish_pg_c16 cellgate_rps=$cg_rps etcd_rps=$etcd_rps ratio=$r goal_ratio=1 ok=$ok p50_ms=$(kv "$cg_line" p50_ms) p99_ms=$(kv "$cg_line" p99_ms) errors=$errors non201=$not_ok codes=$(kv "$cg_line" codes) etcd_p50_ms=$(kv "$etcd_line" p50_ms) etcd_p99_ms=$(kv "$etcd_line" p99_ms) cellgate_c1_rps=$(kv "$c1_line" rps) c16_over_c1=$(ratio "$cg_rps" "$(kv "$c1_line" rps)" 2) cg_cpu_s=$(kv "$cg_line" server_cpu_s) pg_cpu_s=$pg_cpu etcd_cpu_s=$(kv "$etcd_line" server_cpu_s) pg_wal_kb_per_op=$(ratio "$((wal / 1024))" "$cg_ok" 1) disk_fsync_p50_ms=$(kv "$cg_disk" p50_ms)/$(kv "$etcd_disk" p50_ms)"
  fig publish_pg_c16 \
    "what=publish of ~2 KB JSON documents (contract check + store + audit, committed on PostgreSQL with synchronous_commit on), one cellgated --store, 16 connections, round-robin over $PUBLISH_CONFIGS configs" \
    "load=wrk -t2 -c16 -d$DUR --latency -s bench/publish.lua" \
    "rps=$cg_rps" "ok_201=$cg_ok" "requests=$(kv "$cg_line" req)" "non201=$not_ok" \
    "codes=$(kv "$cg_line" codes)" "socket_errors=$sock" \
    "p50_ms=$(kv "$cg_line" p50_ms)" "p90_ms=$(kv "$cg_line" p90_ms)" "p99_ms=$(kv "$cg_line" p99_ms)" \
    "p999_ms=$(kv "$cg_line" p999_ms)" "max_ms=$(kv "$cg_line" max_ms)" \
    "server_cpu_s=$(kv "$cg_line" server_cpu_s)" "pg_cpu_s=$pg_cpu" "pg_wal_bytes=$wal" \
    "c1.rps=$(kv "$c1_line" rps)" "c1.p50_ms=$(kv "$c1_line" p50_ms)" "c1.p99_ms=$(kv "$c1_line" p99_ms)" \
    "c1.load=wrk -t1 -c1 -d$DUR --latency -s bench/publish.lua" \
    "versions_stored=$stored" "stored_minus_201s=$extra" "dup201=$dup" \
    "disk_fdatasync_p50_ms=$(kv "$cg_disk" p50_ms)" "disk_fdatasync_p99_ms=$(kv "$cg_disk" p99_ms)" \
    "peer.disk_fdatasync_p50_ms=$(kv "$etcd_disk" p50_ms)" "peer.disk_fdatasync_p99_ms=$(kv "$etcd_disk" p99_ms)" \
    "peer.name=etcd $(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p') v3 gateway PUT /v3/kv/put" \
    "peer.load=VSIZE=2048 wrk -t2 -c16 -d$DUR --latency -s etcd_put.lua (peers folder)" \
    "peer.rps=$etcd_rps" "peer.requests=$(kv "$etcd_line" req)" \
    "peer.p50_ms=$(kv "$etcd_line" p50_ms)" "peer.p99_ms=$(kv "$etcd_line" p99_ms)" \
    "peer.server_cpu_s=$(kv "$etcd_line" server_cpu_s)" "peer.server_write_kb=$(kv "$etcd_line" server_write_kb)" \
    "ratio=$r" "ratio_of=cellgate rps / etcd rps" "goal_ratio=1" "ok=$ok" "ok_rule=ratio >= goal_ratio"
}

# ---------------------------------------------------------------------------
# fanout_replicas3: FANOUT_REPLICAS_N (15,000) parked long-polls spread over
# 3 replicas of one PostgreSQL store (N/3 each, one cell), one assign
# through replica r0; ms from the request (the assign written) to each
# poll's 200, per round; goal p100 < 1 s. The other two replicas learn of
# the change through the store (change log + NOTIFY). The same N parked on
# r0 alone, in the same run, is the baseline (ratio_vs_one_replica).
# ---------------------------------------------------------------------------
# killswitch: the flag kill switch to KILL_N parked hosts (docs/flags.md).
# Each round kills one more flag of a flags config assigned to every cell:
# `POST .../flags/fI/kill` publishes the live version with fI disabled and
# assigns it to every cell at once; the time is from sending the kill to
# the last parked long-poll's 200 (goal < 1 s at 10,000).
KILL_N=${KILL_N:-10000}
KILL_ROUNDS=${KILL_ROUNDS:-3}
KILL_CELLS=${KILL_CELLS:-36}

bench_killswitch() {
  local bin="$BUILD/bench/bench_fanout" out cells="" i doc code r ok
  say "== killswitch: flag kill to $KILL_N parked long-polls over $KILL_CELLS cells ($KILL_ROUNDS rounds) =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  raise_nofile $((KILL_N + 256)) || { note "skipping: ulimit -Hn $(ulimit -Hn) is too low"; return 0; }
  agent_setup "$BENCH_TMP/cg-kill" "$KILL_CELLS" 0
  for ((i = 0; i < KILL_CELLS; i++)); do cells+="${cells:+,}\"$(printf 'cell-%04d' "$i")\""; done
  doc=$(python3 -c 'import json,sys; n=int(sys.argv[1]); print(json.dumps({"flags": {"f%d" % i: {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"} for i in range(n)}}))' "$KILL_ROUNDS")
  code=$(cg_api POST /v1/configs '{"name":"kill-flags","kind":"flags","contract":{}}')
  [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "create kill-flags: HTTP $code"; }
  code=$(cg_api POST /v1/configs/kill-flags/versions "$doc")
  [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "publish kill-flags: HTTP $code"; }
  code=$(cg_api POST /v1/configs/kill-flags/assign "{\"version\":1,\"cells\":[$cells],\"force\":true,\"reason\":\"bench\"}")
  [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "assign kill-flags: HTTP $code"; }
  out="$BENCH_TMP/cg_kill.txt"
  timeout 600 "$bin" -p "${CG_URL##*:}" -a "$CG_TOKEN" -k "$AG_TOKENS" -c kill-flags -v 1,2 -K f \
    -n "$KILL_N" -r "$KILL_ROUNDS" -w 60 -T 30 -P "$CG_PID" >"$out" 2>&1 || note "bench_fanout -K exited $?"
  sed 's/^/  /' "$out"
  stop_pid "$CG_PID"
  r=$(grep '^RESULT' "$out" | tail -1)
  [[ -n $r ]] || { say "killswitch_n$KILL_N: no RESULT (see above)"; return 0; }
  ok=no
  [[ $(kv "$r" rounds_complete) == "$(kv "$r" rounds)" && $(echo "$(kv "$r" median_send_p100_ms) < 1000" | bc) == 1 ]] && ok=yes
  figure_line "killswitch_n$KILL_N cells=$KILL_CELLS from_send_p100_ms=$(kv "$r" median_send_p100_ms) kill_ack_ms=$(kv "$r" assign_ack_ms) ack_p100_ms=$(kv "$r" ack_p100_ms) received=$(kv "$r" received) rounds_complete=$(kv "$r" rounds_complete)/$(kv "$r" rounds) goal_ms=1000 ok=$ok"
  fig "killswitch_n$KILL_N" "what=flag kill switch (POST /v1/configs/NAME/flags/F/kill) to $KILL_N long-polls parked on $KILL_CELLS cells; ms from sending the kill to the last poll's 200, median of $KILL_ROUNDS rounds" \
    "from_send_p100_ms=$(kv "$r" median_send_p100_ms)" "goal_ms=1000" "ok=$ok"
}

# ---------------------------------------------------------------------------
# flags: in-process evaluation ns/op (libcellgate) vs @openfeature/flagd-core
# (flagd's own evaluator, Node.js) on the same flags and contexts, and the
# OFREP bulk evaluation's req/s answered 304 and 200 (64 conns).
FLAGS_ITERS=${FLAGS_ITERS:-200}

bench_flags() {
  local ctx="$BENCH_TMP/flag_contexts.jsonl" nd="$BENCH_TMP/flagd-core" c js r cg_ns js_ns ok code etag body
  say "== flags: in-process evaluation vs @openfeature/flagd-core; OFREP bulk 304/200 (64 conns, $DUR) =="
  python3 - "$ctx" <<'PY'
import json, random, sys
rnd = random.Random(42)
with open(sys.argv[1], "w") as f:
    for i in range(1000):
        f.write(json.dumps({"targetingKey": "user-%d" % rnd.randrange(10**6),
                            "email": "u%d@%s" % (i, rnd.choice(["example.com", "other.org"])),
                            "plan": rnd.choice(["free", "pro", "enterprise"]),
                            "seats": rnd.randrange(40),
                            "version": "%d.%d.%d" % (rnd.randrange(3, 6), rnd.randrange(5), rnd.randrange(9))}) + "\n")
PY
  c=$("$BUILD/bench/bench_flags_eval" "$BENCH_DIR/flags_doc.json" "$ctx" "$FLAGS_ITERS")
  say "  cellgate: $c"
  if command -v node >/dev/null && command -v npm >/dev/null; then
    mkdir -p "$nd"
    cp "$ROOT/tests/flagd/package.json" "$ROOT/tests/flagd/package-lock.json" "$BENCH_DIR/flags_eval.js" "$nd/"
    (cd "$nd" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || note "npm ci of flagd-core failed"
    js=$(cd "$nd" && node flags_eval.js "$BENCH_DIR/flags_doc.json" "$ctx" "$FLAGS_ITERS" 2>&1 | grep '^RESULT' || true)
    say "  flagd-core: ${js:-none}"
  fi
  cg_ns=$(kv "$c" ns_per_eval); js_ns=$(kv "$js" ns_per_eval)
  r=$(ratio "$js_ns" "$cg_ns")
  ok=no
  [[ -n $js_ns && -n $cg_ns && $(echo "$js_ns >= 20 * $cg_ns" | bc) == 1 ]] && ok=yes
  figure_line "flags_eval_inprocess cellgate_ns_per_eval=$cg_ns flagd_core_ns_per_eval=${js_ns:-null} speedup=$r goal_speedup=20 ok=$ok"
  fig "flags_eval_inprocess" "what=every flag of bench/flags_doc.json for 1000 contexts, $FLAGS_ITERS rounds, one thread; cellgate: cg_flags_* (libcellgate), peer: @openfeature/flagd-core resolve() on Node.js" \
    "cellgate_ns_per_eval=$cg_ns" "flagd_core_ns_per_eval=${js_ns:-null}" "speedup=$r" "goal_speedup=20" "ok=$ok"

  # OFREP bulk: one cell, a flags config, an agent token; the same context every time
  agent_setup "$BENCH_TMP/cg-ofrep" 1 0
  code=$(cg_api POST /v1/configs '{"name":"bench-flags","kind":"flags","contract":{}}')
  [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "create bench-flags: HTTP $code"; }
  code=$(cg_api POST /v1/configs/bench-flags/versions "$(cat "$BENCH_DIR/flags_doc.json")")
  [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "publish bench-flags: HTTP $code"; }
  code=$(cg_api POST /v1/configs/bench-flags/assign '{"version":1,"cells":["cell-0000"],"force":true,"reason":"bench"}')
  [[ $code == 201 ]] || { cat "$BENCH_TMP/resp" >&2; die "assign bench-flags: HTTP $code"; }
  body='{"context":{"targetingKey":"user-42","email":"a@example.com","plan":"pro","seats":12,"version":"4.3.0"}}'
  etag=$(curl -sS -D - -o /dev/null -X POST -H "Authorization: Bearer $AG_TOKEN" -H 'Content-Type: application/json' \
    -d "$body" "$CG_URL/ofrep/v1/evaluate/flags" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}')
  [[ -n $etag ]] || die "no ETag on the OFREP bulk evaluation"
  local o304 o200
  o304=$(BODY="$body" EXPECT=304 TAG=cellgate_ofrep_bulk_304 run_wrk "$BENCH_TMP/ofrep_304.txt" "$CG_PID" \
    -t2 -c64 -d"$DUR" --latency -s "$BENCH_DIR/ofrep.lua" -H "Authorization: Bearer $AG_TOKEN" \
    -H "If-None-Match: $etag" "$CG_URL/ofrep/v1/evaluate/flags")
  say "$o304"
  o200=$(BODY="$body" EXPECT=200 TAG=cellgate_ofrep_bulk_200 run_wrk "$BENCH_TMP/ofrep_200.txt" "$CG_PID" \
    -t2 -c64 -d"$DUR" --latency -s "$BENCH_DIR/ofrep.lua" -H "Authorization: Bearer $AG_TOKEN" \
    "$CG_URL/ofrep/v1/evaluate/flags")
  say "$o200"
  stop_pid "$CG_PID"
  figure_line "ofrep_bulk rps_304=$(kv "$o304" rps) p99_ms_304=$(kv "$o304" p99_ms) rps_200=$(kv "$o200" rps) p99_ms_200=$(kv "$o200" p99_ms) flags=6"
  fig "ofrep_bulk" "what=POST /ofrep/v1/evaluate/flags, 6 flags, one context, 64 conns: If-None-Match answered 304, and evaluated (200)" \
    "rps_304=$(kv "$o304" rps)" "rps_200=$(kv "$o200" rps)"
}

# ---------------------------------------------------------------------------
FANOUT_REPLICAS_N=${FANOUT_REPLICAS_N:-15000}
FANOUT_REPLICAS_ROUNDS=${FANOUT_REPLICAS_ROUNDS:-5}

bench_fanout_replicas3() {
  local n=$FANOUT_REPLICAS_N rounds=$FANOUT_REPLICAS_ROUNDS bin="$BUILD/bench/bench_fanout"
  local name dsn dir ports pids out base st bst res bres vers ok r k mr
  name="fanout_replicas3_n$n"
  say "== $name: $n parked long-polls over 3 replicas on PostgreSQL, one assign through one ($rounds rounds) =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  raise_nofile $((n + 256)) || die "ulimit -Hn $(ulimit -Hn) < $((n + 256)): $n polls do not fit"
  start_pg
  dsn=$(new_pg_db fanout_replicas3)
  dir="$BENCH_TMP/cg-fanout-rep"
  # each replica could hold all n: the baseline parks them all on r0
  start_replicas "$dsn" "$dir" 3 --max-conns $((n + 1024)) --max-parked $((n + 1024))
  agent_populate "$dir" 1 1900
  wait_replicas_caught_up
  note "desired body: $AG_BODY_BYTES bytes ($AG_NCONFIGS assignments); replicas ${RP_URLS[*]}"
  ports=$(IFS=,; echo "${RP_PORTS[*]}")
  pids=$(IFS=,; echo "${RP_PIDS[*]}")
  out="$BENCH_TMP/cg_fanout_rep.txt"
  timeout 900 "$bin" -p "$ports" -a "$CG_TOKEN" -k "$AG_TOKENS" -c "$AG_CONFIG" -v 1,2 \
    -n "$n" -r "$rounds" -w 60 -T 60 -P "$pids" -o "$BENCH_TMP/cg_fanout_rep.csv" >"$out" 2>&1 ||
    note "bench_fanout -p $ports -n $n exited $?"
  sed 's/^/  /' "$out"
  say "  r1: $(replica_metrics "${RP_URLS[1]}" | tr '\n' ' ')"
  # baseline: all n on r0; the cells are on v2 after an odd number of rounds
  vers=1,2
  ((rounds % 2)) && vers=2,1
  sleep 1
  base="$BENCH_TMP/cg_fanout_one.txt"
  timeout 900 "$bin" -p "${RP_PORTS[0]}" -a "$CG_TOKEN" -k "$AG_TOKENS" -c "$AG_CONFIG" -v "$vers" \
    -n "$n" -r "$rounds" -w 60 -T 60 -P "${RP_PIDS[0]}" -o "$BENCH_TMP/cg_fanout_one.csv" >"$base" 2>&1 ||
    note "bench_fanout -p ${RP_PORTS[0]} -n $n exited $?"
  sed 's/^/  one replica: /' "$base"
  for k in "${!RP_PIDS[@]}"; do
    kill -0 "${RP_PIDS[$k]}" 2>/dev/null || { tail -20 "${RP_LOGS[$k]}" >&2; die "replica r$k died during $name"; }
  done
  stop_replicas
  res=$(grep '^RESULT' "$out" | tail -1)
  bres=$(grep '^RESULT' "$base" | tail -1)
  [[ -n $res ]] || die "bench_fanout over the replicas printed no RESULT (see above)"
  st=$(fanout_csv_stats "$BENCH_TMP/cg_fanout_rep.csv")
  bst=null
  [[ -n $bres ]] && bst=$(fanout_csv_stats "$BENCH_TMP/cg_fanout_one.csv")
  r=$(ratio "$(kv "$st" p100_ms)" "$(kv "$bst" p100_ms)")
  # the reported round (the median by p100 from the request): its ROUND line
  mr=$(grep "^ROUND $(kv "$st" median_round) " "$out")
  ok=no
  [[ $(kv "$res" rounds_complete) == "$(kv "$res" rounds)" && $(echo "$(kv "$st" p100_ms) < 1000" | bc) == 1 ]] && ok=yes
  figure_line "$name cellgate_p100_ms=$(kv "$st" p100_ms) goal_ms=1000 ok=$ok p50_ms=$(kv "$st" p50_ms) p99_ms=$(kv "$st" p99_ms) writer_p100_ms=$(kv "$st" writer_p100_ms) nonwriter_p100_ms=$(kv "$st" nonwriter_p100_ms) worst_round_p100_ms=$(kv "$st" worst_p100_ms) received=$(kv "$mr" received) rounds_complete=$(kv "$res" rounds_complete)/$(kv "$res" rounds) assign_ack_ms=$(kv "$mr" assign_ack_ms) one_replica_p100_ms=$(kv "$bst" p100_ms) one_replica_p99_ms=$(kv "$bst" p99_ms) ratio_vs_one_replica=$r"
  fig "$name" \
    "what=$n long-polls GET /v1/agent/desired?wait=60 of one cell (body $AG_BODY_BYTES bytes) spread over 3 cellgated replicas of one PostgreSQL store; one POST /v1/configs/NAME/assign through replica r0; ms from writing the assign to each poll's 200; the median of $rounds rounds by p100" \
    "load=bench/bench_fanout -p PORT0,PORT1,PORT2 -n $n -r $rounds (epoll, 1 thread)" \
    "p50_ms=$(kv "$st" p50_ms)" "p99_ms=$(kv "$st" p99_ms)" "p100_ms=$(kv "$st" p100_ms)" \
    "writer_p100_ms=$(kv "$st" writer_p100_ms)" "nonwriter_p100_ms=$(kv "$st" nonwriter_p100_ms)" \
    "worst_round_p100_ms=$(kv "$st" worst_p100_ms)" "received=$(kv "$mr" received)" \
    "rounds=$(kv "$res" rounds)" "rounds_complete=$(kv "$res" rounds_complete)" \
    "assign_ack_ms=$(kv "$mr" assign_ack_ms)" "idle_rss_kb=$(kv "$res" idle_rss_kb)" "parked_rss_kb=$(kv "$res" parked_rss_kb)" \
    "goal_ms=1000" "ok=$ok" "ok_rule=median round's p100 (from the request) < goal_ms, every poll answered in every round" \
    "one_replica.what=the same $n polls parked on r0 alone (the replica that takes the assign), same run" \
    "one_replica.p50_ms=$(kv "$bst" p50_ms)" "one_replica.p99_ms=$(kv "$bst" p99_ms)" "one_replica.p100_ms=$(kv "$bst" p100_ms)" \
    "one_replica.rounds_complete=$(kv "$bres" rounds_complete)" \
    "ratio_vs_one_replica=$r" "ratio_of=p100 over 3 replicas / p100 on one replica (lower is better)"
}

# ---------------------------------------------------------------------------
# wake_nonwriter: the wake-up of a parked long-poll on a replica that did
# not take the write. 3 replicas of one PostgreSQL store; one poll parked
# on each; WAKE_ASSIGNS (200) assigns through r0 (settle 100 ms between
# them); p50/p99/max from the request over the polls of r1 and r2 (2 per
# assign), next to the writer's own poll (r0) as the reference.
# ---------------------------------------------------------------------------
WAKE_ASSIGNS=${WAKE_ASSIGNS:-200}

bench_wake_nonwriter() {
  local bin="$BUILD/bench/bench_fanout" dsn dir ports pids out res st ok r99 r50 m
  say "== wake_nonwriter: parked polls on the replicas that did not take the write, $WAKE_ASSIGNS assigns =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  start_pg
  dsn=$(new_pg_db wake_nonwriter)
  dir="$BENCH_TMP/cg-wake"
  start_replicas "$dsn" "$dir" 3
  agent_populate "$dir" 1 1900
  wait_replicas_caught_up
  ports=$(IFS=,; echo "${RP_PORTS[*]}")
  pids=$(IFS=,; echo "${RP_PIDS[*]}")
  out="$BENCH_TMP/cg_wake.txt"
  timeout 600 "$bin" -p "$ports" -a "$CG_TOKEN" -k "$AG_TOKENS" -c "$AG_CONFIG" -v 1,2 \
    -n 3 -r "$WAKE_ASSIGNS" -s 100 -w 60 -T 30 -P "$pids" -o "$BENCH_TMP/cg_wake.csv" >"$out" 2>&1 ||
    note "bench_fanout -n 3 -r $WAKE_ASSIGNS exited $?"
  grep -v '^ROUND\|^REPARKED' "$out" | sed 's/^/  /'
  m=$(replica_metrics "${RP_URLS[1]}" | tr '\n' ' ')
  say "  r1: $m"
  stop_replicas
  res=$(grep '^RESULT' "$out" | tail -1)
  [[ -n $res ]] || die "bench_fanout printed no RESULT (see above)"
  st=$(fanout_csv_stats "$BENCH_TMP/cg_wake.csv")
  r50=$(ratio "$(kv "$st" pooled_nonwriter_p50_ms)" "$(kv "$st" pooled_writer_p50_ms)" 2)
  r99=$(ratio "$(kv "$st" pooled_nonwriter_p99_ms)" "$(kv "$st" pooled_writer_p99_ms)" 2)
  figure_line "wake_nonwriter assigns=$(kv "$st" rounds) samples=$(kv "$st" pooled_nonwriter_n) p50_ms=$(kv "$st" pooled_nonwriter_p50_ms) p99_ms=$(kv "$st" pooled_nonwriter_p99_ms) max_ms=$(kv "$st" pooled_nonwriter_max_ms) writer_p50_ms=$(kv "$st" pooled_writer_p50_ms) writer_p99_ms=$(kv "$st" pooled_writer_p99_ms) writer_max_ms=$(kv "$st" pooled_writer_max_ms) ratio_p50=$r50 ratio_p99=$r99 from_ack_p50_ms=$(kv "$st" pooled_nonwriter_ack_p50_ms) from_ack_p99_ms=$(kv "$st" pooled_nonwriter_ack_p99_ms) rounds_complete=$(kv "$res" rounds_complete)/$(kv "$res" rounds)"
  fig wake_nonwriter \
    "what=one long-poll parked on each of 3 replicas of one PostgreSQL store, $WAKE_ASSIGNS assigns through r0 (100 ms apart); ms from writing the assign to the 200 of the polls on r1 and r2 (the replicas that did not take the write), pooled; r0's own poll as the reference" \
    "load=bench/bench_fanout -p PORT0,PORT1,PORT2 -n 3 -r $WAKE_ASSIGNS -s 100" \
    "assigns=$(kv "$st" rounds)" "samples=$(kv "$st" pooled_nonwriter_n)" \
    "p50_ms=$(kv "$st" pooled_nonwriter_p50_ms)" "p99_ms=$(kv "$st" pooled_nonwriter_p99_ms)" "max_ms=$(kv "$st" pooled_nonwriter_max_ms)" \
    "from_ack_p50_ms=$(kv "$st" pooled_nonwriter_ack_p50_ms)" "from_ack_p99_ms=$(kv "$st" pooled_nonwriter_ack_p99_ms)" \
    "writer.p50_ms=$(kv "$st" pooled_writer_p50_ms)" "writer.p99_ms=$(kv "$st" pooled_writer_p99_ms)" "writer.max_ms=$(kv "$st" pooled_writer_max_ms)" \
    "rounds_complete=$(kv "$res" rounds_complete)" \
    "ratio_p50=$r50" "ratio_p99=$r99" "ratio_of=non-writer / writer (from the request; lower is better)" \
    "replica_metrics_r1=$m"
}

# ---------------------------------------------------------------------------
# failover: FAILOVER_KILLS (20) SIGKILLs of the leader of 3 replicas on
# PostgreSQL with --lease-ttl-ms FAILOVER_TTL_MS (1500), the killed one
# restarted each time (bench/failover.py); median and max time from the
# kill to the new term, against the bound ttl + one renewal = ttl * 4/3.
# ---------------------------------------------------------------------------
FAILOVER_KILLS=${FAILOVER_KILLS:-20}
FAILOVER_TTL_MS=${FAILOVER_TTL_MS:-1500}

bench_failover() {
  local name="failover_kills$FAILOVER_KILLS" dsn out line k
  say "== $name: SIGKILL of the leader of 3 replicas, $FAILOVER_KILLS times, --lease-ttl-ms $FAILOVER_TTL_MS =="
  start_pg
  dsn=$(new_pg_db failover)
  out=$(timeout 900 python3 "$BENCH_DIR/failover.py" --build "$BUILD" --dsn "$dsn" \
    --work "$BENCH_TMP/failover" --replicas 3 --ttl-ms "$FAILOVER_TTL_MS" \
    --kills "$FAILOVER_KILLS" 2>"$BENCH_TMP/failover.err") ||
    { cat "$BENCH_TMP/failover.err" >&2; say "$out"; die "bench/failover.py failed"; }
  sed 's/^/  /' "$BENCH_TMP/failover.err"
  line=$(grep '^FIGURE failover ' <<<"$out")
  [[ -n $line ]] || die "bench/failover.py printed no FIGURE line"
  line=${line#FIGURE failover }
  figure_line "$name takeover_median_ms=$(kv "$line" median_ms) takeover_max_ms=$(kv "$line" max_ms) goal_ms=$(kv "$line" goal_ms) ok=$(kv "$line" ok) (ttl_ms=$(kv "$line" ttl_ms) + renew_ms=$(kv "$line" renew_ms)) p90_ms=$(kv "$line" p90_ms) min_ms=$(kv "$line" min_ms) seen_median_ms=$(kv "$line" seen_median_ms) seen_max_ms=$(kv "$line" seen_max_ms) leases_audited=$(kv "$line" leases_audited) audit_ok=$(kv "$line" audit_ok)"
  fig "$name" "what=SIGKILL of the controller's leader among 3 cellgated replicas of one PostgreSQL store, restarted under its id each time; ms from the kill to the new term's acquired time (PostgreSQL's clock, same machine) (bench/failover.py)" \
    "ok_rule=max_ms <= goal_ms (ttl + ttl/3), the audit chain verifies, one lease.acquire per kill (+1)"
  for k in $line; do fig "$name" "$k"; done
}

# ---------------------------------------------------------------------------
# ui_render: the dashboard's pages rendered with 1,000 cells and 10,000
# simulated hosts reporting (cellgate-sim), each page fetched N times with
# a session cookie; one line per page. bench/ui_render.py drives it.
# UI_RENDER_SHAPE=R,Z,C,H (default 10,10,10,10), UI_RENDER_N (default 50).
# No peer. Goal: p99 <= 50 ms and <= 100 KB per page (docs/dashboard.md).
# ---------------------------------------------------------------------------
bench_ui_render() {
  local out line name
  say "== ui_render: dashboard pages, 1,000 cells, 10,000 hosts reporting =="
  [[ -x $BUILD/sim/cellgate-sim ]] || die "no $BUILD/sim/cellgate-sim (run make build)"
  raise_nofile 20000 || note "open-file hard limit below 20000: 10,000 hosts may not fit"
  out=$(timeout 900 python3 "$BENCH_DIR/ui_render.py" --build "$BUILD" \
    --work "$BENCH_TMP/ui_render" 2>"$BENCH_TMP/ui_render.err") ||
    { cat "$BENCH_TMP/ui_render.err" >&2; say "$out"; die "bench/ui_render.py failed"; }
  sed 's/^/  /' "$BENCH_TMP/ui_render.err"
  while read -r line; do
    name="ui_render_$(kv "$line" page)"
    figure_line "$line"
    fig "$name" "what=GET of the dashboard page with a session, 1,000 cells and 10,000 simulated hosts reporting, one keep-alive connection on 127.0.0.1 (bench/ui_render.py)" \
      "ok_rule=p99_ms <= goal_p99_ms and bytes <= 102400"
    for kv in ${line#ui_render }; do fig "$name" "$kv"; done
  done < <(grep '^ui_render ' <<<"$out")
  grep -q '^ui_render ' <<<"$out" || die "bench/ui_render.py printed no ui_render line"
}

# ---------------------------------------------------------------------------
# backup: `cellgated backup create`, `verify`, `restore` and GET /v1/state
# on a store with 1,000 cells and 10,000 simulated hosts reporting (their
# views are rows of the store), while they go on reporting.
# bench/backup.py drives it. BACKUP_SHAPE=R,Z,C,H, BACKUP_N (default 5).
# No peer, no goal: figures for planning (docs/operations.md).
# ---------------------------------------------------------------------------
bench_backup() {
  local out line name
  say "== backup: create, verify, restore, state at T with 10,000 hosts reporting =="
  [[ -x $BUILD/sim/cellgate-sim ]] || die "no $BUILD/sim/cellgate-sim (run make build)"
  raise_nofile 20000 || note "open-file hard limit below 20000: 10,000 hosts may not fit"
  out=$(timeout 900 python3 "$BENCH_DIR/backup.py" --build "$BUILD" \
    --work "$BENCH_TMP/backup" 2>"$BENCH_TMP/backup.err") ||
    { cat "$BENCH_TMP/backup.err" >&2; say "$out"; die "bench/backup.py failed"; }
  sed 's/^/  /' "$BENCH_TMP/backup.err"
  while read -r line; do
    name=${line%% *}
    figure_line "$line"
    fig "$name" "what=the command (or GET /v1/state) on a store of 1,000 cells and 10,000 simulated hosts reporting meanwhile (bench/backup.py)"
    for kv in ${line#* }; do fig "$name" "$kv"; done
  done < <(grep -E '^(backup_|state_at |history_save )' <<<"$out")
  grep -q '^backup_create ' <<<"$out" || die "bench/backup.py printed no backup_create line"
}

# ---------------------------------------------------------------------------
# correlate: change correlation (docs/correlation.md "Ranking"). Accuracy on
# simulated faults with a known cause (a bad change, a zone or host fault
# without a change, a change that lands with an unrelated fault, a fault
# that began before a change): the confusion per truth, top-1 precision,
# recall, and changes blamed that reached the hosts after the onset; then
# the latency of ops_correlate() over 90 days of history (1,000 cells,
# 10,000 hosts, CORR_BENCH_CHANGES changes, millions of exposure rows).
# Knobs: CORR_BENCH_TRIALS (64 per truth), CORR_BENCH_CHANGES (30000),
# CORR_BENCH_QUERIES (200), CORR_BENCH_HOSTS_PER_CELL (10),
# CORR_BENCH_SKIP_LATENCY=1 (bench/bench_correlate.c).
# ---------------------------------------------------------------------------
bench_correlate() {
  local bin="$BUILD/bench/bench_correlate" out line k
  say "== correlate: ${CORR_BENCH_TRIALS:-64} seeded trials per truth; ops_correlate over 90 days of history =="
  [[ -x $bin ]] || die "no $bin (run make build)"
  out=$(CORR_BENCH_DIR=$BENCH_TMP timeout 900 "$bin" 2>"$BENCH_TMP/correlate.err") ||
    { cat "$BENCH_TMP/correlate.err" >&2; die "bench_correlate failed"; }
  sed 's/^/  /' "$BENCH_TMP/correlate.err"
  fig correlate "what=ranking of candidate changes for a fault (server/ops/correlate.c) on simulated ground truth, 6 zones x 6 cells x 8 hosts, over-dispersed errors; latency of ops_correlate() on a SQLite store holding 90 days (bench/bench_correlate.c)" \
    "ok_rule=precision_top1 >= 0.95, recall >= 0.99, vetoed_before_change_blamed = 0; latency p99 <= 100 ms"
  while read -r line; do
    figure_line "$line"
    case $line in
    correlate_confusion_*)
      for k in $line; do [[ $k == *=* ]] && fig correlate "confusion.$(kv "$line" truth).$k"; done
      ;;
    correlate_latency*)
      for k in $line; do [[ $k == *=* ]] && fig correlate "latency.$k"; done
      ;;
    correlate\ *)
      for k in $line; do [[ $k == *=* ]] && fig correlate "$k"; done
      ;;
    esac
  done < <(grep '^correlate' <<<"$out")
  grep -q '^correlate precision_top1=' <<<"$out" || die "bench_correlate printed no summary line"
}

# ---------------------------------------------------------------------------
# drills: real time of each change drill (docs/drills.md) on 100 cells in
# 3 regions x 3 zones with DRILL_HOSTS (10) hosts per cell, DRILL_N (3)
# times each, through the API of one cellgated (bench/drills.py). Goal: all
# five in one request under 10 s.
# ---------------------------------------------------------------------------
bench_drills() {
  local out line name
  say "== drills: each scenario on 100 cells, ${DRILL_HOSTS:-10} hosts per cell =="
  out=$(timeout 900 python3 "$BENCH_DIR/drills.py" --build "$BUILD" \
    --work "$BENCH_TMP/drills" 2>"$BENCH_TMP/drills.err") ||
    { cat "$BENCH_TMP/drills.err" >&2; say "$out"; die "bench/drills.py failed"; }
  while read -r line; do
    name=${line%% *}
    figure_line "$line"
    fig "$name" "what=POST /v1/configs/NAME/drills on 100 cells (3 regions x 3 zones), the real controller on a scratch store in virtual time (bench/drills.py)"
    for kv in ${line#* }; do fig "$name" "$kv"; done
  done < <(grep '^drill_' <<<"$out")
  grep -q '^drill_all ' <<<"$out" || die "bench/drills.py printed no drill_all line"
}

# ---------------------------------------------------------------------------

main() {
  local names=("$@") n
  ((${#names[@]})) || names=("${BENCHES[@]}")
  for n in "${names[@]}"; do
    declare -F "bench_$n" >/dev/null || die "unknown benchmark '$n' (known: ${BENCHES[*]})"
  done

  bash "$ROOT/scripts/deps.sh" --bench
  for n in wrk etcd bc python3 curl; do
    command -v "$n" >/dev/null || die "$n missing (scripts/deps.sh --bench)"
  done
  # the HA benchmarks start a PostgreSQL (the package make test needs too)
  if [[ " ${names[*]} " =~ \ (publish_pg|fanout_replicas3|wake_nonwriter|failover)\  ]]; then
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || [[ -n ${CG_PG_BINDIR:-} ]] ||
      die "PostgreSQL missing (Debian package postgresql; scripts/deps.sh)"
    command -v psql >/dev/null || die "psql missing (Debian package postgresql-client)"
  fi

  say "== machine =="
  machine_facts "$ROOT"
  say "build: $BUILD  duration: $DUR  benchmarks: ${names[*]}"
  for n in "${names[@]}"; do
    "bench_$n"
    write_json "$RESULTS" # after each one, so a later failure keeps earlier figures
  done

  say "== figures =="
  printf '%s\n' "${SUMMARY[@]}"
  say "(written to ${RESULTS#"$ROOT"/})"
}

main "$@"
