#!/usr/bin/env bash
# tools/setup.sh - install what stepformer needs on Debian 12 (as root, or with sudo), then build.
# Usage: tools/setup.sh [--test-tools] [build-dir]     (default build dir: build)
#   --test-tools  also install what only the test suite needs: clang and its sanitizer runtime (fuzzers),
#                 valgrind
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake pkg-config
  libcmocka-dev
  libsdl2-dev libsdl2-ttf-dev libsdl2-image-dev libcglm-dev libfontconfig-dev
  libpcre2-dev libjansson-dev
  fonts-dejavu-core fonts-noto-cjk
  wamerican
)

if [ "${1:-}" = "--test-tools" ]; then
  PACKAGES+=(clang libclang-rt-14-dev valgrind)
  shift
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

BUILD="${1:-build}"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
