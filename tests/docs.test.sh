#!/usr/bin/env bash
# The man pages keep up with the programs: every flisctl subcommand and every option that
# `flisctl --help` and `flisctl SUBCOMMAND --help` list is documented in flisctl(1), every flisd
# option in flisd(8), and every page builds with scdoc without errors.
set -euo pipefail
: "${FLISCTL:?}" "${FLISD:?}" "${FLISD_SOURCE_DIR:?}"
man_dir=$FLISD_SOURCE_DIR/docs/man
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# --- every page builds with scdoc, to a non-trivial roff page with the right title -----------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for page in flisd.8 flisctl.1 flisd.yaml.5 flisd-orders.5; do
  src=$man_dir/$page.scd
  if [ ! -f "$src" ]; then fail "$src is missing"; continue; fi
  if ! scdoc <"$src" >"$tmp/$page" 2>"$tmp/$page.err"; then
    fail "scdoc $page.scd: $(cat "$tmp/$page.err")"
    continue
  fi
  name=${page%.*} section=${page##*.}
  grep -q "^\.TH \"$name\" \"$section\"" "$tmp/$page" || fail "$page: no .TH $name $section header"
  [ "$(wc -l <"$tmp/$page")" -gt 50 ] || fail "$page: suspiciously short"
done

# --- the options a --help text lists (long options only; -h is --help) ---------------------------
options_of() { "$@" --help 2>&1 | grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
# The subcommands `flisctl --help` lists: the indented first words after its "Subcommands:" line.
subcommands() {
  "$FLISCTL" --help 2>&1 |
    awk 'tolower($0) ~ /^subcommands:/ {on = 1; next} on && /^[^ ]/ {on = 0} on && /^  [a-z]/ {print $1}'
}

mapfile -t cmds < <(subcommands)
# validate plan runs diff copy trigger retry redeliver reload
[ "${#cmds[@]}" -ge 9 ] ||
  fail "flisctl --help lists ${#cmds[@]} subcommands (${cmds[*]:-none}); the contract names 9"
printf '%s\n' "${cmds[@]}" | grep -qx diff || fail "flisctl --help does not list diff"
for c in "${cmds[@]}"; do
  grep -q "^\*$c\*" "$man_dir/flisctl.1.scd" ||
    fail "flisctl $c is not documented in docs/man/flisctl.1.scd (no '*$c*' paragraph)"
  for o in $(options_of "$FLISCTL" "$c"); do
    grep -q -- "\*$o\*" "$man_dir/flisctl.1.scd" ||
      fail "flisctl $c $o is not documented in docs/man/flisctl.1.scd"
  done
done
for o in $(options_of "$FLISCTL"); do
  grep -q -- "\*$o\*" "$man_dir/flisctl.1.scd" || fail "flisctl $o is not documented in docs/man/flisctl.1.scd"
done
for o in $(options_of "$FLISD"); do
  grep -q -- "\*$o\*" "$man_dir/flisd.8.scd" || fail "flisd $o is not documented in docs/man/flisd.8.scd"
done

# --- the guide and the README point at what exists ----------------------------------------------
for f in README.md docs/guide.md docs/architecture.md docs/dependencies.md; do
  [ -s "$FLISD_SOURCE_DIR/$f" ] || fail "$f is missing or empty"
done
grep -q './scripts/demo.sh' "$FLISD_SOURCE_DIR/README.md" || fail "README.md does not show ./scripts/demo.sh"
grep -q './scripts/test.sh' "$FLISD_SOURCE_DIR/README.md" || fail "README.md does not show ./scripts/test.sh"
# The licence: the whole MPL-2.0 at the root (as Debian ships it, where it does), named in the README.
head -1 "$FLISD_SOURCE_DIR/LICENSE" | grep -qx 'Mozilla Public License Version 2.0' || fail "LICENSE is not the MPL-2.0"
if [ -f /usr/share/common-licenses/MPL-2.0 ]; then
  cmp -s /usr/share/common-licenses/MPL-2.0 "$FLISD_SOURCE_DIR/LICENSE" || fail "LICENSE differs from the MPL-2.0 text"
fi
grep -q 'MPL-2.0' "$FLISD_SOURCE_DIR/README.md" || fail "README.md does not name the licence"
# Relative links in the markdown docs resolve to files of the repository.
for md in "$FLISD_SOURCE_DIR"/README.md "$FLISD_SOURCE_DIR"/docs/*.md; do
  [ -f "$md" ] || continue
  dir=$(dirname "$md")
  while IFS= read -r link; do
    target=${link%%#*}
    [ -n "$target" ] || continue
    [ -e "$dir/$target" ] || fail "${md#"$FLISD_SOURCE_DIR"/}: broken link to $link"
  done < <(grep -o '\]([^)]*)' "$md" | sed 's/^](//; s/)$//' | grep -v -E '^(https?|mailto):' || true)
done

if ((failures)); then
  echo "docs: $failures problem(s)" >&2
  exit 1
fi
echo "docs: ok (${#cmds[@]} subcommands checked)"
