#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages cellgate needs to build and test, when any
# is missing. As root it runs apt-get; otherwise it prints the command.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config python3 clang-format
  libmicrohttpd-dev libjansson-dev libsodium-dev libcurl4-openssl-dev
  libgnutls28-dev   # cellgated's TLS (libmicrohttpd is built with GnuTLS)
  nettle-dev        # SHA-256 with the CPU's SHA extensions (common/sha256.h)
  openssl           # 15-security/2x-tls tests make certificates with the openssl CLI
  libsqlite3-dev sqlite3 libcmocka-dev libpcre2-dev curl
  libidn2-dev  # JSON Schema format idn-hostname/idn-email and hostname A-labels (common/jsonschema/format.c)
  libyaml-dev       # the CLI: the YAML files of `cellgate apply -f` (cli/gitops_load.c) and -o yaml (cli/output.c)
  prometheus   # promtool checks the /metrics exposition in make test
  libpq-dev postgresql   # the PostgreSQL store backend; tests start a real server
  pgbouncer    # 80-cluster/03-pgbouncer runs its own in front of PostgreSQL (no service)
  nodejs npm   # 35-flags: the OpenFeature SDK (tests/openfeature) and flagd-core (tests/flagd)
  chromium fonts-liberation   # 65-dashboard: browser tests (puppeteer-core drives Debian's chromium)
  spin         # model/: the SPIN model checker for the protocol model (make model, model.spin; pan is compiled with gcc)
  debhelper dpkg-dev fakeroot lintian   # make deb and 97-package/01-install (docs/packaging.md)
  groff-base   # packaging.man: the generated man pages render without a warning
  systemd      # systemd-analyze verify of the units (the test never starts systemd)
  adduser      # the cellgate-server postinst creates the system user
)
# Extra packages for `make bench` (peers and load generator).
if [[ ${1:-} == --bench ]]; then
  pkgs+=(etcd-server etcd-client nginx wrk bc)
fi

missing=()
for p in "${pkgs[@]}"; do
  # Node.js from another source (e.g. NodeSource's nodejs, which bundles npm
  # and conflicts with Debian's npm package) is as good: keep it.
  if [[ ($p == nodejs && -n $(command -v node)) || ($p == npm && -n $(command -v npm)) ]]; then
    continue
  fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "cellgate needs these Debian packages; run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  if [[ " ${missing[*]} " == *" pgbouncer "* ]]; then
    echo "  sudo systemctl disable --now pgbouncer   # the tests run their own PgBouncer" >&2
  fi
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The tests start their own PgBouncer (tests/helpers/pgbouncer.py: 127.0.0.1,
# an ephemeral port, its own ini). The package also enables and starts a
# system service on port 6432 that nothing here uses: when this run installed
# the package, stop that service and keep it from starting at boot (a
# pgbouncer that was installed before is left as it is).
if [[ " ${missing[*]} " == *" pgbouncer "* ]]; then
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now pgbouncer.service >/dev/null 2>&1 || true
  else
    /etc/init.d/pgbouncer stop >/dev/null 2>&1 || true
    update-rc.d pgbouncer disable >/dev/null 2>&1 || true
  fi
  echo "deps: pgbouncer's system service is stopped and disabled (the tests run their own)" >&2
fi
