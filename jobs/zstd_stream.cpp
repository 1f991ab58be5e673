// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/zstd_stream.h"

// For ZSTD_c_srcSizeHint, an "experimental" parameter libzstd has taken since 1.4.4 (Debian 12: 1.5.4).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <climits>

#include <algorithm>
#include <thread>

namespace flis {
namespace {

// Input per worker job. zstd's default at level 3 is 8 MiB, and each worker holds about three
// jobs' worth of buffers (the CLI with two workers: 56 MiB by default, 19 MiB with `-B2M`, 12 MiB
// with `-B1M`). 1.5 MiB keeps a 512 MiB CSV package under its 40 MiB budget with the bytes held
// for the manifest (bench/world.sh --csv: 38 MiB); 1 MiB jobs made it 6% slower end to end
// (3.26-3.36 s against 3.08-3.16 s), 2 MiB jobs with 6 MiB held 43 MiB.
constexpr int kJobSize = 3 << 19;

Status zstd_error(const char* what, size_t code) {
  return Status::Error(std::string("zstd ") + what + ": " + ZSTD_getErrorName(code));
}

}  // namespace

int compression_threads(const Compression& c) {
  if (c.threads > 0) return c.threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

Result<std::unique_ptr<ZstdWriter>> ZstdWriter::open(const Compression& c, Sink sink, uint64_t input_bytes,
                                                     size_t chunk) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return Status::Error("zstd: cannot create a compression context (out of memory)");
  std::unique_ptr<ZstdWriter> w(new ZstdWriter(cctx, std::move(sink), std::max<size_t>(chunk, 4096)));
  size_t rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, c.level);
  if (ZSTD_isError(rc)) return zstd_error("compression level", rc);
  rc = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(rc)) return zstd_error("checksum flag", rc);
  // Sized to the input, as for a size known in advance: a daily package of 16 KiB gets tables of a
  // few KiB instead of the 3 MiB an unknown size gets, which the kernel maps and zstd clears for
  // every package (half of flisd's CPU in a world of 3,038 small packages). Only a hint: the size
  // need not be exact, and inputs of 256 KiB and more get the level's usual tables.
  if (input_bytes < uint64_t(INT_MAX))
    (void)ZSTD_CCtx_setParameter(cctx, ZSTD_c_srcSizeHint, static_cast<int>(input_bytes));
  // A libzstd built without threads refuses workers; compressing on this thread is still right.
  // So is a small package (most daily ones): one job's worth needs no worker thread.
  const int workers = input_bytes < uint64_t(kJobSize) ? 0 : compression_threads(c);
  if (workers > 0 && !ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_nbWorkers, workers)))
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_jobSize, kJobSize);
  return w;
}

ZstdWriter::ZstdWriter(ZSTD_CCtx_s* cctx, Sink sink, size_t chunk)
    : cctx_(cctx), sink_(std::move(sink)), chunk_(chunk), buffer_(new char[chunk]) {}

ZstdWriter::~ZstdWriter() { ZSTD_freeCCtx(cctx_); }

Status ZstdWriter::flush_output() {
  if (used_ == 0) return Status::OK();
  Status s = sink_(buffer_.get(), used_);
  used_ = 0;
  return s;
}

Status ZstdWriter::write(const void* data, size_t size) {
  ZSTD_inBuffer in{data, size, 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{buffer_.get(), chunk_, used_};
    size_t rc = ZSTD_compressStream2(cctx_, &out, &in, ZSTD_e_continue);
    used_ = out.pos;
    if (ZSTD_isError(rc)) return zstd_error("compression failed", rc);
    if (used_ == chunk_)
      if (Status s = flush_output(); !s.ok()) return s;
  }
  return Status::OK();
}

Status ZstdWriter::finish() {
  ZSTD_inBuffer in{nullptr, 0, 0};
  for (;;) {
    ZSTD_outBuffer out{buffer_.get(), chunk_, used_};
    size_t remaining = ZSTD_compressStream2(cctx_, &out, &in, ZSTD_e_end);
    used_ = out.pos;
    if (ZSTD_isError(remaining)) return zstd_error("compression failed", remaining);
    if (remaining == 0 || used_ == chunk_)
      if (Status s = flush_output(); !s.ok()) return s;
    if (remaining == 0) break;
  }
  return Status::OK();
}

}  // namespace flis
