// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// libFuzzer target for the SFTP reply parser (jobs/sftp_protocol.h): the bytes a hostile or broken
// SFTP server could send. The input is read as the client reads its channel: length-prefixed
// frames, each parsed as a reply, as a VERSION packet and as limits@openssh.com data. The parser
// must never read out of bounds, never allocate more than its input, and never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "jobs/sftp_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace flis::sftp;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    auto length = frame_length(rest);
    if (!length.ok() || !*length || rest.size() - 4 < **length) break;
    std::string_view packet = rest.substr(4, **length);
    rest.remove_prefix(4 + **length);
    auto reply = parse_reply(packet);
    if (reply.ok() && reply->data.size() > packet.size()) __builtin_trap();
    (void)parse_version(packet);
    (void)parse_limits(packet);
  }
  return 0;
}
