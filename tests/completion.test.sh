#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# Bash completion for flisctl (contrib/bash-completion/flisctl): subcommands, options, order ids
# from the configuration given with --config, run ids from `flisctl runs --json`.
set -euo pipefail
: "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
# shellcheck source=../contrib/bash-completion/flisctl
source "$FLISD_SOURCE_DIR/contrib/bash-completion/flisctl"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Completes the command line "$@" (the last word is the one being completed) into COMPREPLY.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMP_LINE="$*"
  COMPREPLY=()
  # As in an interactive shell: no errexit (compgen returns 1 when nothing matches).
  set +e
  _flisctl
  set -e
}
# expect_has WORD...: every WORD is among the completions.
expect_has() {
  local w
  for w in "$@"; do
    grep -qxF -- "$w" <<<"$(printf '%s\n' "${COMPREPLY[@]}")" ||
      fail "'${COMP_WORDS[*]}' does not offer '$w' (offered: ${COMPREPLY[*]:-nothing})"
  done
}
expect_not() {
  local w
  for w in "$@"; do
    ! grep -qxF -- "$w" <<<"$(printf '%s\n' "${COMPREPLY[@]}")" ||
      fail "'${COMP_WORDS[*]}' offers '$w', which it should not"
  done
}

# A configuration whose order ids differ from some file names, so both sources are seen.
mkdir -p "$tmp/etc/orders"
cat >"$tmp/etc/orders/K101-CPR-MONTHLY.yaml" <<'YAML'
id: K101-CPR-MONTHLY
municipality: 101
type: monthly
YAML
cat >"$tmp/etc/orders/history.yaml" <<'YAML'
id: "K147-HISTORY"
municipality: 147
type: one-off
YAML
cat >"$tmp/etc/flisd.yaml" <<'YAML'
datamarts:
  start: 2026-01
  entitlements:
    101: [DM_BORGER]
    851: [DM_BORGER]
targets:
  flis: {type: directory, path: out}
YAML

# Subcommands, then only those matching the prefix.
complete_line flisctl ""
expect_has validate plan runs diff copy trigger retry redeliver reload
complete_line flisctl re
expect_has reload retry redeliver
expect_not validate plan runs
complete_line flisctl --
expect_has --config --log --help --version

# Options of a subcommand and their values.
complete_line flisctl runs --
expect_has --order --status --json
complete_line flisctl runs --status ""
expect_has waiting queued running delivered failed cancelled
complete_line flisctl plan --
expect_has --now --from --to --json
complete_line flisctl copy K101-CPR-MONTHLY NEW --
expect_has --start --end --from --to
complete_line flisctl --log ""
expect_has auto journal stderr
complete_line flisctl diff --
expect_has --git --now --json
mkdir -p "$tmp/old" "$tmp/new"
complete_line flisctl diff "$tmp/o"
expect_has "$tmp/old"
complete_line flisctl diff "$tmp/old" "$tmp/n"
expect_has "$tmp/new"
# diff --git: the branches and tags of the configuration's repository.
git -C "$tmp/etc" init -q -b main
git -C "$tmp/etc" -c user.name=t -c user.email=t@localhost commit -q --allow-empty -m first
git -C "$tmp/etc" tag deployed
complete_line flisctl --config "$tmp/etc" diff --git ""
expect_has HEAD main deployed
complete_line flisctl --config "$tmp/etc" diff --git de
expect_has deployed
expect_not main
# A ref name is not trusted either: a branch named $(touch${IFS}PWNED-REF) is neither run nor offered.
git -C "$tmp/etc" branch '$(touch${IFS}PWNED-REF)'
mkdir -p "$tmp/cwd-ref" && cd "$tmp/cwd-ref"
complete_line flisctl --config "$tmp/etc" diff --git ""
[ ! -e PWNED-REF ] || fail "completing diff --git ran a command from a branch name"
expect_has main deployed
expect_not '$(touch${IFS}PWNED-REF)'
cd "$tmp"

# Order ids from the configuration named by --config: ids, file names, generated datamart orders.
complete_line flisctl --config "$tmp/etc" trigger ""
expect_has K101-CPR-MONTHLY K147-HISTORY history DM-101 DM-851
complete_line flisctl --config "$tmp/etc" redeliver K1
expect_has K101-CPR-MONTHLY K147-HISTORY
expect_not DM-101 history
complete_line flisctl --config="$tmp/etc" runs --order ""
expect_has K101-CPR-MONTHLY K147-HISTORY
complete_line flisctl --config = "$tmp/etc" runs --order ""   # as bash splits --config=DIR
expect_has K101-CPR-MONTHLY K147-HISTORY
complete_line flisctl --log = ""
expect_has auto journal stderr
complete_line flisctl --config "$tmp/etc" copy ""
expect_has K101-CPR-MONTHLY
# The new id of a copy is the user's to choose: no order ids offered.
complete_line flisctl --config "$tmp/etc" copy K101-CPR-MONTHLY ""
expect_not K101-CPR-MONTHLY K147-HISTORY
# No --config: /etc/flisd, which is not this configuration.
complete_line flisctl trigger K147
expect_not K147-HISTORY

# A file name is not trusted: orders/$(touch${IFS}PWNED).yaml is neither run (as compgen -W would
# run it, as whoever pressed TAB) nor offered; the safe names around it still are.
: >"$tmp/etc/orders/"'$(touch${IFS}PWNED).yaml'
: >"$tmp/etc/orders/"'`touch${IFS}PWNED2`.yaml'
mkdir -p "$tmp/cwd"
cd "$tmp/cwd"
for line in "trigger" "runs --order" "copy" "redeliver"; do
  # shellcheck disable=SC2086
  complete_line flisctl --config "$tmp/etc" $line ""
  [ ! -e PWNED ] && [ ! -e PWNED2 ] || fail "completing '$line' ran a command from a file name"
  rm -f PWNED PWNED2
  expect_has K101-CPR-MONTHLY K147-HISTORY
  expect_not '$(touch${IFS}PWNED)' '`touch${IFS}PWNED2`'
  for w in "${COMPREPLY[@]}"; do
    [[ $w =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || fail "completing '$line' offers the unsafe word '$w'"
  done
done
complete_line flisctl --config "$tmp/etc" trigger '$('
[ ${#COMPREPLY[@]} -eq 0 ] || fail "a prefix of an unsafe name completes to: ${COMPREPLY[*]}"
cd "$tmp"

# Run ids from `flisctl runs --json`, whatever its spacing: a stand-in flisctl first (so this part
# does not depend on a state database) ...
cat >"$tmp/fake-flisctl" <<'SH'
#!/bin/sh
case "$*" in
  *"runs --json"*) printf '[{"run":12,"order":"A","status":"failed"},\n {"run": 7, "order": "B"}]\n' ;;
esac
SH
chmod +x "$tmp/fake-flisctl"
complete_line "$tmp/fake-flisctl" --config "$tmp/etc" retry ""
expect_has 12 7
complete_line "$tmp/fake-flisctl" --config "$tmp/etc" retry 1
expect_has 12
expect_not 7

# ... then the real one, on a state database that flisd --once filled from the example configuration.
if [ -n "${FLISD:-}" ] && [ -d "$FLISD_SOURCE_DIR/config/examples" ]; then
  cp -r "$FLISD_SOURCE_DIR/config/examples" "$tmp/examples"
  "$FLISD" --config "$tmp/examples" --once --log stderr >"$tmp/once.log" 2>&1 || true
  mapfile -t ids < <("$FLISCTL" --config "$tmp/examples" runs --json 2>/dev/null |
                     grep -o '"run"[[:space:]]*:[[:space:]]*[0-9]*' | grep -o '[0-9]*$')
  if [ "${#ids[@]}" -eq 0 ]; then
    fail "flisd --once on config/examples left no runs to complete (log: $(tail -3 "$tmp/once.log"))"
  else
    complete_line "$FLISCTL" --config "$tmp/examples" retry ""
    expect_has "${ids[@]}"
  fi
fi

if ((failures)); then
  echo "completion: $failures problem(s)" >&2
  exit 1
fi
echo "completion: ok"
