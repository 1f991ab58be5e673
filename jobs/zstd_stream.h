// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// zstd streaming compression into an Upload: the last stage of the packer. Input of
// any size goes in through write(); compressed bytes leave in chunks of about 1 MiB, and their
// SHA-256 and count are kept on the way out, so the package checksum needs no second read. The
// Upload is written from a thread of its own (jobs/async_writer.h), so a slow disk or network
// write does not stall compression; it is no longer used once finish() returns.
// Memory is bounded by zstd's window and job buffers, whatever the input size.
//
// Thread-safety: one thread drives a ZstdWriter; zstd's own worker threads stay inside it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/sha256.h"
#include "base/status.h"
#include "config/model.h"
#include "jobs/async_writer.h"
#include "jobs/target.h"

struct ZSTD_CCtx_s;

namespace flis {

// The worker threads for a Compression setting: threads, or every core when 0.
int compression_threads(const Compression& c);

class ZstdWriter {
 public:
  // A frame with the content checksum on, at c.level, with compression_threads(c) workers; on the
  // calling thread alone when about `input_bytes` (a hint) fit in one worker's job, where workers
  // would only add their start-up and buffers.
  static Result<std::unique_ptr<ZstdWriter>> open(const Compression& c, Upload& out,
                                                  uint64_t input_bytes = UINT64_MAX);
  ~ZstdWriter();
  ZstdWriter(const ZstdWriter&) = delete;
  ZstdWriter& operator=(const ZstdWriter&) = delete;

  Status write(const void* data, size_t size);
  // Ends the frame and hands the rest to the Upload. Nothing may be written afterwards.
  Status finish();

  uint64_t bytes_out() const { return bytes_out_; }
  // The SHA-256 of every byte handed to the Upload; valid after finish().
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  ZstdWriter(ZSTD_CCtx_s* cctx, Upload& out);
  Status flush_output();

  ZSTD_CCtx_s* cctx_;
  AsyncWriter out_;
  std::vector<char> buffer_;  // compressed bytes waiting for the Upload
  size_t used_ = 0;
  Sha256 sha_;
  uint64_t bytes_out_ = 0;
  std::string sha256_hex_;
};

}  // namespace flis
