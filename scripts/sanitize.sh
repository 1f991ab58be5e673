#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Builds the whole suite with AddressSanitizer and UndefinedBehaviorSanitizer (-DFLISD_SANITIZE=ON)
# in ${BUILD_DIR:-build-asan} and runs ctest there. Any sanitizer report fails the test it happens
# in: ASan aborts on the first error, UBSan is built with -fno-sanitize-recover.
#
#   scripts/sanitize.sh                 # everything
#   scripts/sanitize.sh -R faults       # extra arguments go to ctest
#
# Leak checking is on (detect_leaks=1); the output of every failing test is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DFLISD_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD_DIR"
ctest --output-on-failure -j"$JOBS" "$@"
