// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd --once on a terminal: one line that updates in place ("packages done/due, bytes, rate")
// instead of a log line per run transition, then a closing summary line.
//
// Shown only when stderr is a terminal and logs do not go to the journal; otherwise every method
// does nothing and the log lines are written exactly as before (systemd, cron, pipes, tests).
// While it is shown, info and notice log lines are held back (the line says what they would);
// warnings and errors still appear, above the line.
//
// Thread-safety: one thread (flisd --once's loop) calls it; the log hook it installs may be called
// from any thread and takes the same lock as the drawing.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "daemon/state_store.h"

namespace flis {

class Progress {
 public:
  // Shows the line when `enabled` (use Progress::wanted()); width is the terminal's, 0 = ask it.
  explicit Progress(bool enabled, int width = 0);
  ~Progress();  // gives stderr back to the log
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // stderr is a terminal and the log goes there (not to the journal).
  static bool wanted();

  bool shown() const { return enabled_; }
  // A refresh queued `queued` runs: the total due is what is done plus those.
  void queued(int queued);
  // A run starts: the line names it.
  void started(const std::string& title);
  // Run `id`'s attempt ended in `status` (its size is read back from the store when delivered;
  // cancelled is no longer due).
  void finished(StateStore& store, int64_t id, RunStatus status);
  // Clears the line and prints "delivered N packages, B in T (R/s)"; call before the final summary.
  void done();

 private:
  void draw(bool force);
  void write_line(const std::string& text);
  std::string status_text() const;

  bool enabled_;
  int width_;
  std::mutex mu_;
  int done_ = 0, failed_ = 0, due_ = 0;
  int64_t bytes_ = 0;
  std::string current_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace flis
