#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisctl's command line as a sysadmin types it: the global options --config and --log work before
# or after the subcommand, and `flisctl plan` reads the state database read-only, so it answers
# while flisd (here: another writer) holds the database's write lock.
set -euo pipefail
: "${FLISD:?} ${FLISCTL:?} ${FLISD_SOURCE_DIR:?}"
source "$FLISD_SOURCE_DIR/tests/support/flisd-world.sh"
world_scratch
fail() { echo "FAIL: $*" >&2; exit 1; }

world_make "$work/w" K101-CPR-DAILY
world_process 3
"$FLISD" --once --config "$work/w/etc" --log stderr 2>"$work/once.log" || { cat "$work/once.log"; fail "flisd --once exited $?"; }

echo "--- --config before and after the subcommand give the same answer"
"$FLISCTL" --config "$work/w/etc" plan --json >"$work/before.json" || fail "flisctl --config DIR plan exited $?"
"$FLISCTL" plan --config "$work/w/etc" --json >"$work/after.json" 2>"$work/after.err" ||
  fail "flisctl plan --config DIR exited $?: $(cat "$work/after.err")"
cmp -s "$work/before.json" "$work/after.json" || fail "the two placements of --config differ"
grep -q '"delivered"' "$work/after.json" || fail "plan does not show the delivered period: $(head -c 400 "$work/after.json")"
"$FLISCTL" runs --config "$work/w/etc" --log stderr >"$work/runs.txt" || fail "flisctl runs --config DIR --log stderr exited $?"
grep -q K101-CPR-DAILY "$work/runs.txt" || fail "runs after the subcommand's --config shows nothing"
set +e
"$FLISCTL" plan --config "$work/w/etc" --log nowhere >/dev/null 2>"$work/log.err"
rc=$?
set -e
[ $rc = 2 ] || fail "a bad --log after the subcommand exited $rc, not 2"

echo "--- plan reads while another process holds the write lock"
db=$work/w/state/state.db
fifo=$work/hold
mkfifo "$fifo"
sqlite3 "$db" <"$fifo" >"$work/holder.out" 2>&1 &
holder=$!
exec 3>"$fifo"
echo "BEGIN IMMEDIATE; SELECT 'locked';" >&3
world_wait "grep -q locked '$work/holder.out'" 30 || fail "the lock holder never got the lock"
timeout 20 "$FLISCTL" plan --config "$work/w/etc" --json >"$work/locked.json" 2>"$work/locked.err" ||
  fail "flisctl plan failed while the database was write-locked: $(cat "$work/locked.err")"
cmp -s "$work/before.json" "$work/locked.json" || fail "plan under the lock answered differently"
echo "COMMIT;" >&3
exec 3>&-
wait "$holder" || true
echo "PASS"
