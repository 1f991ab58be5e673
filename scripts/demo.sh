#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# The demo: install what is missing, build, then run flisd on the example configuration against a
# freshly made sample warehouse and show what it delivered, in a screen or two, ending with a summary.
#
#   scripts/demo.sh            # as of now
#   NOW=2026-11-26 scripts/demo.sh
#
# Everything it writes lives in config/examples/demo/ (git-ignored): the warehouse, the state
# database and the outbox the example targets deliver to. It is wiped and made again each time.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
config=config/examples
demo=$config/demo
now=${NOW:-$(date +%F)}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Dependencies and build"
./scripts/deps.sh
# The compiler's lines only when it fails: the demo is about what flisd does.
mkdir -p "$BUILD_DIR"
if ! BUILD_DIR=$BUILD_DIR ./scripts/build.sh >"$BUILD_DIR/demo-build.log" 2>&1; then
  tail -40 "$BUILD_DIR/demo-build.log"
  echo "demo: the build failed; the whole log is $BUILD_DIR/demo-build.log" >&2
  exit 1
fi
echo "built $BUILD_DIR/flisd and $BUILD_DIR/flisctl"
flisd=$BUILD_DIR/flisd
flisctl=$BUILD_DIR/flisctl

step "A fresh sample warehouse in $demo/warehouse (data up to the day before $now)"
rm -rf "$demo"
mkdir -p "$demo"
./scripts/make-sample-warehouse.sh "$demo/warehouse" "$config" --now "$now"

step "flisctl validate $config"
"$flisctl" --config "$config" validate

# --now only when NOW is given: then flisd --once and plan see the same day as the warehouse.
now_args=()
[ -n "${NOW:-}" ] && now_args=(--now "$now 08:00")

step "flisctl plan (the last weeks, a slice)"
# Into a file first: `| head` would cut flisctl off mid-write (SIGPIPE), which pipefail reports.
"$flisctl" --config "$config" plan "${now_args[@]}" --from "$(date -d "$now - 14 days" +%F)" --to "$now" >"$demo/plan.txt"
head -10 "$demo/plan.txt"
echo "... $(($(wc -l <"$demo/plan.txt") - 1)) deliveries in those two weeks"

step "flisd --once: deliver everything due"
# On a terminal flisd shows one progress line and a summary; elsewhere (a pipe, CI) it logs every
# run, so the log goes to a file and the warnings and the summary are shown.
if [ -t 2 ]; then
  "$flisd" --once "${now_args[@]}" --config "$config" --log stderr
else
  "$flisd" --once "${now_args[@]}" --config "$config" --log stderr 2>"$demo/once.log"
  grep -E ': (warning|error): ' "$demo/once.log" | cut -c1-160 || true
  tail -1 "$demo/once.log"
  echo "(every run's log line: $demo/once.log)"
fi

step "Delivered packages (outbox)"
find "$demo/outbox" -name '*.tar.zst' | sort >"$demo/packages.txt"
head -5 "$demo/packages.txt"
echo "... $(wc -l <"$demo/packages.txt") packages in all"

pkg=$(grep '/K101-CPR-DAILY_' "$demo/packages.txt" | tail -1 || true)
if [ -n "$pkg" ]; then
  step "Inside $(basename "$pkg")"
  tar --zstd -tvf "$pkg"
  echo
  tar --zstd -xOf "$pkg" manifest.json >"$demo/manifest.json"
  head -14 "$demo/manifest.json"
  echo "  ..."
  step "Its checksum, as a municipality checks it"
  (cd "$(dirname "$pkg")" && cat "$(basename "$pkg").sha256" && sha256sum -c "$(basename "$pkg").sha256")
fi

step "flisctl runs (Datapakkekørsler), the last 8: delivered, and waiting for FLIS to process data"
"$flisctl" --config "$config" runs | { IFS= read -r header; echo "$header"; tail -8; }

step "Summary"
"$flisctl" --config "$config" runs --json >"$demo/runs.json"
delivered=$(grep -c '"status": "delivered"' "$demo/runs.json" || true)
waiting=$(grep -c '"status": "waiting"' "$demo/runs.json" || true)
size=$(du -sh "$demo/outbox" | cut -f1)
echo "$delivered packages delivered ($size) to $demo/outbox, $waiting waiting for FLIS to process their data."
echo "Again as of another day: NOW=2026-11-26 $0. Then try $flisctl --config $config plan or runs, and"
echo "$flisctl diff $config <a changed copy>: what a change to the orders would deliver or cancel."
