// A small SFTP version 3 client on an SSH channel, written for one job: uploading large files fast
// over long round trips.
//
// libssh 0.10's own sftp_write waits for each reply before sending the next request, which over a
// 10 ms round trip gives about 6 MB/s. This client keeps up to `max_in_flight` WRITE requests
// outstanding (OpenSSH's sftp keeps 64 of 32 KiB), which is what makes an upload as fast as
// OpenSSH's. Every other request is sent and answered one at a time.
//
// It uses only what the server announced in its VERSION packet: posix-rename@openssh.com,
// fsync@openssh.com and limits@openssh.com (whose max-write-length caps our request size).
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
// Thread-safety: one SftpClient belongs to one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/status.h"
#include "jobs/sftp_protocol.h"
#include "jobs/ssh_session.h"

struct ssh_channel_struct;

namespace flis {

struct SftpTuning {
  size_t request_size = 32 * 1024;  // data bytes per WRITE (capped by the server's limits)
  int max_in_flight = 64;           // WRITE requests outstanding at once
};

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

  // Reads a whole small file (at most max_size bytes, else an error).
  Result<std::string> read_file(const std::string& path, size_t max_size);

 private:
  SftpClient(SshSession& session, ssh_channel_struct* channel, std::chrono::milliseconds timeout,
             const std::atomic<bool>* cancel);
  Status handshake(const SftpTuning& tuning);
  uint32_t next_id() { return next_id_++; }
  // Sends `packet` after any queued writes.
  Status send(const std::string& packet);
  // Sends the queued requests.
  Status flush();
  Status send_bytes(const char* data, size_t size);
  // Reads packets until the reply to `id` arrives, settling write replies on the way.
  Result<sftp::Reply> wait_reply(uint32_t id);
  // Reads one reply; settles it when it answers a write (and then says so in *was_write).
  Result<sftp::Reply> receive(bool* was_write = nullptr);
  Result<std::string> receive_packet();
  void settle_write(const sftp::Reply& reply);
  Status expect_status(const Result<sftp::Reply>& reply);
  Status server_error(uint32_t code, const std::string& message);
  Status transport_error(const std::string& what);
  Status check_cancel();

  SshSession& session_;
  ssh_channel_struct* channel_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* cancel_;
  sftp::Version version_;
  bool posix_rename_ = false;
  bool fsync_ = false;
  size_t write_size_ = 32 * 1024;
  size_t max_in_flight_ = 64;
  uint32_t next_id_ = 1;
  uint32_t last_code_ = sftp::FX_OK;
  bool broken_ = false;
  std::unordered_set<uint32_t> writes_in_flight_;
  Status write_error_;          // the first failed WRITE, reported once
  uint32_t write_error_code_ = sftp::FX_OK;
  std::string rx_;              // bytes received and not yet parsed
  size_t rx_pos_ = 0;
  // WRITE requests queued to go out together. libssh makes each ssh_channel_write() call SSH
  // packets of its own, so a lone 32 KiB request would be one full packet plus a tiny one; a batch
  // fills its packets, as OpenSSH's byte stream does, and halves the packets both ends handle.
  std::string tx_;
  std::vector<uint32_t> queued_ids_;
  size_t write_batch_ = 8;
};

}  // namespace flis
