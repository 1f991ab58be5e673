// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Packages held in memory, for tests that build many: an Upload that keeps the bytes, and a
// reader that returns a .tar.zst's members (read back with libarchive, not with our own code).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <boost/test/unit_test.hpp>

#include <map>
#include <string>

#include "jobs/target.h"

namespace flis::test {

// An Upload that keeps the package in memory, for tests that build many packages.
class MemoryUpload : public flis::Upload {
 public:
  flis::Status write(const void* data, size_t size) override {
    bytes.append(static_cast<const char*>(data), size);
    return flis::Status::OK();
  }
  flis::Status commit(const std::string&) override { return flis::Status::OK(); }
  void abort() override {}
  std::string remote_path() const override { return "memory"; }
  std::string bytes;
};

// The members of a .tar.zst held in memory, read back with libarchive: name -> content.
inline std::map<std::string, std::string> read_package(const std::string& package) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  BOOST_REQUIRE(archive_read_open_memory(a, package.data(), package.size()) == ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string& content = out[archive_entry_pathname(e)];
    char buf[8192];
    for (la_ssize_t n; (n = archive_read_data(a, buf, sizeof buf)) > 0;) content.append(buf, static_cast<size_t>(n));
  }
  archive_read_free(a);
  return out;
}

}  // namespace flis::test
