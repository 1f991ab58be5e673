// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// What changing the configuration from OLD to NEW does to deliveries (`flisctl diff`): per order
// added, removed or changed, the periods NEW will deliver that OLD would not, the periods OLD would
// deliver that NEW will not (cancelled), and a subscription's end that moves.
//
// Both sides go through the planner as of the same instant and against the same run history, so
// a period already delivered is neither "new" nor "cancelled": only what is still to come differs.
// A period "to be delivered" is one the planner does not call delivered or cancelled, up to the
// order's end (subscriptions without an end, the datamart orders: up to today).
//
// Pure apart from reading warehouse markers and file sizes (for the bytes of new periods).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "config/model.h"
#include "config/period.h"
#include "daemon/planner.h"

namespace flis {

// A set of periods of one order, summed up.
struct PeriodSummary {
  int count = 0;
  std::optional<Period> first, last;  // the oldest and newest; absent when count is 0
  int due = 0;              // ended and every partition processed: delivered at the next refresh
  int waiting = 0;          // ended, data missing (late included)
  int future = 0;           // not ended yet
  int64_t bytes = 0;        // what the warehouse holds today for them, that municipality's folder only
  int with_runs = 0;        // of them, how many have a run in the state database not yet final
};

// One key of an order that differs, as written in YAML ("end", "interfaces", ...).
struct KeyChange {
  std::string key;
  std::string before, after;  // YAML-like text; empty when the key is absent on that side
};

struct OrderChange {
  enum class Kind { added, removed, changed };
  Kind kind = Kind::changed;
  std::string order;
  int municipality = 0;
  OrderType type = OrderType::monthly;  // NEW's, or OLD's for a removed order
  bool datamart = false;  // a generated DM-<kommunekode> order (from datamarts.entitlements)
  std::vector<KeyChange> keys;  // changed orders only
  PeriodSummary delivered;      // NEW delivers, OLD would not
  PeriodSummary cancelled;      // OLD would deliver, NEW will not
  // A subscription whose end moves (before, after), both as YYYY-MM-DD.
  std::optional<std::pair<std::string, std::string>> end_moves;
};
std::string_view to_string(OrderChange::Kind);

struct ConfigDiff {
  // flisd.yaml settings that differ ("targets.flis.path", "timezone", ...); paths inside the
  // configuration folder are shown relative to it, so a copy elsewhere compares equal.
  std::vector<KeyChange> settings;
  std::vector<OrderChange> orders;  // by order id
  PeriodSummary delivered, cancelled;  // totals (first/last/due... summed, first/last over all)
};

// What the state database knows, as the diff needs it.
struct DiffHistory {
  History history;  // delivered (order, period) pairs
  // (order, period) of runs a cancellation turns into `cancelled`: waiting, queued or failed with
  // a retry ahead. (A running run is never cut off; it finishes.)
  std::set<std::pair<std::string, Period>> open;
};

// OLD may be null (no configuration before: every order of NEW is added). The warehouse of NEW is
// the one read for both sides: OLD may come from a temporary copy whose relative paths point
// nowhere.
ConfigDiff diff_configs(const Config* old_config, const Config& new_config, const DiffHistory& history,
                        Instant now);

}  // namespace flis
