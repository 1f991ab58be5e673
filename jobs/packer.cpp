// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The packer (jobs/packer.h). Two reads of each warehouse file, side by side: one hashes it for the
// manifest, which must lead the archive; the other streams it through tar and zstd to the target.
// The hashing read is far faster than compression, so it runs ahead on threads of its own while
// the archive is compressed; the compressed bytes wait (up to kHold) until the manifest's frame is
// written in front of them. The file must not change while either reads it: its inode, size,
// modification and change times when each read opens it and when each ends must all be the same,
// and a reader that finds more or fewer bytes than listed fails the run (to be retried), so a
// manifest never describes bytes other than those packed.
#include "jobs/packer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/sha256.h"
#include "jobs/manifest.h"
#include "jobs/package_stream.h"
#include "jobs/tar_stream.h"
#include "jobs/zstd_stream.h"

namespace flis {
namespace fs = std::filesystem;
namespace {

constexpr size_t kBlock = 256 * 1024;  // read and archive block

// A read buffer for `files`: kBlock, or less when every file is smaller (a daily package's 16 KiB
// file needs no 256 KiB of fresh pages).
std::vector<char> read_buffer(const std::vector<PackageFile>& files) {
  uint64_t largest = 0;
  for (const auto& f : files) largest = std::max(largest, f.size);
  return std::vector<char>(static_cast<size_t>(std::clamp<uint64_t>(largest + 1, 4096, kBlock)));
}
// Compressed bytes held until the manifest leads them (about 8 MiB of CSV); when full, compression
// waits for the hashes. Part of the package's memory budget: each MiB here is about a MiB of
// peak RSS (bench/world.sh --csv: 38 MiB with 3 MiB, 40-43 MiB with 6).
constexpr size_t kHold = 3 << 20;

// What a file looked like to one read, when it opened the file and when it finished.
struct Snapshot {
  uint64_t size = 0;
  timespec mtime{}, ctime{};
  ino_t ino = 0;
};
struct Read {
  Snapshot open, end;
  bool done = false;
};

bool same_time(const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }
bool same(const Snapshot& a, const Snapshot& b) {
  return a.size == b.size && a.ino == b.ino && same_time(a.mtime, b.mtime) && same_time(a.ctime, b.ctime);
}

Status changed(const PackageFile& f, const std::string& how) {
  return Status::Error("warehouse file changed while being packed: " + f.source.string() + " (" + how +
                       "); the run will be retried");
}

Status changed_size(const PackageFile& f, uint64_t before, uint64_t now) {
  return changed(f, "size " + std::to_string(before) + " -> " + std::to_string(now));
}

Status unreadable(const PackageFile& f, int err) {
  return Status::Error("cannot read warehouse file " + f.source.string() + ": " + std::strerror(err));
}

Status cancelled() { return Status::Error("package build cancelled: flisd is stopping; the run stays queued"); }

bool is_cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }

// Every open goes through open_package_file (collect.h): beneath the warehouse root descriptor,
// no symbolic link, and the municipality folder and file must be the ones listed.
Result<int> open_file(const PackageFile& f) {
  auto fd = open_package_file(f);
  if (fd.ok()) posix_fadvise(*fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return fd;
}

Result<Snapshot> snapshot(int fd, const PackageFile& f) {
  struct stat st;
  if (fstat(fd, &st) != 0) return unreadable(f, errno);
  if (!S_ISREG(st.st_mode)) return Status::Error("refusing warehouse file " + f.source.string() + ": no longer a regular file");
  return Snapshot{static_cast<uint64_t>(st.st_size), st.st_mtim, st.st_ctim, st.st_ino};
}

ssize_t read_some(int fd, char* buf, size_t size) {
  for (;;) {
    ssize_t n = read(fd, buf, size);
    if (n >= 0 || errno != EINTR) return n;
  }
}

// The two reads of one file saw the same file, unchanged from the first opening to the last end.
Status check_reads(const PackageFile& f, const Read& hashed, const Read& packed) {
  for (const Snapshot* s : {&hashed.open, &hashed.end, &packed.open, &packed.end})
    if (s->size != f.size) return changed_size(f, f.size, s->size);
  if (!same(hashed.open, hashed.end) || !same(packed.open, packed.end) || !same(hashed.open, packed.open))
    return changed(f, "modified while it was read");
  return Status::OK();
}

// The hashing read: size and SHA-256 of one file.
Status hash_file(PackageFile& f, Read& read, std::vector<char>& buf, const std::function<bool()>& stop) {
  auto fd = open_file(f);
  if (!fd.ok()) return fd.status();
  auto st = snapshot(*fd, f);
  Status s = st.status();
  if (s.ok() && st->size != f.size) s = changed_size(f, f.size, st->size);
  Sha256 sha;
  uint64_t seen = 0;
  while (s.ok()) {
    if (stop()) {
      s = cancelled();
      break;
    }
    ssize_t n = read_some(*fd, buf.data(), buf.size());
    if (n < 0) s = unreadable(f, errno);
    if (n <= 0) break;
    sha.update(buf.data(), static_cast<size_t>(n));
    seen += static_cast<uint64_t>(n);
  }
  if (s.ok() && seen != f.size) s = changed_size(f, f.size, seen);
  Result<Snapshot> end = s.ok() ? snapshot(*fd, f) : Result<Snapshot>(s);
  close(*fd);
  if (!end.ok()) return end.status();
  read.open = *st;
  read.end = *end;
  f.sha256 = sha.hex();
  return Status::OK();
}

// The archive's read: the file into the tar, as it is now; check_reads() compares it with the
// hashing read.
Status pack_file(const PackageFile& f, Read& read, TarWriter& tar, std::vector<char>& buf,
                 const std::function<Status()>& check) {
  auto fd = open_file(f);
  if (!fd.ok()) return fd.status();
  auto st = snapshot(*fd, f);
  Status s = st.status();
  if (s.ok() && st->size != f.size) s = changed_size(f, f.size, st->size);
  if (s.ok()) s = tar.begin_entry(f.archive_path, f.size, st->mtime.tv_sec);
  uint64_t remaining = f.size;
  while (s.ok() && remaining > 0) {
    if (s = check(); !s.ok()) break;
    ssize_t n = read_some(*fd, buf.data(), std::min<uint64_t>(buf.size(), remaining));
    if (n < 0) s = unreadable(f, errno);
    else if (n == 0) s = changed_size(f, f.size, f.size - remaining);
    else {
      remaining -= static_cast<uint64_t>(n);
      s = tar.write(buf.data(), static_cast<size_t>(n));
    }
  }
  // A file that grew, or was rewritten in place while read, no longer matches its manifest line.
  char extra;
  if (s.ok()) {
    ssize_t n = read_some(*fd, &extra, 1);
    auto after = snapshot(*fd, f);
    if (n > 0 || (after.ok() && after->size != f.size)) s = changed_size(f, f.size, after.ok() ? after->size : f.size + 1);
    else if (!after.ok()) s = after.status();
    else {
      read.open = *st;
      read.end = *after;
      read.done = true;
    }
  }
  close(*fd);
  if (s.ok()) s = tar.finish_entry();
  return s;
}

// The manifest's tar member (header, content, padding; the archive's end comes with the files)
// as a zstd frame of its own.
Result<std::string> manifest_frame(const std::string& manifest, const Compression& c, Instant created) {
  std::string frame;
  auto z = ZstdWriter::open(Compression{c.level, 1}, [&frame](const char* d, size_t n) {
    frame.append(d, n);
    return Status::OK();
  }, manifest.size() + 1024, 64 * 1024);
  if (!z.ok()) return z.status();
  auto tar = TarWriter::open([&z](const void* d, size_t n) { return (*z)->write(d, n); });
  if (!tar.ok()) return tar.status();
  Status s = (*tar)->begin_entry("manifest.json", manifest.size(), created.time_since_epoch().count());
  if (s.ok()) s = (*tar)->write(manifest.data(), manifest.size());
  if (s.ok()) s = (*tar)->finish_entry();
  if (s.ok()) s = (*z)->finish();  // the tar writer is dropped unclosed: no end-of-archive here
  if (!s.ok()) return s;
  return frame;
}

}  // namespace

// The hashing read of every file, on threads of its own (with SHA-NI one core hashes about
// 1.6 GB/s, several times what compression takes in), in archive order. The archive's side asks
// done() as it goes and waits() when it must have the hashes.
class HashPass {
 public:
  HashPass(std::vector<PackageFile>& files, int threads, const std::atomic<bool>* cancel,
           std::function<void()> after_hashing)
      : files_(files), reads_(files.size()), cancel_(cancel), after_hashing_(std::move(after_hashing)) {
    size_t n = std::clamp<size_t>(files.size(), 1, static_cast<size_t>(std::max(1, threads)));
    remaining_ = n;
    for (size_t i = 0; i < n; ++i) pool_.emplace_back([this] { work(); });
  }
  ~HashPass() {
    stop_ = true;
    for (auto& t : pool_) t.join();
  }
  HashPass(const HashPass&) = delete;
  HashPass& operator=(const HashPass&) = delete;

  bool done() const { return done_.load(std::memory_order_acquire); }
  // Waits for every hash; the first error in archive order, if any.
  Status wait() {
    std::unique_lock lock(mu_);
    finished_.wait(lock, [this] { return done(); });
    return error_;
  }
  // When done(): the failure, if any, without waiting.
  Status status() {
    std::lock_guard lock(mu_);
    return error_;
  }
  const Read& read(size_t i) const { return reads_[i]; }

 private:
  void work() {
    std::vector<char> buf = read_buffer(files_);
    auto stop = [this] { return stop_.load(std::memory_order_relaxed) || is_cancelled(cancel_); };
    for (size_t i; !failed_.load() && (i = next_.fetch_add(1)) < files_.size();) {
      Status s = hash_file(files_[i], reads_[i], buf, stop);
      if (s.ok()) continue;
      failed_ = true;
      std::lock_guard lock(mu_);
      if (i < first_error_) first_error_ = i, error_ = s;  // report the first file in archive order
    }
    std::unique_lock lock(mu_);
    if (--remaining_ > 0) return;
    if (error_.ok() && after_hashing_) {
      lock.unlock();
      after_hashing_();
      lock.lock();
    }
    done_.store(true, std::memory_order_release);
    finished_.notify_all();
  }

  std::vector<PackageFile>& files_;
  std::vector<Read> reads_;
  const std::atomic<bool>* cancel_;
  std::function<void()> after_hashing_;
  std::atomic<size_t> next_{0};
  std::atomic<bool> failed_{false}, stop_{false}, done_{false};
  std::mutex mu_;
  std::condition_variable finished_;
  size_t remaining_ = 0;
  size_t first_error_ = SIZE_MAX;
  Status error_;
  std::vector<std::thread> pool_;
};

std::string package_name(const std::string& order_id, const std::string& period_name, int redelivery) {
  std::string name = order_id + "_" + period_name;
  if (redelivery > 1) name += ".r" + std::to_string(redelivery);
  return name + ".tar.zst";
}

PackageSource::PackageSource(const PackageSpec& spec, const std::atomic<bool>* cancel, std::vector<PackageFile> files)
    : spec_(spec), cancel_(cancel), files_(std::move(files)) {}

PackageSource::~PackageSource() = default;

Result<std::unique_ptr<PackageSource>> PackageSource::start(const PackageSpec& spec, const std::atomic<bool>* cancel) {
  if (spec.order == nullptr) return Status::Error("build_package: no order given");
  auto collected = collect_files(spec.warehouse, spec.partitions, spec.order->municipality);
  if (!collected.ok()) return collected.status();
  std::unique_ptr<PackageSource> source(new PackageSource(spec, cancel, std::move(*collected)));
  if (spec.after_listing) spec.after_listing();
  source->hashes_ = std::make_unique<HashPass>(source->files_, compression_threads(spec.compression), cancel,
                                               spec.after_hashing);
  return source;
}

Result<PackResult> build_package(const PackageSpec& spec, Upload& upload, const std::atomic<bool>* cancel) {
  auto source = PackageSource::start(spec, cancel);
  if (!source.ok()) return source.status();
  return build_package(**source, upload);
}

Result<PackResult> build_package(PackageSource& source, Upload& upload) {
  if (!source.hashes_) return Status::Error("internal error: a package source was built twice");
  const PackageSpec& spec = source.spec_;
  const Order& order = *spec.order;
  const std::atomic<bool>* cancel = source.cancel_;
  std::vector<PackageFile>& files = source.files_;

  uint64_t input = 1024;
  for (const auto& f : files) input += f.size + 1024;
  PackageStream out(upload, kHold);
  std::vector<Read> packed(files.size());
  size_t checked = 0;  // files before this one had both their reads compared (packed in order)
  PackResult result;
  Status s;
  {
    // Joined (hashing stopped) at the end of this block, whatever happened.
    std::unique_ptr<HashPass> owned = std::move(source.hashes_);
    HashPass& hashes = *owned;
    auto check_packed = [&]() -> Status {
      for (; checked < files.size() && packed[checked].done; ++checked)
        if (Status c = check_reads(files[checked], hashes.read(checked), packed[checked]); !c.ok()) return c;
      return Status::OK();
    };
    // Once every file is hashed: the manifest's frame in front of what was held.
    auto release = [&]() -> Status {
      if (Status h = hashes.wait(); !h.ok()) return h;
      if (is_cancelled(cancel)) return cancelled();
      if (Status c = check_packed(); !c.ok()) return c;
      auto manifest = make_manifest(order, spec.period, spec.partitions, files, spec.created);
      if (!manifest.ok()) return manifest.status();
      auto frame = manifest_frame(*manifest, spec.compression, spec.created);
      if (!frame.ok()) return frame.status();
      return out.release(*frame);
    };
    auto sink = [&](const char* data, size_t size) -> Status {
      if (!out.released() && (hashes.done() || !out.can_hold(size)))
        if (Status r = release(); !r.ok()) return r;
      return out.files(data, size);
    };
    // Stops the archive early when the hashing read failed or flisd is stopping.
    auto check = [&]() -> Status {
      if (is_cancelled(cancel)) return cancelled();
      if (hashes.done()) return hashes.status();
      return Status::OK();
    };

    auto zstd = ZstdWriter::open(spec.compression, sink, input);
    if (!zstd.ok()) return zstd.status();
    ZstdWriter& z = **zstd;
    auto tar = TarWriter::open([&z](const void* data, size_t size) { return z.write(data, size); });
    if (!tar.ok()) return tar.status();
    TarWriter& t = **tar;
    if (spec.before_packing) spec.before_packing();
    std::vector<char> buf = read_buffer(files);
    for (size_t i = 0; s.ok() && i < files.size(); ++i) {
      s = pack_file(files[i], packed[i], t, buf, check);
      result.raw_bytes += files[i].size;
      if (s.ok() && hashes.done()) s = hashes.status();
      if (s.ok() && hashes.done()) s = check_packed();
    }
    if (s.ok()) s = t.close();
    if (s.ok()) s = z.finish();
    if (s.ok() && !out.released()) s = release();
    if (s.ok()) s = check_packed();
    // A failure of the hashing read is the cause of whatever stopped the archive.
    if (!s.ok() && hashes.done() && !hashes.status().ok()) s = hashes.status();
  }
  if (s.ok()) s = out.finish();
  if (!s.ok()) return s.context("package of order " + order.id + " for " + spec.period.name());
  result.bytes = out.bytes_out();
  result.sha256 = out.sha256_hex();
  result.files = files.size();
  return result;
}

}  // namespace flis
