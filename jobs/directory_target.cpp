// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/directory_target.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace flis {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// mkdir -p; the folders it makes get `mode` exactly (default 0750: flisd's packages are not for
// every local user), folders already there are left as they are.
Status make_folders(const std::string& folder, uint32_t mode) {
  for (size_t at = 1; at <= folder.size(); ++at) {
    if (at != folder.size() && folder[at] != '/') continue;
    std::string prefix = folder.substr(0, at);
    if (mkdir(prefix.c_str(), 0700) == 0) {
      if (chmod(prefix.c_str(), mode) != 0) return Status::Error("cannot set the mode of " + prefix + ": " + errno_text(errno));
      continue;
    }
    if (errno == EEXIST) continue;
    return Status::Error("cannot create folder " + prefix + ": " + errno_text(errno));
  }
  struct stat st;
  if (stat(folder.c_str(), &st) != 0) return Status::Error("cannot create folder " + folder + ": " + errno_text(errno));
  if (!S_ISDIR(st.st_mode)) return Status::Error("target folder " + folder + " exists and is not a folder");
  return Status::OK();
}

Status remove_if_present(const std::string& path) {
  if (unlink(path.c_str()) == 0 || errno == ENOENT) return Status::OK();
  return Status::Error("cannot remove stale temporary file " + path + ": " + errno_text(errno));
}

Status fsync_folder(const std::string& folder) {
  int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Error("cannot open folder " + folder + " to sync it: " + errno_text(errno));
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) return Status::Error("cannot sync folder " + folder + ": " + errno_text(err));
  return Status::OK();
}

Status write_all(int fd, const void* data, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Error(errno_text(errno) + " writing " + path);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

// Renames without ever replacing an existing file: RENAME_NOREPLACE where the file system has it,
// otherwise link()+unlink(), which also fails when the final name exists.
Status rename_no_replace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return Status::OK();
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    if (link(from.c_str(), to.c_str()) == 0) {
      unlink(from.c_str());
      return Status::OK();
    }
    err = errno;
  }
  if (err == EEXIST)
    return Status::Error(to + " already exists; flisd never overwrites a delivered package (redeliver asks "
                              "for a new name, .r2)");
  return Status::Error("cannot rename " + from + " to " + to + ": " + errno_text(err));
}

// Writes a small file durably: temporary, fsync, rename over the final name.
Status write_small_file(const std::string& folder, const std::string& name, const std::string& content,
                        uint32_t mode) {
  std::string tmp = join_path(folder, temporary_name(name));
  std::string path = join_path(folder, name);
  // A fresh file, never one already there: a hard link left at the temporary name by whoever can
  // write the folder would otherwise be truncated and written through.
  if (Status s = remove_if_present(tmp); !s.ok()) return s;
  int fd = open(tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Error("cannot create " + tmp + ": " + errno_text(errno));
  Status s = fchmod(fd, mode) == 0 ? Status::OK() : Status::Error(errno_text(errno) + " setting the mode of " + tmp);
  if (s.ok()) s = write_all(fd, content.data(), content.size(), tmp);
  if (s.ok() && fsync(fd) != 0) s = Status::Error(errno_text(errno) + " syncing " + tmp);
  if (close(fd) != 0 && s.ok()) s = Status::Error(errno_text(errno) + " closing " + tmp);
  if (s.ok() && rename(tmp.c_str(), path.c_str()) != 0)
    s = Status::Error("cannot rename " + tmp + " to " + path + ": " + errno_text(errno));
  if (!s.ok()) unlink(tmp.c_str());
  return s;
}

// `<name>.sha256` beside the package, durably: its own temporary file, rename, folder fsync.
Status write_checksum(const std::string& folder, const std::string& name, const std::string& sha256_hex,
                      uint32_t mode) {
  Status s = write_small_file(folder, name + ".sha256", checksum_line(sha256_hex, name), mode);
  return s.ok() ? fsync_folder(folder) : s;
}

class DirectoryUpload : public Upload {
 public:
  DirectoryUpload(std::string folder, std::string name, std::string temp, int fd, uint32_t mode)
      : folder_(std::move(folder)), name_(std::move(name)), fd_(fd), mode_(mode),
        temp_(std::move(temp)), final_(join_path(folder_, name_)) {}
  ~DirectoryUpload() override {
    if (!done_) abort();
  }

  Status write(const void* data, size_t size) override {
    if (done_) return Status::Error("write to " + temp_ + " after the upload ended");
    return write_all(fd_, data, size, temp_);
  }

  Status commit(const std::string& sha256_hex) override {
    if (done_) return Status::Error("commit of " + temp_ + " after the upload ended");
    Status s = close_durably();
    if (s.ok()) s = rename_no_replace(temp_, final_);
    if (!s.ok()) {
      abort();
      return s;
    }
    done_ = true;
    s = write_checksum(folder_, name_, sha256_hex, mode_);
    if (!s.ok()) return s.context("package " + final_ + " delivered, but its checksum file was not written");
    return s;
  }

  void abort() override {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    if (!done_) unlink(temp_.c_str());
    done_ = true;
  }

  std::string remote_path() const override { return final_; }

 private:
  Status close_durably() {
    Status s;
    if (fsync(fd_) != 0) s = Status::Error(errno_text(errno) + " syncing " + temp_);
    if (close(fd_) != 0 && s.ok()) s = Status::Error(errno_text(errno) + " closing " + temp_);
    fd_ = -1;
    return s;
  }

  std::string folder_, name_;
  int fd_;
  uint32_t mode_;
  std::string temp_, final_;
  bool done_ = false;
};

}  // namespace

DirectoryTarget::DirectoryTarget(std::string path_template, uint32_t file_mode, uint32_t dir_mode)
    : path_template_(std::move(path_template)), file_mode_(file_mode), dir_mode_(dir_mode) {}

Result<std::unique_ptr<Upload>> DirectoryTarget::begin(const std::string& folder, const std::string& name,
                                                       const std::string& attempt) {
  if (Status s = check_folder(folder); !s.ok()) return s;
  if (Status s = check_package_name(name); !s.ok()) return s;
  if (Status s = make_folders(folder, dir_mode_); !s.ok()) return s;
  std::string final_path = join_path(folder, name);
  struct stat st;
  if (lstat(final_path.c_str(), &st) == 0)
    return Status::Error(final_path + " already exists; flisd never overwrites a delivered package");
  std::string temp = join_path(folder, temporary_name(name, attempt));
  if (Status s = remove_if_present(temp); !s.ok()) return s;
  int fd = open(temp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Error("cannot create " + temp + ": " + errno_text(errno));
  if (fchmod(fd, file_mode_) != 0) {
    Status s = Status::Error("cannot set the mode of " + temp + ": " + errno_text(errno));
    close(fd);
    unlink(temp.c_str());
    return s;
  }
  return std::unique_ptr<Upload>(new DirectoryUpload(folder, name, temp, fd, file_mode_));
}

Status DirectoryTarget::remove_temporaries(const std::string& folder, const std::string& name) {
  if (Status s = check_folder(folder); !s.ok()) return s;
  if (Status s = check_package_name(name); !s.ok()) return s;
  DIR* dir = opendir(folder.c_str());
  if (dir == nullptr) {
    if (errno == ENOENT) return Status::OK();
    return Status::Error("cannot list " + folder + " for temporary files: " + errno_text(errno));
  }
  std::vector<std::string> found;
  while (dirent* e = readdir(dir))
    if (is_temporary_of(e->d_name, name)) found.push_back(e->d_name);
  closedir(dir);
  for (const auto& entry : found)
    if (Status s = remove_if_present(join_path(folder, entry)); !s.ok()) return s;
  return Status::OK();
}

Result<std::optional<RemoteFile>> DirectoryTarget::inspect(const std::string& folder, const std::string& name) {
  if (Status s = check_folder(folder); !s.ok()) return s;
  if (Status s = check_package_name(name); !s.ok()) return s;
  if (Status s = remove_if_present(join_path(folder, temporary_name(name))); !s.ok()) return s;
  std::string final_path = join_path(folder, name);
  // Neither name is followed if it is a symbolic link: what flisd delivered is a file it wrote,
  // never whatever a link put there points at.
  struct stat st;
  if (lstat(final_path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<RemoteFile>();
    return Status::Error("cannot examine " + final_path + ": " + errno_text(errno));
  }
  if (!S_ISREG(st.st_mode))
    return Status::Error(final_path + " is not a regular file (a symbolic link?); flisd never delivered it: "
                                      "remove it after checking who put it there");
  RemoteFile remote;
  remote.size = static_cast<uint64_t>(st.st_size);
  std::string sum_path = final_path + ".sha256";
  int fd = open(sum_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno == ELOOP)
    return Status::Error(sum_path + " is a symbolic link; flisd never wrote it: remove it after checking who put "
                                    "it there");
  if (fd >= 0) {
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    std::string line(buf, n > 0 ? static_cast<size_t>(n) : 0);
    size_t end = line.find_first_of(" \t\n");
    if (!line.empty()) remote.sha256 = line.substr(0, end);
  } else if (errno != ENOENT) {
    return Status::Error("cannot read " + sum_path + ": " + errno_text(errno));
  }
  return std::optional<RemoteFile>(remote);
}

Status DirectoryTarget::finish_checksum(const std::string& folder, const std::string& name,
                                        const std::string& sha256_hex) {
  if (Status s = check_folder(folder); !s.ok()) return s;
  if (Status s = check_package_name(name); !s.ok()) return s;
  return write_checksum(folder, name, sha256_hex, file_mode_);
}

}  // namespace flis
