// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// A small SFTP version 3 client on an SSH channel, written for one job: uploading large files fast
// over long round trips.
//
// libssh 0.10's own sftp_write waits for each reply before sending the next request, which over a
// 10 ms round trip gives about 6 MB/s. This client keeps up to `max_in_flight` WRITE requests
// outstanding (OpenSSH's sftp keeps 64 of 32 KiB), which is what makes an upload as fast as
// OpenSSH's; fewer on a short round trip: about one round trip's worth at 200 MB/s, at least
// 256 KiB, the round trip being the shortest any other request of this client took (write_depth).
// Every other request is sent and answered one at a time.
//
// It uses only what the server announced in its VERSION packet: posix-rename@openssh.com,
// fsync@openssh.com and limits@openssh.com (whose max-write-length caps our request size), and
// none of them when SftpTuning::use_extensions is off (a plain version 3 server, for tests).
//
// Pipelining: post_*() queues a request without waiting and returns its id; await(id) sends what is
// queued and returns that request's reply, keeping the replies to other requests that arrive first
// for their own await(). So a caller sends several independent requests in one round trip:
//
//   uint32_t a = c.post_stat(folder), b = c.post_stat(final), h = c.post_open(temp, flags, 0640);
//   Result<sftp::Attrs> dir = c.attrs_of(c.await(a)); ...
//
// The protocol has the server process requests on one file in the order they were sent (OpenSSH's
// sftp-server does everything in order; Green End's may run READs and WRITEs concurrently but
// nothing else ahead of an older request), so a caller may queue WRITEs, FSTAT, FSYNC and CLOSE of
// one handle together. Requests whose order matters across paths (mkdir of a parent, then of its
// child; a rename that must follow a check) wait for the reply they depend on.
//
// Failures: each call returns an error whose message is the server's status ("permission denied
// (SSH_FX_PERMISSION_DENIED)") or what failed on the connection; last_code() then gives the
// SSH_FX_* code (FX_CONNECTION_LOST for the connection). Callers add the path and the action.
// After a connection failure or timeout the client is broken() and every call fails at once.
//
// Time: no step waits longer than `timeout` without progress; `cancel`, when set, makes any call
// fail within about a quarter of a second (shutdown).
//
// Writes go out in batches of up to 8 requests (fewer, half-empty SSH packets); anything that waits
// for a reply sends the batch first.
//
// Thread-safety: one SftpClient (one SSH channel) is used by one thread at a time; the session pool
// (jobs/session_pool.h) hands a client to one run at a time. Clients on the same SshSession may be
// used from different threads at once: every libssh call is made under the session's lock, and a
// client waiting for a reply waits outside libssh (SshSession::wait_input). A connection failure
// seen by one client fails all of them (SshSession::fail).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "jobs/sftp_protocol.h"
#include "jobs/ssh_session.h"

struct ssh_channel_struct;

namespace flis {

struct SftpTuning {
  size_t request_size = 32 * 1024;  // data bytes per WRITE (capped by the server's limits)
  int max_in_flight = 64;           // WRITE requests outstanding at once
  // Off: behave as against a plain version 3 server (no fsync, posix-rename or limits), whatever
  // the server announces. For tests of the plain path.
  bool use_extensions = true;

  bool operator==(const SftpTuning&) const = default;
};

// WRITE requests of `write_size` bytes to keep outstanding on a link whose round trip is
// `round_trip` (0: not measured yet, so `max_in_flight`): about one round trip's worth at 200 MB/s,
// at least 256 KiB, at most `max_in_flight` requests.
size_t write_pipeline_depth(std::chrono::microseconds round_trip, size_t write_size, size_t max_in_flight);

class SftpClient {
 public:
  // Opens the "sftp" subsystem on `session` (which must outlive the client), exchanges INIT and
  // VERSION, and asks for the server's limits when it offers limits@openssh.com.
  static Result<std::unique_ptr<SftpClient>> start(SshSession& session, const SftpTuning& tuning,
                                                   std::chrono::milliseconds timeout,
                                                   const std::atomic<bool>* cancel);
  ~SftpClient();  // closes the channel
  SftpClient(const SftpClient&) = delete;
  SftpClient& operator=(const SftpClient&) = delete;

  const sftp::Version& version() const { return version_; }
  bool has_posix_rename() const { return posix_rename_; }
  bool has_fsync() const { return fsync_; }
  size_t write_size() const { return write_size_; }  // data bytes per WRITE request
  // The server's max-open-handles from limits@openssh.com; 0 when it stated none.
  uint64_t max_open_handles() const { return max_open_handles_; }
  uint32_t last_code() const { return last_code_; }
  bool broken() const { return broken_; }
  // Shortens (or restores) the time allowed without progress; abort() uses it to stay bounded.
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  void set_cancel(const std::atomic<bool>* cancel) { cancel_ = cancel; }

  Result<sftp::Attrs> stat(const std::string& path);
  Status mkdir(const std::string& path, uint32_t mode);
  // SETSTAT with permissions only: the mode exactly, as the server's umask may have cut the one
  // given to open() or mkdir().
  Status set_permissions(const std::string& path, uint32_t mode);
  Status remove(const std::string& path);
  // Plain SSH_FXP_RENAME: fails when `to` exists (OpenSSH makes it a link() + unlink(), atomic).
  Status rename(const std::string& from, const std::string& to);
  // posix-rename@openssh.com: atomic, replaces `to`. Only when has_posix_rename().
  Status posix_rename(const std::string& from, const std::string& to);

  // Opens a file; returns its handle.
  Result<std::string> open(const std::string& path, uint32_t flags, uint32_t mode);
  // Waits for the handle's outstanding writes, then closes it.
  Status close(const std::string& handle);
  // fsync@openssh.com. Only when has_fsync().
  Status fsync(const std::string& handle);

  // Sends a WRITE of `size` (at most write_size()) bytes at `offset` without waiting for its
  // reply, unless max_in_flight requests are already outstanding; then waits for the oldest.
  // An error reply to any earlier write is returned here or by the next call.
  Status write(const std::string& handle, uint64_t offset, const void* data, size_t size);
  // Waits until every outstanding write is acknowledged; the first error, if any.
  Status wait_writes();

  // The names in a folder (OPENDIR, READDIR until the end, CLOSE), "." and ".." left out.
  Result<std::vector<std::string>> list(const std::string& folder);
  // Reads a whole small file (at most max_size bytes, else an error).
  Result<std::string> read_file(const std::string& path, size_t max_size);

  // --- Pipelined requests: queued now, sent by the next call that waits (see above). ---
  uint32_t post_stat(const std::string& path);
  uint32_t post_fstat(const std::string& handle);
  uint32_t post_remove(const std::string& path);
  uint32_t post_setstat(const std::string& path, uint32_t mode);  // permissions only
  uint32_t post_rename(const std::string& from, const std::string& to);
  uint32_t post_posix_rename(const std::string& from, const std::string& to);
  uint32_t post_open(const std::string& path, uint32_t flags, uint32_t mode);
  uint32_t post_close(const std::string& handle);
  uint32_t post_fsync(const std::string& handle);
  uint32_t post_read(const std::string& handle, uint64_t offset, uint32_t length);
  // The reply to a posted request (sends what is queued first).
  Result<sftp::Reply> await(uint32_t id);
  // A reply read as what the request asked for; errors as described above, last_code() set.
  Status status_of(const Result<sftp::Reply>& reply);
  Result<sftp::Attrs> attrs_of(const Result<sftp::Reply>& reply);
  Result<std::string> handle_of(const Result<sftp::Reply>& reply);

  // For a pooled session about to be reused after sitting idle: false when the connection or the
  // channel was closed meanwhile, or anything else arrived on it. Never waits.
  bool idle_and_alive();

 private:
  SftpClient(SshSession& session, ssh_channel_struct* channel, std::chrono::milliseconds timeout,
             const std::atomic<bool>* cancel);
  Status handshake(const SftpTuning& tuning);
  uint32_t next_id() { return next_id_++; }
  // Sends `packet` after any queued writes.
  Status send(const std::string& packet);
  // Queues request `id` to go out with the next flush.
  uint32_t post(uint32_t id, std::string packet);
  // Sends the queued requests.
  Status flush();
  Status send_bytes(const char* data, size_t size);
  // Reads one reply: settles it when it answers a write, else keeps it for await().
  Status receive();
  Result<std::string> receive_packet();
  void settle_write(const sftp::Reply& reply);
  Status expect_status(const Result<sftp::Reply>& reply);
  Status server_error(uint32_t code, const std::string& message);
  Status transport_error(const std::string& what);
  // The session failed on another channel (SshSession::fail).
  Status shared_failure();
  Status check_cancel();
  // WRITE requests kept outstanding now: sized to the shortest round trip seen (see the top).
  size_t write_depth() const;

  SshSession& session_;
  ssh_channel_struct* channel_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* cancel_;
  sftp::Version version_;
  bool posix_rename_ = false;
  bool fsync_ = false;
  size_t write_size_ = 32 * 1024;
  size_t max_in_flight_ = 64;
  uint64_t max_open_handles_ = 0;
  uint32_t next_id_ = 1;
  uint32_t last_code_ = sftp::FX_OK;
  bool broken_ = false;
  std::unordered_set<uint32_t> writes_in_flight_;
  std::unordered_set<uint32_t> pending_;            // other requests sent or queued, unanswered
  std::unordered_map<uint32_t, sftp::Reply> answered_;  // their replies, until awaited
  std::unordered_map<uint32_t, std::chrono::steady_clock::time_point> sent_at_;  // of pending_ ones
  std::chrono::microseconds min_rtt_{0};  // the shortest request-to-reply time seen; 0: none yet
  Status write_error_;          // the first failed WRITE, reported once
  uint32_t write_error_code_ = sftp::FX_OK;
  std::string rx_;              // bytes received and not yet parsed
  size_t rx_pos_ = 0;
  // WRITE requests queued to go out together. libssh makes each ssh_channel_write() call SSH
  // packets of its own, so a lone 32 KiB request would be one full packet plus a tiny one; a batch
  // fills its packets, as OpenSSH's byte stream does, and halves the packets both ends handle.
  std::string tx_;
  std::vector<uint32_t> queued_ids_;    // writes in tx_
  std::vector<uint32_t> queued_posts_;  // other requests in tx_
};

}  // namespace flis
