#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/peers/run_watch_bench.sh "N..." "V..." [ROUNDS] [SUFFIX]: etcd's
# watch fan-out, the peer figure of bench/run.sh's fanout benchmark. For
# each watcher count N and value size V it runs watch_fanout (built here
# from watch_fanout.c into $PEER_RUN/bin) against the etcd of
# start_etcd.sh: N watches on one key, ROUNDS puts (default 10) 1 s apart.
# Each run is bounded by `timeout 300` and its own per-phase deadlines.
# Prints "== N=.. V=.." before each run, then watch_fanout's lines, then
# "exit=CODE"; keeps a copy and the per-watcher CSV in $PEER_RUN/raw/ as
# watch_nN_vV[SUFFIX].{txt,csv}.
set -euo pipefail
# shellcheck source=peers.sh
. "$(dirname "$0")/peers.sh"

ns=${1:-1000 5000}
vs=${2:-2048}
rounds=${3:-10}
suffix=${4:-}
pid=$(peer_pid etcd "$PEER_RUN/etcd.pid") || peer_die "no etcd running from start_etcd.sh"

bin=$PEER_RUN/bin/watch_fanout
src=$PEERS_HERE/watch_fanout.c
if [[ ! -x $bin || $src -nt $bin ]]; then
  mkdir -p "$PEER_RUN/bin"
  gcc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$bin" "$src"
fi
mkdir -p "$PEER_RUN/raw"

for n in $ns; do
  for v in $vs; do
    out=$PEER_RUN/raw/watch_n${n}_v${v}${suffix}
    echo "== N=$n V=$v $(date +%T)"
    set +e
    timeout 300 "$bin" -n "$n" -r "$rounds" -v "$v" -g 1000 -T 30 -P "$pid" -o "$out.csv" 2>&1 |
      tee "$out.txt"
    rc=${PIPESTATUS[0]}
    set -e
    echo "exit=$rc"
    sleep 2
  done
done
