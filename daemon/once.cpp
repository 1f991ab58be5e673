// flisd --once: deliver everything due now, then exit (for tests, demos and cron).
//
// The same Runner as the daemon, driven by a plain loop instead of the event loop: recover what a
// crash left running, then refresh and execute until nothing more is due. Runs go one at a time,
// in the Runner's priority order; once a run of an order fails, that order's later periods wait
// for the next invocation, so a subscription's periods are still delivered in order.
#include <csignal>
#include <cstdio>
#include <filesystem>
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

// One pass over the queued runs. Returns how many were attempted.
int run_queued(Runner& runner, StateStore& store, std::set<std::string>& blocked, Tally& tally, Progress& progress) {
  auto queued = runner.refresh();
  if (!queued) {
    std::fprintf(stderr, "flisd: %s\n", queued.message().c_str());
    ++tally.failed;
    return 0;
  }
  progress.queued(static_cast<int>(queued->size()));
  int attempted = 0;
  for (const Run& run : *queued) {
    if (g_stop.load()) break;
    if (blocked.count(run.order)) continue;
    ++attempted;
    progress.started(run.order + " " + run.period);
    Status s = runner.execute(run, &g_stop);
    auto after = store.get(run.id);
    RunStatus status = after && after->has_value() ? (*after)->status : RunStatus::failed;
    progress.finished(status, status == RunStatus::delivered ? (*after)->bytes : 0);
    if (status == RunStatus::delivered) ++tally.delivered;
    else if (status == RunStatus::cancelled) ++tally.cancelled;
    else if (!s.ok()) {
      ++tally.failed;
      blocked.insert(run.order);  // its later periods must not overtake it
      // A run the store could not record stays `running`: the state database is the problem
      // (e.g. a full disk); say so and take no more runs.
      if (status == RunStatus::running || !after) {
        std::fprintf(stderr, "flisd: %s; stopping\n", s.message().c_str());
        g_stop.store(true);
        break;
      }
    }
  }
  return attempted;
}

std::string summary(StateStore& store, const Tally& tally) {
  int waiting = 0, retrying = 0, queued = 0;
  if (auto runs = store.list()) {
    for (const Run& r : *runs) {
      if (r.status == RunStatus::waiting) ++waiting;
      if (r.status == RunStatus::queued) ++queued;
      if (r.status == RunStatus::failed && r.next_attempt) ++retrying;
    }
  }
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
  std::filesystem::create_directories(config.settings.state.parent_path(), ec);
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
  std::set<std::string> blocked;
  Progress progress(Progress::wanted());
  while (!g_stop.load() && run_queued(runner, **store, blocked, tally, progress) > 0) {
  }
  progress.done();
  std::fprintf(stderr, "%s\n", summary(**store, tally).c_str());
  if (g_stop.load()) return 1;
  return tally.failed == 0 ? 0 : 1;
}

}  // namespace flis
