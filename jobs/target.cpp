// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The naming rules every target shares (jobs/target.h). make_target lives in target_factory.cpp so
// that code using only these helpers does not pull in the SFTP target.
#include "jobs/target.h"

#include <cctype>

#include "config/kommuner.h"

namespace flis {
namespace {

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

}  // namespace

// Hidden (a leading dot) and ending in ".part", so neither `ls` nor a consumer polling for
// "*.tar.zst" ever sees an upload in progress.
std::string temporary_name(const std::string& name, const std::string& attempt) {
  return attempt.empty() ? "." + name + ".part" : "." + name + "." + attempt + ".part";
}

bool is_temporary_of(const std::string& entry, const std::string& name) {
  const std::string head = "." + name + ".", tail = ".part";
  return entry.size() >= head.size() + tail.size() - 1 && entry.compare(0, head.size(), head) == 0 &&
         entry.compare(entry.size() - tail.size(), tail.size(), tail) == 0;
}

std::string attempt_tag(const std::string& node, int attempt) {
  std::string tag;
  for (char c : node) tag += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return tag + "-" + std::to_string(attempt);
}

Status check_package_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos || name.front() == '.')
    return Status::Error("invalid package name '" + name +
                         "': a package name is one plain file name, not hidden (no '/', no leading '.')");
  return Status::OK();
}

std::string join_path(const std::string& folder, const std::string& name) {
  if (folder.empty() || folder.back() == '/') return folder + name;
  return folder + "/" + name;
}

std::string expand_path(const std::string& path_template, int municipality, const std::string& order_id) {
  std::string out = path_template;
  replace_all(out, "{municipality}", municipality_code(municipality));
  replace_all(out, "{order}", order_id);
  return out;
}

Status check_folder(const std::string& folder) {
  if (folder.empty()) return Status::Error("empty target folder: the target's path template expands to nothing");
  size_t start = 0;
  while (start <= folder.size()) {
    size_t end = folder.find('/', start);
    if (end == std::string::npos) end = folder.size();
    if (end - start == 2 && folder.compare(start, 2, "..") == 0)
      return Status::Error("target folder '" + folder +
                           "' has a '..' component; the path template must name the folder directly");
    start = end + 1;
  }
  return Status::OK();
}

Result<std::unique_ptr<Upload>> DeliveryTarget::begin_unless_present(const std::string& folder,
                                                                    const std::string& name,
                                                                    const std::string& attempt) {
  auto found = inspect(folder, name);
  if (!found.ok()) return found.status();
  if (found->has_value()) return std::unique_ptr<Upload>();
  return begin(folder, name, attempt);
}

std::string checksum_line(const std::string& sha256_hex, const std::string& name) {
  return sha256_hex + "  " + name + "\n";
}

}  // namespace flis
