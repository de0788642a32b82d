#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/pg-local.sh: a throwaway PostgreSQL for the HA demo and benchmarks,
# started the way tests/helpers/pgserver.py starts the tests' one: initdb
# into a directory of its own, one postmaster on 127.0.0.1 with an ephemeral
# port (Unix socket in that directory), trust authentication for the
# superuser 'cellgate', stopped by its PID.
#
#   scripts/pg-local.sh start DIR        initdb DIR/data + start; prints "PORT PID"
#   scripts/pg-local.sh createdb DIR DB  an empty database; prints its DSN
#   scripts/pg-local.sh stop DIR         SIGINT (fast shutdown) by PID, KILL after 30 s
#   scripts/pg-local.sh tail DIR         the last lines of DIR/postgres.log
#
# DIR must not exist or be empty; it holds data/, sock/, postgres.log,
# port and pid. The caller removes DIR after stop.
#
# PostgreSQL refuses to run as root: as root, initdb and the postmaster run
# as the unprivileged 'postgres' user that Debian's package creates, through
# setpriv (which execs, so the PID kept is the postmaster's), and DIR is
# handed to that user; DIR's parent must let that user through (o+x). As any
# other user they run as that user. Settings: CG_PG_BINDIR (default: the
# newest /usr/lib/postgresql/*/bin), PG_SETTINGS ("name=value ..." passed
# as -c).
set -euo pipefail

SUPERUSER=cellgate
START_TIMEOUT_S=60
STOP_TIMEOUT_S=30

die() {
  printf 'pg-local: %s\n' "$*" >&2
  exit 1
}

bindir() {
  local d
  if [[ -n ${CG_PG_BINDIR:-} ]]; then
    echo "$CG_PG_BINDIR"
    return
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4,4n | tail -1)
  [[ -n $d && -x $d/postgres ]] ||
    die "PostgreSQL is not installed (Debian package 'postgresql'; scripts/deps.sh installs it)"
  echo "$d"
}

# as_pg CMD...: CMD as the user PostgreSQL runs as (execs; no fork).
as_pg() {
  if [[ $(id -u) == 0 ]]; then
    exec setpriv --reuid postgres --regid postgres --init-groups -- "$@"
  fi
  exec "$@"
}

free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# live_pid DIR: the postmaster's PID from DIR/pid while that process lives.
live_pid() {
  local pid
  [[ -r $1/pid ]] || return 1
  read -r pid <"$1/pid" || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == postgres* ]] || return 1
  echo "$pid"
}

cmd_start() {
  local dir=$1 bin pid port i
  bin=$(bindir)
  mkdir -p "$dir"
  [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
  dir=$(cd "$dir" && pwd)
  mkdir -p "$dir/sock"
  if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 ||
      die "running as root and there is no 'postgres' user to run PostgreSQL as (install the Debian package 'postgresql')"
    chown -R postgres:postgres "$dir"
    setpriv --reuid postgres --regid postgres --init-groups -- test -w "$dir" ||
      die "user postgres cannot write $dir (a parent directory lacks o+x?)"
  fi
  (as_pg "$bin/initdb" -D "$dir/data" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C \
    --no-sync) >"$dir/initdb.log" 2>&1 || {
    tail -20 "$dir/initdb.log" >&2
    die "initdb failed"
  }
  local settings=()
  for kv in ${PG_SETTINGS:-}; do settings+=(-c "$kv"); done
  for _ in 1 2 3; do
    port=$(free_port)
    (as_pg "$bin/postgres" -D "$dir/data" -p "$port" -k "$dir/sock" \
      -c listen_addresses=127.0.0.1 -c max_connections=200 -c logging_collector=off \
      "${settings[@]}") </dev/null >>"$dir/postgres.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/pid"
    for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$SUPERUSER" -d postgres; then
        echo "$port" >"$dir/port"
        echo "$port $pid"
        return 0
      fi
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  tail -20 "$dir/postgres.log" >&2
  die "PostgreSQL did not start"
}

cmd_createdb() {
  local dir=$1 db=$2 port bin
  bin=$(bindir)
  port=$(cat "$dir/port" 2>/dev/null) || die "no PostgreSQL started in $dir"
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -d "postgres://$SUPERUSER@127.0.0.1:$port/postgres" \
    -c "CREATE DATABASE \"$db\"" >/dev/null || die "CREATE DATABASE $db failed"
  echo "postgres://$SUPERUSER@127.0.0.1:$port/$db"
}

cmd_stop() {
  local dir=$1 pid kids i
  pid=$(live_pid "$dir") || return 0
  kill -INT "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; return 0; }
    sleep 0.1
  done
  # the postmaster did not stop: it and its own children, by PID
  kids=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)
  # shellcheck disable=SC2086 # a list of PIDs
  kill -KILL "$pid" $kids 2>/dev/null || true
  rm -f "$dir/pid"
}

case ${1:-} in
  start) [[ $# == 2 ]] || die "usage: $0 start DIR"; cmd_start "$2" ;;
  createdb) [[ $# == 3 ]] || die "usage: $0 createdb DIR DB"; cmd_createdb "$2" "$3" ;;
  stop) [[ $# == 2 ]] || die "usage: $0 stop DIR"; cmd_stop "$2" ;;
  tail) [[ $# == 2 ]] || die "usage: $0 tail DIR"; tail -20 "$2/postgres.log" ;;
  *) die "usage: $0 start DIR | createdb DIR DB | stop DIR | tail DIR" ;;
esac
