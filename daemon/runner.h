// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The Runner: keeps the state store (what happened to each run) in line with the plan (what the
// configuration, the calendar and the warehouse call for), and records each attempt's outcome. The
// daemon's event loop and `flisd --once` drive it; it owns no threads.
//
// It keeps a RunBook, every run in memory, so that each event costs what it changes:
//   replan()         start, inotify overflow, clock jump: every period of every order (the history);
//                    after a reload only the orders the new configuration changed (daemon/replan.h)
//   advance()        the wake-up timer: each order's newly ended periods, runs turning late, retries
//   files_changed()  warehouse events: only the periods that need the partitions that changed
//   execute()        one attempt; the book learns the outcome, nothing is re-planned
// Delivering itself is daemon/delivery.h; the rules of the run states are daemon/run_state.h.
//
// Thread-safety: refresh(), replan(), advance(), files_changed(), recover(), the control operations and
// set_config() are called from one thread (the event loop's); execute() may run on several worker
// threads at once (for different runs). The book is guarded by a mutex.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/model.h"
#include "config/period.h"
#include "daemon/run_book.h"
#include "daemon/state_store.h"

namespace flis {

class PlanPass;

// What one attempt came to.
struct Outcome {
  RunStatus status = RunStatus::running;  // as recorded: delivered, failed, queued, cancelled;
                                          // running when the store could not record it
  Status error;                           // the attempt's error (OK when delivered)
  bool recorded = true;                   // false: the state database refused the outcome
  int64_t bytes = 0;                      // delivered: the package's size (metrics)
  double seconds = 0;                     // how long the attempt took (metrics)
  // This node lost (or gave up) its lease during the attempt: nothing more was written, the run
  // is another node's (or this one's, after it attaches again) to take over.
  bool abandoned = false;
  bool ok() const { return error.ok() && recorded && !abandoned; }
  const std::string& message() const { return error.message(); }
};

// Counts for the STATUS line and metrics.
struct RunCounts {
  std::array<int64_t, 6> by_status{};  // indexed by RunStatus
  int64_t late = 0;
  int64_t retrying = 0;  // failed with a retry ahead
};

// A change in the warehouse seen by inotify: `name` appeared or changed in the watched `folder`.
struct FileEvent {
  std::filesystem::path folder;
  std::string name;
};

class Runner {
 public:
  // `clock` is the schedule's clock (injected by tests and --now); `wall` times what really
  // happens (an attempt's start and end, a manifest's creation).
  Runner(StateStore& store, Clock clock, Clock wall = system_now);
  ~Runner();

  // The configuration to plan from; replaced on reload (runs in flight keep theirs).
  void set_config(std::shared_ptr<const Config> config);
  std::shared_ptr<const Config> config() const;

  // Crash recovery at start: every run left `running` is checked against its target: the final
  // file present with the right size and checksum means delivered; otherwise the temporary file is
  // removed and the run queued again. Exactly once.
  Status recover(const std::atomic<bool>* cancel = nullptr);

  // Several hosts: running runs of nodes whose lease ended, taken over and checked as recover()
  // checks (the final file on the target means delivered; else every temporary file of the
  // package is removed and the run queued again). Returns how many were taken over.
  Result<int> rescue(const std::atomic<bool>* cancel = nullptr);
  // Several hosts: what other nodes changed in the store since the last look, into the run book.
  Status follow_changes();
  // This node cannot renew its lease (the database is out of reach): an attempt interrupted now
  // is abandoned, not put back as a shutdown would. Thread-safe.
  void set_fenced(bool fenced) { fenced_ = fenced; }

  // The whole plan against the store: records `waiting` runs (with the partitions missing), queues
  // due periods and failed runs whose retry time has come, cancels pending runs of cancelled,
  // deactivated or removed orders, marks late runs. All of it one transaction. Returns the queued
  // runs in priority order: subscriptions (oldest period first) before backfill chunks.
  Result<std::vector<Run>> refresh();
  // The same pass without reading the queued runs back. After set_config() with a new
  // configuration (a reload), only the orders it added, removed or changed are planned again
  // (daemon/replan.h), unless it changed what every order's plan reads.
  Status replan();
  // The wake-up timer came: each order's periods that ended since the last pass, runs whose
  // expected time has passed, retries whose time has come.
  Status advance();
  // Warehouse events: re-plans the periods that need the partitions that changed.
  Status files_changed(const std::vector<FileEvent>& events);
  // The safety net behind inotify: looks through the warehouse folders of the active orders for
  // partitions processed since the last look, and hands them to files_changed(). Costs one
  // directory listing per interface and a stat per partition, not a look at the run history.
  Status rescan();
  // Called now and then during a long pass (a first start with years of history), so the loop can
  // keep the systemd watchdog fed.
  void set_heartbeat(std::function<void()> heartbeat);

  // One attempt of one queued run: running -> delivered, or failed with the next attempt set by the
  // retry policy (left failed after the last attempt). Every transition is committed before it is
  // acted on, and logged.
  Outcome execute(const Run& run, const std::atomic<bool>* cancel = nullptr);

  // The queued runs in priority order, as far as `fn` wants them (it returns false to stop).
  // `fn` must not call back into the Runner.
  void for_each_queued(const std::function<bool(const RunBook::Entry&, const std::string& order)>& fn) const;
  // The queued runs to start now, as the daemon and `flisd --once` both start them: in priority
  // order, until runs_in_flight() are in flight, at most `backfill_workers` backfill chunks at once,
  // and only each order's first queued run, none of an order `held` names (a run of it in flight,
  // or one failed): a subscription's periods go in order. `in_flight` and `backfills_in_flight` are
  // the caller's runs already started.
  std::vector<int64_t> runs_to_start(int in_flight, int backfills_in_flight,
                                     const std::function<bool(const std::string& order)>& held) const;

  // When advance() should next be called: the earliest period end, calendar expected time or retry
  // time after now.
  std::optional<Instant> next_wakeup();

  // The warehouse folders to watch for new data (interface folders of active orders, partition
  // folders that exist without their marker), and a number that changes when they do.
  std::vector<std::filesystem::path> watch_paths();
  uint64_t watch_version() const;

  // Control operations (flisctl trigger / retry / redeliver through the control socket).
  // trigger: re-check the order now (and, with a period, queue that period if its data is
  // processed; an error names the missing partitions).
  Result<std::vector<Run>> trigger(const std::string& order, const std::optional<Period>& period);
  // retry: a failed run is queued again now with a fresh retry budget.
  Result<Run> retry(int64_t run_id);
  // redeliver: a new run (.r2, .r3 ...) of an already delivered period.
  Result<Run> redeliver(const std::string& order, const Period& period);

  RunCounts counts() const;
  // For the STATUS= line: "42 orders; 1 running (K101-CPR-D 2026-11-25); 3 waiting, 1 late; next
  // 2026-12-04 06:00".
  std::string status_line();

 private:
  struct Summary;
  Status load_book();
  Status run_pass(const Config& cfg, Instant now, const std::function<Status(PlanPass&, Summary&)>& body);
  Status reconcile(const Config& cfg, PlanPass& pass, const Order& order, date::local_days from, date::local_days to,
                   Summary& summary);
  Status cancel_pending(const std::string& order, const std::string& why, Instant now,
                        const std::function<bool(const RunBook::Entry&)>& only = {});
  Status queue_retries(Instant now);
  Status mark_late(const Config& cfg, Instant now, Summary& summary);
  void plan_horizon(const Config& cfg, PlanPass& pass);
  Status recover_one(const Config& cfg, const Run& run, const std::atomic<bool>* cancel);
  Status record_failure(const Config& cfg, const Run& run, const Status& error, const std::atomic<bool>* cancel,
                        Outcome& outcome);
  Status check_period(const Config& cfg, const Order& order, const Period& period);
  Result<Run> reread(int64_t id, std::optional<Instant> expected = std::nullopt);
  void rebuild_watches(const Config& cfg, std::vector<FileEvent>* newly_processed = nullptr);
  // Watches the partition's folder while it waits for its marker; true once it is processed.
  bool watch_partition(const std::filesystem::path& warehouse, const Partition& part);
  Result<std::vector<Run>> queued_runs();
  bool changed_elsewhere(int64_t id, RunStatus was);
  Outcome abandon(const Run& run, const Status& why, Outcome outcome);

  StateStore& store_;
  Clock clock_;
  Clock wall_;
  mutable std::mutex config_mu_;
  std::shared_ptr<const Config> config_;
  std::shared_ptr<const Config> planned_;  // the configuration the last replan() planned from

  mutable std::mutex book_mu_;  // the book, the horizon and the watches
  RunBook book_;
  bool loaded_ = false;
  std::unordered_map<std::string, date::local_days> horizon_;  // order -> last day planned
  std::optional<Instant> next_period_end_;
  std::set<std::filesystem::path> watches_;
  std::set<std::string> processed_;  // "SOURCE/INTERFACE/partition" seen processed
  std::set<int64_t> mine_;  // runs this process is running now (the book also has other nodes')
  int64_t last_version_ = 0;  // the store's change counter as far as the book has followed it
  std::atomic<bool> fenced_{false};
  std::function<void()> heartbeat_;
  uint64_t watch_version_ = 0;
};

}  // namespace flis
