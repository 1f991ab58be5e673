// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd --once: deliver everything due now, then exit (for tests, demos and cron).
//
// The same Runner as the daemon, driven by a plain loop instead of the event loop: recover what a
// crash left running, then refresh and execute until nothing more is due. Up to `workers` runs
// pack at once and as many more finish their uploads, as in the daemon, in the Runner's priority
// order and never two of one order at once; once a run of an order fails, that order's later
// periods wait for the next invocation, so a subscription's periods are still delivered in order.
//
// It attaches as a node like the daemon (--node, default the host name) and holds a lease while it
// works, so a daemon beside it (or on another host, on a shared PostgreSQL state) never takes its
// runs over as orphans, and it never "recovers" a live daemon's runs: the same name as a live flisd
// is refused.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/loader.h"
#include "config/period.h"
#include "daemon/delivery.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "daemon/options.h"
#include "daemon/progress.h"
#include "daemon/runner.h"
#include "daemon/state_store.h"
#include "daemon/worker_pool.h"

namespace flis {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

// Prints every diagnostic; true when there is an error among them.
bool report(const Diagnostics& diags) {
  for (const auto& d : diags.sorted()) std::fprintf(stderr, "%s\n", d.str().c_str());
  return diags.has_errors();
}

struct Tally {
  int delivered = 0, failed = 0, cancelled = 0;
};

// Runs the workers have finished, for the loop to count. The loop alone reads the book, chooses
// and counts; the workers only execute.
struct Finished {
  int64_t id;
  std::string order;
  RunKind kind;
  Outcome outcome;
};
struct FinishedQueue {
  std::mutex mu;
  std::condition_variable changed;
  std::deque<Finished> runs;
};

// Everything due now, chosen as the daemon chooses (Runner::runs_to_start): never two runs of one
// order at once, and once a run of an order fails, its later periods wait for the next
// invocation. The loop alone chooses, counts and draws the progress line; the workers only execute.
void run_queued(Runner& runner, StateStore& store, Tally& tally, Progress& progress) {
  auto planned = runner.refresh();
  if (!planned) {
    std::fprintf(stderr, "flisd: %s\n", planned.message().c_str());
    ++tally.failed;
    return;
  }
  progress.queued(static_cast<int>(planned->size()));
  FinishedQueue finished;
  std::set<std::string> busy;     // orders with a run in flight: their next period waits for it
  std::set<std::string> blocked;  // orders with a failed run: their later periods wait
  int inflight = 0, backfills = 0;
  // Declared after everything the jobs use: its destructor waits for them.
  WorkerPool pool;
  pool.grow(runs_in_flight(*runner.config()));  // `workers` packing, as many finishing uploads

  // An order leaves `busy` only here, together with its outcome, so its next period is never
  // chosen between a failure and the loop's learning of it.
  auto settle = [&](Finished& f) {
    --inflight;
    busy.erase(f.order);
    if (f.kind == RunKind::backfill) --backfills;
    progress.finished(store, f.id, f.outcome.status);
    switch (f.outcome.status) {
      case RunStatus::delivered: ++tally.delivered; break;
      case RunStatus::cancelled: ++tally.cancelled; break;
      default:
        ++tally.failed;
        blocked.insert(f.order);  // its later periods must not overtake it
    }
    // Only a run the store could not record (e.g. a full disk) stops the rest: the state database
    // is the problem. An ordinary failed attempt was recorded and logged; the next run goes on.
    if (!f.outcome.recorded) {
      std::fprintf(stderr, "flisd: %s; stopping\n", f.outcome.message().c_str());
      g_stop.store(true);
    }
  };

  for (;;) {
    std::vector<int64_t> chosen;
    if (!g_stop.load())
      chosen = runner.runs_to_start(inflight, backfills, [&](const std::string& order) {
        return busy.count(order) > 0 || blocked.count(order) > 0;
      });
    for (int64_t id : chosen) {
      auto run = store.get(id);
      if (!run || !run->has_value()) {
        std::fprintf(stderr, "flisd: run %lld cannot be read back: %s; stopping\n", static_cast<long long>(id),
                     run ? "it is gone" : run.message().c_str());
        g_stop.store(true);
        break;
      }
      Run r = std::move(**run);
      busy.insert(r.order);
      if (r.kind == RunKind::backfill) ++backfills;
      ++inflight;
      progress.started(r.order + " " + r.period.name());
      pool.submit([&runner, &finished, r = std::move(r)] {
        Outcome outcome = runner.execute(r, &g_stop);
        std::lock_guard lock(finished.mu);
        finished.runs.push_back({r.id, r.order, r.kind, std::move(outcome)});
        finished.changed.notify_one();
      });
    }
    if (inflight == 0) return;  // nothing in flight and nothing more could start: done
    std::deque<Finished> done;
    {
      std::unique_lock lock(finished.mu);
      finished.changed.wait(lock, [&] { return !finished.runs.empty(); });
      done.swap(finished.runs);
    }
    for (auto& f : done) settle(f);
  }
}

// Renews the node's lease every third of it from a thread of its own (the loop above blocks on
// its workers). When the lease is lost, or cannot be renewed for two thirds of it, --once stops:
// no new runs, uploads cancelled (g_stop is their cancel flag) before another node may take them
// over, and the runner writes nothing more about them.
class LeaseKeeper {
 public:
  LeaseKeeper(StateStore& store, Runner& runner, std::chrono::seconds lease)
      : store_(store), runner_(runner), lease_(lease), thread_([this] { run(); }) {}
  ~LeaseKeeper() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  // Why the lease was given up; empty while it holds.
  std::string lost() {
    std::lock_guard lock(mu_);
    return lost_;
  }

 private:
  void run() {
    auto renewed = std::chrono::steady_clock::now();
    std::unique_lock lock(mu_);
    bool warned = false;
    while (!changed_.wait_for(lock, lease_ / 3, [this] { return stop_; })) {
      lock.unlock();
      const auto asked = std::chrono::steady_clock::now();
      Status st = store_.renew_lease();
      lock.lock();
      if (st) {
        renewed = asked;
        continue;
      }
      if (!is_lease_lost(st) && asked - renewed <= lease_ * 2 / 3) {
        if (!warned) std::fprintf(stderr, "flisd: cannot renew the node's lease (trying again): %s\n", st.message().c_str());
        warned = true;
        continue;
      }
      lost_ = st.message();
      runner_.set_fenced(true);
      g_stop.store(true);
      return;
    }
  }

  StateStore& store_;
  Runner& runner_;
  const std::chrono::seconds lease_;
  std::mutex mu_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::string lost_;
  std::thread thread_;  // last: started once the members above exist
};

std::string summary(const Runner& runner, const Tally& tally) {
  RunCounts c = runner.counts();
  int64_t waiting = c.by_status[size_t(RunStatus::waiting)], queued = c.by_status[size_t(RunStatus::queued)],
          retrying = c.retrying;
  std::string s = "flisd --once: " + std::to_string(tally.delivered) + " delivered, " +
                  std::to_string(tally.failed) + " failed";
  if (tally.cancelled) s += ", " + std::to_string(tally.cancelled) + " cancelled";
  s += "; " + std::to_string(waiting) + " waiting for data";
  if (retrying) s += ", " + std::to_string(retrying) + " to be retried";
  if (queued) s += ", " + std::to_string(queued) + " still queued";
  return s + " (flisctl runs shows them all)";
}

}  // namespace

int flisd_once(const DaemonOptions& options) {
  LoadResult loaded = load_config(options.config_dir);
  if (report(loaded.diagnostics) || !loaded.config) {
    std::fprintf(stderr, "flisd: the configuration in %s has errors; nothing was delivered\n",
                 options.config_dir.c_str());
    return 1;
  }
  const Config& config = *loaded.config;

  // The loader has checked the zone exists.
  const date::time_zone* tz = zone_of(config.settings);
  Clock clock = system_now;
  if (options.now) {
    auto t = parse_instant(*options.now, tz);
    if (!t) {
      std::fprintf(stderr, "flisd: --now '%s' is not a time; write e.g. 2026-12-04T06:00:00+01:00 or '2026-12-04 06:00'\n",
                   options.now->c_str());
      return 2;
    }
    clock = [fixed = *t] { return fixed; };
  }

  std::error_code ec;
  if (!is_database_uri(config.settings.state)) std::filesystem::create_directories(config.settings.state.parent_path(), ec);
  if (ec) {
    std::fprintf(stderr, "flisd: cannot create the state folder %s: %s\n",
                 config.settings.state.parent_path().c_str(), ec.message().c_str());
    return 1;
  }
  auto store = StateStore::open(config.settings.state);
  if (!store) {
    std::fprintf(stderr, "flisd: %s\n", store.message().c_str());
    return 1;
  }

  const std::string node = options.node.empty() ? host_name() : options.node;
  const auto lease_length = std::chrono::seconds(options.lease_seconds);
  if (auto lease = (*store)->attach_node(node, lease_length, host_name(), int(getpid())); !lease) {
    std::fprintf(stderr, "flisd --once: %s\n", lease.message().c_str());
    return 1;
  }

  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  Runner runner(**store, clock);
  runner.set_config(loaded.config);
  Tally tally;
  std::string lost;
  {
    LeaseKeeper keeper(**store, runner, lease_length);
    // With a lease, recovery takes over only the runs no live node holds (this node's earlier,
    // dead incarnations and nodes whose lease ended), checking each on its target.
    if (Status s = runner.recover(&g_stop); !s) {
      std::fprintf(stderr, "flisd: recovering runs left running: %s\n", s.message().c_str());
      (void)(*store)->release_lease();
      return 1;
    }
    Progress progress(Progress::wanted());
    run_queued(runner, **store, tally, progress);
    progress.done();
    lost = keeper.lost();
  }
  std::fprintf(stderr, "%s\n", summary(runner, tally).c_str());
  if (!lost.empty()) {
    std::fprintf(stderr, "flisd --once: node %s gave up its lease (%s); its unfinished runs are taken over by "
                 "another node or the next start\n", node.c_str(), lost.c_str());
    return 1;
  }
  // Runs still running (a stop, a state that could not be written) become orphans at once, for
  // the next start or another node to check on their target.
  if (Status s = (*store)->release_lease(); !s)
    std::fprintf(stderr, "flisd: releasing the node's lease: %s\n", s.message().c_str());
  if (g_stop.load()) return 1;
  return tally.failed == 0 ? 0 : 1;
}

}  // namespace flis
