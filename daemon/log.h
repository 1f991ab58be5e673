// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Logging: to journald with structured fields and a MESSAGE_ID per kind of event when running
// under systemd, to stderr otherwise. `journalctl -u flisd FLIS_ORDER=ID` tells an
// order's story. Secrets never reach a log line: callers log names and paths, never key material.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace flis {

enum class LogTarget { automatic, journal, stderr_only };
std::optional<LogTarget> parse_log_target(std::string_view);  // "auto" | "journal" | "stderr"

// Decides where logs go. automatic = journal when JOURNAL_STREAM names our stderr (systemd sets it).
void log_init(LogTarget target, std::string_view identifier);
// Whether log_init() chose the journal.
bool log_to_journal();

// The kinds of event, each with its own MESSAGE_ID (see daemon/log.cpp).
enum class Event {
  started, stopping, reload, config_error,
  run_waiting, run_queued, run_started, run_delivered, run_failed, run_retried, run_late, run_cancelled,
  recovered, message,
};

// syslog priorities
enum class Priority { err = 3, warning = 4, notice = 5, info = 6, debug = 7 };

struct LogFields {
  std::string order;
  std::string run;      // run id
  std::string period;
  int municipality = 0;
  std::string status;
};

void log_event(Event event, Priority priority, const LogFields& fields, const std::string& message);

// A display that owns the terminal (flisd --once's progress line, daemon/progress.h) takes the
// lines that would go to stderr, newline included; an empty function gives stderr back.
using StderrSink = std::function<void(Priority, const std::string& line)>;
void log_set_stderr_sink(StderrSink sink);

// The fixed 128-bit MESSAGE_ID of a kind of event, 32 hex digits (journalctl MESSAGE_ID=...).
std::string_view message_id(Event event);
inline void log_message(Priority priority, const std::string& message) {
  log_event(Event::message, priority, {}, message);
}

}  // namespace flis
