#!/usr/bin/env bash
# The demo: install what is missing, build, then run flisd on the example configuration against a
# freshly made sample warehouse and show what it delivered.
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
BUILD_DIR=$BUILD_DIR ./scripts/build.sh
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
head -25 "$demo/plan.txt"

step "flisd --once: deliver everything due"
"$flisd" --once "${now_args[@]}" --config "$config" --log stderr

step "Delivered packages (outbox)"
find "$demo/outbox" -name '*.tar.zst' | sort >"$demo/packages.txt"
head -12 "$demo/packages.txt"
echo "... $(wc -l <"$demo/packages.txt") packages in all"

pkg=$(grep '/K101-CPR-DAILY_' "$demo/packages.txt" | tail -1 || true)
if [ -n "$pkg" ]; then
  step "Inside $(basename "$pkg")"
  tar --zstd -tvf "$pkg"
  echo
  tar --zstd -xOf "$pkg" manifest.json >"$demo/manifest.json"
  head -30 "$demo/manifest.json"
  step "Its checksum, as a municipality checks it"
  (cd "$(dirname "$pkg")" && cat "$(basename "$pkg").sha256" && sha256sum -c "$(basename "$pkg").sha256")
fi

step "flisctl runs --status waiting (packages waiting for FLIS to process their data)"
"$flisctl" --config "$config" runs --status waiting

step "flisctl runs (Datapakkekørsler), the last 15"
"$flisctl" --config "$config" runs | { IFS= read -r header; echo "$header"; tail -15; }
