#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Configures and builds flisd into ${BUILD_DIR:-build}. Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
werror=OFF; [ -n "${CI:-}" ] && werror=ON
cmake -S . -B "$BUILD_DIR" -G Ninja -DFLISD_WERROR=$werror "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
