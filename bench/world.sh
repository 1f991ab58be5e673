#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# End-to-end delivery benchmark: flisd --once over SFTP against OpenSSH's sftp on the same built
# files, on loopback and through bench/delayproxy (10 ms round trip). Starts its own sshd and proxy
# on 127.0.0.1 and removes everything it made. See bench/world_bench.cpp for what each part does.
#
#   bench/world.sh [--small] [--big] [--csv] [--rounds 1] [--workers 2] [--max-sessions 4] [world_bench options...]
#
# Targets (issue 11): 3,038 small packages within 3x of `sftp -b` on loopback and faster than it
# over 10 ms; 256 MiB over 10 ms at most 1.0x `sftp put`; 512 MiB CSV at least 0.85 of
# `zstd -3 -T2` with a peak RSS of at most 40 MiB; well under 0.1 sessions opened per run.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target world_bench flisd >/dev/null
proxy="$BUILD_DIR/delayproxy"
if [ ! -x "$proxy" ] || [ bench/delayproxy.cpp -nt "$proxy" ]; then
  g++ -std=c++20 -O2 -pthread -Wall -Wextra -o "$proxy" bench/delayproxy.cpp
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$(zstd --version); $(ssh -V 2>&1)"
exec "$BUILD_DIR/world_bench" --flisd "$BUILD_DIR/flisd" --delayproxy "$proxy" "$@"
