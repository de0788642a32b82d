# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/peers/peers.sh: shared by the peer scripts (sourced, not executed).
#
# PEER_RUN is the one directory the peers write to: data dirs, logs, pid
# files, the built watch_fanout and raw outputs. bench/lib.sh points it into
# its own temporary directory; run by hand it defaults to
# ${TMPDIR:-/tmp}/cellgate-peers. Nothing is written next to the scripts.

# shellcheck disable=SC2034 # the variables below are used by the scripts that source this file
PEER_RUN=${PEER_RUN:-${TMPDIR:-/tmp}/cellgate-peers}
PEERS_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The fixed loopback ports bench/run.sh talks to.
ETCD_CLIENT_PORT=23790
ETCD_PEER_PORT=23800
NGINX_PORT=18080

peer_die() {
  printf '%s: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}

# peer_port_busy PORT: true when something accepts on 127.0.0.1:PORT.
peer_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# peer_pid NAME PIDFILE: prints the PID from PIDFILE when that process is
# alive and is NAME (/proc/PID/comm), so a recycled PID is never taken for
# ours. False otherwise.
peer_pid() {
  local name=$1 file=$2 pid comm
  [[ -r $file ]] || return 1
  read -r pid <"$file" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == "$name" ]] || return 1
  echo "$pid"
}

# peer_wait_gone PID SECONDS: true once PID has exited, false after SECONDS.
peer_wait_gone() {
  local pid=$1 i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

# peer_stop NAME PIDFILE SIGNAL: stops the process named in PIDFILE, if it
# is NAME, with SIGNAL; after 10 s with TERM, after 15 s with KILL (and its
# direct children, which nginx's workers are). Removes PIDFILE.
peer_stop() {
  local name=$1 file=$2 sig=$3 pid kids
  if ! pid=$(peer_pid "$name" "$file"); then
    echo "$name: not running (no live $name PID in $file)"
    rm -f "$file"
    return 0
  fi
  kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)
  kill "-$sig" "$pid" 2>/dev/null || true
  if ! peer_wait_gone "$pid" 10; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! peer_wait_gone "$pid" 5; then
      # shellcheck disable=SC2086 # kids is a list of PIDs
      kill -KILL "$pid" $kids 2>/dev/null || true
    fi
  fi
  rm -f "$file"
  echo "$name $pid stopped"
}
