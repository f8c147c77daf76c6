#!/usr/bin/env bash
# tests/fuzz/run-short.sh - a short, bounded fuzz run for CI: builds the libFuzzer harnesses with clang
# (ASan + UBSan) and runs each one, one after another, for at most SECONDS on a scratch copy of its
# seed corpus. Exits non-zero on the first crash, leak, timeout or out-of-memory; the input that did it is
# copied to tests/fuzz/crashes/<harness>/ so that, once fixed, the replay tests keep it fixed.
# Usage: tests/fuzz/run-short.sh [SECONDS]      (default 45; environment: SF_FUZZ_BUILD, CC)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$(pwd)"
SECONDS_EACH="${1:-45}"
BUILD="${SF_FUZZ_BUILD:-build-fuzz-ci}"
CC="${CC:-clang}"
case "$CC" in *clang*) ;; *) CC=clang ;; esac
if ! command -v "$CC" >/dev/null; then
  echo "run-short: $CC not found (install clang and libclang-rt-14-dev)" >&2
  exit 2
fi
HARNESSES=(checkpoint input alphabet lesson llmc safetensors bpe snapshot)
case "$BUILD" in /*) bin="$BUILD/tests" ;; *) bin="$root/$BUILD/tests" ;; esac

CC="$CC" cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEPFORMER_FUZZ=ON -DSTEPFORMER_GUI=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${HARNESSES[@]}") >/dev/null

scratch="$(mktemp -d /tmp/sf_fuzz_short.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
status=0
for h in "${HARNESSES[@]}"; do
  mkdir -p "$scratch/$h/corpus" "$scratch/$h/art"
  cp tests/fuzz/corpus/"$h"/* "$scratch/$h/corpus/"
  echo "== fuzz_$h: ${SECONDS_EACH} s"
  if ! (cd "$scratch/$h" && "$bin/fuzz_$h" -max_total_time="$SECONDS_EACH" -timeout=10 \
        -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$scratch/$h/art/" corpus \
        >"$scratch/$h/log" 2>&1); then
    status=1
    tail -n 60 "$scratch/$h/log" >&2
    mkdir -p tests/fuzz/crashes/"$h"
    for f in "$scratch/$h/art/"*; do
      [ -e "$f" ] && cp "$f" tests/fuzz/crashes/"$h"/ && echo "run-short: saved tests/fuzz/crashes/$h/$(basename "$f")" >&2
    done
    echo "run-short: fuzz_$h FAILED" >&2
  else
    grep -E '[[:space:]]DONE[[:space:]]|stat::number_of_executed_units' "$scratch/$h/log" || true
  fi
done
[ $status -eq 0 ] && echo "run-short: ${#HARNESSES[@]} harnesses passed"
exit $status
