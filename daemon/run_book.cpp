// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run book and the rules of the run state machine. See daemon/run_book.h.
#include "daemon/run_book.h"

#include <algorithm>
#include <climits>

namespace flis {

void RunBook::clear() { *this = RunBook(); }

uint32_t RunBook::intern(const std::string& order) {
  auto [it, inserted] = order_ids_.try_emplace(order, uint32_t(orders_.size()));
  if (inserted) {
    orders_.push_back(order);
    by_order_.emplace_back();
    redeliveries_.emplace_back();
  }
  return it->second;
}

RunBook::QueueKey RunBook::queue_key(const Entry& e) const {
  return {e.kind == RunKind::backfill, int32_t(e.period.first.time_since_epoch().count()), orders_[e.order],
          e.redelivery, e.id};
}

void RunBook::unindex(const Entry& e) {
  --counts_[size_t(e.status)];
  if (e.status == RunStatus::running) running_.erase(e.id);
  if (e.status == RunStatus::queued) queue_.erase(queue_key(e));
  if (e.status == RunStatus::waiting) {
    if (e.late) --late_;
    else if (e.expected()) {
      for (auto [it, end] = expecting_.equal_range(*e.expected()); it != end; ++it)
        if (it->second == e.id) { expecting_.erase(it); break; }
    }
  }
  if (e.status == RunStatus::failed && e.next_attempt()) {
    for (auto [it, end] = retrying_.equal_range(*e.next_attempt()); it != end; ++it)
      if (it->second == e.id) { retrying_.erase(it); break; }
  }
}

void RunBook::index(const Entry& e) {
  ++counts_[size_t(e.status)];
  if (e.status == RunStatus::running) running_.insert(e.id);
  if (e.status == RunStatus::queued) queue_.insert(queue_key(e));
  if (e.status == RunStatus::waiting) {
    if (e.late) ++late_;
    else if (e.expected()) expecting_.emplace(*e.expected(), e.id);
  }
  if (e.status == RunStatus::failed && e.next_attempt()) retrying_.emplace(*e.next_attempt(), e.id);
}

void RunBook::put(const Run& run, std::optional<Instant> expected) {
  if (run.id <= 0) return;
  if (size_t(run.id) >= entries_.size()) entries_.resize(std::max(size_t(run.id) + 1, entries_.size() * 5 / 4));
  Entry& e = entries_[size_t(run.id)];
  const bool known = e.id != 0;
  if (known) unindex(e);
  else ++size_;
  if (!known) {
    e.id = run.id;
    e.order = intern(run.order);
    e.redelivery = uint16_t(run.redelivery);
    e.kind = run.kind;
    e.period = run.period;
    if (run.redelivery == 1) {
      // Periods mostly come in order: appending is the common case.
      auto& runs = by_order_[e.order];
      std::pair<int32_t, int64_t> item{int32_t(e.period.first.time_since_epoch().count()), run.id};
      auto at = runs.empty() || runs.back().first < item.first ? runs.end() : std::lower_bound(runs.begin(), runs.end(), item);
      if (at != runs.end() && at->first == item.first) at->second = run.id;
      else runs.insert(at, item);
    } else {
      redeliveries_[e.order].push_back(run.id);
    }
  }
  e.late = run.status == RunStatus::waiting && run.late;
  e.status = run.status;
  e.missing = uint16_t(std::min<size_t>(run.missing.size(), UINT16_MAX));
  if (expected) e.expected_ = Entry::of(expected);
  e.next_attempt_ = Entry::of(run.status == RunStatus::failed ? run.next_attempt : std::nullopt);
  index(e);
}

void RunBook::put_expected(int64_t id, std::optional<Instant> expected) {
  if (id <= 0 || size_t(id) >= entries_.size() || entries_[size_t(id)].id == 0) return;
  Entry& e = entries_[size_t(id)];
  unindex(e);
  e.expected_ = Entry::of(expected);
  index(e);
}

void RunBook::put_missing(int64_t id, size_t missing) {
  if (id <= 0 || size_t(id) >= entries_.size()) return;
  entries_[size_t(id)].missing = uint16_t(std::min<size_t>(missing, UINT16_MAX));  // no index depends on it
}

bool RunBook::mark_late(int64_t id) {
  if (id <= 0 || size_t(id) >= entries_.size()) return false;
  Entry& e = entries_[size_t(id)];
  if (e.id == 0 || e.status != RunStatus::waiting || e.late) return false;
  unindex(e);
  e.late = true;
  index(e);
  return true;
}

const RunBook::Entry* RunBook::find(int64_t id) const {
  if (id <= 0 || size_t(id) >= entries_.size() || entries_[size_t(id)].id == 0) return nullptr;
  return &entries_[size_t(id)];
}

const RunBook::Entry* RunBook::find(std::string_view order, const Period& period) const {
  auto o = order_ids_.find(std::string(order));
  if (o == order_ids_.end()) return nullptr;
  const auto* it = find_first(o->second, int32_t(period.first.time_since_epoch().count()));
  if (it == nullptr) return nullptr;
  const Entry& e = entries_[size_t(it->second)];
  return e.period == period ? &e : nullptr;
}

const std::pair<int32_t, int64_t>* RunBook::find_first(uint32_t order, int32_t day) const {
  const auto& runs = by_order_[order];
  auto it = std::lower_bound(runs.begin(), runs.end(), std::pair<int32_t, int64_t>{day, INT64_MIN});
  return it != runs.end() && it->first == day ? &*it : nullptr;
}

bool RunBook::delivered(std::string_view order, const Period& period) const {
  const Entry* e = find(order, period);
  return e != nullptr && e->status == RunStatus::delivered;
}

std::vector<int64_t> RunBook::turning_late(Instant now) const {
  std::vector<int64_t> out;
  for (auto it = expecting_.begin(); it != expecting_.end() && is_late(it->first, now); ++it) out.push_back(it->second);
  return out;
}

std::vector<int64_t> RunBook::retries_due(Instant now) const {
  std::vector<int64_t> out;
  for (auto it = retrying_.begin(); it != retrying_.end() && it->first <= now; ++it) out.push_back(it->second);
  return out;
}

std::vector<int64_t> RunBook::pending_of(std::string_view order) const {
  std::vector<int64_t> out;
  auto o = order_ids_.find(std::string(order));
  if (o == order_ids_.end()) return out;
  auto pending = [](const Entry& e) {
    return e.status == RunStatus::waiting || e.status == RunStatus::queued ||
           (e.status == RunStatus::failed && e.next_attempt());
  };
  // Only this order's runs: walking the whole queue here made a pass over every order cost
  // orders x queued runs (10,000 x 400,000 on a first start).
  for (const auto& [day, id] : by_order_[o->second])
    if (pending(entries_[size_t(id)])) out.push_back(id);
  for (int64_t id : redeliveries_[o->second])
    if (pending(entries_[size_t(id)])) out.push_back(id);
  return out;
}

std::vector<std::string> RunBook::orders_with_runs() const { return {orders_.begin(), orders_.end()}; }

std::optional<Instant> RunBook::next_change() const {
  std::optional<Instant> next;
  if (!expecting_.empty()) next = expecting_.begin()->first;
  if (!retrying_.empty() && (!next || retrying_.begin()->first < *next)) next = retrying_.begin()->first;
  return next;
}

}  // namespace flis
