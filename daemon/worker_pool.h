// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The worker pool: the threads runs execute on (flisd.yaml `workers`). It only runs what it is
// given; which run goes when (subscriptions before backfills, one run per order at a time) is the
// event loop's decision, so the pool needs no knowledge of runs.
//
// Thread-safety: submit() and grow() may be called from any thread; the destructor waits for every
// submitted job to finish, so it must not be called from a job.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace flis {

class WorkerPool {
 public:
  WorkerPool() = default;
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Makes sure at least `threads` threads exist (a reload may raise `workers`; threads are never
  // taken away while runs may be on them).
  void grow(int threads);
  void submit(std::function<void()> job);
  int size() const;

 private:
  void work();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace flis
