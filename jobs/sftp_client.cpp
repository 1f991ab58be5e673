#include "jobs/sftp_client.h"

#include <libssh/libssh.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace flis {

using namespace sftp;
using SteadyClock = std::chrono::steady_clock;

namespace {

// How long one libssh wait may block before we look at `cancel` and our own deadline again.
constexpr int kSliceMs = 250;
// How much a channel read asks for at once.
constexpr size_t kReadChunk = 64 * 1024;

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
  ssh_channel channel = ssh_channel_new(session.raw());
  if (channel == nullptr) return Status::Error("cannot make an SSH channel: " + session.last_error());
  if (ssh_channel_open_session(channel) != SSH_OK) {
    std::string why = session.last_error();
    ssh_channel_free(channel);
    return Status::Error("cannot open an SSH channel: " + why);
  }
  if (ssh_channel_request_subsystem(channel, "sftp") != SSH_OK) {
    std::string why = session.last_error();
    ssh_channel_free(channel);
    return Status::Error("the server refused the sftp subsystem: " + why);
  }
  std::unique_ptr<SftpClient> client(new SftpClient(session, channel, timeout, cancel));
  // From here on libssh waits only in short slices; our loops keep the real deadline and look at
  // `cancel` between slices.
  session.set_timeout(std::chrono::milliseconds(kSliceMs));
  if (Status st = client->handshake(tuning); !st.ok()) return st;
  return client;
}

SftpClient::SftpClient(SshSession& session, ssh_channel_struct* channel,
                       std::chrono::milliseconds timeout, const std::atomic<bool>* cancel)
    : session_(session), channel_(channel), timeout_(timeout), cancel_(cancel) {}

SftpClient::~SftpClient() {
  if (!broken_ && ssh_channel_is_open(channel_)) ssh_channel_close(channel_);
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
  posix_rename_ = version_.has("posix-rename@openssh.com");
  fsync_ = version_.has("fsync@openssh.com");
  write_size_ = std::clamp<size_t>(tuning.request_size, 512, kMaxPacket - 1024 - 512);
  max_in_flight_ = static_cast<size_t>(std::max(1, tuning.max_in_flight));
  write_batch_ = std::clamp<size_t>(max_in_flight_ / 8, 1, 8);

  if (version_.has("limits@openssh.com")) {
    uint32_t id = next_id();
    if (Status st = send(PacketBuilder(FXP_EXTENDED, id).str("limits@openssh.com").finish()); !st.ok()) {
      return st;
    }
    Result<Reply> reply = wait_reply(id);
    if (!reply.ok()) return reply.status();
    if (reply->type == FXP_EXTENDED_REPLY) {
      Result<Limits> limits = parse_limits(reply->data);
      if (!limits.ok()) return transport_error(limits.message());
      // We hold one handle at a time, so max-open-handles can only matter if it were 0 ("no
      // limit"); the write size must fit both limits.
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
  return Status::Error(what);
}

Status SftpClient::send(const std::string& packet) {
  tx_ += packet;
  return flush();
}

Status SftpClient::flush() {
  if (tx_.empty()) return Status::OK();
  Status st = send_bytes(tx_.data(), tx_.size());
  if (!st.ok() && !broken_) {
    // Cancelled before a byte went out: those writes were never sent and get no reply.
    for (uint32_t id : queued_ids_) writes_in_flight_.erase(id);
  }
  tx_.clear();
  queued_ids_.clear();
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
    uint32_t part = static_cast<uint32_t>(std::min<size_t>(size - done, 1u << 30));
    int rc = ssh_channel_write(channel_, data + done, part);
    if (rc < 0) return transport_error("connection lost while sending: " + session_.last_error());
    if (rc > 0) {
      done += static_cast<size_t>(rc);
      progress = SteadyClock::now();
      continue;
    }
    // Nothing went out in a whole slice: the server is not opening its window.
    if (ssh_channel_is_closed(channel_) || !ssh_is_connected(session_.raw())) {
      return transport_error("connection lost while sending: the server closed the channel");
    }
    if (SteadyClock::now() - progress > timeout_) {
      return transport_error("the server accepted no data for " + seconds(timeout_) + " (timeout)");
    }
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
    int rc = ssh_channel_read_timeout(channel_, buf, sizeof buf, 0, kSliceMs);
    if (rc < 0) return transport_error("connection lost: " + session_.last_error());
    if (rc > 0) {
      rx_.append(buf, static_cast<size_t>(rc));
      progress = SteadyClock::now();
      continue;
    }
    if (ssh_channel_is_eof(channel_) || ssh_channel_is_closed(channel_)) {
      return transport_error("connection lost: the server closed the SFTP session");
    }
    if (SteadyClock::now() - progress > timeout_) {
      return transport_error("no answer from the server for " + seconds(timeout_) + " (timeout)");
    }
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

Result<Reply> SftpClient::receive(bool* was_write) {
  Result<std::string> packet = receive_packet();
  if (!packet.ok()) return packet.status();
  Result<Reply> reply = parse_reply(*packet);
  if (!reply.ok()) return transport_error(reply.message());
  bool write = writes_in_flight_.count(reply->id) > 0;
  if (write) settle_write(*reply);
  if (was_write) *was_write = write;
  return reply;
}

Result<Reply> SftpClient::wait_reply(uint32_t id) {
  for (;;) {
    bool was_write = false;
    Result<Reply> reply = receive(&was_write);
    if (!reply.ok()) return reply;
    if (reply->id == id) return reply;
    if (!was_write) {
      return transport_error("the server answered request " + std::to_string(reply->id) +
                             ", which was never sent");
    }
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

Result<Attrs> SftpClient::stat(const std::string& path) {
  uint32_t id = next_id();
  if (Status st = send(PacketBuilder(FXP_STAT, id).str(path).finish()); !st.ok()) return st;
  Result<Reply> reply = wait_reply(id);
  if (!reply.ok()) return reply.status();
  if (reply->type == FXP_ATTRS) return reply->attrs;
  if (reply->type == FXP_STATUS) return server_error(reply->code == FX_OK ? FX_FAILURE : reply->code, reply->message);
  return transport_error("unexpected reply type " + std::to_string(reply->type) + " to STAT");
}

Status SftpClient::mkdir(const std::string& path, uint32_t mode) {
  uint32_t id = next_id();
  if (Status st = send(PacketBuilder(FXP_MKDIR, id).str(path).attrs_permissions(mode).finish()); !st.ok()) {
    return st;
  }
  return expect_status(wait_reply(id));
}

Status SftpClient::set_permissions(const std::string& path, uint32_t mode) {
  uint32_t id = next_id();
  if (Status st = send(PacketBuilder(FXP_SETSTAT, id).str(path).attrs_permissions(mode).finish()); !st.ok()) {
    return st;
  }
  return expect_status(wait_reply(id));
}

Status SftpClient::remove(const std::string& path) {
  uint32_t id = next_id();
  if (Status st = send(PacketBuilder(FXP_REMOVE, id).str(path).finish()); !st.ok()) return st;
  return expect_status(wait_reply(id));
}

Status SftpClient::rename(const std::string& from, const std::string& to) {
  uint32_t id = next_id();
  if (Status st = send(PacketBuilder(FXP_RENAME, id).str(from).str(to).finish()); !st.ok()) return st;
  return expect_status(wait_reply(id));
}

Status SftpClient::posix_rename(const std::string& from, const std::string& to) {
  uint32_t id = next_id();
  Status st = send(PacketBuilder(FXP_EXTENDED, id).str("posix-rename@openssh.com").str(from).str(to).finish());
  if (!st.ok()) return st;
  return expect_status(wait_reply(id));
}

Result<std::string> SftpClient::open(const std::string& path, uint32_t flags, uint32_t mode) {
  uint32_t id = next_id();
  Status st = send(PacketBuilder(FXP_OPEN, id).str(path).u32(flags).attrs_permissions(mode).finish());
  if (!st.ok()) return st;
  Result<Reply> reply = wait_reply(id);
  if (!reply.ok()) return reply.status();
  if (reply->type == FXP_HANDLE) return reply->data;
  if (reply->type == FXP_STATUS) return server_error(reply->code == FX_OK ? FX_FAILURE : reply->code, reply->message);
  return transport_error("unexpected reply type " + std::to_string(reply->type) + " to OPEN");
}

Status SftpClient::close(const std::string& handle) {
  Status writes = wait_writes();
  if (broken_) return writes;
  uint32_t id = next_id();
  if (Status st = send(PacketBuilder(FXP_CLOSE, id).str(handle).finish()); !st.ok()) return st;
  Status closed = expect_status(wait_reply(id));
  return writes.ok() ? closed : writes;
}

Status SftpClient::fsync(const std::string& handle) {
  uint32_t id = next_id();
  if (Status st = send(PacketBuilder(FXP_EXTENDED, id).str("fsync@openssh.com").str(handle).finish()); !st.ok()) {
    return st;
  }
  return expect_status(wait_reply(id));
}

Status SftpClient::write(const std::string& handle, uint64_t offset, const void* data, size_t size) {
  if (!write_error_.ok()) {
    last_code_ = write_error_code_;
    return write_error_;
  }
  if (size > write_size_) return Status::Error("internal error: SFTP write larger than the request size");
  // When the pipeline is full, wait until a batch of replies is in, so that requests go out in
  // batches again (see write_batch_).
  if (writes_in_flight_.size() >= max_in_flight_) {
    while (writes_in_flight_.size() + write_batch_ > max_in_flight_) {
      Result<Reply> reply = receive();
      if (!reply.ok()) return reply.status();
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
  if (queued_ids_.size() >= write_batch_) return flush();
  return Status::OK();
}

Status SftpClient::wait_writes() {
  while (!writes_in_flight_.empty()) {
    Result<Reply> reply = receive();
    if (!reply.ok()) return reply.status();
  }
  if (!write_error_.ok()) last_code_ = write_error_code_;
  return write_error_;
}

Result<std::string> SftpClient::read_file(const std::string& path, size_t max_size) {
  Result<std::string> handle = open(path, FXF_READ, 0);
  if (!handle.ok()) return handle.status();
  std::string content;
  Status failed;
  for (;;) {
    uint32_t id = next_id();
    uint32_t want = 32 * 1024;
    failed = send(PacketBuilder(FXP_READ, id).str(*handle).u64(content.size()).u32(want).finish());
    if (!failed.ok()) break;
    Result<Reply> reply = wait_reply(id);
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
