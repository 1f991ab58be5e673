// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The planner: from configuration, warehouse, run history and a clock, every (order, period) with
// its state (`flisctl plan`, `flisctl diff`). Pure apart from reading the warehouse markers. The
// daemon plans through the same PlanPass (daemon/plan_pass.h), against its run book
// (daemon/runner.h), which also knows when to wake up next.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "config/model.h"
#include "config/period.h"

namespace flis {

enum class PlanState { future, waiting, late, due, delivered, cancelled };
std::string_view to_string(PlanState);

struct PlannedRun {
  std::string order;
  int municipality = 0;
  Period period;
  bool backfill = false;            // a one-off chunk: lower priority, own concurrency bound
  std::optional<Instant> expected;  // from the data calendar; nullopt when it lacks the month
  PlanState state = PlanState::future;
  std::vector<std::string> missing;  // Partition::key() of each partition not yet processed
};

// What the run history says of a period: delivered already (and not to be planned again).
struct History {
  std::set<std::pair<std::string, Period>> delivered;  // (order id, period)
};

// The expected ready time of (order, period): the latest of its interfaces' calendar times.
std::optional<Instant> expected_time(const Config& config, const Order& order, const Period& period);

struct PlanWindow {
  date::local_days from;  // periods overlapping from..to (inclusive)
  date::local_days to;
};

// Every planned run of every order overlapping the window, sorted by (expected or period end,
// order id). States: `delivered` if History says so; `cancelled` for inactive orders' periods not
// delivered; `future` before the period ends; `due` when ended and every partition processed;
// `late` when the expected time has passed with partitions missing; `waiting` otherwise.
std::vector<PlannedRun> plan(const Config& config, const History& history, Instant now,
                             const PlanWindow& window);

}  // namespace flis
