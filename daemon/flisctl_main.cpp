// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl: validate and inspect a flisd configuration, and talk to the running daemon.
// Exit codes: 0 success, 1 a failed check or action, 2 wrong usage.
#include <CLI/CLI.hpp>

#include "daemon/ctl_commands.h"
#include "daemon/log.h"

int main(int argc, char** argv) {
  flis::CommonOptions common;
  CLI::App app{"flisctl - validate, plan and inspect FLIS data package deliveries"};
  app.set_version_flag("--version", FLISD_VERSION);
  app.add_option("--config", common.config_dir, "configuration folder")->capture_default_str();
  app.add_option("--log", common.log,
                 "journal: also record each control action (trigger, retry, redeliver, reload) and the "
                 "daemon's answer in the journal; stderr: only print it; auto: journal under systemd")
      ->check(CLI::IsMember({"auto", "journal", "stderr"}))
      ->capture_default_str();
  app.require_subcommand(1);
  // --config and --log may come before or after the subcommand: `flisctl plan --config DIR`.
  app.fallthrough();
  app.parse_complete_callback([&common] { flis::log_init(*flis::parse_log_target(common.log), "flisctl"); });
  int result = 0;
  flis::register_validate(app, common, result);
  flis::register_check(app, common, result);
  flis::register_copy(app, common, result);
  flis::register_plan(app, common, result);
  flis::register_runs(app, common, result);
  flis::register_diff(app, common, result);
  flis::register_state_copy(app, common, result);
  flis::register_control(app, common, result);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return result;
}
