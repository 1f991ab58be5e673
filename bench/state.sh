#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# State store benchmark (issue 13): ensure and transition throughput on SQLite and on PostgreSQL,
# in the same run (bench/state_bench.cpp). Both engines durable: SQLite synchronous=FULL,
# PostgreSQL fsync on, over its unix socket.
#
#   bench/state.sh [--runs 20000] [--cycles 2000]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target state_bench >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD_DIR/state_bench" "$@"
