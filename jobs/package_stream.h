// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The compressed package on its way to the Upload, in order: first the manifest's zstd frame, then
// the files' frame. The files' frame is started while the files are still being hashed, before
// the manifest exists, so its first bytes are held here, up to `hold_limit`, until release() is
// given the manifest's frame; from then on bytes go straight on. The SHA-256 and the count of the
// bytes handed to the Upload are kept on the way out, so the package checksum needs no second read.
// The Upload is written from a thread of its own (jobs/async_writer.h) and is no longer used
// once finish() returns.
//
// Thread-safety: one thread drives a PackageStream.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "base/status.h"
#include "jobs/async_writer.h"
#include "jobs/target.h"

namespace flis {

class PackageStream {
 public:
  PackageStream(Upload& out, size_t hold_limit);

  bool released() const { return released_; }
  // Whether `size` more bytes of the files' frame may still be held before release().
  bool can_hold(size_t size) const { return held_bytes_ + size <= hold_limit_; }
  // Bytes of the files' frame: held before release() (the caller checks can_hold() first), else
  // passed on.
  Status files(const char* data, size_t size);
  // Passes on the manifest's frame, then every byte held, and frees them.
  Status release(const std::string& manifest_frame);
  // Waits until the Upload has every byte; the first write error, if any.
  Status finish();

  uint64_t bytes_out() const { return bytes_out_; }
  // The SHA-256 of every byte handed to the Upload; valid after finish().
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  Status pass_on(const char* data, size_t size);

  AsyncWriter out_;
  const size_t hold_limit_;
  std::vector<std::vector<char>> held_;
  size_t held_bytes_ = 0;
  bool released_ = false;
  Sha256 sha_;
  uint64_t bytes_out_ = 0;
  std::string sha256_hex_;
};

}  // namespace flis
