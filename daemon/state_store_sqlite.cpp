// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The state database on SQLite: one file, one host, nothing to set up. See daemon/state_db.h.
//
// Durability: WAL with synchronous=FULL, so a transaction is on disk (the WAL fsynced) before
// sqlite3_step returns for its COMMIT; every public transition is a single statement or an explicit
// BEGIN IMMEDIATE ... COMMIT, hence one committed transaction before the call returns.
// Timestamps are unix seconds (UTC) in INTEGER columns: exact, sortable, no time-zone ambiguity.
#include <sqlite3.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "daemon/state_db.h"

namespace flis {
namespace {

// Schema migrations: kMigrations[i] brings the database from user_version i to i + 1. Append only;
// never edit a migration that has shipped. daemon/state_store_pg.cpp keeps the same steps.
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
    // 2 -> 3: several hosts. Who holds a run (node, incarnation), a change counter other nodes
    // follow (version), and the nodes with their leases.
    "ALTER TABLE runs ADD COLUMN node TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN incarnation INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN version INTEGER;"
    "UPDATE runs SET version = id;"
    "CREATE INDEX runs_by_version ON runs (version);"
    "CREATE TABLE nodes ("
    "  name TEXT PRIMARY KEY,"
    "  incarnation INTEGER NOT NULL,"
    "  host TEXT NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  started INTEGER NOT NULL,"
    "  lease_until INTEGER NOT NULL"
    ");",
};
constexpr int kSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// The store's SQL in SQLite's words: the tokens of daemon/state_db.h.
std::string translate(std::string sql) {
  auto replace = [&](const std::string& token, const std::string& with) {
    for (size_t at = sql.find(token); at != std::string::npos; at = sql.find(token, at + with.size()))
      sql.replace(at, token.size(), with);
  };
  replace("{now}", "CAST(strftime('%s', 'now') AS INTEGER)");
  // Writers are serialised by SQLite's one write lock, so max + 1 in the statement is unique.
  replace("{nextver}", "(SELECT COALESCE(MAX(version), 0) + 1 FROM runs)");
  replace("{lock}", "");
  return sql;
}

// The error for a failed SQLite call on the database at `path`; a full disk says so plainly,
// because that is the one a sysadmin can fix at once.
Status sqlite_error(sqlite3* db, const std::string& path, const std::string& doing) {
  int code = db ? sqlite3_extended_errcode(db) & 0xff : SQLITE_CANTOPEN;
  std::string what = db ? sqlite3_errmsg(db) : "out of memory";
  std::string prefix = "state database " + path + ": " + doing + ": ";
  // SQLite reports a full disk as an I/O error when it cannot create the -wal or -shm file.
  if (code == SQLITE_FULL || (db && sqlite3_system_errno(db) == ENOSPC))
    return Status::Error(prefix + "the disk is full (" + what + "); free space on the disk holding " +
                         std::filesystem::path(path).parent_path().string() + " and try again");
  if (code == SQLITE_READONLY || code == SQLITE_PERM || code == SQLITE_CANTOPEN)
    return Status::Error(prefix + what + "; check that the file and its folder exist and are writable by flisd");
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
    return Status::Error(prefix + what + "; the file is not a usable flisd state database (restore it from backup)");
  return Status::Error(prefix + what);
}

class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  bool null(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t integer(int col) const override { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const override {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), size_t(sqlite3_column_bytes(s_, col))) : std::string();
  }

 private:
  sqlite3_stmt* s_;
};

class SqliteDb final : public StateDb {
 public:
  SqliteDb(sqlite3* db, std::string path) : db_(db), path_(std::move(path)), shown_("state database " + path_) {}
  ~SqliteDb() override {
    for (auto& [sql, stmt] : stmts_) sqlite3_finalize(stmt);  // before the database closes
    sqlite3_close(db_);
  }

  Result<int64_t> exec(const std::string& sql, const std::vector<SqlValue>& params,
                       const std::function<void(const SqlRow&)>& row, const std::string& doing) override {
    sqlite3_stmt* s = prepared(sql);
    if (s == nullptr) return sqlite_error(db_, path_, doing);
    for (size_t i = 0; i < params.size(); ++i) {
      int at = int(i) + 1;
      if (const auto* v = std::get_if<int64_t>(&params[i])) sqlite3_bind_int64(s, at, *v);
      else if (const auto* t = std::get_if<std::string>(&params[i])) sqlite3_bind_text(s, at, t->data(), int(t->size()), SQLITE_TRANSIENT);
      else sqlite3_bind_null(s, at);
    }
    int rc;
    SqliteRow r(s);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
      if (row) row(r);
    Result<int64_t> out = rc == SQLITE_DONE ? Result<int64_t>(int64_t(sqlite3_changes(db_))) : sqlite_error(db_, path_, doing);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return out;
  }

  Result<std::optional<Inserted>> insert(const std::string& sql, const std::vector<SqlValue>& params,
                                         const std::string& doing) override {
    auto changed = exec(sql, params, {}, doing);
    if (!changed) return changed.status();
    if (*changed == 0) return std::optional<Inserted>();
    Inserted made{sqlite3_last_insert_rowid(db_), 0};
    auto v = exec("SELECT version FROM runs WHERE id = ?1", {made.id},
                  [&](const SqlRow& row) { made.version = row.integer(0); }, doing);
    if (!v) return v.status();
    return std::optional<Inserted>(made);
  }

  Result<int64_t> settled_version(const std::string&) override { return kNoHorizon; }

  Status begin(const std::string& doing) override { return plain("BEGIN IMMEDIATE", doing); }
  Status commit(const std::string& doing) override { return plain("COMMIT", doing); }
  // After an I/O error or a full disk SQLite may already have rolled back; then this is a no-op.
  void rollback() override {
    if (!sqlite3_get_autocommit(db_)) (void)sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  const std::string& shown() const override { return shown_; }
  // AUTOINCREMENT keeps its counter past the highest id inserted, given or not.
  Status ids_taken(const std::string&) override { return Status::OK(); }

  Status plain(const char* sql, const std::string& doing) {
    if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return sqlite_error(db_, path_, doing);
    return Status::OK();
  }

  Result<int> user_version() {
    int version = -1;
    auto r = exec("PRAGMA user_version", {}, [&](const SqlRow& row) { version = int(row.integer(0)); },
                  "reading the schema version");
    if (!r) return r.status();
    return version;
  }

 private:
  // Preparing a statement costs more than running it, and a first refresh of 10,000 orders runs
  // hundreds of thousands: each is prepared once for the connection's life.
  sqlite3_stmt* prepared(const std::string& sql) {
    auto [it, inserted] = stmts_.try_emplace(sql, nullptr);
    if (inserted && sqlite3_prepare_v3(db_, translate(sql).c_str(), -1, SQLITE_PREPARE_PERSISTENT, &it->second, nullptr) != SQLITE_OK) {
      stmts_.erase(it);
      return nullptr;
    }
    return it->second;
  }

  sqlite3* db_;
  std::string path_;
  std::string shown_;
  std::unordered_map<std::string, sqlite3_stmt*> stmts_;
};

// Brings the schema up to kSchemaVersion, each step in its own transaction with its version bump.
Status migrate(SqliteDb& db, const std::string& path) {
  if (auto s = db.begin("starting the schema migration"); !s) return s;
  auto version = db.user_version();
  Status status = version.status();
  if (status) status = refuse_newer_schema(*version, kSchemaVersion, "state database " + path);
  for (int v = version ? *version : kSchemaVersion; status && v < kSchemaVersion; ++v) {
    status = db.plain(kMigrations[v], "migrating the schema to version " + std::to_string(v + 1));
    std::string bump = "PRAGMA user_version = " + std::to_string(v + 1);
    if (status) status = db.plain(bump.c_str(), "setting the schema version");
  }
  if (status) return db.commit("committing the schema migration");
  db.rollback();
  return status;
}

}  // namespace

int state_schema_version() { return kSchemaVersion; }

Result<std::unique_ptr<StateDb>> open_sqlite_db(const std::string& path, bool readonly) {
  if (readonly) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      return Status::Error("state database " + path + ": does not exist (flisd has not run yet)");
  }
  sqlite3* handle = nullptr;
  int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &handle, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    Status s = sqlite_error(handle, path, "opening");
    sqlite3_close(handle);
    return s;
  }
  sqlite3_extended_result_codes(handle, 1);
  // Another process (flisctl runs, a second flisd by mistake) may hold a lock for a moment.
  sqlite3_busy_timeout(handle, 5000);
  auto db = std::make_unique<SqliteDb>(handle, path);
  Status s;
  if (readonly) {
    auto version = db->user_version();
    s = version.status();
    if (s) s = refuse_newer_schema(*version, kSchemaVersion, "state database " + path);
    if (s && *version < kSchemaVersion)
      s = Status::Error("state database " + path + ": schema version " + std::to_string(*version) +
                        " is older than this flisd's " + std::to_string(kSchemaVersion) +
                        "; start flisd once to migrate it");
  } else {
    s = db->plain("PRAGMA journal_mode = WAL", "switching to WAL mode");
    // FULL: in WAL mode the WAL is fsynced at every commit, so a committed transition survives
    // power loss (NORMAL would only guarantee consistency, not durability).
    if (s) s = db->plain("PRAGMA synchronous = FULL", "setting synchronous=FULL");
    if (s) s = db->plain("PRAGMA foreign_keys = ON", "enabling foreign keys");
    if (s) s = migrate(*db, path);
  }
  if (!s) return s;
  return std::unique_ptr<StateDb>(std::move(db));
}

}  // namespace flis
