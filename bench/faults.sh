#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The long fault-injection runs: the same test programs ctest runs, with many more trials.
#
#   bench/faults.sh                     # 40 kill -9 trials per target, every other fault once
#   FAULT_TRIALS=100 FAULT_SEED=7 bench/faults.sh
#
# Needs a build with the test programs (BUILD_DIR, default build) and root (tmpfs mounts, setpriv).
# Each test case runs on its own; the results go to ${OUT:-bench/results/faults.log}, one line per
# case ("CASE <program>/<case> PASS|FAIL <seconds>") followed by the FAULTS figures the case printed.
# bench/reliability.sh turns that file into docs/reliability.md.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT:-$BUILD_DIR/reliability/faults.log}
export FAULT_TRIALS=${FAULT_TRIALS:-40}
export FAULT_SEED=${FAULT_SEED:-$(date +%s)}
export FLISD=${FLISD:-$BUILD_DIR/flisd} FLISCTL=${FLISCTL:-$BUILD_DIR/flisctl}
FLISD=$(realpath "$FLISD"); FLISCTL=$(realpath "$FLISCTL")
mkdir -p "$(dirname "$OUT")"
echo "# bench/faults.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) trials=$FAULT_TRIALS seed=$FAULT_SEED commit=$(git rev-parse --short HEAD)" >"$OUT"
failed=0
for program in "$BUILD_DIR"/daemon_faults_*_test "$BUILD_DIR"/daemon_security_test "$BUILD_DIR"/jobs_security_test; do
  [ -x "$program" ] || continue
  name=$(basename "$program")
  # Boost lists "suite/case" as an indented tree; rebuild the paths.
  cases=$("$program" --list_content 2>&1 | awk '
    { n = match($0, /[^ ]/) - 1; name = substr($0, n + 1); sub(/\*$/, "", name); level = n / 4;
      path[level] = name; full = path[0]; for (i = 1; i <= level; i++) full = full "/" path[i];
      lv[NR] = level; p[NR] = full }
    END { for (i = 1; i <= NR; i++) if (i == NR || lv[i + 1] <= lv[i]) print p[i] }')
  for c in $cases; do
    start=$(date +%s)
    log=$(mktemp)
    if "$program" --run_test="$c" --log_level=error >"$log" 2>&1; then verdict=PASS; else verdict=FAIL; failed=$((failed + 1)); fi
    echo "CASE $name/$c $verdict $(( $(date +%s) - start ))" | tee -a "$OUT"
    grep '^FAULTS ' "$log" >>"$OUT" || true
    [ "$verdict" = FAIL ] && sed 's/^/  | /' "$log" | head -60 >>"$OUT"
    rm -f "$log"
  done
done
echo "# done: $failed failed" >>"$OUT"
exit $(( failed > 0 ))
