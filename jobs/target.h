// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Targets: where a package is delivered. A delivery streams into an Upload under a
// temporary name; only commit() makes it visible under its final name, followed by the
// `<name>.sha256` file beside it. A consumer never sees a partial package under the final name.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "config/model.h"

namespace flis {

// One package on its way to a target. Not thread-safe: one writer.
class Upload {
 public:
  virtual ~Upload() = default;
  // Appends bytes to the temporary file.
  virtual Status write(const void* data, size_t size) = 0;
  // Makes the package durable, renames it to its final name, then writes `<name>.sha256` as
  // "<sha256_hex>  <name>\n". After an OK commit the package is delivered.
  virtual Status commit(const std::string& sha256_hex) = 0;
  // Removes the temporary file (best effort); called when anything failed before commit.
  virtual void abort() = 0;
  // The final path on the target, e.g. "/kommuner/101/datapakker/K101-CPR-D_2026-11-25.tar.zst".
  virtual std::string remote_path() const = 0;
};

// What is on the target under a package's final name (crash recovery).
struct RemoteFile {
  uint64_t size = 0;
  std::optional<std::string> sha256;  // the content of <name>.sha256, if present
};

class DeliveryTarget {
 public:
  virtual ~DeliveryTarget() = default;
  // Starts a package `name` in `folder` (the expanded path template). Makes the folder as needed
  // and removes a stale temporary file of an earlier, interrupted attempt. `attempt` (node and
  // attempt number, see attempt_tag()) goes into the temporary name, so that an attempt that lost
  // its lease and resumes later can never commit another attempt's temporary file.
  virtual Result<std::unique_ptr<Upload>> begin(const std::string& folder, const std::string& name,
                                                const std::string& attempt = {}) = 0;
  // begin(), unless the final name is already there: then an OK result holding no Upload, and
  // nothing left on the target (inspect() tells what is there). What delivering asks first: in
  // the usual case one look at the target instead of inspect() and then begin(). This default does
  // just those two; a remote target does it in one round trip.
  virtual Result<std::unique_ptr<Upload>> begin_unless_present(const std::string& folder, const std::string& name,
                                                               const std::string& attempt = {});
  // The final file `name` in `folder`, or nullopt when absent. Also removes a stale temporary file.
  virtual Result<std::optional<RemoteFile>> inspect(const std::string& folder, const std::string& name) = 0;
  // Removes every temporary file of package `name` in `folder`, whichever attempt left it (crash
  // recovery, a run taken over from another node, a retry). Lists the folder: not for every run.
  virtual Status remove_temporaries(const std::string& folder, const std::string& name) = 0;
  // Writes `<name>.sha256` beside a package already under its final name: completes a commit that
  // was interrupted between the rename and the checksum file (a crash, a lost connection). The
  // caller vouches for the checksum (it recorded it before commit and checked the size).
  virtual Status finish_checksum(const std::string& folder, const std::string& name,
                                 const std::string& sha256_hex) = 0;
  // A short description for errors and logs: "sftp://flisd@sftp.flis.example:22" or "dir:/var/...".
  virtual std::string describe() const = 0;
};

// The content of `<name>.sha256`, in sha256sum's format: "<hex>  <name>\n".
std::string checksum_line(const std::string& sha256_hex, const std::string& name);

// The temporary name a package is uploaded under: hidden, and never ending in .tar.zst. With an
// attempt tag: ".<name>.<attempt>.part", one per attempt.
std::string temporary_name(const std::string& name, const std::string& attempt = {});
// Whether `entry` (a file name in a package's folder) is a temporary file of package `name`: of
// the package or its checksum file, from any attempt.
bool is_temporary_of(const std::string& entry, const std::string& name);
// The attempt tag of `node`'s attempt number `attempt`: "<node>-<attempt>", with anything but
// letters, digits, '-' and '_' in the node name replaced by '_' (it becomes part of a file name).
std::string attempt_tag(const std::string& node, int attempt);

// A package's name is one plain file name: not empty, no '/', not "." or "..", and not hidden (a
// leading '.' is how temporary names look). Every target checks it in begin(), inspect() and
// finish_checksum(), with this one rule.
Status check_package_name(const std::string& name);

// `name` in `folder` on a target: "folder/name", with no doubled '/'.
std::string join_path(const std::string& folder, const std::string& name);

// The folder for an order: the target's path template with {municipality} (3 digits) and {order}.
std::string expand_path(const std::string& path_template, int municipality, const std::string& order_id);

// Refuses a folder (an expanded path template) with a ".." component, so a template can never lead
// a package outside the tree it names. Every target checks it in begin() and inspect().
Status check_folder(const std::string& folder);

class SessionPool;

// The target for a delivery as configured. `cancel`, when set, aborts blocking network operations
// promptly (shutdown); may be null. SFTP targets take their SSH sessions from `pool`, or from the
// process's own pool (SessionPool::process()) when it is null, so every run to one server shares
// the same few sessions.
Result<std::unique_ptr<DeliveryTarget>> make_target(const Target& config, const std::atomic<bool>* cancel = nullptr,
                                                    SessionPool* pool = nullptr);

}  // namespace flis
