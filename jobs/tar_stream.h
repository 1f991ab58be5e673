// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// A tar writer on libarchive in POSIX pax form ("restricted": a pax extended header only where
// ustar cannot say it — names over 100 bytes, non-ASCII names, sizes of 8 GiB and more), handing
// its bytes to a sink as they are made. No compression here (jobs/zstd_stream.h does that) and no
// block padding beyond tar's own 512-byte records, so the sink sees exactly the archive.
//
// Use: begin_entry(path, size, mtime), then write() exactly `size` bytes, then finish_entry();
// repeat; then close() to write the end-of-archive records.
//
// Thread-safety: one thread drives a TarWriter.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"

struct archive;

namespace flis {

class TarWriter {
 public:
  using Sink = std::function<Status(const void* data, size_t size)>;

  static Result<std::unique_ptr<TarWriter>> open(Sink sink);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // A regular file member. `path` is UTF-8 with '/' separators.
  Status begin_entry(const std::string& path, uint64_t size, std::time_t mtime, int mode = 0644);
  // Member data; more than the size given to begin_entry is an error, never silently cut.
  Status write(const void* data, size_t size);
  // Pads the member to its 512-byte record; an error if fewer bytes than announced were written.
  Status finish_entry();
  Status close();

 private:
  explicit TarWriter(Sink sink);
  static ssize_t on_write(struct archive*, void* self, const void* data, size_t size);
  Status failure(const std::string& what);

  Sink sink_;
  struct archive* archive_ = nullptr;
  Status sink_status_;
  std::string entry_;       // the member being written
  uint64_t remaining_ = 0;  // bytes still owed to it
  bool closed_ = false;
};

}  // namespace flis
