// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Logging to journald (structured) or stderr (one readable line per event).
//
// MESSAGE_IDs, one per kind of event, made once with `systemd-id128 new` and never changed, so a
// sysadmin can follow one kind across versions: `journalctl MESSAGE_ID=<id>`.
//
//   started        f33b73e0577d4d63b8aec18c4a692b4b   flisd is up (READY)
//   stopping       6b93dc7595254480a7aea439294c56e1   SIGTERM received, shutting down
//   reload         a60cf98cbf5446619298aadd844b60fe   configuration re-read
//   config_error   868cb9e0e14d47d09bf1c5ab059e0fac   a configuration diagnostic
//   run_waiting    3a9cd0d432314a079cda0eb76bc6c5e5   a run waits for data
//   run_queued     391cac85c6464e57a8b5fc7144889954   a run is due and queued
//   run_started    ff67c34b65bd4229849cbb24df5c7e47   an attempt started
//   run_delivered  38eebf934ca24088a55c728181327766   the package is on the target
//   run_failed     2c630d3d87ac4c88bd72cd52cac5a6ac   an attempt failed
//   run_retried    1551aa3ca5a44834ba33e53acbde635d   a failed run is queued again
//   run_late       fd8a2612af414e7d903d9f5135d85caa   the calendar time passed without the data
//   run_cancelled  ceb9a174e1c44ea9b950d7992a11a69e   a run was cancelled
//   recovered      0ef6bcb4d4a9434c9af47fb9d41591ba   crash recovery settled a run
//   message        f63defd984c242db8ea171b629759d03   anything else
#include "daemon/log.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace flis {
namespace {

struct EventId {
  Event event;
  const char* id;
};

constexpr EventId kMessageIds[] = {
    {Event::started, "f33b73e0577d4d63b8aec18c4a692b4b"},
    {Event::stopping, "6b93dc7595254480a7aea439294c56e1"},
    {Event::reload, "a60cf98cbf5446619298aadd844b60fe"},
    {Event::config_error, "868cb9e0e14d47d09bf1c5ab059e0fac"},
    {Event::run_waiting, "3a9cd0d432314a079cda0eb76bc6c5e5"},
    {Event::run_queued, "391cac85c6464e57a8b5fc7144889954"},
    {Event::run_started, "ff67c34b65bd4229849cbb24df5c7e47"},
    {Event::run_delivered, "38eebf934ca24088a55c728181327766"},
    {Event::run_failed, "2c630d3d87ac4c88bd72cd52cac5a6ac"},
    {Event::run_retried, "1551aa3ca5a44834ba33e53acbde635d"},
    {Event::run_late, "fd8a2612af414e7d903d9f5135d85caa"},
    {Event::run_cancelled, "ceb9a174e1c44ea9b950d7992a11a69e"},
    {Event::recovered, "0ef6bcb4d4a9434c9af47fb9d41591ba"},
    {Event::message, "f63defd984c242db8ea171b629759d03"},
};

// Written once by log_init() before any thread starts; read without a lock afterwards.
std::atomic<bool> g_journal{false};
std::string g_identifier = "flisd";
std::mutex g_stderr_mu;  // one line at a time, never interleaved
StderrSink g_stderr_sink;  // guarded by g_stderr_mu

// systemd sets JOURNAL_STREAM=<dev>:<inode> when stderr is connected to the journal; it may
// still be inherited by a child whose stderr was redirected, so the numbers must match.
bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

std::string field_suffix(const LogFields& f) {
  std::string s;
  auto add = [&s](const char* key, const std::string& value) {
    if (value.empty()) return;
    s += s.empty() ? " (" : ", ";
    s += key;
    s += '=';
    s += value;
  };
  add("order", f.order);
  add("run", f.run);
  add("period", f.period);
  if (f.municipality) add("municipality", std::to_string(f.municipality));
  add("status", f.status);
  if (!s.empty()) s += ')';
  return s;
}

const char* severity_prefix(Priority p) {
  switch (p) {
    case Priority::err: return "error: ";
    case Priority::warning: return "warning: ";
    default: return "";
  }
}

void log_stderr(Priority priority, const LogFields& fields, const std::string& message) {
  std::string line = g_identifier + "[" + std::to_string(getpid()) + "]: " + severity_prefix(priority) +
                     message + field_suffix(fields) + "\n";
  std::lock_guard lock(g_stderr_mu);
  if (g_stderr_sink) {
    g_stderr_sink(priority, line);
    return;
  }
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

// sd_journal_sendv is thread-safe and needs no lock of ours. Returns false when journald did not
// take the entry (no socket), so the caller falls back to stderr rather than lose it.
bool log_journal(Event event, Priority priority, const LogFields& fields, const std::string& message) {
  std::vector<std::string> items;
  items.reserve(10);
  items.push_back("MESSAGE=" + message);
  items.push_back("PRIORITY=" + std::to_string(static_cast<int>(priority)));
  items.push_back("SYSLOG_IDENTIFIER=" + g_identifier);
  items.push_back(std::string("MESSAGE_ID=") + std::string(message_id(event)));
  if (!fields.order.empty()) items.push_back("FLIS_ORDER=" + fields.order);
  if (!fields.run.empty()) items.push_back("FLIS_RUN=" + fields.run);
  if (!fields.period.empty()) items.push_back("FLIS_PERIOD=" + fields.period);
  if (fields.municipality) items.push_back("FLIS_MUNICIPALITY=" + std::to_string(fields.municipality));
  if (!fields.status.empty()) items.push_back("FLIS_STATUS=" + fields.status);
  std::vector<iovec> iov;
  iov.reserve(items.size());
  for (auto& s : items) iov.push_back({s.data(), s.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

}  // namespace

std::optional<LogTarget> parse_log_target(std::string_view s) {
  if (s == "auto") return LogTarget::automatic;
  if (s == "journal") return LogTarget::journal;
  if (s == "stderr") return LogTarget::stderr_only;
  return std::nullopt;
}

std::string_view message_id(Event event) {
  for (const auto& e : kMessageIds)
    if (e.event == event) return e.id;
  return kMessageIds[std::size(kMessageIds) - 1].id;
}

bool log_to_journal() { return g_journal.load(); }

void log_init(LogTarget target, std::string_view identifier) {
  g_identifier = std::string(identifier);
  bool journal = target == LogTarget::journal || (target == LogTarget::automatic && stderr_is_journal());
  g_journal.store(journal);
}

void log_set_stderr_sink(StderrSink sink) {
  std::lock_guard lock(g_stderr_mu);
  g_stderr_sink = std::move(sink);
}

void log_event(Event event, Priority priority, const LogFields& fields, const std::string& message) {
  if (g_journal.load() && log_journal(event, priority, fields, message)) return;
  log_stderr(priority, fields, message);
}

}  // namespace flis
