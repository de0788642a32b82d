#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make-deb.sh: builds the five Debian packages (debian/, docs/packaging.md)
# into OUT, from a copy of the source tree, so that dpkg-buildpackage's
# artefacts (the .deb, .buildinfo and .changes it writes next to the tree)
# never land in the repository or its parent.
#
#   scripts/make-deb.sh OUT [PREBUILT]
#
# PREBUILT: an already-built CMake tree (make deb CG_DEB_PREBUILT=build)
# that debian/rules installs instead of configuring and building (seconds
# instead of a full build). Starts nothing; the copy lives under OUT/src
# and is removed on exit.
set -euo pipefail

out=${1:?usage: make-deb.sh OUT [PREBUILT]}
prebuilt=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [[ -n $prebuilt ]]; then
  prebuilt=$(cd "$prebuilt" && pwd)
  [[ -f $prebuilt/cmake_install.cmake ]] || { echo "make-deb: $prebuilt is no CMake build tree" >&2; exit 2; }
fi
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
stage=$(mktemp -d "$out/src.XXXXXX")
trap 'rm -rf "$stage"' EXIT
tree=$stage/cellgate-$version
mkdir -p "$tree"
# the tracked files and the new ones not ignored, as they are in the work tree
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
   xargs -0 -I{} sh -c 'test -e "{}" || test -L "{}" && printf "%s\0" "{}"' |
   tar --null -T - -cf -) | tar -xf - -C "$tree"
(cd "$tree" && CG_DEB_PREBUILT=$prebuilt dpkg-buildpackage -b -us -uc --no-sign >"$stage/build.log" 2>&1) || {
  tail -n 60 "$stage/build.log" >&2
  echo "make-deb: dpkg-buildpackage failed (the end of its log is above)" >&2
  exit 1
}
cp "$stage/build.log" "$out/build.log"
find "$stage" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.changes' -o -name '*.buildinfo' \) \
  -exec mv -f {} "$out/" \;
ls "$out"/*.deb
