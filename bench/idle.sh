#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Idle cost of flisd (issue 5): with 10,000 orders all waiting for data, a running flisd must use
# under 1% of a core. Measures CPU time (utime + stime from /proc/<pid>/stat) over an idle window
# after startup, plus the startup itself and the resident memory.
#
#   bench/idle.sh [ORDERS] [SECONDS]        (defaults: 10000 orders, 60 s)
#
# The orders: monthly subscriptions spread over the 98 municipalities, starting last month, whose
# data is not processed yet, so each has a waiting run, inotify watches the warehouse and the
# timer is armed at the next calendar time. The safety-net rescan runs every 300 s, outside a 60 s
# window; a longer SECONDS includes it.
set -euo pipefail
cd "$(dirname "$0")/.."
ORDERS=${1:-10000}
SECONDS_IDLE=${2:-60}
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
cmake --build "$BUILD_DIR" --target flisd >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"

work=$(mktemp -d /tmp/flisd-idle-bench.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/etc/orders" "$work/etc/calendar" "$work/warehouse/DSA" "$work/state"
cp config/examples/interfaces.yaml "$work/etc/"
cp config/examples/calendar/*.yaml "$work/etc/calendar/"
cat >"$work/etc/flisd.yaml" <<YAML
warehouse: $work/warehouse
state: $work/state/state.db
targets:
  flis:
    type: directory
    path: $work/out/{municipality}
YAML
start=$(TZ=Europe/Copenhagen date -d "$(date +%Y-%m-01) -1 month" +%F)
end=$(TZ=Europe/Copenhagen date -d '+1 year' +%F)
codes=$(grep -oE '\{[0-9]{3},' config/kommuner.cpp | tr -d '{,' | tr '\n' ' ')
python3 - "$work/etc/orders" "$ORDERS" "$start" "$end" $codes <<'PY'
import sys
out, n, start, end, codes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
ifaces = ["CPR_PERSON", "LOEN_ANSAT", "SAGSBEHANDLING", "YDELSE_UDBETALING"]
for i in range(n):
    code = codes[i % len(codes)]
    oid = "K%s-IDLE-%05d" % (code, i)
    with open("%s/%s.yaml" % (out, oid), "w") as f:
        f.write("id: %s\nmunicipality: %s\ntype: monthly\nsource: DSA\ndelivery: flis\n"
                "interfaces: [%s]\nstart: %s\nend: %s\n" % (oid, code, ifaces[i % len(ifaces)], start, end))
PY
for i in CPR_PERSON LOEN_ANSAT SAGSBEHANDLING YDELSE_UDBETALING; do mkdir -p "$work/warehouse/DSA/$i"; done

export FLISD_CONTROL_SOCKET=$work/control.sock
t0=$(date +%s.%N)
"$BUILD_DIR/flisd" --config "$work/etc" --log stderr 2>"$work/flisd.log" &
pid=$!
until grep -q " started: " "$work/flisd.log"; do
  kill -0 "$pid" 2>/dev/null || { cat "$work/flisd.log" >&2; exit 1; }
  sleep 0.1
done
t1=$(date +%s.%N)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
tck=$(getconf CLK_TCK)
c0=$(cpu)
sleep "$SECONDS_IDLE"
c1=$(cpu)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
waiting=$(grep -c "waiting for" "$work/flisd.log" || true)
awk -v o="$ORDERS" -v s0="$t0" -v s1="$t1" -v c0="$c0" -v c1="$c1" -v t="$tck" -v w="$SECONDS_IDLE" -v r="$rss" -v wt="$waiting" 'BEGIN {
  printf "orders %d, waiting runs %d; startup (load, recover, first plan) %.1f s wall\n", o, wt, s1 - s0;
  printf "idle %d s: %.2f s CPU = %.3f%% of one core (target < 1%%); RSS %.0f MiB\n", w, (c1 - c0) / t, 100 * (c1 - c0) / t / w, r / 1024 }'
