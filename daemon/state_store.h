// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run state store (Datapakkekørsler): one SQLite database in WAL mode, schema versioned with
// migrations. Every transition of a run is committed here before it is acted on, so a crash at any
// moment leaves a record of what may have happened. (order, period, redelivery) is unique: a period
// can never be delivered twice by accident.
//
// Thread-safety: a StateStore may be used from several threads; calls are serialised internally.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "config/clock.h"
#include "config/status.h"
#include "daemon/run_state.h"

struct sqlite3;

namespace flis {
class StmtCache;
}

namespace flis {


struct Run {
  int64_t id = 0;
  std::string order;
  int municipality = 0;
  std::string period;       // Period::name()
  int redelivery = 1;       // 1 = the delivery; 2, 3, ... = redeliveries asked for by hand (.r2)
  RunKind kind = RunKind::subscription;
  RunStatus status = RunStatus::queued;
  int attempts = 0;
  std::optional<Instant> created, started, finished, next_attempt;
  int64_t bytes = 0;
  std::string remote;       // final path on the target
  std::string checksum;     // SHA-256 of the package, hex
  std::string error;
  std::string config_version;
  bool late = false;        // waiting past its expected time, and logged so
  std::vector<std::string> missing;  // waiting: the partitions not yet processed (SOURCE/INTERFACE/partition)
  std::string node;         // the node that made (or makes) its last attempt; empty on one host
  int64_t incarnation = 0;  // that node's incarnation when it claimed the run
  int64_t version = 0;      // the store-wide change counter at its last insert or update
};

// This process in the shared state: its node name and the incarnation attach_node gave it.
struct NodeLease {
  std::string node;
  int64_t incarnation = 0;
};

// Whether `s` is the error of a fenced write refused because this node's lease is lost: the
// caller must abandon the run (another node may be finishing it), not retry or record anything.
inline bool is_lease_lost(const Status& s) { return s.code() == StatusCode::lease_lost; }

struct RunFilter {
  std::optional<std::string> order;
  std::optional<RunStatus> status;
};

class StateStore {
 public:
  // Opens (creating and migrating as needed) the database at path.
  // Refuses a database written by a newer flisd (schema version above schema_version()).
  static Result<std::unique_ptr<StateStore>> open(const std::filesystem::path& path);
  // Opens an existing database read-only, without creating or migrating it (flisctl runs). Only
  // the reads (get, list) may be used on it.
  static Result<std::unique_ptr<StateStore>> open_readonly(const std::filesystem::path& path);
  // The schema version (PRAGMA user_version) this flisd writes.
  static int schema_version();
  ~StateStore();

  // The run of (order, period, redelivery); created with `status` if absent, otherwise returned as
  // it is (an existing run is never reset).
  Result<Run> ensure(const Run& proto);
  // A new run for a redelivery by hand: redelivery = highest existing + 1, queued.
  Result<Run> add_redelivery(const std::string& order, const std::string& period, int municipality,
                             RunKind kind, const std::string& config_version, Instant now);

  // Transitions; each is committed before it returns.
  // Every transition is refused (an error naming the run) unless run_state.h allows it from the
  // run's current state; the check is in the UPDATE itself, so it holds across threads and hosts.
  Status set_waiting(int64_t id, const std::vector<std::string>& missing);
  // The run's lateness was logged (not a transition: it stays waiting).
  Result<bool> set_late(int64_t id);
  Status set_queued(int64_t id, Instant now);
  // queued again with a fresh retry budget (attempts = 0): `flisctl retry`.
  Status requeue_fresh(int64_t id, Instant now);
  // attempts += 1; only a queued run may start (an error otherwise), so no run starts twice.
  Status set_running(int64_t id, Instant now);
  // The package is built and about to be committed: records its size, final path and checksum on
  // the running run, so a crash between the target's rename and its checksum file can be finished.
  Status set_packed(int64_t id, int64_t bytes, const std::string& remote, const std::string& checksum);
  Status set_delivered(int64_t id, Instant now, int64_t bytes, const std::string& remote,
                       const std::string& checksum);
  // failed; next_attempt set means it is retried then, absent means it is left failed.
  Status set_failed(int64_t id, Instant now, const std::string& error, std::optional<Instant> next_attempt);
  // Only a waiting, queued or failed run can be cancelled (an error otherwise): never one running.
  Status set_cancelled(int64_t id, Instant now, const std::string& why);

  // Runs `body` as one transaction: the transitions it makes are committed together, with one
  // fsync instead of one each (a first refresh of 10,000 orders), or not at all if it fails.
  // Other threads' calls wait until it ends, so keep the body to the writes. Nested: one transaction.
  Status batch(const std::function<Status()>& body);

  Result<std::optional<Run>> get(int64_t id);
  Result<std::vector<Run>> list(const RunFilter& filter = {});
  // Every run, oldest first, one at a time: loading the run book without holding every row.
  Status scan(const std::function<void(const Run&)>& fn);

  // For the metrics (daemon/metrics.h), read once at start: each order's last delivery (order,
  // municipality, finished); after that the daemon reports each delivery itself.
  struct LastDelivery {
    std::string order;
    int municipality = 0;
    Instant at;
  };
  Result<std::vector<LastDelivery>> last_deliveries();

  const std::filesystem::path& path() const { return path_; }

  // --- several hosts (one host: the lease is this process's alone, nothing is fenced) ---------
  Result<NodeLease> attach_node(const std::string& node, std::chrono::seconds lease, const std::string& host, int pid);
  Status renew_lease();
  Status release_lease();
  const std::optional<NodeLease>& lease() const { return lease_; }
  // Running runs whose node's lease expired, taken over by this node (none on one host).
  Result<std::vector<Run>> take_orphans();
  // Every run changed with version > after (none on one host: this process made every change).
  Status changes_since(int64_t after, const std::function<void(const Run&)>& fn, int64_t* last);

 private:
  StateStore(sqlite3* db, std::filesystem::path path);
  std::recursive_mutex mu_;  // recursive: a batch's body makes the store's own calls
  bool in_batch_ = false;
  sqlite3* db_;
  std::filesystem::path path_;
  std::unique_ptr<StmtCache> stmts_;
  std::optional<NodeLease> lease_;
  bool orphans_taken_ = false;
};

}  // namespace flis
