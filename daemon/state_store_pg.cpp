// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The state database on PostgreSQL, shared by several flisd hosts. See daemon/state_db.h.
//
// libpq directly (no C++ wrapper: Debian 12 has no libpqxx 7, and the store needs only prepared
// statements, text results and transactions). Every statement is prepared once per session;
// timestamps stay unix seconds in BIGINT columns, as on SQLite, so the store's SQL is the same.
// Each public transition is one statement (autocommit) or one batch transaction, committed before
// the call returns; PostgreSQL's synchronous_commit decides the durability, as its operators set it.
// A connection found broken between calls (the server restarted) is reset once, transparently;
// one broken during a write is reported, never retried, since the write may have committed.
#include <libpq-fe.h>
#include <poll.h>

#include <cstdlib>
#include <unordered_map>
#include <utility>

#include "daemon/state_db.h"

namespace flis {
namespace {

// Schema migrations, the same steps as daemon/state_store_sqlite.cpp; append only. The version is
// the one row of flisd_schema.
const char* const kMigrations[] = {
    // 0 -> 1: the runs table (Datapakkekørsler).
    "CREATE TABLE runs ("
    "  id BIGSERIAL PRIMARY KEY,"
    "  order_id TEXT NOT NULL,"
    "  municipality INTEGER NOT NULL,"
    "  period TEXT NOT NULL,"
    "  redelivery INTEGER NOT NULL DEFAULT 1,"
    "  kind TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  created BIGINT,"
    "  started BIGINT,"
    "  finished BIGINT,"
    "  next_attempt BIGINT,"
    "  bytes BIGINT NOT NULL DEFAULT 0,"
    "  remote TEXT NOT NULL DEFAULT '',"
    "  checksum TEXT NOT NULL DEFAULT '',"
    "  error TEXT NOT NULL DEFAULT '',"
    "  config_version TEXT NOT NULL DEFAULT '',"
    "  missing TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (order_id, period, redelivery)"
    ");"
    "CREATE INDEX runs_status ON runs (status);",
    // 1 -> 2: a waiting run's lateness is logged once.
    "ALTER TABLE runs ADD COLUMN late INTEGER NOT NULL DEFAULT 0;",
    // 2 -> 3: several hosts: who holds a run, the change counter, the nodes and their leases.
    "ALTER TABLE runs ADD COLUMN node TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE runs ADD COLUMN incarnation BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN version BIGINT;"
    "CREATE SEQUENCE runs_version;"
    "UPDATE runs SET version = nextval('runs_version');"
    "CREATE INDEX runs_by_version ON runs (version);"
    "CREATE TABLE nodes ("
    "  name TEXT PRIMARY KEY,"
    "  incarnation BIGINT NOT NULL,"
    "  host TEXT NOT NULL,"
    "  pid BIGINT NOT NULL,"
    "  started BIGINT NOT NULL,"
    "  lease_until BIGINT NOT NULL"
    ");",
};
constexpr int kPgSchemaVersion = sizeof(kMigrations) / sizeof(kMigrations[0]);

// Any key that serialises migrations of flisd's schema among the nodes starting at once.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7236979746381522)";

// Held shared by every transaction that takes a version (see translate).
constexpr const char* kVersionLock = "7236979746381523";

// The store's SQL in PostgreSQL's words: $1 for ?1, and the tokens of daemon/state_db.h.
std::string translate(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 64);
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '?') {
      out += '$';
    } else if (sql.compare(i, 5, "{now}") == 0) {
      // The statement's own time, not the transaction's start: a lease is checked when written.
      out += "CAST(floor(extract(epoch FROM clock_timestamp())) AS BIGINT)";
      i += 4;
    } else if (sql.compare(i, 9, "{nextver}") == 0) {
      // Under a shared lock held to the end of the transaction: settled_version() takes it
      // exclusively to know that no version below the sequence's value is still uncommitted.
      out += std::string("(SELECT nextval('runs_version') FROM pg_advisory_xact_lock_shared(") + kVersionLock + "))";
      i += 8;
    } else if (sql.compare(i, 6, "{lock}") == 0) {
      out += " FOR UPDATE SKIP LOCKED";
      i += 5;
    } else {
      out += sql[i];
    }
  }
  return out;
}

// The URI as shown in messages and logs: without a password, should one be there.
std::string redacted(const std::string& uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  size_t start = scheme + 3;
  size_t end = uri.find_first_of("/?", start);
  size_t at = uri.rfind('@', end == std::string::npos ? uri.size() : end);
  if (at == std::string::npos || at < start) return uri;
  size_t colon = uri.find(':', start);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon) + ":***" + uri.substr(at);
}

std::string trimmed(const char* message) {
  std::string m = message ? message : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

// What the sysadmin can do about an error, by its SQLSTATE class.
std::string advice(const std::string& sqlstate) {
  if (sqlstate == "53100") return "; the database server's disk is full: free space on it";
  if (sqlstate == "42501")
    return "; flisd's database role lacks a right: grant it SELECT, INSERT and UPDATE on flisd's tables and "
           "sequences (and CREATE on the schema for the first start)";
  if (sqlstate == "25006") return "; the database is read-only here (a standby, or flisctl's read-only session)";
  if (sqlstate.rfind("53", 0) == 0) return "; the database server is short of resources: check its log";
  if (sqlstate.rfind("57P", 0) == 0 || sqlstate.rfind("08", 0) == 0)
    return "; the connection to PostgreSQL broke: flisd reconnects on its next call (if this was a change, it "
           "may or may not have been made)";
  return "";
}

class PgRow final : public SqlRow {
 public:
  PgRow(PGresult* r, int row) : r_(r), row_(row) {}
  bool null(int col) const override { return PQgetisnull(r_, row_, col) != 0; }
  int64_t integer(int col) const override { return std::strtoll(PQgetvalue(r_, row_, col), nullptr, 10); }
  std::string text(int col) const override { return std::string(PQgetvalue(r_, row_, col), size_t(PQgetlength(r_, row_, col))); }

 private:
  PGresult* r_;
  int row_;
};

// Data or the end of the stream waits on the socket, without blocking.
bool readable(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

class PgDb final : public StateDb {
 public:
  PgDb(PGconn* conn, std::string shown) : conn_(conn), shown_("state database " + std::move(shown)) {}
  ~PgDb() override { PQfinish(conn_); }

  Result<int64_t> exec(const std::string& sql, const std::vector<SqlValue>& params,
                       const std::function<void(const SqlRow&)>& row, const std::string& doing) override {
    if (Status s = connected(doing); !s) return s;
    auto out = run(sql, params, row, doing);
    // A read is safe to send again when the connection broke under it; a change is not.
    if (!out && !in_tx_ && PQstatus(conn_) == CONNECTION_BAD && sql.rfind("SELECT", 0) == 0) {
      if (Status s = connected(doing); !s) return s;
      out = run(sql, params, row, doing);
    }
    return out;
  }

  Result<std::optional<Inserted>> insert(const std::string& sql, const std::vector<SqlValue>& params,
                                         const std::string& doing) override {
    std::optional<Inserted> made;
    auto r = exec(sql + " RETURNING id, version", params,
                  [&](const SqlRow& row) { made = Inserted{row.integer(0), row.integer(1)}; }, doing);
    if (!r) return r.status();
    return made;
  }

  // Versions come from a sequence, in the order changes are made, not committed: a change open in
  // another transaction may hold a lower version than one already committed. When no such
  // transaction is open (the exclusive lock is free), every version up to the sequence's value is
  // settled. Never waits: a busy moment is reported and the caller looks again later.
  Result<int64_t> settled_version(const std::string& doing) override {
    int64_t horizon = kBusy;
    auto r = exec(std::string("SELECT CASE WHEN pg_try_advisory_xact_lock(") + kVersionLock +
                      ") THEN (SELECT last_value FROM runs_version) END",
                  {}, [&](const SqlRow& row) { horizon = row.null(0) ? kBusy : row.integer(0); }, doing);
    if (!r) return r.status();
    return horizon;
  }

  Status begin(const std::string& doing) override {
    if (Status s = connected(doing); !s) return s;
    if (Status s = plain("BEGIN", doing); !s) return s;
    in_tx_ = true;
    return Status::OK();
  }
  Status commit(const std::string& doing) override {
    Status s = plain("COMMIT", doing);
    in_tx_ = false;
    return s;
  }
  void rollback() override {
    if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE) PgResult(PQexec(conn_, "ROLLBACK"));
    in_tx_ = false;
  }
  Status ids_taken(const std::string& doing) override {
    return exec("SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT MAX(id) FROM runs))", {}, {}, doing).status();
  }
  const std::string& shown() const override { return shown_; }

  // A statement (or several) without parameters or a result, through the simple protocol.
  Status plain(const char* sql, const std::string& doing) {
    PgResult r(PQexec(conn_, sql));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && PQresultStatus(r.get()) != PGRES_TUPLES_OK) return error(r.get(), doing);
    return Status::OK();
  }

  Status error(const PGresult* r, const std::string& doing) {
    std::string what = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
    if (what.empty()) what = trimmed(PQerrorMessage(conn_));
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string code = state ? state : (PQstatus(conn_) == CONNECTION_BAD ? "08000" : "");
    return Status::Error(shown_ + ": " + doing + ": " + what + advice(code));
  }

 private:
  // A connection the server closed since the last call (a restart, an idle timeout) is reset
  // here, before anything is sent: nothing can have been done twice.
  Status connected(const std::string& doing) {
    if (in_tx_) return Status::OK();  // a broken transaction fails as a whole, never half-resent
    // Whatever the server sent while we were idle (its last FATAL message, then the end of the
    // stream) is read now, so a closed session shows as CONNECTION_BAD before we send anything.
    for (int i = 0; i < 4 && PQstatus(conn_) == CONNECTION_OK && readable(PQsocket(conn_)); ++i)
      if (!PQconsumeInput(conn_)) break;
    if (PQstatus(conn_) == CONNECTION_OK) return Status::OK();
    statements_.clear();  // prepared statements belong to the old session
    PQreset(conn_);
    if (PQstatus(conn_) == CONNECTION_OK) return Status::OK();
    return Status::Error(shown_ + ": " + doing + ": cannot reconnect to PostgreSQL: " + trimmed(PQerrorMessage(conn_)) +
                         "; check that the server runs and accepts flisd");
  }

  Result<int64_t> run(const std::string& sql, const std::vector<SqlValue>& params,
                      const std::function<void(const SqlRow&)>& row, const std::string& doing) {
    auto name = prepared(sql, params, doing);
    if (!name) return name.status();
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<std::string> numbers(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      if (const auto* v = std::get_if<int64_t>(&params[i])) values[i] = (numbers[i] = std::to_string(*v)).c_str();
      else if (const auto* t = std::get_if<std::string>(&params[i])) values[i] = t->c_str();
    }
    PgResult r(PQexecPrepared(conn_, name->c_str(), int(params.size()), values.data(), nullptr, nullptr, 0));
    ExecStatusType st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(r.get(), doing);
    if (row) {
      for (int i = 0, n = PQntuples(r.get()); i < n; ++i) row(PgRow(r.get(), i));
    }
    const char* changed = PQcmdTuples(r.get());
    return int64_t(changed && *changed ? std::strtoll(changed, nullptr, 10) : 0);
  }

  // Each statement is prepared once per session, typed by the first call's parameters (an integer
  // as bigint, text as text, NULL left for PostgreSQL to infer from where it is used).
  Result<std::string> prepared(const std::string& sql, const std::vector<SqlValue>& params, const std::string& doing) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    std::string name = "flisd_" + std::to_string(++prepared_count_);
    std::vector<Oid> types(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      if (std::holds_alternative<int64_t>(params[i])) types[i] = 20;           // int8
      else if (std::holds_alternative<std::string>(params[i])) types[i] = 25;  // text
    }
    PgResult r(PQprepare(conn_, name.c_str(), translate(sql).c_str(), int(params.size()), types.data()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return error(r.get(), doing);
    statements_.emplace(sql, name);
    return name;
  }

  PGconn* conn_;
  std::string shown_;
  bool in_tx_ = false;
  int prepared_count_ = 0;
  std::unordered_map<std::string, std::string> statements_;
};

Result<int> stored_version(PgDb& db, bool create) {
  if (create) {
    if (Status s = db.plain("CREATE TABLE IF NOT EXISTS flisd_schema (version INTEGER NOT NULL)", "creating the schema table"); !s)
      return s;
  }
  int version = -1;
  bool table = false;
  auto r = db.exec("SELECT to_regclass('flisd_schema') IS NOT NULL", {},
                   [&](const SqlRow& row) { table = row.text(0) == "t"; }, "reading the schema version");
  if (!r) return r.status();
  if (!table) return 0;
  r = db.exec("SELECT version FROM flisd_schema", {}, [&](const SqlRow& row) { version = int(row.integer(0)); },
              "reading the schema version");
  if (!r) return r.status();
  return version < 0 ? 0 : version;
}

// Brings the schema up to date in one transaction; nodes starting at once wait for each other.
Status migrate(PgDb& db) {
  if (Status s = db.begin("starting the schema migration"); !s) return s;
  Status status = db.plain(kMigrationLock, "locking the schema for its migration");
  Result<int> version = status ? stored_version(db, true) : Result<int>(status);
  status = version.status();
  if (status) status = refuse_newer_schema(*version, kPgSchemaVersion, db.shown());
  if (status && *version == 0) status = db.plain("INSERT INTO flisd_schema (version) VALUES (0)", "recording the schema version");
  for (int v = version ? *version : kPgSchemaVersion; status && v < kPgSchemaVersion; ++v) {
    status = db.plain(kMigrations[v], "migrating the schema to version " + std::to_string(v + 1));
    std::string bump = "UPDATE flisd_schema SET version = " + std::to_string(v + 1);
    if (status) status = db.plain(bump.c_str(), "setting the schema version");
  }
  if (status) return db.commit("committing the schema migration");
  db.rollback();
  return status;
}

void no_notices(void*, const char*) {}  // "relation already exists, skipping" is not news

}  // namespace

static_assert(kPgSchemaVersion == 3, "both engines keep the same schema version");

Result<std::unique_ptr<StateDb>> open_pg_db(const std::string& uri, bool readonly) {
  const std::string shown = redacted(uri);
  // Before dbname, so the URI may say otherwise; after it, what flisd insists on. Over TCP a
  // database that stops answering (a cut link, a paused host) must fail a call within seconds, not
  // block the daemon's loop past its lease: unacknowledged data fails after tcp_user_timeout (ms),
  // a silent wait for an answer after keepalives_idle + keepalives_count x keepalives_interval.
  std::vector<const char*> keys{"connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
                                "tcp_user_timeout", "fallback_application_name", "dbname"};
  std::vector<const char*> values{"10", "5", "2", "3", "10000", "flisd", uri.c_str()};
  if (readonly) {
    keys.push_back("options");
    values.push_back("-c default_transaction_read_only=on");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (conn == nullptr) return Status::Error("state database " + shown + ": connecting: out of memory");
  auto db = std::make_unique<PgDb>(conn, shown);
  if (PQstatus(conn) != CONNECTION_OK)
    return Status::Error("state database " + shown + ": connecting: " + trimmed(PQerrorMessage(conn)) +
                         "; check that PostgreSQL runs, that the database exists and that flisd's user may connect "
                         "(peer authentication over the unix socket, a PGPASSFILE or a systemd credential)");
  PQsetNoticeProcessor(conn, no_notices, nullptr);
  if (readonly) {
    auto version = stored_version(*db, false);
    if (!version) return version.status();
    if (Status s = refuse_newer_schema(*version, kPgSchemaVersion, db->shown()); !s) return s;
    if (*version == 0)
      return Status::Error(db->shown() + ": holds no flisd state yet (flisd has not run on it); start flisd once, or "
                                         "copy a history into it with flisctl state-copy");
    if (*version < kPgSchemaVersion)
      return Status::Error(db->shown() + ": schema version " + std::to_string(*version) + " is older than this flisd's " +
                           std::to_string(kPgSchemaVersion) + "; start flisd once to migrate it");
  } else if (Status s = migrate(*db); !s) {
    return s;
  }
  return std::unique_ptr<StateDb>(std::move(db));
}

}  // namespace flis
