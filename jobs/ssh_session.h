// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// An authenticated SSH connection to an SFTP server (libssh), made the way OpenSSH would make it
// for a careful sysadmin:
//
//  - The server's host key is always checked against the configured known_hosts file (the global
//    one is ignored). Only a key listed there for "[host]:port" passes; an unknown or changed key
//    is an error naming the fingerprints, never accepted, and known_hosts is never written.
//  - Public-key authentication only, from the configured private key file. A key file that group or
//    others can read or write is refused, as OpenSSH refuses it.
//  - The key may come from a systemd credential (LoadCredential=sftp-key:/etc/flisd/keys/...):
//    when $CREDENTIALS_DIRECTORY is set, a relative identity is looked for there first, and an
//    absolute one that does not exist (the loader resolves `identity: sftp-key` against the config
//    folder) is replaced by $CREDENTIALS_DIRECTORY/<its file name> when that exists.
//  - Algorithms are pinned to a modern list (no SHA-1, no CBC); AES-GCM comes first where the CPU
//    has AES instructions, chacha20-poly1305 first where it has not, then AES-CTR.
//  - TCP_NODELAY is set (without it each request stalls on Nagle's algorithm) and every blocking
//    step is bounded by the timeout, so a stalled server is an error, not a hung worker.
//
// Errors say what went wrong and what the server or libssh said; they do not repeat the endpoint,
// which the caller puts in front (SftpTarget: "sftp://flisd@host:22: ...").
//
// Several SFTP channels, each used by its own thread, may share one session (jobs/session_pool.h).
// libssh sessions are not thread-safe, so every libssh call on the session or any of its channels
// is made under lock_io(), and never one that blocks waiting for the server: a channel with nothing
// to read waits in wait_input(), outside libssh. There one waiting thread at a time polls the
// socket and the others sleep on a condition variable; whoever processes incoming packets (for
// every channel at once, as libssh does) says so with input_processed(), which wakes them all to
// look at their own channel. A failure of the connection seen on one channel is recorded with
// fail(), so every channel sharing the session fails at once with that reason.
//
// Thread-safety: connect() and the destructor belong to one thread; the rest may be called from
// any thread, libssh calls only under lock_io().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

struct ssh_session_struct;

namespace flis {

struct SshEndpoint {
  std::string host;
  int port = 22;
  std::string user;
  std::filesystem::path identity;     // private key file
  std::filesystem::path known_hosts;  // the only known_hosts consulted
};

class SshSession {
 public:
  // Connects, verifies the host key and authenticates; every step is bounded by `timeout`.
  static Result<std::unique_ptr<SshSession>> connect(const SshEndpoint& endpoint,
                                                     std::chrono::milliseconds timeout);
  ~SshSession();  // disconnects
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  ssh_session_struct* raw() const { return session_; }
  // "flisd@127.0.0.1:2222", for messages.
  const std::string& where() const { return where_; }
  // What libssh last said went wrong on this session.
  std::string last_error() const;
  // The negotiated cipher, client to server ("aes256-gcm@openssh.com").
  std::string cipher() const;
  // Bounds libssh's own blocking waits (socket flush, channel window) from now on.
  void set_timeout(std::chrono::milliseconds timeout);

  // --- Sharing the session between threads (see above). ---
  std::unique_lock<std::mutex> lock_io() { return std::unique_lock(io_); }
  // Under lock_io(): whether the socket has bytes libssh has not read yet (a libssh call now would
  // process input that may belong to other channels).
  bool input_pending() const;
  // Under lock_io(): incoming packets were processed; every waiting channel looks again.
  void input_processed();
  // Under lock_io() (held again on return): waits until input may have arrived, at most `slice`.
  void wait_input(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds slice);
  // The connection failed (lost, timed out, or a channel left in an unknown state): every channel
  // on it fails with `why`. The first reason is kept.
  void fail(const std::string& why);
  bool failed() const { return failed_.load(); }
  // Whether libssh still has the connection up (under lock_io()).
  bool connected() const;
  std::string failure() const;

 private:
  SshSession(ssh_session_struct* session, std::string where);
  void wake_poller();
  ssh_session_struct* session_;
  std::string where_;
  mutable std::mutex io_;  // every libssh call on the session and its channels
  std::condition_variable input_;
  uint64_t input_seen_ = 0;  // bumped by input_processed()
  bool polling_ = false;     // a thread is in poll() on the socket
  int wake_fd_ = -1;         // eventfd that ends that poll() early
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mu_;
  std::string failure_;
};

// Whether this CPU has AES instructions (AES-NI and carry-less multiply), and the cipher list in
// the order flisd offers it here.
bool cpu_has_aes();
const char* preferred_ciphers();

// The private key file to use for `identity`: the systemd credential as described above, else
// the path itself.
std::filesystem::path resolve_identity(const std::filesystem::path& identity);

// The private key file's contents, read from one descriptor opened with O_NOFOLLOW and checked
// on that descriptor (fstat), as OpenSSH would accept it: a regular file, owned by the user flisd
// runs as or by root, and neither group nor others may read or write it. Otherwise an error
// saying what to do ("chmod 600 it"). The bytes are what libssh gets, so the file checked is the
// file used: nothing can swap it in between.
Result<std::string> read_private_key(const std::filesystem::path& path);

}  // namespace flis
