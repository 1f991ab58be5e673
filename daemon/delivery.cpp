// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Delivering one run. See daemon/delivery.h.
//
// Exactly once rests on asking the target before anything is built: a crash may have come between
// the final rename and the store's record of the delivery.
#include "daemon/delivery.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>

#include "config/period.h"
#include "jobs/packer.h"
#include "jobs/target.h"
#include "jobs/warehouse.h"

namespace flis {
namespace {

std::function<void(const std::atomic<bool>*)>& delivery_pause() {
  static std::function<void(const std::atomic<bool>*)> pause;
  return pause;
}

// At most `workers` runs build packages at once (runs_in_flight() lets twice as many be in
// flight). Process-wide; the limit is read at each entry, so a reload that changes `workers`
// applies to the next package.
class PackingGate {
 public:
  // Waits for a place; false when `cancel` was set meanwhile (looked at every quarter second).
  bool enter(int limit, const std::atomic<bool>* cancel) {
    std::unique_lock lock(mu_);
    while (busy_ >= std::max(1, limit)) {
      if (cancel && cancel->load()) return false;
      left_.wait_for(lock, std::chrono::milliseconds(250));
    }
    ++busy_;
    return true;
  }
  void leave() {
    {
      std::lock_guard lock(mu_);
      --busy_;
    }
    left_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable left_;
  int busy_ = 0;
};

PackingGate& packing_gate() {
  static PackingGate gate;
  return gate;
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
  d.name = package_name(order.id, run.period.name(), run.redelivery);
  return d;
}

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

}  // namespace

// Builds the package of `run` and streams it to its target. Asks the target first, in the same
// look that starts the upload: a package that is already there (with its checksum) is recorded
// rather than built again.
Result<Delivered> deliver(const Config& config, StateStore& store, const Order& order, const Run& run,
                          Instant created, const std::atomic<bool>* cancel, const std::string& attempt) {
  auto dest = destination_of(config, order, run, cancel);
  if (!dest) return dest.status();

  PackageSpec spec;
  spec.order = &order;
  spec.period = run.period;
  spec.partitions = partitions_for(config, order, run.period);
  spec.warehouse = config.settings.warehouse;
  spec.compression = config.settings.compression;
  spec.created = created;
  Status unready;
  for (const auto& p : spec.partitions)
    if (unready.ok() && !partition_processed(spec.warehouse, p))
      unready = Status::Error("partition " + p.key() + " is not processed (no _PROCESSED in " +
                              partition_path(spec.warehouse, p).string() + ")");
  // The files are hashed while the target is reached: over a long round trip, connecting and
  // looking for an earlier delivery take as long as hashing a few hundred MiB. Outside the
  // packing gate, so at most runs_in_flight() runs hash at once. Its errors wait for the target's
  // answer: a package already delivered is recorded even when its files are gone.
  Result<std::unique_ptr<PackageSource>> source = unready;
  if (unready.ok()) source = PackageSource::start(spec, cancel);

  // An earlier attempt that failed mid-upload may have left its own temporary file behind.
  if (run.attempts > 1)
    if (Status s = dest->target->remove_temporaries(dest->folder, dest->name); !s) return s;
  auto upload = dest->target->begin_unless_present(dest->folder, dest->name, attempt);
  if (!upload) return upload.status();
  if (!*upload) {
    auto found = already_delivered(*dest, run);
    if (!found) return found.status();
    if (found->has_value()) return **found;
    // Gone again between the two looks (removed by hand): start over once.
    upload = dest->target->begin(dest->folder, dest->name, attempt);
    if (!upload) return upload.status();
  }
  if (!source) {
    (*upload)->abort();
    return source.status();
  }

  if (!packing_gate().enter(config.settings.workers, cancel)) {
    (*upload)->abort();
    return Status::Error("package build cancelled: flisd is stopping; the run stays queued");
  }
  if (const auto& pause = delivery_pause()) pause(cancel);
  auto packed = build_package(**source, **upload);
  if (!packed) {
    // Removed before the next package may start: a package that filled the server's disk gives
    // its room back to the ones after it.
    (*upload)->abort();
    packing_gate().leave();
    return packed.status();
  }
  packing_gate().leave();  // every byte is with the upload: the server's part needs no packing place
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


int runs_in_flight(const Config& config) { return 2 * std::max(1, config.settings.workers); }

void set_delivery_pause_for_tests(std::function<void(const std::atomic<bool>*)> pause) {
  delivery_pause() = std::move(pause);
}

Result<std::optional<Delivered>> find_delivered(const Config& config, const Order& order, const Run& run,
                                                const std::atomic<bool>* cancel) {
  auto dest = destination_of(config, order, run, cancel);
  if (!dest) return dest.status();
  // Whichever attempt left them: a temporary name holds the attempt, so the one in the run's
  // record is not enough (an attempt taken over from another node, a retry).
  if (Status s = dest->target->remove_temporaries(dest->folder, dest->name); !s)
    return s.context("checking " + dest->target->describe() + " for " + dest->path());
  return already_delivered(*dest, run);
}

}  // namespace flis
