#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the libFuzzer binaries of tests/fuzz/ (built with -DCG_FUZZ=ON, see
# `make fuzz`) for a bounded time each, seeded with tests/fuzz/corpus/<t>/.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS [TARGET...]     (default: every target)
#
# New inputs libFuzzer finds go to BUILD_DIR/fuzz-corpus/<t>/ (kept between
# runs, never into the seed corpus), crashes to BUILD_DIR/fuzz-artifacts/,
# full logs to BUILD_DIR/fuzz-logs/<t>.log. Exits 1 if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."

if (($# < 2)); then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
  exit 2
fi
build=$1
secs=$2
shift 2
bin=$build/tests/fuzz/libfuzzer
if [[ ! -d $bin ]]; then
  echo "no libFuzzer binaries in $bin: configure with CC=clang -DCG_FUZZ=ON (make fuzz)" >&2
  exit 2
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in "$bin"/fuzz_*; do
    targets+=("${f##*/fuzz_}")
  done
fi

mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=()
for t in "${targets[@]}"; do
  work=$build/fuzz-corpus/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$work"
  args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$build/fuzz-artifacts/$t-")
  if [[ -f tests/fuzz/$t.dict ]]; then
    args+=(-dict="tests/fuzz/$t.dict")
  fi
  echo "== fuzz_$t: ${secs}s"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin/fuzz_$t" "${args[@]}" "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log" || true
  else
    failed+=("$t")
    grep -E 'ERROR|SUMMARY|^artifact_prefix|Test unit written' "$log" | head -20 || true
    echo "fuzz_$t FAILED (log: $log)"
  fi
done
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
