#!/usr/bin/env bash
# SPDX-FileCopyrightText: 2026 The flisd authors
# SPDX-License-Identifier: MPL-2.0
# contrib/prometheus/flisd-alerts.yml: promtool accepts the rules, its unit tests
# (flisd-alerts.test.yml) show each alert firing and staying quiet, and every flisd_* metric the
# rules use is one flisd exports (daemon/metrics.cpp), so a renamed metric cannot leave an alert
# that never fires.
set -euo pipefail
: "${FLISD_SOURCE_DIR:?}"
dir=$FLISD_SOURCE_DIR/contrib/prometheus
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v promtool >/dev/null || fail "promtool is missing (apt-get install prometheus; scripts/deps.sh)"

echo "--- promtool check rules"
promtool check rules "$dir/flisd-alerts.yml" || fail "promtool check rules refuses flisd-alerts.yml"
echo "--- promtool test rules"
(cd "$dir" && promtool test rules flisd-alerts.test.yml) || fail "the alert unit tests fail"

echo "--- each alert has a test that fires it"
for alert in $(grep -oE '^ *- alert: [A-Za-z]+' "$dir/flisd-alerts.yml" | awk '{print $3}'); do
  grep -q "alertname: $alert$" "$dir/flisd-alerts.test.yml" || fail "$alert has no unit test"
done
for alert in FlisdDown FlisdRunLate FlisdRunFailed FlisdReloadFailed FlisdOrderNotDelivered; do
  grep -q "alert: $alert$" "$dir/flisd-alerts.yml" || fail "the rules lack $alert"
done

echo "--- the rules use only metrics flisd exports"
for metric in $(grep -oE 'flisd_[a-z_]+' "$dir/flisd-alerts.yml" | sort -u); do
  grep -q "Name(\"$metric\")" "$FLISD_SOURCE_DIR/daemon/metrics.cpp" || fail "the rules use $metric, which flisd does not export"
done
echo "ok"
