// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/tar_stream.h"

#include <archive.h>
#include <archive_entry.h>

#include <clocale>
#include <utility>

namespace flis {
namespace {

// libarchive converts names between the locale's character set and the UTF-8 of pax headers. In
// the "C" locale a daemon runs in, a name like "Ærø.csv" cannot be converted and libarchive 3.6
// crashes on it; for the calls that write headers, this thread uses C.UTF-8 (uselocale is
// per-thread, so nothing else in the process is affected).
class Utf8Locale {
 public:
  Utf8Locale() {
    static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (utf8 != static_cast<locale_t>(nullptr)) previous_ = uselocale(utf8);
  }
  ~Utf8Locale() {
    if (previous_ != static_cast<locale_t>(nullptr)) uselocale(previous_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t previous_ = static_cast<locale_t>(nullptr);
};

}  // namespace

TarWriter::TarWriter(Sink sink) : sink_(std::move(sink)) {}

Result<std::unique_ptr<TarWriter>> TarWriter::open(Sink sink) {
  Utf8Locale utf8;
  std::unique_ptr<TarWriter> w(new TarWriter(std::move(sink)));
  w->archive_ = archive_write_new();
  if (w->archive_ == nullptr) return Status::Error("tar: cannot create an archive writer (out of memory)");
  // Block size 0: every header and data write goes straight to the sink, without a copy into
  // libarchive's 10 KiB blocks.
  if (archive_write_set_format_pax_restricted(w->archive_) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(w->archive_, 0) != ARCHIVE_OK ||
      archive_write_open(w->archive_, w.get(), nullptr, &TarWriter::on_write, nullptr) != ARCHIVE_OK)
    return w->failure("cannot start the archive");
  return w;
}

TarWriter::~TarWriter() {
  if (archive_ == nullptr) return;
  // Freeing an open archive writes its trailer; a writer abandoned after an error must not
  // send anything more to the sink.
  closed_ = true;
  archive_write_free(archive_);
}

ssize_t TarWriter::on_write(struct archive*, void* self, const void* data, size_t size) {
  auto* w = static_cast<TarWriter*>(self);
  if (w->closed_ || !w->sink_status_.ok()) return -1;
  w->sink_status_ = w->sink_(data, size);
  return w->sink_status_.ok() ? static_cast<ssize_t>(size) : -1;
}

Status TarWriter::failure(const std::string& what) {
  if (!sink_status_.ok()) return sink_status_;
  const char* detail = archive_ != nullptr ? archive_error_string(archive_) : nullptr;
  return Status::Error("tar: " + what + (detail ? std::string(": ") + detail : std::string()));
}

Status TarWriter::begin_entry(const std::string& path, uint64_t size, std::time_t mtime, int mode) {
  if (remaining_ != 0 || !entry_.empty()) return Status::Error("tar: member " + entry_ + " not finished");
  Utf8Locale utf8;
  struct archive_entry* e = archive_entry_new();
  if (e == nullptr) return Status::Error("tar: out of memory");
  archive_entry_copy_pathname(e, path.c_str());
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, static_cast<mode_t>(mode));
  archive_entry_set_size(e, static_cast<la_int64_t>(size));
  archive_entry_set_mtime(e, mtime, 0);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  int rc = archive_write_header(archive_, e);
  archive_entry_free(e);
  if (rc != ARCHIVE_OK) return failure("cannot write the header of " + path);
  entry_ = path;
  remaining_ = size;
  return Status::OK();
}

Status TarWriter::write(const void* data, size_t size) {
  if (size > remaining_)
    return Status::Error("tar: member " + entry_ + " given more bytes than its header announced");
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    la_ssize_t n = archive_write_data(archive_, p, size);
    if (n <= 0) return failure("cannot write " + entry_);
    p += n;
    size -= static_cast<size_t>(n);
    remaining_ -= static_cast<uint64_t>(n);
  }
  return Status::OK();
}

Status TarWriter::finish_entry() {
  // libarchive would pad a short member with zeros: a silently wrong archive.
  if (remaining_ != 0) return Status::Error("tar: member " + entry_ + " is " + std::to_string(remaining_) + " bytes short");
  if (archive_write_finish_entry(archive_) != ARCHIVE_OK) return failure("cannot finish " + entry_);
  entry_.clear();
  return Status::OK();
}

Status TarWriter::close() {
  if (!entry_.empty()) return Status::Error("tar: member " + entry_ + " not finished");
  if (archive_write_close(archive_) != ARCHIVE_OK) return failure("cannot finish the archive");
  closed_ = true;
  return Status::OK();
}

}  // namespace flis
