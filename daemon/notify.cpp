// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// sd_notify glue; see notify.h.
#include "daemon/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

namespace flis::notify {
namespace {

// STATUS= is one line: a newline would end the assignment and start garbage.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void send(const std::string& state) { sd_notify(0, state.c_str()); }

}  // namespace

void ready(const std::string& status) { send("READY=1\nSTATUS=" + one_line(status)); }

void status(const std::string& status) { send("STATUS=" + one_line(status)); }

void reloading() {
  // MONOTONIC_USEC lets newer systemd (Type=notify-reload) match the reload to this message;
  // systemd 252 ignores it.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
  send("RELOADING=1\nSTATUS=reloading configuration\nMONOTONIC_USEC=" + std::to_string(usec));
}

void stopping(const std::string& status) { send("STOPPING=1\nSTATUS=" + one_line(status)); }

void watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) return std::chrono::microseconds(usec);
  return std::nullopt;
}

}  // namespace flis::notify
