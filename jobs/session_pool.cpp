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
    session_ = other.session_;
    sftp_ = std::move(other.sftp_);
    reused_ = other.reused_;
    other.pool_ = nullptr;
    other.session_ = nullptr;
  }
  return *this;
}

void SessionPool::Lease::release() { hand_back(true); }

void SessionPool::Lease::discard() { hand_back(false); }

void SessionPool::Lease::hand_back(bool reusable) {
  if (sftp_ == nullptr || pool_ == nullptr) return;
  // The run's cancel flag may not outlive the run.
  sftp_->set_cancel(nullptr);
  pool_->give_back(key_, session_, std::move(sftp_), reusable);
  pool_ = nullptr;
  session_ = nullptr;
}

SessionPool::SessionPool(Settings settings) : settings_(settings) {}

SessionPool::~SessionPool() {
  std::vector<std::unique_ptr<Session>> closing;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    for (auto& [key, host] : hosts_)
      for (auto& s : host.sessions) {
        if (s->leased == 0) {
          closing.push_back(std::move(s));
        } else {
          (void)s.release();  // a lease still holds it (the process is exiting): left to the OS
        }
      }
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

std::unique_ptr<SessionPool::Session> SessionPool::detach(Host& host, Session* session) {
  auto it = std::find_if(host.sessions.begin(), host.sessions.end(),
                         [&](const std::unique_ptr<Session>& s) { return s.get() == session; });
  if (it == host.sessions.end()) return nullptr;
  std::unique_ptr<Session> out = std::move(*it);
  host.sessions.erase(it);
  return out;
}

Result<std::unique_ptr<SftpClient>> SessionPool::open_channel(Session& session, const Request& request) {
  Result<std::unique_ptr<SftpClient>> sftp =
      SftpClient::start(*session.ssh, request.tuning, request.timeout, request.cancel);
  if (sftp.ok()) return sftp;
  // Refused while the connection stays up (OpenSSH's MaxSessions): one run at a time from now on.
  bool refused = false;
  {
    auto io = session.ssh->lock_io();
    refused = !session.ssh->failed() && session.ssh->connected();
  }
  std::lock_guard lock(mu_);
  // A refusal with no other channel open on the session is no limit on channels: it is dead.
  if (refused && (session.leased > 1 || !session.idle.empty())) {
    session.one_channel = true;
  } else {
    session.dead = true;
  }
  return sftp.status();
}

std::unique_ptr<SftpClient> SessionPool::count_lease(Session& session) {
  ++session.leased;
  if (session.idle.empty()) return nullptr;
  std::unique_ptr<SftpClient> sftp = std::move(session.idle.back());
  session.idle.pop_back();
  return sftp;
}

Result<std::unique_ptr<SftpClient>> SessionPool::channel_on(Session& session, std::unique_ptr<SftpClient> idle,
                                                             const Request& request) {
  Result<std::unique_ptr<SftpClient>> sftp = std::move(idle);
  if (*sftp == nullptr) {
    sftp = open_channel(session, request);
  } else if (!(*sftp)->idle_and_alive()) {
    // Closed by the server while idle, or in a state nobody can trust: so is its session.
    sftp->reset();
    std::lock_guard guard(mu_);
    session.dead = true;
    return Status::Error("an idle channel of the session was closed");
  }
  if (!sftp.ok()) return sftp;
  (*sftp)->set_timeout(request.timeout);
  (*sftp)->set_cancel(request.cancel);
  return sftp;
}

SessionPool::Lease SessionPool::lease_of(const std::string& key, Session& session, std::unique_ptr<SftpClient> sftp,
                                         bool reused) {
  Lease lease;
  lease.pool_ = this;
  lease.key_ = key;
  lease.session_ = &session;
  lease.sftp_ = std::move(sftp);
  lease.reused_ = reused;
  return lease;
}

Result<SessionPool::Lease> SessionPool::connect(const std::string& key, const Request& request) {
  auto session = std::make_unique<Session>();
  Status failed;
  std::unique_ptr<SftpClient> sftp;
  Result<std::unique_ptr<SshSession>> ssh = SshSession::connect(request.endpoint, request.connect_timeout);
  if (ssh.ok()) {
    session->ssh = std::move(*ssh);
    Result<std::unique_ptr<SftpClient>> started =
        SftpClient::start(*session->ssh, request.tuning, request.timeout, request.cancel);
    if (started.ok()) {
      sftp = std::move(*started);
    } else {
      failed = started.status();
    }
  } else {
    failed = ssh.status();
  }
  if (!failed.ok()) {
    session.reset();  // closed outside the lock
    std::lock_guard lock(mu_);
    --hosts_[key].connecting;
    released_.notify_all();
    return failed;
  }
  ++opened_;
  Lease lease = lease_of(key, *session, std::move(sftp), false);
  session->leased = 1;
  std::lock_guard lock(mu_);
  Host& host = hosts_[key];
  --host.connecting;
  host.sessions.push_back(std::move(session));
  return lease;
}

Result<SessionPool::Lease> SessionPool::acquire(const Request& request) {
  const std::string key = key_of(request);
  const int max_sessions = std::max(1, request.max_sessions);
  const int per_session = std::max(1, request.uploads_per_session);
  std::unique_lock lock(mu_);
  for (;;) {
    if (request.cancel && request.cancel->load()) return Status::Error("cancelled: flisd is shutting down");
    Host& host = hosts_[key];  // std::map: the reference stays valid while the lock is dropped
    // The least busy session with room for one more run; a free one first.
    Session* best = nullptr;
    for (auto& s : host.sessions) {
      int room = s->one_channel ? 1 : per_session;
      if (s->dead || s->leased >= room) continue;
      if (best == nullptr || s->leased < best->leased) best = s.get();
    }
    int open = static_cast<int>(host.sessions.size()) + host.connecting;
    if ((best == nullptr || best->leased > 0) && open < max_sessions) {
      ++host.connecting;
      lock.unlock();
      return connect(key, request);
    }
    if (best == nullptr) {
      ++waiting_;
      released_.wait_for(lock, kWaitSlice);
      --waiting_;
      continue;
    }
    Session& session = *best;
    std::unique_ptr<SftpClient> idle = count_lease(session);
    lock.unlock();
    Result<std::unique_ptr<SftpClient>> sftp = channel_on(session, std::move(idle), request);
    if (sftp.ok()) return lease_of(key, session, std::move(*sftp), true);
    // The session was refused a channel or is gone: count this lease out and choose again (a new
    // session when it was the last, which reports its own error if it fails).
    std::unique_ptr<Session> closing;
    lock.lock();
    --session.leased;
    if (session.dead && session.leased == 0) closing = detach(hosts_[key], &session);
    released_.notify_all();
    if (closing) {
      lock.unlock();
      closing.reset();
      lock.lock();
    }
  }
}

Result<SessionPool::Lease> SessionPool::acquire_beside(const Lease& beside, const Request& request) {
  if (!beside || beside.pool_ != this) return Status::Error("internal error: no lease to open a channel beside");
  Session& session = *beside.session_;
  std::unique_ptr<SftpClient> idle;
  {
    std::lock_guard lock(mu_);
    if (session.dead || session.one_channel || session.leased >= std::max(1, request.uploads_per_session))
      return Status::Error("no room for another channel on the session");
    idle = count_lease(session);
  }
  Result<std::unique_ptr<SftpClient>> sftp = channel_on(session, std::move(idle), request);
  if (sftp.ok()) return lease_of(beside.key_, session, std::move(*sftp), true);
  // `beside` still holds the session, so it is not closed here.
  std::lock_guard lock(mu_);
  --session.leased;
  released_.notify_all();
  return sftp.status();
}

void SessionPool::give_back(const std::string& key, Session* session, std::unique_ptr<SftpClient> sftp,
                            bool reusable) {
  // Checked and, when broken, closed outside the pool's lock: that may talk to the server. The
  // session lives on while this lease counts in `leased`.
  bool keep = reusable && sftp->idle_and_alive();
  bool session_failed = sftp->broken() || session->ssh->failed();
  if (!keep) sftp.reset();
  std::unique_ptr<Session> closing;
  std::unique_lock lock(mu_);
  auto host = hosts_.find(key);
  if (host == hosts_.end()) {
    // The pool is going away; the last run out closes the session.
    if (--session->leased == 0) {
      sftp.reset();
      lock.unlock();
      delete session;
    }
    return;
  }
  if (session_failed) session->dead = true;
  --session->leased;
  if (keep && !session->dead) {
    session->idle.push_back(std::move(sftp));
  }
  if (session->leased == 0) {
    if (session->dead || stop_) {
      closing = detach(host->second, session);
    } else {
      session->idle_since = SteadyClock::now();
      if (!reaper_.joinable()) reaper_ = std::thread([this] { reap(); });
      reaper_wake_.notify_all();
    }
  }
  released_.notify_all();
  lock.unlock();
  sftp.reset();
  closing.reset();
}

void SessionPool::reap() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    auto now = SteadyClock::now();
    std::vector<std::unique_ptr<Session>> expired;
    auto next = SteadyClock::time_point::max();
    for (auto& [key, host] : hosts_) {
      auto& sessions = host.sessions;
      for (auto it = sessions.begin(); it != sessions.end();) {
        if ((*it)->leased > 0) {
          ++it;
          continue;
        }
        auto deadline = (*it)->idle_since + settings_.idle_timeout;
        if (deadline <= now) {
          expired.push_back(std::move(*it));
          it = sessions.erase(it);
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
  for (const auto& [key, host] : hosts_) n += host.sessions.size() + static_cast<size_t>(host.connecting);
  return n;
}

size_t SessionPool::idle_sessions() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, host] : hosts_)
    for (const auto& s : host.sessions) n += s->leased == 0 ? 1 : 0;
  return n;
}

size_t SessionPool::leased_channels() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, host] : hosts_)
    for (const auto& s : host.sessions) n += static_cast<size_t>(s->leased);
  return n;
}

size_t SessionPool::idle_channels() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [key, host] : hosts_)
    for (const auto& s : host.sessions) n += s->idle.size();
  return n;
}

}  // namespace flis
