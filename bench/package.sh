#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Package benchmark (issue 4, compression side): flisd's build_package end to end into a directory
# against `zstd -3 -T0` alone over the same bytes (the compression limit) and against the script a
# sysadmin would write (`tar | zstd -3 -T0 > file`). The SFTP side is bench/sftp.sh.
#
#   bench/package.sh [--size-mib 300] [--runs 3] [--level 3] [--threads 0] [--work DIR] [--keep]
#
# Targets: (a) >= 0.75 x (b); (a) faster than (c); peak RSS of (a) <= 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target package_bench >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(zstd --version)"
exec "$BUILD_DIR/package_bench" "$@"
