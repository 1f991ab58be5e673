// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "base/printable.h"

#include <cstdint>

namespace flis {
namespace {

void append_escape(std::string& out, const char* prefix, unsigned value) {
  static const char* hex = "0123456789abcdef";
  out += prefix;
  out += hex[(value >> 4) & 15];
  out += hex[value & 15];
}

// Length of the well-formed UTF-8 sequence at the start of `s` (1-4), or 0 if there is none.
size_t utf8_length(std::string_view s) {
  auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  uint8_t c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // beyond U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<uint8_t>(text[i]);
    size_t n = utf8_length(text.substr(i));
    if (n == 0) {
      append_escape(out, "\\x", c);  // not UTF-8: a raw C1 byte lands here too
      i += 1;
    } else if (n == 1 && (c < 0x20 || c == 0x7F)) {
      append_escape(out, "\\x", c);
      i += 1;
    } else if (n == 2 && c == 0xC2 && static_cast<uint8_t>(text[i + 1]) < 0xA0) {
      append_escape(out, "\\u00", static_cast<uint8_t>(text[i + 1]));  // U+0080..U+009F, C1
      i += 2;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace flis
