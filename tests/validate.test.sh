#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisctl validate: exit codes (0 clean or warnings only, 1 errors, 2 wrong usage), diagnostics on
# stderr as file:line:col with the folder as given, the summary on stdout.
set -uo pipefail
: "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fail=1; else echo "ok: $1"; fi; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$FLISD_SOURCE_DIR/config/examples" "$work/etc"
rm -rf "$work/etc/demo"

out=$("$FLISCTL" validate "$work/etc" 2>"$work/err"); rc=$?
check "examples validate with exit 0" '[ $rc = 0 ]'
check "summary counts orders, generated, warnings, errors" \
  '[ "$out" = "$work/etc: 15 orders (4 generated), 1 warning, 0 errors" ]'
check "the rule-6 warning is on stderr with the path as given" \
  'grep -q "^$work/etc/orders/K147-MIXED-MONTHLY.yaml:8:13: warning: .*fagsystemer" "$work/err"'

out=$("$FLISCTL" --config "$work/etc" validate 2>/dev/null); rc=$?
check "DIR defaults to --config" '[ $rc = 0 ] && [[ "$out" == "$work/etc: 15 orders"* ]]'

cat >"$work/etc/orders/K101-BROKEN.yaml" <<'YAML'
id: K101-BROKEN
municipality: 411
type: daily
source: DSA
delivery: flis
interfaces: [CPR_PERSON, LOEN_ANSAT]
start: 2026-02-30
end: 2027-12-31
YAML
(cd "$work" && "$FLISCTL" validate etc >"$work/out" 2>"$work/err"); rc=$?
check "errors give exit 1" '[ $rc = 1 ]'
check "every error of the file, sorted, relative to the folder as given" '
  [ "$(grep -c ": error: " "$work/err")" = 3 ] &&
  [ "$(sed -n 1p "$work/err" | cut -d: -f1-3)" = "etc/orders/K101-BROKEN.yaml:2:15" ] &&
  grep -q "^etc/orders/K101-BROKEN.yaml:6:26: error: interface LOEN_ANSAT is received monthly" "$work/err" &&
  grep -q "^etc/orders/K101-BROKEN.yaml:7:8: error: .2026-02-30. is not a real date" "$work/err"'
check "summary says 3 errors" 'grep -q "1 warning, 3 errors$" "$work/out"'

"$FLISCTL" validate --bogus "$work/etc" >/dev/null 2>&1; rc=$?
check "unknown option is wrong usage: exit 2" '[ $rc = 2 ]'
"$FLISCTL" validate "$work/etc" extra >/dev/null 2>&1; rc=$?
check "two folders is wrong usage: exit 2" '[ $rc = 2 ]'
(cd "$work" && "$FLISCTL" validate nowhere >/dev/null 2>"$work/err"); rc=$?
check "a missing folder is a failed check: exit 1" '[ $rc = 1 ] && grep -q "^nowhere: error: no configuration folder" "$work/err"'
exit $fail
