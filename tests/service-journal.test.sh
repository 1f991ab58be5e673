#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisd --log journal writes structured entries that journalctl reads back: a run's
# story under FLIS_ORDER=<id>, each entry with FLIS_RUN, FLIS_PERIOD, FLIS_MUNICIPALITY, FLIS_STATUS
# and the MESSAGE_ID of its kind of event. Starts a standalone systemd-journald when this machine
# has none (containers, CI) through scripts/services.sh.
set -euo pipefail
: "${FLISD:?}" "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
source "$FLISD_SOURCE_DIR/tests/support/flisd-world.sh"

# A journald that is gone leaves its socket behind; services.sh probes and restarts it.
"$FLISD_SOURCE_DIR/scripts/services.sh" || { echo "FAIL: no journald reachable on this machine" >&2; exit 1; }

world_scratch
fail() { echo "FAIL: $*" >&2; exit 1; }

# An order id of its own, so entries of earlier runs of this test cannot make it pass.
ORDER=K101-JOURNAL-$(date +%s)-$$
world_make "$work" "$ORDER"
world_process 3
D3=$(world_day 3)
export FLISD_CONTROL_SOCKET=$work/control.sock

"$FLISD" --config "$work/etc" --log journal 2>"$work/stderr.log" &
pid=$!
world_wait "[ -f '$work/out/101/${ORDER}_${D3}.tar.zst.sha256' ] || ! kill -0 $pid 2>/dev/null" 60
[ -f "$work/out/101/${ORDER}_${D3}.tar.zst.sha256" ] || fail "no delivery: $(cat "$work/stderr.log")"
kill -TERM "$pid"; wait "$pid" || fail "flisd exited $? on SIGTERM"; pid=
[ ! -s "$work/stderr.log" ] || fail "with --log journal, flisd wrote to stderr: $(cat "$work/stderr.log")"

# journald may take a moment to make entries visible.
check() {
  journalctl --no-pager -o json "FLIS_ORDER=$ORDER" "FLIS_PERIOD=$D3" | python3 -c '
import json, sys
want_delivered = "38eebf934ca24088a55c728181327766"   # Event::run_delivered
want_started = "ff67c34b65bd4229849cbb24df5c7e47"     # Event::run_started
entries = [json.loads(l) for l in sys.stdin if l.strip()]
ids = {e.get("MESSAGE_ID") for e in entries}
assert want_started in ids and want_delivered in ids, "MESSAGE_IDs seen: %s" % ids
d = next(e for e in entries if e.get("MESSAGE_ID") == want_delivered)
assert d["FLIS_STATUS"] == "delivered", d
assert d["FLIS_MUNICIPALITY"] == "101", d
assert d["FLIS_RUN"].isdigit(), d
assert d["SYSLOG_IDENTIFIER"] == "flisd", d
assert d["PRIORITY"] == "6", d
assert "delivered" in d["MESSAGE"], d
' 2>"$work/check.err"
}
world_wait check 10 || fail "journal entries for $ORDER: $(cat "$work/check.err")
$(journalctl --no-pager -o json "FLIS_ORDER=$ORDER" | head -5)"
n=$(journalctl --no-pager -o cat "FLIS_ORDER=$ORDER" | wc -l)
echo "journalctl FLIS_ORDER=$ORDER: $n entries"
journalctl --no-pager -o cat "FLIS_ORDER=$ORDER"
echo PASS
