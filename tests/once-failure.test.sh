#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# An ordinary failed delivery under flisd --once: each failed attempt is one warning (no false
# "cannot record the outcome in the state database"), and every other due run is still tried.
set -euo pipefail
: "${FLISD:?} ${FLISCTL:?} ${FLISD_SOURCE_DIR:?}"
source "$FLISD_SOURCE_DIR/tests/support/flisd-world.sh"
world_scratch
fail() { echo "FAIL: $*" >&2; exit 1; }

world_make "$work/w" K101-GOOD
for d in 1 2 3; do world_process $d; done
# A second order on the other delivery, whose target folder cannot be made (a file is in the way).
: >"$work/w/blocked"
cat >>"$work/w/etc/flisd.yaml" <<YAML
  serviceplatformen:
    type: directory
    path: $work/w/blocked/{municipality}
YAML
sed -e 's/^id: .*/id: K101-BAD/' -e 's/^delivery: .*/delivery: serviceplatformen/' \
  "$work/w/etc/orders/K101-GOOD.yaml" >"$work/w/etc/orders/K101-BAD.yaml"

set +e
"$FLISD" --once --config "$work/w/etc" --log stderr 2>"$work/once.log"
rc=$?
set -e
[ $rc = 1 ] || fail "flisd --once exited $rc with a failed run, not 1"
if grep -q "cannot record the outcome" "$work/once.log"; then
  fail "a failed delivery was reported as a state database error: $(grep 'cannot record' "$work/once.log")"
fi
n_warn=$(grep -c "K101-BAD .*attempt 1 of .* failed" "$work/once.log" || true)
[ "$n_warn" = 1 ] || fail "expected one warning for the failed attempt, got $n_warn: $(cat "$work/once.log")"
good=$(find "$work/w/out/101" -name 'K101-GOOD_*.tar.zst' | wc -l)
[ "$good" = 3 ] || fail "the other order's 3 due periods were not all delivered ($good): $(tail -3 "$work/once.log")"
grep -q "flisd --once: 3 delivered, 1 failed" "$work/once.log" || fail "summary: $(tail -1 "$work/once.log")"
"$FLISCTL" --config "$work/w/etc" runs --order K101-BAD --json >"$work/bad.json"
grep -q '"status": *"failed"' "$work/bad.json" || fail "the failed run is not recorded as failed: $(cat "$work/bad.json")"
echo PASS
