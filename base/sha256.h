// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// SHA-256 over a stream of bytes (OpenSSL EVP), for the manifest's file checksums and the package's
// own `<name>.sha256`. Hex output is lower case, as `sha256sum` prints it.
//
// Thread-safety: one Sha256 per thread; distinct objects are independent.
#pragma once

#include <cstddef>
#include <string>

struct evp_md_ctx_st;

namespace flis {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  // The digest of everything fed so far, as 64 lower-case hex digits. Resets for a new message.
  std::string hex();

 private:
  evp_md_ctx_st* ctx_;
};

// Convenience for small buffers (tests, the manifest).
std::string sha256_hex(const void* data, size_t size);

}  // namespace flis
