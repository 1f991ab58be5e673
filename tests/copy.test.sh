#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisctl copy (rule 8): the copy validates and loads with the original's source, type and
# interfaces and the dates given; existing ids and files, generated datamart orders and copies
# that would not validate are refused with nothing written.
set -uo pipefail
: "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; else echo "ok: $1"; fi; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$FLISD_SOURCE_DIR/config/examples" "$work/etc"
rm -rf "$work/etc/demo"
ctl() { "$FLISCTL" --config "$work/etc" "$@"; }

ctl copy K101-LOEN-MONTHLY K101-LOEN-2028 --start 2027-01-01 --end 2027-06-30 >"$work/out" 2>"$work/err"; rc=$?
check "copy succeeds" '[ $rc = 0 ] && grep -q "K101-LOEN-2028.yaml" "$work/out"'
f="$work/etc/orders/K101-LOEN-2028.yaml"
check "the new file has the original's fields and the given dates" '
  grep -qx "id: K101-LOEN-2028" "$f" && grep -qx "municipality: 101" "$f" && grep -qx "type: monthly" "$f" &&
  grep -qx "source: DSA" "$f" && grep -qx "delivery: flis" "$f" &&
  grep -qx "interfaces: \[LOEN_ANSAT, LOEN_FRAVAER\]" "$f" &&
  grep -qx "start: 2027-01-01" "$f" && grep -qx "end: 2027-06-30" "$f" && grep -qx "status: active" "$f"'
out=$(ctl validate 2>/dev/null); rc=$?
check "the tree still validates, one order more" '[ $rc = 0 ] && [[ "$out" == *": 16 orders (4 generated)"* ]]'
check "no temporary file is left" '[ -z "$(ls -A "$work/etc/orders" | grep "^\.")" ]'

ctl copy K751-OEKONOMI-2024 K751-OEKONOMI-2023 --from 2023-01-01 --to 2023-12-31 >/dev/null 2>&1; rc=$?
f="$work/etc/orders/K751-OEKONOMI-2023.yaml"
check "a one-off copy keeps chunk and takes from/to" '[ $rc = 0 ] && grep -qx "type: one-off" "$f" &&
  grep -qx "chunk: month" "$f" && grep -qx "from: 2023-01-01" "$f" && grep -qx "to: 2023-12-31" "$f"'

ctl copy K851-LOEN-2023 K851-LOEN-2022 >/dev/null 2>&1; rc=$?
check "copying a cancelled order gives an active one with the same dates" '[ $rc = 0 ] &&
  grep -qx "status: active" "$work/etc/orders/K851-LOEN-2022.yaml" && grep -qx "from: 2023-01-01" "$work/etc/orders/K851-LOEN-2022.yaml"'

before=$(cat "$work/etc/orders/K101-CPR-DAILY.yaml")
ctl copy K101-LOEN-MONTHLY K101-CPR-DAILY >/dev/null 2>"$work/err"; rc=$?
check "an existing id is refused" '[ $rc = 1 ] && grep -q "already exists" "$work/err" &&
  [ "$(cat "$work/etc/orders/K101-CPR-DAILY.yaml")" = "$before" ]'

# A file named like the new id, holding an order with another id.
sed 's/^id: .*/id: SOMETHING-ELSE/' "$work/etc/orders/K101-LOEN-MONTHLY.yaml" >"$work/etc/orders/K101-X1.yaml"
ctl copy K101-LOEN-MONTHLY K101-X1 >/dev/null 2>"$work/err"; rc=$?
check "an existing file is refused" '[ $rc = 1 ] && grep -q "K101-X1.yaml already exists" "$work/err"'

ctl copy DM-101 DM-101-COPY >/dev/null 2>"$work/err"; rc=$?
check "a generated datamart order is refused" '[ $rc = 1 ] && grep -q "datamart" "$work/err" &&
  [ ! -e "$work/etc/orders/DM-101-COPY.yaml" ]'

ctl copy K101-CPR-DAILY K101-BAD --start 2027-12-01 --end 2027-01-01 >/dev/null 2>"$work/err"; rc=$?
check "a copy that would not validate is refused, errors shown, nothing written" '[ $rc = 1 ] &&
  grep -q "orders/K101-BAD.yaml:.*error: end 2027-01-01 is before start 2027-12-01" "$work/err" &&
  grep -q "nothing written" "$work/err" && [ ! -e "$work/etc/orders/K101-BAD.yaml" ]'

ctl copy NO-SUCH K1 >/dev/null 2>"$work/err"; rc=$?
check "an unknown id is refused" '[ $rc = 1 ] && grep -q "no order .NO-SUCH." "$work/err"'
ctl copy K101-CPR-DAILY ../escape >/dev/null 2>"$work/err"; rc=$?
check "an unsafe new id is refused" '[ $rc = 1 ] && [ ! -e "$work/etc/escape.yaml" ]'
ctl copy K101-CPR-DAILY K1 --start 2027-02-30 >/dev/null 2>&1; rc=$?
check "a bad date option is wrong usage" '[ $rc = 2 ]'
ctl copy K101-CPR-DAILY >/dev/null 2>&1; rc=$?
check "a missing NEW-ID is wrong usage" '[ $rc = 2 ]'
exit $fail
