#!/usr/bin/env bash
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

BENCHES=(publish validate)
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
  perf report -i "$BENCH_TMP/perf.data" --stdio --no-children --sort symbol 2>/dev/null |
    grep -E '^ +[0-9]' | head -25
  say "--- perf profile ($1, by shared object) ---"
  perf report -i "$BENCH_TMP/perf.data" --stdio --no-children --sort dso 2>/dev/null |
    grep -E '^ +[0-9]' | head -10
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

bench_publish() {
  local etcd_line cg_line cfg i code seed stored
  say "== publish_2kb_c16: cellgated publish vs etcd 3.4 put (2 KB, 16 conns, $DUR) =="

  # Peer: the peer folder's own script and settings. The disk is the
  # bottleneck of both, so its fdatasync latency is probed before each phase.
  local etcd_disk cg_disk
  etcd_disk=$(fsync_probe "$BENCH_TMP")
  start_etcd
  etcd_line=$(cd "$PEERS" && VSIZE=2048 TAG=etcd_put_v2048 PEERS_DIR="$PEERS" \
    run_wrk "$BENCH_TMP/etcd_put.txt" "$ETCD_PID" \
    -t2 -c16 -d"$DUR" --latency -s etcd_put.lua http://127.0.0.1:23790/v3/kv/put)
  say "$etcd_line"
  stop_etcd

  # cellgated: fresh data dir, 16 configs, one seed version each (so every
  # measured publish also runs the growth checks against a live version).
  start_cellgated "$BUILD" "$BENCH_TMP/cg-publish"
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

  cg_disk=$(fsync_probe "$BENCH_TMP")
  perf_start "$CG_PID"
  cg_line=$(CG_TOKEN=$CG_TOKEN BENCH_THREADS=2 NCONFIGS=$PUBLISH_CONFIGS \
    DOC_BYTES=2048 TAG=cellgate_publish_2kb_c16 \
    run_wrk "$BENCH_TMP/cg_publish.txt" "$CG_PID" \
    -t2 -c16 -d"$DUR" --latency -s "$BENCH_DIR/publish.lua" "$CG_URL/")
  say "$cg_line"
  perf_stop publish

  # Cross-check: versions stored = seeds + 201s counted by wrk.
  code=$(cg_api GET /v1/configs)
  stored=$(python3 -c 'import json,sys; print(sum(c["latest_version"] for c in json.load(open(sys.argv[1]))["configs"]))' \
    "$BENCH_TMP/resp" 2>/dev/null || echo unknown)
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

  figure_line "publish_2kb_c16 cellgate_rps=$cg_rps etcd_rps=$etcd_rps ratio=$(ratio "$cg_rps" "$etcd_rps") p50_ms=$(kv "$cg_line" p50_ms) p99_ms=$(kv "$cg_line" p99_ms) errors=$errors non201=$not_ok codes=$(kv "$cg_line" codes) etcd_p50_ms=$(kv "$etcd_line" p50_ms) etcd_p99_ms=$(kv "$etcd_line" p99_ms) cg_cpu_s=$(kv "$cg_line" server_cpu_s) etcd_cpu_s=$(kv "$etcd_line" server_cpu_s) cg_write_kb_per_op=$(ratio "$(kv "$cg_line" server_write_kb)" "$cg_ok" 1) etcd_write_kb_per_op=$(ratio "$(kv "$etcd_line" server_write_kb)" "$(kv "$etcd_line" req)" 1) disk_fsync_p50_ms=$(kv "$cg_disk" p50_ms)/$(kv "$etcd_disk" p50_ms)"

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
