#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/peers/stop_nginx.sh: stops the nginx that start_nginx.sh started, by
# the master PID in $PEER_RUN/nginx/nginx.pid (only if that PID is still an
# nginx): QUIT (graceful; the workers exit with the master), then TERM after
# 10 s, then KILL of the master and its workers after 5 s more.
set -euo pipefail
# shellcheck source=peers.sh
. "$(dirname "$0")/peers.sh"

peer_stop nginx "$PEER_RUN/nginx/nginx.pid" QUIT
