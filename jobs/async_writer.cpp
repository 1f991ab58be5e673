// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/async_writer.h"

#include <cstring>

namespace flis {

AsyncWriter::AsyncWriter(Upload& out, size_t depth) : out_(out), depth_(depth == 0 ? 1 : depth) {
  thread_ = std::thread([this] { run(); });
}

AsyncWriter::~AsyncWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  changed_.notify_all();
  thread_.join();
}

Status AsyncWriter::write(const void* data, size_t size) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return queue_.size() < depth_ || !error_.ok(); });
  if (!error_.ok()) return error_;
  std::vector<char> chunk;
  if (!spare_.empty()) {
    chunk = std::move(spare_.back());
    spare_.pop_back();
  }
  chunk.resize(size);
  std::memcpy(chunk.data(), data, size);
  queue_.push_back(std::move(chunk));
  lock.unlock();
  changed_.notify_all();
  return Status::OK();
}

Status AsyncWriter::finish() {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [this] { return (queue_.empty() && !writing_) || !error_.ok(); });
  return error_;
}

void AsyncWriter::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::vector<char> chunk = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    Status s = out_.write(chunk.data(), chunk.size());
    lock.lock();
    writing_ = false;
    spare_.push_back(std::move(chunk));
    if (!s.ok()) {
      error_ = s;
      queue_.clear();
      changed_.notify_all();
      return;
    }
    changed_.notify_all();
  }
}

}  // namespace flis
