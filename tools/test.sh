#!/usr/bin/env bash
# tools/test.sh - build and run the whole test suite: a normal build, then an ASan + UBSan build, then a
# short fuzz run (tests/fuzz/run-short.sh: each libFuzzer harness for 40 s; needs clang).
# Installs what is missing first (tools/setup.sh --test-tools). Exits non-zero on the first failure.
# Usage: tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export SDL_VIDEODRIVER=dummy
log=$(mktemp /tmp/sf_test.XXXXXX)
trap 'rm -f "$log"' EXIT

# Returns (prints) how many tests the last ctest summary in $log counted.
count() { sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1; }

tools/setup.sh --test-tools build
(cd build && ctest --output-on-failure -j2) | tee "$log"
plain=$(count)

echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTEPFORMER_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j2) | tee "$log"
asan=$(count)

echo "== a short fuzz run: each harness 40 s (tests/fuzz/run-short.sh) =="
tests/fuzz/run-short.sh 40 | tee "$log"
fuzz=$(sed -n 's/^run-short: \([0-9]*\) harnesses passed$/\1/p' "$log" | tail -1) # counted by run-short.sh

echo "plain build: $plain tests, sanitizer build: $asan tests, fuzz harnesses: $fuzz"
echo "all: $((plain + asan + fuzz)) passed, 0 failed"
