#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when a tracked source, script or build file has no SPDX licence line
# in its first three lines (the project is MIT; see LICENSE).
set -euo pipefail
cd "$(dirname "$0")/.."
missing=$(git ls-files '*.c' '*.h' '*.py' '*.sh' '*.lua' '*.cmake' '*.pml' 'CMakeLists.txt' \
            '*/CMakeLists.txt' Makefile .ci/run |
          while read -r f; do
            [[ -f $f ]] || continue
            head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT' || echo "$f"
          done)
if [[ -n $missing ]]; then
  echo "files without an SPDX line (add '/* SPDX-License-Identifier: MIT */'):" >&2
  echo "$missing" >&2
  exit 1
fi
echo "spdx: every file carries its licence line"
