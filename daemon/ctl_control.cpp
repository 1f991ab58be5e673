// flisctl control (placeholder until implemented)
#include <cstdio>

#include "daemon/ctl_commands.h"

namespace flis {
void register_control(CLI::App& app, const CommonOptions&, int& result) {
  app.add_subcommand("reload", "reload the daemon")->callback([&result] { result = 1; });
}
}  // namespace flis
