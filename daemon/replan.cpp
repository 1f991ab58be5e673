// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "daemon/replan.h"

#include <string_view>
#include <tuple>
#include <unordered_map>

namespace flis {
namespace {

// Everything of an order that planning reads: its periods, interfaces and status (not `pos`).
auto plan_keys(const Order& o) {
  return std::tie(o.id, o.municipality, o.type, o.source, o.delivery, o.interfaces, o.start, o.end, o.from, o.to,
                  o.chunk, o.status, o.generated);
}

bool same_interfaces(const Catalogue& a, const Catalogue& b) {
  auto keys = [](const Interface& i) { return std::tie(i.name, i.source, i.system, i.frequency); };
  if (a.interfaces.size() != b.interfaces.size()) return false;
  for (size_t i = 0; i < a.interfaces.size(); ++i)
    if (keys(a.interfaces[i]) != keys(b.interfaces[i])) return false;
  return true;
}

bool same_calendar(const Calendar& a, const Calendar& b) {
  if (std::tie(a.daily.ready, a.daily.lag_days, a.weekly.ready, a.weekly.weekday) !=
      std::tie(b.daily.ready, b.daily.lag_days, b.weekly.ready, b.weekly.weekday))
    return false;
  if (a.monthly.size() != b.monthly.size()) return false;
  for (auto i = a.monthly.begin(), j = b.monthly.begin(); i != a.monthly.end(); ++i, ++j)
    if (i->first != j->first || i->second.ready != j->second.ready || i->second.systems != j->second.systems)
      return false;
  return true;
}

bool same_datamarts(const std::optional<Datamarts>& a, const std::optional<Datamarts>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || std::tie(a->start, a->delivery, a->entitlements) == std::tie(b->start, b->delivery, b->entitlements);
}

}  // namespace

std::optional<std::set<std::string>> orders_to_replan(const Config& before, const Config& after) {
  if (before.settings.timezone != after.settings.timezone || before.settings.warehouse != after.settings.warehouse ||
      !same_datamarts(before.settings.datamarts, after.settings.datamarts) ||
      !same_interfaces(before.catalogue, after.catalogue) || !same_calendar(before.calendar, after.calendar))
    return std::nullopt;
  // Not assuming either list is sorted: a configuration built in code need not be.
  std::unordered_map<std::string_view, const Order*> old;
  old.reserve(before.orders.size());
  for (const Order& o : before.orders) old.emplace(o.id, &o);
  std::set<std::string> out;
  for (const Order& o : after.orders) {
    auto it = old.find(o.id);
    if (it == old.end() || plan_keys(*it->second) != plan_keys(o)) out.insert(o.id);
    if (it != old.end()) old.erase(it);
  }
  for (const auto& [id, o] : old) out.insert(o->id);  // removed
  return out;
}

}  // namespace flis
