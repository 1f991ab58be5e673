// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// systemd notification glue (sd_notify): READY, STATUS, RELOADING, STOPPING and the watchdog of a
// Type=notify service. Every call is a no-op when NOTIFY_SOCKET is unset (not under systemd), so
// flisd behaves the same from a shell, in tests and under systemd.
//
// Thread-safety: the functions may be called from any thread; the event loop is the only caller.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace flis::notify {

// Startup done: configuration loaded, crash recovery finished. Also sets STATUS=.
void ready(const std::string& status);
// The STATUS= line shown by `systemctl status`.
void status(const std::string& status);
// Before re-reading the configuration; ready() again when done.
void reloading();
// SIGTERM received: shutting down.
void stopping(const std::string& status);
// WATCHDOG=1: the loop is alive.
void watchdog();
// The interval at which systemd expects WATCHDOG=1 (WatchdogSec=), or nullopt when it does not.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace flis::notify
