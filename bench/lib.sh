# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/lib.sh: shared helpers for bench/run.sh (sourced, not executed).
#
# Everything a benchmark starts is registered with track_pid and stopped by
# PID on exit; every temporary file lives under one mktemp -d directory
# ($BENCH_TMP) that is removed on exit. Servers listen on 127.0.0.1 only.

BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cellgate-bench.XXXXXX")
BENCH_PIDS=()
FIGURES="$BENCH_TMP/figures.tsv"
: >"$FIGURES"

say() { printf '%s\n' "$*"; }
note() { printf '  %s\n' "$*" >&2; }
die() {
  printf 'bench: %s\n' "$*" >&2
  exit 1
}

track_pid() { BENCH_PIDS+=("$1"); }

# stop_pid PID: TERM, wait up to 5 s, then KILL. Only PIDs we started.
stop_pid() {
  local p=$1 i
  [[ -n $p ]] || return 0
  kill -0 "$p" 2>/dev/null || return 0
  kill "$p" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$p" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$p" 2>/dev/null || true
}

bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do stop_pid "$p"; done
  stop_pg
  # wait only reaps our own children; ignore the rest.
  wait 2>/dev/null || true
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# cpu_ticks PID...: utime+stime clock ticks (all threads) of the given PIDs.
cpu_ticks() {
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
cpu_seconds() { echo "scale=2; $1 / $(getconf CLK_TCK)" | bc; } # ticks -> seconds

# kv LINE KEY: value of KEY=value in a "key=value key=value" line.
kv() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<" $1" | head -1; }

# ratio A B [scale]: A/B, or "null" when B is 0 or empty.
ratio() {
  local a=${1:-0} b=${2:-0}
  if [[ -z $b || $(echo "$b == 0" | bc) == 1 ]]; then
    echo null
  else
    echo "scale=${3:-3}; x=$a / $b; if (x < 1 && x > 0) print 0; x" | bc
  fi
}

# fig NAME key=value...: record a figure for results JSON. Dotted keys
# nest (peer.rps=...); numbers stay numbers, everything else is a string.
fig() {
  local name=$1
  shift
  local kvp
  for kvp in "$@"; do printf '%s\t%s\t%s\n' "$name" "${kvp%%=*}" "${kvp#*=}" >>"$FIGURES"; done
}

# fsync_probe DIR: latency of 300 appends of 2 KB + fdatasync in DIR (the
# file system the servers' data dirs are on). Disk speed dominates the
# publish/put figures and varies between runs on a shared VM.
fsync_probe() {
  python3 - "$1" <<'EOF'
import os, sys, time
path = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
buf, t = b"x" * 2048, []
for _ in range(300):
    t0 = time.perf_counter(); os.write(fd, buf); os.fdatasync(fd); t.append(time.perf_counter() - t0)
os.close(fd); os.unlink(path); t.sort()
print("p50_ms=%.3f p99_ms=%.3f" % (t[len(t) // 2] * 1e3, t[int(len(t) * 0.99)] * 1e3))
EOF
}

# machine_facts: print facts, one "key: value" a line, and keep them for JSON.
MACHINE_FACTS="$BENCH_TMP/machine.tsv"
machine_facts() {
  local root=$1 commit dirty
  commit=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)
  dirty=no
  [[ -n $(git -C "$root" --no-optional-locks status --porcelain 2>/dev/null) ]] && dirty=yes
  {
    printf 'date\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'commit\t%s\n' "$commit"
    printf 'worktree_dirty\t%s\n' "$dirty"
    printf 'nproc\t%s\n' "$(nproc)"
    printf 'cpu_model\t%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    printf 'kernel\t%s\n' "$(uname -sr)"
    printf 'os\t%s\n' "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    printf 'mem_total\t%s\n' "$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
    printf 'tmp_fs\t%s\n' "$(df -PT "$BENCH_TMP" | awk 'NR==2 {print $2}')"
    printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
    printf 'fdatasync_2kb\t%s\n' "$(fsync_probe "$BENCH_TMP")"
  } >"$MACHINE_FACTS"
  sed 's/\t/: /' "$MACHINE_FACTS"
}

# write_json FILE: machine facts + figures as one JSON document.
write_json() {
  python3 - "$MACHINE_FACTS" "$FIGURES" "$1" <<'EOF'
import json, re, sys
facts, figs, out = sys.argv[1:4]
num = re.compile(r'^-?\d+(\.\d+)?([eE][-+]?\d+)?$')
def val(v):
    if num.match(v): return float(v) if ('.' in v or 'e' in v.lower()) else int(v)
    return {'null': None, 'true': True, 'false': False}.get(v, v)
doc = {}
for line in open(facts):
    k, _, v = line.rstrip('\n').partition('\t')
    doc[k] = val(v) if k == 'nproc' else v
doc['figures'] = {}
for line in open(figs):
    name, k, v = line.rstrip('\n').split('\t', 2)
    d = doc['figures'].setdefault(name, {})
    *path, last = k.split('.')
    for p in path: d = d.setdefault(p, {})
    d[last] = val(v)
with open(out, 'w') as f:
    json.dump(doc, f, indent=2); f.write('\n')
EOF
}

# ---- cellgated ----------------------------------------------------------

# start_cellgated BUILD_DIR DATA_DIR: fresh server on an ephemeral port.
# Sets CG_PID, CG_URL, CG_TOKEN, CG_LOG.
start_cellgated() {
  local bin=$1/server/cellgated data=$2 i
  [[ -x $bin ]] || die "no $bin (run make build)"
  CG_LOG="$data.log"
  rm -f "$data.port"
  # CG_SERVE_ARGS: extra options, e.g. --no-poll-front to measure without the front
  # shellcheck disable=SC2086
  "$bin" serve --data "$data" --listen 127.0.0.1:0 --port-file "$data.port" ${CG_SERVE_ARGS:-} \
    >"$CG_LOG" 2>&1 &
  CG_PID=$!
  track_pid "$CG_PID"
  for ((i = 0; i < 100; i++)); do
    [[ -s $data.port ]] && grep -q 'listening' "$CG_LOG" && break
    kill -0 "$CG_PID" 2>/dev/null || { cat "$CG_LOG" >&2; die "cellgated exited"; }
    sleep 0.1
  done
  [[ -s $data.port ]] || { cat "$CG_LOG" >&2; die "cellgated did not start"; }
  CG_URL="http://127.0.0.1:$(cat "$data.port")"
  CG_TOKEN=$(grep -o 'cg_[A-Za-z0-9_]*' "$CG_LOG" | head -1)
  [[ -n $CG_TOKEN ]] || die "no admin token in $CG_LOG"
}

# cg_api METHOD PATH [BODY]: one API call; prints the status, body to $BENCH_TMP/resp.
cg_api() {
  curl -sS -o "$BENCH_TMP/resp" -w '%{http_code}' -X "$1" \
    -H "Authorization: Bearer $CG_TOKEN" -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"} "$CG_URL$2"
}

# ---- PostgreSQL and replicas -----------------------------------------------

# start_pg: one throwaway PostgreSQL for the run (scripts/pg-local.sh:
# initdb into $BENCH_TMP/pg, 127.0.0.1, an ephemeral port, as the
# 'postgres' user when we are root), started on first use and stopped by
# its PID on exit. Sets PG_PID, PG_PORT. Each benchmark takes a fresh
# database from it (new_pg_db).
PG_LOCAL="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/pg-local.sh"
PG_DIR="$BENCH_TMP/pg"
PG_PID=""
start_pg() {
  [[ -n $PG_PID ]] && kill -0 "$PG_PID" 2>/dev/null && return 0
  chmod o+x "$BENCH_TMP" # PostgreSQL, as 'postgres', reaches its directory through it
  read -r PG_PORT PG_PID < <(bash "$PG_LOCAL" start "$PG_DIR") || die "PostgreSQL did not start"
  [[ -n $PG_PID ]] || die "PostgreSQL did not start"
  note "PostgreSQL $(psql -X -A -t -d "postgres://cellgate@127.0.0.1:$PG_PORT/postgres" -c 'SHOW server_version' 2>/dev/null | cut -d' ' -f1) on 127.0.0.1:$PG_PORT (pid $PG_PID)"
}
stop_pg() { # by the PID pg-local.sh wrote, also when start_pg was interrupted
  [[ -d $PG_DIR ]] || return 0
  bash "$PG_LOCAL" stop "$PG_DIR" || true
  PG_PID=""
}
# new_pg_db NAME: a fresh database NAME on our PostgreSQL; prints its DSN.
new_pg_db() { bash "$PG_LOCAL" createdb "$PG_DIR" "$1"; }
# pg_pids: the postmaster and its children (backends, WAL writer, ...), comma-separated.
pg_pids() {
  printf '%s' "$PG_PID"
  pgrep -P "$PG_PID" | sed 's/^/,/' | tr -d '\n'
}

# start_replicas DSN DIR N [serve args...]: `cellgated init --store DSN`
# once (data dir DIR/r0), the signing key copied to DIR/r1.., then N
# replicas r0..r(N-1) serving the store on ephemeral ports with the extra
# serve arguments. Sets RP_PIDS, RP_PORTS, RP_URLS (arrays), RP_LOGS, and
# CG_URL/CG_PID/CG_LOG (replica r0) and CG_TOKEN, so cg_api talks to r0.
start_replicas() {
  local dsn=$1 dir=$2 n=$3 bin="$BUILD/server/cellgated" k d i
  shift 3
  [[ -x $bin ]] || die "no $bin (run make build)"
  mkdir -p "$dir"
  "$bin" init --store "$dsn" --data "$dir/r0" >"$dir/init.out" 2>&1 ||
    { cat "$dir/init.out" >&2; die "cellgated init --store failed"; }
  CG_TOKEN=$(sed -n 's/^admin token[^:]*: *//p' "$dir/init.out")
  [[ -n $CG_TOKEN ]] || die "no admin token from init --store"
  RP_PIDS=() RP_PORTS=() RP_URLS=() RP_LOGS=()
  for ((k = 0; k < n; k++)); do
    d="$dir/r$k"
    mkdir -p "$d"
    [[ $k == 0 ]] || cp "$dir/r0/signing.key" "$d/"
    rm -f "$d.port"
    "$bin" serve --store "$dsn" --data "$d" --replica-id "r$k" --listen 127.0.0.1:0 \
      --port-file "$d.port" "$@" >"$d.log" 2>&1 </dev/null &
    RP_PIDS+=("$!")
    track_pid "$!"
    RP_LOGS+=("$d.log")
  done
  for ((k = 0; k < n; k++)); do
    d="$dir/r$k"
    for ((i = 0; i < 200; i++)); do
      [[ -s $d.port ]] && break
      kill -0 "${RP_PIDS[$k]}" 2>/dev/null || { cat "$d.log" >&2; die "replica r$k exited"; }
      sleep 0.1
    done
    [[ -s $d.port ]] || { cat "$d.log" >&2; die "replica r$k did not start"; }
    RP_PORTS+=("$(cat "$d.port")")
    RP_URLS+=("http://127.0.0.1:${RP_PORTS[$k]}")
  done
  CG_URL=${RP_URLS[0]} CG_PID=${RP_PIDS[0]} CG_LOG=${RP_LOGS[0]}
  # every replica in the list, one of them leading
  for ((i = 0; i < 100; i++)); do
    if [[ $(cg_api GET /v1/cluster) == 200 ]] && python3 -c 'import json,sys
d = json.load(open(sys.argv[1])); sys.exit(0 if d["leader"] and len(d["replicas"]) == int(sys.argv[2]) else 1)' \
      "$BENCH_TMP/resp" "$n"; then
      return 0
    fi
    sleep 0.1
  done
  die "the $n replicas did not agree on a leader within 10 s"
}
stop_replicas() {
  local p
  for p in "${RP_PIDS[@]}"; do stop_pid "$p"; done
}

# ---- peers (etcd, nginx) ------------------------------------------------

# The peer scripts are bench/peers/ in this repository (its README.md says
# what each does); PEERS_DIR may name another folder with the same scripts.
# They write everything (data dirs, logs, pid files, the watch_fanout they
# build, raw outputs) under PEER_RUN, which is ours: $BENCH_TMP/peer, removed
# on exit. Nothing is written next to the scripts.
PEERS_DIR=${PEERS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/peers}
PEER_RUN="$BENCH_TMP/peer"
export PEER_RUN
PEERS=""
peers_init() {
  [[ -n $PEERS ]] && return 0
  [[ -x $PEERS_DIR/start_etcd.sh ]] || die "peer scripts not found in $PEERS_DIR (bench/peers; or set PEERS_DIR)"
  PEERS=$(cd "$PEERS_DIR" && pwd)
  mkdir -p "$PEER_RUN"
}

# start_etcd: fresh etcd 3.4 on 127.0.0.1:23790 via the peer script. Sets ETCD_PID.
start_etcd() {
  peers_init
  if ! port_free 23790 || ! port_free 23800; then
    die "127.0.0.1:23790/23800 busy (another etcd?); not touching it"
  fi
  (cd "$PEERS" && ./start_etcd.sh fresh) >&2 || die "etcd did not start"
  ETCD_PID=$(cat "$PEER_RUN/etcd.pid")
  track_pid "$ETCD_PID"
}
stop_etcd() {
  stop_pid "${ETCD_PID:-}"
  rm -f "$PEER_RUN/etcd.pid"
}

# start_nginx [CONF]: nginx via the peer script (127.0.0.1:18080, 2 KB
# /cell.json; CONF relative to the peer folder, default nginx/nginx.conf;
# its files under $PEER_RUN/nginx). Sets NGINX_PID (master). Workers may run
# as nobody: our temp dirs get o+x.
start_nginx() {
  peers_init
  port_free 18080 || die "127.0.0.1:18080 busy (another nginx?); not touching it"
  chmod o+x "$BENCH_TMP" "$PEER_RUN"
  (cd "$PEERS" && ./start_nginx.sh "${1:-nginx/nginx.conf}") >&2 || die "nginx did not start"
  NGINX_PID=$(cat "$PEER_RUN/nginx/nginx.pid")
  track_pid "$NGINX_PID"
}
stop_nginx() {
  [[ -n ${NGINX_PID:-} ]] && kill -QUIT "$NGINX_PID" 2>/dev/null
  stop_pid "${NGINX_PID:-}"
}

# io_bytes PID: bytes PID has caused to be written to storage (/proc/PID/io).
io_bytes() { awk '/^write_bytes:/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }

# io_sum PID...: io_bytes summed over PIDs.
io_sum() {
  local t=0 p
  for p in "$@"; do t=$((t + $(io_bytes "$p"))); done
  echo "$t"
}

# run_wrk OUTFILE PID[,PID...] wrk-args...: runs wrk (bounded by its -d),
# prints its RESULT line plus, for the PIDs (all of a server's processes,
# e.g. nginx's master and workers) during the run, "server_cpu_s=.." (CPU
# seconds) and "server_write_kb=.." (KiB written to storage, fsync'd or not).
run_wrk() {
  local out=$1 c0 w0 line pids
  IFS=, read -r -a pids <<<"$2"
  shift 2
  c0=$(cpu_ticks "${pids[@]}")
  w0=$(io_sum "${pids[@]}")
  timeout 120 wrk "$@" >"$out" 2>&1 || note "wrk exited $? (see below)"
  line=$(grep '^RESULT' "$out" | tail -1)
  [[ -n $line ]] || { cat "$out" >&2; die "wrk printed no RESULT line"; }
  echo "$line server_cpu_s=$(cpu_seconds $(($(cpu_ticks "${pids[@]}") - c0))) server_write_kb=$((($(io_sum "${pids[@]}") - w0) / 1024))"
}

# vm_rss_kb PID: resident set of PID in KiB (/proc/PID/status VmRSS).
vm_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# median: median of the numbers on stdin (one a line), or empty.
median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }
