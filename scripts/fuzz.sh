#!/usr/bin/env bash
# Fuzzes the configuration loader with libFuzzer: builds tests/fuzz/fuzz_config with clang in its
# own build folder (everything instrumented with ASan and UBSan), then runs it on a working copy of
# the seed corpus tests/fuzz/corpus_config for SECONDS (default 300). A crash leaves crash-* here.
#   usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
build=fuzz-build
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 1; }
CXX=clang++ cmake -S . -B "$build" -G Ninja -DFLISD_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" >/dev/null
cmake --build "$build" --target fuzz_config -j"${JOBS:-2}"
mkdir -p "$build/corpus"
cp -n tests/fuzz/corpus_config/* "$build/corpus/" 2>/dev/null || true
# -timeout: a hang is a bug (the loader bounds file size and nesting); generous, as a busy shared
# machine can starve one input of CPU for seconds. -max_len: real files are small.
"$build/fuzz_config" -max_total_time="$seconds" -timeout=30 -max_len=65536 -rss_limit_mb=2048 \
  -print_final_stats=1 "$build/corpus"
