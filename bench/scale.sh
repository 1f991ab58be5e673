#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The daemon at FLIS's size: 10,000 orders over the 98 municipalities (2,500 each of monthly,
# daily and weekly subscriptions and one-off backfills from 2020), a warehouse where the monthly
# interface is processed for four months and the daily one for three days, so 17,500 packages are
# due, delivered to a directory target by the daemon (not --once).
#
#   bench/scale.sh [fresh|history|empty|all]      (default all)
#
#   fresh    the world above, started on an empty state database: packages per second, time until
#            every due package is delivered, time to idle, CPU when idle, peak RSS, log lines
#   history  the same deliveries with ~400,000 runs already in the table: the world is started
#            once before its data is processed (every run recorded waiting), stopped, then the data
#            lands and the daemon starts again
#   empty    the same 17,500 deliveries from a world whose orders start just before the data (about
#            30,000 runs): the baseline the history run is compared with
#
# Goals: >= 100 packages/s, idle within 5 minutes, RSS < 128 MiB, < 100,000 log lines; history at
# least 0.8x the packages per second of empty.
set -euo pipefail
cd "$(dirname "$0")/.."
WHICH=${1:-all}
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target flisd >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

work=$(mktemp -d /tmp/flisd-scale-bench.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
codes=$(grep -oE '\{[0-9]{3},' config/kommuner.cpp | tr -d '{,' | tr '\n' ' ')

# world DIR SHAPE: the configuration (SHAPE history = orders from 2020, short = orders that start
# just before the data).
world() {
  local dir=$1 shape=$2
  rm -rf "$dir"
  mkdir -p "$dir/etc/orders" "$dir/etc/calendar" "$dir/warehouse/DSA/CPR_PERSON" "$dir/warehouse/DSA/LOEN_ANSAT" "$dir/state"
  cp config/examples/interfaces.yaml "$dir/etc/"
  cp config/examples/calendar/*.yaml "$dir/etc/calendar/"
  cat >"$dir/etc/flisd.yaml" <<YAML
timezone: Europe/Copenhagen
warehouse: $dir/warehouse
state: $dir/state/state.db
workers: 2
targets:
  flis:
    type: directory
    path: $dir/out/{municipality}
YAML
  python3 - "$dir/etc/orders" "$shape" $codes <<'PY'
import sys
out, shape, codes = sys.argv[1], sys.argv[2], sys.argv[3:]
long = shape == "history"
kinds = [
    ("MONTHLY", "type: monthly\nsource: DSA\ninterfaces: [LOEN_ANSAT]\nstart: %s\nend: 2027-12-31\n" % ("2026-01-01" if long else "2026-07-01")),
    ("DAILY", "type: daily\nsource: DSA\ninterfaces: [CPR_PERSON]\nstart: %s\nend: 2027-12-31\n" % ("2026-11-01" if long else "2026-11-28")),
    ("WEEKLY", "type: weekly\nsource: DSA\ninterfaces: [CPR_PERSON]\nstart: %s\nend: 2027-12-31\n" % ("2026-01-01" if long else "2026-11-23")),
    ("BACKFILL", "type: one-off\nsource: DSA\ninterfaces: [CPR_PERSON]\nfrom: %s\nto: 2025-12-31\nchunk: month\n" % ("2020-01-01" if long else "2025-12-01")),
]
for i in range(10000):
    code = codes[i % len(codes)]
    name, body = kinds[i % 4]
    oid = "K%s-%s-%05d" % (code, name, i)
    with open("%s/%s.yaml" % (out, oid), "w") as f:
        f.write("id: %s\nmunicipality: %s\ndelivery: flis\n%s" % (oid, code, body))
PY
}

# land DIR: the data: LOEN_ANSAT for 2026-07..10, CPR_PERSON for 2026-11-28..30, each with a small
# CSV for every municipality and the _PROCESSED marker.
land() {
  local dir=$1 p c
  for p in LOEN_ANSAT/2026-07 LOEN_ANSAT/2026-08 LOEN_ANSAT/2026-09 LOEN_ANSAT/2026-10 \
           CPR_PERSON/2026-11-28 CPR_PERSON/2026-11-29 CPR_PERSON/2026-11-30; do
    for c in $codes; do
      mkdir -p "$dir/warehouse/DSA/$p/$c"
      printf 'cpr;navn;kommune\n0101001234;Test Testesen;%s\n' "$c" >"$dir/warehouse/DSA/$p/$c/data.csv"
    done
    touch "$dir/warehouse/DSA/$p/_PROCESSED"
  done
}

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
tck=$(getconf CLK_TCK)
now_s() { date +%s.%N; }

# run DIR LABEL: starts flisd, waits until all 17,500 packages are there and the daemon is idle
# (under 1% of a core over 10 s), prints the figures, stops it.
run() {
  local dir=$1 label=$2 due=17500
  export FLISD_CONTROL_SOCKET=$dir/control.sock
  local t0 t_first= t_all= t_idle= c0 c1 n=0 rows
  rows=$(sqlite3 "$dir/state/state.db" 'SELECT count(*) FROM runs' 2>/dev/null || echo 0)
  t0=$(now_s)
  "$BUILD_DIR/flisd" --config "$dir/etc" --log stderr 2>"$dir/flisd.log" &
  pid=$!
  while :; do
    kill -0 "$pid" 2>/dev/null || { tail -5 "$dir/flisd.log" >&2; return 1; }
    n=$( (find "$dir/out" -name '*.tar.zst' 2>/dev/null || true) | wc -l)
    [ -z "$t_first" ] && [ "$n" -gt 0 ] && t_first=$(now_s)
    if [ "$n" -ge "$due" ]; then t_all=$(now_s); break; fi
    awk -v a="$t0" -v b="$(now_s)" 'BEGIN { exit !(b - a > 1200) }' && { echo "$label: only $n of $due after 20 min" >&2; return 1; }
    sleep 1
  done
  while :; do
    c0=$(cpu); sleep 10; c1=$(cpu)
    if awk -v a="$c0" -v b="$c1" -v t="$tck" 'BEGIN { exit !((b - a) / t / 10 < 0.01) }'; then t_idle=$(now_s); break; fi
  done
  c0=$(cpu); sleep 30; c1=$(cpu)
  local hwm lines runs
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" || true; pid=
  lines=$(wc -l <"$dir/flisd.log")
  runs=$(sqlite3 "$dir/state/state.db" 'SELECT count(*) FROM runs')
  awk -v l="$label" -v n="$n" -v r0="$rows" -v r="$runs" -v t0="$t0" -v tf="$t_first" -v ta="$t_all" -v ti="$t_idle" \
      -v c0="$c0" -v c1="$c1" -v t="$tck" -v h="$hwm" -v ll="$lines" 'BEGIN {
    printf "%-8s runs in table at start %d, after %d; %d packages\n", l, r0, r, n;
    printf "%-8s   %.1f packages/s start to last (%.1f s); %.1f packages/s first to last (%.1f s)\n", l,
           n / (ta - t0), ta - t0, n / (ta - tf), ta - tf;
    printf "%-8s   idle %.0f s after start; idle CPU %.2f%% of a core over 30 s; peak RSS %.0f MiB; %d log lines\n", l,
           ti - t0, 100 * (c1 - c0) / t / 30, h / 1024, ll }' | tee -a "$work/figures"
  awk -v l="$label" -v n="$n" -v t0="$t0" -v tf="$t_first" -v ta="$t_all" 'BEGIN { printf "%s %f\n", l, n / (ta - tf) }' >>"$work/rates"
}

if [ "$WHICH" = fresh ] || [ "$WHICH" = all ]; then
  world "$work/fresh" history
  land "$work/fresh"
  run "$work/fresh" fresh
fi
if [ "$WHICH" = history ] || [ "$WHICH" = all ]; then
  world "$work/history" history
  # First start with no data processed: every run of the history recorded waiting.
  export FLISD_CONTROL_SOCKET=$work/history/control.sock
  "$BUILD_DIR/flisd" --config "$work/history/etc" --log stderr 2>"$work/history/first.log" &
  pid=$!
  until grep -qs " started: " "$work/history/first.log"; do
    kill -0 "$pid" 2>/dev/null || { tail -5 "$work/history/first.log" >&2; exit 1; }
    sleep 1
  done
  kill -TERM "$pid"; wait "$pid" || true; pid=
  land "$work/history"
  run "$work/history" history
fi
if [ "$WHICH" = empty ] || [ "$WHICH" = all ]; then
  world "$work/empty" short
  land "$work/empty"
  run "$work/empty" empty
fi
if [ "$WHICH" = all ]; then
  awk '{ r[$1] = $2 } END { printf "history / empty packages per second (first to last): %.2f (goal >= 0.8)\n", r["history"] / r["empty"] }' "$work/rates"
fi
