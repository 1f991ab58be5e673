// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "ctl/config_diff.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>

#include "config/period.h"
#include "jobs/collect.h"
#include "jobs/warehouse.h"

namespace flis {
namespace {

using date::local_days;

std::string day_text(const std::optional<date::year_month_day>& d) {
  if (!d) return {};
  std::ostringstream out;
  out << *d;
  return out.str();
}

std::string list_text(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

// The keys of an order as written in YAML, in the order of an order file.
std::vector<std::pair<std::string, std::string>> keys_of(const Order& o) {
  std::vector<std::pair<std::string, std::string>> k{
      {"municipality", std::to_string(o.municipality)},
      {"type", std::string(to_string(o.type))},
      {"source", std::string(to_string(o.source))},
      {"delivery", o.delivery},
      {"interfaces", list_text(o.interfaces)},
      {"start", day_text(o.start)},
      {"end", day_text(o.end)},
      {"from", day_text(o.from)},
      {"to", day_text(o.to)},
      {"chunk", o.is_subscription() ? std::string() : std::string(to_string(o.chunk))},
      {"status", std::string(to_string(o.status))},
  };
  return k;
}

std::vector<KeyChange> changed_keys(const Order& before, const Order& after) {
  auto a = keys_of(before), b = keys_of(after);
  std::vector<KeyChange> out;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].second != b[i].second) out.push_back({a[i].first, a[i].second, b[i].second});
  return out;
}

// A mode as flisd.yaml writes it: "0640".
std::string octal(uint32_t mode) {
  char text[16];
  std::snprintf(text, sizeof text, "%04o", mode & 07777u);
  return text;
}

// A path as the sysadmin wrote it: relative to the configuration folder when inside it.
std::string path_text(const std::filesystem::path& p, const std::filesystem::path& dir) {
  if (p.empty()) return {};
  auto rel = p.lexically_relative(dir);
  if (!rel.empty() && *rel.begin() != "..") return rel.string();
  return p.string();
}

std::map<std::string, std::string> settings_of(const Config& c) {
  const Settings& s = c.settings;
  std::map<std::string, std::string> k{
      {"timezone", s.timezone},
      {"warehouse", path_text(s.warehouse, c.dir)},
      {"state", path_text(s.state, c.dir)},
      {"workers", std::to_string(s.workers)},
      {"backfill_workers", std::to_string(s.backfill_workers)},
      {"compression.level", std::to_string(s.compression.level)},
      {"compression.threads", std::to_string(s.compression.threads)},
      {"retry.attempts", std::to_string(s.retry.attempts)},
      {"retry.initial", std::to_string(s.retry.initial.count()) + "s"},
      {"retry.max", std::to_string(s.retry.max.count()) + "s"},
  };
  for (const auto& [name, t] : s.targets) {
    std::string at = "targets." + name + ".";
    k[at + "type"] = std::string(to_string(t.type));
    // A directory target's path is local, and made absolute by the loader; an SFTP path is remote.
    k[at + "path"] = t.type == TargetType::directory ? path_text(t.path, c.dir) : t.path;
    k[at + "file_mode"] = octal(t.file_mode);
    k[at + "dir_mode"] = octal(t.dir_mode);
    if (t.type != TargetType::sftp) continue;
    k[at + "host"] = t.host;
    k[at + "port"] = std::to_string(t.port);
    k[at + "user"] = t.user;
    k[at + "identity"] = path_text(t.identity, c.dir);
    k[at + "known_hosts"] = path_text(t.known_hosts, c.dir);
    k[at + "timeout"] = std::to_string(t.timeout.count()) + "s";
    k[at + "max_sessions"] = std::to_string(t.max_sessions);
    k[at + "uploads_per_session"] = std::to_string(t.uploads_per_session);
  }
  if (s.datamarts) {
    std::ostringstream start;
    start << s.datamarts->start;
    k["datamarts.start"] = start.str();
    k["datamarts.delivery"] = s.datamarts->delivery;
  }
  return k;
}

std::vector<KeyChange> changed_settings(const Config* before, const Config& after) {
  std::vector<KeyChange> out;
  if (before == nullptr) return out;  // nothing to compare with: every order is new anyway
  auto a = settings_of(*before), b = settings_of(after);
  std::set<std::string> keys;
  for (const auto& [key, value] : a) keys.insert(key);
  for (const auto& [key, value] : b) keys.insert(key);
  for (const auto& key : keys) {
    auto x = a.find(key), y = b.find(key);
    std::string old_value = x == a.end() ? std::string() : x->second;
    std::string new_value = y == b.end() ? std::string() : y->second;
    if (old_value != new_value) out.push_back({key, old_value, new_value});
  }
  return out;
}

std::optional<local_days> first_day(const Order& o) {
  if (o.is_subscription() && o.start) return local_days{*o.start};
  if (!o.is_subscription() && o.from) return local_days{*o.from};
  return std::nullopt;
}

// How far an order's periods count: its end (or a one-off's `to`), at least today; an order
// without an end (a datamart order) only up to today, or every month ahead would be "new".
local_days horizon(const Order& o, local_days today) {
  if (o.is_subscription() && o.end) return std::max(today, local_days{*o.end});
  if (!o.is_subscription() && o.to) return std::max(today, local_days{*o.to});
  return today;
}

// The periods a configuration will still deliver, per order.
using ToDeliver = std::map<std::string, std::map<Period, PlannedRun>>;

ToDeliver to_deliver(const Config& config, const History& history, Instant now, const PlanWindow& window,
                     const std::map<std::string, local_days>& horizons) {
  ToDeliver out;
  for (PlannedRun& run : plan(config, history, now, window)) {
    if (run.state == PlanState::delivered || run.state == PlanState::cancelled) continue;
    auto h = horizons.find(run.order);
    if (h == horizons.end() || run.period.first > h->second) continue;
    Period period = run.period;
    out[run.order].emplace(period, std::move(run));
  }
  return out;
}

// Sums up the periods of `from` missing in `other`.
PeriodSummary summarize(const std::map<Period, PlannedRun>* from, const std::map<Period, PlannedRun>* other,
                        const std::string& order_id, const DiffHistory& history,
                        const std::function<int64_t(const PlannedRun&)>& bytes_of) {
  PeriodSummary s;
  if (from == nullptr) return s;
  for (const auto& [period, run] : *from) {
    if (other != nullptr && other->count(period)) continue;
    ++s.count;
    if (!s.first || period < *s.first) s.first = period;
    if (!s.last || *s.last < period) s.last = period;
    switch (run.state) {
      case PlanState::due: ++s.due; break;
      case PlanState::waiting:
      case PlanState::late: ++s.waiting; break;
      default: ++s.future; break;
    }
    if (bytes_of) s.bytes += bytes_of(run);
    if (history.open.count({order_id, period})) ++s.with_runs;
  }
  return s;
}

void add_to(PeriodSummary& total, const PeriodSummary& s) {
  if (s.count == 0) return;
  // By first day, as the orders' periods may be of different kinds.
  if (!total.first || s.first->first < total.first->first) total.first = s.first;
  if (!total.last || total.last->first < s.last->first) total.last = s.last;
  total.count += s.count;
  total.due += s.due;
  total.waiting += s.waiting;
  total.future += s.future;
  total.bytes += s.bytes;
  total.with_runs += s.with_runs;
}

// A copy of `config` holding only the orders named in `ids`, planned against `warehouse`.
Config only_orders(const Config& config, const std::set<std::string>& ids, const std::filesystem::path& warehouse) {
  Config out;
  out.dir = config.dir;
  out.settings = config.settings;
  out.settings.warehouse = warehouse;
  out.catalogue = config.catalogue;
  out.calendar = config.calendar;
  out.version = config.version;
  for (const Order& o : config.orders)
    if (ids.count(o.id)) out.orders.push_back(o);
  return out;
}

// The orders that differ, old and new side by side, and the window their periods are counted in.
struct Scope {
  std::map<std::string, std::pair<const Order*, const Order*>> orders;  // id -> (old, new)
  std::map<std::string, local_days> horizons;
  PlanWindow window;
};

Scope changed_orders(const Config* old_config, const Config& new_config, local_days today) {
  std::map<std::string, std::pair<const Order*, const Order*>> both;
  if (old_config != nullptr)
    for (const Order& o : old_config->orders) both[o.id].first = &o;
  for (const Order& o : new_config.orders) both[o.id].second = &o;
  Scope scope{{}, {}, {today, today}};
  std::optional<local_days> from;
  for (const auto& [id, pair] : both) {
    const auto [before, after] = pair;
    if (before != nullptr && after != nullptr && changed_keys(*before, *after).empty()) continue;
    scope.orders[id] = pair;
    local_days h = today;
    for (const Order* o : {before, after}) {
      if (o == nullptr) continue;
      h = std::max(h, horizon(*o, today));
      if (auto f = first_day(*o)) from = from ? std::min(*from, *f) : *f;
    }
    scope.horizons[id] = h;
    scope.window.to = std::max(scope.window.to, h);
  }
  scope.window.from = from.value_or(today);
  return scope;
}

// What the warehouse holds today for a period of an order: the files of that municipality only.
int64_t warehouse_bytes(const Config& config, const Order& order, const Period& period) {
  auto files = collect_files(config.settings.warehouse, partitions_for(config, order, period), order.municipality);
  int64_t sum = 0;
  if (files)
    for (const auto& f : *files) sum += static_cast<int64_t>(f.size);
  return sum;
}

OrderChange describe(const std::string& id, const Order* old_order, const Order* new_order) {
  OrderChange c;
  c.order = id;
  const Order& any = new_order != nullptr ? *new_order : *old_order;
  c.municipality = any.municipality;
  c.type = any.type;
  c.datamart = any.generated;
  c.kind = old_order == nullptr   ? OrderChange::Kind::added
           : new_order == nullptr ? OrderChange::Kind::removed
                                  : OrderChange::Kind::changed;
  if (c.kind == OrderChange::Kind::changed) {
    c.keys = changed_keys(*old_order, *new_order);
    if (old_order->is_subscription() && new_order->is_subscription() && old_order->end != new_order->end)
      c.end_moves = std::make_pair(day_text(old_order->end), day_text(new_order->end));
  }
  return c;
}

}  // namespace

std::string_view to_string(OrderChange::Kind k) {
  switch (k) {
    case OrderChange::Kind::added: return "added";
    case OrderChange::Kind::removed: return "removed";
    case OrderChange::Kind::changed: return "changed";
  }
  return "?";
}

ConfigDiff diff_configs(const Config* old_config, const Config& new_config, const DiffHistory& history, Instant now) {
  ConfigDiff diff;
  diff.settings = changed_settings(old_config, new_config);
  Scope scope = changed_orders(old_config, new_config, local_day(now, zone_of(new_config.settings)));
  if (scope.orders.empty()) return diff;

  std::set<std::string> ids;
  for (const auto& [id, pair] : scope.orders) ids.insert(id);
  const auto& warehouse = new_config.settings.warehouse;
  Config new_part = only_orders(new_config, ids, warehouse);
  ToDeliver after = to_deliver(new_part, history.history, now, scope.window, scope.horizons);
  ToDeliver before;
  if (old_config != nullptr)
    before = to_deliver(only_orders(*old_config, ids, warehouse), history.history, now, scope.window, scope.horizons);

  for (const auto& [id, pair] : scope.orders) {
    const auto [old_order, new_order] = pair;
    OrderChange c = describe(id, old_order, new_order);
    auto find = [&id](const ToDeliver& t) { auto it = t.find(id); return it == t.end() ? nullptr : &it->second; };
    const auto* now_delivered = find(after);
    const auto* was_delivered = find(before);
    std::function<int64_t(const PlannedRun&)> bytes_of;
    if (new_order != nullptr)
      bytes_of = [&, order = new_order](const PlannedRun& run) { return warehouse_bytes(new_part, *order, run.period); };
    c.delivered = summarize(now_delivered, was_delivered, id, history, bytes_of);
    c.cancelled = summarize(was_delivered, now_delivered, id, history, nullptr);
    add_to(diff.delivered, c.delivered);
    add_to(diff.cancelled, c.cancelled);
    diff.orders.push_back(std::move(c));
  }
  return diff;
}

}  // namespace flis
