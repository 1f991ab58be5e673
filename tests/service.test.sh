#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisd as a process, the way systemd drives it: signals, the control socket, crash and restart.
#  - kill -9 in the middle of an upload, then a restart: the period is delivered exactly once and
#    nothing partial is left under a final name;
#  - SIGHUP and `flisctl reload` re-read the configuration; a broken order is reported and kept;
#  - `flisctl trigger` answers through the socket; SIGTERM ends flisd with exit 0.
set -euo pipefail
: "${FLISD:?}" "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
source "$FLISD_SOURCE_DIR/tests/support/flisd-world.sh"

world_scratch
fail() {
  echo "FAIL: $*" >&2
  echo "--- flisd log:" >&2; cat "$work"/flisd*.log >&2 || true
  exit 1
}

ORDER=K101-CPR-DAILY
world_make "$work" "$ORDER" 19     # zstd level 19: slow enough to kill in the middle
world_process 3 3                  # 3 MiB of incompressible data on the first day
world_process 2
export FLISD_CONTROL_SOCKET=$work/control.sock
out=$work/out/101
D3=$(world_day 3) D2=$(world_day 2)
ctl() { "$FLISCTL" --config "$work/etc" "$@"; }

ctl_up() { "$FLISCTL" reload >/dev/null 2>&1; }  # the socket answers
start_flisd() {  # LOGNAME
  "$FLISD" --config "$work/etc" --log stderr 2>"$work/$1" &
  pid=$!
  world_wait "ctl_up || ! kill -0 $pid 2>/dev/null" 30
  kill -0 "$pid" 2>/dev/null || fail "flisd died at start"
  [ -S "$FLISD_CONTROL_SOCKET" ] || fail "flisd made no control socket"
}

echo "== kill -9 mid-upload"
start_flisd flisd1.log
world_wait "ls -A '$out' 2>/dev/null | grep -q '^\.${ORDER}_${D3}.*\.part$'" 60 || fail "no upload in progress to interrupt"
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=
[ ! -e "$out/${ORDER}_${D3}.tar.zst" ] || fail "a package under its final name after kill -9 mid-upload"

echo "== restart delivers exactly once"
[ -S "$FLISD_CONTROL_SOCKET" ] || fail "test premise: the dead flisd's socket file should still be there"
start_flisd flisd2.log
world_wait "[ -f '$out/${ORDER}_${D3}.tar.zst.sha256' ] && [ -f '$out/${ORDER}_${D2}.tar.zst.sha256' ]" 120 \
  || fail "the packages were not delivered after the restart: $(ls -A "$out")"
listing=$(cd "$out" && ls -A | sort | tr '\n' ' ')
want="${ORDER}_${D3}.tar.zst ${ORDER}_${D3}.tar.zst.sha256 ${ORDER}_${D2}.tar.zst ${ORDER}_${D2}.tar.zst.sha256 "
[ "$listing" = "$want" ] || fail "target holds '$listing', want '$want'"
(cd "$out" && sha256sum --quiet -c ./*.sha256) || fail "a delivered package does not match its .sha256"
delivered=$(ctl runs --json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["status"]=="delivered"))')
[ "$delivered" = 2 ] || fail "runs table shows $delivered delivered runs, want 2: $(ctl runs)"

echo "== reload: SIGHUP and flisctl"
cp "$work/etc/orders/$ORDER.yaml" "$work/good.yaml"
printf 'id: %s\nmunicipality: 101\ntype: fortnightly\n' "$ORDER" >"$work/etc/orders/$ORDER.yaml"
kill -HUP "$pid"
world_wait "grep -q 'orders/$ORDER.yaml:3:' '$work/flisd2.log'" 30 || fail "SIGHUP did not reload (no diagnostic logged)"
set +e; reply=$(ctl reload 2>&1); rc=$?; set -e
[ "$rc" = 1 ] || fail "flisctl reload of a broken order exited $rc: $reply"
grep -q "orders/$ORDER.yaml:3:" <<<"$reply" || fail "flisctl reload did not name the broken file: $reply"
cp "$work/good.yaml" "$work/etc/orders/$ORDER.yaml"
reply=$(ctl reload) || fail "flisctl reload of a good configuration failed: $reply"
grep -q "reloaded" <<<"$reply" || fail "unexpected reload answer: $reply"

echo "== trigger through the socket"
set +e; reply=$(ctl trigger K999-NOPE 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && grep -q K999-NOPE <<<"$reply" || fail "trigger of an unknown order: rc=$rc '$reply'"
reply=$(ctl trigger "$ORDER") || fail "trigger $ORDER failed: $reply"

echo "== SIGTERM"
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e; pid=
[ "$rc" = 0 ] || fail "flisd exited $rc on SIGTERM"
[ ! -e "$FLISD_CONTROL_SOCKET" ] || fail "control socket left behind after a clean stop"
set +e; reply=$(ctl reload 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && grep -q "flisd is not running (no control socket at $FLISD_CONTROL_SOCKET)" <<<"$reply" \
  || fail "flisctl with flisd stopped: rc=$rc '$reply'"
echo PASS
