// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/sftp_target.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "jobs/ssh_session.h"

namespace flis {

namespace {

using namespace sftp;

// abort() runs after something failed; it must not hold a worker for a full timeout.
constexpr std::chrono::milliseconds kAbortTimeout{5000};

// The naming rules every target shares (jobs/target.h), under this file's short names.
constexpr auto join = join_path;

class SftpTarget final : public DeliveryTarget {
 public:
  SftpTarget(const Target& config, const std::atomic<bool>* cancel, const SftpTargetOptions& options)
      : endpoint_{config.host, config.port, config.user, config.identity, config.known_hosts},
        max_sessions_(config.max_sessions),
        uploads_per_session_(config.uploads_per_session),
        cancel_(cancel),
        options_(options),
        pool_(options.pool ? options.pool : &SessionPool::process()),
        file_mode_(config.file_mode),
        dir_mode_(config.dir_mode) {}

  Result<std::unique_ptr<Upload>> begin(const std::string& folder, const std::string& name,
                                        const std::string& attempt = {}) override;
  Result<std::unique_ptr<Upload>> begin_unless_present(const std::string& folder, const std::string& name,
                                                       const std::string& attempt = {}) override;
  Result<std::optional<RemoteFile>> inspect(const std::string& folder, const std::string& name) override;
  Status finish_checksum(const std::string& folder, const std::string& name, const std::string& sha256_hex) override;
  Status remove_temporaries(const std::string& folder, const std::string& name) override;
  std::string describe() const override {
    return "sftp://" + endpoint_.user + "@" + endpoint_.host + ":" + std::to_string(endpoint_.port);
  }
  // "sftp://flisd@host:22/kommuner/101", for messages ("/~/" marks a path relative to home).
  std::string url(const std::string& path) const {
    return describe() + (path.empty() || path[0] != '/' ? "/~/" : "") + path;
  }
  uint32_t file_mode() const { return file_mode_; }
  const SftpTargetOptions& options() const { return options_; }
  // A second channel on the session `beside` holds (SessionPool::acquire_beside).
  Result<SessionPool::Lease> lease_beside(const SessionPool::Lease& beside) const;

 private:
  // Runs `step` on a leased session; once more on a new session when it failed on a reused one
  // whose connection turned out dead (it died while idle).
  template <typename T, typename Step>
  Result<T> with_session(Step step) const;
  SessionPool::Request request() const;
  Result<SessionPool::Lease> lease() const;
  // `present_ok`: a final name already there is an OK result without an Upload, not an error.
  Result<std::unique_ptr<Upload>> start_upload(SessionPool::Lease& lease, const std::string& folder,
                                               const std::string& name, const std::string& temp,
                                               bool present_ok) const;
  Result<std::optional<RemoteFile>> look(SftpClient& sftp, const std::string& folder, const std::string& name) const;
  Status make_folders(SftpClient& sftp, const std::string& folder) const;
  Status remove_if_present(SftpClient& sftp, const std::string& path) const;

  SshEndpoint endpoint_;
  int max_sessions_;
  int uploads_per_session_;
  const std::atomic<bool>* cancel_;
  SftpTargetOptions options_;
  SessionPool* pool_;
  uint32_t file_mode_, dir_mode_;  // Target::file_mode, dir_mode
};

// Flushes an upload's temporary file to the server's disk while it is being written: FSYNCs on a
// handle of its own, on a second channel of the same session (a second sftp-server process; the
// upload's own server answers in order, so an FSYNC there would hold its WRITEs up). Best effort:
// the commit's own FSYNC is what makes the package durable, so when the session has no room for
// another channel, or anything here fails, the upload goes on without it. Only with
// fsync@openssh.com. Its thread opens the channel, so the upload never waits for that.
class BackgroundSync {
 public:
  // `beside` (the upload's lease) must stay held until this is destroyed.
  BackgroundSync(const SftpTarget& target, const SessionPool::Lease& beside, std::string path)
      : target_(target), beside_(beside), path_(std::move(path)) {
    thread_ = std::thread([this] { run(); });
  }
  // Waits for an FSYNC under way (the disk work it does is work the commit needs anyway), closes
  // the handle and hands the channel back; after abandon(), at once, whatever the server does.
  ~BackgroundSync() {
    stop();
    thread_.join();
  }
  // No more FSYNCs: the one under way finishes and the handle is closed, while the caller goes on.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
  }
  BackgroundSync(const BackgroundSync&) = delete;
  BackgroundSync& operator=(const BackgroundSync&) = delete;

  // Asks for an FSYNC of what the server has now; never waits.
  void request() {
    {
      std::lock_guard lock(mu_);
      wanted_ = true;
    }
    wake_.notify_all();
  }
  // The upload is being aborted, perhaps because the server stalled: nothing more is waited for
  // (abort() stays bounded by its own short timeout), and the channel is closed, not kept.
  void abandon() { abandoned_ = true; }

 private:
  void run() {
    Result<SessionPool::Lease> lease = target_.lease_beside(beside_);
    if (!lease.ok() || !lease->sftp().has_fsync()) return;
    SftpClient& sftp = lease->sftp();
    sftp.set_cancel(&abandoned_);  // the run's own cancel aborts the upload, which abandons this
    Result<std::string> handle = sftp.open(path_, FXF_READ, 0);
    if (!handle.ok()) return;
    for (;;) {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stop_ || wanted_; });
      if (stop_) break;
      wanted_ = false;
      lock.unlock();
      if (!sftp.fsync(*handle).ok()) break;
    }
    // Abandoned, the handle may stay open (the server stalled): the channel is closed rather than
    // kept, and the server's sftp-server with it, so the file's space is not held by this handle.
    if (abandoned_ || sftp.broken() || !sftp.close(*handle).ok()) lease->discard();
  }

  const SftpTarget& target_;
  const SessionPool::Lease& beside_;
  const std::string path_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool wanted_ = false, stop_ = false;
  std::atomic<bool> abandoned_{false};
  std::thread thread_;
};

class SftpUpload final : public Upload {
 public:
  SftpUpload(const SftpTarget& target, SessionPool::Lease lease, std::string handle, const std::string& folder,
             const std::string& name, const std::string& temp)
      : target_(target),
        lease_(std::move(lease)),
        sftp_(lease_.sftp()),
        handle_(std::move(handle)),
        name_(name),
        folder_(folder),
        temp_(temp),
        final_(join_path(folder, name)) {
    buffer_.reserve(sftp_.write_size());
    next_sync_ = target.options().background_sync_from;
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
  Status fail(const std::string& path, const Status& st, const std::string& doing, uint32_t code) {
    bool connection = code == FX_CONNECTION_LOST || sftp_.broken();
    failed_ = Status::Error(target_.url(path) + ": " + st.message() +
                            (connection ? " (while " + doing + ")" : " " + doing));
    return failed_;
  }
  Status fail(const std::string& path, const Status& st, const std::string& doing) {
    return fail(path, st, doing, sftp_.last_code());
  }
  Status commit_package(const std::string& sha256_hex);

  const SftpTarget& target_;
  SessionPool::Lease lease_;
  SftpClient& sftp_;
  std::string handle_;
  std::string name_, folder_, temp_, final_;
  std::string buffer_;  // bytes not yet sent, less than one request
  uint64_t offset_ = 0;
  uint64_t next_sync_ = 0;                  // where to ask for the next background FSYNC; 0: never
  std::unique_ptr<BackgroundSync> syncer_;  // from background_sync_from on, with fsync@openssh.com
  bool handle_open_ = true;
  bool done_ = false;   // committed or aborted
  Status failed_;
};

// The parts of writing `<name>.sha256` (sha256sum's format), like the package: a temporary name,
// then a rename. Errors name the path and what was being done.
struct ChecksumFile {
  const SftpTarget& target;
  SftpClient& sftp;
  std::string content, temp, final_path;

  ChecksumFile(const SftpTarget& t, SftpClient& c, const std::string& folder, const std::string& name,
               const std::string& sha256_hex)
      : target(t),
        sftp(c),
        content(checksum_line(sha256_hex, name)),
        temp(join_path(folder, temporary_name(name + ".sha256"))),
        final_path(join_path(folder, name + ".sha256")) {}

  uint32_t post_open() { return sftp.post_open(temp, FXF_WRITE | FXF_CREAT | FXF_TRUNC, target.file_mode()); }
  Status opened(const Result<std::string>& handle) {
    if (handle.ok()) return Status::OK();
    return Status::Error(target.url(temp) + ": " + handle.message() + " creating the checksum file");
  }
  // Queues the mode (exactly file_mode, whatever the server's umask), content, fsync and close of
  // the open temporary file. Returns the ids to settle().
  struct Ids {
    uint32_t mode, sync, close;
  };
  Ids post_content(const std::string& handle, Status& queued) {
    uint32_t mode = sftp.post_setstat(temp, target.file_mode());
    queued = sftp.write(handle, 0, content.data(), content.size());
    uint32_t sync = sftp.has_fsync() ? sftp.post_fsync(handle) : 0;
    return {mode, sync, sftp.post_close(handle)};
  }
  Status settle(Ids ids, Status queued) {
    Status moded = sftp.status_of(sftp.await(ids.mode));
    if (queued.ok()) queued = moded;
    Status st = queued.ok() ? sftp.wait_writes() : queued;
    Status synced = ids.sync ? sftp.status_of(sftp.await(ids.sync)) : Status::OK();
    Status closed = sftp.status_of(sftp.await(ids.close));
    if (st.ok()) st = synced;
    if (st.ok()) st = closed;
    if (st.ok()) return st;
    if (!sftp.broken()) (void)sftp.remove(temp);
    return Status::Error(target.url(temp) + ": " + st.message() + " writing the checksum file");
  }
  // posix-rename replaces a stale checksum of an earlier attempt atomically; without it the stale
  // file is removed first (and only then, as order across paths is not guaranteed, renamed).
  Status publish() {
    Status st;
    if (sftp.has_posix_rename()) {
      st = sftp.posix_rename(temp, final_path);
    } else {
      (void)sftp.remove(final_path);
      st = sftp.rename(temp, final_path);
    }
    if (st.ok()) return st;
    return Status::Error(target.url(final_path) + ": " + st.message() +
                         " renaming the checksum file to its final name");
  }
  // All of it, three round trips.
  Status put() {
    Result<std::string> handle = sftp.handle_of(sftp.await(post_open()));
    if (Status st = opened(handle); !st.ok()) return st;
    Status queued;
    auto ids = post_content(*handle, queued);
    if (Status st = settle(ids, queued); !st.ok()) return st;
    return publish();
  }
};

// --- SftpTarget ---

SessionPool::Request SftpTarget::request() const {
  SessionPool::Request request;
  request.endpoint = endpoint_;
  request.max_sessions = max_sessions_;
  request.uploads_per_session = uploads_per_session_;
  request.tuning = options_.tuning;
  request.connect_timeout = options_.connect_timeout;
  request.timeout = options_.timeout;
  request.cancel = cancel_;
  return request;
}

Result<SessionPool::Lease> SftpTarget::lease() const {
  Result<SessionPool::Lease> lease = pool_->acquire(request());
  if (!lease.ok()) return lease.status().context(describe());
  return lease;
}

Result<SessionPool::Lease> SftpTarget::lease_beside(const SessionPool::Lease& beside) const {
  return pool_->acquire_beside(beside, request());
}

template <typename T, typename Step>
Result<T> SftpTarget::with_session(Step step) const {
  for (int attempt = 0;; ++attempt) {
    Result<SessionPool::Lease> leased = lease();
    if (!leased.ok()) return leased.status();
    Result<T> done = step(*leased);
    if (done.ok() || attempt > 0 || !leased->reused() || !leased->sftp().broken()) return done;
  }
}

// mkdir -p: each missing component in turn (a child only after its parent exists). "Already
// exists" is accepted only for something that is a folder.
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

Result<std::unique_ptr<Upload>> SftpTarget::begin(const std::string& folder, const std::string& name,
                                                  const std::string& attempt) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_package_name(name); !st.ok()) return st.context(url(folder));
  const std::string temp = join_path(folder, temporary_name(name, attempt));
  return with_session<std::unique_ptr<Upload>>(
      [&](SessionPool::Lease& lease) { return start_upload(lease, folder, name, temp, false); });
}

// One listing of the folder, then the removals pipelined.
Status SftpTarget::remove_temporaries(const std::string& folder, const std::string& name) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_package_name(name); !st.ok()) return st.context(url(folder));
  Result<bool> done = with_session<bool>([&](SessionPool::Lease& lease) -> Result<bool> {
    SftpClient& sftp = lease.sftp();
    Result<std::vector<std::string>> entries = sftp.list(folder);
    if (!entries.ok()) {
      if (sftp.last_code() == FX_NO_SUCH_FILE) return true;
      return Status::Error(url(folder) + ": " + entries.message() + " listing it for temporary files");
    }
    std::vector<std::pair<std::string, uint32_t>> removing;
    for (const auto& entry : *entries)
      if (is_temporary_of(entry, name)) removing.emplace_back(entry, sftp.post_remove(join_path(folder, entry)));
    for (const auto& [entry, id] : removing) {
      Status st = sftp.status_of(sftp.await(id));
      if (!st.ok() && sftp.last_code() != FX_NO_SUCH_FILE)
        return Status::Error(url(join_path(folder, entry)) + ": " + st.message() + " removing a stale temporary file");
    }
    return true;
  });
  return done.status();
}

Result<std::unique_ptr<Upload>> SftpTarget::begin_unless_present(const std::string& folder, const std::string& name,
                                                                 const std::string& attempt) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_package_name(name); !st.ok()) return st.context(url(folder));
  const std::string temp = join_path(folder, temporary_name(name, attempt));
  return with_session<std::unique_ptr<Upload>>(
      [&](SessionPool::Lease& lease) { return start_upload(lease, folder, name, temp, true); });
}

// One round trip in the usual case: the folder's STAT, the final name's STAT, the OPEN of the
// temporary file and its SETSTAT (exactly file_mode, whatever the server's umask did to the OPEN's
// mode) go out together; the server handles them in order, so the SETSTAT finds the file the OPEN
// made. A missing folder is made, then the last three are sent again.
Result<std::unique_ptr<Upload>> SftpTarget::start_upload(SessionPool::Lease& lease, const std::string& folder,
                                                         const std::string& name, const std::string& temp,
                                                         bool present_ok) const {
  SftpClient& sftp = lease.sftp();
  const std::string final_path = join_path(folder, name);
  const uint32_t flags = FXF_WRITE | FXF_CREAT | FXF_TRUNC;
  uint32_t dir_id = sftp.post_stat(folder);
  uint32_t final_id = sftp.post_stat(final_path);
  uint32_t open_id = sftp.post_open(temp, flags, file_mode_);
  uint32_t mode_id = sftp.post_setstat(temp, file_mode_);
  Result<Attrs> dir = sftp.attrs_of(sftp.await(dir_id));
  Result<Attrs> existing = sftp.attrs_of(sftp.await(final_id));
  Result<std::string> handle = sftp.handle_of(sftp.await(open_id));
  Status moded = sftp.status_of(sftp.await(mode_id));
  if (sftp.broken()) {
    Status lost = !dir.ok() ? dir.status() : !existing.ok() ? existing.status() : !handle.ok() ? handle.status() : moded;
    return Status::Error(url(folder) + ": " + lost.message() + " (while preparing the upload)");
  }
  if (!dir.ok() || !dir->is_directory()) {
    if (handle.ok()) (void)sftp.close(*handle);
    if (Status st = make_folders(sftp, folder); !st.ok()) return st;
    final_id = sftp.post_stat(final_path);
    open_id = sftp.post_open(temp, flags, file_mode_);
    mode_id = sftp.post_setstat(temp, file_mode_);
    existing = sftp.attrs_of(sftp.await(final_id));
    handle = sftp.handle_of(sftp.await(open_id));
    moded = sftp.status_of(sftp.await(mode_id));
  }
  auto close_and_remove = [&] {
    if (!handle.ok() || sftp.broken()) return;
    uint32_t closed = sftp.post_close(*handle);
    uint32_t removed = sftp.post_remove(temp);
    (void)sftp.await(closed);
    (void)sftp.await(removed);
  };
  if (existing.ok()) {
    close_and_remove();
    if (present_ok) return std::unique_ptr<Upload>();
    return Status::Error(url(final_path) + ": already exists; flisd never overwrites a delivered package");
  }
  if (!handle.ok() && !sftp.broken()) {
    // A stale temporary file we may not open but may remove (another owner, no write permission).
    if (Status st = remove_if_present(sftp, temp); !st.ok()) return st;
    handle = sftp.open(temp, flags, file_mode_);
    if (handle.ok()) moded = sftp.set_permissions(temp, file_mode_);
  }
  if (!handle.ok()) return Status::Error(url(temp) + ": " + handle.message() + " creating the temporary file");
  if (!moded.ok()) {
    close_and_remove();
    return Status::Error(url(temp) + ": " + moded.message() + " setting the mode of the temporary file");
  }
  return std::unique_ptr<Upload>(new SftpUpload(*this, std::move(lease), std::move(*handle), folder, name, temp));
}

Result<std::optional<RemoteFile>> SftpTarget::inspect(const std::string& folder, const std::string& name) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_package_name(name); !st.ok()) return st.context(url(folder));
  return with_session<std::optional<RemoteFile>>(
      [&](SessionPool::Lease& lease) { return look(lease.sftp(), folder, name); });
}

// One round trip when nothing was delivered (the usual case): the final name's STAT, the removal
// of a stale temporary file and the OPEN of the checksum file go out together; a second reads and
// closes the checksum file when there is one.
Result<std::optional<RemoteFile>> SftpTarget::look(SftpClient& sftp, const std::string& folder,
                                                    const std::string& name) const {
  const std::string final_path = join_path(folder, name);
  const std::string temp = join_path(folder, temporary_name(name));
  const std::string sum_path = final_path + ".sha256";
  uint32_t stat_id = sftp.post_stat(final_path);
  uint32_t remove_id = sftp.post_remove(temp);
  uint32_t open_id = sftp.post_open(sum_path, FXF_READ, 0);
  Result<Attrs> attrs = sftp.attrs_of(sftp.await(stat_id));
  uint32_t stat_code = sftp.last_code();
  Status removed = sftp.status_of(sftp.await(remove_id));
  uint32_t remove_code = sftp.last_code();
  Result<std::string> sum_handle = sftp.handle_of(sftp.await(open_id));
  uint32_t open_code = sftp.last_code();

  std::optional<std::string> sum_text;
  Status read_failed;
  if (sum_handle.ok()) {
    // A checksum line is about 120 bytes: one READ, with the CLOSE right behind it.
    uint32_t read_id = sftp.post_read(*sum_handle, 0, 32 * 1024);
    uint32_t close_id = sftp.post_close(*sum_handle);
    Result<Reply> data = sftp.await(read_id);
    Status closed = sftp.status_of(sftp.await(close_id));
    if (!data.ok()) {
      read_failed = data.status();
    } else if (data->type == FXP_DATA && data->data.find('\n') != std::string::npos) {
      sum_text = data->data;
    } else if (data->type == FXP_STATUS && data->code == FX_EOF) {
      sum_text = "";
    } else {
      // Short, odd or without a line end: read it the careful way.
      Result<std::string> whole = sftp.read_file(sum_path, 4096);
      if (whole.ok()) {
        sum_text = *whole;
      } else {
        read_failed = whole.status();
        open_code = sftp.last_code();
      }
    }
    if (read_failed.ok() && !closed.ok() && sftp.broken()) read_failed = closed;
  } else if (open_code != FX_NO_SUCH_FILE) {
    read_failed = sum_handle.status();
  }

  if (!attrs.ok()) {
    if (stat_code != FX_NO_SUCH_FILE) return Status::Error(url(final_path) + ": " + attrs.message() + " examining it");
    // Nothing delivered; the temporary file an interrupted attempt left is gone with the REMOVE.
  }
  if (!removed.ok() && remove_code != FX_NO_SUCH_FILE) {
    return Status::Error(url(temp) + ": " + removed.message() + " removing a stale temporary file");
  }
  if (!attrs.ok()) return std::optional<RemoteFile>();
  RemoteFile remote;
  remote.size = attrs->size.value_or(0);
  if (!read_failed.ok()) return Status::Error(url(sum_path) + ": " + read_failed.message() + " reading it");
  if (sum_text && !sum_text->empty()) {
    size_t end = sum_text->find_first_of(" \t\n");
    remote.sha256 = sum_text->substr(0, end);
  }
  return std::optional<RemoteFile>(remote);
}

Status SftpTarget::finish_checksum(const std::string& folder, const std::string& name,
                                   const std::string& sha256_hex) {
  if (Status st = check_folder(folder); !st.ok()) return st.context(url(folder));
  if (Status st = check_package_name(name); !st.ok()) return st.context(url(folder));
  Result<bool> done = with_session<bool>([&](SessionPool::Lease& lease) -> Result<bool> {
    if (Status st = ChecksumFile(*this, lease.sftp(), folder, name, sha256_hex).put(); !st.ok()) return st;
    return true;
  });
  return done.status();
}

// --- SftpUpload ---

// What a failed write was doing. OpenSSH reports ENOSPC and EDQUOT as a bare SSH_FX_FAILURE.
std::string writing(uint32_t code) {
  return code == FX_FAILURE ? "writing (the server gives no reason; usually a full disk or quota)" : "writing";
}

Status SftpUpload::flush_buffer() {
  if (buffer_.empty()) return Status::OK();
  Status st = sftp_.write(handle_, offset_, buffer_.data(), buffer_.size());
  if (!st.ok()) return fail(temp_, st, writing(sftp_.last_code()));
  offset_ += buffer_.size();
  buffer_.clear();
  // Without it, 256 MiB wait 0.2 s for the server's disk after the last byte (world.sh --big).
  if (next_sync_ > 0 && offset_ >= next_sync_ && sftp_.has_fsync()) {
    const uint64_t every = target_.options().background_sync_every;
    next_sync_ = every > 0 ? offset_ + every : 0;
    if (syncer_ == nullptr) syncer_ = std::make_unique<BackgroundSync>(target_, lease_, temp_);
    syncer_->request();
  }
  return Status::OK();
}

Status SftpUpload::write(const void* data, size_t size) {
  if (!failed_.ok()) return failed_;
  if (done_) return Status::Error(target_.url(temp_) + ": write after commit or abort");
  const char* p = static_cast<const char*>(data);
  const size_t chunk = sftp_.write_size();
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
  Status st = commit_package(sha256_hex);
  if (done_) lease_.release();  // delivered (or at least renamed): the session is free for others
  return st;
}

Status SftpUpload::commit_package(const std::string& sha256_hex) {
  SftpClient& sftp = sftp_;
  if (Status st = flush_buffer(); !st.ok()) return st;
  // Its last FSYNC and CLOSE overlap round trip 1; it is done before the rename (a server on
  // Windows refuses to rename a file another handle holds open).
  if (syncer_) syncer_->stop();
  ChecksumFile sum(target_, sftp, folder_, name_, sha256_hex);
  // Round trip 1, behind the last writes: the package's FSTAT (its size as the server has it; the
  // handle's requests are answered in order, so after every write), FSYNC and CLOSE; the final
  // name's STAT; and the OPEN of the checksum's temporary file (unless the server allows only one
  // open handle).
  const bool two_handles = sftp.max_open_handles() == 0 || sftp.max_open_handles() >= 2;
  uint32_t fstat_id = sftp.post_fstat(handle_);
  uint32_t sync_id = sftp.has_fsync() ? sftp.post_fsync(handle_) : 0;
  uint32_t close_id = sftp.post_close(handle_);
  uint32_t final_id = sftp.post_stat(final_);
  uint32_t sum_open_id = two_handles ? sum.post_open() : 0;
  Status written = sftp.wait_writes();
  uint32_t write_code = sftp.last_code();
  Result<Attrs> attrs = sftp.attrs_of(sftp.await(fstat_id));
  uint32_t fstat_code = sftp.last_code();
  Status synced = sync_id ? sftp.status_of(sftp.await(sync_id)) : Status::OK();
  uint32_t sync_code = sftp.last_code();
  Status closed = sftp.status_of(sftp.await(close_id));
  uint32_t close_code = sftp.last_code();
  handle_open_ = false;
  Result<Attrs> existing = sftp.attrs_of(sftp.await(final_id));
  Result<std::string> sum_handle = sum_open_id ? sftp.handle_of(sftp.await(sum_open_id))
                                               : Result<std::string>(Status::Error("not opened yet"));
  syncer_.reset();

  Status problem;
  if (!written.ok()) {
    problem = fail(temp_, written, writing(write_code), write_code);
  } else if (!synced.ok()) {
    problem = fail(temp_, synced, "syncing to disk", sync_code);
  } else if (!closed.ok()) {
    problem = fail(temp_, closed, "closing", close_code);
  } else if (!attrs.ok()) {
    problem = fail(temp_, attrs.status(), "checking the uploaded size", fstat_code);
  } else if (attrs->size && *attrs->size != offset_) {
    // A server that dropped bytes without saying so would show here.
    problem = failed_ = Status::Error(target_.url(temp_) + ": has " + std::to_string(*attrs->size) +
                                      " bytes after " + std::to_string(offset_) + " were sent and acknowledged");
  } else if (existing.ok()) {
    problem = failed_ =
        Status::Error(target_.url(final_) + ": already exists; flisd never overwrites a delivered package");
  }
  if (!problem.ok()) {
    if (sum_handle.ok() && !sftp.broken()) {
      uint32_t c = sftp.post_close(*sum_handle);
      uint32_t r = sftp.post_remove(sum.temp);
      (void)sftp.await(c);
      (void)sftp.await(r);
    }
    return problem;
  }

  // Round trip 2: the package's RENAME, and the checksum's content, FSYNC and CLOSE beside it.
  uint32_t rename_id = sftp.post_rename(temp_, final_);
  Status queued;
  ChecksumFile::Ids sum_ids{0, 0, 0};
  if (sum_handle.ok()) sum_ids = sum.post_content(*sum_handle, queued);
  Status renamed = sftp.status_of(sftp.await(rename_id));
  uint32_t rename_code = sftp.last_code();
  Status sum_written = sum_handle.ok() ? sum.settle(sum_ids, queued) : Status::OK();
  if (!renamed.ok()) {
    if (sum_handle.ok() && sum_written.ok() && !sftp.broken()) (void)sftp.remove(sum.temp);
    return fail(final_, renamed, "renaming the upload to its final name", rename_code);
  }
  done_ = true;  // delivered: from here on a failure must not remove anything
  if (two_handles && !sum_handle.ok()) {
    failed_ = sum.opened(sum_handle);
    return failed_;
  }
  // Round trip 3: the checksum under its final name, only now that the package has its own.
  Status st = sum_handle.ok() ? sum_written : sum.put();
  if (st.ok() && sum_handle.ok()) st = sum.publish();
  if (!st.ok()) failed_ = st;
  return st;
}

void SftpUpload::abort() {
  if (done_) return;
  done_ = true;
  if (syncer_) syncer_->abandon();
  syncer_.reset();
  if (!sftp_.broken()) {
    // Cleaning up is wanted even when shutdown cancelled the upload; the short timeout bounds it.
    sftp_.set_timeout(kAbortTimeout);
    sftp_.set_cancel(nullptr);
    if (handle_open_) {
      uint32_t closed = sftp_.post_close(handle_);
      uint32_t removed = sftp_.post_remove(temp_);
      (void)sftp_.wait_writes();
      (void)sftp_.await(closed);
      (void)sftp_.await(removed);
    } else {
      (void)sftp_.remove(temp_);
    }
  }
  // Otherwise the next attempt's begin() or inspect() removes the temporary file.
  handle_open_ = false;
  lease_.release();  // a broken session is closed, a healthy one goes back to the pool
}

}  // namespace

Result<std::unique_ptr<DeliveryTarget>> make_sftp_target(const Target& config, const std::atomic<bool>* cancel,
                                                         SessionPool* pool) {
  SftpTargetOptions options;
  options.timeout = options.connect_timeout = config.timeout;
  options.pool = pool;
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
