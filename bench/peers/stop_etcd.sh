#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/peers/stop_etcd.sh: stops the etcd that start_etcd.sh started, by
# the PID in $PEER_RUN/etcd.pid (only if that PID is still an etcd): TERM,
# then KILL after 15 s. Leaves the data dir for the next "start_etcd.sh".
set -euo pipefail
# shellcheck source=peers.sh
. "$(dirname "$0")/peers.sh"

peer_stop etcd "$PEER_RUN/etcd.pid" TERM
