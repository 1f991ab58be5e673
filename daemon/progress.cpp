// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "daemon/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include "daemon/log.h"
#include "daemon/run_format.h"

namespace flis {
namespace {

using Steady = std::chrono::steady_clock;
// Redrawn at most this often: thousands of small packages must not flood the terminal.
constexpr auto kRedraw = std::chrono::milliseconds(100);

int terminal_width() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

std::string seconds_text(double s) {
  char buf[32];
  if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", s);
  else std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  return buf;
}

std::string rate_text(int64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  return human_bytes(static_cast<uint64_t>(static_cast<double>(bytes) / seconds)) + "/s";
}

}  // namespace

bool Progress::wanted() { return isatty(STDERR_FILENO) == 1 && !log_to_journal(); }

Progress::Progress(bool enabled, int width)
    : enabled_(enabled), width_(width), start_(Steady::now()), last_draw_(start_ - kRedraw) {
  if (!enabled_) return;
  if (width_ <= 0) width_ = terminal_width();
  // Info and notice lines are what the progress line sums up; warnings and errors are news.
  log_set_stderr_sink([this](Priority priority, const std::string& line) {
    if (priority > Priority::warning) return;
    std::lock_guard lock(mu_);
    if (drawn_) std::fputs("\r\033[K", stderr);
    std::fwrite(line.data(), 1, line.size(), stderr);
    drawn_ = false;
    draw(true);
  });
}

Progress::~Progress() {
  if (enabled_) log_set_stderr_sink(nullptr);
}

void Progress::queued(int queued) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  due_ = done_ + failed_ + queued;
  draw(true);
}

void Progress::started(const std::string& title) {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  current_ = title;
  draw(false);
}

void Progress::finished(StateStore& store, int64_t id, RunStatus status) {
  if (!enabled_) return;
  int64_t bytes = 0;
  if (status == RunStatus::delivered)
    if (auto run = store.get(id); run && run->has_value()) bytes = (*run)->bytes;
  std::lock_guard lock(mu_);
  if (status == RunStatus::delivered) {
    ++done_;
    bytes_ += bytes;
  } else if (status == RunStatus::cancelled) {
    --due_;
  } else {
    ++failed_;
  }
  current_.clear();
  draw(false);
}

void Progress::done() {
  if (!enabled_) return;
  std::lock_guard lock(mu_);
  if (drawn_) std::fputs("\r\033[K", stderr);
  drawn_ = false;
  double seconds = std::chrono::duration<double>(Steady::now() - start_).count();
  std::fprintf(stderr, "flisd --once: delivered %d package%s, %s in %s (%s)\n", done_, done_ == 1 ? "" : "s",
               human_bytes(static_cast<uint64_t>(bytes_)).c_str(), seconds_text(seconds).c_str(),
               rate_text(bytes_, seconds).c_str());
  std::fflush(stderr);
}

std::string Progress::status_text() const {
  double seconds = std::chrono::duration<double>(Steady::now() - start_).count();
  std::string s = "packages " + std::to_string(done_) + "/" + std::to_string(due_);
  if (failed_) s += " (" + std::to_string(failed_) + " failed)";
  s += ", " + human_bytes(static_cast<uint64_t>(bytes_)) + ", " + rate_text(bytes_, seconds);
  if (!current_.empty()) s += "  " + current_;
  return s;
}

// Caller holds mu_.
void Progress::draw(bool force) {
  auto now = Steady::now();
  if (!force && now - last_draw_ < kRedraw) return;
  last_draw_ = now;
  std::string text = status_text();
  // One terminal row: a line that wraps could not be redrawn in place.
  if (static_cast<int>(text.size()) >= width_) text.resize(width_ > 1 ? width_ - 1 : 0);
  write_line(text);
}

void Progress::write_line(const std::string& text) {
  std::fputs("\r\033[K", stderr);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace flis
