// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// zstd streaming compression of one frame into a sink: a stage of the packer. Input of any size
// goes in through write(); compressed bytes leave in chunks of at most `chunk` bytes (the last
// may be shorter). A package is two such frames, one after the other (jobs/package_stream.h);
// RFC 8878 decoders (`zstd -d`, `tar --zstd`, libarchive) read concatenated frames as one stream.
// Memory is bounded by zstd's window and job buffers, whatever the input size.
//
// Thread-safety: one thread drives a ZstdWriter; zstd's own worker threads stay inside it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "base/status.h"
#include "config/model.h"

struct ZSTD_CCtx_s;

namespace flis {

// The worker threads for a Compression setting: threads, or every core when 0.
int compression_threads(const Compression& c);

class ZstdWriter {
 public:
  using Sink = std::function<Status(const char* data, size_t size)>;
  static constexpr size_t kChunk = 1 << 20;

  // A frame with the content checksum on, at c.level, with compression_threads(c) workers; on the
  // calling thread alone when about `input_bytes` (a hint) fit in one worker's job, where workers
  // would only add their start-up and buffers.
  static Result<std::unique_ptr<ZstdWriter>> open(const Compression& c, Sink sink, uint64_t input_bytes = UINT64_MAX,
                                                  size_t chunk = kChunk);
  ~ZstdWriter();
  ZstdWriter(const ZstdWriter&) = delete;
  ZstdWriter& operator=(const ZstdWriter&) = delete;

  Status write(const void* data, size_t size);
  // Ends the frame and hands the rest to the sink. Nothing may be written afterwards.
  Status finish();

 private:
  ZstdWriter(ZSTD_CCtx_s* cctx, Sink sink, size_t chunk);
  Status flush_output();

  ZSTD_CCtx_s* cctx_;
  Sink sink_;
  size_t chunk_;
  std::unique_ptr<char[]> buffer_;  // compressed bytes for the sink; not zeroed, so not touched until used
  size_t used_ = 0;
};

}  // namespace flis
