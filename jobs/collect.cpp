#include "jobs/collect.h"

#include <algorithm>
#include <cstdio>
#include <system_error>

namespace flis {
namespace fs = std::filesystem;
namespace {

std::string municipality_code(int municipality) {
  char code[16];
  std::snprintf(code, sizeof code, "%03d", municipality);
  return code;
}

// The refusals below stop the whole package: a warehouse that holds something unexpected in a
// municipality's folder needs a person to look at it, not a package that silently skips it.
Status refuse(const fs::path& path, const std::string& why) {
  return Status::Error("refusing warehouse entry " + path.string() + ": " + why +
                       "; a package holds only regular files inside the municipality's folder");
}

// "a/b.csv" relative to the municipality folder, or an error if it is not plainly inside it.
Result<std::string> relative_inside(const fs::path& file, const fs::path& folder) {
  fs::path rel = file.lexically_relative(folder);
  if (rel.empty() || rel.is_absolute()) return refuse(file, "not inside " + folder.string());
  for (const auto& part : rel)
    if (part == ".." || part == ".") return refuse(file, "path leaves " + folder.string());
  return rel.generic_string();
}

// Adds the regular files of one partition's municipality folder.
Status collect_folder(const fs::path& folder, const std::string& prefix, std::vector<PackageFile>& out) {
  std::error_code ec;
  fs::file_status st = fs::symlink_status(folder, ec);
  if (ec || st.type() == fs::file_type::not_found) {
    if (st.type() == fs::file_type::not_found) return Status::OK();  // no data that period
    return Status::Error("cannot examine " + folder.string() + ": " + ec.message());
  }
  if (fs::is_symlink(st)) return refuse(folder, "the municipality folder is a symbolic link");
  if (!fs::is_directory(st)) return refuse(folder, "the municipality folder is not a folder");
  fs::path real_folder = fs::canonical(folder, ec);
  if (ec) return Status::Error("cannot resolve " + folder.string() + ": " + ec.message());

  fs::recursive_directory_iterator it(folder, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    fs::file_status entry = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_symlink(entry)) return refuse(path, "it is a symbolic link");
    if (fs::is_directory(entry)) continue;
    if (!fs::is_regular_file(entry)) return refuse(path, "it is a special file (device, socket or pipe)");
    auto rel = relative_inside(path, folder);
    if (!rel.ok()) return rel.status();
    // No symlink was followed, so this can only fail if the tree changes under us.
    if (fs::path real = fs::canonical(path, ec); ec || !relative_inside(real, real_folder).ok())
      return refuse(path, "its resolved path leaves " + folder.string());
    uint64_t size = it->file_size(ec);
    if (ec) break;
    out.push_back(PackageFile{path, prefix + *rel, size, {}});
  }
  if (ec) return Status::Error("cannot read warehouse folder " + folder.string() + ": " + ec.message());
  return Status::OK();
}

}  // namespace

Result<std::vector<PackageFile>> collect_files(const fs::path& warehouse, const std::vector<Partition>& partitions,
                                               int municipality) {
  if (municipality < 0 || municipality > 999)
    return Status::Error("invalid municipality code " + std::to_string(municipality));
  const std::string code = municipality_code(municipality);
  std::vector<PackageFile> files;
  for (const Partition& p : partitions) {
    for (const std::string& part : {std::string(to_string(p.source)), p.interface, p.name})
      if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos)
        return Status::Error("invalid partition " + p.key() + ": each part must be one plain folder name");
    fs::path folder = warehouse / std::string(to_string(p.source)) / p.interface / p.name / code;
    if (Status s = collect_folder(folder, p.key() + "/", files); !s.ok()) return s;
  }
  std::sort(files.begin(), files.end(),
            [](const PackageFile& a, const PackageFile& b) { return a.archive_path < b.archive_path; });
  // A partition listed twice must not add its files twice: a tar with duplicate members is
  // ambiguous to unpack.
  files.erase(std::unique(files.begin(), files.end(),
                          [](const PackageFile& a, const PackageFile& b) { return a.archive_path == b.archive_path; }),
              files.end());
  return files;
}

}  // namespace flis
