// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/sftp_client.h"

#include <libssh/libssh.h>
#include <poll.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace flis {

using namespace sftp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// How long one libssh wait may block before we look at `cancel` and our own deadline again.
constexpr int kSliceMs = 250;
// How long a wait for input on a shared session lasts at most before the channel looks again (input
// another channel processed without saying so is then found this late at worst).
constexpr std::chrono::milliseconds kInputSlice{50};
// How much a channel read asks for at once.
constexpr size_t kReadChunk = 64 * 1024;
// The WRITE pipeline holds about one round trip of data at this rate, and at least kPipelineFloor:
// enough for a fast link, no more. A deeper pipeline than the link needs only queues in the
// server: on loopback OpenSSH's sshd grows its channel buffer to hold it, in 32 KiB steps that
// each copy the whole buffer, and 64 writes in flight cost the server 4x the CPU of 8 for the
// same upload at half the speed (bench/sftp.sh --in-flight 8: 313 MB/s, server 0.28 s; 64:
// 145 MB/s, 1.04 s). Over 10 ms it is the full 64 of 32 KiB, as OpenSSH's sftp keeps.
constexpr double kPipelineRate = 200e6;  // bytes per second
constexpr size_t kPipelineFloor = 256 * 1024;

std::string default_message(uint32_t code) {
  switch (code) {
    case FX_EOF: return "end of file";
    case FX_NO_SUCH_FILE: return "no such file";
    case FX_PERMISSION_DENIED: return "permission denied";
    case FX_FAILURE: return "failure";
    case FX_BAD_MESSAGE: return "bad message";
    case FX_OP_UNSUPPORTED: return "operation unsupported";
    default: return "error";
  }
}

std::string seconds(std::chrono::milliseconds ms) {
  auto tenths = ms.count() / 100;
  return std::to_string(tenths / 10) + (tenths % 10 ? "." + std::to_string(tenths % 10) : "") + " s";
}

}  // namespace

Result<std::unique_ptr<SftpClient>> SftpClient::start(SshSession& session, const SftpTuning& tuning,
                                                      std::chrono::milliseconds timeout,
                                                      const std::atomic<bool>* cancel) {
  ssh_channel channel = nullptr;
  {
    // Opening a channel waits for the server's answers inside libssh, under the session's lock:
    // rare (channels are kept), and it processes the other channels' input meanwhile.
    auto lock = session.lock_io();
    if (session.failed()) return Status::Error("connection lost: " + session.failure());
    session.set_timeout(timeout);
    channel = ssh_channel_new(session.raw());
    std::string failed;
    if (channel == nullptr) {
      failed = "cannot make an SSH channel: " + session.last_error();
    } else if (ssh_channel_open_session(channel) != SSH_OK) {
      failed = "cannot open an SSH channel: " + session.last_error();
    } else if (ssh_channel_request_subsystem(channel, "sftp") != SSH_OK) {
      failed = "the server refused the sftp subsystem: " + session.last_error();
    }
    // From here on libssh waits only in short slices; our loops keep the real deadline and look at
    // `cancel` between slices.
    session.set_timeout(std::chrono::milliseconds(kSliceMs));
    session.input_processed();
    if (!failed.empty()) {
      if (channel != nullptr) ssh_channel_free(channel);
      return Status::Error(failed);
    }
  }
  std::unique_ptr<SftpClient> client(new SftpClient(session, channel, timeout, cancel));
  if (Status st = client->handshake(tuning); !st.ok()) return st;
  return client;
}

SftpClient::SftpClient(SshSession& session, ssh_channel_struct* channel,
                       std::chrono::milliseconds timeout, const std::atomic<bool>* cancel)
    : session_(session), channel_(channel), timeout_(timeout), cancel_(cancel) {}

SftpClient::~SftpClient() {
  auto lock = session_.lock_io();
  if (!broken_ && !session_.failed() && ssh_channel_is_open(channel_)) ssh_channel_close(channel_);
  ssh_channel_free(channel_);
}

Status SftpClient::handshake(const SftpTuning& tuning) {
  if (Status st = send(PacketBuilder(FXP_INIT).u32(3).finish()); !st.ok()) return st;
  Result<std::string> packet = receive_packet();
  if (!packet.ok()) return packet.status();
  Result<Version> version = parse_version(*packet);
  if (!version.ok()) return transport_error(version.message());
  version_ = std::move(*version);
  if (version_.version != 3) {
    broken_ = true;
    return Status::Error("the server speaks SFTP version " + std::to_string(version_.version) +
                         "; flisd speaks version 3");
  }
  posix_rename_ = tuning.use_extensions && version_.has("posix-rename@openssh.com");
  fsync_ = tuning.use_extensions && version_.has("fsync@openssh.com");
  write_size_ = std::clamp<size_t>(tuning.request_size, 512, kMaxPacket - 1024 - 512);
  max_in_flight_ = static_cast<size_t>(std::max(1, tuning.max_in_flight));

  if (tuning.use_extensions && version_.has("limits@openssh.com")) {
    uint32_t id = next_id();
    Result<Reply> reply = await(post(id, PacketBuilder(FXP_EXTENDED, id).str("limits@openssh.com").finish()));
    if (!reply.ok()) return reply.status();
    if (reply->type == FXP_EXTENDED_REPLY) {
      Result<Limits> limits = parse_limits(reply->data);
      if (!limits.ok()) return transport_error(limits.message());
      max_open_handles_ = limits->max_open_handles;
      // The write size must fit both limits.
      if (limits->max_write_length > 0) {
        write_size_ = std::min<uint64_t>(write_size_, limits->max_write_length);
      }
      if (limits->max_packet_length > write_header_size(256) + 512) {
        write_size_ = std::min<uint64_t>(write_size_, limits->max_packet_length - write_header_size(256));
      }
    }
  }
  return Status::OK();
}

Status SftpClient::check_cancel() {
  if (cancel_ && cancel_->load()) {
    last_code_ = FX_CONNECTION_LOST;
    return Status::Error("cancelled: flisd is shutting down");
  }
  return Status::OK();
}

Status SftpClient::server_error(uint32_t code, const std::string& message) {
  last_code_ = code;
  std::string text = message.empty() ? default_message(code) : message;
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return Status::Error(text + " (" + status_name(code) + ")");
}

Status SftpClient::transport_error(const std::string& what) {
  broken_ = true;
  last_code_ = FX_CONNECTION_LOST;
  // The other channels on the session cannot trust it either (a lost connection, a timeout, a
  // half-sent packet): they fail now instead of each waiting out its own timeout.
  session_.fail(what);
  return Status::Error(what);
}

Status SftpClient::shared_failure() {
  broken_ = true;
  last_code_ = FX_CONNECTION_LOST;
  std::string why = session_.failure();
  if (why.rfind("connection lost: ", 0) == 0) why.erase(0, 17);
  return Status::Error("connection lost: " + why + " (seen by another run on the same SSH session)");
}

Status SftpClient::send(const std::string& packet) {
  tx_ += packet;
  return flush();
}

Status SftpClient::flush() {
  if (tx_.empty()) return Status::OK();
  const auto now = SteadyClock::now();
  for (uint32_t id : queued_posts_) sent_at_[id] = now;
  Status st = send_bytes(tx_.data(), tx_.size());
  if (!st.ok() && !broken_) {
    // Cancelled before a byte went out: those writes were never sent and get no reply.
    for (uint32_t id : queued_ids_) writes_in_flight_.erase(id);
    for (uint32_t id : queued_posts_) pending_.erase(id), sent_at_.erase(id);
  }
  tx_.clear();
  queued_ids_.clear();
  queued_posts_.clear();
  return st;
}

Status SftpClient::send_bytes(const char* data, size_t size) {
  if (broken_) return transport_error("the connection failed earlier");
  auto progress = SteadyClock::now();
  size_t done = 0;
  while (done < size) {
    if (Status st = check_cancel(); !st.ok()) {
      // Half a packet on the channel leaves it unusable.
      return done == 0 ? st : transport_error(st.message());
    }
    if (session_.failed()) return shared_failure();
    auto lock = session_.lock_io();
    bool input = session_.input_pending();
    // Never more than the server's window: libssh would wait for it inside the call, holding the
    // session from the other channels. A window adjust is input, waited for like a reply.
    uint32_t window = ssh_channel_window_size(channel_);
    if (window == 0) {
      // Our replies are read into rx_ meanwhile (libssh processes new packets, the window adjust
      // among them, only once this channel's buffer is empty; and a server whose replies nobody
      // reads stops reading requests).
      char buf[kReadChunk];
      int got = ssh_channel_read_nonblocking(channel_, buf, sizeof buf, 0);
      if (input) session_.input_processed();
      input = false;
      if (got == SSH_EOF || got < 0) {
        std::string why = got == SSH_EOF ? "the server closed the SFTP session" : session_.last_error();
        lock.unlock();
        return transport_error("connection lost while sending: " + why);
      }
      if (got > 0) {
        rx_.append(buf, static_cast<size_t>(got));
        progress = SteadyClock::now();
        continue;
      }
      window = ssh_channel_window_size(channel_);
    }
    int rc = 0;
    if (window > 0) {
      uint32_t part = static_cast<uint32_t>(std::min<size_t>({size - done, window, 1u << 30}));
      rc = ssh_channel_write(channel_, data + done, part);
      // Flushing the socket processes whatever arrives meanwhile too: the others look again.
      session_.input_processed();
    }
    if (rc < 0) {
      std::string why = session_.last_error();
      lock.unlock();
      return transport_error("connection lost while sending: " + why);
    }
    if (rc > 0) {
      done += static_cast<size_t>(rc);
      progress = SteadyClock::now();
      continue;
    }
    // Nothing went out: the server is not opening its window.
    if (ssh_channel_is_closed(channel_) || !ssh_is_connected(session_.raw())) {
      lock.unlock();
      return transport_error("connection lost while sending: the server closed the channel");
    }
    if (SteadyClock::now() - progress > timeout_) {
      lock.unlock();
      return transport_error("the server accepted no data for " + seconds(timeout_) + " (timeout)");
    }
    session_.wait_input(lock, kInputSlice);
  }
  return Status::OK();
}

Result<std::string> SftpClient::receive_packet() {
  // Whatever waits for a reply must first send what the reply may depend on.
  if (Status st = flush(); !st.ok()) return st;
  auto progress = SteadyClock::now();
  char buf[kReadChunk];
  for (;;) {
    std::string_view pending(rx_.data() + rx_pos_, rx_.size() - rx_pos_);
    Result<std::optional<uint32_t>> length = frame_length(pending);
    if (!length.ok()) return transport_error(length.message());
    if (*length && pending.size() >= 4 + **length) {
      std::string packet(pending.substr(4, **length));
      rx_pos_ += 4 + **length;
      if (rx_pos_ == rx_.size()) {
        rx_.clear();
        rx_pos_ = 0;
      } else if (rx_pos_ > 4 * kReadChunk) {
        rx_.erase(0, rx_pos_);
        rx_pos_ = 0;
      }
      return packet;
    }
    if (Status st = check_cancel(); !st.ok()) return st;
    if (session_.failed()) return shared_failure();
    auto lock = session_.lock_io();
    // Non-blocking: whatever the socket holds is processed (for every channel), and this
    // channel's bytes read; the wait happens outside libssh (SshSession::wait_input).
    bool input = session_.input_pending();
    int rc = ssh_channel_read_nonblocking(channel_, buf, sizeof buf, 0);
    if (input) session_.input_processed();
    if (rc == SSH_EOF || (rc == 0 && (ssh_channel_is_eof(channel_) || ssh_channel_is_closed(channel_)))) {
      lock.unlock();
      return transport_error("connection lost: the server closed the SFTP session");
    }
    if (rc < 0) {
      std::string why = session_.last_error();
      lock.unlock();
      return transport_error("connection lost: " + why);
    }
    if (rc > 0) {
      lock.unlock();
      rx_.append(buf, static_cast<size_t>(rc));
      progress = SteadyClock::now();
      continue;
    }
    if (!ssh_is_connected(session_.raw())) {
      std::string why = session_.last_error();
      lock.unlock();
      return transport_error("connection lost: " + why);
    }
    if (SteadyClock::now() - progress > timeout_) {
      lock.unlock();
      return transport_error("no answer from the server for " + seconds(timeout_) + " (timeout)");
    }
    session_.wait_input(lock, kInputSlice);
  }
}

void SftpClient::settle_write(const Reply& reply) {
  writes_in_flight_.erase(reply.id);
  if (!write_error_.ok()) return;
  if (reply.type != FXP_STATUS) {
    write_error_ = transport_error("the server answered a write with packet type " +
                                   std::to_string(reply.type));
  } else if (reply.code != FX_OK) {
    write_error_ = server_error(reply.code, reply.message);
    write_error_code_ = reply.code;
  }
}

Status SftpClient::receive() {
  Result<std::string> packet = receive_packet();
  if (!packet.ok()) return packet.status();
  Result<Reply> reply = parse_reply(*packet);
  if (!reply.ok()) return transport_error(reply.message());
  if (writes_in_flight_.count(reply->id) > 0) {
    settle_write(*reply);
  } else if (pending_.erase(reply->id) > 0) {
    uint32_t id = reply->id;
    if (auto sent = sent_at_.find(id); sent != sent_at_.end()) {
      auto rtt = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - sent->second);
      if (min_rtt_.count() == 0 || rtt < min_rtt_) min_rtt_ = std::max(rtt, std::chrono::microseconds(1));
      sent_at_.erase(sent);
    }
    answered_.emplace(id, std::move(*reply));
  } else {
    return transport_error("the server answered request " + std::to_string(reply->id) +
                           ", which was never sent");
  }
  return Status::OK();
}

uint32_t SftpClient::post(uint32_t id, std::string packet) {
  tx_ += packet;
  pending_.insert(id);
  queued_posts_.push_back(id);
  return id;
}

Result<Reply> SftpClient::await(uint32_t id) {
  for (;;) {
    if (auto it = answered_.find(id); it != answered_.end()) {
      Reply reply = std::move(it->second);
      answered_.erase(it);
      return reply;
    }
    if (pending_.count(id) == 0) {
      if (broken_) return transport_error("the connection failed earlier");
      return Status::Error("request " + std::to_string(id) + " was never sent");
    }
    if (Status st = receive(); !st.ok()) return st;
  }
}

Status SftpClient::expect_status(const Result<Reply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->type != FXP_STATUS) {
    return transport_error("unexpected reply type " + std::to_string(reply->type) + " to a request");
  }
  if (reply->code != FX_OK) return server_error(reply->code, reply->message);
  return Status::OK();
}

Status SftpClient::status_of(const Result<Reply>& reply) { return expect_status(reply); }

Result<Attrs> SftpClient::attrs_of(const Result<Reply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->type == FXP_ATTRS) {
    last_code_ = FX_OK;
    return reply->attrs;
  }
  if (reply->type == FXP_STATUS) return server_error(reply->code == FX_OK ? FX_FAILURE : reply->code, reply->message);
  return transport_error("unexpected reply type " + std::to_string(reply->type) + " to STAT");
}

Result<std::string> SftpClient::handle_of(const Result<Reply>& reply) {
  if (!reply.ok()) return reply.status();
  if (reply->type == FXP_HANDLE) {
    last_code_ = FX_OK;
    return reply->data;
  }
  if (reply->type == FXP_STATUS) return server_error(reply->code == FX_OK ? FX_FAILURE : reply->code, reply->message);
  return transport_error("unexpected reply type " + std::to_string(reply->type) + " to OPEN");
}

uint32_t SftpClient::post_stat(const std::string& path) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_STAT, id).str(path).finish());
}
uint32_t SftpClient::post_fstat(const std::string& handle) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_FSTAT, id).str(handle).finish());
}
uint32_t SftpClient::post_remove(const std::string& path) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_REMOVE, id).str(path).finish());
}
uint32_t SftpClient::post_rename(const std::string& from, const std::string& to) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_RENAME, id).str(from).str(to).finish());
}
uint32_t SftpClient::post_posix_rename(const std::string& from, const std::string& to) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_EXTENDED, id).str("posix-rename@openssh.com").str(from).str(to).finish());
}
uint32_t SftpClient::post_open(const std::string& path, uint32_t flags, uint32_t mode) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_OPEN, id).str(path).u32(flags).attrs_permissions(mode).finish());
}
uint32_t SftpClient::post_close(const std::string& handle) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_CLOSE, id).str(handle).finish());
}
uint32_t SftpClient::post_fsync(const std::string& handle) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_EXTENDED, id).str("fsync@openssh.com").str(handle).finish());
}
uint32_t SftpClient::post_read(const std::string& handle, uint64_t offset, uint32_t length) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_READ, id).str(handle).u64(offset).u32(length).finish());
}

Result<Attrs> SftpClient::stat(const std::string& path) { return attrs_of(await(post_stat(path))); }

Status SftpClient::mkdir(const std::string& path, uint32_t mode) {
  uint32_t id = next_id();
  return expect_status(await(post(id, PacketBuilder(FXP_MKDIR, id).str(path).attrs_permissions(mode).finish())));
}

uint32_t SftpClient::post_setstat(const std::string& path, uint32_t mode) {
  uint32_t id = next_id();
  return post(id, PacketBuilder(FXP_SETSTAT, id).str(path).attrs_permissions(mode).finish());
}

Status SftpClient::set_permissions(const std::string& path, uint32_t mode) {
  return expect_status(await(post_setstat(path, mode)));
}

Status SftpClient::remove(const std::string& path) { return expect_status(await(post_remove(path))); }

Status SftpClient::rename(const std::string& from, const std::string& to) {
  return expect_status(await(post_rename(from, to)));
}

Status SftpClient::posix_rename(const std::string& from, const std::string& to) {
  return expect_status(await(post_posix_rename(from, to)));
}

Result<std::string> SftpClient::open(const std::string& path, uint32_t flags, uint32_t mode) {
  return handle_of(await(post_open(path, flags, mode)));
}

Status SftpClient::close(const std::string& handle) {
  Status writes = wait_writes();
  if (broken_) return writes;
  Status closed = expect_status(await(post_close(handle)));
  return writes.ok() ? closed : writes;
}

Status SftpClient::fsync(const std::string& handle) { return expect_status(await(post_fsync(handle))); }

bool SftpClient::idle_and_alive() {
  // A failed write's error is sticky (reported by every later write); a session that saw one is
  // not handed to the next run.
  if (broken_ || !write_error_.ok() || !pending_.empty() || !answered_.empty() || !writes_in_flight_.empty() ||
      !tx_.empty()) {
    return false;
  }
  if (session_.failed()) return false;
  auto lock = session_.lock_io();
  ssh_session s = session_.raw();
  if (!ssh_is_connected(s) || !ssh_channel_is_open(channel_) || ssh_channel_is_eof(channel_)) return false;
  // Nothing arrived while it sat idle is the usual case. Otherwise let libssh take it (a keepalive
  // is answered, a disconnect noted, another channel's replies filed for it).
  // SFTP bytes nobody asked for (or EOF, or an error) leave the channel in a state nobody can trust.
  bool input = session_.input_pending();
  int rc = ssh_channel_poll(channel_, 0);
  if (input) session_.input_processed();
  if (rc != 0) return false;
  return ssh_is_connected(s) && ssh_channel_is_open(channel_) && !ssh_channel_is_eof(channel_);
}

Status SftpClient::write(const std::string& handle, uint64_t offset, const void* data, size_t size) {
  if (!write_error_.ok()) {
    last_code_ = write_error_code_;
    return write_error_;
  }
  if (size > write_size_) return Status::Error("internal error: SFTP write larger than the request size");
  // When the pipeline is full, wait until a batch of replies is in, so that requests go out in
  // batches again.
  const size_t depth = write_depth();
  const size_t batch = std::clamp<size_t>(depth / 8, 1, 8);
  if (writes_in_flight_.size() >= depth) {
    while (writes_in_flight_.size() + batch > depth) {
      if (Status st = receive(); !st.ok()) return st;
      if (!write_error_.ok()) break;
    }
  }
  if (!write_error_.ok()) {
    last_code_ = write_error_code_;
    return write_error_;
  }
  uint32_t id = next_id();
  size_t header = write_header_size(handle.size());
  size_t at = tx_.size();
  tx_.resize(at + header + size);
  encode_write_header(tx_.data() + at, id, handle, offset, static_cast<uint32_t>(size));
  std::memcpy(tx_.data() + at + header, data, size);
  writes_in_flight_.insert(id);
  queued_ids_.push_back(id);
  if (queued_ids_.size() >= batch) return flush();
  return Status::OK();
}

size_t write_pipeline_depth(std::chrono::microseconds round_trip, size_t write_size, size_t max_in_flight) {
  if (round_trip.count() <= 0) return max_in_flight;  // no round trip seen yet
  const double bytes = std::max(kPipelineRate * static_cast<double>(round_trip.count()) / 1e6,
                                static_cast<double>(kPipelineFloor));
  const auto writes = static_cast<size_t>(bytes / static_cast<double>(std::max<size_t>(write_size, 1))) + 1;
  return std::clamp<size_t>(writes, 1, std::max<size_t>(max_in_flight, 1));
}

size_t SftpClient::write_depth() const { return write_pipeline_depth(min_rtt_, write_size_, max_in_flight_); }

Status SftpClient::wait_writes() {
  while (!writes_in_flight_.empty()) {
    if (Status st = receive(); !st.ok()) return st;
  }
  if (!write_error_.ok()) last_code_ = write_error_code_;
  return write_error_;
}

Result<std::vector<std::string>> SftpClient::list(const std::string& folder) {
  uint32_t id = next_id();
  Result<std::string> handle = handle_of(await(post(id, PacketBuilder(FXP_OPENDIR, id).str(folder).finish())));
  if (!handle.ok()) return handle.status();
  std::vector<std::string> names;
  Status failed;
  for (;;) {
    uint32_t rid = next_id();
    Result<Reply> reply = await(post(rid, PacketBuilder(FXP_READDIR, rid).str(*handle).finish()));
    if (!reply.ok()) {
      failed = reply.status();
      break;
    }
    if (reply->type == FXP_STATUS && reply->code == FX_EOF) break;
    if (reply->type != FXP_NAME) {
      failed = expect_status(reply);
      if (failed.ok()) failed = Status::Error("unexpected reply to READDIR");
      break;
    }
    for (auto& n : reply->names)
      if (n != "." && n != "..") names.push_back(std::move(n));
  }
  if (broken_) return failed;
  Status closed = expect_status(await(post_close(*handle)));
  if (!failed.ok()) return failed;
  if (!closed.ok()) return closed;
  return names;
}

Result<std::string> SftpClient::read_file(const std::string& path, size_t max_size) {
  Result<std::string> handle = open(path, FXF_READ, 0);
  if (!handle.ok()) return handle.status();
  std::string content;
  Status failed;
  for (;;) {
    uint32_t want = 32 * 1024;
    Result<Reply> reply = await(post_read(*handle, content.size(), want));
    if (!reply.ok()) {
      failed = reply.status();
      break;
    }
    if (reply->type == FXP_STATUS && reply->code == FX_EOF) break;
    if (reply->type != FXP_DATA) {
      failed = expect_status(reply);
      if (failed.ok()) failed = transport_error("the server answered READ with neither data nor EOF");
      break;
    }
    if (reply->data.empty() || reply->data.size() > want) {
      failed = transport_error("the server answered READ with " + std::to_string(reply->data.size()) +
                               " bytes");
      break;
    }
    content += reply->data;
    if (content.size() > max_size) {
      failed = Status::Error("file is larger than " + std::to_string(max_size) + " bytes");
      break;
    }
  }
  if (!broken_) {
    uint32_t code = last_code_;
    Status closed = close(*handle);
    if (!failed.ok()) last_code_ = code;
    if (failed.ok() && !closed.ok()) failed = closed;
  }
  if (!failed.ok()) return failed;
  return content;
}

}  // namespace flis
