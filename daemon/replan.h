// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// What a new configuration asks the Runner to plan again. A reload that edits one order file
// re-plans that order, not the other 9,999: the orders whose planning keys differ, the added ones
// and the removed ones. A change to anything every order's plan reads (time zone, warehouse,
// catalogue, calendar, datamart entitlements) asks for every order.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "config/model.h"

namespace flis {

// The ids of the orders to plan again going from `before` to `after` (added, removed or changed in
// what planning reads); nullopt when every order must be. Where a value is written (its file and
// line) and what planning never reads (the targets, retry policy, workers) do not count.
std::optional<std::set<std::string>> orders_to_replan(const Config& before, const Config& after);

}  // namespace flis
