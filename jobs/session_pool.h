// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// SSH sessions kept open and shared between runs. A package is a handful of SFTP round trips; an SSH
// connection is several more (TCP, key exchange, host key, authentication, the sftp channel) and
// about 65 ms of CPU on loopback, so connecting per package costs more than the package itself.
//
// The pool keeps authenticated sessions per target: host, port, user, private key and known_hosts
// (and the SFTP tuning). A run leases an SFTP channel on one of them for as long as it talks to the
// server (an inspect, an upload from begin() to commit() or abort(), a checksum completion) and
// hands it back; the next run to the same target reuses it.
//
//  - At most `max_sessions` sessions per target, leased or idle, so flisd never opens more
//    connections than the sysadmin allowed, however many workers run.
//  - Up to `uploads_per_session` runs at once on one session, each on its own SFTP channel (its
//    own sftp-server on the far side, its own requests in flight; jobs/ssh_session.h serialises
//    the libssh calls). So with max_sessions 1 several packages still upload at once, and small
//    packages do not wait for each other's round trips. Channels are kept with their session.
//  - A new run goes to a session with no run on it first (separate sessions spread the cipher
//    work over cores), then to a new session while there are fewer than max_sessions, then to the
//    least busy session with room. A run finding every session full waits (looking at its cancel
//    flag every quarter second).
//  - A server that refuses a second channel on a connection (OpenSSH's MaxSessions 1) is served
//    one run per session from then on, as before channels were shared.
//  - A session with no run on it for `idle_timeout` (60 s by default) is closed by the pool's own
//    thread.
//  - A channel is checked before it is reused (closed by the server, or anything unexpected
//    arrived while idle: it is closed, and the session with it). A session that failed (lost,
//    timed out) fails every run on it at once (SshSession::fail) and is never handed out again;
//    it is closed when the last of them lets go. A new session is a full connect: the host key is
//    verified against known_hosts on every (re)connect. Runs on other sessions carry on.
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

  // What a run asks for: where, how many sessions and runs per session there at most, and how
  // long it may wait.
  struct Request {
    SshEndpoint endpoint;
    int max_sessions = 4;
    int uploads_per_session = 8;
    SftpTuning tuning;
    std::chrono::milliseconds connect_timeout{30'000};
    std::chrono::milliseconds timeout{30'000};  // per request, see SftpClient
    const std::atomic<bool>* cancel = nullptr;
  };

 private:
  // One SSH session and its SFTP channels. Fields other than `ssh` are guarded by the pool's mutex.
  struct Session {
    std::unique_ptr<SshSession> ssh;                   // destroyed after its channels
    std::vector<std::unique_ptr<SftpClient>> idle;     // channels no run holds
    int leased = 0;                                    // channels leased or being opened
    bool one_channel = false;                          // the server refused a second channel
    bool dead = false;                                 // failed: closed once nobody holds a channel
    std::chrono::steady_clock::time_point idle_since;  // when the last run let go
  };

 public:
  // One SFTP channel for one run, handed back when released or destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept { *this = std::move(other); }
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { release(); }

    explicit operator bool() const { return sftp_ != nullptr; }
    SftpClient& sftp() const { return *sftp_; }
    // True when the session served an earlier run (so a failure may be a connection that died
    // while idle, worth one retry on a new one).
    bool reused() const { return reused_; }
    // Back to the pool: kept when it is healthy, closed otherwise.
    void release();
    // Back to the pool, the channel closed whatever its state (its session stays): for a channel
    // left with a request unanswered or a handle open on the server.
    void discard();

   private:
    friend class SessionPool;
    void hand_back(bool reusable);
    SessionPool* pool_ = nullptr;
    std::string key_;
    Session* session_ = nullptr;
    std::unique_ptr<SftpClient> sftp_;
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

  // A channel for `request`, on a session chosen as described above. Errors are those of
  // connecting (SshSession::connect, SftpClient::start) or "cancelled".
  Result<Lease> acquire(const Request& request);

  // A second channel on the session `beside` holds, for the same run (a big upload's background
  // sync, jobs/sftp_target.cpp), counted against uploads_per_session. Never waits and never
  // connects: an error when the session is full, failed, or its server allows one channel.
  // `beside` must stay held, unchanged, until this returns.
  Result<Lease> acquire_beside(const Lease& beside, const Request& request);

  // Sessions opened since the pool was made (for tests, benchmarks and logs).
  uint64_t sessions_opened() const { return opened_.load(); }
  // Sessions open now, with runs on them or idle.
  size_t open_sessions() const;
  // Sessions with no run on them.
  size_t idle_sessions() const;
  // Runs holding a channel now.
  size_t leased_channels() const;
  // Open channels no run holds, kept with their sessions.
  size_t idle_channels() const;
  // Runs waiting for room on a session now.
  int waiting_runs() const { return waiting_.load(); }

 private:
  struct Host {
    std::vector<std::unique_ptr<Session>> sessions;
    int connecting = 0;  // sessions being connected
  };
  static std::string key_of(const Request& request);
  // Opens a channel on `session` for a lease the caller already counted; on failure the session is
  // marked as refusing a second channel, or dead.
  Result<std::unique_ptr<SftpClient>> open_channel(Session& session, const Request& request);
  Result<Lease> connect(const std::string& key, const Request& request);
  // Under mu_: one more lease counted on `session`; one of its idle channels, if it has any.
  std::unique_ptr<SftpClient> count_lease(Session& session);
  // Outside mu_, for a lease count_lease() counted: `idle` when it is still usable, else a new
  // channel. A dead idle channel marks the session dead, a refused new one dead or one-channel
  // (open_channel); the caller then counts the lease out again.
  Result<std::unique_ptr<SftpClient>> channel_on(Session& session, std::unique_ptr<SftpClient> idle,
                                                 const Request& request);
  Lease lease_of(const std::string& key, Session& session, std::unique_ptr<SftpClient> sftp, bool reused);
  void give_back(const std::string& key, Session* session, std::unique_ptr<SftpClient> sftp, bool reusable);
  // Takes the session out of its host when it is dead or expired and nobody holds a channel;
  // the caller closes it outside the lock.
  std::unique_ptr<Session> detach(Host& host, Session* session);
  void reap();

  const Settings settings_;
  mutable std::mutex mu_;
  std::condition_variable released_;  // a session was handed back or closed
  std::condition_variable reaper_wake_;
  std::map<std::string, Host> hosts_;
  std::atomic<uint64_t> opened_{0};
  std::atomic<int> waiting_{0};
  bool stop_ = false;
  std::thread reaper_;  // started with the first idle session
};

}  // namespace flis
