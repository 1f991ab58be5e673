// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The packer (jobs/packer.h). Two reads of each warehouse file: the first hashes it for the
// manifest, which must lead the archive; the second streams it through tar and zstd to the target.
// Between the two the file must not change: its size, modification and change times are compared,
// and a reader that finds more or fewer bytes than were hashed fails the run (to be retried), so a
// manifest never describes bytes other than those packed.
#include "jobs/packer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/sha256.h"
#include "jobs/manifest.h"
#include "jobs/tar_stream.h"
#include "jobs/zstd_stream.h"

namespace flis {
namespace fs = std::filesystem;
namespace {

constexpr size_t kBlock = 256 * 1024;  // read and archive block

// What a file looked like when hashed; the pack pass must find it the same.
struct Snapshot {
  uint64_t size = 0;
  timespec mtime{}, ctime{};
  ino_t ino = 0;
};

bool same_time(const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

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

// The first read: size and SHA-256 of one file.
Status hash_file(PackageFile& f, Snapshot& snap, std::vector<char>& buf, const std::atomic<bool>* cancel) {
  auto fd = open_file(f);
  if (!fd.ok()) return fd.status();
  auto st = snapshot(*fd, f);
  Status s = st.status();
  if (s.ok() && st->size != f.size) s = changed_size(f, f.size, st->size);
  Sha256 sha;
  uint64_t seen = 0;
  while (s.ok()) {
    if (is_cancelled(cancel)) {
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
  close(*fd);
  if (!s.ok()) return s;
  snap = *st;
  f.sha256 = sha.hex();
  return Status::OK();
}

// Hashes every file, several at once: with SHA-NI one core hashes at about 1.6 GB/s, and this pass
// is pure overhead before the first compressed byte, so it uses as many threads as compression.
Status hash_files(std::vector<PackageFile>& files, std::vector<Snapshot>& snaps, int threads,
                  const std::atomic<bool>* cancel) {
  snaps.assign(files.size(), Snapshot{});
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  size_t first_error = files.size();
  Status error;
  auto worker = [&] {
    std::vector<char> buf(1 << 20);
    for (size_t i; !failed.load() && (i = next.fetch_add(1)) < files.size();) {
      Status s = hash_file(files[i], snaps[i], buf, cancel);
      if (s.ok()) continue;
      failed = true;
      std::lock_guard<std::mutex> lock(mu);
      if (i < first_error) first_error = i, error = s;  // report the first file in archive order
    }
  };
  size_t n = std::min<size_t>(files.size(), static_cast<size_t>(std::max(1, threads)));
  std::vector<std::thread> pool;
  for (size_t i = 1; i < n; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return error;
}

// The second read: the file into the archive, checked against what was hashed.
Status pack_file(const PackageFile& f, const Snapshot& hashed, TarWriter& tar, std::vector<char>& buf,
                 const std::atomic<bool>* cancel) {
  auto fd = open_file(f);
  if (!fd.ok()) return fd.status();
  auto st = snapshot(*fd, f);
  Status s = st.status();
  if (s.ok() && st->size != hashed.size) s = changed_size(f, hashed.size, st->size);
  if (s.ok() && (st->ino != hashed.ino || !same_time(st->mtime, hashed.mtime) || !same_time(st->ctime, hashed.ctime)))
    s = changed(f, "modified after it was hashed");
  if (s.ok()) s = tar.begin_entry(f.archive_path, f.size, st->mtime.tv_sec);
  uint64_t remaining = f.size;
  while (s.ok() && remaining > 0) {
    if (is_cancelled(cancel)) {
      s = cancelled();
      break;
    }
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
    else if (after.ok() && (!same_time(after->mtime, hashed.mtime) || !same_time(after->ctime, hashed.ctime)))
      s = changed(f, "modified while it was packed");
  }
  close(*fd);
  if (s.ok()) s = tar.finish_entry();
  return s;
}

}  // namespace

std::string package_name(const std::string& order_id, const std::string& period_name, int redelivery) {
  std::string name = order_id + "_" + period_name;
  if (redelivery > 1) name += ".r" + std::to_string(redelivery);
  return name + ".tar.zst";
}

Result<PackResult> build_package(const PackageSpec& spec, Upload& upload, const std::atomic<bool>* cancel) {
  if (spec.order == nullptr) return Status::Error("build_package: no order given");
  const Order& order = *spec.order;
  auto collected = collect_files(spec.warehouse, spec.partitions, order.municipality);
  if (!collected.ok()) return collected.status();
  std::vector<PackageFile>& files = *collected;
  if (spec.after_listing) spec.after_listing();

  std::vector<Snapshot> snaps;
  if (Status s = hash_files(files, snaps, compression_threads(spec.compression), cancel); !s.ok()) return s;
  if (spec.after_hashing) spec.after_hashing();
  auto manifest = make_manifest(order, spec.period, spec.partitions, files, spec.created);
  if (!manifest.ok()) return manifest.status();

  uint64_t input = manifest->size();
  for (const auto& f : files) input += f.size;
  auto zstd = ZstdWriter::open(spec.compression, upload, input);
  if (!zstd.ok()) return zstd.status();
  ZstdWriter& z = **zstd;
  auto tar = TarWriter::open([&z](const void* data, size_t size) { return z.write(data, size); });
  if (!tar.ok()) return tar.status();
  TarWriter& t = **tar;

  Status s = t.begin_entry("manifest.json", manifest->size(), spec.created.time_since_epoch().count());
  if (s.ok()) s = t.write(manifest->data(), manifest->size());
  if (s.ok()) s = t.finish_entry();
  std::vector<char> buf(kBlock);
  PackResult result;
  for (size_t i = 0; s.ok() && i < files.size(); ++i) {
    s = pack_file(files[i], snaps[i], t, buf, cancel);
    result.raw_bytes += files[i].size;
  }
  if (s.ok()) s = t.close();
  if (s.ok()) s = z.finish();
  if (!s.ok()) return s.context("package of order " + order.id + " for " + spec.period.name());
  result.bytes = z.bytes_out();
  result.sha256 = z.sha256_hex();
  result.files = files.size();
  return result;
}

}  // namespace flis
