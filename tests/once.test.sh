#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisd --once end to end on a copy of config/examples and a sample warehouse: real packages in the
# outbox, `flisctl runs` showing them, exactly once across invocations and across a crash that
# left runs `running`, exit 1 when a run fails, and the configuration errors path.
set -euo pipefail
: "${FLISD:?} ${FLISCTL:?} ${FLISD_SOURCE_DIR:?}"
tmp=$(mktemp -d /tmp/flisd-once-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now="2026-11-26 08:00"

cfg=$tmp/cfg
cp -r "$FLISD_SOURCE_DIR/config/examples" "$cfg"
rm -rf "$cfg/demo"
outbox=$cfg/demo/outbox
"$FLISD_SOURCE_DIR/scripts/make-sample-warehouse.sh" "$cfg/demo/warehouse" "$cfg" --now 2026-11-26 --from 2026-06-01

packages() { find "$outbox" -name '*.tar.zst' 2>/dev/null | sort; }
# grep -q in a pipeline would close it early (SIGPIPE under pipefail): list into a file first.
has_package() { packages >"$tmp/packages"; grep -q "/$1.tar.zst$" "$tmp/packages"; }
snapshot() { find "$outbox" -type f 2>/dev/null | sort | xargs -r sha256sum; }
count() { grep -c "$1" || true; }

echo "--- a state database that does not exist yet: an empty table and a note"
"$FLISCTL" --config "$cfg" runs >"$tmp/runs0.txt" 2>"$tmp/runs0.err" || fail "flisctl runs without a database exited $?"
grep -q "no state database" "$tmp/runs0.err" || fail "no note about the missing database: $(cat "$tmp/runs0.err")"
[ "$(wc -l <"$tmp/runs0.txt")" = 1 ] || fail "expected only the header: $(cat "$tmp/runs0.txt")"
[ ! -e "$cfg/demo/state.db" ] || fail "flisctl runs created the state database"
set +e
"$FLISCTL" --config "$cfg" runs --status nonsense 2>"$tmp/usage.err"
rc=$?
set -e
[ $rc = 2 ] || fail "a bad --status exited $rc, not 2"
grep -q "waiting, queued, running, delivered, failed, cancelled" "$tmp/usage.err" || fail "no list of statuses"

echo "--- first --once delivers everything due"
"$FLISD" --once --now "$now" --config "$cfg" --log stderr 2>"$tmp/once1.log" || { cat "$tmp/once1.log"; fail "first --once exited $?"; }
n=$(packages | wc -l)
[ "$n" -gt 20 ] || fail "only $n packages delivered"
for p in K101-CPR-DAILY_2026-11-01 K101-CPR-DAILY_2026-11-23 K101-SAG-WEEKLY_2026-W47 K101-LOEN-MONTHLY_2026-10 \
         DM-101_2026-10 K751-OEKONOMI-2024_2024-12; do
  has_package "$p" || fail "package $p missing"
done
# Waiting: the newest days are landed but not processed, and YDELSE's last month.
for p in K101-CPR-DAILY_2026-11-24 K147-MIXED-MONTHLY_2026-10 K851-YDELSE-MONTHLY_2026-09 K851-LOEN-2023_2023-01; do
  ! has_package "$p" || fail "package $p delivered but should not be"
done
# Every package has its checksum file, and sha256sum agrees with it.
while read -r pkg; do
  (cd "$(dirname "$pkg")" && sha256sum --quiet -c "$(basename "$pkg").sha256") || fail "checksum of $pkg"
done < <(packages)
# A municipality's package holds only its own folder, manifest first.
pkg=$(packages | grep '/K101-CPR-DAILY_2026-11-01.tar.zst$')
tar --zstd -tf "$pkg" >"$tmp/members"
[ "$(head -1 "$tmp/members")" = manifest.json ] || fail "manifest.json is not the first member"
grep -q '^DSA/CPR_PERSON/2026-11-01/' "$tmp/members" || fail "no CPR_PERSON data in $pkg"
unexpected=$(grep -v -e '^manifest.json$' -e '^DSA/CPR_[A-Z]*/2026-11-01/' "$tmp/members" || true)
[ -z "$unexpected" ] || fail "members from elsewhere: $unexpected"
# Column 5 of the sample CSVs is the kommunekode: only 101's rows may be in 101's package.
codes=$(tar --zstd -xOf "$pkg" --wildcards 'DSA/*' | cut -d';' -f5 | sort -u | tr '\n' ' ')
[ "$codes" = "101 kommunekode " ] || fail "kommunekoder in $pkg: $codes"

echo "--- flisctl runs shows them delivered"
"$FLISCTL" --config "$cfg" runs --json >"$tmp/runs.json"
[ "$(count '"status": "delivered"' <"$tmp/runs.json")" = "$n" ] || fail "runs --json does not show $n delivered runs"
grep -q "\"remote\": \"$pkg\"" "$tmp/runs.json" || fail "runs --json lacks the remote path $pkg"
"$FLISCTL" --config "$cfg" runs --status waiting --json >"$tmp/waiting.json"
grep -q '"DSA/CPR_PERSON/2026-11-24"' "$tmp/waiting.json" || fail "waiting run does not name its missing partition"
grep -q '"DSA/YDELSE_UDBETALING/2026-10"' "$tmp/waiting.json" || fail "K147-MIXED-MONTHLY 2026-10 does not wait for YDELSE"
echo "--- flisctl runs marks a waiting run late once the calendar's expected time has passed"
"$FLISCTL" --config "$cfg" runs --order K751-CPR-DAILY --status waiting --json --now "2026-11-25 06:01" >"$tmp/late.json"
[ "$(count '"late": true' <"$tmp/late.json")" = 1 ] || fail "2026-11-24 (expected 2026-11-25 06:00) is not late: $(cat "$tmp/late.json")"
[ "$(count '"late": false' <"$tmp/late.json")" = 1 ] || fail "2026-11-25 (expected 2026-11-26 06:00) is late already"
grep -q '"expected": "2026-11-25T06:00:00+01:00"' "$tmp/late.json" || fail "runs --json lacks the expected time"
"$FLISCTL" --config "$cfg" runs --order K751-CPR-DAILY --status waiting --now "2026-11-25 06:01" >"$tmp/late.txt"
grep -q "2026-11-24 .*waiting .*late (expected 2026-11-25 06:00): missing DSA/CPR_PERSON/2026-11-24" "$tmp/late.txt" ||
  fail "the table does not say late: $(cat "$tmp/late.txt")"
if "$FLISCTL" --config "$cfg" runs --now "tomorrow" >/dev/null 2>"$tmp/badnow.err"; then fail "runs --now tomorrow was accepted"; fi
grep -q "not a time" "$tmp/badnow.err" || fail "runs --now error: $(cat "$tmp/badnow.err")"
"$FLISCTL" --config "$cfg" runs --order K101-SAG-WEEKLY >"$tmp/table.txt"
[[ $(sed -n 1p "$tmp/table.txt") == "RUN  ORDER  "* ]] || fail "table header: $(sed -n 1p "$tmp/table.txt")"
grep -q 'K101-SAG-WEEKLY_2026-W47.tar.zst' "$tmp/table.txt" || fail "table lacks the weekly package"
others=$(sed 1d "$tmp/table.txt" | grep -v K101-SAG-WEEKLY || true)
[ -z "$others" ] || fail "--order shows other orders: $others"

echo "--- a second --once delivers nothing new"
snapshot >"$tmp/before"
"$FLISD" --once --now "$now" --config "$cfg" --log stderr 2>"$tmp/once2.log" || fail "second --once exited $?"
snapshot >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "the second --once changed the outbox: $(diff "$tmp/before" "$tmp/after")"
grep -q "0 delivered, 0 failed" "$tmp/once2.log" || fail "summary: $(tail -1 "$tmp/once2.log")"

echo "--- a crash left two runs running: one whose package is complete, one whose package is gone"
done_pkg=K101-CPR-DAILY_2026-11-05 lost_pkg=K101-CPR-DAILY_2026-11-06
sqlite3 "$cfg/demo/state.db" "UPDATE runs SET status = 'running', bytes = 0, remote = '', checksum = '' \
  WHERE order_id = 'K101-CPR-DAILY' AND period IN ('2026-11-05', '2026-11-06')"
lost=$(packages | grep "/$lost_pkg.tar.zst$")
rm "$lost" "$lost.sha256"
echo partial >"$(dirname "$lost")/.$lost_pkg.tar.zst.part"
snapshot | grep -v "$lost_pkg" >"$tmp/before"
"$FLISD" --once --now "$now" --config "$cfg" --log stderr 2>"$tmp/once3.log" || fail "--once after the crash exited $?"
snapshot | grep -v "$lost_pkg" >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "recovery rewrote a delivered package"
[ -f "$lost" ] && [ -f "$lost.sha256" ] || fail "the lost package was not delivered again"
[ ! -e "$(dirname "$lost")/.$lost_pkg.tar.zst.part" ] || fail "the stale temporary file is still there"
grep -q "1 delivered, 0 failed" "$tmp/once3.log" || fail "summary after recovery: $(tail -1 "$tmp/once3.log")"
"$FLISCTL" --config "$cfg" runs --order K101-CPR-DAILY --status running >"$tmp/running.txt"
[ "$(wc -l <"$tmp/running.txt")" = 1 ] || fail "runs still running: $(cat "$tmp/running.txt")"
row=$(sqlite3 "$cfg/demo/state.db" "SELECT bytes, checksum FROM runs WHERE order_id = 'K101-CPR-DAILY' AND period = '2026-11-05'")
sum=$(cut -d' ' -f1 "$(packages | grep "/$done_pkg.tar.zst$").sha256")
[ "$row" = "$(stat -c %s "$(packages | grep "/$done_pkg.tar.zst$")")|$sum" ] || fail "recovered run records '$row'"

echo "--- a run whose period was edited into no period: --once and flisctl runs refuse, naming the run"
bad=$(sqlite3 "$cfg/demo/state.db" "SELECT id FROM runs WHERE order_id = 'K101-CPR-DAILY' AND period = '2026-11-05'")
sqlite3 "$cfg/demo/state.db" "UPDATE runs SET period = '2026-11-5' WHERE id = $bad"
snapshot >"$tmp/before"
set +e
"$FLISD" --once --now "$now" --config "$cfg" --log stderr 2>"$tmp/once-bad.log"
rc=$?
"$FLISCTL" --config "$cfg" runs >/dev/null 2>"$tmp/runs-bad.err"
rc_runs=$?
set -e
[ $rc = 1 ] || fail "--once over a damaged row exited $rc, not 1"
for f in "$tmp/once-bad.log" "$tmp/runs-bad.err"; do
  grep -q "run $bad has period '2026-11-5', which is not a period name" "$f" || fail "no word of run $bad: $(cat "$f")"
  grep -q "DELETE FROM runs WHERE id = $bad" "$f" || fail "no repair suggested: $(cat "$f")"
done
[ $rc_runs = 1 ] || fail "flisctl runs over a damaged row exited $rc_runs, not 1"
snapshot >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "--once delivered over a run it could not read"
sqlite3 "$cfg/demo/state.db" "UPDATE runs SET period = '2026-11-05' WHERE id = $bad"
"$FLISD" --once --now "$now" --config "$cfg" --log stderr 2>"$tmp/once-fixed.log" || fail "--once after the repair exited $?"
grep -q "0 delivered, 0 failed" "$tmp/once-fixed.log" || fail "after the repair: $(tail -1 "$tmp/once-fixed.log")"
[ "$(sqlite3 "$cfg/demo/state.db" "SELECT COUNT(*) FROM runs WHERE order_id = 'K101-CPR-DAILY' AND period LIKE '2026-11-05%'")" = 1 ] ||
  fail "a second run of K101-CPR-DAILY 2026-11-05 was recorded"

echo "--- a target that cannot be written: exit 1, the run failed with its error"
cfg2=$tmp/cfg2
cp -r "$FLISD_SOURCE_DIR/config/examples" "$cfg2"
rm -rf "$cfg2/demo"
mkdir -p "$cfg2/demo"
echo "not a folder" >"$cfg2/demo/blocker"
sed -i -e "s|^warehouse: .*|warehouse: $cfg/demo/warehouse|" \
       -e "s|path: demo/outbox/flis/{municipality}|path: demo/blocker/{municipality}|" "$cfg2/flisd.yaml"
set +e
"$FLISD" --once --now "$now" --config "$cfg2" --log stderr 2>"$tmp/once4.log"
rc=$?
set -e
[ $rc = 1 ] || fail "--once with an unwritable target exited $rc, not 1"
"$FLISCTL" --config "$cfg2" runs --status failed --json >"$tmp/failed.json"
grep -q '"error": ".*demo/blocker' "$tmp/failed.json" || fail "failed runs do not name the folder: $(head -30 "$tmp/failed.json")"
grep -q '"next_attempt": "2026-11-26T08:01:00+01:00"' "$tmp/failed.json" || fail "first retry is not 60 s later"

echo "--- a broken order file: --once refuses with the diagnostics, flisctl runs still works"
echo "id: [broken" >"$cfg/orders/BROKEN.yaml"
set +e
"$FLISD" --once --now "$now" --config "$cfg" --log stderr 2>"$tmp/once5.log"
rc=$?
set -e
[ $rc = 1 ] || fail "--once with a broken order exited $rc, not 1"
grep -q "orders/BROKEN.yaml:" "$tmp/once5.log" || fail "diagnostics do not name the file: $(cat "$tmp/once5.log")"
"$FLISCTL" --config "$cfg" runs --status delivered >"$tmp/runs5.txt" 2>/dev/null || fail "flisctl runs failed with a broken order file"
[ "$(wc -l <"$tmp/runs5.txt")" -gt "$n" ] || fail "flisctl runs lists too few runs with a broken order file"
echo "once.test: ok ($n packages)"
