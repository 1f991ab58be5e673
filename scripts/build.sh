#!/usr/bin/env bash
# Configures and builds flisd into ${BUILD_DIR:-build}. Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
werror=OFF; [ -n "${CI:-}" ] && werror=ON
cmake -S . -B "$BUILD_DIR" -G Ninja -DFLISD_WERROR=$werror "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
