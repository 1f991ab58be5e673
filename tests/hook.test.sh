#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The pre-commit hook sample (contrib/git-hooks/pre-commit) in a git repository of a configuration:
# a commit with a broken order is refused and the error, naming file and line, reaches the
# committer's terminal; a good commit passes; warnings pass; it validates what is staged, not the
# working tree.
set -euo pipefail
: "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
export FLISCTL
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
repo=$tmp/etc-flisd
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost GIT_COMMITTER_NAME=test \
       GIT_COMMITTER_EMAIL=test@localhost HOME=$tmp GIT_CONFIG_NOSYSTEM=1

# The example configuration (it validates: tests/config tests hold it to that) as a git repository.
cp -r "$FLISD_SOURCE_DIR/config/examples" "$repo"
git -C "$repo" init -q
"$FLISCTL" validate "$repo" >/dev/null 2>&1 ||
  { echo "the example configuration does not validate; nothing to test the hook with" >&2; exit 1; }
install -m 755 "$FLISD_SOURCE_DIR/contrib/git-hooks/pre-commit" "$repo/.git/hooks/pre-commit"

commit() { git -C "$repo" commit -q -m "$1" >"$tmp/out" 2>&1; }

# A good configuration commits.
git -C "$repo" add -A
commit "examples" || fail "a valid configuration was refused: $(cat "$tmp/out")"

# An order with a source that cannot be ordered (DM, rule 4) and an unknown key.
an_order=$(ls "$repo"/orders/*.yaml | head -1)
cat >"$repo/orders/broken.yaml" <<'YAML'
id: BROKEN-ORDER
municipality: 101
type: monthly
source: DM
delivery: flis
interfaces: [DM_BORGER]
start: 2026-01-01
end: 2027-12-31
colour: blue
YAML
git -C "$repo" add orders/broken.yaml
if commit "broken"; then
  fail "a commit with a broken order was accepted"
fi
grep -q 'orders/broken.yaml:[0-9]*:[0-9]*: error' "$tmp/out" ||
  fail "the refusal does not show 'orders/broken.yaml:LINE:COL: error': $(cat "$tmp/out")"
grep -q 'commit refused' "$tmp/out" || fail "the refusal does not say the commit was refused"
[ -z "$(git -C "$repo" log --format=%s | grep -x broken)" ] || fail "the broken commit is in the history"
# The temporary checkout does not leak into the messages.
grep -q 'flisd-pre-commit' "$tmp/out" && fail "errors name the temporary folder instead of the repository file"

# It validates the index: fixing the working tree without staging the fix still refuses ...
rm "$repo/orders/broken.yaml"
commit "broken, fixed only in the working tree" &&
  fail "the hook validated the working tree, not what was staged"
# ... and staging the fix lets the commit through.
git -C "$repo" rm -q --cached orders/broken.yaml
git -C "$repo" commit -q --allow-empty -m "nothing broken" >"$tmp/out" 2>&1 ||
  fail "a valid index was refused: $(cat "$tmp/out")"

# A staged good change with a broken file left unstaged in the working tree passes.
cp "$an_order" "$tmp/saved.yaml"
sed 's/^\(id: *\).*/\1HOOK-COPY/' "$an_order" >"$repo/orders/HOOK-COPY.yaml"
git -C "$repo" add orders/HOOK-COPY.yaml
printf 'id: [unclosed\n' >"$repo/orders/wip.yaml"
commit "a copy, with unrelated work in progress" ||
  fail "an unstaged broken file refused a good commit: $(cat "$tmp/out")"
rm "$repo/orders/wip.yaml"

# git commit -a validates what -a stages.
printf 'colour: blue\n' >>"$repo/orders/HOOK-COPY.yaml"
git -C "$repo" commit -q -a -m "commit -a of a broken file" >"$tmp/out" 2>&1 &&
  fail "git commit -a of a broken order was accepted"
grep -q 'orders/HOOK-COPY.yaml:[0-9]*:[0-9]*: error' "$tmp/out" ||
  fail "git commit -a: no error for orders/HOOK-COPY.yaml: $(cat "$tmp/out")"
git -C "$repo" checkout -q -- orders/HOOK-COPY.yaml

# Warnings (rule 6: one subscription, interfaces of two fagsystemer) are shown and do not refuse.
mixed=$(awk '
  /^sources:/ {in_sources = 1; next}
  in_sources && /^  [A-Za-z]/ {src = $1; sub(":", "", src); next}
  in_sources && src == "DSA" && /^    [A-Z]/ {
    name = $1; sub(":", "", name)
    if (match($0, /system: *[A-Za-z0-9_]+/)) {
      sys = substr($0, RSTART, RLENGTH); sub(/system: */, "", sys)
      if (!(sys in seen)) { seen[sys] = name; n++; if (n == 2) { print first, name; exit } first = name }
    }
  }' "$repo/interfaces.yaml")
if [ -n "$mixed" ]; then
  set -- $mixed
  cat >"$repo/orders/MIXED.yaml" <<YAML
id: MIXED
municipality: 101
type: monthly
source: DSA
delivery: flis
interfaces: [$1, $2]
start: 2026-01-01
end: 2027-12-31
YAML
  git -C "$repo" add orders/MIXED.yaml
  commit "mixed fagsystemer" || fail "a warning refused the commit: $(cat "$tmp/out")"
  grep -q 'warning' "$tmp/out" || fail "the rule 6 warning did not reach the committer: $(cat "$tmp/out")"
else
  fail "config/examples/interfaces.yaml has no two DSA interfaces of different fagsystemer to mix"
fi

# Private keys never enter the history: a file under keys/, whatever it holds ...
mkdir -p "$repo/keys"
printf 'not even a key\n' >"$repo/keys/id_ed25519"
git -C "$repo" add -f keys/id_ed25519
commit "a key file" && fail "a staged file under keys/ was committed"
grep -q 'keys/id_ed25519: error: a file under keys/' "$tmp/out" || fail "the refusal does not name keys/id_ed25519: $(cat "$tmp/out")"
grep -q 'systemd credential' "$tmp/out" || fail "the refusal does not point to the systemd credential: $(cat "$tmp/out")"
git -C "$repo" rm -q --cached keys/id_ed25519
# ... and a private key header in any staged file, wherever it is.
for header in "OPENSSH PRIVATE KEY" "RSA PRIVATE KEY" "PRIVATE KEY" "ENCRYPTED PRIVATE KEY"; do
  printf '# backup\n-----BEGIN %s-----\nAAAA\n-----END %s-----\n' "$header" "$header" >"$repo/notes.txt"
  git -C "$repo" add notes.txt
  commit "a key in a note" && fail "a staged '$header' was committed"
  grep -q 'notes.txt: error: holds a private key' "$tmp/out" || fail "'$header': the refusal does not name notes.txt: $(cat "$tmp/out")"
  git -C "$repo" rm -q --cached notes.txt
done
rm -r "$repo/keys" "$repo/notes.txt"
[ -z "$(git -C "$repo" log --format=%s | grep -E '^a key')" ] || fail "a key commit is in the history"
# A public key or a known_hosts line is no secret.
ssh-keygen -q -t ed25519 -N '' -f "$tmp/pub_test" >/dev/null
cp "$tmp/pub_test.pub" "$repo/id_ed25519.pub"
git -C "$repo" add id_ed25519.pub
commit "a public key" || fail "a public key was refused: $(cat "$tmp/out")"

# Without flisctl the hook refuses rather than letting an unchecked commit through.
echo "# comment" >>"$repo/flisd.yaml"
git -C "$repo" add flisd.yaml
FLISCTL=/nonexistent/flisctl git -C "$repo" commit -q -m "no flisctl" >"$tmp/out" 2>&1 &&
  fail "the hook let a commit through without flisctl"
grep -q 'not found' "$tmp/out" || fail "the hook does not say flisctl is missing: $(cat "$tmp/out")"

if ((failures)); then
  echo "hook: $failures problem(s)" >&2
  exit 1
fi
echo "hook: ok"
