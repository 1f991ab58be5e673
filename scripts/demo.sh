#!/usr/bin/env bash
# The demo: install what is missing, build, validate the example configuration and show it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh
./build/flisctl --config config/examples validate
