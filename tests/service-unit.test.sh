#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The shipped systemd files as a sysadmin's tools judge them, without booting anything:
#  - `systemd-analyze verify` prints nothing for flisd.service (installed into a temporary root
#    with the built flisd, so ExecStart= is checked for real);
#  - `systemd-analyze security` rates its exposure at most 1.2, and lower with the network drop-in
#    (contrib/systemd/flisd.service.d/network.conf), which must verify too;
#  - the unit keeps the promises of the contract (Type=notify, reload, watchdog, own user, ...);
#  - flisd.sysusers.conf makes the flisd user and group, flisd.tmpfiles.conf the spool for it.
set -euo pipefail
: "${FLISD:?built flisd}" "${FLISD_SOURCE_DIR:?source dir}"
UNIT=$FLISD_SOURCE_DIR/systemd/flisd.service
fail() { echo "FAIL: $*" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/sbin" "$root/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd" "$root/man"
cp -a /lib/systemd/system "$root/usr/lib/systemd/"   # sysinit.target and friends
install -m 0755 "$FLISD" "$root/usr/sbin/flisd"
install -m 0755 /bin/kill "$root/bin/kill"
install -m 0644 "$UNIT" "$root/etc/systemd/system/flisd.service"
# Documentation=man:... is checked with man(1): give it our pages.
if command -v scdoc >/dev/null; then
  for page in flisd.8 flisctl.1 flisd.yaml.5; do
    sec=${page##*.}; mkdir -p "$root/man/man$sec"
    [ -f "$FLISD_SOURCE_DIR/docs/man/$page.scd" ] || fail "Documentation= names $page but docs/man/$page.scd is missing"
    scdoc <"$FLISD_SOURCE_DIR/docs/man/$page.scd" >"$root/man/man$sec/$page"
  done
  man_opt=()
else
  echo "note: scdoc missing, not checking the Documentation= man pages" >&2
  man_opt=(--man=no)
fi

echo "== systemd-analyze verify"
out=$(MANPATH=$root/man systemd-analyze verify "${man_opt[@]}" --root="$root" /etc/systemd/system/flisd.service 2>&1) \
  || fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed: $out"

echo "== systemd-analyze security"
sec=$(systemd-analyze security --offline=true "$UNIT" 2>&1) || true
level=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for flisd.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || fail "no exposure level in: $sec"
echo "exposure $level"
awk -v l="$level" 'BEGIN { exit !(l <= 1.2) }' || fail "exposure $level is above 1.2:
$(printf '%s\n' "$sec" | grep '✗')"
systemd-analyze security --offline=true --threshold=20 "$UNIT" >/dev/null 2>&1 \
  || fail "systemd-analyze security --threshold=20 refuses the unit"

echo "== the network drop-in"
DROPIN=$FLISD_SOURCE_DIR/contrib/systemd/flisd.service.d/network.conf
mkdir -p "$root/etc/systemd/system/flisd.service.d"
install -m 0644 "$DROPIN" "$root/etc/systemd/system/flisd.service.d/network.conf"
grep -qx "IPAddressDeny=any" "$DROPIN" || fail "the drop-in does not deny every address"
out=$(MANPATH=$root/man systemd-analyze verify "${man_opt[@]}" --root="$root" /etc/systemd/system/flisd.service 2>&1) \
  || fail "systemd-analyze verify failed with the drop-in: $out"
[ -z "$out" ] || fail "systemd-analyze verify printed with the drop-in: $out"
with=$(systemd-analyze security --offline=true --root="$root" flisd.service 2>&1) || true
printf '%s\n' "$with" | grep 'IPAddressDeny=' | grep -qv 'does not define' || fail "with the drop-in, there is no allow list:
$(printf '%s\n' "$with" | grep IPAddress)"
dlevel=$(printf '%s\n' "$with" | sed -n 's/.*Overall exposure level for flisd.service: \([0-9.]*\).*/\1/p')
echo "exposure with the drop-in $dlevel"
awk -v l="$dlevel" -v u="$level" 'BEGIN { exit !(l < u) }' || fail "the drop-in does not lower the exposure ($dlevel, $level without)"
rm -r "$root/etc/systemd/system/flisd.service.d"

echo "== the unit's promises"
want() { grep -qx "$1" "$UNIT" || fail "flisd.service lacks '$1'"; }
want "Type=notify"
want "ExecStart=/usr/sbin/flisd --config /etc/flisd"
want 'ExecReload=/bin/kill -HUP $MAINPID'
want "WatchdogSec=60"
want "User=flisd"
want "StateDirectory=flisd"
want "RuntimeDirectory=flisd"
want "ConfigurationDirectory=flisd"
want "LoadCredential=sftp-key:/etc/flisd/keys/id_ed25519"
want "TimeoutStopSec=90"
want "MemoryHigh=384M"
want "MemoryMax=512M"
want "PrivateIPC=yes"

echo "== sysusers and tmpfiles"
mkdir -p "$root/etc"
systemd-sysusers --root="$root" "$FLISD_SOURCE_DIR/systemd/flisd.sysusers.conf" >/dev/null 2>&1 \
  || fail "systemd-sysusers refuses flisd.sysusers.conf"
grep -q '^flisd:x:[0-9]*:[0-9]*:.*:/var/lib/flisd:' "$root/etc/passwd" || fail "no flisd user: $(cat "$root/etc/passwd")"
grep -q '^flisd:x:' "$root/etc/group" || fail "no flisd group"
out=$(systemd-tmpfiles --root="$root" --create "$FLISD_SOURCE_DIR/systemd/flisd.tmpfiles.conf" 2>&1) \
  || fail "systemd-tmpfiles: $out"
[ "$(stat -c '%a %u' "$root/var/spool/flisd")" = "750 $(sed -n 's/^flisd:x:\([0-9]*\):.*/\1/p' "$root/etc/passwd")" ] \
  || fail "/var/spool/flisd is not 0750 flisd: $(stat -c '%a %U' "$root/var/spool/flisd")"
echo "PASS"
