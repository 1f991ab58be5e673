#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The configuration repository's review in CI (contrib/ci/flisd-review, run by gitlab-ci.yml) as a
# merge request pipeline sees it: a clone whose origin has the target branch, the configuration in
# a subfolder; the job log shows validate's summary and the diff against the target, the
# artifacts hold the same; a broken order fails the job with its error; outside a merge request
# only validate runs. And the pre-commit hook's optional diff (git config flisd.showdiff true).
set -euo pipefail
: "${FLISCTL:?}" "${FLISD_SOURCE_DIR:?}"
tmp=$(mktemp -d /tmp/flisd-ci-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "no '$2' in $(basename "$1")"; }; }
lacks() { ! grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "'$2' in $(basename "$1")"; }; }
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost GIT_COMMITTER_NAME=test \
       GIT_COMMITTER_EMAIL=test@localhost HOME=$tmp GIT_CONFIG_NOSYSTEM=1
review=$FLISD_SOURCE_DIR/contrib/ci/flisd-review

# The template runs the script the package installs, with the settings the README names.
yml=$FLISD_SOURCE_DIR/contrib/ci/gitlab-ci.yml
has "$yml" 'FLISD_REVIEW: "/usr/share/flisd/ci/flisd-review"'
has "$yml" 'sh "$FLISD_REVIEW"'
has "$yml" 'FLISD_CONFIG_DIR: "."'

# origin: main holds the deployed configuration under config/.
git init -q --bare -b main "$tmp/origin.git"
git clone -q "$tmp/origin.git" "$tmp/work" 2>/dev/null
cp -r "$FLISD_SOURCE_DIR/config/examples" "$tmp/work/config"
rm -rf "$tmp/work/config/demo"
git -C "$tmp/work" add -A && git -C "$tmp/work" commit -q -m deployed && git -C "$tmp/work" push -q origin HEAD:main

# The merge request: a branch that moves an end date earlier, cloned afresh as a runner does.
git -C "$tmp/work" checkout -q -b shorter
sed -i 's/^end: 2027-12-31/end: 2026-08-31/' "$tmp/work/config/orders/K101-LOEN-MONTHLY.yaml"
git -C "$tmp/work" commit -q -am "K101-LOEN-MONTHLY ends in August" && git -C "$tmp/work" push -q origin shorter
git clone -q -b shorter "$tmp/origin.git" "$tmp/runner" 2>/dev/null
git -C "$tmp/runner" branch -q -r -d origin/main  # a runner may not have the target branch yet

echo "--- a merge request: validate, then the diff in the log and in the artifacts"
(cd "$tmp/runner" && FLISCTL=$FLISCTL FLISD_CONFIG_DIR=config CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main \
  sh "$review") >"$tmp/job.log" 2>&1 || { cat "$tmp/job.log"; fail "the job failed"; }
cat "$tmp/job.log"
has "$tmp/job.log" "== flisctl validate config"
has "$tmp/job.log" "config: 15 orders (4 generated), 1 warning, 0 errors"
has "$tmp/job.log" "== flisctl diff --git origin/main config"
has "$tmp/job.log" "~ K101-LOEN-MONTHLY: changed (monthly, municipality 101)"
has "$tmp/job.log" "end: 2027-12-31 -> 2026-08-31"
has "$tmp/job.log" "cancels 16 periods, 2026-09..2027-12"
has "$tmp/runner/flisd-diff.txt" "subscription end moves earlier: 2027-12-31 -> 2026-08-31"
has "$tmp/runner/flisd-diff.json" '"change": "changed"'

echo "--- a broken order fails the job with its error"
sed -i 's/^source: DSA/source: DSX/' "$tmp/runner/config/orders/K101-LOEN-MONTHLY.yaml"
if (cd "$tmp/runner" && FLISCTL=$FLISCTL FLISD_CONFIG_DIR=config CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main \
  sh "$review") >"$tmp/bad.log" 2>&1; then cat "$tmp/bad.log"; fail "a broken configuration passed"; fi
has "$tmp/bad.log" "config/orders/K101-LOEN-MONTHLY.yaml:"
has "$tmp/bad.log" "error: unknown source 'DSX'"
git -C "$tmp/runner" checkout -q config

echo "--- a branch pipeline: validate only"
(cd "$tmp/runner" && env -u CI_MERGE_REQUEST_TARGET_BRANCH_NAME FLISCTL=$FLISCTL FLISD_CONFIG_DIR=config \
  sh "$review") >"$tmp/branch.log" 2>&1 || { cat "$tmp/branch.log"; fail "the branch job failed"; }
has "$tmp/branch.log" "0 errors"
has "$tmp/branch.log" "no diff"
lacks "$tmp/branch.log" "K101-LOEN-MONTHLY: changed"

echo "--- pre-commit with flisd.showdiff: the diff of what is staged, the commit goes through"
git -C "$tmp/work" checkout -q main
install -m 755 "$FLISD_SOURCE_DIR/contrib/git-hooks/pre-commit" "$tmp/work/.git/hooks/pre-commit"
git -C "$tmp/work" config flisd.configdir config
git -C "$tmp/work" config flisd.showdiff true
rm "$tmp/work/config/orders/K147-CPR-LEGACY.yaml"
git -C "$tmp/work" add -A
(cd "$tmp/work" && FLISCTL=$FLISCTL git commit -q -m "K147-CPR-LEGACY goes") >"$tmp/hook.log" 2>&1 ||
  { cat "$tmp/hook.log"; fail "the commit was refused"; }
has "$tmp/hook.log" "flisctl diff: HEAD -> ."
has "$tmp/hook.log" "- K147-CPR-LEGACY: removed"
git -C "$tmp/work" config flisd.showdiff false
echo "# a comment" >>"$tmp/work/config/orders/K101-CPR-DAILY.yaml"
git -C "$tmp/work" add -A
(cd "$tmp/work" && FLISCTL=$FLISCTL git commit -q -m "comment") >"$tmp/hook2.log" 2>&1 || fail "second commit refused"
lacks "$tmp/hook2.log" "flisctl diff"
echo "ci: ok"
