#include "jobs/sftp_target.h"

#include <algorithm>

#include "jobs/ssh_session.h"

namespace flis {

namespace {

using namespace sftp;

// abort() runs after something failed; it must not hold a worker for a full timeout.
constexpr std::chrono::milliseconds kAbortTimeout{5000};

std::string join(const std::string& folder, const std::string& name) {
  if (folder.empty() || folder.back() == '/') return folder + name;
  return folder + "/" + name;
}

Status check_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    return Status::Error("invalid package name '" + name + "'");
  }
  return Status::OK();
}

// One SSH connection with its SFTP session: what one package upload (or one inspect) uses.
struct Connection {
  std::unique_ptr<SshSession> ssh;
  std::unique_ptr<SftpClient> sftp;
};

class SftpTarget final : public DeliveryTarget {
 public:
  SftpTarget(const Target& config, const std::atomic<bool>* cancel, const SftpTargetOptions& options)
      : endpoint_{config.host, config.port, config.user, config.identity, config.known_hosts},
        cancel_(cancel),
        options_(options),
        file_mode_(config.file_mode),
        dir_mode_(config.dir_mode) {}

  Result<std::unique_ptr<Upload>> begin(const std::string& folder, const std::string& name) override;
  Result<std::optional<RemoteFile>> inspect(const std::string& folder, const std::string& name) override;
  Status finish_checksum(const std::string& folder, const std::string& name, const std::string& sha256_hex) override;
  std::string describe() const override {
    return "sftp://" + endpoint_.user + "@" + endpoint_.host + ":" + std::to_string(endpoint_.port);
  }
  // "sftp://flisd@host:22/kommuner/101", for messages ("/~/" marks a path relative to home).
  std::string url(const std::string& path) const {
    return describe() + (path.empty() || path[0] != '/' ? "/~/" : "") + path;
  }
  uint32_t file_mode() const { return file_mode_; }

 private:
  Result<Connection> connect() const;
  Status make_folders(SftpClient& sftp, const std::string& folder) const;
  Status remove_if_present(SftpClient& sftp, const std::string& path) const;

  SshEndpoint endpoint_;
  const std::atomic<bool>* cancel_;
  SftpTargetOptions options_;
  uint32_t file_mode_, dir_mode_;  // Target::file_mode, dir_mode
};

class SftpUpload final : public Upload {
 public:
  SftpUpload(const SftpTarget& target, Connection connection, std::string handle, const std::string& folder,
             const std::string& name)
      : target_(target),
        conn_(std::move(connection)),
        handle_(std::move(handle)),
        name_(name),
        temp_(join(folder, temporary_name(name))),
        final_(join(folder, name)) {
    buffer_.reserve(conn_.sftp->write_size());
  }
  ~SftpUpload() override {
    if (!done_) abort();
  }

  Status write(const void* data, size_t size) override;
  Status commit(const std::string& sha256_hex) override;
  void abort() override;
  std::string remote_path() const override { return final_; }

 private:
  Status flush_buffer();
  // "<url>: permission denied (SSH_FX_PERMISSION_DENIED) writing", or for a failed connection
  // "<url>: connection lost: ... (while writing)". The upload is unusable afterwards.
  Status fail(const std::string& path, const Status& st, const std::string& doing) {
    bool connection = conn_.sftp->last_code() == FX_CONNECTION_LOST;
    failed_ = Status::Error(target_.url(path) + ": " + st.message() +
                            (connection ? " (while " + doing + ")" : " " + doing));
    return failed_;
  }
  Status write_checksum(const std::string& sha256_hex);

  const SftpTarget& target_;
  Connection conn_;
  std::string handle_;
  std::string name_, temp_, final_;
  std::string buffer_;  // bytes not yet sent, less than one request
  uint64_t offset_ = 0;
  bool handle_open_ = true;
  bool done_ = false;   // committed or aborted
  Status failed_;
};

Status put_checksum(const SftpTarget& target, SftpClient& sftp, const std::string& folder, const std::string& name,
                    const std::string& sha256_hex);

// --- SftpTarget ---

Result<Connection> SftpTarget::connect() const {
  Connection c;
  Result<std::unique_ptr<SshSession>> ssh = SshSession::connect(endpoint_, options_.connect_timeout);
  if (!ssh.ok()) return ssh.status().context(describe());
  c.ssh = std::move(*ssh);
  Result<std::unique_ptr<SftpClient>> sftp = SftpClient::start(*c.ssh, options_.tuning, options_.timeout, cancel_);
  if (!sftp.ok()) return sftp.status().context(describe());
  c.sftp = std::move(*sftp);
  return c;
}

// mkdir -p: one STAT when the folder is there (the usual case), else each missing component in
// turn. "Already exists" is accepted only for something that is a folder.
Status SftpTarget::make_folders(SftpClient& sftp, const std::string& folder) const {
  Result<Attrs> whole = sftp.stat(folder);
  if (whole.ok() && whole->is_directory()) return Status::OK();
  std::string prefix = folder[0] == '/' ? "" : ".";
  size_t start = 0;
  while (start < folder.size()) {
    size_t end = std::min(folder.find('/', start), folder.size());
    std::string part = folder.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    prefix = (prefix == "." ? part : prefix + "/" + part);
    Result<Attrs> attrs = sftp.stat(prefix);
    if (attrs.ok()) {
      if (attrs->is_directory()) continue;
      return Status::Error(url(prefix) + ": exists and is not a folder; cannot make " + folder);
    }
    if (sftp.last_code() != FX_NO_SUCH_FILE) return Status::Error(url(prefix) + ": " + attrs.message() + " checking folder");
    Status made = sftp.mkdir(prefix, dir_mode_);
    if (made.ok()) made = sftp.set_permissions(prefix, dir_mode_);
    if (made.ok()) continue;
    Result<Attrs> again = sftp.stat(prefix);  // made meanwhile by another run?
    if (again.ok() && again->is_directory()) continue;
    return Status::Error(url(prefix) + ": " + made.message() + " creating folder");
  }
  return Status::OK();
}

Status SftpTarget::remove_if_present(SftpClient& sftp, const std::string& path) const {
  Status st = sftp.remove(path);
  if (st.ok() || sftp.last_code() == FX_NO_SUCH_FILE) return Status::OK();
  return Status::Error(url(path) + ": " + st.message() + " removing a stale temporary file");
}

Result<std::unique_ptr<Upload>> SftpTarget::begin(const std::string& folder, const std::string& name) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_name(name); !st.ok()) return st.context(url(folder));
  Result<Connection> conn = connect();
  if (!conn.ok()) return conn.status();
  SftpClient& sftp = *conn->sftp;
  if (Status st = make_folders(sftp, folder); !st.ok()) return st;
  std::string final_path = join(folder, name);
  if (Result<Attrs> existing = sftp.stat(final_path); existing.ok()) {
    return Status::Error(url(final_path) + ": already exists; flisd never overwrites a delivered package");
  }
  std::string temp = join(folder, temporary_name(name));
  if (Status st = remove_if_present(sftp, temp); !st.ok()) return st;
  Result<std::string> handle = sftp.open(temp, FXF_WRITE | FXF_CREAT | FXF_TRUNC, file_mode_);
  if (!handle.ok()) return Status::Error(url(temp) + ": " + handle.message() + " creating the temporary file");
  if (Status st = sftp.set_permissions(temp, file_mode_); !st.ok()) {
    (void)sftp.close(*handle);
    (void)sftp.remove(temp);
    return Status::Error(url(temp) + ": " + st.message() + " setting the mode of the temporary file");
  }
  return std::unique_ptr<Upload>(new SftpUpload(*this, std::move(*conn), std::move(*handle), folder, name));
}

Result<std::optional<RemoteFile>> SftpTarget::inspect(const std::string& folder, const std::string& name) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_name(name); !st.ok()) return st.context(url(folder));
  Result<Connection> conn = connect();
  if (!conn.ok()) return conn.status();
  SftpClient& sftp = *conn->sftp;
  std::string final_path = join(folder, name);
  Result<Attrs> attrs = sftp.stat(final_path);
  if (!attrs.ok()) {
    if (sftp.last_code() != FX_NO_SUCH_FILE) return Status::Error(url(final_path) + ": " + attrs.message() + " examining it");
    // Nothing delivered; a temporary file left by an interrupted attempt is of no use.
    if (Status st = remove_if_present(sftp, join(folder, temporary_name(name))); !st.ok()) return st;
    return std::optional<RemoteFile>();
  }
  if (Status st = remove_if_present(sftp, join(folder, temporary_name(name))); !st.ok()) return st;
  RemoteFile remote;
  remote.size = attrs->size.value_or(0);
  std::string sum_path = final_path + ".sha256";
  Result<std::string> sum = sftp.read_file(sum_path, 4096);
  if (sum.ok()) {
    std::string line = *sum;
    size_t end = line.find_first_of(" \t\n");
    if (!line.empty()) remote.sha256 = line.substr(0, end);
  } else if (sftp.last_code() != FX_NO_SUCH_FILE) {
    return Status::Error(url(sum_path) + ": " + sum.message() + " reading it");
  }
  return std::optional<RemoteFile>(remote);
}

Status SftpTarget::finish_checksum(const std::string& folder, const std::string& name,
                                   const std::string& sha256_hex) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_name(name); !st.ok()) return st.context(url(folder));
  Result<Connection> conn = connect();
  if (!conn.ok()) return conn.status();
  return put_checksum(*this, *conn->sftp, folder, name, sha256_hex);
}

// --- SftpUpload ---

// What a failed write was doing. OpenSSH reports ENOSPC and EDQUOT as a bare SSH_FX_FAILURE.
std::string writing(uint32_t code) {
  return code == FX_FAILURE ? "writing (the server gives no reason; usually a full disk or quota)" : "writing";
}

Status SftpUpload::flush_buffer() {
  if (buffer_.empty()) return Status::OK();
  Status st = conn_.sftp->write(handle_, offset_, buffer_.data(), buffer_.size());
  if (!st.ok()) return fail(temp_, st, writing(conn_.sftp->last_code()));
  offset_ += buffer_.size();
  buffer_.clear();
  return Status::OK();
}

Status SftpUpload::write(const void* data, size_t size) {
  if (!failed_.ok()) return failed_;
  if (done_) return Status::Error(target_.url(temp_) + ": write after commit or abort");
  const char* p = static_cast<const char*>(data);
  const size_t chunk = conn_.sftp->write_size();
  while (size > 0) {
    size_t n = std::min(size, chunk - buffer_.size());
    buffer_.append(p, n);
    p += n;
    size -= n;
    if (buffer_.size() == chunk) {
      if (Status st = flush_buffer(); !st.ok()) return st;
    }
  }
  return Status::OK();
}

Status SftpUpload::commit(const std::string& sha256_hex) {
  if (!failed_.ok()) return failed_;
  if (done_) return Status::Error(target_.url(temp_) + ": commit after commit or abort");
  SftpClient& sftp = *conn_.sftp;
  if (Status st = flush_buffer(); !st.ok()) return st;
  if (Status st = sftp.wait_writes(); !st.ok()) return fail(temp_, st, writing(sftp.last_code()));
  if (sftp.has_fsync()) {
    if (Status st = sftp.fsync(handle_); !st.ok()) return fail(temp_, st, "syncing to disk");
  }
  handle_open_ = false;
  if (Status st = sftp.close(handle_); !st.ok()) return fail(temp_, st, "closing");
  // A server that dropped bytes without saying so would show here.
  Result<Attrs> attrs = sftp.stat(temp_);
  if (!attrs.ok()) return fail(temp_, attrs.status(), "checking the uploaded size");
  if (attrs->size && *attrs->size != offset_) {
    failed_ = Status::Error(target_.url(temp_) + ": has " + std::to_string(*attrs->size) + " bytes after " +
                            std::to_string(offset_) + " were sent and acknowledged");
    return failed_;
  }
  if (Result<Attrs> existing = sftp.stat(final_); existing.ok()) {
    failed_ = Status::Error(target_.url(final_) + ": already exists; flisd never overwrites a delivered package");
    return failed_;
  }
  if (Status st = sftp.rename(temp_, final_); !st.ok()) return fail(final_, st, "renaming the upload to its final name");
  done_ = true;  // delivered: from here on a failure must not remove anything
  return write_checksum(sha256_hex);
}

// `<name>.sha256` in sha256sum's format, written like the package: temporary name, then rename.
// posix-rename replaces a stale checksum of an earlier attempt atomically; without it the stale
// file is removed first. Errors name the path and what was being done.
Status put_checksum(const SftpTarget& target, SftpClient& sftp, const std::string& folder, const std::string& name,
                    const std::string& sha256_hex) {
  auto failed = [&](const std::string& path, const Status& st, const std::string& doing) {
    return Status::Error(target.url(path) + ": " + st.message() + " " + doing);
  };
  std::string content = checksum_line(sha256_hex, name);
  std::string sum_final = join(folder, name + ".sha256");
  std::string sum_temp = join(folder, temporary_name(name + ".sha256"));
  Result<std::string> handle = sftp.open(sum_temp, FXF_WRITE | FXF_CREAT | FXF_TRUNC, target.file_mode());
  if (!handle.ok()) return failed(sum_temp, handle.status(), "creating the checksum file");
  Status st = sftp.set_permissions(sum_temp, target.file_mode());
  if (st.ok()) st = sftp.write(*handle, 0, content.data(), content.size());
  if (st.ok() && sftp.has_fsync()) st = sftp.fsync(*handle);
  Status closed = sftp.close(*handle);
  if (st.ok()) st = closed;
  if (!st.ok()) {
    (void)sftp.remove(sum_temp);
    return failed(sum_temp, st, "writing the checksum file");
  }
  if (sftp.has_posix_rename()) {
    st = sftp.posix_rename(sum_temp, sum_final);
  } else {
    (void)sftp.remove(sum_final);
    st = sftp.rename(sum_temp, sum_final);
  }
  if (!st.ok()) return failed(sum_final, st, "renaming the checksum file to its final name");
  return Status::OK();
}

Status SftpUpload::write_checksum(const std::string& sha256_hex) {
  std::string folder = final_.substr(0, final_.size() - name_.size());
  Status st = put_checksum(target_, *conn_.sftp, folder, name_, sha256_hex);
  if (!st.ok()) failed_ = st;
  return st;
}

void SftpUpload::abort() {
  if (done_) return;
  done_ = true;
  SftpClient& sftp = *conn_.sftp;
  if (sftp.broken()) return;  // the next attempt's begin() removes the temporary file
  // Cleaning up is wanted even when shutdown cancelled the upload; the short timeout bounds it.
  sftp.set_timeout(kAbortTimeout);
  sftp.set_cancel(nullptr);
  if (handle_open_) (void)sftp.close(handle_);
  handle_open_ = false;
  (void)sftp.remove(temp_);
}

}  // namespace

Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel) {
  SftpTargetOptions options;
  options.timeout = options.connect_timeout = config.timeout;
  return make_sftp_target(config, cancel, options);
}

Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel,
                                                         const SftpTargetOptions& options) {
  std::string where = "sftp target '" + config.name + "'";
  if (config.host.empty()) return Status::Error(where + ": no host");
  if (config.user.empty()) return Status::Error(where + ": no user");
  if (config.port <= 0 || config.port > 65535) return Status::Error(where + ": invalid port " + std::to_string(config.port));
  if (config.identity.empty()) return Status::Error(where + ": no identity (private key file)");
  if (config.known_hosts.empty()) return Status::Error(where + ": no known_hosts file");
  return std::unique_ptr<DeliveryTarget>(new SftpTarget(config, cancel, options));
}

}  // namespace flis
