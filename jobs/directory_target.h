// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The directory target: packages delivered into a local folder with the same layout
// and the same guarantees as over SFTP. The package is written as `.<name>.part`, fsync'ed, renamed
// to `<name>` (never over an existing file: a delivered package is never overwritten), then
// `<name>.sha256` is written through its own temporary file and rename, and the folder is fsync'ed
// so both names survive a crash.
//
// Thread-safety: a DirectoryTarget may begin several uploads from different threads (it holds only
// its configuration); each Upload belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "config/model.h"
#include "jobs/target.h"

namespace flis {

class DirectoryTarget : public DeliveryTarget {
 public:
  // `path_template` is only used for describe(); begin() and inspect() take the expanded folder.
  // Packages and checksum files get `file_mode`, folders it makes `dir_mode` (Target::file_mode).
  explicit DirectoryTarget(std::string path_template = {}, uint32_t file_mode = 0640, uint32_t dir_mode = 0750);

  Result<std::unique_ptr<Upload>> begin(const std::string& folder, const std::string& name,
                                        const std::string& attempt = {}) override;
  // RemoteFile::sha256 holds the 64 hex digits of `<name>.sha256` (its first field), not the line.
  Result<std::optional<RemoteFile>> inspect(const std::string& folder, const std::string& name) override;
  Status remove_temporaries(const std::string& folder, const std::string& name) override;
  Status finish_checksum(const std::string& folder, const std::string& name, const std::string& sha256_hex) override;
  std::string describe() const override { return "directory:" + path_template_; }

 private:
  std::string path_template_;
  uint32_t file_mode_, dir_mode_;
};

}  // namespace flis
