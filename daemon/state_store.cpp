// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run store's logic, written once in SQL both engines run (daemon/state_db.h): the legal
// transitions, the fencing of a node's writes by its lease, the claim and the rescue of orphans.
// See daemon/state_store.h for the contract.
#include "daemon/state_store.h"

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include <date/date.h>

#include "base/printable.h"
#include "daemon/state_db.h"

namespace flis {
namespace {

constexpr const char* kColumns =
    "id, order_id, municipality, period, redelivery, kind, status, attempts, created, started, "
    "finished, next_attempt, bytes, remote, checksum, error, config_version, missing, late, node, "
    "incarnation, version";

SqlValue time_value(const std::optional<Instant>& t) {
  if (!t) return std::monostate{};
  return int64_t(t->time_since_epoch().count());
}

std::optional<Instant> time_column(const SqlRow& row, int col) {
  if (row.null(col)) return std::nullopt;
  return Instant(std::chrono::seconds(row.integer(col)));
}

// The missing partitions are one comma-separated column: text only at the store's boundary.
std::string join_missing(const std::vector<std::string>& missing) {
  std::string out;
  for (const auto& m : missing) (out.empty() ? out : out += ',') += m;
  return out;
}

std::vector<std::string> split_missing(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = 0; at < text.size();) {
    size_t comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    if (comma > at) out.push_back(text.substr(at, comma - at));
    at = comma + 1;
  }
  return out;
}

// Why a row cannot be read as a run: flisd only writes Period::name() in the period column.
std::string bad_period(int64_t id, const std::string& text) {
  const std::string run = std::to_string(id);
  return "run " + run + " has period '" + printable(text) +
         "', which is not a period name (the row was edited by hand or the database is damaged); set it to "
         "the period of its package (e.g. UPDATE runs SET period = '2026-11' WHERE id = " + run +
         ") or remove the run (DELETE FROM runs WHERE id = " + run + "), then try again";
}

// A row as a Run; an error (bad_period's text) for a period column that does not parse.
Result<Run> read_run(const SqlRow& s) {
  Run r;
  r.id = s.integer(0);
  r.order = s.text(1);
  r.municipality = int(s.integer(2));
  std::string period = s.text(3);
  auto parsed = Period::parse(period);
  if (!parsed) return Status::Error(bad_period(r.id, period));
  r.period = *parsed;
  r.redelivery = int(s.integer(4));
  r.kind = parse_run_kind(s.text(5)).value_or(RunKind::subscription);
  // An unknown status can only come from a hand-edited database; show it as failed, not crash.
  r.status = parse_run_status(s.text(6)).value_or(RunStatus::failed);
  r.attempts = int(s.integer(7));
  r.created = time_column(s, 8);
  r.started = time_column(s, 9);
  r.finished = time_column(s, 10);
  r.next_attempt = time_column(s, 11);
  r.bytes = s.integer(12);
  r.remote = s.text(13);
  r.checksum = s.text(14);
  r.error = s.text(15);
  r.config_version = s.text(16);
  r.missing = split_missing(s.text(17));
  r.late = s.integer(18) != 0;
  r.node = s.text(19);
  r.incarnation = s.integer(20);
  r.version = s.null(21) ? 0 : s.integer(21);
  return r;
}

// " AND status IN ('waiting', ...)": the states run_state.h allows a transition to `to` from.
std::string from_states(RunStatus to) {
  std::string in;
  for (RunStatus from : sources_of(to)) in += std::string(in.empty() ? "" : ", ") + "'" + std::string(to_string(from)) + "'";
  return " AND status IN (" + in + ")";
}

std::string param(int n) { return "?" + std::to_string(n); }

// This node (parameters ?n, ?n+1) holds a live lease: the database's clock decides, so the nodes'
// clocks may differ.
std::string lease_live(int n) {
  return " AND EXISTS (SELECT 1 FROM nodes WHERE name = " + param(n) + " AND incarnation = " + param(n + 1) +
         " AND lease_until > {now})";
}

// How a write is fenced once this process is a node.
enum class Fence {
  none,     // not a change of a running run (waiting, late, cancelled)
  claim,    // set_running: only with a live lease
  held,     // may change a running run: only one this incarnation holds, with a live lease
  running,  // only a running run this incarnation holds, with a live lease (set_packed)
};

std::string fence_sql(Fence fence, int n) {
  std::string me = "node = " + param(n) + " AND incarnation = " + param(n + 1);
  switch (fence) {
    case Fence::none: return "";
    case Fence::claim: return lease_live(n);
    case Fence::held: return " AND (status <> 'running' OR (" + me + lease_live(n) + "))";
    case Fence::running: return " AND " + me + lease_live(n);
  }
  return "";
}

bool process_alive(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

std::string clock_text(int64_t unix_seconds) {
  return date::format("%FT%TZ", Instant(std::chrono::seconds(unix_seconds)));
}

class SqlStore final : public StateStore {
 public:
  SqlStore(std::string location, std::unique_ptr<StateDb> db) : StateStore(std::move(location)), db_(std::move(db)) {}

  Result<Run> ensure(const Run& proto) override;
  Result<Run> add_redelivery(const std::string& order, const Period& period, int municipality, RunKind kind,
                             const std::string& config_version, Instant now) override;
  Status set_waiting(int64_t id, const std::vector<std::string>& missing) override;
  Result<bool> set_late(int64_t id) override;
  Status set_queued(int64_t id, Instant now) override;
  Status requeue_fresh(int64_t id, Instant now) override;
  Status set_running(int64_t id, Instant now) override;
  Status set_packed(int64_t id, int64_t bytes, const std::string& remote, const std::string& checksum) override;
  Status set_delivered(int64_t id, Instant now, int64_t bytes, const std::string& remote,
                       const std::string& checksum) override;
  Status set_failed(int64_t id, Instant now, const std::string& error, std::optional<Instant> next_attempt) override;
  Status set_cancelled(int64_t id, Instant now, const std::string& why) override;
  Status batch(const std::function<Status()>& body) override;
  Result<std::optional<Run>> get(int64_t id) override;
  Result<std::vector<Run>> list(const RunFilter& filter) override;
  Status scan(const std::function<void(const Run&)>& fn) override;
  Status changes_since(int64_t after, const std::function<void(const Run&)>& fn, int64_t* last) override;
  Result<NodeLease> attach_node(const std::string& node, std::chrono::seconds lease, const std::string& host,
                                int pid) override;
  Status renew_lease() override;
  Status release_lease() override;
  Result<std::optional<Run>> claim_next(Instant now) override;
  Result<std::vector<Run>> take_orphans() override;
  Result<std::vector<LastDelivery>> last_deliveries() override;
  Result<int64_t> count_runs() override;
  Status import_runs(StateStore& from) override;

 private:
  // One UPDATE of run `id` (?1) setting `set`, with `params` from ?2 on; `to` is the transition
  // (checked against run_state.h in the statement) or nullopt for an update whose `guard` is its
  // own. No row changed is an error saying why: no such run, a state that may not change so, or
  // this node's lease lost.
  Status update_run(int64_t id, std::optional<RunStatus> to, const std::string& set, const std::string& guard,
                    std::vector<SqlValue> params, Fence fence, const std::string& doing);
  Status refused(int64_t id, std::optional<RunStatus> to, Fence fence, const std::string& doing);
  Result<bool> lease_is_live();
  Status lease_lost(const std::string& doing, const std::string& why);
  Result<std::vector<Run>> runs_of(const std::string& sql, std::vector<SqlValue> params, const std::string& doing);
  Status error(const std::string& doing, const std::string& what) {
    return Status::Error(db_->shown() + ": " + doing + ": " + what);
  }

  std::recursive_mutex mu_;  // recursive: a batch's body makes the store's own calls
  bool in_batch_ = false;
  std::unique_ptr<StateDb> db_;
};

Status SqlStore::batch(const std::function<Status()>& body) {
  std::lock_guard lock(mu_);
  if (in_batch_) return body();
  if (Status s = db_->begin("starting a batch of transitions"); !s) return s;
  in_batch_ = true;
  Status s = body();
  in_batch_ = false;
  if (s) s = db_->commit("committing a batch of transitions");
  if (!s) db_->rollback();
  return s;
}

Result<Run> SqlStore::ensure(const Run& proto) {
  std::lock_guard lock(mu_);
  const std::string period = proto.period.name();
  const std::string doing = "recording run " + proto.order + " " + period;
  // One statement: the run exists afterwards, and an existing one is untouched, however many
  // nodes plan the same period at once.
  auto ins = db_->insert(
      "INSERT INTO runs (order_id, municipality, period, redelivery, kind, status, created, config_version, "
      "missing, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, {nextver}) "
      "ON CONFLICT (order_id, period, redelivery) DO NOTHING",
      {proto.order, int64_t(proto.municipality), period, int64_t(proto.redelivery),
       std::string(to_string(proto.kind)), std::string(to_string(proto.status)), time_value(proto.created),
       proto.config_version, join_missing(proto.missing)},
      doing);
  if (!ins) return ins.status();
  if (*ins) {
    // Inserted: the row is the proto with its new id; no need to read it back.
    Run made = proto;
    made.id = (*ins)->id;
    made.version = (*ins)->version;
    made.attempts = 0;
    made.started = made.finished = made.next_attempt = std::nullopt;
    made.bytes = 0;
    made.remote.clear();
    made.checksum.clear();
    made.error.clear();
    made.late = false;
    made.node.clear();
    made.incarnation = 0;
    return made;
  }
  auto runs = runs_of(std::string("SELECT ") + kColumns + " FROM runs WHERE order_id = ?1 AND period = ?2 AND redelivery = ?3",
                      {proto.order, period, int64_t(proto.redelivery)}, "reading run " + proto.order + " " + period);
  if (!runs) return runs.status();
  if (runs->empty()) return error(doing, "the run vanished right after it was recorded; try again");
  return runs->front();
}

Result<Run> SqlStore::add_redelivery(const std::string& order, const Period& of, int municipality, RunKind kind,
                                     const std::string& config_version, Instant now) {
  std::lock_guard lock(mu_);
  const std::string period = of.name();
  const std::string doing = "adding a redelivery of " + order + " " + period;
  // One statement computes max + 1 and inserts it, so two callers can never pick the same number.
  // A redelivery is always .r2 or later, even if the first delivery's row is gone.
  auto runs = runs_of(std::string(
                          "INSERT INTO runs (order_id, municipality, period, redelivery, kind, status, created, "
                          "config_version, version) "
                          "SELECT ?1, ?2, ?3, COALESCE(MAX(redelivery), 1) + 1, ?4, 'queued', ?5, ?6, {nextver} "
                          "FROM runs WHERE order_id = ?1 AND period = ?3 RETURNING ") + kColumns,
                      {order, int64_t(municipality), period, std::string(to_string(kind)), time_value(now), config_version},
                      doing);
  if (!runs) return runs.status();
  if (runs->empty()) return error(doing, "nothing was inserted; try again");
  return runs->front();
}

Status SqlStore::update_run(int64_t id, std::optional<RunStatus> to, const std::string& set, const std::string& guard,
                            std::vector<SqlValue> params, Fence fence, const std::string& doing) {
  std::lock_guard lock(mu_);
  params.insert(params.begin(), id);
  std::string sql = "UPDATE runs SET " + set + ", version = {nextver} WHERE id = ?1" + guard;
  if (to) sql += from_states(*to);
  if (lease_ && fence != Fence::none) {
    sql += fence_sql(fence, int(params.size()) + 1);
    params.emplace_back(lease_->node);
    params.emplace_back(lease_->incarnation);
  }
  auto changed = db_->exec(sql, params, {}, doing);
  if (!changed) return changed.status();
  if (*changed == 0) return refused(id, to, lease_ ? fence : Fence::none, doing);
  return Status::OK();
}

Status SqlStore::lease_lost(const std::string& doing, const std::string& why) {
  return Status::LeaseLost(db_->shown() + ": " + doing + ": " + why +
                           "; another node may be finishing the run, so this node must abandon it");
}

Result<bool> SqlStore::lease_is_live() {
  bool live = false;
  auto r = db_->exec("SELECT 1 FROM nodes WHERE name = ?1 AND incarnation = ?2 AND lease_until > {now}",
                     {lease_->node, lease_->incarnation}, [&](const SqlRow&) { live = true; }, "checking this node's lease");
  if (!r) return r.status();
  return live;
}

// Why a transition changed nothing, so the caller can tell a lost lease from a wrong state.
Status SqlStore::refused(int64_t id, std::optional<RunStatus> to, Fence fence, const std::string& doing) {
  if (fence != Fence::none) {
    auto live = lease_is_live();
    if (!live) return live.status();
    if (!*live)
      return lease_lost(doing, "the lease of node " + lease_->node + " (incarnation " +
                                   std::to_string(lease_->incarnation) + ") has expired or was taken over");
    auto run = get(id);
    if (!run) return run.status();
    if (*run && (*run)->status == RunStatus::running && fence != Fence::claim &&
        ((*run)->node != lease_->node || (*run)->incarnation != lease_->incarnation))
      return lease_lost(doing, "run " + std::to_string(id) + " is now held by node " + (*run)->node +
                                   " (incarnation " + std::to_string((*run)->incarnation) + ")");
  }
  return error(doing, "no such run, or it is not in a state that may become " +
                          std::string(to ? to_string(*to) : "changed"));
}

Status SqlStore::set_waiting(int64_t id, const std::vector<std::string>& missing) {
  return update_run(id, RunStatus::waiting, "status = 'waiting', missing = ?2", "", {join_missing(missing)}, Fence::none,
                    "marking run " + std::to_string(id) + " waiting");
}

Result<bool> SqlStore::set_late(int64_t id) {
  std::lock_guard lock(mu_);
  const std::string doing = "marking run " + std::to_string(id) + " late (it must be waiting)";
  // late = 0 in the statement: of several nodes planning at once, one marks it, and logs it.
  auto changed = db_->exec("UPDATE runs SET late = 1, version = {nextver} WHERE id = ?1 AND status = 'waiting' AND late = 0",
                           {id}, {}, doing);
  if (!changed) return changed.status();
  if (*changed == 1) return true;
  auto run = get(id);
  if (!run) return run.status();
  if (*run && (*run)->status == RunStatus::waiting && (*run)->late) return false;
  return error(doing, "no such run, or it is not waiting");
}

Status SqlStore::set_queued(int64_t id, Instant) {
  return update_run(id, RunStatus::queued, "status = 'queued', missing = '', next_attempt = NULL", "", {}, Fence::held,
                    "queueing run " + std::to_string(id));
}

Status SqlStore::requeue_fresh(int64_t id, Instant) {
  return update_run(id, RunStatus::queued, "status = 'queued', attempts = 0, missing = '', next_attempt = NULL", "", {},
                    Fence::held, "queueing run " + std::to_string(id) + " for a retry");
}

Status SqlStore::set_running(int64_t id, Instant now) {
  // Only a queued run may start: two workers (or nodes) can never run the same package at once.
  return update_run(id, RunStatus::running,
                    "status = 'running', attempts = attempts + 1, started = ?2, finished = NULL, next_attempt = NULL, "
                    "node = ?3, incarnation = ?4",
                    "", {time_value(now), lease_ ? lease_->node : std::string(), lease_ ? lease_->incarnation : int64_t(0)},
                    Fence::claim, "starting run " + std::to_string(id) + " (it must be queued)");
}

Status SqlStore::set_packed(int64_t id, int64_t bytes, const std::string& remote, const std::string& checksum) {
  return update_run(id, std::nullopt, "bytes = ?2, remote = ?3, checksum = ?4", " AND status = 'running'",
                    {bytes, remote, checksum}, Fence::running,
                    "recording the package of run " + std::to_string(id) + " (it must be running)");
}

Status SqlStore::set_delivered(int64_t id, Instant now, int64_t bytes, const std::string& remote,
                               const std::string& checksum) {
  return update_run(id, RunStatus::delivered,
                    "status = 'delivered', finished = ?2, bytes = ?3, remote = ?4, checksum = ?5, error = '', "
                    "missing = '', next_attempt = NULL",
                    "", {time_value(now), bytes, remote, checksum}, Fence::held,
                    "marking run " + std::to_string(id) + " delivered");
}

Status SqlStore::set_failed(int64_t id, Instant now, const std::string& error, std::optional<Instant> next_attempt) {
  // printable: the error may quote an SFTP server or a file name.
  return update_run(id, RunStatus::failed, "status = 'failed', finished = ?2, error = ?3, next_attempt = ?4", "",
                    {time_value(now), printable(error), time_value(next_attempt)}, Fence::held,
                    "marking run " + std::to_string(id) + " failed");
}

Status SqlStore::set_cancelled(int64_t id, Instant now, const std::string& why) {
  return update_run(id, RunStatus::cancelled, "status = 'cancelled', finished = ?2, error = ?3, next_attempt = NULL", "",
                    {time_value(now), printable(why)}, Fence::held,
                    "cancelling run " + std::to_string(id) + " (it must be waiting, queued or failed)");
}

Result<std::vector<Run>> SqlStore::runs_of(const std::string& sql, std::vector<SqlValue> params, const std::string& doing) {
  std::lock_guard lock(mu_);
  std::vector<Run> runs;
  Status bad;
  auto r = db_->exec(sql, params,
                     [&](const SqlRow& row) {
                       if (!bad) return;
                       auto run = read_run(row);
                       if (run) runs.push_back(std::move(*run));
                       else bad = run.status();
                     },
                     doing);
  if (!r) return r.status();
  if (!bad) return error(doing, bad.message());
  return runs;
}

Result<std::optional<Run>> SqlStore::get(int64_t id) {
  auto runs = runs_of(std::string("SELECT ") + kColumns + " FROM runs WHERE id = ?1", {id}, "reading run " + std::to_string(id));
  if (!runs) return runs.status();
  if (runs->empty()) return std::optional<Run>();
  return std::optional<Run>(std::move(runs->front()));
}

Result<std::vector<Run>> SqlStore::list(const RunFilter& filter) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM runs WHERE 1 = 1";
  std::vector<SqlValue> params;
  if (filter.order) {
    params.emplace_back(*filter.order);
    sql += " AND order_id = " + param(int(params.size()));
  }
  if (filter.status) {
    params.emplace_back(std::string(to_string(*filter.status)));
    sql += " AND status = " + param(int(params.size()));
  }
  return runs_of(sql + " ORDER BY id", std::move(params), "listing runs");
}

Status SqlStore::scan(const std::function<void(const Run&)>& fn) {
  std::lock_guard lock(mu_);
  const std::string doing = "reading the runs";
  Status bad;
  Status s = db_->exec(std::string("SELECT ") + kColumns + " FROM runs ORDER BY id", {},
                       [&](const SqlRow& row) {
                         if (!bad) return;  // the rest of the rows are not handed on
                         auto run = read_run(row);
                         if (run) fn(*run);
                         else bad = run.status();
                       },
                       doing)
                 .status();
  if (!s) return s;
  return bad ? Status::OK() : error(doing, bad.message());
}

Status SqlStore::changes_since(int64_t after, const std::function<void(const Run&)>& fn, int64_t* last) {
  std::lock_guard lock(mu_);
  const std::string doing = "reading the runs changed since version " + std::to_string(after);
  auto horizon = db_->settled_version(doing);
  if (!horizon) return horizon.status();
  if (*horizon == StateDb::kBusy) {  // another node is writing: nothing is certain yet
    if (last) *last = after;
    return Status::OK();
  }
  int64_t seen = after;
  Status bad;
  Status s = db_->exec(std::string("SELECT ") + kColumns + " FROM runs WHERE version > ?1 AND version <= ?2 ORDER BY version",
                       {after, *horizon},
                       [&](const SqlRow& row) {
                         if (!bad) return;  // stop before it: the next look reads it again
                         auto r = read_run(row);
                         if (!r) {
                           bad = r.status();
                           return;
                         }
                         seen = std::max(seen, r->version);
                         fn(*r);
                       },
                       doing)
                 .status();
  if (!s) return s;
  if (last) *last = seen;
  return bad ? Status::OK() : error(doing, bad.message());
}

// --- several hosts --------------------------------------------------------------------------------

Result<NodeLease> SqlStore::attach_node(const std::string& node, std::chrono::seconds lease, const std::string& host,
                                        int pid) {
  std::lock_guard lock(mu_);
  const std::string doing = "registering this process as node " + node;
  // take_over: an incarnation whose lease may be taken before it ends (its process is dead).
  auto attempt = [&](int64_t take_over) -> Result<std::optional<int64_t>> {
    std::optional<int64_t> incarnation;
    auto r = db_->exec(
        "INSERT INTO nodes (name, incarnation, host, pid, started, lease_until) "
        "VALUES (?1, 1, ?2, ?3, {now}, {now} + ?4) "
        "ON CONFLICT (name) DO UPDATE SET incarnation = nodes.incarnation + 1, host = excluded.host, "
        "pid = excluded.pid, started = excluded.started, lease_until = excluded.lease_until "
        "WHERE nodes.lease_until <= {now} OR nodes.incarnation = ?5 RETURNING incarnation",
        {node, host, int64_t(pid), int64_t(lease.count()), take_over},
        [&](const SqlRow& row) { incarnation = row.integer(0); }, doing);
    if (!r) return r.status();
    return incarnation;
  };
  auto got = attempt(-1);
  if (!got) return got.status();
  if (!*got) {
    struct Holder {
      int64_t incarnation = 0, pid = 0, until = 0;
      std::string host;
    } holder;
    auto r = db_->exec("SELECT incarnation, host, pid, lease_until FROM nodes WHERE name = ?1", {node},
                       [&](const SqlRow& row) {
                         holder = {row.integer(0), row.integer(2), row.integer(3), row.text(1)};
                       },
                       doing);
    if (!r) return r.status();
    // The process that held the name on this host is gone (a crash, kill -9): no need to wait
    // for its lease to end; its runs become orphans at once.
    if (holder.host == host && (holder.pid == pid || !process_alive(int(holder.pid)))) {
      got = attempt(holder.incarnation);
      if (!got) return got.status();
    }
    if (!*got)
      return error(doing, "node " + node + " is held by process " + std::to_string(holder.pid) + " on host " +
                              holder.host + " until " + clock_text(holder.until) +
                              " (database clock); stop that flisd, or give this one another name with --node");
  }
  lease_ = NodeLease{node, **got};
  lease_length_ = lease;
  return *lease_;
}

Status SqlStore::renew_lease() {
  std::lock_guard lock(mu_);
  if (!lease_) return Status::Error("renewing the lease: this process has not attached as a node");
  const std::string doing = "renewing the lease of node " + lease_->node;
  auto changed = db_->exec(
      "UPDATE nodes SET lease_until = {now} + ?3 WHERE name = ?1 AND incarnation = ?2 AND lease_until > {now}",
      {lease_->node, lease_->incarnation, int64_t(lease_length_.count())}, {}, doing);
  if (!changed) return changed.status();
  if (*changed == 0)
    return Status::LeaseLost(db_->shown() + ": " + doing + ": the lease of incarnation " +
                             std::to_string(lease_->incarnation) +
                             " has expired or was taken over; stop taking runs and abandon those running");
  return Status::OK();
}

Status SqlStore::release_lease() {
  std::lock_guard lock(mu_);
  if (!lease_) return Status::OK();
  return db_->exec("UPDATE nodes SET lease_until = {now} WHERE name = ?1 AND incarnation = ?2 AND lease_until > {now}",
                   {lease_->node, lease_->incarnation}, {}, "releasing the lease of node " + lease_->node)
      .status();
}

Result<std::optional<Run>> SqlStore::claim_next(Instant now) {
  std::lock_guard lock(mu_);
  const std::string doing = "claiming the next queued run";
  std::vector<SqlValue> params{time_value(now), lease_ ? lease_->node : std::string(),
                               lease_ ? lease_->incarnation : int64_t(0)};
  // {lock}: on PostgreSQL FOR UPDATE SKIP LOCKED, so nodes claiming at once take different runs
  // instead of waiting for each other.
  auto runs = runs_of(std::string(
                          "UPDATE runs SET status = 'running', attempts = attempts + 1, started = ?1, finished = NULL, "
                          "next_attempt = NULL, node = ?2, incarnation = ?3, version = {nextver} "
                          "WHERE status = 'queued' AND id = (SELECT id FROM runs WHERE status = 'queued' "
                          "ORDER BY CASE kind WHEN 'backfill' THEN 1 ELSE 0 END, period, id LIMIT 1{lock})") +
                          (lease_ ? lease_live(2) : std::string()) + " RETURNING " + kColumns,
                      params, doing);
  if (!runs) return runs.status();
  if (!runs->empty()) return std::optional<Run>(std::move(runs->front()));
  if (lease_) {
    auto live = lease_is_live();
    if (!live) return live.status();
    if (!*live) return lease_lost(doing, "the lease of node " + lease_->node + " has expired or was taken over");
  }
  return std::optional<Run>();
}

Result<std::vector<Run>> SqlStore::take_orphans() {
  std::lock_guard lock(mu_);
  const std::string doing = "taking over the runs of nodes whose lease ended";
  if (!lease_) return Status::Error(doing + ": this process has not attached as a node");
  auto runs = runs_of(std::string("UPDATE runs SET node = ?1, incarnation = ?2, version = {nextver} WHERE id IN "
                                  "(SELECT id FROM runs r WHERE r.status = 'running' AND NOT EXISTS "
                                  "(SELECT 1 FROM nodes n WHERE n.name = r.node AND n.incarnation = r.incarnation "
                                  "AND n.lease_until > {now}){lock}) AND status = 'running'") +
                          lease_live(1) + " RETURNING " + kColumns,
                      {lease_->node, lease_->incarnation}, doing);
  if (!runs) return runs;
  if (runs->empty()) {
    auto live = lease_is_live();
    if (!live) return live.status();
    if (!*live) return lease_lost(doing, "the lease of node " + lease_->node + " has expired or was taken over");
  }
  return runs;
}

// --- metrics hook (daemon/metrics.h) --------------------------------------------------------------

Result<std::vector<StateStore::LastDelivery>> SqlStore::last_deliveries() {
  std::lock_guard lock(mu_);
  // The newest delivery of each order comes first in its group.
  std::vector<LastDelivery> out;
  auto r = db_->exec(
      "SELECT order_id, municipality, finished FROM runs WHERE status = 'delivered' AND finished IS NOT NULL "
      "ORDER BY order_id, finished DESC, id DESC",
      {},
      [&](const SqlRow& row) {
        std::string order = row.text(0);
        if (!out.empty() && out.back().order == order) return;
        out.push_back({order, int(row.integer(1)), *time_column(row, 2)});
      },
      "reading the last deliveries");
  if (!r) return r.status();
  return out;
}

// --- moving a history -----------------------------------------------------------------------------

Result<int64_t> SqlStore::count_runs() {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  auto r = db_->exec("SELECT COUNT(*) FROM runs", {}, [&](const SqlRow& row) { n = row.integer(0); }, "counting the runs");
  if (!r) return r.status();
  return n;
}

Status SqlStore::import_runs(StateStore& from) {
  std::lock_guard lock(mu_);
  Status copied;
  int64_t highest = 0;
  Status read = from.scan([&](const Run& run) {
    if (!copied) return;
    highest = std::max(highest, run.id);
    const std::string period = run.period.name();
    copied = db_->exec(
                    "INSERT INTO runs (id, order_id, municipality, period, redelivery, kind, status, attempts, created, "
                    "started, finished, next_attempt, bytes, remote, checksum, error, config_version, missing, late, "
                    "node, incarnation, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                    "?15, ?16, ?17, ?18, ?19, ?20, ?21, {nextver})",
                    {run.id, run.order, int64_t(run.municipality), period, int64_t(run.redelivery),
                     std::string(to_string(run.kind)), std::string(to_string(run.status)), int64_t(run.attempts),
                     time_value(run.created), time_value(run.started), time_value(run.finished),
                     time_value(run.next_attempt), run.bytes, run.remote, run.checksum, run.error, run.config_version,
                     join_missing(run.missing), int64_t(run.late ? 1 : 0), run.node, run.incarnation},
                    {}, "copying run " + std::to_string(run.id) + " (" + run.order + " " + period + ")")
                 .status();
  });
  if (!read) return read;
  if (!copied) return copied;
  // The id counter moves past the ids given, so the next run made here gets a new one.
  return highest > 0 ? db_->ids_taken("advancing the run id counter past " + std::to_string(highest)) : Status::OK();
}

}  // namespace

bool is_database_uri(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

int StateStore::schema_version() { return state_schema_version(); }

bool StateStore::exists(const std::string& location) {
  if (is_database_uri(location)) return true;
  std::error_code ec;
  return std::filesystem::exists(location, ec);
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::string& location) {
  auto db = is_database_uri(location) ? open_pg_db(location, false) : open_sqlite_db(location, false);
  if (!db) return db.status();
  return std::unique_ptr<StateStore>(new SqlStore(location, std::move(*db)));
}

Result<std::unique_ptr<StateStore>> StateStore::open_readonly(const std::string& location) {
  auto db = is_database_uri(location) ? open_pg_db(location, true) : open_sqlite_db(location, true);
  if (!db) return db.status();
  return std::unique_ptr<StateStore>(new SqlStore(location, std::move(*db)));
}

Status copy_history(StateStore& from, StateStore& to) {
  return to.batch([&]() -> Status {
    auto present = to.count_runs();
    if (!present) return present.status();
    if (*present > 0)
      return Status::Error("the target " + to.location() + " already holds " + std::to_string(*present) +
                           " runs; copy only into an empty database (create a new one, or drop its tables)");
    return to.import_runs(from);
  });
}

}  // namespace flis
