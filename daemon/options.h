// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Command-line options shared by flisd and flisctl.
#pragma once

#include <optional>
#include <string>

namespace flis {

struct CommonOptions {
  std::string config_dir = "/etc/flisd";
  std::string log = "auto";           // auto | journal | stderr
  std::optional<std::string> now;     // --now: the clock for --once, plan (tests, what-if)
};

struct DaemonOptions : CommonOptions {
  bool once = false;
  // Several hosts on one PostgreSQL state (docs/guide.md, "Several hosts"): this process's name
  // in the shared state (default: the host name), how long its lease lasts without a renewal, and
  // how often it looks for runs of nodes whose lease ended.
  std::string node;
  int lease_seconds = 30;
  int rescue_seconds = 10;
};

// flisd --once: run everything due now, then exit (0, or 1 if a run failed). daemon/once.cpp
int flisd_once(const DaemonOptions& options);
// flisd as a service: the event loop until SIGTERM. daemon/service.cpp
int flisd_serve(const DaemonOptions& options);

}  // namespace flis
