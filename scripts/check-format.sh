#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails (exit 1) when any tracked C file differs from clang-format's output.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
if ! out=$(clang-format --dry-run --Werror $files 2>&1); then
  echo "$out" | grep -E 'warning|error' | cut -d: -f1 | sort | uniq -c
  echo "run: make format" >&2
  exit 1
fi
echo "format: all files clean"
