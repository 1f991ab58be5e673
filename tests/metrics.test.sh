#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# /metrics as Prometheus scrapes it: flisd with `metrics: {listen: 127.0.0.1:0}` (a free port, named
# in the log) delivers a package of a small world; the scrape shows what a user would expect (one
# delivery, its bytes, the waiting and late runs as `flisctl runs` shows them, the order's last
# delivery and period, a good configuration load), `promtool check metrics` has nothing to say; a
# broken reload shows as 0 and a good one as 1 again; a run that fails for good is counted so;
# after a restart the last delivery is still there (read from the state database at start).
set -euo pipefail
: "${FLISD:?}" "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
source "$FLISD_SOURCE_DIR/tests/support/flisd-world.sh"

world_scratch
fail() {
  echo "FAIL: $*" >&2
  echo "--- flisd log:" >&2; cat "$work"/flisd*.log >&2 || true
  echo "--- last scrape:" >&2; cat "$work/scrape" >&2 || true
  exit 1
}
command -v promtool >/dev/null || fail "promtool is missing (apt-get install prometheus; scripts/deps.sh)"
command -v curl >/dev/null || fail "curl is missing (scripts/deps.sh)"

ORDER=K101-CPR-DAILY
world_make "$work" "$ORDER"
printf 'metrics: {listen: "127.0.0.1:0"}\n' >>"$work/etc/flisd.yaml"
world_process 3
D3=$(world_day 3)
export FLISD_CONTROL_SOCKET=$work/control.sock
out=$work/out/101
ctl() { "$FLISCTL" --config "$work/etc" "$@"; }

start_flisd() {  # LOGNAME: starts flisd, sets $url from the address it logs
  : >"$work/$1"
  "$FLISD" --config "$work/etc" --log stderr 2>"$work/$1" &
  pid=$!
  world_wait "grep -q 'metrics: serving http://' '$work/$1' || ! kill -0 $pid 2>/dev/null" 30
  url=$(grep -o 'metrics: serving http://[^ ]*' "$work/$1" | head -1 | cut -d' ' -f3)
  [ -n "$url" ] || fail "flisd did not log where it serves the metrics"
  case $url in http://127.0.0.1:[1-9]*/metrics) ;; *) fail "metrics served at $url, not on 127.0.0.1" ;; esac
}
scrape() { curl -sf "$url" >"$work/scrape"; }
# The value of one sample, "NAME{labels}" exactly as exposed, or empty.
value() { awk -v s="$1" '$1 == s {print $2}' "$work/scrape"; }
expect() {  # SAMPLE WANT
  local v; v=$(value "$1")
  [ "$v" = "$2" ] || fail "$1 is '$v', want '$2'"
}
# Unix time from the exposition's float (1.7962e+09 or 1796224384).
seconds() { awk -v v="$1" 'BEGIN {printf "%d", v}'; }

echo "--- deliver a package, then scrape"
t0=$(date +%s)
start_flisd flisd1.log
world_wait "[ -f '$out/${ORDER}_${D3}.tar.zst.sha256' ] || ! kill -0 $pid" 60
[ -f "$out/${ORDER}_${D3}.tar.zst.sha256" ] || fail "no delivery"
# The loop updates the counts after the turn that saw the run finish.
world_wait "scrape && [ \"\$(value 'flisd_runs{status=\"delivered\"}')\" = 1 ]" 30 || fail "the scrape never shows the delivery"
t1=$(date +%s)

expect 'flisd_deliveries_total{result="delivered"}' 1
expect 'flisd_deliveries_total{result="failed"}' 0
expect flisd_delivered_bytes_total "$(stat -c %s "$out/${ORDER}_${D3}.tar.zst")"
expect flisd_run_duration_seconds_count 1
expect 'flisd_run_duration_seconds_bucket{le="+Inf"}' 1
for s in queued running failed cancelled; do expect "flisd_runs{status=\"$s\"}" 0; done
expect flisd_runs_failed_final 0
# Waiting and late, as flisctl runs shows them (the later days have no data).
ctl runs --status waiting --json >"$work/waiting.json"
waiting=$(grep -c '"status": "waiting"' "$work/waiting.json" || true)
late=$(grep -c '"late": true' "$work/waiting.json" || true)
[ "$waiting" -ge 1 ] || fail "test premise: no waiting run: $(cat "$work/waiting.json")"
expect 'flisd_runs{status="waiting"}' "$waiting"
expect flisd_runs_late "$late"
# The order's last delivery and its period (a day).
last=$(value "flisd_order_last_delivered_timestamp_seconds{municipality=\"101\",order=\"$ORDER\"}")
[ -n "$last" ] || fail "no last delivery for $ORDER"
last=$(seconds "$last")
[ "$last" -ge "$t0" ] && [ "$last" -le "$t1" ] || fail "last delivery at $last, not between $t0 and $t1"
expect "flisd_order_period_seconds{municipality=\"101\",order=\"$ORDER\"}" 86400
expect flisd_config_last_reload_successful 1
loaded=$(seconds "$(value flisd_config_last_reload_timestamp_seconds)")
[ "$loaded" -ge "$t0" ] && [ "$loaded" -le "$t1" ] || fail "configuration loaded at $loaded, not between $t0 and $t1"
expect "flisd_build_info{version=\"$("$FLISD" --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+')\"}" 1

echo "--- promtool check metrics has nothing to say"
promtool check metrics <"$work/scrape" >"$work/promtool.out" 2>&1 || fail "promtool check metrics: $(cat "$work/promtool.out")"
[ ! -s "$work/promtool.out" ] || fail "promtool check metrics complains: $(cat "$work/promtool.out")"

echo "--- a broken reload is 0, a good one 1"
cp "$work/etc/orders/$ORDER.yaml" "$work/good.yaml"
printf 'id: %s\nmunicipality: 101\ntype: fortnightly\n' "$ORDER" >"$work/etc/orders/$ORDER.yaml"
ctl reload >/dev/null 2>&1 && fail "flisctl reload of a broken order succeeded"
scrape || fail "scrape after the reload"
expect flisd_config_last_reload_successful 0
[ "$(seconds "$(value flisd_config_last_reload_timestamp_seconds)")" -ge "$loaded" ] || fail "the reload time went back"
cp "$work/good.yaml" "$work/etc/orders/$ORDER.yaml"
ctl reload >/dev/null || fail "flisctl reload of the good order failed"
scrape || fail "scrape after the second reload"
expect flisd_config_last_reload_successful 1

echo "--- a run that fails for good: counted as failed, and as final"
# A second order to a target folder that cannot be made (its parent is a file), one attempt only.
: >"$work/blocked"
cat >>"$work/etc/flisd.yaml" <<YAML
retry: {attempts: 1, initial: 60s, max: 60s}
YAML
sed -i "s|^targets:|targets:\n  serviceplatformen:\n    type: directory\n    path: $work/blocked/{municipality}|" "$work/etc/flisd.yaml"
sed -e "s/^id: .*/id: K101-CPR-BLOCKED/" -e "s/^delivery: .*/delivery: serviceplatformen/" \
  "$work/etc/orders/$ORDER.yaml" >"$work/etc/orders/K101-CPR-BLOCKED.yaml"
ctl reload >/dev/null || fail "flisctl reload with the blocked order failed"
world_wait "scrape && [ \"\$(value flisd_runs_failed_final)\" = 1 ]" 30 || fail "the failed run never shows"
expect 'flisd_deliveries_total{result="failed"}' 1
expect 'flisd_deliveries_total{result="delivered"}' 1
expect 'flisd_runs{status="failed"}' 1
expect flisd_run_duration_seconds_count 2
expect 'flisd_order_last_delivered_timestamp_seconds{municipality="101",order="K101-CPR-BLOCKED"}' ""
expect 'flisd_order_period_seconds{municipality="101",order="K101-CPR-BLOCKED"}' 86400

echo "--- after a restart the last delivery is read back from the state database"
kill -TERM "$pid"; wait "$pid" || fail "flisd exited $? on SIGTERM"; pid=
start_flisd flisd2.log
scrape || fail "scrape after the restart"
[ "$(seconds "$(value "flisd_order_last_delivered_timestamp_seconds{municipality=\"101\",order=\"$ORDER\"}")")" = "$last" ] ||
  fail "the last delivery after the restart is not $last"
expect 'flisd_deliveries_total{result="delivered"}' 0  # counters start at 0 with the process
kill -TERM "$pid"; wait "$pid" || fail "flisd exited $? on SIGTERM"; pid=
echo "ok: /metrics served on $url, values as expected, promtool satisfied"
