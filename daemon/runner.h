// The Runner: the bridge between the planner (when a package is due), the state store (what
// happened to each run) and jobs/ (what one run does). The daemon's event loop and `flisd --once`
// drive it; it owns no threads.
//
// Thread-safety: refresh(), recover(), the control operations and set_config() are called from the
// event loop thread only; execute() may run on several worker threads at once (for different runs).
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config/clock.h"
#include "config/model.h"
#include "config/period.h"
#include "config/status.h"
#include "daemon/planner.h"
#include "daemon/state_store.h"

namespace flis {

class Runner {
 public:
  Runner(StateStore& store, Clock clock);

  // The configuration to plan from; replaced on reload (runs in flight keep theirs).
  void set_config(std::shared_ptr<const Config> config);
  std::shared_ptr<const Config> config() const;

  // Crash recovery at start: every run left `running` is checked against its target: the final
  // file present with the right size and checksum means delivered; otherwise the temporary file is
  // removed and the run queued again. Exactly once.
  Status recover(const std::atomic<bool>* cancel = nullptr);

  // Brings the store in line with the plan as of now: records `waiting` runs (with the partitions
  // missing), queues due periods and failed runs whose retry time has come, cancels queued and
  // waiting runs of cancelled, deactivated or removed orders, logs a late period once. Returns the
  // queued runs in priority order: subscriptions (oldest period first) before backfill chunks.
  Result<std::vector<Run>> refresh();

  // One attempt of one queued run: running -> delivered, or failed with the next attempt set by the
  // retry policy (left failed after the last attempt). Every transition is committed before it is
  // acted on, and logged. Returns the run's error, if any.
  Status execute(const Run& run, const std::atomic<bool>* cancel = nullptr);

  // When refresh() should next be called without a file event: the earliest period end, calendar
  // expected time or retry time after now.
  std::optional<Instant> next_wakeup();

  // The warehouse folders whose change may make a waiting run due (partition folders and their
  // parents that exist), for inotify.
  std::vector<std::filesystem::path> watch_paths();

  // Control operations (flisctl trigger / retry / redeliver through the control socket).
  // trigger: re-check the order now (and, with a period, queue that period if its data is
  // processed; an error names the missing partitions).
  Result<std::vector<Run>> trigger(const std::string& order, const std::optional<std::string>& period);
  // retry: a failed run is queued again now with a fresh retry budget.
  Result<Run> retry(int64_t run_id);
  // redeliver: a new run (.r2, .r3 ...) of an already delivered period.
  Result<Run> redeliver(const std::string& order, const std::string& period);

  // For the STATUS= line: "42 orders; 1 running (K101-CPR-D 2026-11-25); 3 waiting, 1 late; next
  // 2026-12-04 06:00".
  std::string status_line();

  // Hook for the metrics: called on the worker thread once an attempt's outcome is recorded,
  // delivered or failed (not when a shutdown interrupts it). Set before any execute().
  using AttemptHook = std::function<void(const Run& run, bool delivered, int64_t bytes, double seconds)>;
  void set_attempt_hook(AttemptHook hook) { attempt_hook_ = std::move(hook); }

 private:
  Status recover_one(const Config& cfg, const Run& run, const std::atomic<bool>* cancel);
  Status cancel_inactive(const Config& cfg, std::vector<Run>& runs, Instant now);
  Status requeue_retries(const Config& cfg, std::vector<Run>& runs, Instant now);
  std::vector<PlannedRun> plan_all(const Config& cfg, const std::vector<Run>& runs, Instant now);
  Status apply_plan(const Config& cfg, const std::vector<Run>& runs, const std::vector<PlannedRun>& planned,
                    Instant now);
  Run proto_of(const Config& cfg, const Order& order, const Period& period, RunStatus status, Instant now);
  Status queue_due(const Config& cfg, const Order& order, const PlannedRun& p, const Run* existing, Instant now);
  Status record_waiting(const Config& cfg, const Order& order, const PlannedRun& p, const Run* existing, Instant now);
  Status record_delivered(const Run& run, int64_t bytes, const std::string& remote, const std::string& checksum,
                          bool found, double seconds);
  Status record_failure(const Config& cfg, const Run& run, const Status& error, const std::atomic<bool>* cancel);
  Result<Period> check_period(const Config& cfg, const Order& order, const std::string& name);

  StateStore& store_;
  Clock clock_;
  mutable std::mutex config_mu_;
  std::shared_ptr<const Config> config_;
  std::set<std::pair<std::string, std::string>> late_logged_;  // (order, period) logged late
  AttemptHook attempt_hook_;
};

}  // namespace flis
