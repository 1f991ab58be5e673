#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Runs the libFuzzer targets (tests/fuzz/fuzz_*.cpp) under ASan and UBSan, each for SECONDS
# (default 600) from a working copy of its seed corpus, two at a time (the machine is shared).
#
#   scripts/fuzz.sh                      # every target, 10 minutes each
#   scripts/fuzz.sh 60 fuzz_config       # one target, one minute
#
# Installs clang-16 and libclang-rt-16-dev when missing: Debian 12's default clang-14 cannot
# compile config/loader.cpp (C++20). The build is in FUZZ_DIR (default build-fuzz); each target's
# output goes to RESULTS/<target>.log (default build-fuzz/results), ending in a line
# "exit=… seconds=… date=… commit=…" that bench/reliability.sh turns into docs/reliability.md.
# A crash leaves <target>-crash-* in FUZZ_DIR; the exit status is non-zero if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
FUZZ_DIR=${FUZZ_DIR:-build-fuzz}
RESULTS=${RESULTS:-$FUZZ_DIR/results}

missing=()
command -v clang++-16 >/dev/null || missing+=(clang-16)
dpkg -s libclang-rt-16-dev >/dev/null 2>&1 || missing+=(libclang-rt-16-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuzz.sh: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2 || exit 1
fi

CXX=clang++-16 cmake -S . -B "$FUZZ_DIR" -G Ninja -DFLISD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  >/dev/null || exit 1
targets=("$@")
[ ${#targets[@]} -gt 0 ] || for src in tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
cmake --build "$FUZZ_DIR" --target "${targets[@]}" -j"${JOBS:-2}" || exit 1
mkdir -p "$RESULTS"

run() {
  local name=$1 corpus=tests/fuzz/corpus_${1#fuzz_} work=$FUZZ_DIR/work-$1
  mkdir -p "$work"
  [ -d "$corpus" ] && cp -rn "$corpus"/. "$work"/
  # -timeout: a hang is a bug (the loader bounds file size and nesting); generous, as a busy shared
  # machine can starve one input of CPU for seconds.
  (cd "$FUZZ_DIR" && nice -n 15 "./$name" -max_total_time="$seconds" -timeout=30 -max_len=65536 \
     -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$name-" "work-$name") >"$RESULTS/$name.log" 2>&1
  local code=$?
  echo "exit=$code seconds=$seconds date=$(date -u +%Y-%m-%dT%H:%MZ) commit=$(git rev-parse --short HEAD)" \
    >>"$RESULTS/$name.log"
  echo "$name: exit $code, $(sed -n 's/^stat::number_of_executed_units: *//p' "$RESULTS/$name.log") runs" >&2
  return $code
}
failed=0
set -- "${targets[@]}"
while [ $# -gt 0 ]; do
  pids=()
  run "$1" & pids+=($!); shift
  if [ $# -gt 0 ]; then run "$1" & pids+=($!); shift; fi
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
done
exit $failed
