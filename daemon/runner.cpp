// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The Runner: plan -> store, with the run book in memory. See daemon/runner.h for the contract.
//
// Exactly once rests on three things: the store's UNIQUE (order, period, redelivery); set_running
// succeeding only for a queued run; and, before anything is built, asking the target whether the
// package is already there (daemon/delivery.h).
#include "daemon/runner.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <system_error>

#include "config/period.h"
#include "daemon/delivery.h"
#include "daemon/log.h"
#include "daemon/plan_pass.h"
#include "daemon/planner.h"
#include "daemon/replan.h"
#include "daemon/run_format.h"
#include "jobs/packer.h"
#include "jobs/target.h"
#include "jobs/warehouse.h"

namespace flis {
namespace {

namespace fs = std::filesystem;

LogFields fields_of(const Run& run, RunStatus status) {
  return LogFields{run.order, std::to_string(run.id), run.period.name(), run.municipality, std::string(to_string(status))};
}

std::string run_title(const Run& run) {
  std::string t = run.order + " " + run.period.name();
  if (run.redelivery > 1) t += " (redelivery " + std::to_string(run.redelivery) + ")";
  return t;
}

// Why a run of this order must not be delivered now; empty when it may.
std::string inactive_reason(const Order* order, const std::string& id) {
  if (order == nullptr) return "order " + id + " was removed from the configuration (counts as deactivated)";
  if (order->status == OrderStatus::cancelled) return "order " + id + " was cancelled";
  if (order->status == OrderStatus::deactivated) return "order " + id + " was deactivated";
  return {};
}

// The first day of an order's first period.
date::local_days first_day(const Order& order) {
  if (order.start) return date::local_days{*order.start};
  if (order.from) return date::local_days{*order.from};
  return date::local_days{};
}

Run proto_of(const Config& cfg, const Order& order, const Period& period, RunStatus status, Instant now) {
  Run r;
  r.order = order.id;
  r.municipality = order.municipality;
  r.period = period;
  r.kind = kind_of(order);
  r.status = status;
  r.created = now;
  r.config_version = cfg.version;
  return r;
}

// A planning pass that takes "delivered" from the book (the caller holds the book's lock).
PlanPass pass_of(const Config& cfg, const RunBook& book, Instant now) {
  return PlanPass(cfg, [&book](const std::string& order, const Period& period) {
    return book.delivered(order, period);
  }, now);
}

// The day that places a partition in a package (config/period.h), from its folder name.
std::optional<date::local_days> anchor_day(const std::string& partition) {
  auto p = Period::parse(partition);
  if (!p) return std::nullopt;
  Frequency f = p->kind == PeriodKind::week ? Frequency::weekly
                : p->kind == PeriodKind::month ? Frequency::monthly : Frequency::daily;
  return placing_day(f, *p);
}

}  // namespace

// What a pass did that is worth one log line per order rather than one per run: periods recorded
// waiting, periods turned late. With 10,000 orders and years of history a line per run would be
// hundreds of thousands of lines, which journald's rate limit would mostly drop.
struct Runner::Summary {
  struct Span {
    int count = 0;
    Period first, last;            // the oldest and newest period
    LogFields fields;              // of the newest run
    std::string missing;           // of the newest, as missing_summary() puts it
    std::optional<Instant> expected;  // of the newest
  };
  std::map<std::string, Span> waiting, late;

  static void add(std::map<std::string, Span>& to, const Run& run, std::optional<Instant> expected) {
    Span& s = to[run.order];
    if (s.count++ == 0) s.first = run.period;
    s.last = run.period;
    s.fields = fields_of(run, RunStatus::waiting);
    s.missing = missing_summary(run.missing);
    s.expected = expected;
  }

  static std::string periods(const Span& s) {
    if (s.count == 1) return s.first.name();
    return std::to_string(s.count) + " periods, " + s.first.name() + " .. " + s.last.name();
  }

  void log(const Config& cfg) const {
    const date::time_zone* tz = zone_of(cfg.settings);
    for (const auto& [order, s] : waiting)
      log_event(Event::run_waiting, Priority::info, s.fields,
                order + " " + periods(s) + ": waiting for data; missing " + s.missing +
                    (s.count > 1 ? " (of the newest; `flisctl runs --order " + order + "` lists each)" : ""));
    for (const auto& [order, s] : late)
      log_event(Event::run_late, Priority::warning, s.fields,
                order + " " + periods(s) + ": late: expected by " +
                    (s.expected ? format_local_short(*s.expected, tz) : "?") + ", still missing " + s.missing);
  }
};

Runner::Runner(StateStore& store, Clock clock, Clock wall)
    : store_(store), clock_(std::move(clock)), wall_(std::move(wall)) {}

Runner::~Runner() = default;

void Runner::set_config(std::shared_ptr<const Config> config) {
  std::lock_guard lock(config_mu_);
  config_ = std::move(config);
}

std::shared_ptr<const Config> Runner::config() const {
  std::lock_guard lock(config_mu_);
  return config_;
}

Result<Run> Runner::reread(int64_t id, std::optional<Instant> expected) {
  auto run = store_.get(id);
  if (!run) return run.status();
  if (!run->has_value()) return Status::Error("run " + std::to_string(id) + " vanished from the state database");
  std::lock_guard lock(book_mu_);
  book_.put(**run, expected);
  return **run;
}

Status Runner::load_book() {
  if (loaded_) return Status::OK();
  std::lock_guard lock(book_mu_);
  book_.clear();
  if (Status s = store_.scan([&](const Run& r) {
        book_.put(r);
        last_version_ = std::max(last_version_, r.version);
      });
      !s)
    return s;
  loaded_ = true;
  return Status::OK();
}

// Another node may have moved the run since the book last heard of it (several hosts): then a
// transition the book thought legal is refused, and the book takes the run as it now is. Called
// with the book's lock held.
bool Runner::changed_elsewhere(int64_t id, RunStatus was) {
  auto now = store_.get(id);
  if (!now || !now->has_value() || (*now)->status == was) return false;
  book_.put(**now);
  return true;
}

Status Runner::follow_changes() {
  if (!loaded_) return Status::OK();
  std::lock_guard lock(book_mu_);
  int64_t last = last_version_;
  if (Status s = store_.changes_since(last_version_, [&](const Run& r) { book_.put(r); }, &last); !s) return s;
  last_version_ = std::max(last_version_, last);
  return Status::OK();
}

// --- reconciling the plan with the store -------------------------------------------------------------
//
// All of these run with the book's lock held, inside one store transaction (StateStore::batch):
// one fsync for a pass, not one per run, and a pass that fails half-way changes nothing.

// The periods of `order` from `from` to `to` against the book: new ended periods recorded (queued
// when their data is processed, else waiting), waiting runs whose data came queued, the list of
// missing partitions kept current, late runs marked.
Status Runner::reconcile(const Config& cfg, PlanPass& pass, const Order& listed, date::local_days from,
                         date::local_days to, Summary& summary) {
  const Order& order = pass.effective(listed);
  const Instant now = pass.now();
  for (const Period& period : order_periods(order, from, std::min(to, pass.today()))) {
    if (now < pass.end_of(period)) break;  // oldest first: the rest have not ended
    PlannedRun p = pass.evaluate(order, period);
    if (p.state != PlanState::due && p.state != PlanState::waiting && p.state != PlanState::late) continue;
    const RunBook::Entry* existing = book_.find(order.id, period);
    if (existing == nullptr) {
      Run proto = proto_of(cfg, order, period, p.state == PlanState::due ? RunStatus::queued : RunStatus::waiting, now);
      proto.missing = p.missing;
      auto made = store_.ensure(proto);
      if (!made) return made.status();
      book_.put(*made, p.expected);
      if (made->status == RunStatus::queued)
        log_event(Event::run_queued, Priority::info, fields_of(*made, RunStatus::queued),
                  run_title(*made) + ": data processed; queued (" + std::string(to_string(made->kind)) + ")");
      else if (made->status == RunStatus::waiting)
        Summary::add(summary.waiting, *made, p.expected);
      existing = book_.find(order.id, period);
      if (existing == nullptr || existing->status != RunStatus::waiting) continue;
    } else {
      book_.put_expected(existing->id, p.expected);
    }
    const int64_t id = existing->id;
    if (p.state == PlanState::due) {
      // A waiting run whose data has arrived, or a run cancelled while its order was inactive and
      // whose order is active again. Queued, running, delivered and failed runs keep their course.
      if (existing->status != RunStatus::waiting && existing->status != RunStatus::cancelled) continue;
      const bool was_waiting = existing->status == RunStatus::waiting;
      if (Status s = store_.set_queued(id, now); !s) {
        if (changed_elsewhere(id, existing->status)) continue;  // another node queued it first
        return s;
      }
      auto run = store_.get(id);
      if (!run || !run->has_value()) return run ? Status::Error("run vanished") : run.status();
      book_.put(**run, p.expected);
      log_event(Event::run_queued, Priority::info, fields_of(**run, RunStatus::queued),
                run_title(**run) + (was_waiting ? ": data processed; queued" : ": order active again; queued"));
      continue;
    }
    if (existing->status != RunStatus::waiting) continue;
    if (existing->missing != p.missing.size())
      if (Status s = store_.set_waiting(id, p.missing); !s) {
        if (changed_elsewhere(id, RunStatus::waiting)) continue;
        return s;
      }
    if (p.state == PlanState::late && !existing->late) {
      auto marked = store_.set_late(id);
      if (!marked) {
        if (changed_elsewhere(id, RunStatus::waiting)) continue;
        return marked.status();
      }
      book_.mark_late(id);
      if (!*marked) continue;  // another node marked it and logged it
      Run shown = proto_of(cfg, order, period, RunStatus::waiting, now);
      shown.id = id;
      shown.missing = p.missing;
      Summary::add(summary.late, shown, p.expected);
    }
    if (existing->missing != p.missing.size()) book_.put_missing(id, p.missing.size());
  }
  return Status::OK();
}

// The runs of an order that stopped: waiting, queued and to-be-retried runs are cancelled (a
// running run finishes; it is never cut off).
Status Runner::cancel_pending(const std::string& order, const std::string& why, Instant now,
                              const std::function<bool(const RunBook::Entry&)>& only) {
  for (int64_t id : book_.pending_of(order)) {
    if (only) {
      const RunBook::Entry* e = book_.find(id);
      if (e == nullptr || !only(*e)) continue;
    }
    if (Status s = store_.set_cancelled(id, now, why); !s) {
      // A worker (here or on another node) may have started or cancelled it since: then it is
      // not ours to cancel.
      const RunBook::Entry* e = book_.find(id);
      if (e != nullptr && changed_elsewhere(id, e->status)) continue;
      auto current = store_.get(id);
      if (current && current->has_value() && (*current)->status == RunStatus::running) continue;
      return s;
    }
    auto run = store_.get(id);
    if (!run || !run->has_value()) return run ? Status::Error("run vanished") : run.status();
    book_.put(**run);
    log_event(Event::run_cancelled, Priority::notice, fields_of(**run, RunStatus::cancelled),
              run_title(**run) + ": cancelled: " + why);
  }
  return Status::OK();
}

// Failed runs whose retry time has come.
Status Runner::queue_retries(Instant now) {
  for (int64_t id : book_.retries_due(now)) {
    auto before = store_.get(id);
    if (!before || !before->has_value()) return before ? Status::Error("run vanished") : before.status();
    if ((*before)->status != RunStatus::failed) {  // another node queued it already
      book_.put(**before);
      continue;
    }
    if (Status s = store_.set_queued(id, now); !s) {
      if (changed_elsewhere(id, RunStatus::failed)) continue;
      return s;
    }
    Run run = **before;
    run.status = RunStatus::queued;
    run.next_attempt.reset();
    book_.put(run);
    log_event(Event::run_queued, Priority::info, fields_of(run, RunStatus::queued),
              run_title(run) + ": queued for attempt " + std::to_string(run.attempts + 1) + " after: " + run.error);
  }
  return Status::OK();
}

// Waiting runs whose expected time has now passed: marked late, logged once (per order and pass).
Status Runner::mark_late(const Config& cfg, Instant now, Summary& summary) {
  for (int64_t id : book_.turning_late(now)) {
    const RunBook::Entry* e = book_.find(id);
    if (e == nullptr) continue;
    std::optional<Instant> expected = e->expected();
    auto marked = store_.set_late(id);
    if (!marked) {
      if (changed_elsewhere(id, RunStatus::waiting)) continue;
      return marked.status();
    }
    auto run = store_.get(id);
    if (!run || !run->has_value()) return run ? Status::Error("run vanished") : run.status();
    book_.put(**run);
    if (*marked) Summary::add(summary.late, **run, expected);  // else another node logged it
  }
  (void)cfg;
  return Status::OK();
}

// The next instant a period of an active order ends (the wake-up for new runs).
void Runner::plan_horizon(const Config& cfg, PlanPass& pass) {
  next_period_end_.reset();
  for (const Order& listed : cfg.orders) {
    if (!listed.active()) continue;
    const Order& order = pass.effective(listed);
    // The period holding today, or the order's first period if it has not begun.
    auto periods = order_periods(order, std::max(pass.today(), first_day(order)), std::max(pass.today(), first_day(order)));
    for (const Period& p : periods) {
      Instant end = pass.end_of(p);
      if (end > pass.now() && (!next_period_end_ || end < *next_period_end_)) next_period_end_ = end;
    }
  }
}

// One pass: `body` runs with the book's lock held, inside one store transaction, and its summary
// is logged after. A pass that fails changes nothing in the store; the book may hold what the
// rolled-back transaction wrote, so it is read again before the next pass.
Status Runner::run_pass(const Config& cfg, Instant now, const std::function<Status(PlanPass&, Summary&)>& body) {
  Summary summary;
  Status written = store_.batch([&] {
    std::lock_guard lock(book_mu_);
    PlanPass pass = pass_of(cfg, book_, now);
    return body(pass, summary);
  });
  summary.log(cfg);
  if (!written) {
    std::lock_guard lock(book_mu_);
    loaded_ = false;
  }
  return written;
}

Result<std::vector<Run>> Runner::refresh() {
  if (Status s = replan(); !s) return s;
  return queued_runs();
}

Status Runner::replan() {
  auto cfg = config();
  if (!cfg) return Status::Error("refresh: no configuration loaded");
  if (Status s = load_book(); !s) return s;
  const Instant now = clock_();
  // A new configuration (a reload) re-plans only the orders it changed; the same one again (a
  // start, an inotify overflow, a clock jump) every order.
  std::optional<std::set<std::string>> only;
  if (planned_ && planned_ != cfg) only = orders_to_replan(*planned_, *cfg);
  if (!only || !only->empty()) {
    // The warehouse's partitions are listed first: whatever is processed after this is still seen,
    // by inotify or the next rescan.
    std::lock_guard lock(book_mu_);
    rebuild_watches(*cfg);
  }
  Status written = run_pass(*cfg, now, [&](PlanPass& pass, Summary& summary) {
    std::set<std::string> configured;
    size_t n = 0;
    for (const Order& order : cfg->orders) {
      configured.insert(order.id);
      if (only && !only->count(order.id)) continue;
      if (heartbeat_ && ++n % 256 == 0) heartbeat_();
      if (std::string why = inactive_reason(&order, order.id); !why.empty()) {
        if (Status s = cancel_pending(order.id, why, now); !s) return s;
        continue;
      }
      if (Status s = reconcile(*cfg, pass, order, first_day(order), pass.today(), summary); !s) return s;
      horizon_[order.id] = pass.today();
      // Runs of periods the order no longer has (its end moved earlier, its start later, its
      // one-off dates or chunks changed) are cancelled like those of a stopped order.
      const Order& eff = pass.effective(order);
      auto gone = [&](const RunBook::Entry& e) {
        auto periods = order_periods(eff, e.period.first, e.period.last);
        return std::find(periods.begin(), periods.end(), e.period) == periods.end();
      };
      if (Status s = cancel_pending(order.id, "no longer a period of order " + order.id + " (its dates changed)", now, gone); !s)
        return s;
    }
    // Orders no longer configured: among those a reload changed, or else all with runs.
    for (const std::string& order : only ? std::vector<std::string>(only->begin(), only->end()) : book_.orders_with_runs())
      if (!configured.count(order))
        if (Status s = cancel_pending(order, inactive_reason(nullptr, order), now); !s) return s;
    if (Status s = queue_retries(now); !s) return s;
    if (Status s = mark_late(*cfg, now, summary); !s) return s;
    plan_horizon(*cfg, pass);
    return Status::OK();
  });
  if (written) planned_ = cfg;
  return written;
}

Status Runner::advance() {
  auto cfg = config();
  if (!cfg) return Status::Error("advance: no configuration loaded");
  if (!loaded_) return replan();
  return run_pass(*cfg, clock_(), [&](PlanPass& pass, Summary& summary) {
    const Instant now = pass.now();
    for (const Order& order : cfg->orders) {
      if (!order.active()) continue;
      auto h = horizon_.find(order.id);
      date::local_days from = h == horizon_.end() ? first_day(order) : h->second;
      if (Status s = reconcile(*cfg, pass, order, from, pass.today(), summary); !s) return s;
      horizon_[order.id] = pass.today();
    }
    if (Status s = queue_retries(now); !s) return s;
    if (Status s = mark_late(*cfg, now, summary); !s) return s;
    plan_horizon(*cfg, pass);
    return Status::OK();
  });
}

void Runner::set_heartbeat(std::function<void()> heartbeat) { heartbeat_ = std::move(heartbeat); }

Status Runner::rescan() {
  auto cfg = config();
  if (!cfg) return Status::Error("rescan: no configuration loaded");
  if (!loaded_) return replan();
  std::vector<FileEvent> found;
  {
    std::lock_guard lock(book_mu_);
    rebuild_watches(*cfg, &found);
  }
  if (found.empty()) return Status::OK();
  log_message(Priority::notice, "the rescan found " + std::to_string(found.size()) +
                                    " processed partition(s) that no warehouse event announced (first: " +
                                    (found[0].folder / found[0].name).string() + ")");
  return files_changed(found);
}

Status Runner::files_changed(const std::vector<FileEvent>& events) {
  auto cfg = config();
  if (!cfg) return Status::Error("files_changed: no configuration loaded");
  if (!loaded_) return replan();
  // Which partitions may have become processed: a marker in a partition folder, or a new partition
  // folder in an interface folder (its marker may already be inside). Anything higher up (a new
  // source or interface folder) is rare enough for a whole pass.
  const fs::path warehouse = cfg->settings.warehouse.lexically_normal();
  std::map<std::string, Partition> partitions;  // by key
  bool whole = false;
  for (const FileEvent& ev : events) {
    if (auto p = partition_at(warehouse, ev.folder, ev.name)) partitions.emplace(p->key(), *p);
    else whole = true;
  }
  if (whole) return replan();
  return run_pass(*cfg, clock_(), [&](PlanPass& pass, Summary& summary) {
    for (const auto& [key, part] : partitions) {
      auto day = anchor_day(part.name);
      if (!day) continue;
      // The orders that take this interface: the period of each that holds the partition.
      for (const Order& order : cfg->orders) {
        if (!order.active() || order.source != part.source) continue;
        const Order& eff = pass.effective(order);
        if (std::find(eff.interfaces.begin(), eff.interfaces.end(), part.interface) == eff.interfaces.end()) continue;
        for (const Period& period : order_periods(eff, *day, *day)) {
          const RunBook::Entry* e = book_.find(eff.id, period);
          if (e == nullptr || e->status != RunStatus::waiting) continue;
          if (Status s = reconcile(*cfg, pass, order, period.first, period.last, summary); !s) return s;
        }
      }
      if (watch_partition(warehouse, part)) processed_.insert(key);
    }
    return Status::OK();
  });
}

// --- one attempt -------------------------------------------------------------------------------------

Outcome Runner::execute(const Run& queued, const std::atomic<bool>* cancel) {
  Outcome outcome;
  auto cfg = config();
  if (!cfg) {
    outcome.error = Status::Error("execute: no configuration loaded");
    return outcome;
  }
  const Instant now = clock_();
  const Order* order = cfg->find_order(queued.order);
  if (std::string why = inactive_reason(order, queued.order); !why.empty()) {
    // Only a run still queued is cancelled here; anything else is not ours to touch.
    outcome.status = RunStatus::cancelled;
    if (Status s = store_.set_cancelled(queued.id, now, why); !s) {
      outcome.error = Status::Error("run " + std::to_string(queued.id) + " (" + run_title(queued) + ") is no longer queued");
      return outcome;
    }
    (void)reread(queued.id);
    log_event(Event::run_cancelled, Priority::notice, fields_of(queued, RunStatus::cancelled),
              run_title(queued) + ": cancelled: " + why);
    return outcome;
  }
  if (Status s = store_.set_running(queued.id, wall_()); !s) {
    outcome.status = queued.status;
    outcome.error = s;
    if (is_lease_lost(s)) {
      outcome.abandoned = true;
      return outcome;
    }
    (void)reread(queued.id);  // another node may have claimed it: the book learns so
    return outcome;
  }
  Run run = queued;
  run.attempts += 1;
  if (auto fresh = reread(queued.id)) run = *fresh;
  {
    std::lock_guard lock(book_mu_);
    mine_.insert(run.id);
  }
  struct Done {  // the run is no longer this process's, however execute() returns
    Runner& r;
    int64_t id;
    ~Done() {
      std::lock_guard lock(r.book_mu_);
      r.mine_.erase(id);
    }
  } done{*this, run.id};
  log_event(Event::run_started, Priority::info, fields_of(run, RunStatus::running),
            run_title(run) + ": attempt " + std::to_string(run.attempts) + " started" +
                (store_.lease() ? " on node " + store_.lease()->node : ""));

  auto t0 = std::chrono::steady_clock::now();
  const std::string attempt = store_.lease() ? attempt_tag(store_.lease()->node, run.attempts) : std::string();
  auto delivered = deliver(*cfg, store_, *order, run, wall_(), cancel, attempt);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  outcome.seconds = seconds;  // metrics hook
  if (delivered) outcome.bytes = delivered->bytes;
  if (!delivered && is_lease_lost(delivered.status())) return abandon(run, delivered.status(), outcome);
  Status recorded;
  if (delivered) {
    outcome.status = RunStatus::delivered;
    recorded = store_.set_delivered(run.id, wall_(), delivered->bytes, delivered->remote, delivered->checksum);
    if (recorded) {
      char dur[32];
      std::snprintf(dur, sizeof dur, "%.1f s", seconds);
      std::string how = delivered->found
                            ? ": already on the target (an earlier attempt's final rename); recorded as delivered, "
                            : ": delivered ";
      log_event(Event::run_delivered, Priority::info, fields_of(run, RunStatus::delivered),
                run_title(run) + how + delivered->remote + " (" + human_bytes(uint64_t(delivered->bytes)) + " in " +
                    dur + ")");
    }
  } else {
    recorded = record_failure(*cfg, run, delivered.status(), cancel, outcome);
  }
  if (recorded) {
    (void)reread(run.id);
    return outcome;
  }
  if (is_lease_lost(recorded) || (fenced_ && cancel != nullptr && cancel->load()))
    return abandon(run, recorded, outcome);
  // The one error the state database cannot hold itself: say it loudly. Nothing is lost: the run
  // stays `running` and the next start's recover() finds the package on the target (or not).
  outcome.recorded = false;
  outcome.status = RunStatus::running;
  if (outcome.error.ok()) outcome.error = recorded;
  log_event(Event::run_failed, Priority::err, fields_of(run, RunStatus::running),
            run_title(run) + ": cannot record the outcome in the state database: " + recorded.message() +
                "; flisd takes no new runs until this is fixed, then restart it");
  return outcome;
}

// The node lost its lease (a fenced write was refused), or gave it up because it could not renew
// it: it writes nothing more about the run. Whatever this attempt left on the target is only a
// temporary file with this attempt's name, which the node that takes the run over removes; the
// final name was never touched (set_packed, fenced, comes before the commit).
Outcome Runner::abandon(const Run& run, const Status& why, Outcome outcome) {
  outcome.abandoned = true;
  outcome.recorded = false;
  outcome.status = RunStatus::running;
  outcome.error = why;
  log_event(Event::run_failed, Priority::warning, fields_of(run, RunStatus::running),
            run_title(run) + ": attempt " + std::to_string(run.attempts) +
                " abandoned: this node lost its lease on the state database (" + why.message() +
                "); another node, or this one once it has attached again, takes the run over");
  return outcome;
}

// --- what the loop asks -------------------------------------------------------------------------------

void Runner::for_each_queued(const std::function<bool(const RunBook::Entry&, const std::string&)>& fn) const {
  std::lock_guard lock(book_mu_);
  book_.for_each_queued([&](const RunBook::Entry& e) { return fn(e, book_.order_name(e)); });
}

std::vector<int64_t> Runner::runs_to_start(int in_flight, int backfills_in_flight,
                                           const std::function<bool(const std::string&)>& held) const {
  auto cfg = config();
  if (!cfg) return {};
  const int backfill_max = std::min(cfg->settings.backfill_workers, std::max(1, cfg->settings.workers));
  const int slots = runs_in_flight(*cfg);  // `workers` packing (deliver() bounds it), as many uploading
  std::vector<int64_t> chosen;
  int backfills = backfills_in_flight;
  std::set<std::string> considered;  // only each order's first queued run may start: in order
  for_each_queued([&](const RunBook::Entry& e, const std::string& order) {
    if (in_flight + static_cast<int>(chosen.size()) >= slots) return false;
    // The queue lists subscriptions first, so a backfill reaches here only when every due
    // subscription that could start has started; past the backfill bound nothing more can.
    if (e.kind == RunKind::backfill && backfills >= backfill_max) return false;
    if (!considered.insert(order).second || held(order)) return true;
    if (e.kind == RunKind::backfill) ++backfills;
    chosen.push_back(e.id);
    return true;
  });
  return chosen;
}

Result<std::vector<Run>> Runner::queued_runs() {
  std::vector<int64_t> ids;
  for_each_queued([&](const RunBook::Entry& e, const std::string&) {
    ids.push_back(e.id);
    return true;
  });
  std::vector<Run> out;
  out.reserve(ids.size());
  for (int64_t id : ids) {
    auto run = store_.get(id);
    if (!run) return run.status();
    if (run->has_value()) out.push_back(**run);
  }
  return out;
}

std::optional<Instant> Runner::next_wakeup() {
  std::lock_guard lock(book_mu_);
  std::optional<Instant> next = book_.next_change();
  if (next_period_end_ && (!next || *next_period_end_ < *next)) next = next_period_end_;
  if (next) next = std::max(*next, clock_());
  return next;
}

// Interface folders of the active orders (or their nearest existing parent: a folder that appears
// is seen by its parent's watch) and partition folders that exist without their marker yet.
void Runner::rebuild_watches(const Config& cfg, std::vector<FileEvent>* newly_processed) {
  std::set<fs::path> wanted;
  const fs::path warehouse = cfg.settings.warehouse.lexically_normal();
  std::set<std::pair<Source, std::string>> interfaces;
  for (const Order& order : cfg.orders) {
    if (!order.active()) continue;
    std::vector<std::string> names = order.interfaces;
    if (order.generated && names.empty() && cfg.settings.datamarts)
      if (auto it = cfg.settings.datamarts->entitlements.find(order.municipality);
          it != cfg.settings.datamarts->entitlements.end())
        names = it->second;
    for (const auto& name : names) interfaces.insert({order.source, name});
  }
  std::error_code ec;
  for (const auto& [source, interface] : interfaces) {
    const fs::path dir = interface_path(warehouse, source, interface);
    fs::path at = dir;
    while (!fs::is_directory(at, ec) && at.has_parent_path() && at != at.parent_path()) at = at.parent_path();
    wanted.insert(at);
    if (at != dir) continue;
    for (const PartitionFolder& f : list_partitions(dir)) {
      if (!f.processed) {
        wanted.insert(dir / f.name);
      } else if (processed_.insert(Partition{source, interface, f.name}.key()).second && newly_processed) {
        newly_processed->push_back({dir, f.name});
      }
    }
  }
  if (wanted != watches_) {
    watches_ = std::move(wanted);
    ++watch_version_;
  }
}

// A partition folder that changed: watched while it waits for its marker, then not.
bool Runner::watch_partition(const fs::path& warehouse, const Partition& part) {
  const fs::path folder = partition_path(warehouse, part);
  std::error_code ec;
  const bool processed = partition_processed(warehouse, part);
  bool want = !processed && fs::is_directory(folder, ec);
  if (want ? watches_.insert(folder).second : watches_.erase(folder) > 0) ++watch_version_;
  return processed;
}

std::vector<fs::path> Runner::watch_paths() {
  std::lock_guard lock(book_mu_);
  if (!loaded_)
    if (auto cfg = config()) rebuild_watches(*cfg);
  return {watches_.begin(), watches_.end()};
}

uint64_t Runner::watch_version() const {
  std::lock_guard lock(book_mu_);
  return watch_version_;
}

RunCounts Runner::counts() const {
  std::lock_guard lock(book_mu_);
  RunCounts c;
  for (size_t i = 0; i < c.by_status.size(); ++i) c.by_status[i] = book_.count(RunStatus(i));
  c.late = book_.late_count();
  c.retrying = book_.retry_count();
  return c;
}

std::string Runner::status_line() {
  auto cfg = config();
  if (!cfg) return "no configuration loaded";
  const date::time_zone* tz = zone_of(cfg->settings);
  size_t orders = std::count_if(cfg->orders.begin(), cfg->orders.end(), [](const Order& o) { return o.active(); });
  std::vector<std::string> running;
  int64_t waiting = 0, late = 0;
  {
    // This process's own runs: with several nodes the book also holds the others'.
    std::lock_guard lock(book_mu_);
    for (int64_t id : store_.lease() ? mine_ : book_.running())
      if (const RunBook::Entry* e = book_.find(id)) running.push_back(book_.order_name(*e) + " " + e->period.name());
    waiting = book_.count(RunStatus::waiting);
    late = book_.late_count();
  }
  std::string line = store_.lease() ? "node " + store_.lease()->node + ": " : std::string();
  line += std::to_string(orders) + (orders == 1 ? " order; " : " orders; ") + std::to_string(running.size()) + " running";
  if (!running.empty()) {
    std::string shown;
    for (size_t i = 0; i < std::min<size_t>(running.size(), 3); ++i) shown += (i ? ", " : "") + running[i];
    line += " (" + shown + (running.size() > 3 ? ", ..." : "") + ")";
  }
  line += "; " + std::to_string(waiting) + " waiting, " + std::to_string(late) + " late";
  if (auto next = next_wakeup()) line += "; next " + format_local_short(*next, tz);
  return line;
}

// --- crash recovery and the control operations -----------------------------------------------------------

Status Runner::recover(const std::atomic<bool>* cancel) {
  auto cfg = config();
  if (!cfg) return Status::Error("recover: no configuration loaded");
  // A named node recovers only what no live node holds: its own earlier incarnation's runs and
  // those of nodes whose lease ended. Others' runs in flight are theirs.
  if (store_.lease()) return rescue(cancel).status();
  auto running = store_.list({.status = RunStatus::running});
  if (!running) return running.status();
  for (const Run& run : *running) {
    if (Status s = recover_one(*cfg, run, cancel); !s) return s;
  }
  return Status::OK();
}

Result<int> Runner::rescue(const std::atomic<bool>* cancel) {
  auto cfg = config();
  if (!cfg) return Status::Error("rescue: no configuration loaded");
  if (!store_.lease()) return 0;
  auto orphans = store_.take_orphans();
  if (!orphans) return orphans.status();
  for (const Run& run : *orphans) {
    log_event(Event::recovered, Priority::notice, fields_of(run, RunStatus::running),
              run_title(run) + ": its node's lease ended during attempt " + std::to_string(run.attempts) +
                  "; taken over by node " + store_.lease()->node + ", checking the target");
    if (Status s = recover_one(*cfg, run, cancel); !s) {
      if (is_lease_lost(s)) return s;
      log_event(Event::recovered, Priority::err, fields_of(run, RunStatus::running), run_title(run) + ": " + s.message());
    }
  }
  return int(orphans->size());
}

// One run left `running` by a crash: delivered if its package is complete on the target, else
// queued again (inspect() has removed the stale temporary file). When the target cannot be asked,
// the run is queued too: execute() asks again before building, so nothing is delivered twice.
Status Runner::recover_one(const Config& cfg, const Run& run, const std::atomic<bool>* cancel) {
  Instant now = clock_();
  const Order* order = cfg.find_order(run.order);
  std::string why = "interrupted (flisd stopped during the run); queued again";
  if (order != nullptr) {
    auto found = find_delivered(cfg, *order, run, cancel);
    if (found && found->has_value()) {
      const Delivered& d = **found;
      if (Status s = store_.set_delivered(run.id, wall_(), d.bytes, d.remote, d.checksum); !s) return s;
      if (auto r = reread(run.id); !r) return r.status();
      log_event(Event::recovered, Priority::notice, fields_of(run, RunStatus::delivered),
                run_title(run) + ": found complete on the target after a restart (" + d.remote + ", " +
                    human_bytes(uint64_t(d.bytes)) + "); recorded as delivered");
      return Status::OK();
    }
    if (!found) why = "interrupted; the target could not be checked (" + found.message() + "); queued again";
  }
  if (Status s = store_.set_queued(run.id, now); !s) return s;
  if (auto r = reread(run.id); !r) return r.status();
  log_event(Event::recovered, Priority::notice, fields_of(run, RunStatus::queued), run_title(run) + ": " + why);
  return Status::OK();
}


// A failed attempt: retried after the policy's backoff while attempts remain, else left failed.
// A shutdown is not a failure: the run goes back to the queue for the next start.
Status Runner::record_failure(const Config& cfg, const Run& run, const Status& error, const std::atomic<bool>* cancel,
                              Outcome& outcome) {
  Instant now = clock_();
  outcome.error = error;
  if (cancel != nullptr && cancel->load() && fenced_) return Status::LeaseLost("this node could not renew its lease");
  if (cancel != nullptr && cancel->load()) {
    if (Status s = store_.set_queued(run.id, now); !s) return s;
    outcome.status = RunStatus::queued;
    log_event(Event::run_queued, Priority::notice, fields_of(run, RunStatus::queued),
              run_title(run) + ": interrupted by shutdown; queued for the next start");
    return Status::OK();
  }
  const RetryPolicy& policy = cfg.settings.retry;
  const date::time_zone* tz = zone_of(cfg.settings);
  if (run.attempts < policy.attempts) {
    Instant next = now + retry_backoff(policy, run.attempts);
    if (Status s = store_.set_failed(run.id, wall_(), error.message(), next); !s) return s;
    log_event(Event::run_retried, Priority::warning, fields_of(run, RunStatus::failed),
              run_title(run) + ": attempt " + std::to_string(run.attempts) + " of " + std::to_string(policy.attempts) +
                  " failed: " + error.message() + "; retrying at " + format_local_short(next, tz));
  } else {
    if (Status s = store_.set_failed(run.id, wall_(), error.message(), std::nullopt); !s) return s;
    log_event(Event::run_failed, Priority::err, fields_of(run, RunStatus::failed),
              run_title(run) + ": failed after " + std::to_string(run.attempts) + " attempt(s): " + error.message() +
                  "; fix the cause, then `flisctl retry " + std::to_string(run.id) + "`");
  }
  outcome.status = RunStatus::failed;
  return Status::OK();
}

Result<std::vector<Run>> Runner::trigger(const std::string& order_id, const std::optional<Period>& period) {
  auto cfg = config();
  if (!cfg) return Status::Error("trigger: no configuration loaded");
  const Order* order = cfg->find_order(order_id);
  if (std::string why = inactive_reason(order, order_id); !why.empty())
    return Status::Error(order == nullptr ? "no order " + order_id + " in the configuration" : why);
  if (!period) {
    if (Status s = load_book(); !s) return s;
    Status s = run_pass(*cfg, clock_(), [&](PlanPass& pass, Summary& summary) {
      return reconcile(*cfg, pass, *order, first_day(*order), pass.today(), summary);
    });
    if (!s) return s;
    auto queued = queued_runs();
    if (!queued) return queued;
    std::vector<Run> mine;
    for (auto& r : *queued)
      if (r.order == order_id) mine.push_back(r);
    return mine;
  }
  if (Status s = check_period(*cfg, *order, *period); !s) return s;
  Instant now = clock_();
  auto run = store_.ensure(proto_of(*cfg, *order, *period, RunStatus::queued, now));
  if (!run) return run.status();
  switch (run->status) {
    case RunStatus::delivered:
      return Status::Error(order_id + " " + period->name() + " is already delivered (run " + std::to_string(run->id) +
                           ", " + run->remote + "); use `flisctl redeliver " + order_id + " --period " + period->name() +
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
  auto fresh = reread(run->id);
  if (!fresh) return fresh.status();
  log_event(Event::run_queued, Priority::notice, fields_of(*fresh, fresh->status),
            run_title(*fresh) + ": triggered by hand; " + std::string(to_string(fresh->status)));
  return std::vector<Run>{*fresh};
}

// OK for a period of `order` that has ended and whose data is all processed; else why not.
Status Runner::check_period(const Config& cfg, const Order& order, const Period& period) {
  const std::string name = period.name();
  const date::time_zone* tz = zone_of(cfg.settings);
  Instant now = clock_();
  auto periods = order_periods(order, local_day(now, tz));
  if (std::find(periods.begin(), periods.end(), period) == periods.end())
    return Status::Error(name + " is not a period of order " + order.id + " (see `flisctl plan` for its periods)");
  if (now < period.end_instant(tz))
    return Status::Error(order.id + " " + name + " has not ended yet (it ends " +
                         format_local_short(period.end_instant(tz), tz) + ")");
  std::vector<std::string> missing;
  for (const Partition& p : partitions_for(cfg, order, period))
    if (!partition_processed(cfg.settings.warehouse, p)) missing.push_back(p.key());
  if (!missing.empty())
    return Status::Error(order.id + " " + name + ": data not processed yet; missing " + missing_summary(missing));
  return Status::OK();
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
  return reread(run_id);
}


Result<Run> Runner::redeliver(const std::string& order_id, const Period& period) {
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
    return Status::Error(order_id + " " + period.name() + " has not been delivered yet; `flisctl trigger " +
                         order_id + " --period " + period.name() + "` delivers it the first time");
  auto run = store_.add_redelivery(order_id, period, order->municipality, kind_of(*order), cfg->version, clock_());
  if (!run) return run;
  {
    std::lock_guard lock(book_mu_);
    book_.put(*run);
  }
  log_event(Event::run_queued, Priority::notice, fields_of(*run, RunStatus::queued),
            run_title(*run) + ": redelivery asked for by hand; queued as " +
                package_name(order_id, period.name(), run->redelivery));
  return run;
}


}  // namespace flis
