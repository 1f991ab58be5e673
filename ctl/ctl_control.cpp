// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl trigger / retry / redeliver / reload: requests to the running flisd over its control
// socket (control_socket.h). Prints the daemon's answer; exit 0 when it did what was asked, 1 when
// it refused or could not, or when flisd is not running.
//
// Which flisd answered is printed first (socket and configuration folder): the socket is found
// from the environment, not from --config, so with --config given and another flisd on the socket
// flisctl warns rather than let "no order X" look like a broken configuration.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>

#include "ctl/ctl_commands.h"
#include "daemon/control_socket.h"
#include "daemon/log.h"

namespace flis {
namespace {

std::string folder(const std::string& dir) {
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(dir), ec);
  return ec ? dir : p.string();
}

// `config_given`: the --config flisctl was given, if any.
int call_and_print(const ControlRequest& request, const std::optional<std::string>& config_given) {
  auto path = control_socket_path();
  auto reply = control_call(path, request);
  if (!reply) {
    std::fprintf(stderr, "flisctl: %s\n", reply.message().c_str());
    return 1;
  }
  // An audit trail of who asked the daemon for what, when flisctl logs to the journal (--log).
  if (log_to_journal())
    log_message(reply->ok ? Priority::notice : Priority::warning,
                "flisctl " + request.cmd + (request.order ? " " + *request.order : "") +
                    (request.period ? " --period " + *request.period : "") +
                    (request.run ? " " + std::to_string(*request.run) : "") + " (uid " + std::to_string(getuid()) +
                    "): " + reply->message);
  FILE* out = reply->ok ? stdout : stderr;
  if (!reply->config.empty()) {
    std::fprintf(out, "flisd at %s (configuration %s):\n", path.c_str(), reply->config.c_str());
    if (config_given && folder(*config_given) != folder(reply->config))
      std::fprintf(stderr,
                   "flisctl: warning: the flisd at %s runs with the configuration in %s, not %s given with "
                   "--config; to reach another flisd set FLISD_CONTROL_SOCKET or RUNTIME_DIRECTORY to its "
                   "socket (folder)\n",
                   path.c_str(), reply->config.c_str(), config_given->c_str());
  }
  if (!reply->message.empty())
    std::fprintf(out, "%s%s\n", reply->ok ? "" : "flisctl: ", reply->message.c_str());
  for (const auto& run : reply->runs)
    std::fprintf(out, "  run %lld  %s  %s  %s\n", static_cast<long long>(run.run), run.order.c_str(),
                 run.period.c_str(), run.status.c_str());
  return reply->ok ? 0 : 1;
}

}  // namespace

void register_control(CLI::App& app, const CommonOptions& common, int& result) {
  // --config only when given: the default /etc/flisd says nothing about which flisd was meant.
  auto given = [&app, &common]() -> std::optional<std::string> {
    if (app.get_option("--config")->count() == 0) return std::nullopt;
    return common.config_dir;
  };
  // Values live as long as the app: CLI11 writes them before the callbacks run.
  auto order = std::make_shared<std::string>();
  auto period = std::make_shared<std::string>();
  auto run = std::make_shared<int64_t>(0);

  auto* trigger = app.add_subcommand("trigger", "ask flisd to check an order now and queue what is due");
  trigger->add_option("ID", *order, "order id")->required();
  trigger->add_option("--period", *period, "queue this period (e.g. 2026-11) if its data is processed");
  trigger->callback([&result, given, order, period] {
    ControlRequest r{"trigger", *order, std::nullopt, std::nullopt};
    if (!period->empty()) r.period = *period;
    result = call_and_print(r, given());
  });

  auto* retry = app.add_subcommand("retry", "queue a failed run again now, with a fresh retry budget");
  retry->add_option("RUN", *run, "run number (from flisctl runs)")->required()->check(CLI::PositiveNumber);
  retry->callback([&result, given, run] {
    result = call_and_print({"retry", std::nullopt, std::nullopt, *run}, given());
  });

  auto* redeliver = app.add_subcommand("redeliver", "deliver an already delivered period again (.r2, .r3 ...)");
  redeliver->add_option("ID", *order, "order id")->required();
  redeliver->add_option("--period", *period, "the period to deliver again, e.g. 2026-11")->required();
  redeliver->callback([&result, given, order, period] {
    result = call_and_print({"redeliver", *order, *period, std::nullopt}, given());
  });

  app.add_subcommand("reload", "ask flisd to re-read its configuration (as systemctl reload flisd)")
      ->callback([&result, given] {
        result = call_and_print({"reload", std::nullopt, std::nullopt, std::nullopt}, given());
      });
}

}  // namespace flis
