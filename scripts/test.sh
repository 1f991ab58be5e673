#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The whole test suite on a fresh Debian 12 machine: install what is missing, build, run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/services.sh
./scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j2 "$@"
