#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# model/check.sh [WORKDIR]: model-checks model/cellgate.pml with spin
# (docs/model.md). Every run is exhaustive within the bounds it names:
#
#   pass runs     I2 and I3 as assertions (safety), the rollback reaching
#                 every live host under weak fairness (liveness): each must
#                 report "errors: 0" over its whole state space;
#   fail runs     the mutations (no compare-and-set, an agent taking an
#                 equal generation, no pending-host check, ...): each must
#                 report at least one error and write a trail, whose replay
#                 is printed, so the model is shown to be able to fail; and
#                 the error must be the one the run is for: pan's first
#                 error and the replayed trail must both name the expected
#                 assertion (its text as spin prints it, spaces aside) or,
#                 for a liveness run, an acceptance cycle. A mutation that
#                 fails for another reason (a different assertion, a slip
#                 that breaks something else) fails the script.
#
# It prints spin's statistics for each run (states stored, depth reached,
# time, memory). pan is generated and compiled in WORKDIR (default: a new
# temporary directory, removed at the end unless CG_MODEL_KEEP=1), never in
# the source tree. Exit 0 when every run did what it must, 1 otherwise.
# Called by `make model` and by the CTest test model.spin.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
model=$here/cellgate.pml
cc=${CC:-gcc}
memlim=${CG_MODEL_MEMLIM:-2048} # MB per run; every run needs well under it

for tool in spin "$cc"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "model: '$tool' not found (Debian: apt-get install spin gcc; scripts/deps.sh)" >&2
    exit 1
  fi
done

if [[ $# -ge 1 ]]; then
  work=$1
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/cellgate-model.XXXXXX")
  if [[ ${CG_MODEL_KEEP:-0} != 1 ]]; then
    trap 'rm -rf "$work"' EXIT
  fi
fi

failures=0

# run NAME MODE EXPECT WANT DEFINES...
#   MODE:   safety | liveness
#   EXPECT: pass (errors: 0, complete search) | fail (errors >= 1, a trail)
#   WANT:   for fail runs, what the counterexample must break:
#           assert:EXPR (the assertion whose text, as spin expands it, is
#           EXPR; spaces do not count) or cycle (an acceptance cycle);
#           - for pass runs
run() {
  local name=$1 mode=$2 expect=$3 want=$4
  shift 4
  local defs=("$@") dir=$work/$name
  local -a cflags=(-O2 -w "-DMEMLIM=$memlim") panflags=(-m10000)
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$model" "$dir/cellgate.pml"
  if [[ $mode == liveness ]]; then
    defs=(-DLIVENESS "${defs[@]}")
    cflags+=(-DNFAIR=4) # weak fairness over the model's 10 processes
    panflags+=(-a -f)
  else
    cflags+=(-DSAFETY)
  fi
  local ok=1 out stats
  if ! (cd "$dir" && spin -a "${defs[@]}" cellgate.pml >spin.log 2>&1); then
    echo "model: $name: spin -a failed:" >&2
    cat "$dir/spin.log" >&2
    failures=$((failures + 1))
    return
  fi
  if ! (cd "$dir" && "$cc" "${cflags[@]}" -o pan pan.c >cc.log 2>&1); then
    echo "model: $name: compiling pan failed:" >&2
    cat "$dir/cc.log" >&2
    failures=$((failures + 1))
    return
  fi
  (cd "$dir" && ./pan "${panflags[@]}" >pan.out 2>&1) || true
  out=$dir/pan.out
  stats=$(grep -E 'errors: [0-9]+' "$out" | head -n 1 || true)
  local errors states depth secs mem
  errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' <<<"$stats")
  depth=$(sed -n 's/.*depth reached \([0-9][0-9]*\).*/\1/p' <<<"$stats")
  states=$(sed -n 's/^ *\([0-9.e+]*\) states, stored.*/\1/p' "$out" | head -n 1)
  secs=$(sed -n 's/^pan: elapsed time \([0-9.e+-]*\) seconds.*/\1/p' "$out" | head -n 1)
  mem=$(sed -n 's/^ *\([0-9.]*\)[[:space:]]*total actual memory usage.*/\1/p' "$out" | head -n 1)
  printf 'model: %-22s %-8s %s\n' "$name" "$mode" "${defs[*]}"
  printf '         states stored %s, depth reached %s, errors %s, %s s, %s MB\n' \
    "${states:-?}" "${depth:-?}" "${errors:-?}" "${secs:-?}" "${mem:-?}"
  if [[ -z $errors ]]; then
    ok=0
    echo "         pan printed no result:" >&2
    tail -n 20 "$out" >&2
  elif [[ $expect == pass ]]; then
    if [[ $errors != 0 ]]; then
      ok=0
      echo "         FAIL: the model must hold here; the counterexample:" >&2
    fi
    if [[ $errors == 0 ]] &&
      grep -qE 'Search not completed|max search depth too small|out of memory' "$out"; then
      ok=0
      echo "         FAIL: the search was not exhaustive (depth or memory bound):" >&2
      grep -E 'Search not completed|max search depth too small|out of memory' "$out" >&2
    fi
    if [[ $mode == liveness ]] && ! grep -q 'acceptance   cycles.*fairness enabled' "$out"; then
      ok=0
      echo "         FAIL: the liveness run did not search for fair acceptance cycles" >&2
    fi
  else
    if [[ $errors -lt 1 || ! -s $dir/cellgate.pml.trail ]]; then
      ok=0
      echo "         FAIL: spin must find a counterexample here and found none" >&2
    fi
  fi
  if [[ -n $errors && $errors != 0 && -s $dir/cellgate.pml.trail ]]; then
    # the counterexample, as the model's printf lines tell it
    local replay
    replay=$( (cd "$dir" && spin -t "${defs[@]}" cellgate.pml 2>&1) |
      sed -n '/^#processes/q;p' | sed 's/^ *//' |
      grep -vE '^spin: (trail ends|cellgate\.pml:[0-9]+, Error)|^Never claim moves|^ltl ' |
      sed 's/^spin: text of failed assertion: /violated: /' || true)
    sed 's/^/         | /' <<<"$replay"
    if [[ $expect == fail ]] && ! broke_what "$want" "$out" "$replay"; then
      ok=0
    fi
  fi
  if [[ $ok == 1 ]]; then
    if [[ $expect == pass ]]; then
      echo "         ok: holds (exhaustive within these bounds)"
    else
      echo "         ok: spin found the counterexample it must find"
    fi
  else
    failures=$((failures + 1))
  fi
}

# broke_what WANT PAN_OUT REPLAY: 0 when pan's first error and the replayed
# trail are what WANT names (see run), else 1 with what they are instead.
broke_what() {
  local want=$1 out=$2 replay=$3 raw first seen expr
  raw=$(grep -m 1 -E '^pan:[0-9]+: ' "$out" |
    sed -E 's/^pan:[0-9]+: //; s/ \(at depth [0-9]+\)$//' || true)
  first=$(tr -d ' ' <<<"$raw")
  case $want in
    assert:*)
      expr=$(tr -d ' ' <<<"${want#assert:}")
      seen=$(grep -m 1 '^violated: ' <<<"$replay" || true)
      if [[ $first != "assertionviolated$expr" ||
        $(tr -d ' ' <<<"$seen") != "violated:assert($expr)" ]]; then
        echo "         FAIL: the counterexample must violate assert($expr);" >&2
        echo "               pan found: ${raw:-nothing}; the trail shows: ${seen:-nothing}" >&2
        return 1
      fi
      echo "         broke what it must: assert($expr)"
      ;;
    cycle)
      if [[ $first != acceptancecycle ]] || ! grep -q 'START OF CYCLE' <<<"$replay"; then
        echo "         FAIL: the counterexample must be an acceptance cycle;" >&2
        echo "               pan found: ${raw:-nothing}" >&2
        return 1
      fi
      echo "         broke what it must: an acceptance cycle (a fair run that never gets there)"
      ;;
    *)
      echo "         FAIL: the run names no expected violation (WANT '$want')" >&2
      return 1
      ;;
  esac
}

spin -V | head -n 1
echo "model: $model; work dir $work"

# The bounds of each run; cellgate.pml's header says what each one means.
main=(-DNHOLD=2 -DNLOSS=1 -DNFORGE=0 -DNFAIL=1 -DNTRY=2 -DNCRASH=0)
hostile=(-DNHOLD=1 -DNLOSS=1 -DNFORGE=1 -DNFAIL=2 -DNTRY=2 -DNCRASH=0)
onecell=(-DONE_CELL -DNHOLD=2 -DNLOSS=2 -DNFORGE=0 -DNFAIL=2 -DNTRY=2 -DNCRASH=0)
live=(-DNHOLD=1 -DNLOSS=1 -DNFORGE=0 -DNFAIL=1 -DNTRY=2 -DNCRASH=1)

# What each failing run must break, as spin expands the assertion's text:
# I3_ASSIGN and I3_HOSTS are the two parts of the Monitor's invariant.
i3_assign='(!(deleted[cell_ver[0]])&&!(deleted[cell_ver[(2-1)]]))'
i3_hosts='((((!(alive[0])||!(deleted[lkg_ver[0]]))&&(!(alive[1])||!(deleted[lkg_ver[1]])))&&(!(deleted[lkg_ver[0]])||(cell_gen[0]>lkg_gen[0])))&&(!(deleted[lkg_ver[1]])||(cell_gen[1]>lkg_gen[1])))'

# What the code guarantees: I2 and I3 (assignments; no host runs a deleted version).
run safety safety pass - "${main[@]}"
run safety.hostile safety pass - "${hostile[@]}"
run safety.one-cell safety pass - "${onecell[@]}"
run safety.empty-cell safety pass - -DEMPTY_CELL "${main[@]}"
# Every rollback reaches every live host, under weak fairness.
run liveness liveness pass - "${live[@]}"
run liveness.one-cell liveness pass - -DONE_CELL "${live[@]}"

# Mutations: the same model with one safeguard taken out must fail, and
# break the property that safeguard keeps.
run mutation.no-cas safety fail 'assert:(G==rg)' -DNO_CAS "${main[@]}"
run mutation.agent-equal safety fail 'assert:(g>lkg_gen[h])' -DAGENT_EQ "${main[@]}"
run mutation.no-del-check safety fail 'assert:!(deleted[v])' -DNO_DEL_CHECK "${main[@]}"
run mutation.no-ref-check safety fail "assert:$i3_assign" -DNO_REF_CHECK -DEMPTY_CELL "${main[@]}"
run mutation.no-verify safety fail 'assert:(g<=G)' -DNO_VERIFY "${hostile[@]}"
run mutation.live-can-fail liveness fail cycle -DLIVE_CAN_FAIL "${live[@]}"
run mutation.no-pending-check safety fail "assert:$i3_hosts" -DNO_PENDING_CHECK "${main[@]}"

if [[ $failures -ne 0 ]]; then
  echo "model: $failures run(s) did not do what they must" >&2
  exit 1
fi
echo "model: every run did what it must"
