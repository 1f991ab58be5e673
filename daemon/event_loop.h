// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The event loop of flisd as a service.
//
// One thread waits with epoll on everything that can make work:
//   - the next wake-up (a timerfd at Runner::next_wakeup(): a period's end, a calendar time, a
//     retry time; CLOCK_REALTIME with TFD_TIMER_CANCEL_ON_SET, so a clock jump wakes it too),
//   - warehouse changes (inotify on Runner::watch_paths(), so a `_PROCESSED` marker that appears
//     starts its run at once) and a slow rescan as a safety net,
//   - the control socket (flisctl trigger / retry / redeliver / reload),
//   - signals (signalfd: SIGHUP reload, SIGTERM/SIGINT stop) and the systemd watchdog,
//   - runs finishing on the worker pool (an eventfd).
// It never busy-polls: with nothing due it sleeps until the next calendar time.
//
// Runs go to a pool of twice `workers` threads (runs_in_flight(): `workers` packing, as many
// finishing their uploads; daemon/delivery.h). Subscriptions come first; one-off chunks ("backfill")
// take at most `backfill_workers` threads, and only when no due subscription is waiting for one;
// an order never has two runs at once, so its periods go out in order.
//
// Stopping: no new runs; runs in flight get `shutdown_grace` to finish, then the cancel flag makes
// them abort cleanly; whatever did not finish is queued again at the next start (Runner::recover).
//
// Thread-safety: run() on one thread; request_*(), clock_changed() and sync() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/model.h"
#include "daemon/control_protocol.h"
#include "daemon/runner.h"
#include "daemon/state_store.h"

namespace flis {

class ControlServer;
class Metrics;
struct Outcome;
class Runner;
class WorkerPool;

struct LoopOptions {
  std::filesystem::path config_dir = "/etc/flisd";
  Clock clock = system_now;
  std::chrono::seconds rescan_interval{300};  // the safety net behind inotify
  std::chrono::seconds shutdown_grace{60};    // below the unit's TimeoutStopSec=90
  // Where to listen for flisctl; nullopt for none.
  std::optional<std::filesystem::path> control_socket;
  // This process's node name in the state database (daemon/state_store.h attach_node); empty: not
  // attached (tests, one host without a name). Attached, it renews its lease every lease/3 and
  // gives up its runs before the lease can end when it cannot; with a shared (PostgreSQL) state it
  // also takes over the runs of nodes whose lease ended every rescue_interval and follows the
  // other nodes' changes every follow_interval.
  std::string node;
  std::chrono::seconds lease{30};
  std::chrono::seconds rescue_interval{10};
  std::chrono::milliseconds follow_interval{2000};
  // Take SIGTERM, SIGINT and SIGHUP through a signalfd. The caller must have blocked them in every
  // thread (before create(), which starts the workers).
  bool signals = false;
};

// This host's name (gethostname), the default node name.
std::string host_name();

class EventLoop {
 public:
  // Loads the configuration, opens the state database and the control socket. Errors name what
  // is wrong (every configuration error is logged); flisd then exits 1.
  static Result<std::unique_ptr<EventLoop>> create(LoopOptions options);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Crash recovery, READY=1, then the loop until stopped. Returns the exit code (0 clean stop).
  int run();

  // As SIGTERM / SIGHUP, for callers without signals (tests).
  void request_stop();
  void request_reload();
  // The injected clock moved: look again whether a wake-up has come (tests; the real clock's
  // jumps are seen by the timerfd itself).
  void clock_changed();
  // Waits until the loop has handled everything asked of it before this call, including the
  // refresh that followed. False if the loop did not answer within `timeout`.
  bool sync(std::chrono::seconds timeout = std::chrono::seconds(30));

  // What the loop has done so far, for tests and the log.
  struct Stats {
    uint64_t refreshes = 0;    // Runner::refresh() calls
    uint64_t timer_wakeups = 0;  // the wake-up came (timer or clock change)
    uint64_t file_events = 0;  // inotify batches that woke the loop
    uint64_t rescans = 0;      // safety-net rescans
    uint64_t reloads = 0;
    uint64_t runs_started = 0;
    uint64_t runs_finished = 0;
  };
  Stats stats() const;
  std::shared_ptr<const Config> config() const;
  // The metrics served on metrics.listen; null without (tests read text()).
  const Metrics* metrics() const { return metrics_.get(); }

 private:
  EventLoop(LoopOptions options, std::shared_ptr<const Config> config, std::unique_ptr<StateStore> store);
  Status open_fds();
  void post();
  void handle_requests();
  void handle_signals();
  void handle_wakeup_timer();
  void handle_inotify();
  // The node's lease (several hosts): renewal, self-fencing, attaching again after a loss.
  Status attach();
  void renew(bool timer);
  void fence(const std::string& why);
  void resume_node();
  void rescue();
  void refresh_and_dispatch();
  void catch_up();  // the work owed: a whole pass, the timer's pass, warehouse events; then dispatch
  void dispatch();
  void start(const Run& run);
  void finished(int64_t run_id);
  void arm_wakeup();
  void update_watches();
  void begin_stop();
  ControlReply handle_control(const ControlRequest& request);
  ControlReply reload();
  void update_status();
  // Metrics hooks (daemon/metrics.h): values pushed in, never read back by a scrape.
  void start_metrics(const Config& config, bool config_ok);
  void update_metrics();
  void observe(const Run& run, const Outcome& outcome);

  LoopOptions options_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Runner> runner_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<Metrics> metrics_;  // set in create(), before the workers get a run
  std::atomic<bool> cancel_{false};

  int epoll_ = -1, event_ = -1, signal_ = -1, wake_timer_ = -1, rescan_timer_ = -1,
      watchdog_timer_ = -1, inotify_ = -1, lease_timer_ = -1, rescue_timer_ = -1, follow_timer_ = -1;

  // The node (loop thread only). fenced_: no new runs, uploads cancelled, until the lease is
  // renewed or the node attached again.
  bool shared_ = false;    // the state is shared with other nodes (PostgreSQL)
  bool attached_ = false;
  bool fenced_ = false;
  std::chrono::steady_clock::time_point last_renewed_;  // when the last successful renewal was asked
  bool renew_failing_logged_ = false;
  std::atomic<bool> check_lease_{false};  // a worker's write was refused: look at the lease now
  // A worker could not record an outcome (the database went away mid-write): the run is still
  // `running` under this incarnation. The node attaches again, so that the rescue checks the run on
  // its target like any orphan.
  std::atomic<bool> unrecorded_{false};
  bool reattach_ = false;

  // Loop thread only.
  std::map<int64_t, Run> inflight_;        // run id -> run, on a worker now
  std::set<std::string> busy_orders_;      // orders with a run in flight
  int backfills_inflight_ = 0;
  std::map<int, std::filesystem::path> watches_;  // inotify wd -> folder
  bool watch_limit_logged_ = false;
  bool watches_started_ = false;
  std::optional<Instant> armed_wakeup_;  // what the wake-up timer is set for
  bool need_refresh_ = false;   // a whole pass is owed (rescan, clock change)
  bool need_advance_ = false;   // the wake-up came: newly ended periods, late runs, retries
  bool need_dispatch_ = false;  // a worker is free or the queue changed
  std::vector<FileEvent> file_events_;  // warehouse changes not yet looked at
  uint64_t watched_version_ = 0;        // Runner::watch_version() the watches were set from
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;

  // Posted from other threads.
  mutable std::mutex mu_;
  std::condition_variable sync_cv_;
  bool stop_requested_ = false, reload_requested_ = false, clock_moved_ = false;
  std::vector<int64_t> finished_runs_;
  uint64_t sync_asked_ = 0, sync_done_ = 0, sync_seen_ = 0;
  bool sync_pending_ = false;
  Stats stats_;  // under mu_
};

}  // namespace flis
