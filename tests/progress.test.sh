#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisd --once on a terminal (a pseudo-terminal made by script(1)) shows one updating progress line
# instead of a log line per run, keeps warnings, and ends with the summary; with stderr not a
# terminal, or with --log journal, every run is logged as before and no progress line appears.
set -euo pipefail
: "${FLISD:?} ${FLISD_SOURCE_DIR:?}"
command -v script >/dev/null || { echo "script(1) (util-linux) is missing" >&2; exit 1; }
tmp=$(mktemp -d /tmp/flisd-progress-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now="2026-11-26 08:00"
unset JOURNAL_STREAM  # as on a terminal, even when ctest itself runs under systemd

# One warehouse for the three runs; each run its own configuration copy, state and outbox.
cp -r "$FLISD_SOURCE_DIR/config/examples" "$tmp/cfg"
rm -rf "$tmp/cfg/demo"
sed -i "s|^warehouse: .*|warehouse: $tmp/warehouse|" "$tmp/cfg/flisd.yaml"
"$FLISD_SOURCE_DIR/scripts/make-sample-warehouse.sh" "$tmp/warehouse" "$tmp/cfg" --now 2026-11-26 --from 2026-06-01 >/dev/null
fresh() { rm -rf "$tmp/$1" && cp -r "$tmp/cfg" "$tmp/$1"; }
delivered_lines() { grep -c 'status=delivered)' "$1" || true; }

echo "--- on a terminal: one updating line, warnings kept, the summary last"
fresh tty
# script -e returns flisd's exit status; -f flushes; the typescript (tty.out) is what the user saw.
script -qfec "'$FLISD' --once --now '$now' --config '$tmp/tty'" "$tmp/tty.out" >/dev/null ||
  { cat "$tmp/tty.out"; fail "flisd --once on a terminal exited $?"; }
tr '\r' '\n' <"$tmp/tty.out" | sed 's/\x1b\[K//g' | grep -v '^Script ' | grep -v '^$' >"$tmp/tty.lines"
n=$(find "$tmp/tty/demo/outbox" -name '*.tar.zst' | wc -l)
[ "$n" -gt 20 ] || fail "only $n packages delivered on the terminal"
grep -Eq "^packages [0-9]+/$n, [0-9.]+ [KMG]?i?B, " "$tmp/tty.lines" || { cat "$tmp/tty.lines"; fail "no progress line"; }
# The first line is drawn when the runs are queued; later ones at most every 100 ms, so how many
# appear depends on the machine's speed: only the first is certain.
grep -q "^packages 0/$n, 0 B, " "$tmp/tty.lines" || fail "no first progress line (0/$n)"
[ "$(delivered_lines "$tmp/tty.out")" = 0 ] || fail "per-run log lines on the terminal: $(grep -m3 'status=delivered)' "$tmp/tty.out")"
grep -q 'warning: K147-MIXED-MONTHLY 2026-10: late' "$tmp/tty.lines" || fail "a warning was swallowed"
tail -2 "$tmp/tty.lines" >"$tmp/tail"
grep -Eq "^flisd --once: delivered $n packages, [0-9.]+ [KMG]?i?B in [0-9.]+ s \(" "$tmp/tail" ||
  { cat "$tmp/tail"; fail "no closing progress summary"; }
tail -1 "$tmp/tty.lines" | grep -q "^flisd --once: $n delivered, 0 failed; " || { cat "$tmp/tail"; fail "the summary is not last"; }

echo "--- not a terminal: one log line per run, as before"
fresh pipe
"$FLISD" --once --now "$now" --config "$tmp/pipe" 2>"$tmp/pipe.err" || fail "flisd --once exited $?"
[ "$(delivered_lines "$tmp/pipe.err")" = "$n" ] || fail "not $n delivered lines: $(delivered_lines "$tmp/pipe.err")"
! grep -q $'\r' "$tmp/pipe.err" || fail "a carriage return in the piped log"
! grep -q '^packages ' "$tmp/pipe.err" || fail "a progress line in the piped log"
tail -1 "$tmp/pipe.err" | grep -q "^flisd --once: $n delivered, 0 failed; " || fail "the summary is not last"

echo "--- --log journal on a terminal: no progress line"
fresh journal
script -qfec "'$FLISD' --once --now '$now' --config '$tmp/journal' --log journal" "$tmp/journal.out" >/dev/null ||
  fail "flisd --once --log journal exited $?"
! grep -q 'packages [0-9]*/' "$tmp/journal.out" || fail "a progress line with --log journal"
grep -q "flisd --once: $n delivered" "$tmp/journal.out" || fail "no summary with --log journal"
echo "progress: ok ($n packages)"
