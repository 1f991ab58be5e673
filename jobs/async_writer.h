// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Writes to an Upload from a thread of its own, so compression never waits for a disk or network
// write (a full page cache being flushed, an SFTP window waiting for acknowledgements), and the
// upload never waits for compression. Up to `depth` chunks are queued: memory is depth x chunk size.
//
// Thread-safety: write() and finish() are called by one thread; the Upload is only ever used by
// the writer thread between construction and finish(), never by two threads at once.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "base/status.h"
#include "jobs/target.h"

namespace flis {

class AsyncWriter {
 public:
  explicit AsyncWriter(Upload& out, size_t depth = 4);
  // Stops the thread; chunks still queued are dropped (the caller aborts the upload anyway).
  ~AsyncWriter();
  AsyncWriter(const AsyncWriter&) = delete;
  AsyncWriter& operator=(const AsyncWriter&) = delete;

  // Queues a copy of the bytes, waiting while the queue is full. Returns the error of an earlier
  // write, if one failed: from then on nothing more is written.
  Status write(const void* data, size_t size);
  // Waits until every queued chunk is written; the first write error, if any.
  Status finish();

 private:
  void run();

  Upload& out_;
  const size_t depth_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::vector<char>> queue_;  // oldest first
  std::vector<std::vector<char>> spare_;  // written chunks, kept for reuse
  bool writing_ = false;                  // the thread holds a chunk outside the queue
  bool stop_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace flis
