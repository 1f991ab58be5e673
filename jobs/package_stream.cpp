// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/package_stream.h"

namespace flis {

PackageStream::PackageStream(Upload& out, size_t hold_limit) : out_(out), hold_limit_(hold_limit) {}

Status PackageStream::pass_on(const char* data, size_t size) {
  sha_.update(data, size);
  bytes_out_ += size;
  return out_.write(data, size);
}

Status PackageStream::files(const char* data, size_t size) {
  if (released_) return pass_on(data, size);
  held_.emplace_back(data, data + size);
  held_bytes_ += size;
  return Status::OK();
}

Status PackageStream::release(const std::string& manifest_frame) {
  if (released_) return Status::Error("internal error: the package's manifest was released twice");
  released_ = true;
  Status s = pass_on(manifest_frame.data(), manifest_frame.size());
  for (auto& chunk : held_) {
    if (s.ok()) s = pass_on(chunk.data(), chunk.size());
    std::vector<char>().swap(chunk);  // freed as it goes, so held and queued bytes never add up
  }
  held_.clear();
  held_bytes_ = 0;
  return s;
}

Status PackageStream::finish() {
  if (!released_) return Status::Error("internal error: the package ended before its manifest");
  if (Status s = out_.finish(); !s.ok()) return s;
  sha256_hex_ = sha_.hex();
  return Status::OK();
}

}  // namespace flis
