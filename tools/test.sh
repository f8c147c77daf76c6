#!/usr/bin/env bash
# tools/test.sh - build and run the whole test suite: a normal build, then an ASan + UBSan build.
# Usage: tools/test.sh            (after tools/setup.sh has installed the packages)
set -euo pipefail
cd "$(dirname "$0")/.."
export SDL_VIDEODRIVER=dummy

tools/setup.sh build
(cd build && ctest --output-on-failure -j2)

echo "== the same suite under AddressSanitizer + UndefinedBehaviorSanitizer =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTEPFORMER_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j2)
