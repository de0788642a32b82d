#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/peers/start_nginx.sh [CONF]: starts nginx (Debian's package) as the
# static-file peer of the agent poll benchmark: 2 workers on 127.0.0.1:18080
# serving a 2048-byte /cell.json. CONF defaults to nginx/nginx.conf; a
# relative CONF is taken from this folder. nginx runs with the prefix
# $PEER_RUN/nginx/, where the config's relative paths land: the document
# root www/, temporary files in tmp/, error.log and the master's PID in
# nginx.pid. Waits up to 5 s for /cell.json; stop it with stop_nginx.sh (by
# that PID). Refuses to start when 127.0.0.1:18080 is taken.
set -euo pipefail
# shellcheck source=peers.sh
. "$(dirname "$0")/peers.sh"

command -v nginx >/dev/null || peer_die "nginx is not installed (scripts/deps.sh --bench)"
cd "$PEERS_HERE"
conf=$(readlink -f "${1:-nginx/nginx.conf}")
[[ -r $conf ]] || peer_die "no config $conf"
prefix=$PEER_RUN/nginx
if pid=$(peer_pid nginx "$prefix/nginx.pid"); then
  peer_die "our nginx is already running (master PID $pid); stop_nginx.sh first"
fi
peer_port_busy "$NGINX_PORT" && peer_die "127.0.0.1:$NGINX_PORT is in use; not touching it"

# The document: a JSON object padded with x to exactly 2048 bytes.
mkdir -p "$prefix/www" "$prefix/tmp"
open='{"cell":"cell-0001","version":42,"doc":"'
close='"}'
{
  printf '%s' "$open"
  head -c $((2048 - ${#open} - ${#close})) /dev/zero | tr '\0' x
  printf '%s' "$close"
} >"$prefix/www/cell.json"
# As root, nginx's workers run as nobody: they must reach the root.
chmod a+x "$PEER_RUN" "$prefix"
chmod -R a+rX "$prefix/www"

nginx -q -t -p "$prefix/" -e "$prefix/error.log" -c "$conf" || peer_die "nginx -t refused $conf"
nginx -p "$prefix/" -e "$prefix/error.log" -c "$conf"
for ((i = 0; i < 50; i++)); do
  if pid=$(peer_pid nginx "$prefix/nginx.pid") &&
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$NGINX_PORT/cell.json"; then
    echo "nginx up, master PID $pid, http://127.0.0.1:$NGINX_PORT/cell.json (config $conf)"
    exit 0
  fi
  sleep 0.1
done
echo "nginx did not answer; last lines of $prefix/error.log:" >&2
tail -20 "$prefix/error.log" >&2 || true
peer_stop nginx "$prefix/nginx.pid" QUIT >&2
exit 1
