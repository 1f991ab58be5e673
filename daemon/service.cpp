// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd as a service: signals, then the event loop (daemon/event_loop.h) until SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "daemon/control_socket.h"
#include "daemon/delivery.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/options.h"

namespace flis {
namespace {

// Test seam for tests that run several flisd processes (kill -9 or SIGSTOP one mid-upload without
// racing it): with FLISD_TEST_PAUSE_DIR set, a worker whose temporary file is open on the target
// writes <dir>/paused-<pid>-<run id> and waits while <dir>/hold exists (or until cancelled).
// Never set in production.
void install_test_pause() {
  const char* dir = std::getenv("FLISD_TEST_PAUSE_DIR");
  if (dir == nullptr || *dir == '\0') return;
  const std::filesystem::path folder = dir;
  set_delivery_pause_for_tests([folder](const std::atomic<bool>* cancel) {
    std::error_code ec;
    if (!std::filesystem::exists(folder / "hold", ec)) return;
    static std::atomic<int> n{0};
    std::ofstream(folder / ("paused-" + std::to_string(getpid()) + "-" + std::to_string(++n))) << "paused\n";
    while (std::filesystem::exists(folder / "hold", ec) && !(cancel && cancel->load()))
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  });
}

}  // namespace

int flisd_serve(const DaemonOptions& options) {
  // The loop takes these through a signalfd; they must be blocked in every thread, so before the
  // workers start. SIGPIPE: a peer that hangs up is an error value, not a death.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  install_test_pause();
  LoopOptions loop_options;
  loop_options.config_dir = options.config_dir;
  loop_options.control_socket = control_socket_path();
  loop_options.signals = true;
  loop_options.node = options.node.empty() ? host_name() : options.node;
  loop_options.lease = std::chrono::seconds(options.lease_seconds);
  loop_options.rescue_interval = std::chrono::seconds(options.rescue_seconds);
  auto loop = EventLoop::create(std::move(loop_options));
  if (!loop) {
    log_message(Priority::err, "flisd not started: " + loop.message());
    notify::status("failed: " + loop.message());
    return 1;
  }
  return (*loop)->run();
}

}  // namespace flis
