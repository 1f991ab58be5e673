#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# flisd under a real systemd as PID 1: a systemd-nspawn container booted over an overlay of this
# machine's own root (tests/support/run-under-systemd.sh, ROOTFS=host), with the shipped unit,
# sysusers.d and tmpfiles.d files installed as a package would. A sysadmin's day:
#   systemctl start flisd          -> READY, the STATUS line, a package delivered
#   systemctl status flisd         -> shows the STATUS line
#   systemctl reload flisd         -> RELOADING/READY, logged with the reload MESSAGE_ID
#   journalctl -u flisd FLIS_ORDER=...   -> the run's story
#   flisctl reload (as root, through /run/flisd/control.sock), as a member of group flisd (allowed
#   under the unit's PrivateUsers=yes) and as another user (refused, saying why)
#   systemctl stop flisd           -> a clean stop (Result=success)
# Skips (with a clear SKIP line, exit 0) only where nspawn cannot run: not root, no nspawn, no
# overlayfs. Tears the container down on every exit.
set -euo pipefail
: "${FLISD:?}" "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
skip() { echo "SKIP: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "needs root for systemd-nspawn"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn is not installed (apt-get install systemd-container)"
[ -x /lib/systemd/systemd ] || skip "systemd is not installed"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || skip "no overlayfs in this kernel"

HELPER=$FLISD_SOURCE_DIR/tests/support/run-under-systemd.sh
export SYSD_DIR; SYSD_DIR=$(mktemp -d /tmp/flisd-e2e-XXXXXX)
export ROOTFS=host NAME=flisd-e2e-$$ BOOT_TIMEOUT=90
work=$SYSD_DIR/work
mkdir -p "$work"
teardown() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    echo "--- journal of flisd in the container:" >&2
    bash "$HELPER" exec journalctl -u flisd --no-pager -n 60 >&2 2>/dev/null || true
  fi
  bash "$HELPER" teardown >/dev/null 2>&1 || true
  rm -rf "$SYSD_DIR"
  exit "$rc"
}
trap teardown EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
in_ct() { bash "$HELPER" exec "$@"; }

bash "$HELPER" setup || skip "cannot prepare the host-root overlay for nspawn"
bash "$HELPER" boot || fail "the container did not boot"

echo "== install flisd as a package would"
bash "$HELPER" put "$FLISD" /usr/sbin/flisd 0755
bash "$HELPER" put "$FLISCTL" /usr/bin/flisctl 0755
bash "$HELPER" put "$FLISD_SOURCE_DIR/systemd/flisd.service" /etc/systemd/system/flisd.service
bash "$HELPER" put "$FLISD_SOURCE_DIR/systemd/flisd.sysusers.conf" /usr/lib/sysusers.d/flisd.conf
bash "$HELPER" put "$FLISD_SOURCE_DIR/systemd/flisd.tmpfiles.conf" /usr/lib/tmpfiles.d/flisd.conf
# A sanitizer build (scripts/sanitize.sh): LeakSanitizer needs ptrace-like access to the process,
# which the unit's sandbox forbids, so it would fail every stop. Leaks are checked by the tests that
# run flisd outside the sandbox; here only ASan and UBSan proper stay on.
if ldd "$FLISD" | grep -q libasan; then
  printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0:abort_on_error=1\n' >"$work/sanitizer.conf"
  bash "$HELPER" put "$work/sanitizer.conf" /etc/systemd/system/flisd.service.d/sanitizer.conf
fi
in_ct systemd-sysusers flisd.conf
in_ct systemd-tmpfiles --create flisd.conf
in_ct getent passwd flisd >/dev/null || fail "systemd-sysusers made no flisd user"

# /etc/flisd as a sysadmin would write it: the shipped catalogue and calendar, one daily order,
# the warehouse FLIS fills, packages to a directory target under /var/spool/flisd.
ORDER=K101-E2E-DAILY
day() { TZ=Europe/Copenhagen date -d "-$1 days" +%F; }
D=$(day 2)
tree=$work/root
mkdir -p "$tree/etc/flisd/orders" "$tree/etc/flisd/calendar" "$tree/var/lib/flis/warehouse/DSA/CPR_PERSON/$D/101"
cp "$FLISD_SOURCE_DIR/config/examples/interfaces.yaml" "$tree/etc/flisd/"
cp "$FLISD_SOURCE_DIR"/config/examples/calendar/*.yaml "$tree/etc/flisd/calendar/"
cat >"$tree/etc/flisd/flisd.yaml" <<YAML
warehouse: /var/lib/flis/warehouse
state: /var/lib/flisd/state.db
targets:
  flis:
    type: directory
    path: /var/spool/flisd/flis/{municipality}
YAML
cat >"$tree/etc/flisd/orders/$ORDER.yaml" <<YAML
id: $ORDER
municipality: 101
type: daily
source: DSA
delivery: flis
interfaces: [CPR_PERSON]
start: $D
end: $(TZ=Europe/Copenhagen date -d '+1 year' +%F)
YAML
printf 'id;navn\n1;Test\n' >"$tree/var/lib/flis/warehouse/DSA/CPR_PERSON/$D/101/person.csv"
: >"$tree/var/lib/flis/warehouse/DSA/CPR_PERSON/$D/_PROCESSED"
chmod -R a+rX "$tree"
tar -C "$tree" -cf - . | in_ct tar -C / -xf - --no-same-owner

echo "== systemctl start flisd"
in_ct systemctl daemon-reload
in_ct systemctl start flisd || fail "systemctl start flisd failed"
[ "$(in_ct systemctl is-active flisd)" = active ] || fail "flisd is not active"
pkg=/var/spool/flisd/flis/101/${ORDER}_$D.tar.zst
for _ in $(seq 1 100); do in_ct test -f "$pkg.sha256" && break; sleep 0.2; done
in_ct test -f "$pkg.sha256" || fail "no package at $pkg"
in_ct sh -c "cd /var/spool/flisd/flis/101 && sha256sum --quiet -c ${ORDER}_$D.tar.zst.sha256" || fail "checksum mismatch"

echo "== systemctl status shows the STATUS line"
status_text=$(in_ct systemctl show flisd -p StatusText --value)
echo "STATUS=$status_text"
grep -q "order" <<<"$status_text" || fail "StatusText '$status_text' does not tell the orders"
in_ct systemctl status flisd --no-pager | grep -qF "Status: \"$status_text\"" \
  || fail "systemctl status does not show the STATUS line"

echo "== systemctl reload flisd, flisctl reload"
in_ct systemctl reload flisd || fail "systemctl reload flisd failed"
[ "$(in_ct systemctl is-active flisd)" = active ] || fail "flisd not active after reload"
reply=$(in_ct flisctl reload) || fail "flisctl reload in the container failed: $reply"
grep -q reloaded <<<"$reply" || fail "flisctl reload answered '$reply'"
reloads=""
for _ in $(seq 1 30); do
  reloads=$(in_ct journalctl -u flisd --no-pager -o cat MESSAGE_ID=a60cf98cbf5446619298aadd844b60fe | grep -c reloaded || true)
  [ "${reloads:-0}" -ge 2 ] && break; sleep 0.2
done
[ "${reloads:-0}" -ge 2 ] || fail "the journal shows $reloads reload(s), want 2"

echo "== the control socket: a member of group flisd may use it, others may not (PrivateUsers=yes)"
in_ct useradd --no-create-home --groups flisd flisd-operator || fail "useradd flisd-operator failed"
in_ct useradd --no-create-home flisd-outsider || fail "useradd flisd-outsider failed"
reply=$(in_ct runuser -u flisd-operator -- flisctl reload 2>&1) || fail "a member of group flisd could not reload: $reply"
grep -q reloaded <<<"$reply" || fail "flisctl reload as a member of group flisd answered '$reply'"
if reply=$(in_ct runuser -u flisd-outsider -- flisctl reload 2>&1); then fail "an outsider could reload: $reply"; fi
grep -q "permission denied" <<<"$reply" || fail "an outsider was refused without saying why: '$reply'"
echo "outsider: $reply"

echo "== journalctl -u flisd FLIS_ORDER=$ORDER"
story=$(in_ct journalctl -u flisd --no-pager -o cat "FLIS_ORDER=$ORDER")
echo "$story"
grep -q "$D: attempt 1 started" <<<"$story" || fail "the story lacks the start of the run"
grep -q "$D: delivered $pkg" <<<"$story" || fail "the story lacks the delivery"

echo "== systemctl stop flisd"
in_ct systemctl stop flisd || fail "systemctl stop flisd failed"
[ "$(in_ct systemctl show flisd -p Result --value)" = success ] || fail "flisd did not stop cleanly: $(in_ct systemctl show flisd -p Result -p ExecMainStatus)"
in_ct journalctl -u flisd --no-pager -o cat | grep -q "flisd stopped" || fail "no 'flisd stopped' in the journal"
echo PASS
