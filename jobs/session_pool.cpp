// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/session_pool.h"

#include <algorithm>

namespace flis {

using SteadyClock = std::chrono::steady_clock;

namespace {

// How often a run waiting for a session looks at its cancel flag.
constexpr std::chrono::milliseconds kWaitSlice{250};

}  // namespace

SessionPool::Lease& SessionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = other.pool_;
    key_ = std::move(other.key_);
    session_ = std::move(other.session_);
    reused_ = other.reused_;
    other.pool_ = nullptr;
  }
  return *this;
}

void SessionPool::Lease::release() {
  if (session_ == nullptr || pool_ == nullptr) return;
  // The run's cancel flag may not outlive the run.
  session_->sftp->set_cancel(nullptr);
  pool_->give_back(key_, std::move(session_));
  pool_ = nullptr;
}

SessionPool::SessionPool(Settings settings) : settings_(settings) {}

SessionPool::~SessionPool() {
  std::vector<std::unique_ptr<Session>> closing;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& [key, host] : hosts_)
      for (auto& s : host.idle) closing.push_back(std::move(s));
    hosts_.clear();
  }
  reaper_wake_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

SessionPool& SessionPool::process() {
  static SessionPool* pool = new SessionPool();
  return *pool;
}

std::string SessionPool::key_of(const Request& r) {
  const SshEndpoint& e = r.endpoint;
  return e.host + '\n' + std::to_string(e.port) + '\n' + e.user + '\n' + e.identity.string() + '\n' +
         e.known_hosts.string() + '\n' + std::to_string(r.tuning.request_size) + '\n' +
         std::to_string(r.tuning.max_in_flight) + '\n' + (r.tuning.use_extensions ? "ext" : "plain");
}

Result<SessionPool::Lease> SessionPool::acquire(const Request& request) {
  const std::string key = key_of(request);
  const int max_sessions = std::max(1, request.max_sessions);
  Lease lease;
  lease.pool_ = this;
  lease.key_ = key;
  std::unique_lock lock(mu_);
  for (;;) {
    if (request.cancel && request.cancel->load()) return Status::Error("cancelled: flisd is shutting down");
    Host& host = hosts_[key];  // std::map: the reference stays valid while the lock is dropped
    while (!host.idle.empty()) {
      std::unique_ptr<Session> s = std::move(host.idle.back());
      host.idle.pop_back();
      ++host.leased;
      lock.unlock();
      if (s->sftp->idle_and_alive()) {
        s->sftp->set_timeout(request.timeout);
        s->sftp->set_cancel(request.cancel);
        lease.session_ = std::move(s);
        lease.reused_ = true;
        return lease;
      }
      s.reset();  // closed by the server while idle, or in a state nobody can trust
      lock.lock();
      --host.leased;
    }
    if (host.leased < max_sessions) {
      ++host.leased;
      lock.unlock();
      auto session = std::make_unique<Session>();
      Result<std::unique_ptr<SshSession>> ssh = SshSession::connect(request.endpoint, request.connect_timeout);
      Status failed;
      if (ssh.ok()) {
        session->ssh = std::move(*ssh);
        Result<std::unique_ptr<SftpClient>> sftp =
            SftpClient::start(*session->ssh, request.tuning, request.timeout, request.cancel);
        if (sftp.ok()) {
          session->sftp = std::move(*sftp);
        } else {
          failed = sftp.status();
        }
      } else {
        failed = ssh.status();
      }
      if (!failed.ok()) {
        session.reset();
        lock.lock();
        --host.leased;
        released_.notify_all();
        return failed;
      }
      ++opened_;
      lease.session_ = std::move(session);
      return lease;
    }
    released_.wait_for(lock, kWaitSlice);
  }
}

void SessionPool::give_back(const std::string& key, std::unique_ptr<Session> session) {
  bool keep = session->sftp->idle_and_alive();
  if (!keep) session.reset();  // closed outside the lock: it may talk to the server
  std::lock_guard lock(mu_);
  auto host = hosts_.find(key);
  if (host == hosts_.end() || stop_) return;  // the pool is going away; `session` closes here
  --host->second.leased;
  if (keep) {
    session->idle_since = SteadyClock::now();
    host->second.idle.push_back(std::move(session));
    if (!reaper_.joinable()) reaper_ = std::thread([this] { reap(); });
    reaper_wake_.notify_all();
  }
  released_.notify_all();
}

void SessionPool::reap() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto now = SteadyClock::now();
    std::vector<std::unique_ptr<Session>> expired;
    auto next = SteadyClock::time_point::max();
    for (auto& [key, host] : hosts_) {
      auto& idle = host.idle;
      for (auto it = idle.begin(); it != idle.end();) {
        auto deadline = (*it)->idle_since + settings_.idle_timeout;
        if (deadline <= now) {
          expired.push_back(std::move(*it));
          it = idle.erase(it);
        } else {
          next = std::min(next, deadline);
          ++it;
        }
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      expired.clear();  // disconnects, outside the lock
      lock.lock();
      released_.notify_all();
      continue;
    }
    if (next == SteadyClock::time_point::max()) {
      reaper_wake_.wait(lock);
    } else {
      reaper_wake_.wait_until(lock, next);
    }
  }
}

size_t SessionPool::open_sessions() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, host] : hosts_) n += host.idle.size() + static_cast<size_t>(host.leased);
  return n;
}

size_t SessionPool::idle_sessions() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, host] : hosts_) n += host.idle.size();
  return n;
}

}  // namespace flis
