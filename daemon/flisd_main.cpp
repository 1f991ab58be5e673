// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd: the FLIS data package daemon. Wires options to the service loop or to --once.
#include <CLI/CLI.hpp>

#include "daemon/log.h"
#include "daemon/options.h"

int main(int argc, char** argv) {
  flis::DaemonOptions options;
  CLI::App app{"flisd - delivers FLIS data packages to Danish municipalities"};
  app.set_version_flag("--version", FLISD_VERSION);
  app.add_option("--config", options.config_dir, "configuration folder")->capture_default_str();
  app.add_option("--log", options.log, "where logs go: auto, journal or stderr")
      ->check(CLI::IsMember({"auto", "journal", "stderr"}))
      ->capture_default_str();
  app.add_flag("--once", options.once, "deliver everything due now, then exit");
  app.add_option("--node", options.node, "this process's name in a shared state database (default: the host name)");
  app.add_option("--lease-seconds", options.lease_seconds,
                 "how long this node's lease lasts without a renewal; renewed every third of it")
      ->check(CLI::Range(3, 3600))
      ->capture_default_str();
  app.add_option("--rescue-seconds", options.rescue_seconds,
                 "how often to take over the runs of nodes whose lease ended")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--now", options.now, "the clock for --once (tests, what-if): 2026-12-04T06:00:00+01:00, ...Z or local 2026-12-04 06:00");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  if (options.now && !options.once) {
    std::fprintf(stderr, "flisd: --now is only allowed with --once\n");
    return 2;
  }
  flis::log_init(*flis::parse_log_target(options.log), "flisd");
  return options.once ? flis::flisd_once(options) : flis::flisd_serve(options);
}
