// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run state store (Datapakkekørsler): every transition of a run is committed here before it is
// acted on, so a crash at any moment leaves a record of what may have happened. (order, period,
// redelivery) is unique: a period can never be delivered twice by accident.
//
// Two engines behind one interface, chosen by the `state:` location: a file path is SQLite (one
// host, zero configuration; daemon/state_store_sqlite.cpp), a postgresql:// or postgres:// URI is
// PostgreSQL (several hosts sharing one history; daemon/state_store_pg.cpp). Both keep the same
// schema version, the same legal-transition table in their SQL and timestamps as unix seconds.
//
// Several hosts: a process names itself with attach_node() and holds a lease it renews. Its claim
// (set_running, claim_next) and every change of a run it holds are fenced in the SQL by node,
// incarnation and a live lease, so a node that lost its lease can no longer change a run; another
// node takes such runs over with take_orphans(). Without attach_node (tests, flisctl) there is no
// fencing, as on one host before.
//
// Thread-safety: a StateStore may be used from several threads; calls are serialised internally.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/period.h"
#include "daemon/run_state.h"

namespace flis {

struct Run {
  int64_t id = 0;
  std::string order;
  int municipality = 0;
  Period period;            // text (Period::name()) only in the store's column
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

// Whether a `state:` location names a PostgreSQL database rather than an SQLite file.
bool is_database_uri(const std::string& location);

struct RunFilter {
  std::optional<std::string> order;
  std::optional<RunStatus> status;
};

class StateStore {
 public:
  // Opens (creating and migrating as needed) the store at `location`: a postgresql:// or
  // postgres:// URI, or else an SQLite file path. Refuses a database written by a newer flisd
  // (schema version above schema_version()).
  static Result<std::unique_ptr<StateStore>> open(const std::string& location);
  // Opens an existing store read-only, without creating or migrating it (flisctl runs). Only the
  // reads (get, list, scan, changes_since) may be used on it.
  static Result<std::unique_ptr<StateStore>> open_readonly(const std::string& location);
  // Whether the store at `location` exists (a file; a URI is assumed to): before it does, flisctl
  // shows an empty history instead of an error.
  static bool exists(const std::string& location);
  // The schema version this flisd writes (both engines).
  static int schema_version();
  virtual ~StateStore() = default;

  // The run of (order, period, redelivery); created with `status` if absent, otherwise returned as
  // it is (an existing run is never reset). Safe from several nodes at once: one row.
  virtual Result<Run> ensure(const Run& proto) = 0;
  // A new run for a redelivery by hand: redelivery = highest existing + 1, queued.
  virtual Result<Run> add_redelivery(const std::string& order, const Period& period, int municipality,
                                     RunKind kind, const std::string& config_version, Instant now) = 0;

  // Transitions; each is committed before it returns.
  // Every transition is refused (an error naming the run) unless run_state.h allows it from the
  // run's current state; the check is in the UPDATE itself, so it holds across threads and hosts.
  // After attach_node, set_running and every change of a running run are also fenced: refused
  // with a lease-lost error (is_lease_lost) unless this incarnation holds the run and a live lease.
  virtual Status set_waiting(int64_t id, const std::vector<std::string>& missing) = 0;
  // The run's lateness is to be logged (not a transition: it stays waiting). True if this call
  // marked it, false if it was already late: several nodes planning log it once.
  virtual Result<bool> set_late(int64_t id) = 0;
  virtual Status set_queued(int64_t id, Instant now) = 0;
  // queued again with a fresh retry budget (attempts = 0): `flisctl retry`.
  virtual Status requeue_fresh(int64_t id, Instant now) = 0;
  // attempts += 1; only a queued run may start (an error otherwise), so no run starts twice.
  virtual Status set_running(int64_t id, Instant now) = 0;
  // The package is built and about to be committed: records its size, final path and checksum on
  // the running run, so a crash between the target's rename and its checksum file can be finished.
  virtual Status set_packed(int64_t id, int64_t bytes, const std::string& remote, const std::string& checksum) = 0;
  virtual Status set_delivered(int64_t id, Instant now, int64_t bytes, const std::string& remote,
                               const std::string& checksum) = 0;
  // failed; next_attempt set means it is retried then, absent means it is left failed.
  virtual Status set_failed(int64_t id, Instant now, const std::string& error,
                            std::optional<Instant> next_attempt) = 0;
  // Only a waiting, queued or failed run can be cancelled (an error otherwise): never one running.
  virtual Status set_cancelled(int64_t id, Instant now, const std::string& why) = 0;

  // Runs `body` as one transaction: the transitions it makes are committed together, with one
  // fsync instead of one each (a first refresh of 10,000 orders), or not at all if it fails.
  // Other threads' calls wait until it ends, so keep the body to the writes. Nested: one transaction.
  virtual Status batch(const std::function<Status()>& body) = 0;

  // Reads. A row whose period is not a period name (only a hand edit or a damaged database holds
  // one) fails the read with an error naming the run, its period text and how to repair it, and a
  // scan stops there: a run flisd cannot place may be a delivered period, so planning on without
  // it could deliver that period twice.
  virtual Result<std::optional<Run>> get(int64_t id) = 0;
  virtual Result<std::vector<Run>> list(const RunFilter& filter = {}) = 0;
  // Every run, oldest first, one at a time: loading the run book without holding every row.
  virtual Status scan(const std::function<void(const Run&)>& fn) = 0;
  // Every run inserted or updated with version > after, in version order; *last becomes the
  // highest version seen (after, if none): what another node changed since the last look.
  // Never skips a change that commits later with a lower version: on PostgreSQL, while another
  // transaction is writing it returns nothing (and *last = after); call again later.
  virtual Status changes_since(int64_t after, const std::function<void(const Run&)>& fn, int64_t* last) = 0;

  // --- several hosts -------------------------------------------------------------------------
  // Leases are on the database's clock (PostgreSQL now(); SQLite this host's clock).
  // Registers this process as `node` with a new incarnation and a lease of `lease`; refuses (an
  // error naming the node, host, pid and lease end) while another live process holds the name.
  // A lease left by a dead process of this host (same host, pid gone) is taken over at once.
  virtual Result<NodeLease> attach_node(const std::string& node, std::chrono::seconds lease,
                                        const std::string& host, int pid) = 0;
  // Extends the lease by its length from now; a lease-lost error when it had expired or another
  // incarnation took the name.
  virtual Status renew_lease() = 0;
  // Clean stop: the lease ends now, so the runs still running become orphans at once. Call it
  // after the last write: later fenced writes are refused.
  virtual Status release_lease() = 0;
  const std::optional<NodeLease>& lease() const { return lease_; }
  // The first queued run in priority order (subscriptions and datamarts before backfills, then the
  // oldest period, then id), made running for this node atomically; nullopt when none is queued.
  virtual Result<std::optional<Run>> claim_next(Instant now) = 0;
  // Running runs whose node's lease expired (or whose incarnation is not the node's current one),
  // taken over by this node atomically (attempts unchanged). The caller checks each run's target
  // as crash recovery does before deciding. Needs attach_node.
  virtual Result<std::vector<Run>> take_orphans() = 0;

  // For the metrics (daemon/metrics.h), read once at start: each order's last delivery (order,
  // municipality, finished); after that the daemon reports each delivery itself.
  struct LastDelivery {
    std::string order;
    int municipality = 0;
    Instant at;
  };
  virtual Result<std::vector<LastDelivery>> last_deliveries() = 0;

  // Moving a history between engines (flisctl state-copy): the number of runs, and every run of
  // `from` inserted exactly as given (id, status, times, attempts), then the id counter moved past
  // them once.
  virtual Result<int64_t> count_runs() = 0;
  virtual Status import_runs(StateStore& from) = 0;

  // The location it was opened with (a path, or a URI as written).
  const std::string& location() const { return location_; }

 protected:
  explicit StateStore(std::string location) : location_(std::move(location)) {}
  std::optional<NodeLease> lease_;
  std::chrono::seconds lease_length_{0};

 private:
  std::string location_;
};

// Copies every run of `from` (same ids) into `to`, which must hold no run, in one transaction of
// `to`: moving an installation from SQLite to PostgreSQL without delivering anything again.
Status copy_history(StateStore& from, StateStore& to);

}  // namespace flis
