#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# SFTP upload benchmark: flisd's SftpTarget against OpenSSH `sftp put` of the same file, directly on
# loopback and through bench/delayproxy with a 10 ms round trip (5 ms each way). Starts its own sshd
# and proxy on 127.0.0.1 and removes everything it made.
#
#   bench/sftp.sh [--size-mib 200] [--runs 3] [--sweep] [sftp_bench options...]
#
# The file is random bytes: a package is zstd output, which does not compress further. Targets
# (issue 4): at 10 ms RTT flisd within 1.2x of OpenSSH; peak RSS at most 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
size_mib=200
args=()
while (($#)); do
  case "$1" in
    --size-mib) size_mib=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done

cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target sftp_bench >/dev/null
proxy="$BUILD_DIR/delayproxy"
if [ ! -x "$proxy" ] || [ bench/delayproxy.cpp -nt "$proxy" ]; then
  g++ -std=c++20 -O2 -pthread -Wall -Wextra -o "$proxy" bench/delayproxy.cpp
fi

work=$(mktemp -d /tmp/flisd-sftp-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$work/package.tar.zst"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BUILD_DIR/sftp_bench" --file "$work/package.tar.zst" --delayproxy "$proxy" "${args[@]}"
