// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Collecting the warehouse files of one municipality for a package. Only
// <partition>/<municipality>/ is ever read; symlinks and anything that would leave that folder are
// refused, so a package can never contain another municipality's data.
//
// Nothing is opened by path after the warehouse root: the root is opened once, every folder and
// file beneath it with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to a descriptor, and
// the device and inode of each municipality folder and file are recorded when listed. Reading a
// file again (open_package_file) checks both, so a folder swapped after listing (101/ renamed away,
// 147/ or a link to it put in its place) fails the package instead of filling it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/model.h"

namespace flis {

// The warehouse root folder, opened once for a package and shared by its files.
class WarehouseRoot {
 public:
  static Result<std::shared_ptr<const WarehouseRoot>> open(const std::filesystem::path& path);
  ~WarehouseRoot();
  WarehouseRoot(const WarehouseRoot&) = delete;
  WarehouseRoot& operator=(const WarehouseRoot&) = delete;
  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  WarehouseRoot(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::filesystem::path path_;
};

// A folder or file as it was listed: device and inode.
struct FileId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool operator==(const FileId&) const = default;
};

struct PackageFile {
  std::filesystem::path source;  // absolute path in the warehouse, for messages
  std::string archive_path;      // <SOURCE>/<INTERFACE>/<partition>/<relative file path>
  std::string partition;         // the Partition::key() it belongs to
  uint64_t size = 0;
  std::string sha256;            // hex; filled by the packer's first read
  // Where it is read from: `relative` inside `folder` (SOURCE/INTERFACE/partition/<municipality>,
  // relative to the root), and what both were when listed.
  std::shared_ptr<const WarehouseRoot> root;
  std::string folder, relative;
  FileId folder_id, id;
};

// Regular files under each partition's municipality folder, sorted by archive path. A partition
// without that folder contributes nothing (the municipality had no data that period). A symbolic
// link anywhere below the warehouse root, a special file, or a file with more than one hard link
// (it may be another municipality's file too) refuses the whole package, naming the entry.
Result<std::vector<PackageFile>> collect_files(const std::filesystem::path& warehouse,
                                               const std::vector<Partition>& partitions, int municipality);

// Opens a collected file for reading (O_RDONLY | O_CLOEXEC | O_NONBLOCK): beneath the root
// descriptor with no symbolic link, and only if its municipality folder and the file itself are
// the ones listed and the file still has one link. The errors name the file; a file that is gone
// says "vanished", one replaced says "changed", and both add that the run will be retried.
Result<int> open_package_file(const PackageFile& f);

}  // namespace flis
