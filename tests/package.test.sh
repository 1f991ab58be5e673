#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The Debian package: `cpack -G DEB` from the build folder gives a flisd .deb with the binaries,
# the systemd unit with its sysusers.d and tmpfiles.d files, the man pages, the example
# configuration, the bash completion and the git hook sample; it depends on the runtime libraries;
# its flisctl, unpacked on its own, validates its own examples. Where an overlay root can be made
# (unshare + overlayfs), it is also installed for real with dpkg -i and removed again.
set -euo pipefail
: "${FLISD_BINARY_DIR:?}" "${FLISD_SOURCE_DIR:?}"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

tmp=$(mktemp -d)
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

# --- build the package into a folder of our own (the build folder may be shared) -----------------
if ! cpack -G DEB --config "$FLISD_BINARY_DIR/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log" >&2
  echo "FAIL: cpack -G DEB failed" >&2
  exit 1
fi
deb=$(ls "$tmp"/pkg/flisd_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { cat "$tmp/cpack.log" >&2; echo "FAIL: no flisd_*.deb made" >&2; exit 1; }
echo "package: $(basename "$deb")"

# --- contents -----------------------------------------------------------------------------------
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$tmp/files"
has() { grep -qx -- "$1" "$tmp/files" || fail "the package lacks $1"; }
has_match() { grep -qE -- "$1" "$tmp/files" || fail "the package has no file matching $1"; }
has /usr/sbin/flisd
has /usr/bin/flisctl
has_match '^/(usr/)?lib/systemd/system/flisd\.service$'
has_match '^/(usr/)?lib/sysusers\.d/flisd\.conf$'
has_match '^/(usr/)?lib/tmpfiles\.d/flisd\.conf$'
has /usr/lib/systemd/catalog/flisd.catalog
has /usr/share/man/man8/flisd.8.gz
has /usr/share/man/man1/flisctl.1.gz
has /usr/share/man/man5/flisd.yaml.5.gz
has /usr/share/man/man5/flisd-orders.5.gz
has /usr/share/bash-completion/completions/flisctl
has /usr/share/doc/flisd/pre-commit
has /usr/share/doc/flisd/prometheus/flisd-alerts.yml
has /usr/share/doc/flisd/flisd.service.d/network.conf
has /usr/share/doc/flisd/README.md
has /usr/share/doc/flisd/guide.md
has /usr/share/doc/flisd/copyright
has /usr/share/doc/flisd/ci/gitlab-ci.yml
has /usr/share/doc/flisd/ci/README.md
has /usr/share/flisd/ci/flisd-review
has /usr/share/doc/flisd/examples/flisd.yaml
has /usr/share/doc/flisd/examples/interfaces.yaml
has_match '^/usr/share/doc/flisd/examples/orders/[^/]+\.yaml$'
has_match '^/usr/share/doc/flisd/examples/calendar/[^/]+\.yaml$'
# Nothing of the build or the tests slips in, and nothing under /etc (the admin's git checkout).
grep -qE '(_test|_bench)$|/tests?/|CMakeFiles' "$tmp/files" && fail "build or test files in the package"
grep -qE '^/usr/share/doc/flisd/examples/(demo/|.*\.db)' "$tmp/files" &&
  fail "the demo's warehouse, state or outbox slipped into the examples"
grep -q '^/etc/' "$tmp/files" && fail "the package ships files under /etc; /etc/flisd belongs to the administrator"
# The hook sample is executable.
dpkg-deb -c "$deb" >"$tmp/listing"
grep -qE '^-rwxr-xr-x .*\./usr/share/doc/flisd/pre-commit$' "$tmp/listing" ||
  fail "/usr/share/doc/flisd/pre-commit is not executable"
grep -qE '^-rwxr-xr-x .*\./usr/share/flisd/ci/flisd-review$' "$tmp/listing" ||
  fail "/usr/share/flisd/ci/flisd-review is not executable"

# The licence, machine-readable (DEP-5) where Debian keeps it.
mkdir "$tmp/unpacked-copyright"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/unpacked-copyright" ./usr/share/doc/flisd/copyright
copyright=$tmp/unpacked-copyright/usr/share/doc/flisd/copyright
head -1 "$copyright" | grep -qx 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
  fail "copyright is not DEP-5: $(head -1 "$copyright")"
grep -qx 'Files: \*' "$copyright" || fail "copyright has no 'Files: *' paragraph"
[ "$(grep -c '^License: MPL-2.0$' "$copyright")" = 2 ] || fail "copyright does not license the files under MPL-2.0"

# --- control data -------------------------------------------------------------------------------
dpkg-deb -I "$deb" >"$tmp/info"
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = flisd ] || fail "Package is '$(field Package)', not flisd"
[ "$(field Section)" = admin ] || fail "Section is '$(field Section)', not admin"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
description=$(field Description)
grep -qi 'FLIS data packages' <<<"$description" || fail "the description does not say what flisd is: $description"
[ "$(grep -c 'delivers FLIS data packages' <<<"$description")" = 1 ] ||
  fail "the description repeats its summary: $description"
depends=$(field Depends)
echo "package: Depends: $depends"
for lib in libssh libyaml-cpp libzstd libsqlite3 libsystemd libarchive libssl libstdc++ tzdata; do
  grep -q "$lib" <<<"$depends" || fail "Depends does not name $lib: $depends"
done
for script in postinst prerm postrm; do
  grep -qE "^ *[0-9]+ bytes, +[0-9]+ lines +\* +$script " "$tmp/info" ||
    fail "no executable $script maintainer script"
done
dpkg-deb -e "$deb" "$tmp/control"
grep -q 'systemd-sysusers' "$tmp/control/postinst" || fail "postinst does not create the user with systemd-sysusers"
grep -q 'systemd-tmpfiles' "$tmp/control/postinst" || fail "postinst does not run systemd-tmpfiles"
grep -q '/run/systemd/system' "$tmp/control/postinst" || fail "postinst reloads systemd without checking it runs"
for script in postinst prerm postrm; do
  sh -n "$tmp/control/$script" || fail "$script is not valid sh"
done

# --- unpacked on its own, its flisctl validates its examples ------------------------------------
root=$tmp/root
dpkg-deb -x "$deb" "$root"
if ! "$root/usr/bin/flisctl" validate "$root/usr/share/doc/flisd/examples" >"$tmp/validate.out" 2>&1; then
  fail "the packaged flisctl does not validate the packaged examples: $(cat "$tmp/validate.out")"
fi
"$root/usr/sbin/flisd" --version >/dev/null 2>&1 || fail "the packaged flisd --version fails"
# flisd(8)'s example, as printed there, from a copy in a folder of our own: it delivers, and
# writes nothing under /usr/share/doc.
has /usr/share/doc/flisd/make-sample-warehouse
doc=$root/usr/share/doc/flisd
find "$doc" -type f | sort >"$tmp/doc.before"
try=$tmp/flisd-try
cp -r "$doc/examples" "$try"
"$doc/make-sample-warehouse" "$try/demo/warehouse" "$try" --now 2026-12-04 >"$tmp/sample.log" 2>&1 ||
  fail "make-sample-warehouse failed: $(tail -5 "$tmp/sample.log")"
if "$root/usr/sbin/flisd" --config "$try" --once --now "2026-12-04 07:00" --log stderr >"$tmp/example.log" 2>&1; then
  ls "$try/demo/outbox/flis/101" 2>/dev/null | grep -q '^K101-CPR-DAILY_2026-12-01\.tar\.zst$' ||
    fail "flisd(8)'s example delivered no K101-CPR-DAILY_2026-12-01: $(ls "$try/demo/outbox/flis/101" 2>&1 | head -5)"
else
  fail "flisd(8)'s example exited $?: $(tail -5 "$tmp/example.log")"
fi
find "$doc" -type f | sort | cmp -s - "$tmp/doc.before" || fail "flisd(8)'s example wrote under /usr/share/doc"
# The man pages are real roff.
for page in man8/flisd.8 man1/flisctl.1 man5/flisd.yaml.5 man5/flisd-orders.5; do
  zcat "$root/usr/share/man/$page.gz" >"$tmp/page" 2>/dev/null || true
  grep -q '^\.TH ' "$tmp/page" || fail "$page.gz is not a man page"
done
# The unit names the binary where the package puts it.
unit=$(find "$root" -path '*/systemd/system/flisd.service' | head -1)
if [ -n "$unit" ]; then
  grep -q '^ExecStart=/usr/sbin/flisd' "$unit" || fail "flisd.service does not start /usr/sbin/flisd: $(grep ExecStart "$unit")"
fi

# --- optional: a real dpkg -i into an overlay of this machine's root, thrown away afterwards ------
real_install() {
  local upper=$tmp/ovl/upper work=$tmp/ovl/work merged=$tmp/ovl/merged
  mkdir -p "$upper" "$work" "$merged"
  cp "$deb" "$tmp/flisd.deb"
  unshare -m --propagation private sh -eu -c '
    mount -t overlay overlay -o "lowerdir=/,upperdir=$1,workdir=$2" "$3"
    mount -t proc proc "$3/proc"
    mount --bind /dev "$3/dev"
    cp "$4" "$3/flisd.deb"
    chroot "$3" sh -eu -c "
      dpkg -r flisd >/dev/null 2>&1 || true
      DEBIAN_FRONTEND=noninteractive dpkg -i /flisd.deb
      getent passwd flisd >/dev/null || { echo \"no flisd user after install\"; exit 1; }
      flisctl validate /usr/share/doc/flisd/examples
      man -w flisctl >/dev/null 2>&1 || test -f /usr/share/man/man1/flisctl.1.gz
      dpkg -r flisd
      test ! -e /usr/bin/flisctl || { echo \"flisctl left after dpkg -r\"; exit 1; }
    "
  ' sh "$upper" "$work" "$merged" "$tmp/flisd.deb"
}
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && grep -qw overlay /proc/filesystems; then
  if real_install >"$tmp/install.log" 2>&1; then
    echo "package: dpkg -i / dpkg -r in an overlay root: ok"
  elif grep -qE 'mount: |unshare: ' "$tmp/install.log"; then
    echo "package: no overlay root here ($(head -1 "$tmp/install.log")); real install skipped"
  else
    fail "dpkg -i in an overlay root failed: $(tail -20 "$tmp/install.log")"
  fi
else
  echo "package: not root or no overlayfs; real install skipped (the unpacked test above still ran)"
fi

if ((failures)); then
  echo "package: $failures problem(s)" >&2
  exit 1
fi
echo "package: ok"
