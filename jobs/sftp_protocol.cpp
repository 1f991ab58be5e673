// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/sftp_protocol.h"

#include <cstring>

namespace flis::sftp {

namespace {

// Attribute flags of version 3.
constexpr uint32_t ATTR_SIZE = 0x00000001;
constexpr uint32_t ATTR_UIDGID = 0x00000002;
constexpr uint32_t ATTR_PERMISSIONS = 0x00000004;
constexpr uint32_t ATTR_ACMODTIME = 0x00000008;
constexpr uint32_t ATTR_EXTENDED = 0x80000000;

// Reads big-endian fields from a packet. Every read checks the bytes left first; after the first
// failure every further read fails too, so a parser can read a whole structure and check once.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool u8(uint8_t& v) {
    if (!need(1)) return false;
    v = static_cast<uint8_t>(rest_[0]);
    rest_.remove_prefix(1);
    return true;
  }
  bool u32(uint32_t& v) {
    if (!need(4)) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(rest_[i]);
    rest_.remove_prefix(4);
    return true;
  }
  bool u64(uint64_t& v) {
    uint32_t hi, lo;
    if (!u32(hi) || !u32(lo)) return false;
    v = (uint64_t{hi} << 32) | lo;
    return true;
  }
  // A string's bytes, as a view into the packet: its length is checked against what is left, so
  // a length field cannot make us allocate or read beyond the packet.
  bool str(std::string_view& v) {
    uint32_t n;
    if (!u32(n) || !need(n)) return false;
    v = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return true;
  }
  bool str(std::string& v) {
    std::string_view view;
    if (!str(view)) return false;
    v.assign(view);
    return true;
  }
  bool attrs(Attrs& a);
  bool ok() const { return ok_; }
  size_t left() const { return rest_.size(); }
  std::string_view rest() const { return rest_; }

 private:
  bool need(size_t n) {
    if (ok_ && rest_.size() >= n) return true;
    ok_ = false;
    return false;
  }
  std::string_view rest_;
  bool ok_ = true;
};

bool Reader::attrs(Attrs& a) {
  uint32_t flags;
  if (!u32(flags)) return false;
  if (flags & ATTR_SIZE) {
    uint64_t v;
    if (!u64(v)) return false;
    a.size = v;
  }
  if (flags & ATTR_UIDGID) {
    uint32_t uid, gid;
    if (!u32(uid) || !u32(gid)) return false;
    a.uid = uid;
    a.gid = gid;
  }
  if (flags & ATTR_PERMISSIONS) {
    uint32_t v;
    if (!u32(v)) return false;
    a.permissions = v;
  }
  if (flags & ATTR_ACMODTIME) {
    uint32_t at, mt;
    if (!u32(at) || !u32(mt)) return false;
    a.atime = at;
    a.mtime = mt;
  }
  if (flags & ATTR_EXTENDED) {
    // Each pair takes at least 8 bytes, so `count` cannot make us loop beyond the packet.
    uint32_t count;
    if (!u32(count)) return false;
    for (uint32_t i = 0; i < count; ++i) {
      std::string_view name, data;
      if (!str(name) || !str(data)) return false;
    }
  }
  return true;
}

Status malformed(uint8_t type, const char* what) {
  return Status::Error("malformed SFTP reply (type " + std::to_string(type) + "): " + what);
}

void put32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v >> 24);
  p[1] = static_cast<char>(v >> 16);
  p[2] = static_cast<char>(v >> 8);
  p[3] = static_cast<char>(v);
}

}  // namespace

std::string status_name(uint32_t code) {
  static const char* const names[] = {
      "SSH_FX_OK",          "SSH_FX_EOF",           "SSH_FX_NO_SUCH_FILE",
      "SSH_FX_PERMISSION_DENIED", "SSH_FX_FAILURE", "SSH_FX_BAD_MESSAGE",
      "SSH_FX_NO_CONNECTION", "SSH_FX_CONNECTION_LOST", "SSH_FX_OP_UNSUPPORTED",
  };
  if (code < sizeof names / sizeof names[0]) return names[code];
  return "SSH_FX_" + std::to_string(code);
}

bool Version::has(std::string_view name) const {
  for (const auto& [n, data] : extensions) {
    if (n == name) return true;
  }
  return false;
}

Result<std::optional<uint32_t>> frame_length(std::string_view bytes) {
  if (bytes.size() < 4) return std::optional<uint32_t>();
  Reader r(bytes);
  uint32_t n;
  (void)r.u32(n);
  if (n == 0) return Status::Error("malformed SFTP packet: length 0");
  if (n > kMaxPacket) {
    return Status::Error("SFTP packet of " + std::to_string(n) + " bytes exceeds the limit of " +
                         std::to_string(kMaxPacket));
  }
  return std::optional<uint32_t>(n);
}

Result<Reply> parse_reply(std::string_view packet) {
  Reader r(packet);
  Reply reply;
  if (!r.u8(reply.type) || !r.u32(reply.id)) return malformed(reply.type, "shorter than its header");
  switch (reply.type) {
    case FXP_STATUS: {
      if (!r.u32(reply.code)) return malformed(reply.type, "no status code");
      // Version 3 servers may omit message and language tag (draft 02 had none).
      if (r.left() > 0) {
        std::string_view lang;
        if (!r.str(reply.message) || !r.str(lang)) return malformed(reply.type, "truncated message");
      }
      break;
    }
    case FXP_HANDLE:
      if (!r.str(reply.data)) return malformed(reply.type, "truncated handle");
      if (reply.data.size() > 256) return malformed(reply.type, "handle longer than 256 bytes");
      break;
    case FXP_DATA:
      if (!r.str(reply.data)) return malformed(reply.type, "truncated data");
      break;
    case FXP_ATTRS:
      if (!r.attrs(reply.attrs)) return malformed(reply.type, "truncated attributes");
      break;
    case FXP_NAME: {
      uint32_t count;
      if (!r.u32(count)) return malformed(reply.type, "no count");
      // Each entry takes at least 12 bytes; a count beyond what the packet can hold is a lie.
      if (count > r.left() / 12) return malformed(reply.type, "more names than the packet holds");
      for (uint32_t i = 0; i < count; ++i) {
        std::string name;
        std::string_view longname;
        Attrs attrs;
        if (!r.str(name) || !r.str(longname) || !r.attrs(attrs)) {
          return malformed(reply.type, "truncated name entry");
        }
        reply.names.push_back(std::move(name));
      }
      break;
    }
    case FXP_EXTENDED_REPLY:
      reply.data.assign(r.rest());
      return reply;
    default:
      return malformed(reply.type, "unexpected packet type");
  }
  return reply;
}

Result<Version> parse_version(std::string_view packet) {
  Reader r(packet);
  uint8_t type = 0;
  Version v;
  if (!r.u8(type) || type != FXP_VERSION) return malformed(type, "expected SSH_FXP_VERSION");
  if (!r.u32(v.version)) return malformed(type, "no version");
  while (r.left() > 0) {
    std::string name, data;
    if (!r.str(name) || !r.str(data)) return malformed(type, "truncated extension");
    v.extensions.emplace_back(std::move(name), std::move(data));
  }
  return v;
}

Result<Limits> parse_limits(std::string_view data) {
  Reader r(data);
  Limits l;
  if (!r.u64(l.max_packet_length) || !r.u64(l.max_read_length) || !r.u64(l.max_write_length) ||
      !r.u64(l.max_open_handles)) {
    return malformed(FXP_EXTENDED_REPLY, "truncated limits@openssh.com reply");
  }
  return l;
}

PacketBuilder::PacketBuilder(uint8_t type, uint32_t id) : PacketBuilder(type) { u32(id); }

PacketBuilder::PacketBuilder(uint8_t type) {
  buf_.assign(4, '\0');  // length, filled in by finish()
  u8(type);
}

PacketBuilder& PacketBuilder::u8(uint8_t v) {
  buf_.push_back(static_cast<char>(v));
  return *this;
}

PacketBuilder& PacketBuilder::u32(uint32_t v) {
  char b[4];
  put32(b, v);
  buf_.append(b, 4);
  return *this;
}

PacketBuilder& PacketBuilder::u64(uint64_t v) {
  u32(static_cast<uint32_t>(v >> 32));
  return u32(static_cast<uint32_t>(v));
}

PacketBuilder& PacketBuilder::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  buf_.append(s);
  return *this;
}

PacketBuilder& PacketBuilder::attrs_empty() { return u32(0); }

PacketBuilder& PacketBuilder::attrs_permissions(uint32_t mode) {
  return u32(ATTR_PERMISSIONS).u32(mode);
}

std::string PacketBuilder::finish() {
  put32(buf_.data(), static_cast<uint32_t>(buf_.size() - 4));
  return std::move(buf_);
}

size_t write_header_size(size_t handle_size) {
  return 4 + 1 + 4 + 4 + handle_size + 8 + 4;
}

void encode_write_header(char* out, uint32_t id, std::string_view handle, uint64_t offset,
                         uint32_t data_size) {
  size_t header = write_header_size(handle.size());
  put32(out, static_cast<uint32_t>(header - 4 + data_size));
  out[4] = static_cast<char>(FXP_WRITE);
  put32(out + 5, id);
  put32(out + 9, static_cast<uint32_t>(handle.size()));
  std::memcpy(out + 13, handle.data(), handle.size());
  char* p = out + 13 + handle.size();
  put32(p, static_cast<uint32_t>(offset >> 32));
  put32(p + 4, static_cast<uint32_t>(offset));
  put32(p + 8, data_size);
}

}  // namespace flis::sftp
