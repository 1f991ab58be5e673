// The Runner: planner -> state store -> jobs. See daemon/runner.h for the contract.
//
// Exactly once rests on three things: the store's UNIQUE (order, period, redelivery); set_running
// succeeding only for a queued run; and, before anything is built, asking the target whether the
// package is already there (a crash may have come between the final rename and set_delivered).
#include "daemon/runner.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <system_error>
#include <tuple>

#include "config/period.h"
#include "daemon/log.h"
#include "daemon/planner.h"
#include "daemon/run_format.h"
#include "daemon/warehouse.h"
#include "jobs/packer.h"
#include "jobs/target.h"

namespace flis {
namespace {

namespace fs = std::filesystem;


LogFields fields_of(const Run& run, RunStatus status) {
  return LogFields{run.order, std::to_string(run.id), run.period, run.municipality, std::string(to_string(status))};
}

std::string run_title(const Run& run) {
  std::string t = run.order + " " + run.period;
  if (run.redelivery > 1) t += " (redelivery " + std::to_string(run.redelivery) + ")";
  return t;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string kind_of(const Order& order) {
  if (order.generated) return "datamart";
  return order.is_subscription() ? "subscription" : "backfill";
}

// Why a run of this order must not be delivered now; empty when it may.
std::string inactive_reason(const Order* order, const std::string& id) {
  if (order == nullptr) return "order " + id + " was removed from the configuration (counts as deactivated)";
  if (order->status == OrderStatus::cancelled) return "order " + id + " was cancelled";
  if (order->status == OrderStatus::deactivated) return "order " + id + " was deactivated";
  return {};
}

// The store's delivered first deliveries: what the planner must not plan again.
History history_of(const std::vector<Run>& runs) {
  History h;
  for (const auto& r : runs)
    if (r.status == RunStatus::delivered && r.redelivery == 1) h.delivered.emplace(r.order, r.period);
  return h;
}

// The first day of a run's period, for ordering; unparsable names sort last.
date::local_days period_start(const std::string& name) {
  if (auto p = Period::parse(name)) return p->first;
  return date::local_days::max();
}

// The queued runs in the order they should be executed: subscriptions and datamarts (oldest period
// first) before backfill chunks (oldest first), then by order id and redelivery for stability.
void sort_by_priority(std::vector<Run>& runs) {
  std::stable_sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
    auto key = [](const Run& r) {
      return std::make_tuple(r.kind == "backfill", period_start(r.period), r.order, r.redelivery, r.id);
    };
    return key(a) < key(b);
  });
}

// Retry delay after `attempts` attempts: initial * 2^(attempts-1), capped at max.
std::chrono::seconds backoff(const RetryPolicy& policy, int attempts) {
  std::chrono::seconds delay = policy.initial;
  for (int i = 1; i < attempts && delay < policy.max; ++i) delay *= 2;
  return std::min(delay, policy.max);
}

// Where a run's package goes on its target.
struct Destination {
  std::unique_ptr<DeliveryTarget> target;
  std::string folder;
  std::string name;
  std::string path() const { return folder.empty() || folder.back() == '/' ? folder + name : folder + "/" + name; }
};

Result<Destination> destination_of(const Config& config, const Order& order, const Run& run,
                                   const std::atomic<bool>* cancel) {
  const Target* target = config.target_for(order);
  if (target == nullptr)
    return Status::Error("order " + order.id + ": delivery '" + order.delivery +
                         "' has no target in flisd.yaml (targets: add one named '" + order.delivery + "')");
  auto made = make_target(*target, cancel);
  if (!made) return made.status();
  Destination d;
  d.target = std::move(*made);
  d.folder = expand_path(target->path, order.municipality, order.id);
  d.name = package_name(order.id, run.period, run.redelivery);
  return d;
}

// What a delivery left behind: bytes, final path and checksum.
struct Delivered {
  int64_t bytes = 0;
  std::string remote;
  std::string checksum;
  bool found = false;  // already on the target: an earlier attempt got as far as the final rename
};

// The package as found on the target, if it is complete. A final file without its checksum file
// is a commit interrupted between rename and checksum: the final name only ever appears after the
// whole upload was written, synced and size-checked, so when this run recorded the package's
// checksum and size before committing (StateStore::set_packed) and the sizes agree, the checksum
// file is written now and the package counts as delivered. Anything else is for the sysadmin.
Result<std::optional<Delivered>> already_delivered(Destination& d, const Run& run) {
  auto found = d.target->inspect(d.folder, d.name);
  if (!found) return found.status().context("checking " + d.target->describe() + " for " + d.path());
  if (!found->has_value()) return std::optional<Delivered>();
  const RemoteFile& f = **found;
  const std::string& expected = run.checksum;
  if (!f.sha256 && !expected.empty() && int64_t(f.size) == run.bytes) {
    if (Status s = d.target->finish_checksum(d.folder, d.name, expected); !s)
      return s.context("completing the interrupted delivery of " + d.path());
    return std::optional<Delivered>(Delivered{int64_t(f.size), d.path(), expected, true});
  }
  if (!f.sha256)
    return Status::Error(d.path() + " exists on " + d.target->describe() +
                         " without its .sha256, and this run has no record of building it; check the "
                         "file, remove it, then `flisctl retry` the run");
  if (!expected.empty() && *f.sha256 != expected)
    return Status::Error(d.path() + " exists on " + d.target->describe() + " with checksum " + *f.sha256 +
                         ", not the " + expected + " recorded for this run; check the file, remove it, "
                         "then `flisctl retry` the run");
  return std::optional<Delivered>(Delivered{int64_t(f.size), d.path(), *f.sha256, true});
}

// Builds the package of `run` and streams it to its target. Asks the target first, so a package
// that is already there (with its checksum) is recorded rather than built again.
Result<Delivered> deliver(const Config& config, StateStore& store, const Order& order, const Run& run,
                          Instant now, const std::atomic<bool>* cancel) {
  auto period = Period::parse(run.period);
  if (!period) return Status::Error("'" + run.period + "' is not a period name");
  auto dest = destination_of(config, order, run, cancel);
  if (!dest) return dest.status();
  auto found = already_delivered(*dest, run);
  if (!found) return found.status();
  if (found->has_value()) return **found;

  PackageSpec spec;
  spec.order = &order;
  spec.period = *period;
  spec.partitions = partitions_for(config, order, *period);
  spec.warehouse = config.settings.warehouse;
  spec.compression = config.settings.compression;
  spec.created = now;
  for (const auto& p : spec.partitions)
    if (!partition_processed(spec.warehouse, p))
      return Status::Error("partition " + p.key() + " is not processed (no _PROCESSED in " +
                           partition_path(spec.warehouse, p).string() + ")");

  auto upload = dest->target->begin(dest->folder, dest->name);
  if (!upload) return upload.status();
  auto packed = build_package(spec, **upload, cancel);
  if (!packed) {
    (*upload)->abort();
    return packed.status();
  }
  // Recorded before the commit, so a crash inside it can be finished by recover() (exactly once).
  if (Status s = store.set_packed(run.id, int64_t(packed->bytes), (*upload)->remote_path(), packed->sha256); !s) {
    (*upload)->abort();
    return s;
  }
  Status committed = (*upload)->commit(packed->sha256);
  if (!committed) {
    (*upload)->abort();
    // Another attempt may have won the race to the final name with this very package: if it is
    // there with a checksum, it is delivered; anything else is this attempt's failure.
    Run built = run;
    built.checksum = packed->sha256;
    built.bytes = int64_t(packed->bytes);
    auto again = already_delivered(*dest, built);
    if (again && again->has_value()) return **again;
    return committed;
  }
  return Delivered{int64_t(packed->bytes), (*upload)->remote_path(), packed->sha256, false};
}

}  // namespace

Runner::Runner(StateStore& store, Clock clock) : store_(store), clock_(std::move(clock)) {}

void Runner::set_config(std::shared_ptr<const Config> config) {
  std::lock_guard lock(config_mu_);
  config_ = std::move(config);
}

std::shared_ptr<const Config> Runner::config() const {
  std::lock_guard lock(config_mu_);
  return config_;
}

Status Runner::recover(const std::atomic<bool>* cancel) {
  auto cfg = config();
  if (!cfg) return Status::Error("recover: no configuration loaded");
  auto running = store_.list({.status = RunStatus::running});
  if (!running) return running.status();
  for (const Run& run : *running) {
    if (Status s = recover_one(*cfg, run, cancel); !s) return s;
  }
  return Status::OK();
}

// One run left `running` by a crash: delivered if its package is complete on the target, else
// queued again (inspect() has removed the stale temporary file). When the target cannot be asked,
// the run is queued too: execute() asks again before building, so nothing is delivered twice.
Status Runner::recover_one(const Config& cfg, const Run& run, const std::atomic<bool>* cancel) {
  Instant now = clock_();
  const Order* order = cfg.find_order(run.order);
  std::string why = "interrupted (flisd stopped during the run); queued again";
  if (order != nullptr) {
    auto dest = destination_of(cfg, *order, run, cancel);
    auto found = dest ? already_delivered(*dest, run) : Result<std::optional<Delivered>>(dest.status());
    if (found && found->has_value()) {
      const Delivered& d = **found;
      if (Status s = store_.set_delivered(run.id, now, d.bytes, d.remote, d.checksum); !s) return s;
      log_event(Event::recovered, Priority::notice, fields_of(run, RunStatus::delivered),
                run_title(run) + ": found complete on the target after a restart (" + d.remote + ", " +
                    human_bytes(uint64_t(d.bytes)) + "); recorded as delivered");
      return Status::OK();
    }
    if (!found) why = "interrupted; the target could not be checked (" + found.message() + "); queued again";
  }
  if (Status s = store_.set_queued(run.id, now); !s) return s;
  log_event(Event::recovered, Priority::notice, fields_of(run, RunStatus::queued), run_title(run) + ": " + why);
  return Status::OK();
}

Result<std::vector<Run>> Runner::refresh() {
  auto cfg = config();
  if (!cfg) return Status::Error("refresh: no configuration loaded");
  Instant now = clock_();
  auto all = store_.list();
  if (!all) return all.status();

  std::vector<PlannedRun> planned = plan_all(*cfg, *all, now);
  // One transaction for every transition of this refresh: with thousands of orders, one fsync
  // each made the first refresh take minutes. A failed refresh changes nothing and is retried.
  Status written = store_.batch([&] {
    if (Status s = cancel_inactive(*cfg, *all, now); !s) return s;
    if (Status s = requeue_retries(*cfg, *all, now); !s) return s;
    return apply_plan(*cfg, *all, planned, now);
  });
  if (!written) return written;

  auto queued = store_.list({.status = RunStatus::queued});
  if (!queued) return queued.status();
  sort_by_priority(*queued);
  return queued;
}

// Queued, waiting and to-be-retried runs of orders that are cancelled, deactivated or gone.
Status Runner::cancel_inactive(const Config& cfg, std::vector<Run>& runs, Instant now) {
  for (Run& run : runs) {
    bool pending = run.status == RunStatus::queued || run.status == RunStatus::waiting ||
                   (run.status == RunStatus::failed && run.next_attempt);
    if (!pending) continue;
    std::string why = inactive_reason(cfg.find_order(run.order), run.order);
    if (why.empty()) continue;
    if (Status s = store_.set_cancelled(run.id, now, why); !s) {
      // A worker may have started it since the list was read: then it is not ours to cancel.
      auto current = store_.get(run.id);
      if (current && current->has_value() && (*current)->status == RunStatus::running) continue;
      return s;
    }
    run.status = RunStatus::cancelled;
    log_event(Event::run_cancelled, Priority::notice, fields_of(run, RunStatus::cancelled), run_title(run) + ": cancelled: " + why);
  }
  return Status::OK();
}

// Failed runs whose retry time has come.
Status Runner::requeue_retries(const Config&, std::vector<Run>& runs, Instant now) {
  for (Run& run : runs) {
    if (run.status != RunStatus::failed || !run.next_attempt || *run.next_attempt > now) continue;
    if (Status s = store_.set_queued(run.id, now); !s) return s;
    run.status = RunStatus::queued;
    log_event(Event::run_queued, Priority::info, fields_of(run, RunStatus::queued),
              run_title(run) + ": queued for attempt " + std::to_string(run.attempts + 1) + " after: " + run.error);
  }
  return Status::OK();
}

// Every ended period of every order, from the first period of any order up to today.
std::vector<PlannedRun> Runner::plan_all(const Config& cfg, const std::vector<Run>& runs, Instant now) {
  const date::time_zone* tz = zone_of(cfg.settings);
  date::local_days today = local_day(now, tz);
  date::local_days from = today;
  for (const Order& o : cfg.orders) {
    if (o.start) from = std::min(from, date::local_days{*o.start});
    if (o.from) from = std::min(from, date::local_days{*o.from});
  }
  return plan(cfg, history_of(runs), now, PlanWindow{from, today});
}

// The store's side of the plan: new runs recorded, waiting runs whose data came queued.
Status Runner::apply_plan(const Config& cfg, const std::vector<Run>& runs, const std::vector<PlannedRun>& planned,
                          Instant now) {
  std::map<std::pair<std::string, std::string>, const Run*> first_runs;
  for (const Run& r : runs)
    if (r.redelivery == 1) first_runs[{r.order, r.period}] = &r;

  for (const PlannedRun& p : planned) {
    if (p.state != PlanState::due && p.state != PlanState::waiting && p.state != PlanState::late) continue;
    const Order* order = cfg.find_order(p.order);
    if (order == nullptr) continue;
    auto it = first_runs.find({p.order, p.period.name()});
    const Run* existing = it == first_runs.end() ? nullptr : it->second;
    Status s = p.state == PlanState::due ? queue_due(cfg, *order, p, existing, now)
                                         : record_waiting(cfg, *order, p, existing, now);
    if (!s) return s;
  }
  return Status::OK();
}

Run Runner::proto_of(const Config& cfg, const Order& order, const Period& period, RunStatus status, Instant now) {
  Run r;
  r.order = order.id;
  r.municipality = order.municipality;
  r.period = period.name();
  r.kind = kind_of(order);
  r.status = status;
  r.created = now;
  r.config_version = cfg.version;
  return r;
}

Status Runner::queue_due(const Config& cfg, const Order& order, const PlannedRun& p, const Run* existing, Instant now) {
  if (existing == nullptr) {
    auto run = store_.ensure(proto_of(cfg, order, p.period, RunStatus::queued, now));
    if (!run) return run.status();
    log_event(Event::run_queued, Priority::info, fields_of(*run, RunStatus::queued),
              run_title(*run) + ": data processed; queued (" + run->kind + ")");
    return Status::OK();
  }
  // A waiting run whose data has arrived, or a run cancelled while its order was inactive and
  // whose order is active again. Queued, running and failed runs keep their course.
  if (existing->status != RunStatus::waiting && existing->status != RunStatus::cancelled) return Status::OK();
  if (Status s = store_.set_queued(existing->id, now); !s) return s;
  log_event(Event::run_queued, Priority::info, fields_of(*existing, RunStatus::queued),
            run_title(*existing) + (existing->status == RunStatus::waiting ? ": data processed; queued"
                                                                          : ": order active again; queued"));
  return Status::OK();
}

Status Runner::record_waiting(const Config& cfg, const Order& order, const PlannedRun& p, const Run* existing,
                              Instant now) {
  std::string missing = join(p.missing, ",");
  Run run;
  if (existing == nullptr) {
    Run proto = proto_of(cfg, order, p.period, RunStatus::waiting, now);
    proto.missing = missing;
    auto made = store_.ensure(proto);
    if (!made) return made.status();
    run = *made;
    log_event(Event::run_waiting, Priority::info, fields_of(run, RunStatus::waiting),
              run_title(run) + ": waiting for " + std::to_string(p.missing.size()) + " partition(s): " + missing);
  } else {
    run = *existing;
    if (run.status == RunStatus::waiting && run.missing != missing) {
      if (Status s = store_.set_waiting(run.id, missing); !s) return s;
    }
  }
  if (p.state == PlanState::late && run.status == RunStatus::waiting &&
      late_logged_.insert({run.order, run.period}).second) {
    const date::time_zone* tz = zone_of(cfg.settings);
    log_event(Event::run_late, Priority::warning, fields_of(run, RunStatus::waiting),
              run_title(run) + ": late: expected by " + (p.expected ? format_local_short(*p.expected, tz) : "?") +
                  ", still missing " + missing);
  }
  return Status::OK();
}

Status Runner::execute(const Run& queued, const std::atomic<bool>* cancel) {
  auto cfg = config();
  if (!cfg) return Status::Error("execute: no configuration loaded");
  Instant now = clock_();
  const Order* order = cfg->find_order(queued.order);
  if (std::string why = inactive_reason(order, queued.order); !why.empty()) {
    // Only a run still queued is cancelled here; anything else is not ours to touch.
    auto current = store_.get(queued.id);
    if (!current) return current.status();
    if (!current->has_value() || (*current)->status != RunStatus::queued)
      return Status::Error("run " + std::to_string(queued.id) + " (" + run_title(queued) + ") is no longer queued");
    if (Status s = store_.set_cancelled(queued.id, now, why); !s) return s;
    log_event(Event::run_cancelled, Priority::notice, fields_of(queued, RunStatus::cancelled),
              run_title(queued) + ": cancelled: " + why);
    return Status::OK();
  }
  if (Status s = store_.set_running(queued.id, now); !s) return s;
  Run run = queued;
  run.attempts += 1;
  if (auto fresh = store_.get(queued.id); fresh && fresh->has_value()) run = **fresh;
  log_event(Event::run_started, Priority::info, fields_of(run, RunStatus::running),
            run_title(run) + ": attempt " + std::to_string(run.attempts) + " started");

  auto t0 = std::chrono::steady_clock::now();
  auto delivered = deliver(*cfg, store_, *order, run, now, cancel);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Status recorded = delivered ? record_delivered(run, delivered->bytes, delivered->remote, delivered->checksum,
                                                 delivered->found, seconds)
                              : record_failure(*cfg, run, delivered.status(), cancel);
  // Metrics hook: the attempt ended (a shutdown's interruption is not an outcome).
  if (attempt_hook_ && (delivered ? recorded.ok() : !(cancel != nullptr && cancel->load())))
    attempt_hook_(run, delivered.ok(), delivered ? delivered->bytes : 0, seconds);
  // The one error the state database cannot hold itself: say it loudly. Nothing is lost: the run
  // stays `running` and the next start's recover() finds the package on the target (or not).
  if (!recorded)
    log_event(Event::run_failed, Priority::err, fields_of(run, RunStatus::running),
              run_title(run) + ": cannot record the outcome in the state database: " + recorded.message() +
                  "; flisd takes no new runs until this is fixed, then restart it");
  return recorded;
}

Status Runner::record_delivered(const Run& run, int64_t bytes, const std::string& remote, const std::string& checksum,
                                bool found, double seconds) {
  if (Status s = store_.set_delivered(run.id, clock_(), bytes, remote, checksum); !s) return s;
  std::string how = found ? ": already on the target (an earlier attempt's final rename); recorded as delivered, "
                            : ": delivered ";
  char dur[32];
  std::snprintf(dur, sizeof dur, "%.1f s", seconds);
  log_event(Event::run_delivered, Priority::info, fields_of(run, RunStatus::delivered),
            run_title(run) + how + remote + " (" + human_bytes(uint64_t(bytes)) + " in " + dur + ")");
  return Status::OK();
}

// A failed attempt: retried after the policy's backoff while attempts remain, else left failed.
// A shutdown is not a failure: the run goes back to the queue for the next start.
Status Runner::record_failure(const Config& cfg, const Run& run, const Status& error, const std::atomic<bool>* cancel) {
  Instant now = clock_();
  if (cancel != nullptr && cancel->load()) {
    if (Status s = store_.set_queued(run.id, now); !s) return s;
    log_event(Event::run_queued, Priority::notice, fields_of(run, RunStatus::queued),
              run_title(run) + ": interrupted by shutdown; queued for the next start");
    return error;
  }
  const RetryPolicy& policy = cfg.settings.retry;
  const date::time_zone* tz = zone_of(cfg.settings);
  if (run.attempts < policy.attempts) {
    Instant next = now + backoff(policy, run.attempts);
    if (Status s = store_.set_failed(run.id, now, error.message(), next); !s) return s;
    log_event(Event::run_retried, Priority::warning, fields_of(run, RunStatus::failed),
              run_title(run) + ": attempt " + std::to_string(run.attempts) + " of " + std::to_string(policy.attempts) +
                  " failed: " + error.message() + "; retrying at " + format_local_short(next, tz));
  } else {
    if (Status s = store_.set_failed(run.id, now, error.message(), std::nullopt); !s) return s;
    log_event(Event::run_failed, Priority::err, fields_of(run, RunStatus::failed),
              run_title(run) + ": failed after " + std::to_string(run.attempts) + " attempt(s): " + error.message() +
                  "; fix the cause, then `flisctl retry " + std::to_string(run.id) + "`");
  }
  return error;
}

std::optional<Instant> Runner::next_wakeup() {
  auto cfg = config();
  if (!cfg) return std::nullopt;
  Instant now = clock_();
  auto runs = store_.list();
  if (!runs) return std::nullopt;
  std::optional<Instant> next = flis::next_wakeup(*cfg, history_of(*runs), now);
  for (const Run& r : *runs) {
    if (r.status != RunStatus::failed || !r.next_attempt) continue;
    Instant t = std::max(*r.next_attempt, now);
    if (!next || t < *next) next = t;
  }
  return next;
}

std::vector<fs::path> Runner::watch_paths() {
  std::set<fs::path> paths;
  auto cfg = config();
  if (!cfg) return {};
  auto waiting = store_.list({.status = RunStatus::waiting});
  if (!waiting) return {};
  for (const Run& run : *waiting) {
    const Order* order = cfg->find_order(run.order);
    auto period = Period::parse(run.period);
    if (order == nullptr || !period) continue;
    for (const Partition& p : partitions_for(*cfg, *order, *period)) {
      if (partition_processed(cfg->settings.warehouse, p)) continue;
      // The marker appears in the partition folder; until that folder exists, watch the nearest
      // parent that does (the warehouse itself at worst).
      fs::path dir = partition_path(cfg->settings.warehouse, p);
      std::error_code ec;
      while (!fs::is_directory(dir, ec) && dir.has_parent_path() && dir != dir.parent_path()) dir = dir.parent_path();
      paths.insert(dir);
    }
  }
  return {paths.begin(), paths.end()};
}

Result<std::vector<Run>> Runner::trigger(const std::string& order_id, const std::optional<std::string>& period_name) {
  auto cfg = config();
  if (!cfg) return Status::Error("trigger: no configuration loaded");
  const Order* order = cfg->find_order(order_id);
  if (std::string why = inactive_reason(order, order_id); !why.empty())
    return Status::Error(order == nullptr ? "no order " + order_id + " in the configuration" : why);
  if (!period_name) {
    auto queued = refresh();
    if (!queued) return queued;
    std::vector<Run> mine;
    for (auto& r : *queued)
      if (r.order == order_id) mine.push_back(r);
    return mine;
  }
  auto period = check_period(*cfg, *order, *period_name);
  if (!period) return period.status();
  Instant now = clock_();
  auto run = store_.ensure(proto_of(*cfg, *order, *period, RunStatus::queued, now));
  if (!run) return run.status();
  switch (run->status) {
    case RunStatus::delivered:
      return Status::Error(order_id + " " + *period_name + " is already delivered (run " + std::to_string(run->id) +
                           ", " + run->remote + "); use `flisctl redeliver " + order_id + " --period " + *period_name +
                           "` for a new copy");
    case RunStatus::queued:
    case RunStatus::running:
      break;
    case RunStatus::failed:
      if (Status s = store_.requeue_fresh(run->id, now); !s) return s;
      break;
    case RunStatus::waiting:
    case RunStatus::cancelled:
      if (Status s = store_.set_queued(run->id, now); !s) return s;
      break;
  }
  auto fresh = store_.get(run->id);
  if (!fresh || !fresh->has_value()) return fresh.ok() ? Status::Error("run vanished") : fresh.status();
  log_event(Event::run_queued, Priority::notice, fields_of(**fresh, (*fresh)->status),
            run_title(**fresh) + ": triggered by hand; " + std::string(to_string((*fresh)->status)));
  return std::vector<Run>{**fresh};
}

// A period of `order` that has ended and whose data is all processed.
Result<Period> Runner::check_period(const Config& cfg, const Order& order, const std::string& name) {
  auto period = Period::parse(name);
  if (!period)
    return Status::Error("'" + name + "' is not a period; write it as in the package name: 2026-11-25, 2026-W48, "
                         "2026-11, 2026 or 2019-03-15..2019-03-31");
  const date::time_zone* tz = zone_of(cfg.settings);
  Instant now = clock_();
  auto periods = order_periods(order, local_day(now, tz));
  if (std::find(periods.begin(), periods.end(), *period) == periods.end())
    return Status::Error(name + " is not a period of order " + order.id + " (see `flisctl plan` for its periods)");
  if (now < period->end_instant(tz))
    return Status::Error(order.id + " " + name + " has not ended yet (it ends " +
                         format_local_short(period->end_instant(tz), tz) + ")");
  std::vector<std::string> missing;
  for (const Partition& p : partitions_for(cfg, order, *period))
    if (!partition_processed(cfg.settings.warehouse, p)) missing.push_back(p.key());
  if (!missing.empty())
    return Status::Error(order.id + " " + name + ": data not processed yet; missing " + join(missing, ", "));
  return *period;
}

Result<Run> Runner::retry(int64_t run_id) {
  auto run = store_.get(run_id);
  if (!run) return run.status();
  if (!run->has_value()) return Status::Error("no run " + std::to_string(run_id) + " (see `flisctl runs`)");
  const Run& r = **run;
  if (r.status != RunStatus::failed)
    return Status::Error("run " + std::to_string(run_id) + " (" + run_title(r) + ") is " +
                         std::string(to_string(r.status)) + "; only a failed run can be retried");
  auto cfg = config();
  const Order* order = cfg ? cfg->find_order(r.order) : nullptr;
  if (std::string why = inactive_reason(order, r.order); !why.empty()) return Status::Error(why);
  if (Status s = store_.requeue_fresh(run_id, clock_()); !s) return s;
  log_event(Event::run_queued, Priority::notice, fields_of(r, RunStatus::queued),
            run_title(r) + ": retry asked for by hand; queued with a fresh retry budget");
  auto fresh = store_.get(run_id);
  if (!fresh || !fresh->has_value()) return fresh.ok() ? Status::Error("run vanished") : fresh.status();
  return **fresh;
}

Result<Run> Runner::redeliver(const std::string& order_id, const std::string& period) {
  auto cfg = config();
  if (!cfg) return Status::Error("redeliver: no configuration loaded");
  const Order* order = cfg->find_order(order_id);
  if (std::string why = inactive_reason(order, order_id); !why.empty())
    return Status::Error(order == nullptr ? "no order " + order_id + " in the configuration" : why);
  auto runs = store_.list({.order = order_id});
  if (!runs) return runs.status();
  bool delivered = std::any_of(runs->begin(), runs->end(), [&](const Run& r) {
    return r.period == period && r.status == RunStatus::delivered;
  });
  if (!delivered)
    return Status::Error(order_id + " " + period + " has not been delivered yet; `flisctl trigger " + order_id +
                         " --period " + period + "` delivers it the first time");
  auto run = store_.add_redelivery(order_id, period, order->municipality, kind_of(*order), cfg->version, clock_());
  if (!run) return run;
  log_event(Event::run_queued, Priority::notice, fields_of(*run, RunStatus::queued),
            run_title(*run) + ": redelivery asked for by hand; queued as " +
                package_name(order_id, period, run->redelivery));
  return run;
}

std::string Runner::status_line() {
  auto cfg = config();
  if (!cfg) return "no configuration loaded";
  Instant now = clock_();
  const date::time_zone* tz = zone_of(cfg->settings);
  size_t orders = std::count_if(cfg->orders.begin(), cfg->orders.end(), [](const Order& o) { return o.active(); });
  std::vector<std::string> running;
  int waiting = 0, late = 0;
  if (auto runs = store_.list()) {
    for (const Run& r : *runs) {
      if (r.status == RunStatus::running) running.push_back(r.order + " " + r.period);
      if (r.status != RunStatus::waiting) continue;
      ++waiting;
      const Order* o = cfg->find_order(r.order);
      auto p = Period::parse(r.period);
      if (o && p)
        if (auto expected = expected_time(*cfg, *o, *p); expected && *expected <= now) ++late;
    }
  }
  std::string line = std::to_string(orders) + (orders == 1 ? " order; " : " orders; ") + std::to_string(running.size()) + " running";
  if (!running.empty()) {
    std::vector<std::string> shown(running.begin(), running.begin() + std::min<size_t>(running.size(), 3));
    line += " (" + join(shown, ", ") + (running.size() > 3 ? ", ..." : "") + ")";
  }
  line += "; " + std::to_string(waiting) + " waiting, " + std::to_string(late) + " late";
  if (auto next = next_wakeup()) line += "; next " + format_local_short(*next, tz);
  return line;
}

}  // namespace flis
