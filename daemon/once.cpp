// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd --once: deliver everything due now, then exit (for tests, demos and cron).
//
// The same Runner as the daemon, driven by a plain loop instead of the event loop: recover what a
// crash left running, then refresh and execute until nothing more is due. Runs go one at a time,
// in the Runner's priority order; once a run of an order fails, that order's later periods wait
// for the next invocation, so a subscription's periods are still delivered in order.
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>

#include "config/loader.h"
#include "config/period.h"
#include "daemon/log.h"
#include "daemon/options.h"
#include "daemon/progress.h"
#include "daemon/runner.h"
#include "daemon/state_store.h"

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

// Everything due now, in the Runner's priority order. Only the first queued run of each order may
// go, so once a run of an order fails, its later periods wait for the next invocation.
void run_queued(Runner& runner, StateStore& store, Tally& tally, Progress& progress) {
  auto planned = runner.refresh();
  if (!planned) {
    std::fprintf(stderr, "flisd: %s\n", planned.message().c_str());
    ++tally.failed;
    return;
  }
  progress.queued(static_cast<int>(planned->size()));
  std::set<std::string> blocked;
  while (!g_stop.load()) {
    std::optional<int64_t> next;
    std::set<std::string> seen;
    runner.for_each_queued([&](const RunBook::Entry& e, const std::string& order) {
      if (!seen.insert(order).second || blocked.count(order)) return true;
      next = e.id;
      return false;
    });
    if (!next) return;
    auto run = store.get(*next);
    if (!run || !run->has_value()) {
      std::fprintf(stderr, "flisd: run %lld cannot be read back: %s; stopping\n", static_cast<long long>(*next),
                   run ? "it is gone" : run.message().c_str());
      g_stop.store(true);
      return;
    }
    progress.started((*run)->order + " " + (*run)->period);
    Outcome outcome = runner.execute(**run, &g_stop);
    progress.finished(store, *next, outcome.status);
    switch (outcome.status) {
      case RunStatus::delivered: ++tally.delivered; break;
      case RunStatus::cancelled: ++tally.cancelled; break;
      default:
        ++tally.failed;
        blocked.insert((*run)->order);  // its later periods must not overtake it
    }
    // Only a run the store could not record (e.g. a full disk) stops the rest: the state database
    // is the problem. An ordinary failed attempt was recorded and logged; the next run goes on.
    if (!outcome.recorded) {
      std::fprintf(stderr, "flisd: %s; stopping\n", outcome.message().c_str());
      g_stop.store(true);
      return;
    }
  }
}

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

  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  Runner runner(**store, clock);
  runner.set_config(loaded.config);
  if (Status s = runner.recover(&g_stop); !s) {
    std::fprintf(stderr, "flisd: recovering runs left running: %s\n", s.message().c_str());
    return 1;
  }

  Tally tally;
  Progress progress(Progress::wanted());
  run_queued(runner, **store, tally, progress);
  progress.done();
  std::fprintf(stderr, "%s\n", summary(runner, tally).c_str());
  if (g_stop.load()) return 1;
  return tally.failed == 0 ? 0 : 1;
}

}  // namespace flis
