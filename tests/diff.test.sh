#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisctl diff as a reviewer reads it: two trees made from config/examples (a new one-off order
# from 2015, an end date moved earlier, an order removed, a datamart entitlement added), before and
# after flisd --once has delivered what was due (delivered periods are never "new" or "cancelled");
# an invalid NEW (errors first, exit 1); and --git against a repository whose configuration is a
# subfolder, at an earlier commit, at a commit before the folder existed, and at a revision that
# does not exist. A changed setting is named, key by key.
set -euo pipefail
: "${FLISD:?} ${FLISCTL:?} ${FLISD_SOURCE_DIR:?}"
tmp=$(mktemp -d /tmp/flisd-diff-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now="2026-11-26 08:00"
# has FILE TEXT: the output holds TEXT as a fixed string (grep -q in a pipe could SIGPIPE the writer).
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "no '$2' in $(basename "$1")"; }; }
lacks() { ! grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "'$2' in $(basename "$1")"; }; }

# Both trees share one warehouse and one state database (absolute paths), as the deployed
# configuration and the proposed one do on the host.
old=$tmp/old new=$tmp/new
cp -r "$FLISD_SOURCE_DIR/config/examples" "$old"
rm -rf "$old/demo"
sed -i "s|^warehouse: .*|warehouse: $tmp/warehouse|; s|^state: .*|state: $tmp/state.db|" "$old/flisd.yaml"
"$FLISD_SOURCE_DIR/scripts/make-sample-warehouse.sh" "$tmp/warehouse" "$old" --now 2026-11-26 --from 2026-06-01 >/dev/null
cp -r "$old" "$new"
cat >"$new/orders/K101-LOEN-2015.yaml" <<'EOF'
id: K101-LOEN-2015
municipality: 101
type: one-off
source: DSA
delivery: flis
interfaces: [LOEN_ANSAT]
from: 2015-01-01
to: 2025-10-31
chunk: month
EOF
sed -i 's/^end: 2027-12-31/end: 2026-08-31/' "$new/orders/K101-LOEN-MONTHLY.yaml"
rm "$new/orders/K147-CPR-LEGACY.yaml"
sed -i 's/^    851: \[DM_OEKONOMI\]$/&\n    860: [DM_BORGER]/' "$new/flisd.yaml"
grep -q '860: \[DM_BORGER\]' "$new/flisd.yaml" || fail "could not add the 860 entitlement"
sed -i 's/^workers: 2 /workers: 3 /' "$new/flisd.yaml"

echo "--- nothing delivered yet: every period counts"
"$FLISCTL" diff "$old" "$new" --now "$now" >"$tmp/d1.txt" 2>"$tmp/d1.err" || fail "diff exited $?: $(cat "$tmp/d1.err")"
cat "$tmp/d1.txt"
has "$tmp/d1.txt" "Run history: none at $tmp/state.db"
has "$tmp/d1.txt" "+ K101-LOEN-2015: added (one-off, municipality 101)"
has "$tmp/d1.txt" "delivers 130 packages, 2015-01..2025-10"
has "$tmp/d1.txt" "~ K101-LOEN-MONTHLY: changed (monthly, municipality 101)"
has "$tmp/d1.txt" "end: 2027-12-31 -> 2026-08-31"
has "$tmp/d1.txt" "subscription end moves earlier: 2027-12-31 -> 2026-08-31"
has "$tmp/d1.txt" "cancels 16 periods, 2026-09..2027-12"
has "$tmp/d1.txt" "- K147-CPR-LEGACY: removed"
has "$tmp/d1.txt" "+ DM-860: datamart order appears"
lacks "$tmp/d1.txt" "K101-CPR-DAILY"  # unchanged
# A setting that changed is named; the targets' relative paths, the same in both trees, are not.
has "$tmp/d1.txt" "* flisd.yaml: settings changed"
has "$tmp/d1.txt" "    workers: 2 -> 3"
lacks "$tmp/d1.txt" "targets.flis.path"
# The sample warehouse holds LOEN_ANSAT from 2023: those months are due now, with their bytes.
grep -E -q 'delivers 130 packages, 2015-01\.\.2025-10 \(34 due now, 96 waiting for data\); [0-9.]+ KiB in the warehouse today' "$tmp/d1.txt" ||
  fail "the new one-off order's line: $(grep -A1 K101-LOEN-2015 "$tmp/d1.txt")"

echo "--- --json says the same, field by field"
"$FLISCTL" diff "$old" "$new" --now "$now" --json >"$tmp/d1.json" 2>/dev/null
has "$tmp/d1.json" '"valid": true'
has "$tmp/d1.json" '"order": "K101-LOEN-2015"'
grep -A14 '"order": "K101-LOEN-2015"' "$tmp/d1.json" | tr -d ' \n' >"$tmp/one-off.json"
has "$tmp/one-off.json" '"change":"added","datamart":false,"keys":[],"end":null,"delivered":{"count":130,"first":"2015-01","last":"2025-10","due":34,"waiting":96,"future":0,'
has "$tmp/d1.json" '"key": "end"'

echo "--- after flisd --once: delivered periods are neither new nor cancelled"
"$FLISD" --once --now "$now" --config "$old" --log stderr 2>"$tmp/once.log" || { cat "$tmp/once.log"; fail "--once exited $?"; }
"$FLISCTL" diff "$old" "$new" --now "$now" >"$tmp/d2.txt" 2>/dev/null || fail "diff after --once exited $?"
has "$tmp/d2.txt" "Run history: $tmp/state.db ("
# 2026-09 and 2026-10 went out already: only 2026-11..2027-12 are left to cancel.
has "$tmp/d2.txt" "cancels 14 periods, 2026-11..2027-12"
has "$tmp/d2.txt" "delivers 130 packages, 2015-01..2025-10"
[ -z "$(find "$new" -name state.db)" ] || fail "diff created a state database"

echo "--- an invalid NEW: its errors first, exit 1, no diff"
bad=$tmp/bad
cp -r "$new" "$bad"
sed -i 's/^source: DSA/source: DSX/' "$bad/orders/K101-LOEN-2015.yaml"
set +e
"$FLISCTL" diff "$old" "$bad" --now "$now" >"$tmp/d3.txt" 2>"$tmp/d3.err"
rc=$?
set -e
[ $rc = 1 ] || fail "an invalid NEW exited $rc, not 1"
head -1 "$tmp/d3.err" | grep -q "^$bad/orders/K101-LOEN-2015.yaml:[0-9]*:[0-9]*: error: unknown source 'DSX'" ||
  fail "the first line is not the error: $(cat "$tmp/d3.err")"
has "$tmp/d3.err" "has 1 error; fix them first"
[ ! -s "$tmp/d3.txt" ] || fail "a diff was printed for an invalid NEW: $(cat "$tmp/d3.txt")"

echo "--- --git: the configuration in a subfolder of a repository"
repo=$tmp/repo
mkdir -p "$repo/etc"
git() { command git -C "$repo" -c user.name=Test -c user.email=test@example.invalid -c init.defaultBranch=main "$@"; }
git init -q
echo "configuration repository" >"$repo/README"
git add README && git commit -q -m "before the configuration"
cp -r "$old" "$repo/etc/flisd"
git add etc && git commit -q -m "deployed"
rm -rf "$repo/etc/flisd" && cp -r "$new" "$repo/etc/flisd"
git add -A etc && git commit -q -m "proposed"
"$FLISCTL" diff --git HEAD~1 "$repo/etc/flisd" --now "$now" >"$tmp/g1.txt" 2>"$tmp/g1.err" || fail "diff --git exited $?: $(cat "$tmp/g1.err")"
has "$tmp/g1.txt" "flisctl diff: $repo/etc/flisd at HEAD~1 ("
has "$tmp/g1.txt" "cancels 14 periods, 2026-11..2027-12"
has "$tmp/g1.txt" "delivers 130 packages, 2015-01..2025-10"
has "$tmp/g1.txt" "+ DM-860: datamart order appears"
# From inside the folder, with --config, as a hook runs it; the working tree against HEAD.
sed -i 's/^end: 2027-12-31/end: 2026-12-31/' "$repo/etc/flisd/orders/K101-SAG-WEEKLY.yaml"
(cd "$repo/etc/flisd" && "$FLISCTL" --config . diff --git HEAD --now "$now") >"$tmp/g2.txt" 2>/dev/null ||
  fail "diff --git HEAD from the folder exited $?"
has "$tmp/g2.txt" "~ K101-SAG-WEEKLY: changed"
has "$tmp/g2.txt" "end: 2027-12-31 -> 2026-12-31"
lacks "$tmp/g2.txt" "K101-LOEN-2015"
# Before the folder existed: everything is new.
"$FLISCTL" diff --git HEAD~2 "$repo/etc/flisd" --now "$now" >"$tmp/g3.txt" 2>/dev/null || fail "diff --git HEAD~2 exited $?"
has "$tmp/g3.txt" "did not exist: every order is new"
has "$tmp/g3.txt" "+ K101-CPR-DAILY: added"
# A revision that does not exist, and one that looks like an option.
set +e
"$FLISCTL" diff --git no-such-branch "$repo/etc/flisd" >/dev/null 2>"$tmp/g4.err"
rc=$?
set -e
[ $rc = 1 ] || fail "a missing revision exited $rc"
has "$tmp/g4.err" "no commit 'no-such-branch'"
if "$FLISCTL" diff --git=--output=/tmp/x "$repo/etc/flisd" >/dev/null 2>"$tmp/g5.err"; then fail "an option as revision was accepted"; fi
has "$tmp/g5.err" "is not a git revision"
[ -z "$(find /tmp -maxdepth 1 -name 'flisctl-diff.*' -newer "$tmp/g1.txt" 2>/dev/null)" ] || fail "a temporary folder was left behind"

echo "--- usage"
set +e
"$FLISCTL" diff "$old" >/dev/null 2>"$tmp/u.err"; rc=$?
set -e
[ $rc = 2 ] || fail "one folder without --git exited $rc, not 2"
echo "diff: ok"
