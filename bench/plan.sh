#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Scheduling benchmark (issue 3): how load_config and plan() grow with the number of orders (1k, 5k,
# 10k; orders starting 12 months back) and with the length of history (10k orders starting 1, 12 and
# 36 months back); the daemon's passes (first start, whole pass, reloads changing 1, 100 and 0
# orders) on 10k orders starting 4 months back (about 400,000 runs, the size of bench/scale.sh);
# then `flisctl validate` and `flisctl plan --json` as a sysadmin runs them, on the 10k tree.
#
#   bench/plan.sh [--quick]      (--quick: 1k and 10k orders only, history 12 months)
#
# Targets (issue 3): 10,000 orders validate in under 2 s and plan a month in under 5 s.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target plan_bench flisctl >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

work=$(mktemp -d /tmp/flisd-plan-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ "${1:-}" = --quick ]; then sizes=(1000 10000); backs=(12); else sizes=(1000 5000 10000); backs=(1 12 36); fi

echo "-- growth with orders (orders start 12 months back)"
for n in "${sizes[@]}"; do "$BUILD_DIR/plan_bench" --orders "$n" --months-back 12; done
echo "-- growth with history (10000 orders)"
for m in "${backs[@]}"; do
  if [ "$m" = 12 ]; then
    "$BUILD_DIR/plan_bench" --orders 10000 --months-back 12 --dir "$work/tree" --keep
  else
    "$BUILD_DIR/plan_bench" --orders 10000 --months-back "$m"
  fi
done

echo "-- the daemon's passes (10000 orders, 4 months back)"
"$BUILD_DIR/plan_bench" --orders 10000 --months-back 4 --runner

echo "-- the command line on the 10000-order tree (wall time, best of 3)"
best() {
  local best=999999 t0 t1 ms
  for _ in 1 2 3; do
    t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 )); [ "$ms" -lt "$best" ] && best=$ms
  done
  echo "$best ms"
}
echo "flisctl validate:                        $(best "$BUILD_DIR/flisctl" --log stderr validate "$work/tree")"
echo "flisctl plan --json (one month):         $(best "$BUILD_DIR/flisctl" --log stderr --config "$work/tree" plan --now 2026-11-26T12:00:00+01:00 --from 2026-11 --to 2026-11 --json)"
echo "flisctl plan (default window, table):    $(best "$BUILD_DIR/flisctl" --log stderr --config "$work/tree" plan --now 2026-11-26T12:00:00+01:00)"
