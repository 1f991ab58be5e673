// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Delivering one run: ask the target whether the package is already there, else build it from the
// warehouse and stream it to the target, and say what happened as a value. No store transitions
// happen here except set_packed (the package's size and checksum, recorded just before the final
// rename so that a crash inside the commit can be finished by recovery); the Runner records the
// outcome.
//
// Thread-safety: may run on several worker threads at once, for different runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "config/model.h"
#include "daemon/state_store.h"

namespace flis {

// What a delivery left behind: bytes, final path and checksum.
struct Delivered {
  int64_t bytes = 0;
  std::string remote;
  std::string checksum;
  bool found = false;  // already on the target: an earlier attempt got as far as the final rename
};

// How many runs may be in flight at once: `workers` building packages (reading the warehouse and
// compressing: deliver() lets no more than that many do so at a time; each run hashes its files
// before that, while its target is reached) and as many more
// finishing their uploads (the server's fsync, the renames, the checksum file), so that uploading
// overlaps packing instead of a worker waiting for the server. The service and flisd --once both
// dispatch this many.
int runs_in_flight(const Config& config);

// Builds the package of `run` and streams it to its target. `created` goes into the manifest.
// `attempt` names the attempt in the temporary file's name (jobs/target.h attempt_tag(); empty:
// the one-host name). A retry first removes what earlier attempts may have left.
Result<Delivered> deliver(const Config& config, StateStore& store, const Order& order, const Run& run,
                          Instant created, const std::atomic<bool>* cancel, const std::string& attempt = {});

// Crash recovery: the package of a run left `running`, if it is complete on its target (a final
// file without its checksum file, whose size matches what the run recorded, is completed first).
// nullopt when it is not there; every temporary file of the package, whichever attempt (or node)
// left it, is removed first.
Result<std::optional<Delivered>> find_delivered(const Config& config, const Order& order, const Run& run,
                                                const std::atomic<bool>* cancel);

// Test seam: when set, called on the worker once its run holds a packing place and its temporary
// file is open on the target, before the first archived byte (the files may still be being
// hashed); a test stops the daemon there instead of racing an upload. Unset in production.
void set_delivery_pause_for_tests(std::function<void(const std::atomic<bool>* cancel)> pause);

}  // namespace flis
