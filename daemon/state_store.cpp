// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run state store on SQLite. See daemon/state_store.h for the contract.
//
// Durability: WAL with synchronous=FULL, so a transaction is on disk (the WAL fsynced) before
// sqlite3_step returns for its COMMIT; every public transition is a single statement or an explicit
// BEGIN IMMEDIATE ... COMMIT, hence one committed transaction before the call returns.
// Timestamps are unix seconds (UTC) in INTEGER columns: exact, sortable, no time-zone ambiguity.
#include "daemon/state_store.h"

#include <sqlite3.h>

#include <unordered_map>

#include <cerrno>

#include <array>
#include <mutex>
#include <system_error>
#include <utility>

#include "config/printable.h"

namespace flis {
namespace {

// Schema migrations: kMigrations[i] brings the database from user_version i to i + 1. Append only;
// never edit a migration that has shipped. A later version adds columns with ALTER TABLE here.
const char* const kMigrations[] = {
    // 0 -> 1: the runs table (Datapakkekørsler).
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  order_id TEXT NOT NULL,"
    "  municipality INTEGER NOT NULL,"
    "  period TEXT NOT NULL,"
    "  redelivery INTEGER NOT NULL DEFAULT 1,"
    "  kind TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER,"
    "  started INTEGER,"
    "  finished INTEGER,"
    "  next_attempt INTEGER,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  remote TEXT NOT NULL DEFAULT '',"
    "  checksum TEXT NOT NULL DEFAULT '',"
    "  error TEXT NOT NULL DEFAULT '',"
    "  config_version TEXT NOT NULL DEFAULT '',"
    "  missing TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (order_id, period, redelivery)"
    ");"
    "CREATE INDEX runs_status ON runs (status);",
    // 1 -> 2: a waiting run's lateness is logged once, across restarts and `flisd --once` runs.
    "ALTER TABLE runs ADD COLUMN late INTEGER NOT NULL DEFAULT 0;",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

constexpr const char* kColumns =
    "id, order_id, municipality, period, redelivery, kind, status, attempts, created, started, "
    "finished, next_attempt, bytes, remote, checksum, error, config_version, missing, late";

}  // namespace

// The store's prepared statements, kept for its life: preparing a statement costs more than
// running it, and a first refresh of 10,000 orders runs hundreds of thousands. Used under the
// store's mutex only.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db) : db_(db) {}
  ~StmtCache() {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);
  }
  sqlite3_stmt* get(const std::string& sql) {
    auto [it, inserted] = stmts_.try_emplace(sql, nullptr);
    if (inserted && sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &it->second, nullptr) != SQLITE_OK) {
      stmts_.erase(it);
      return nullptr;
    }
    return it->second;
  }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

namespace {

// A prepared statement: one of the store's cached ones (reset on scope exit), or a one-off
// (finalised on scope exit).
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : owned_(true) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  Stmt(StmtCache& cache, const std::string& sql) : s_(cache.get(sql)), rc_(s_ ? SQLITE_OK : SQLITE_ERROR) {}
  ~Stmt() {
    if (owned_) {
      sqlite3_finalize(s_);
    } else if (s_) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool prepared() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }

  void bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind(int i, const std::string& v) { sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT); }
  void bind(int i, const std::optional<Instant>& t) {
    if (t) sqlite3_bind_int64(s_, i, t->time_since_epoch().count());
    else sqlite3_bind_null(s_, i);
  }
  int step() { return sqlite3_step(s_); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
  bool owned_ = false;
};

std::string text_column(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? std::string(reinterpret_cast<const char*>(t), size_t(sqlite3_column_bytes(s, i))) : std::string();
}

std::optional<Instant> time_column(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return Instant(std::chrono::seconds(sqlite3_column_int64(s, i)));
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

Run read_run(sqlite3_stmt* s) {
  Run r;
  r.id = sqlite3_column_int64(s, 0);
  r.order = text_column(s, 1);
  r.municipality = sqlite3_column_int(s, 2);
  r.period = text_column(s, 3);
  r.redelivery = sqlite3_column_int(s, 4);
  r.kind = parse_run_kind(text_column(s, 5)).value_or(RunKind::subscription);
  // An unknown status can only come from a hand-edited database; show it as failed, not crash.
  r.status = parse_run_status(text_column(s, 6)).value_or(RunStatus::failed);
  r.attempts = sqlite3_column_int(s, 7);
  r.created = time_column(s, 8);
  r.started = time_column(s, 9);
  r.finished = time_column(s, 10);
  r.next_attempt = time_column(s, 11);
  r.bytes = sqlite3_column_int64(s, 12);
  r.remote = text_column(s, 13);
  r.checksum = text_column(s, 14);
  r.error = text_column(s, 15);
  r.config_version = text_column(s, 16);
  r.missing = split_missing(text_column(s, 17));
  r.late = sqlite3_column_int(s, 18) != 0;
  return r;
}

// " AND status IN ('waiting', ...)": the states run_state.h allows a transition to `to` from.
std::string from_states(RunStatus to) {
  std::string in;
  for (RunStatus from : sources_of(to)) in += std::string(in.empty() ? "" : ", ") + "'" + std::string(to_string(from)) + "'";
  return " AND status IN (" + in + ")";
}

// The error for a failed SQLite call on the database at `path`; a full disk says so plainly,
// because that is the one a sysadmin can fix at once.
Status sqlite_error(sqlite3* db, const std::filesystem::path& path, const std::string& doing) {
  int code = db ? sqlite3_extended_errcode(db) & 0xff : SQLITE_CANTOPEN;
  std::string what = db ? sqlite3_errmsg(db) : "out of memory";
  std::string prefix = "state database " + path.string() + ": " + doing + ": ";
  // SQLite reports a full disk as an I/O error when it cannot create the -wal or -shm file.
  if (code == SQLITE_FULL || (db && sqlite3_system_errno(db) == ENOSPC))
    return Status::Error(prefix + "the disk is full (" + what + "); free space on the disk holding " +
                         path.parent_path().string() + " and try again");
  if (code == SQLITE_READONLY || code == SQLITE_PERM || code == SQLITE_CANTOPEN)
    return Status::Error(prefix + what + "; check that the file and its folder exist and are writable by flisd");
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
    return Status::Error(prefix + what + "; the file is not a usable flisd state database (restore it from backup)");
  return Status::Error(prefix + what);
}

Status exec(sqlite3* db, const std::filesystem::path& path, const char* sql, const std::string& doing) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return sqlite_error(db, path, doing);
  return Status::OK();
}

Result<int> user_version(sqlite3* db, const std::filesystem::path& path) {
  Stmt s(db, "PRAGMA user_version");
  if (!s.prepared() || s.step() != SQLITE_ROW) return sqlite_error(db, path, "reading the schema version");
  return sqlite3_column_int(s.get(), 0);
}

Status refuse_newer(int version, const std::filesystem::path& path) {
  if (version <= kSchemaVersion) return Status::OK();
  return Status::Error("state database " + path.string() + ": schema version " + std::to_string(version) +
                       " was created by a newer flisd (this one knows up to " + std::to_string(kSchemaVersion) +
                       "); run that flisd version or restore a backup");
}

// Brings the schema up to kSchemaVersion, each step in its own transaction with its version bump.
Status migrate(sqlite3* db, const std::filesystem::path& path) {
  if (auto s = exec(db, path, "BEGIN IMMEDIATE", "starting the schema migration"); !s) return s;
  auto version = user_version(db, path);
  Status status = version.status();
  if (status) status = refuse_newer(*version, path);
  for (int v = version ? *version : kSchemaVersion; status && v < kSchemaVersion; ++v) {
    status = exec(db, path, kMigrations[v], "migrating the schema to version " + std::to_string(v + 1));
    std::string bump = "PRAGMA user_version = " + std::to_string(v + 1);
    if (status) status = exec(db, path, bump.c_str(), "setting the schema version");
  }
  if (status) return exec(db, path, "COMMIT", "committing the schema migration");
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return status;
}

Result<sqlite3*> open_db(const std::filesystem::path& path, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    Status s = sqlite_error(db, path, "opening");
    sqlite3_close(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  // Another process (flisctl runs, a second flisd by mistake) may hold a lock for a moment.
  sqlite3_busy_timeout(db, 5000);
  return db;
}

// Runs one UPDATE of run `id` (parameter ?1) with further bindings; no row changed is an error.
template <typename Bind>
// `to`: the transition made, checked against run_state.h in the statement; nullopt for an update
// that is not a transition (its SQL carries its own guard).
Status update_run(sqlite3* db, StmtCache& cache, const std::filesystem::path& path, std::recursive_mutex& mu,
                  int64_t id, std::optional<RunStatus> to, std::string sql, const std::string& doing, Bind&& bind) {
  std::lock_guard lock(mu);
  if (to) sql += from_states(*to);
  Stmt s(cache, sql);
  if (!s.prepared()) return sqlite_error(db, path, doing);
  s.bind(1, id);
  bind(s);
  if (s.step() != SQLITE_DONE) return sqlite_error(db, path, doing);
  if (sqlite3_changes(db) == 0)
    return Status::Error("state database " + path.string() + ": " + doing + ": no such run, or it is not in a state " +
                         "that may become " + std::string(to ? to_string(*to) : "changed"));
  return Status::OK();
}

}  // namespace

int StateStore::schema_version() { return kSchemaVersion; }

StateStore::StateStore(sqlite3* db, std::filesystem::path path)
    : db_(db), path_(std::move(path)), stmts_(std::make_unique<StmtCache>(db)) {}

StateStore::~StateStore() {
  stmts_.reset();  // finalised before the database closes
  sqlite3_close(db_);
}

Result<std::unique_ptr<StateStore>> StateStore::open(const std::filesystem::path& path) {
  auto db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!db) return db.status();
  Status s = exec(*db, path, "PRAGMA journal_mode = WAL", "switching to WAL mode");
  // FULL: in WAL mode the WAL is fsynced at every commit, so a committed transition survives
  // power loss (NORMAL would only guarantee consistency, not durability).
  if (s) s = exec(*db, path, "PRAGMA synchronous = FULL", "setting synchronous=FULL");
  if (s) s = exec(*db, path, "PRAGMA foreign_keys = ON", "enabling foreign keys");
  if (s) s = migrate(*db, path);
  if (!s) {
    sqlite3_close(*db);
    return s;
  }
  return std::unique_ptr<StateStore>(new StateStore(*db, path));
}

Result<std::unique_ptr<StateStore>> StateStore::open_readonly(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    return Status::Error("state database " + path.string() + ": does not exist (flisd has not run yet)");
  auto db = open_db(path, SQLITE_OPEN_READONLY);
  if (!db) return db.status();
  auto version = user_version(*db, path);
  Status s = version.status();
  if (s) s = refuse_newer(*version, path);
  if (s && *version < kSchemaVersion)
    s = Status::Error("state database " + path.string() + ": schema version " + std::to_string(*version) +
                      " is older than this flisd's " + std::to_string(kSchemaVersion) +
                      "; start flisd once to migrate it");
  if (!s) {
    sqlite3_close(*db);
    return s;
  }
  return std::unique_ptr<StateStore>(new StateStore(*db, path));
}

Status StateStore::batch(const std::function<Status()>& body) {
  std::lock_guard lock(mu_);
  if (in_batch_) return body();
  if (Status s = exec(db_, path_, "BEGIN IMMEDIATE", "starting a batch of transitions"); !s) return s;
  in_batch_ = true;
  Status s = body();
  in_batch_ = false;
  if (s) s = exec(db_, path_, "COMMIT", "committing a batch of transitions");
  // After an I/O error or a full disk SQLite may already have rolled back; then this is a no-op.
  if (!s && !sqlite3_get_autocommit(db_)) (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

Result<Run> StateStore::ensure(const Run& proto) {
  std::lock_guard lock(mu_);
  // One statement: the run exists afterwards, and an existing one is untouched.
  Stmt ins(*stmts_,
           "INSERT INTO runs (order_id, municipality, period, redelivery, kind, status, created, "
           "config_version, missing) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
           "ON CONFLICT (order_id, period, redelivery) DO NOTHING");
  if (!ins.prepared()) return sqlite_error(db_, path_, "recording run " + proto.order + " " + proto.period);
  ins.bind(1, proto.order);
  ins.bind(2, int64_t(proto.municipality));
  ins.bind(3, proto.period);
  ins.bind(4, int64_t(proto.redelivery));
  ins.bind(5, std::string(to_string(proto.kind)));
  ins.bind(6, std::string(to_string(proto.status)));
  ins.bind(7, proto.created);
  ins.bind(8, proto.config_version);
  ins.bind(9, join_missing(proto.missing));
  if (ins.step() != SQLITE_DONE) return sqlite_error(db_, path_, "recording run " + proto.order + " " + proto.period);
  if (sqlite3_changes(db_) == 1) {
    // Inserted: the row is the proto with its new id; no need to read it back.
    Run made = proto;
    made.id = sqlite3_last_insert_rowid(db_);
    made.attempts = 0;
    made.started = made.finished = made.next_attempt = std::nullopt;
    made.bytes = 0;
    made.remote.clear();
    made.checksum.clear();
    made.error.clear();
    made.late = false;
    return made;
  }

  std::string sql = std::string("SELECT ") + kColumns + " FROM runs WHERE order_id = ?1 AND period = ?2 AND redelivery = ?3";
  Stmt sel(*stmts_, sql.c_str());
  sel.bind(1, proto.order);
  sel.bind(2, proto.period);
  sel.bind(3, int64_t(proto.redelivery));
  if (!sel.prepared() || sel.step() != SQLITE_ROW)
    return sqlite_error(db_, path_, "reading run " + proto.order + " " + proto.period);
  return read_run(sel.get());
}

Result<Run> StateStore::add_redelivery(const std::string& order, const std::string& period, int municipality,
                                       RunKind kind, const std::string& config_version, Instant now) {
  std::lock_guard lock(mu_);
  const std::string doing = "adding a redelivery of " + order + " " + period;
  // One statement computes max + 1 and inserts it, so two callers can never pick the same number.
  // A redelivery is always .r2 or later, even if the first delivery's row is gone.
  Stmt ins(*stmts_,
           "INSERT INTO runs (order_id, municipality, period, redelivery, kind, status, created, config_version) "
           "SELECT ?1, ?2, ?3, COALESCE(MAX(redelivery), 1) + 1, ?4, 'queued', ?5, ?6 "
           "FROM runs WHERE order_id = ?1 AND period = ?3");
  if (!ins.prepared()) return sqlite_error(db_, path_, doing);
  ins.bind(1, order);
  ins.bind(2, int64_t(municipality));
  ins.bind(3, period);
  ins.bind(4, std::string(to_string(kind)));
  ins.bind(5, std::optional<Instant>(now));
  ins.bind(6, config_version);
  if (ins.step() != SQLITE_DONE) return sqlite_error(db_, path_, doing);
  int64_t id = sqlite3_last_insert_rowid(db_);

  std::string sql = std::string("SELECT ") + kColumns + " FROM runs WHERE id = ?1";
  Stmt sel(*stmts_, sql.c_str());
  sel.bind(1, id);
  if (!sel.prepared() || sel.step() != SQLITE_ROW) return sqlite_error(db_, path_, doing);
  return read_run(sel.get());
}

Status StateStore::set_waiting(int64_t id, const std::vector<std::string>& missing) {
  return update_run(db_, *stmts_, path_, mu_, id, RunStatus::waiting, "UPDATE runs SET status = 'waiting', missing = ?2 WHERE id = ?1",
                "marking run " + std::to_string(id) + " waiting", [&](Stmt& s) { s.bind(2, join_missing(missing)); });
}

Result<bool> StateStore::set_late(int64_t id) {
  Status s = update_run(db_, *stmts_, path_, mu_, id, std::nullopt, "UPDATE runs SET late = 1 WHERE id = ?1 AND status = 'waiting'",
                    "marking run " + std::to_string(id) + " late (it must be waiting)", [](Stmt&) {});
  if (!s) return s;
  return true;
}

// One host: this process is the only node; nothing to fence, nobody else's runs to take over.
Result<NodeLease> StateStore::attach_node(const std::string& node, std::chrono::seconds, const std::string&, int) {
  lease_ = NodeLease{node, lease_ ? lease_->incarnation + 1 : 1};
  return *lease_;
}

Status StateStore::renew_lease() { return Status::OK(); }

Status StateStore::release_lease() { return Status::OK(); }

Result<std::vector<Run>> StateStore::take_orphans() {
  // One host: at attach time every running run is a crashed process's; later ones are this one's.
  if (std::exchange(orphans_taken_, true)) return std::vector<Run>{};
  return list({.status = RunStatus::running});
}

Status StateStore::changes_since(int64_t after, const std::function<void(const Run&)>&, int64_t* last) {
  if (last) *last = after;
  return Status::OK();
}

Status StateStore::set_queued(int64_t id, Instant) {
  return update_run(db_, *stmts_, path_, mu_, id, RunStatus::queued, "UPDATE runs SET status = 'queued', missing = '', next_attempt = NULL WHERE id = ?1",
                "queueing run " + std::to_string(id), [](Stmt&) {});
}

Status StateStore::requeue_fresh(int64_t id, Instant) {
  return update_run(db_, *stmts_, path_, mu_, id, RunStatus::queued,
                "UPDATE runs SET status = 'queued', attempts = 0, missing = '', next_attempt = NULL "
                "WHERE id = ?1",
                "queueing run " + std::to_string(id) + " for a retry", [](Stmt&) {});
}

Status StateStore::set_running(int64_t id, Instant now) {
  // Only a queued run may start: two workers can never run the same package at once.
  return update_run(db_, *stmts_, path_, mu_, id, RunStatus::running,
                "UPDATE runs SET status = 'running', attempts = attempts + 1, started = ?2, finished = NULL, "
                "next_attempt = NULL WHERE id = ?1",
                "starting run " + std::to_string(id) + " (it must be queued)",
                [&](Stmt& s) { s.bind(2, std::optional<Instant>(now)); });
}

Status StateStore::set_packed(int64_t id, int64_t bytes, const std::string& remote, const std::string& checksum) {
  return update_run(db_, *stmts_, path_, mu_, id, std::nullopt,
                "UPDATE runs SET bytes = ?2, remote = ?3, checksum = ?4 WHERE id = ?1 AND status = 'running'",
                "recording the package of run " + std::to_string(id) + " (it must be running)", [&](Stmt& s) {
                  s.bind(2, bytes);
                  s.bind(3, remote);
                  s.bind(4, checksum);
                });
}

Status StateStore::set_delivered(int64_t id, Instant now, int64_t bytes, const std::string& remote,
                                 const std::string& checksum) {
  return update_run(db_, *stmts_, path_, mu_, id, RunStatus::delivered,
                "UPDATE runs SET status = 'delivered', finished = ?2, bytes = ?3, remote = ?4, checksum = ?5, "
                "error = '', missing = '', next_attempt = NULL WHERE id = ?1",
                "marking run " + std::to_string(id) + " delivered", [&](Stmt& s) {
                  s.bind(2, std::optional<Instant>(now));
                  s.bind(3, bytes);
                  s.bind(4, remote);
                  s.bind(5, checksum);
                });
}

Status StateStore::set_failed(int64_t id, Instant now, const std::string& error, std::optional<Instant> next_attempt) {
  return update_run(db_, *stmts_, path_, mu_, id, RunStatus::failed, "UPDATE runs SET status = 'failed', finished = ?2, error = ?3, next_attempt = ?4 WHERE id = ?1",
                "marking run " + std::to_string(id) + " failed", [&](Stmt& s) {
                  s.bind(2, std::optional<Instant>(now));
                  s.bind(3, printable(error));  // it may quote an SFTP server or a file name
                  s.bind(4, next_attempt);
                });
}

Status StateStore::set_cancelled(int64_t id, Instant now, const std::string& why) {
  return update_run(db_, *stmts_, path_, mu_, id, RunStatus::cancelled,
                "UPDATE runs SET status = 'cancelled', finished = ?2, error = ?3, next_attempt = NULL "
                "WHERE id = ?1",
                "cancelling run " + std::to_string(id) + " (it must be waiting, queued or failed)", [&](Stmt& s) {
                  s.bind(2, std::optional<Instant>(now));
                  s.bind(3, printable(why));
                });
}

Result<std::optional<Run>> StateStore::get(int64_t id) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM runs WHERE id = ?1";
  Stmt s(*stmts_, sql.c_str());
  if (!s.prepared()) return sqlite_error(db_, path_, "reading run " + std::to_string(id));
  s.bind(1, id);
  int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<Run>();
  if (rc != SQLITE_ROW) return sqlite_error(db_, path_, "reading run " + std::to_string(id));
  return std::optional<Run>(read_run(s.get()));
}

Result<std::vector<Run>> StateStore::list(const RunFilter& filter) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumns +
                    " FROM runs WHERE (?1 IS NULL OR order_id = ?1) AND (?2 IS NULL OR status = ?2) ORDER BY id";
  Stmt s(*stmts_, sql.c_str());
  if (!s.prepared()) return sqlite_error(db_, path_, "listing runs");
  if (filter.order) s.bind(1, *filter.order);
  if (filter.status) s.bind(2, std::string(to_string(*filter.status)));
  std::vector<Run> runs;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) runs.push_back(read_run(s.get()));
  if (rc != SQLITE_DONE) return sqlite_error(db_, path_, "listing runs");
  return runs;
}

Status StateStore::scan(const std::function<void(const Run&)>& fn) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM runs ORDER BY id";
  Stmt s(*stmts_, sql.c_str());
  if (!s.prepared()) return sqlite_error(db_, path_, "reading the runs");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) fn(read_run(s.get()));
  if (rc != SQLITE_DONE) return sqlite_error(db_, path_, "reading the runs");
  return Status::OK();
}

// --- metrics hook (daemon/metrics.h) --------------------------------------------------------------

Result<std::vector<StateStore::LastDelivery>> StateStore::last_deliveries() {
  std::lock_guard lock(mu_);
  // SQLite takes the bare columns of the row holding MAX(): the municipality of the last delivery.
  Stmt s(db_, "SELECT order_id, municipality, MAX(finished) FROM runs "
              "WHERE status = 'delivered' AND finished IS NOT NULL GROUP BY order_id");
  if (!s.prepared()) return sqlite_error(db_, path_, "reading the last deliveries");
  std::vector<LastDelivery> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({text_column(s.get(), 0), sqlite3_column_int(s.get(), 1), *time_column(s.get(), 2)});
  if (rc != SQLITE_DONE) return sqlite_error(db_, path_, "reading the last deliveries");
  return out;
}

}  // namespace flis
