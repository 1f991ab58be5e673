// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The configuration folder as it was at a git revision, for `flisctl diff --git REV [DIR]`.
//
// DIR may be a subfolder of its repository (/etc/flisd/ or config/ of a larger repo): only that
// subfolder is exported, with `git archive REV:<subfolder>`, into a temporary folder that is
// removed when the GitSnapshot goes. git is run as a program (never through a shell), so a
// revision or path is never interpreted by anything but git.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "base/status.h"

namespace flis {

class GitSnapshot {
 public:
  // Exports `dir` as it was at `rev`. An error when dir is not in a git checkout or rev names no
  // commit; a snapshot with exists() false when the folder did not exist at rev (a new repository).
  static Result<std::unique_ptr<GitSnapshot>> export_at(const std::filesystem::path& dir, const std::string& rev);
  ~GitSnapshot();
  GitSnapshot(const GitSnapshot&) = delete;
  GitSnapshot& operator=(const GitSnapshot&) = delete;

  const std::filesystem::path& dir() const { return tree_; }
  bool exists() const { return exists_; }
  const std::string& commit() const { return commit_; }  // the full commit id rev resolved to

 private:
  GitSnapshot() = default;
  std::filesystem::path temp_, tree_;
  bool exists_ = false;
  std::string commit_;
};

}  // namespace flis
