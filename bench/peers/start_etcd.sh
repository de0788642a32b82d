#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/peers/start_etcd.sh [fresh]: starts one etcd (3.4, Debian's
# etcd-server) for the benchmarks, on loopback only: clients on
# 127.0.0.1:23790, its peer port on 127.0.0.1:23800. Data in
# $PEER_RUN/etcd ("fresh" empties it first), log in $PEER_RUN/etcd.log, PID
# in $PEER_RUN/etcd.pid. Waits up to 10 s for /health; stop it with
# stop_etcd.sh (by that PID). Refuses to start when either port is taken.
set -euo pipefail
# shellcheck source=peers.sh
. "$(dirname "$0")/peers.sh"

command -v etcd >/dev/null || peer_die "etcd is not installed (scripts/deps.sh --bench)"
if pid=$(peer_pid etcd "$PEER_RUN/etcd.pid"); then
  peer_die "our etcd is already running (PID $pid); stop_etcd.sh first"
fi
for port in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT"; do
  peer_port_busy "$port" && peer_die "127.0.0.1:$port is in use; not touching it"
done

mkdir -p "$PEER_RUN"
if [[ ${1:-} == fresh ]]; then
  rm -rf "$PEER_RUN/etcd"
fi
client=http://127.0.0.1:$ETCD_CLIENT_PORT
peer=http://127.0.0.1:$ETCD_PEER_PORT
nohup etcd --name cellgate-peer --data-dir "$PEER_RUN/etcd" \
  --listen-client-urls "$client" --advertise-client-urls "$client" \
  --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
  --initial-cluster "cellgate-peer=$peer" --initial-cluster-state new \
  --log-level warn </dev/null >"$PEER_RUN/etcd.log" 2>&1 &
pid=$!
echo "$pid" >"$PEER_RUN/etcd.pid"

for ((i = 0; i < 50; i++)); do
  if curl -fsS --max-time 1 "$client/health" 2>/dev/null | grep -q '"health":"true"'; then
    echo "etcd up, PID $pid, $client (data $PEER_RUN/etcd)"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
echo "etcd did not become healthy; last lines of $PEER_RUN/etcd.log:" >&2
tail -20 "$PEER_RUN/etcd.log" >&2 || true
peer_stop etcd "$PEER_RUN/etcd.pid" TERM >&2
exit 1
