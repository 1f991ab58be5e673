#include "daemon/planner.h"

#include <algorithm>
#include <deque>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "daemon/warehouse.h"

namespace flis {
namespace {

using date::local_days;
using date::local_seconds;

// How far back and ahead next_wakeup looks. Back: a period that ended up to three months ago may
// still have its calendar time ahead (the data calendar runs about a month behind). Ahead: the
// daemon is woken at least at every period end, so two months always hold the next one.
constexpr date::days kWakeupLookBack{93};
constexpr date::days kWakeupLookAhead{62};


// One planning pass. Caches what many orders share: the 98 municipalities' orders read the same
// partitions and convert the same local times, so each partition is stat'ed once and each local
// time converted through the time zone once per pass.
class PlanPass {
 public:
  PlanPass(const Config& config, const History& history, Instant now)
      : config_(config), history_(history), now_(now), tz_(zone_of(config.settings)), today_(local_day(now, tz_)) {}

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
    switch (iface.frequency) {
      case Frequency::daily:
        return to_instant(local_seconds{p.last + date::days{cal.daily.lag_days}} + cal.daily.ready);
      case Frequency::weekly: {
        // The last Thursday in the period names the last week; its Sunday is Thursday + 3.
        local_days thursday = p.last - (date::weekday{p.last} - date::Thursday);
        if (thursday < p.first) break;
        local_days sunday = thursday + date::days{3};
        local_days day = sunday + date::days{1} + (cal.weekly.weekday - date::Monday);
        return to_instant(local_seconds{day} + cal.weekly.ready);
      }
      case Frequency::monthly: {
        date::year_month_day l{p.last};
        date::year_month ym = l.year() / l.month();
        if (local_days{ym / 1} < p.first) break;
        auto it = cal.monthly.find(ym);
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

  bool delivered(const Order& order, const std::string& period_name) {
    // One reused key: no allocation per look-up for the common short period names.
    history_key_.first = order.id;
    history_key_.second = period_name;
    return history_.delivered.count(history_key_) > 0;
  }

  // What a period of an order needs depends only on (source, interfaces, period), which thousands
  // of orders share; worked out once per pass.
  struct Needs {
    std::optional<Instant> expected;
    std::vector<std::string> missing;  // Partition::key() of each partition not processed
  };
  const Needs& needs(const Order& order, const Period& period, const std::string& period_name) {
    needs_key_.assign(to_string(order.source));
    for (const auto& i : order.interfaces) needs_key_.append("|").append(i);
    needs_key_.append("|").append(period_name);
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
    std::string name = period.name();
    const Needs& n = needs(order, period, name);
    run.expected = n.expected;
    if (delivered(order, name)) {
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
    else if (run.expected && now_ >= *run.expected)
      run.state = PlanState::late;
    else
      run.state = PlanState::waiting;
    return run;
  }

  Instant sort_time(const PlannedRun& r) { return r.expected ? *r.expected : end_of(r.period); }

 private:
  const Config& config_;
  const History& history_;
  Instant now_;
  const date::time_zone* tz_;
  local_days today_;
  std::unordered_map<int64_t, Instant> instants_;
  std::unordered_map<std::string, bool> processed_;
  std::deque<Order> patched_;
  std::pair<std::string, std::string> history_key_;
  std::string needs_key_;
  std::unordered_map<std::string, Needs> needs_;  // a deque: references handed out stay valid
};

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
      if (pass.delivered(order, name)) continue;
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
