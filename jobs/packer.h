// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The packer: warehouse files through a POSIX/pax tar into zstd streaming compression and on to an
// Upload. manifest.json is the first member; it carries each file's size and SHA-256, so files are
// hashed in a read of their own, which starts first (PackageSource) and runs beside the
// archive's: the files are compressed while they are hashed, and the manifest's frame is put in
// front when the hashes are known (jobs/package_stream.h). Memory stays flat whatever the size.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "config/model.h"
#include "config/period.h"
#include "jobs/collect.h"
#include "jobs/target.h"

namespace flis {

// "<order-id>_<period>.tar.zst", with ".r2", ".r3" before .tar.zst for redeliveries by hand.
std::string package_name(const std::string& order_id, const std::string& period_name, int redelivery = 1);

struct PackageSpec {
  const Order* order = nullptr;
  Period period;
  std::vector<Partition> partitions;
  std::filesystem::path warehouse;
  Compression compression;
  Instant created;
  // Test seam: called after the warehouse files are listed and before the first is read, so a test
  // can swap a folder at exactly that moment. Unset in production.
  std::function<void()> after_listing;
  // Test seams: after_hashing is called on the hashing side once every file is hashed, before
  // the manifest is made; before_packing on the archive's side before its first warehouse file is
  // opened. A test that waits in before_packing for after_hashing changes a file between the two
  // reads without racing. Unset in production.
  std::function<void()> after_hashing;
  std::function<void()> before_packing;
};

struct PackResult {
  uint64_t bytes = 0;   // compressed size, as uploaded
  std::string sha256;   // of the compressed package, hex
  uint64_t files = 0;
  uint64_t raw_bytes = 0;
};

class HashPass;

// A package's warehouse files, listed, and hashed on threads of their own from the moment start()
// returns. A caller starts it before the slow part of reaching the target (connecting, looking for
// an earlier delivery), so the hashes are ready, or nearly, when packing begins, and the archive
// need not wait for them. Dropping it stops the hashing within a block.
class PackageSource {
 public:
  // Lists the files (collect.h) and starts hashing them. `spec` and `cancel` must outlive it.
  static Result<std::unique_ptr<PackageSource>> start(const PackageSpec& spec, const std::atomic<bool>* cancel);
  ~PackageSource();
  PackageSource(const PackageSource&) = delete;
  PackageSource& operator=(const PackageSource&) = delete;

 private:
  PackageSource(const PackageSpec& spec, const std::atomic<bool>* cancel, std::vector<PackageFile> files);
  friend Result<PackResult> build_package(PackageSource& source, Upload& upload);

  const PackageSpec& spec_;
  const std::atomic<bool>* cancel_;
  std::vector<PackageFile> files_;
  std::unique_ptr<HashPass> hashes_;
};

// Builds the package and streams it into `upload` (write() calls only; the caller commits with
// the returned checksum). Fails naming the file when a warehouse file vanishes, is unreadable or
// changes while read. The source's `cancel`, when set, stops it promptly with an error. Once.
Result<PackResult> build_package(PackageSource& source, Upload& upload);
// The same, listing and hashing the files as it goes.
Result<PackResult> build_package(const PackageSpec& spec, Upload& upload,
                                 const std::atomic<bool>* cancel = nullptr);

}  // namespace flis
