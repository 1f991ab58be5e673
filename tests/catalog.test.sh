#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The journal catalog (systemd/flisd.catalog) explains every event flisd logs:
#  - every MESSAGE_ID of daemon/log.cpp has an entry with a Subject and a body that says what to
#    do, and the catalog has no entry for an ID flisd does not log;
#  - journalctl compiles it (--update-catalog into a temporary root) and lists each entry;
#  - `journalctl -x` shows the entry, with the entry's fields filled in, under a logged event.
set -euo pipefail
: "${FLISD_SOURCE_DIR:?}"
catalog=$FLISD_SOURCE_DIR/systemd/flisd.catalog
log_cpp=$FLISD_SOURCE_DIR/daemon/log.cpp
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# The IDs flisd logs: the table {Event::name, "32 hex digits"} in daemon/log.cpp.
mapfile -t logged < <(grep -oE '\{Event::[a-z_]+, "[0-9a-f]{32}"\}' "$log_cpp" | grep -oE '[0-9a-f]{32}' | sort)
[ "${#logged[@]}" -ge 14 ] || fail "found only ${#logged[@]} MESSAGE_IDs in $log_cpp; did its table change form?"
mapfile -t entries < <(grep -oE '^-- [0-9a-f]{32}$' "$catalog" | cut -c4- | sort)

echo "--- every MESSAGE_ID has an entry"
for id in "${logged[@]}"; do
  name=$(grep -oE "\{Event::[a-z_]+, \"$id\"\}" "$log_cpp" | sed -E 's/\{Event::([a-z_]+).*/\1/')
  printf '%s\n' "${entries[@]}" | grep -qx "$id" || fail "MESSAGE_ID $id (Event::$name) has no entry in systemd/flisd.catalog"
done
for id in "${entries[@]}"; do
  printf '%s\n' "${logged[@]}" | grep -qx "$id" || fail "systemd/flisd.catalog has an entry for $id, which flisd never logs"
done
dups=$(printf '%s\n' "${entries[@]}" | uniq -d)
[ -z "$dups" ] || fail "systemd/flisd.catalog has two entries for: $dups"

echo "--- each entry has a Subject, Defined-By and a body of some substance"
# One record per entry: its header lines and body, between "-- ID" lines.
awk '/^-- [0-9a-f]+$/ {id = $2; next} id {print id "\t" $0}' "$catalog" >"$root/lines"
for id in "${entries[@]}"; do
  grep -q "^$id	Subject: ." "$root/lines" || fail "entry $id has no Subject"
  grep -q "^$id	Defined-By: flisd$" "$root/lines" || fail "entry $id has no 'Defined-By: flisd'"
  words=$(grep "^$id	" "$root/lines" | grep -vE "^$id	[A-Za-z-]+: " | cut -f2- | wc -w)
  [ "$words" -ge 25 ] || fail "entry $id says too little ($words words): what happened and what to do"
done

echo "--- journalctl compiles the catalog and lists every entry"
mkdir -p "$root/usr/lib/systemd/catalog"
cp "$catalog" "$root/usr/lib/systemd/catalog/"
journalctl --root="$root" --update-catalog || fail "journalctl --update-catalog refused the catalog"
journalctl --root="$root" --list-catalog >"$root/list"
for id in "${logged[@]}"; do
  grep -q "^$id flisd: " "$root/list" || fail "journalctl --list-catalog does not list $id"
done
journalctl --root="$root" --dump-catalog 2c630d3d87ac4c88bd72cd52cac5a6ac | grep -q 'flisctl retry' ||
  fail "the run_failed entry does not say to run flisctl retry"

echo "--- journalctl -x shows the entry under a logged event"
# journalctl -x reads the compiled catalog from /var/lib/systemd/catalog whatever --root says; a
# private mount namespace shows it ours there, and the machine's own catalog is left alone.
if ! unshare --mount true 2>/dev/null; then
  echo "SKIP: journalctl -x needs a mount namespace (unshare --mount), which this machine refuses"
elif ! "$FLISD_SOURCE_DIR/scripts/services.sh" 2>/dev/null; then
  fail "no journald reachable (scripts/services.sh)"
else
  # An entry as flisd writes it for a delivery, with an order of its own.
  order=K101-CATALOG-$$-$(date +%s%N)
  printf 'MESSAGE=%s 2026-11-25: delivered\nMESSAGE_ID=38eebf934ca24088a55c728181327766\nFLIS_ORDER=%s\nFLIS_PERIOD=2026-11-25\nFLIS_RUN=7\nFLIS_MUNICIPALITY=101\n' \
    "$order" "$order" | logger --journald
  for _ in $(seq 1 50); do
    journalctl --no-pager -q "FLIS_ORDER=$order" | grep -q delivered && break
    sleep 0.1
  done
  unshare --mount sh -c 'mount --bind "$1/var/lib/systemd" /var/lib/systemd && journalctl --no-pager -x "FLIS_ORDER=$2"' \
    sh "$root" "$order" >"$root/x" 2>&1 || true
  grep -q "Subject: flisd delivered $order 2026-11-25" "$root/x" ||
    fail "journalctl -x does not show the catalog entry with the order filled in: $(cat "$root/x")"
  grep -q "under its final name" "$root/x" || fail "journalctl -x does not show the entry's body: $(cat "$root/x")"
fi

[ "$failures" = 0 ] || { echo "$failures failure(s)" >&2; exit 1; }
echo "ok: ${#logged[@]} MESSAGE_IDs, each explained in the catalog"
