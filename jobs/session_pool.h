// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// SSH sessions kept open and shared between runs. A package is a handful of SFTP round trips; an SSH
// connection is several more (TCP, key exchange, host key, authentication, the sftp channel) and
// about 65 ms of CPU on loopback, so connecting per package costs more than the package itself.
//
// The pool keeps authenticated sessions, each with its SFTP channel, per target: host, port, user,
// private key and known_hosts (and the SFTP tuning). A run leases one for as long as it talks to
// the server (an inspect, an upload from begin() to commit() or abort(), a checksum completion) and
// hands it back; the next run to the same target reuses it.
//
//  - At most `max_sessions` sessions per target, leased or idle: a run that finds them all leased
//    waits for one (looking at its cancel flag every quarter second), so flisd never opens more
//    connections than the sysadmin allowed, however many workers run.
//  - One run at a time per session. libssh sessions are not thread-safe, and a session's
//    encryption runs on the thread that uses it, so separate sessions also spread the cipher work
//    over cores. Within its lease a run keeps many requests in flight (jobs/sftp_client.h).
//    One channel per session, so a server that refuses a second channel is served as well.
//  - A session idle for `idle_timeout` (60 s by default) is closed by the pool's own thread.
//  - A session is checked before it is reused (closed by the server, or anything unexpected
//    arrived while idle: it is closed and another is opened), and a session that failed during a
//    lease is closed, never handed out again. A new session is a full connect: the host key is
//    verified against known_hosts on every (re)connect. A broken session fails only the run that
//    held it; the others hold their own.
//
// Thread-safety: every member may be called from any thread. A Lease belongs to one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "jobs/sftp_client.h"
#include "jobs/ssh_session.h"

namespace flis {

class SessionPool {
 public:
  struct Settings {
    std::chrono::milliseconds idle_timeout{60'000};
  };

  // What a run asks for: where, how many sessions there at most, and how long it may wait.
  struct Request {
    SshEndpoint endpoint;
    int max_sessions = 4;
    SftpTuning tuning;
    std::chrono::milliseconds connect_timeout{30'000};
    std::chrono::milliseconds timeout{30'000};  // per request, see SftpClient
    const std::atomic<bool>* cancel = nullptr;
  };

 private:
  struct Session {
    std::unique_ptr<SshSession> ssh;
    std::unique_ptr<SftpClient> sftp;
    std::chrono::steady_clock::time_point idle_since;
  };

 public:
  // One session for one run, handed back when released or destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { release(); }

    explicit operator bool() const { return session_ != nullptr; }
    SftpClient& sftp() const { return *session_->sftp; }
    // True when the session served an earlier run (so a failure may be a connection that died
    // while idle, worth one retry on a new one).
    bool reused() const { return reused_; }
    // Back to the pool: kept when it is healthy and idle, closed otherwise.
    void release();

   private:
    friend class SessionPool;
    SessionPool* pool_ = nullptr;
    std::string key_;
    std::unique_ptr<Session> session_;
    bool reused_ = false;
  };

  SessionPool() : SessionPool(Settings{}) {}
  explicit SessionPool(Settings settings);
  // Closes the idle sessions. Every lease must have been released.
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // The pool of this process, shared by every target made without one of its own. Never
  // destroyed: a worker may still hold a lease while the process exits.
  static SessionPool& process();

  // A session for `request`: an idle one, a new one, or the first to be released (bounded by
  // max_sessions). Errors are those of connecting (SshSession::connect, SftpClient::start) or
  // "cancelled".
  Result<Lease> acquire(const Request& request);

  // Sessions opened since the pool was made (for tests, benchmarks and logs).
  uint64_t sessions_opened() const { return opened_.load(); }
  // Sessions open now, leased or idle.
  size_t open_sessions() const;
  size_t idle_sessions() const;

 private:
  struct Host {
    std::vector<std::unique_ptr<Session>> idle;  // most recently used last
    int leased = 0;                              // leased or being connected
  };
  static std::string key_of(const Request& request);
  void give_back(const std::string& key, std::unique_ptr<Session> session);
  void reap();

  const Settings settings_;
  mutable std::mutex mu_;
  std::condition_variable released_;  // a session was handed back or closed
  std::condition_variable reaper_wake_;
  std::map<std::string, Host> hosts_;
  std::atomic<uint64_t> opened_{0};
  bool stop_ = false;
  std::thread reaper_;  // started with the first idle session
};

}  // namespace flis
