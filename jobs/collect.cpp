// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/collect.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "jobs/warehouse.h"

namespace flis {
namespace fs = std::filesystem;
namespace {

// The refusals below stop the whole package: a warehouse that holds something unexpected in a
// municipality's folder needs a person to look at it, not a package that silently skips it.
Status refuse(const fs::path& path, const std::string& why) {
  return Status::Error("refusing warehouse entry " + path.string() + ": " + why +
                       "; a package holds only regular files inside the municipality's folder");
}

Status refuse_links(const fs::path& path, nlink_t links) {
  return refuse(path, "it has " + std::to_string(links) +
                          " hard links, so it may be another folder's file too (FLIS writes each file once)");
}

Status changed(const PackageFile& f, const std::string& how) {
  return Status::Error("warehouse file changed while being packed: " + f.source.string() + " (" + how +
                       "); the run will be retried");
}

FileId id_of(const struct stat& st) { return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)}; }

// `rel` opened beneath the folder `dir` with no symbolic link on the way (openat2
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS). Kernels without openat2 (before 5.6) walk `rel` one
// component at a time with O_NOFOLLOW. -1 and errno on failure: ELOOP or EXDEV for a link.
int open_beneath(int dir, const std::string& rel, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, dir, rel.c_str(), &how, sizeof how));
  if (fd >= 0 || errno != ENOSYS) return fd;
  int at = dir;
  for (size_t start = 0;;) {
    size_t slash = rel.find('/', start);
    bool last = slash == std::string::npos;
    std::string part = rel.substr(start, last ? std::string::npos : slash - start);
    int next = -1, err = EXDEV;
    if (!part.empty() && part != "." && part != "..") {
      next = openat(at, part.c_str(), (last ? flags : O_RDONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
      err = errno;
    }
    if (at != dir) close(at);
    if (next < 0 || last) {
      errno = err;
      return next;
    }
    at = next;
    start = slash + 1;
  }
}

struct Listing {
  std::shared_ptr<const WarehouseRoot> root;
  std::string folder;  // relative to the root
  FileId folder_id;
  std::string partition;  // Partition::key(), which also begins each archive path
  std::vector<PackageFile>& out;
};

// Adds the regular files below the open folder `dir` (taken over), `rel` inside the municipality
// folder and shown as `shown`.
Status list_tree(int dir, const std::string& rel, const fs::path& shown, Listing& l) {
  DIR* d = fdopendir(dir);
  if (!d) {
    int err = errno;
    close(dir);
    return Status::Error("cannot read warehouse folder " + shown.string() + ": " + std::strerror(err));
  }
  struct Closer {
    DIR* d;
    ~Closer() { closedir(d); }
  } closer{d};
  for (;;) {
    errno = 0;
    dirent* e = readdir(d);
    if (!e) {
      if (errno != 0) return Status::Error("cannot read warehouse folder " + shown.string() + ": " + std::strerror(errno));
      return Status::OK();
    }
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    fs::path path = shown / name;
    std::string inside = rel.empty() ? name : rel + "/" + name;
    struct stat st {};
    if (fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return Status::Error("cannot examine warehouse entry " + path.string() + ": " + std::strerror(errno));
    if (S_ISLNK(st.st_mode)) return refuse(path, "it is a symbolic link");
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd(d), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return errno == ELOOP ? refuse(path, "it is a symbolic link")
                              : Status::Error("cannot read warehouse folder " + path.string() + ": " + std::strerror(errno));
      struct stat opened {};
      if (fstat(sub, &opened) != 0 || !(id_of(opened) == id_of(st))) {
        close(sub);
        return refuse(path, "it was replaced while it was listed");
      }
      if (Status s = list_tree(sub, inside, path, l); !s.ok()) return s;
      continue;
    }
    if (!S_ISREG(st.st_mode)) return refuse(path, "it is a special file (device, socket or pipe)");
    if (st.st_nlink > 1) return refuse_links(path, st.st_nlink);
    PackageFile f;
    f.source = path;
    f.archive_path = l.partition + "/" + inside;
    f.partition = l.partition;
    f.size = static_cast<uint64_t>(st.st_size);
    f.root = l.root;
    f.folder = l.folder;
    f.relative = inside;
    f.folder_id = l.folder_id;
    f.id = id_of(st);
    l.out.push_back(std::move(f));
  }
}

// Adds the regular files of one partition's municipality folder, `folder` below the root.
Status collect_folder(const std::shared_ptr<const WarehouseRoot>& root, const std::string& folder,
                      const std::string& partition, std::vector<PackageFile>& out) {
  fs::path shown = root->path() / folder;
  int fd = open_beneath(root->fd(), folder, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::OK();  // no data that period
    if (err == ELOOP || err == EXDEV)
      return refuse(shown, "the municipality folder, or a folder above it in the warehouse, is a symbolic link");
    if (err == ENOTDIR) return refuse(shown, "the municipality folder is not a folder");
    return Status::Error("cannot open warehouse folder " + shown.string() + ": " + std::strerror(err));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Status::Error("cannot examine warehouse folder " + shown.string() + ": " + std::strerror(err));
  }
  Listing l{root, folder, id_of(st), partition, out};
  return list_tree(fd, "", shown, l);
}

}  // namespace

Result<std::shared_ptr<const WarehouseRoot>> WarehouseRoot::open(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error("cannot open the warehouse folder " + path.string() + ": " + std::strerror(errno));
  return std::shared_ptr<const WarehouseRoot>(new WarehouseRoot(fd, path));
}

WarehouseRoot::~WarehouseRoot() { close(fd_); }

Result<std::vector<PackageFile>> collect_files(const fs::path& warehouse, const std::vector<Partition>& partitions,
                                               int municipality) {
  if (municipality < 0 || municipality > 999)
    return Status::Error("invalid municipality code " + std::to_string(municipality));
  for (const Partition& p : partitions)
    if (Status s = check_partition(p); !s.ok()) return s;
  std::vector<PackageFile> files;
  if (partitions.empty()) return files;
  std::error_code ec;
  if (!fs::exists(warehouse, ec) && !ec) return files;  // no warehouse yet: no data for any period
  auto root = WarehouseRoot::open(warehouse);
  if (!root.ok()) return root.status();
  for (const Partition& p : partitions)
    if (Status s = collect_folder(*root, municipality_folder(p, municipality), partition_folder(p), files); !s.ok())
      return s;
  std::sort(files.begin(), files.end(),
            [](const PackageFile& a, const PackageFile& b) { return a.archive_path < b.archive_path; });
  // A partition listed twice must not add its files twice: a tar with duplicate members is
  // ambiguous to unpack.
  files.erase(std::unique(files.begin(), files.end(),
                          [](const PackageFile& a, const PackageFile& b) { return a.archive_path == b.archive_path; }),
              files.end());
  return files;
}

Result<int> open_package_file(const PackageFile& f) {
  auto vanished = [&] {
    return Status::Error("warehouse file vanished while being packed: " + f.source.string() +
                         "; the run will be retried");
  };
  if (!f.root) return Status::Error("cannot read warehouse file " + f.source.string() + ": not collected");
  int dir = open_beneath(f.root->fd(), f.folder, O_RDONLY | O_DIRECTORY);
  if (dir < 0) {
    int err = errno;
    if (err == ENOENT) return vanished();
    if (err == ELOOP || err == EXDEV || err == ENOTDIR)
      return refuse(f.source, "its municipality folder became a symbolic link after it was listed");
    return Status::Error("cannot read warehouse file " + f.source.string() + ": " + std::strerror(err));
  }
  struct stat st {};
  if (fstat(dir, &st) != 0 || !(id_of(st) == f.folder_id)) {
    close(dir);
    return refuse(f.source, "its municipality folder was replaced by another folder after it was listed");
  }
  int fd = open_beneath(dir, f.relative, O_RDONLY | O_NOCTTY | O_NONBLOCK);
  int err = errno;
  close(dir);
  if (fd < 0) {
    if (err == ENOENT) return vanished();
    if (err == ELOOP || err == EXDEV)
      return refuse(f.source, "it became a symbolic link after it was listed");
    return Status::Error("cannot read warehouse file " + f.source.string() + ": " + std::strerror(err));
  }
  Status s;
  if (fstat(fd, &st) != 0) s = Status::Error("cannot read warehouse file " + f.source.string() + ": " + std::strerror(errno));
  else if (!S_ISREG(st.st_mode)) s = refuse(f.source, "it is no longer a regular file");
  else if (!(id_of(st) == f.id)) s = changed(f, "replaced by another file after it was listed");
  else if (st.st_nlink > 1) s = refuse_links(f.source, st.st_nlink);
  if (s.ok()) return fd;
  close(fd);
  return s;
}

}  // namespace flis
