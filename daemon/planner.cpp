// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "daemon/planner.h"

#include <algorithm>
#include <deque>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "daemon/plan_pass.h"
#include "jobs/warehouse.h"

namespace flis {
namespace {

using date::local_days;
using date::local_seconds;

// How far back and ahead next_wakeup looks. Back: a period that ended up to three months ago may
// still have its calendar time ahead (the data calendar runs about a month behind). Ahead: the
// daemon is woken at least at every period end, so two months always hold the next one.
constexpr date::days kWakeupLookBack{93};
constexpr date::days kWakeupLookAhead{62};


// The delivered periods of one order, for fast look-ups over a long history.
std::unordered_set<std::string_view> delivered_of(const History& history, const std::string& order) {
  std::unordered_set<std::string_view> out;
  for (auto it = history.delivered.lower_bound({order, std::string()});
       it != history.delivered.end() && it->first == order; ++it)
    out.insert(it->second);
  return out;
}

}  // namespace

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

std::vector<PlannedRun> due_runs(const Config& config, const History& history, Instant now) {
  PlanPass pass(config, history, now);
  std::vector<PlannedRun> out;
  for (const Order& listed : config.orders) {
    if (!listed.active()) continue;
    const Order& order = pass.effective(listed);
    auto delivered = delivered_of(history, order.id);
    for (const Period& period : order_periods(order, pass.today())) {
      if (now < pass.end_of(period)) break;  // periods come oldest first; the rest have not ended
      std::string name = period.name();
      if (delivered.count(name) > 0) continue;
      const auto& needs = pass.needs(order, period, name);
      if (!needs.missing.empty()) continue;
      PlannedRun run;
      run.order = order.id;
      run.municipality = order.municipality;
      run.period = period;
      run.backfill = !order.is_subscription();
      run.expected = needs.expected;
      run.state = PlanState::due;
      out.push_back(std::move(run));
    }
  }
  std::sort(out.begin(), out.end(), [](const PlannedRun& a, const PlannedRun& b) {
    return std::tie(a.backfill, a.period.first, a.order, a.period.last) <
           std::tie(b.backfill, b.period.first, b.order, b.period.last);
  });
  return out;
}

std::optional<Instant> next_wakeup(const Config& config, const History& history, Instant now) {
  PlanPass pass(config, history, now);
  std::optional<Instant> next;
  auto consider = [&](std::optional<Instant> t) {
    if (t && *t > now && (!next || *t < *next)) next = *t;
  };
  for (const Order& listed : config.orders) {
    if (!listed.active()) continue;
    const Order& order = pass.effective(listed);
    for (const Period& period : order_periods(order, pass.today() - kWakeupLookBack, pass.today() + kWakeupLookAhead)) {
      std::string name = period.name();
      if (pass.delivered(order, period, name)) continue;
      Instant end = pass.end_of(period);
      consider(end);
      consider(pass.needs(order, period, name).expected);
      // Later periods end later and are expected later: the first unfinished one is enough.
      if (end > now) break;
    }
  }
  return next;
}

}  // namespace flis
