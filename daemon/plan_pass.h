// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// One planning pass: evaluates (order, period) pairs as of one instant, caching what many orders
// share: the 98 municipalities' orders read the same partitions and convert the same local times,
// so each partition is stat'ed once and each local time converted through the time zone once per
// pass. plan() runs one over a window; the Runner runs one per loop turn over just the pairs that
// turn touches. Pure apart from reading the warehouse markers.
//
// Thread-safety: one thread per pass.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "config/model.h"
#include "config/period.h"
#include "daemon/planner.h"
#include "daemon/run_state.h"
#include "jobs/warehouse.h"

namespace flis {

using date::local_days;
using date::local_seconds;

class PlanPass {
 public:
  // Whether (order, period) has been delivered already.
  using Delivered = std::function<bool(const std::string& order, const Period& period)>;

  PlanPass(const Config& config, Delivered delivered, Instant now)
      : config_(config), delivered_(std::move(delivered)), now_(now), tz_(zone_of(config.settings)),
        today_(local_day(now, tz_)) {}
  // A pass over the delivered pairs of a History.
  PlanPass(const Config& config, const History& history, Instant now)
      : PlanPass(config, Delivered([&history, key = std::pair<std::string, Period>()](
                             const std::string& order, const Period& period) mutable {
                   // One reused key: no allocation per look-up.
                   key.first = order;
                   key.second = period;
                   return history.delivered.count(key) > 0;
                 }),
                 now) {}
  Instant now() const { return now_; }

  local_days today() const { return today_; }
  const date::time_zone* tz() const { return tz_; }

  // The order as planned: generated datamart orders filled in from the entitlements when the
  // loader left their first month or interfaces to us.
  const Order& effective(const Order& order) {
    if (!order.generated || (order.start && !order.interfaces.empty()) || !config_.settings.datamarts)
      return order;
    Order& o = patched_.emplace_back(order);
    const auto& dm = *config_.settings.datamarts;
    if (!o.start) o.start = date::year_month_day{dm.start / 1};
    if (auto it = dm.entitlements.find(o.municipality); o.interfaces.empty() && it != dm.entitlements.end())
      o.interfaces = it->second;
    return o;
  }

  Instant to_instant(local_seconds t) {
    auto [it, inserted] = instants_.try_emplace(t.time_since_epoch().count());
    if (inserted) it->second = local_to_instant(t, tz_);
    return it->second;
  }

  Instant end_of(const Period& p) { return to_instant(local_seconds{p.last + date::days{1}}); }

  bool processed(const Partition& p) {
    auto [it, inserted] = processed_.try_emplace(p.key());
    if (inserted) it->second = partition_processed(config_.settings.warehouse, p);
    return it->second;
  }

  // The expected time of one interface's data for the period: that of its last partition inside
  // the period. Unknown when the calendar lacks the month; no contribution (nullopt, with
  // `contributes` false) when the period holds no partition of the interface.
  std::optional<Instant> interface_expected(const Interface& iface, const Period& p, bool& contributes) {
    const Calendar& cal = config_.calendar;
    contributes = true;
    // The interface's last partition that belongs to the period sets when its data is expected.
    std::vector<Period> parts = partitions_in(iface.frequency, p);
    if (parts.empty()) {
      contributes = false;
      return std::nullopt;
    }
    const Period& last = parts.back();
    switch (iface.frequency) {
      case Frequency::daily:
        return to_instant(local_seconds{last.last + date::days{cal.daily.lag_days}} + cal.daily.ready);
      case Frequency::weekly: {
        // The Sunday ending the week, then the calendar's weekday after it.
        local_days day = last.last + date::days{1} + (cal.weekly.weekday - date::Monday);
        return to_instant(local_seconds{day} + cal.weekly.ready);
      }
      case Frequency::monthly: {
        date::year_month_day f{last.first};
        auto it = cal.monthly.find(f.year() / f.month());
        if (it == cal.monthly.end()) return std::nullopt;
        auto sys = it->second.systems.find(iface.system);
        return to_instant(sys != it->second.systems.end() ? sys->second : it->second.ready);
      }
    }
    contributes = false;
    return std::nullopt;
  }

  // The latest of the interfaces' expected times; unknown if any of them is unknown.
  std::optional<Instant> expected(const Order& order, const Period& p) {
    std::optional<Instant> latest;
    for (const auto& name : order.interfaces) {
      const Interface* iface = config_.catalogue.find(order.source, name);
      if (iface == nullptr) continue;
      bool contributes = false;
      auto t = interface_expected(*iface, p, contributes);
      if (!contributes) continue;
      if (!t) return std::nullopt;
      latest = latest ? std::max(*latest, *t) : *t;
    }
    return latest;
  }

  bool delivered(const Order& order, const Period& period) { return delivered_(order.id, period); }

  // What a period of an order needs depends only on (source, interfaces, period), which thousands
  // of orders share; worked out once per pass.
  struct Needs {
    std::optional<Instant> expected;
    std::vector<std::string> missing;  // Partition::key() of each partition not processed
  };
  const Needs& needs(const Order& order, const Period& period) {
    needs_key_.assign(to_string(order.source));
    for (const auto& i : order.interfaces) needs_key_.append("|").append(i);
    // The period by its days (they say its kind too): no name to format per look-up.
    needs_key_.append("|").append(std::to_string(period.first.time_since_epoch().count()));
    needs_key_.append("..").append(std::to_string(period.last.time_since_epoch().count()));
    auto [it, inserted] = needs_.try_emplace(needs_key_);
    if (inserted) {
      it->second.expected = expected(order, period);
      for (const auto& part : partitions_for(config_, order, period))
        if (!processed(part)) it->second.missing.push_back(part.key());
    }
    return it->second;
  }

  PlannedRun evaluate(const Order& order, const Period& period) {
    PlannedRun run;
    run.order = order.id;
    run.municipality = order.municipality;
    run.period = period;
    run.backfill = !order.is_subscription();
    const Needs& n = needs(order, period);
    run.expected = n.expected;
    if (delivered(order, period)) {
      run.state = PlanState::delivered;
      return run;
    }
    if (!order.active()) {
      run.state = PlanState::cancelled;
      return run;
    }
    run.missing = n.missing;
    if (now_ < end_of(period))
      run.state = PlanState::future;
    else if (run.missing.empty())
      run.state = PlanState::due;
    else if (is_late(run.expected, now_))
      run.state = PlanState::late;
    else
      run.state = PlanState::waiting;
    return run;
  }

  Instant sort_time(const PlannedRun& r) { return r.expected ? *r.expected : end_of(r.period); }

 private:
  const Config& config_;
  Delivered delivered_;
  Instant now_;
  const date::time_zone* tz_;
  local_days today_;
  std::unordered_map<int64_t, Instant> instants_;
  std::unordered_map<std::string, bool> processed_;
  std::deque<Order> patched_;
  std::string needs_key_;
  std::unordered_map<std::string, Needs> needs_;  // a deque: references handed out stay valid
};


}  // namespace flis
