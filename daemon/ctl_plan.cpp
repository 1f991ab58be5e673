// flisctl plan (placeholder until implemented)
#include <cstdio>

#include "daemon/ctl_commands.h"

namespace flis {
void register_plan(CLI::App& app, CommonOptions&, int& result) {
  app.add_subcommand("plan", "the deliveries and their state")->callback([&result] { result = 1; });
}
}  // namespace flis
