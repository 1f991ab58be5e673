// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd as a service: signals, then the event loop (daemon/event_loop.h) until SIGTERM.
#include <signal.h>

#include "daemon/control_socket.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "daemon/notify.h"
#include "daemon/options.h"

namespace flis {

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

  LoopOptions loop_options;
  loop_options.config_dir = options.config_dir;
  loop_options.control_socket = control_socket_path();
  loop_options.signals = true;
  auto loop = EventLoop::create(std::move(loop_options));
  if (!loop) {
    log_message(Priority::err, "flisd not started: " + loop.message());
    notify::status("failed: " + loop.message());
    return 1;
  }
  return (*loop)->run();
}

}  // namespace flis
