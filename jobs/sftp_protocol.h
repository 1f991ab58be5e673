// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The SFTP version 3 wire format (draft-ietf-secsh-filexfer-02, as OpenSSH speaks it): the packets
// flisd sends, and a strict parser for the packets a server sends back.
//
// Everything here is pure: bytes in, values out, no I/O. The parser is what stands between a
// hostile or broken server and our memory, so it checks every length against the bytes actually
// present, refuses packets over kMaxPacket, and never allocates more than the packet it was given.
// It is fuzzed by tests/fuzz/fuzz_sftp_reply.cpp.
//
// Thread-safety: free functions without shared state; a PacketBuilder is owned by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace flis::sftp {

// OpenSSH's sftp-server drops a session on a message over 256 KiB; we accept a little more than
// that from the server (a READ reply of 256 KiB plus its header) and nothing larger.
constexpr uint32_t kMaxPacket = 256 * 1024 + 1024;

enum PacketType : uint8_t {
  FXP_INIT = 1, FXP_VERSION = 2, FXP_OPEN = 3, FXP_CLOSE = 4, FXP_READ = 5, FXP_WRITE = 6,
  FXP_LSTAT = 7, FXP_FSTAT = 8, FXP_SETSTAT = 9, FXP_FSETSTAT = 10, FXP_OPENDIR = 11,
  FXP_READDIR = 12, FXP_REMOVE = 13, FXP_MKDIR = 14, FXP_RMDIR = 15, FXP_REALPATH = 16,
  FXP_STAT = 17, FXP_RENAME = 18, FXP_READLINK = 19, FXP_SYMLINK = 20,
  FXP_STATUS = 101, FXP_HANDLE = 102, FXP_DATA = 103, FXP_NAME = 104, FXP_ATTRS = 105,
  FXP_EXTENDED = 200, FXP_EXTENDED_REPLY = 201,
};

// SSH_FXP_OPEN flags.
enum OpenFlags : uint32_t {
  FXF_READ = 0x01, FXF_WRITE = 0x02, FXF_APPEND = 0x04, FXF_CREAT = 0x08, FXF_TRUNC = 0x10,
  FXF_EXCL = 0x20,
};

// SSH_FX_* status codes of version 3.
enum StatusCode : uint32_t {
  FX_OK = 0, FX_EOF = 1, FX_NO_SUCH_FILE = 2, FX_PERMISSION_DENIED = 3, FX_FAILURE = 4,
  FX_BAD_MESSAGE = 5, FX_NO_CONNECTION = 6, FX_CONNECTION_LOST = 7, FX_OP_UNSUPPORTED = 8,
};
// "SSH_FX_PERMISSION_DENIED"; "SSH_FX_<n>" for codes beyond version 3.
std::string status_name(uint32_t code);

// File attributes (ATTRS), the fields version 3 has. Absent fields are nullopt.
struct Attrs {
  std::optional<uint64_t> size;
  std::optional<uint32_t> uid, gid;
  std::optional<uint32_t> permissions;  // includes the file type bits (S_IFDIR ...)
  std::optional<uint32_t> atime, mtime;

  bool is_directory() const { return permissions && (*permissions & 0170000) == 0040000; }
  bool is_regular() const { return permissions && (*permissions & 0170000) == 0100000; }
};

// SSH_FXP_VERSION: the server's version and the extensions it announced (name, data).
struct Version {
  uint32_t version = 0;
  std::vector<std::pair<std::string, std::string>> extensions;
  bool has(std::string_view name) const;
};

// limits@openssh.com: zero means "no limit stated".
struct Limits {
  uint64_t max_packet_length = 0;
  uint64_t max_read_length = 0;
  uint64_t max_write_length = 0;
  uint64_t max_open_handles = 0;
};

// One reply to a request, by its id. Which fields are meaningful depends on `type`.
struct Reply {
  uint8_t type = 0;
  uint32_t id = 0;
  // FXP_STATUS
  uint32_t code = FX_OK;
  std::string message;
  // FXP_HANDLE: the handle; FXP_DATA: the data; FXP_EXTENDED_REPLY: the raw reply data
  std::string data;
  // FXP_ATTRS
  Attrs attrs;
  // FXP_NAME: file names of the entries
  std::vector<std::string> names;
};

// The length prefix of the packet at the start of `bytes`: nullopt when fewer than 4 bytes are
// there yet, an error when it is 0 or over kMaxPacket (the session is then unusable).
Result<std::optional<uint32_t>> frame_length(std::string_view bytes);

// Parses one packet (without its 4-byte length prefix). Errors say what was malformed.
Result<Reply> parse_reply(std::string_view packet);
Result<Version> parse_version(std::string_view packet);
Result<Limits> parse_limits(std::string_view extended_reply_data);

// Builds one request packet, length prefix included:
//   PacketBuilder b(FXP_OPEN, id); b.str(path).u32(flags).attrs_permissions(0640); send(b.finish());
class PacketBuilder {
 public:
  PacketBuilder(uint8_t type, uint32_t id);
  explicit PacketBuilder(uint8_t type);  // FXP_INIT has no id
  PacketBuilder& u8(uint8_t v);
  PacketBuilder& u32(uint32_t v);
  PacketBuilder& u64(uint64_t v);
  PacketBuilder& str(std::string_view s);
  PacketBuilder& attrs_empty();                        // flags 0
  PacketBuilder& attrs_permissions(uint32_t mode);     // SSH_FILEXFER_ATTR_PERMISSIONS
  // The finished packet; the builder is spent.
  std::string finish();

 private:
  std::string buf_;
};

// The fixed part of a WRITE request before its data: length, type, id, handle, offset and the data
// length. Written in front of the data by the pipelined writer, so one request is one buffer.
size_t write_header_size(size_t handle_size);
void encode_write_header(char* out, uint32_t id, std::string_view handle, uint64_t offset,
                         uint32_t data_size);

}  // namespace flis::sftp
