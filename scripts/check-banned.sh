#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when product code (server, common, lib, cli, agent, sim) calls a
# banned function (docs/style.md, "Warnings and banned functions"): they are
# too easy to misuse, and a bounded replacement exists for each.
set -euo pipefail
cd "$(dirname "$0")/.."
banned='strcpy|strcat|strncpy|strncat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|asctime|ctime|localtime|gmtime|tzset'
# a call: the name as a word followed by '(' and not preceded by '_' or a
# letter (snprintf, localtime_r and gmtime_r stay allowed); comments are
# stripped first so prose may name them.
hits=$(git ls-files 'server/*.[ch]' 'common/*.[ch]' 'lib/*.[ch]' 'cli/*.[ch]' 'agent/*.[ch]' \
         'sim/*.[ch]' 'include/*.h' |
       while read -r f; do
         sed -e 's#//.*$##' "$f" | perl -0777 -pe 's#/\*.*?\*/#my $c = $&; "\n" x ($c =~ tr/\n//)#gse' |
           grep -nE "(^|[^A-Za-z0-9_])($banned)[[:space:]]*\(" | sed "s#^#$f:#" || true
       done)
if [[ -n $hits ]]; then
  echo "banned functions (docs/style.md):" >&2
  echo "$hits" >&2
  exit 1
fi
echo "banned functions: none"
