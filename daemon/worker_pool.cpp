// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The worker pool; see worker_pool.h.
#include "daemon/worker_pool.h"

namespace flis {

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::grow(int threads) {
  std::lock_guard lock(mu_);
  while (static_cast<int>(threads_.size()) < threads) threads_.emplace_back([this] { work(); });
}

void WorkerPool::submit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

int WorkerPool::size() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(threads_.size());
}

void WorkerPool::work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // closing, and nothing left to do
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace flis
