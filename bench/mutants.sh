#!/usr/bin/env bash
# Mutation testing of the pure parts: cargo-mutants changes one thing at a time in each
# function (an operator, a comparison, a return value, a match guard), builds, and runs the
# unit tests of that code. A change the tests do not notice is MISSED: a behaviour nothing
# checks. The goal is 0 missed. Mutants that cannot change what the code does (equivalent)
# are listed in .cargo/mutants.toml (exclude_re), each with its reason.
#
#   bench/mutants.sh          both parts below, one after the other
#   bench/mutants.sh text     crates/text (render: encodings, escapes, hex, timestamps,
#                             guess; proto: frame, checksum) with that crate's tests
#   bench/mutants.sh rules    src/proto/rules.rs with the proto::rules tests (a build of the
#                             whole tool per mutant: slower)
#
# Prints one line per part (tested, caught, timeouts, unviable, missed) and each missed
# mutant; exits 1 when any is missed. Timeouts are mutants that made a loop endless: the
# tests notice them by never finishing (in 5 s: the tests take well under one), so they
# count as caught. Unviable ones do not
# build. CARGO_MUTANTS_JOBS (default 2) builds that many at once.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
out=${OUT:-target/mutants}
export CARGO_MUTANTS_JOBS=${CARGO_MUTANTS_JOBS:-2}
missed_total=0

part() { # name, then cargo-mutants arguments
  local name=$1; shift
  local started=$SECONDS
  mkdir -p "$out/$name"
  # Exit status 2 means some were missed, 3 some timed out: both are read from the lists.
  cargo mutants --no-shuffle --minimum-test-timeout 5 -o "$out/$name" "$@" >"$out/$name/run.log" 2>&1 || {
    local rc=$?
    if [ "$rc" != 2 ] && [ "$rc" != 3 ]; then
      tail -20 "$out/$name/run.log" >&2
      echo "mutants $name: cargo mutants failed (exit $rc); its log: $out/$name/run.log" >&2
      exit 1
    fi
  }
  local dir="$out/$name/mutants.out" c m t u
  c=$(wc -l <"$dir/caught.txt"); m=$(wc -l <"$dir/missed.txt")
  t=$(wc -l <"$dir/timeout.txt"); u=$(wc -l <"$dir/unviable.txt")
  printf 'mutants %s: %d tested, %d caught, %d timeouts, %d unviable, %d missed (%d s)\n' \
    "$name" $((c + m + t + u)) "$c" "$t" "$u" "$m" $((SECONDS - started))
  sed 's/^/  missed: /' "$dir/missed.txt"
  missed_total=$((missed_total + m))
}

what=${1:-all}
case $what in
  text | all) part text -p netassist-text ;;&
  rules | all) part rules -p netassist -f src/proto/rules.rs --cargo-arg=--lib -- proto::rules ;;
  text) ;;
  *) echo "usage: bench/mutants.sh [text|rules]" >&2; exit 2 ;;
esac
[ "$missed_total" = 0 ]
