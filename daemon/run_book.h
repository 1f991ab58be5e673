// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run book: every run of the state database, in memory and compact, with the indexes a loop
// turn needs, so that no turn reads the whole runs table or re-plans the whole history:
//   - the queue, in priority order (subscriptions and datamarts oldest period first, then backfill
//     chunks oldest first);
//   - waiting runs not yet late, by expected time (the next one to turn late is the first);
//   - failed runs with a retry ahead, by retry time;
//   - first deliveries by (order, period), and counts per status for the STATUS line and metrics.
// The store stays the truth: the book is loaded from it once, then told of every transition the
// Runner commits (put()). The rules it follows are daemon/run_state.h's.
//
// Thread-safety: none. The Runner guards its book with a mutex.
#pragma once

#include <array>
#include <chrono>
#include <climits>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "config/model.h"
#include "config/period.h"
#include "daemon/run_state.h"
#include "daemon/state_store.h"

namespace flis {

// --- the book ---------------------------------------------------------------------------------------

class RunBook {
 public:
  // One run, as the scheduler needs it (the store has the rest: times, error, remote path).
  // 48 bytes: a book of 400,000 runs is about 20 MiB.
  struct Entry {
    int64_t id = 0;
    Period period;
    uint32_t order = 0;  // index into order_name()
    uint16_t redelivery = 1;
    uint16_t missing = 0;  // waiting: how many partitions it still needs
    RunKind kind = RunKind::subscription;
    RunStatus status = RunStatus::waiting;
    bool late = false;  // waiting past its expected time (logged once)
    std::optional<Instant> expected() const { return at(expected_); }        // the calendar's time
    std::optional<Instant> next_attempt() const { return at(next_attempt_); }  // failed: the retry

   private:
    friend class RunBook;
    static constexpr int64_t kNone = INT64_MIN;
    static std::optional<Instant> at(int64_t s) {
      return s == kNone ? std::nullopt : std::optional<Instant>(Instant(std::chrono::seconds(s)));
    }
    static int64_t of(std::optional<Instant> t) { return t ? t->time_since_epoch().count() : kNone; }
    int64_t expected_ = kNone;
    int64_t next_attempt_ = kNone;
  };

  // Forgets everything, then takes every run of the store.
  void clear();
  // Records a run as it now is in the store (new or changed). `expected` is kept from before when
  // not given.
  void put(const Run& run, std::optional<Instant> expected = std::nullopt);
  void put_expected(int64_t id, std::optional<Instant> expected);
  void put_missing(int64_t id, size_t missing);
  // Marks a waiting run late; false when it was already (or is not waiting).
  bool mark_late(int64_t id);

  const Entry* find(int64_t id) const;
  // The first delivery of (order, period), if the book has it.
  const Entry* find(std::string_view order, const Period& period) const;
  const std::string& order_name(const Entry& e) const { return orders_[e.order]; }
  bool delivered(std::string_view order, const Period& period) const;

  // Queued runs in priority order; `fn` returns false to stop.
  template <typename Fn>
  void for_each_queued(Fn fn) const {
    for (const auto& k : queue_)
      if (!fn(entries_[std::get<4>(k)])) return;
  }
  // Waiting runs not yet late whose expected time is at or before `now`, oldest first.
  std::vector<int64_t> turning_late(Instant now) const;
  // Failed runs whose retry time is at or before `now`.
  std::vector<int64_t> retries_due(Instant now) const;
  // Every run of `order` in a status that may still be delivered (waiting, queued, failed with a
  // retry ahead): what a cancelled order's runs are.
  std::vector<int64_t> pending_of(std::string_view order) const;
  // Every order the book has runs of.
  std::vector<std::string> orders_with_runs() const;

  // The earliest of: the next expected time of a waiting run, the next retry.
  std::optional<Instant> next_change() const;

  int64_t count(RunStatus s) const { return counts_[size_t(s)]; }
  // The running runs (a handful: at most the workers).
  const std::set<int64_t>& running() const { return running_; }
  int64_t late_count() const { return late_; }
  int64_t retry_count() const { return int64_t(retrying_.size()); }
  size_t size() const { return size_; }

 private:
  using QueueKey = std::tuple<bool, int32_t, std::string_view, int, int64_t>;
  QueueKey queue_key(const Entry& e) const;
  uint32_t intern(const std::string& order);
  void unindex(const Entry& e);
  void index(const Entry& e);

  std::vector<Entry> entries_;  // by run id (the store's ids are dense); id 0 = no run
  size_t size_ = 0;
  std::deque<std::string> orders_;  // a deque: the queue keys hold views of these
  std::unordered_map<std::string, uint32_t> order_ids_;
  // First deliveries of each order, sorted by the period's first day: (first day, run id).
  std::vector<std::vector<std::pair<int32_t, int64_t>>> by_order_;
  const std::pair<int32_t, int64_t>* find_first(uint32_t order, int32_t day) const;
  std::vector<std::vector<int64_t>> redeliveries_;  // of each order, by hand and rare: run ids
  std::set<QueueKey> queue_;
  std::multimap<Instant, int64_t> expecting_;  // waiting, not late, expected time known
  std::multimap<Instant, int64_t> retrying_;   // failed with a retry ahead
  std::set<int64_t> running_;
  std::array<int64_t, 6> counts_{};
  int64_t late_ = 0;
};

}  // namespace flis
