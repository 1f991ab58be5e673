#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Several flisd nodes on one PostgreSQL: three nodes against one delivering small packages to sshd
# over a 10 ms round trip (bench/delayproxy), and the rescue time after kill -9 of a node mid-upload.
#
#   bench/nodes.sh                                  # 300 packages, 20 rescue trials, defaults
#   PACKAGES=100 TRIALS=5 LEASE=5 RESCUE=2 bench/nodes.sh
#   PACKAGES=0 bench/nodes.sh                       # the rescue trials only
#
# Needs a build (BUILD_DIR, default build) and postgresql-15, openssh-server. Prints NODES lines:
# the throughput of one and of three nodes and their ratio, each rescue trial, then the median and
# maximum rescue time with the lost and duplicated counts.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake --build "$BUILD_DIR" --target nodes_bench flisd -j2 >/dev/null
proxy="$BUILD_DIR/delayproxy"
if [ ! -x "$proxy" ] || [ bench/delayproxy.cpp -nt "$proxy" ]; then
  g++ -std=c++20 -O2 -pthread -Wall -Wextra -o "$proxy" bench/delayproxy.cpp
fi
export FLISD=$(realpath "${FLISD:-$BUILD_DIR/flisd}")
echo "# bench/nodes.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) commit=$(git rev-parse --short HEAD) load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD_DIR/nodes_bench" --delayproxy "$proxy" --packages "${PACKAGES:-300}" --trials "${TRIALS:-20}" \
  --workers "${WORKERS:-2}" --lease "${LEASE:-30}" --rescue "${RESCUE:-10}"
