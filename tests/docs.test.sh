#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
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
[ "${#cmds[@]}" -ge 10 ] ||
  fail "flisctl --help lists ${#cmds[@]} subcommands (${cmds[*]:-none}); the contract names 10"
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

# --- every option the man pages name exists in the program ---------------------------------------
{ options_of "$FLISCTL"; for c in "${cmds[@]}"; do options_of "$FLISCTL" "$c"; done; } | sort -u >"$tmp/ctl.opts"
for o in $(grep -o -- '\*--[a-z][a-z0-9-]*\*' "$man_dir/flisctl.1.scd" | tr -d '*' | sort -u); do
  grep -qx -- "$o" "$tmp/ctl.opts" || fail "flisctl(1) documents $o, which no flisctl --help lists"
done
for o in $(grep -o -- '\*--[a-z][a-z0-9-]*\*' "$man_dir/flisd.8.scd" | tr -d '*' | sort -u); do
  options_of "$FLISD" | grep -qx -- "$o" || fail "flisd(8) documents $o, which flisd --help does not list"
done

# --- the JSON fields of plan --json and runs --json are exactly those flisctl(1) lists -----------
# A one-order world with one delivered day and one waiting, so runs --json has rows to show.
w=$tmp/world
mkdir -p "$w/calendar" "$w/orders" "$w/warehouse/DSA/CPR_PERSON/2026-11-01/101"
cat >"$w/flisd.yaml" <<'YAML'
warehouse: warehouse
state: state.db
targets:
  flis: {type: directory, path: "out/{municipality}"}
YAML
printf 'sources:\n  DSA:\n    CPR_PERSON: {system: CPR, frequency: daily}\n' >"$w/interfaces.yaml"
printf 'daily: {ready: "06:00", lag_days: 1}\n' >"$w/calendar/2026.yaml"
printf 'id: K101-CPR\nmunicipality: 101\ntype: daily\nsource: DSA\ndelivery: flis\ninterfaces: [CPR_PERSON]\nstart: 2026-11-01\nend: 2026-11-02\n' \
  >"$w/orders/K101-CPR.yaml"
echo data >"$w/warehouse/DSA/CPR_PERSON/2026-11-01/101/a.csv"
: >"$w/warehouse/DSA/CPR_PERSON/2026-11-01/_PROCESSED"
now="2026-11-04 12:00"
"$FLISD" --config "$w" --once --now "$now" --log stderr >"$tmp/once.log" 2>&1 || true
# The keys of the first object of a JSON array (one level: the objects hold no objects).
json_keys() { tr -d '\n' | grep -o '{[^{}]*}' | head -1 | grep -o '"[a-z_]*"[[:space:]]*:' | sed 's/[":[:space:]]//g' | sort -u; }
# The *bold* words of flisctl(1)'s --json paragraph of a command: its keys (values are _italic_).
documented_keys() {
  awk -v cmd="$1" '
    $0 ~ "^\\*" cmd "\\*" {in_cmd = 1; next}
    in_cmd && /^\*[a-z]/ {in_cmd = 0}
    in_cmd && /One JSON array of objects/ {on = 1}
    on && /^[[:space:]]*$/ {on = 0}
    on {print}' "$man_dir/flisctl.1.scd" | grep -o '\*[a-z_]*\*' | tr -d '*' | grep -v '^json$' | sort -u
}
for c in plan runs; do
  "$FLISCTL" --config "$w" "$c" --now "$now" --json 2>"$tmp/$c.err" | json_keys >"$tmp/$c.program"
  [ -s "$tmp/$c.program" ] || { fail "flisctl $c --json gave no object to compare: $(cat "$tmp/$c.err" "$tmp/once.log")"; continue; }
  documented_keys "$c" >"$tmp/$c.documented"
  if ! diff -u "$tmp/$c.documented" "$tmp/$c.program" >"$tmp/$c.diff"; then
    fail "flisctl $c --json fields differ from flisctl(1) (- documented, + program): $(grep '^[-+][a-z]' "$tmp/$c.diff" | tr '\n' ' ')"
  fi
done

# --- "rule N" everywhere names one of the rules configuration.md lists ---------------------------
rules=$(awk '/^The rules:/ {on = 1; next} on && /^[0-9]+\. / {n = $1 + 0} on && /^[A-Z]/ {on = 0} END {print n + 0}' \
  "$FLISD_SOURCE_DIR/docs/configuration.md")
[ "$rules" -ge 6 ] || fail "configuration.md lists $rules rules under 'The rules:'"
while IFS= read -r hit; do
  n=$(grep -o -i -E 'rules? [0-9]+' <<<"$hit" | grep -o -E '[0-9]+' | sort -n | tail -1)
  [ "$n" -le "$rules" ] || fail "rule $n does not exist (configuration.md lists $rules): $hit"
done < <(grep -rn -i -E 'rules? [0-9]+' "$FLISD_SOURCE_DIR"/docs "$FLISD_SOURCE_DIR"/config/*.cpp \
           "$FLISD_SOURCE_DIR"/daemon/*.cpp "$FLISD_SOURCE_DIR"/ctl/*.cpp "$FLISD_SOURCE_DIR"/config/examples || true)

# --- messages point at installed files, not at the source tree -------------------------------------
for bin in "$FLISD" "$FLISCTL"; do
  bad=$(grep -a -o -E '[^ ("]*(config/examples|docs/[a-z]+\.md)' "$bin" | grep -v '^/usr/share/doc/flisd/' | sort -u || true)
  [ -z "$bad" ] || fail "$(basename "$bin") has messages pointing into the source tree: $bad (use /usr/share/doc/flisd/...)"
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
