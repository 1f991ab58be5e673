// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "daemon/planner.h"

#include <algorithm>
#include <string_view>
#include <tuple>

#include "daemon/plan_pass.h"
#include "jobs/warehouse.h"

namespace flis {

std::string_view to_string(PlanState s) {
  switch (s) {
    case PlanState::future: return "future";
    case PlanState::waiting: return "waiting";
    case PlanState::late: return "late";
    case PlanState::due: return "due";
    case PlanState::delivered: return "delivered";
    case PlanState::cancelled: return "cancelled";
  }
  return "?";
}

std::optional<Instant> expected_time(const Config& config, const Order& order, const Period& period) {
  History none;
  PlanPass pass(config, none, Instant{});
  return pass.expected(pass.effective(order), period);
}

std::vector<PlannedRun> plan(const Config& config, const History& history, Instant now, const PlanWindow& window) {
  PlanPass pass(config, history, now);
  std::vector<std::pair<Instant, PlannedRun>> keyed;
  for (const Order& listed : config.orders) {
    const Order& order = pass.effective(listed);
    for (const Period& period : order_periods(order, window.from, window.to)) {
      PlannedRun run = pass.evaluate(order, period);
      Instant key = pass.sort_time(run);
      keyed.emplace_back(key, std::move(run));
    }
  }
  std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first, a.second.order, a.second.period) < std::tie(b.first, b.second.order, b.second.period);
  });
  std::vector<PlannedRun> out;
  out.reserve(keyed.size());
  for (auto& [key, run] : keyed) out.push_back(std::move(run));
  return out;
}

}  // namespace flis
