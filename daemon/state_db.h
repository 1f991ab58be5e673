// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// One connection to the state database, as the run store (daemon/state_store.cpp) uses it: run a
// statement with parameters, read its rows, count the rows it changed, begin and end a
// transaction. The store's SQL is written once, with SQLite-style numbered parameters (?1, ?2)
// and three tokens an engine replaces: {now} (the database clock, unix seconds), {nextver} (the
// next value of the store-wide change counter) and {lock} (row locks skipping rows another
// transaction holds, where the engine has them). Engines: daemon/state_store_sqlite.cpp and
// daemon/state_store_pg.cpp.
//
// Thread-safety: none; the store serialises its calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/status.h"

namespace flis {

// A statement parameter: NULL, an integer or text.
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

// One result row; valid only inside the callback that receives it.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual bool null(int col) const = 0;
  virtual int64_t integer(int col) const = 0;
  virtual std::string text(int col) const = 0;
};

class StateDb {
 public:
  virtual ~StateDb() = default;
  // Runs one statement (prepared once and kept), calling `row` for each result row; returns the
  // number of rows it inserted, updated or deleted. `doing` words the error ("marking run 7 failed").
  virtual Result<int64_t> exec(const std::string& sql, const std::vector<SqlValue>& params,
                               const std::function<void(const SqlRow&)>& row, const std::string& doing) = 0;
  // Runs an INSERT ... ON CONFLICT DO NOTHING into runs: the new row's id and version, or nullopt
  // when the row existed. (Not RETURNING on SQLite: it materialises its result in a temporary
  // table, which halves the speed of a first refresh.)
  struct Inserted {
    int64_t id = 0, version = 0;
  };
  virtual Result<std::optional<Inserted>> insert(const std::string& sql, const std::vector<SqlValue>& params,
                                                 const std::string& doing) = 0;
  // The highest version below which every change has committed or rolled back, so a reader that
  // went up to it never misses one; kNoHorizon where versions are handed out in commit order
  // (SQLite: under its one write lock); kBusy when a transaction is writing right now.
  static constexpr int64_t kNoHorizon = INT64_MAX, kBusy = -1;
  virtual Result<int64_t> settled_version(const std::string& doing) = 0;
  // A write transaction; commit or rollback ends it. Statements outside one commit each on their own.
  virtual Status begin(const std::string& doing) = 0;
  virtual Status commit(const std::string& doing) = 0;
  virtual void rollback() = 0;
  // Runs were inserted with their ids given (a copied history): the id counter moves past them.
  virtual Status ids_taken(const std::string& doing) = 0;
  // The location as shown in messages ("state database /var/lib/flisd/state.db").
  virtual const std::string& shown() const = 0;
};

// An engine refuses a schema newer than the `known` one it migrates to: a newer flisd wrote it.
// `shown` is the database as shown in messages (StateDb::shown()).
inline Status refuse_newer_schema(int version, int known, const std::string& shown) {
  if (version <= known) return Status::OK();
  return Status::Error(shown + ": schema version " + std::to_string(version) +
                       " was created by a newer flisd (this one knows up to " + std::to_string(known) +
                       "); run that flisd version or restore a backup");
}

// The engines. Each creates (unless read-only) and migrates its schema to the store's version.
Result<std::unique_ptr<StateDb>> open_sqlite_db(const std::string& path, bool readonly);
Result<std::unique_ptr<StateDb>> open_pg_db(const std::string& uri, bool readonly);
int state_schema_version();

}  // namespace flis
