// flisctl runs (placeholder until implemented)
#include <cstdio>

#include "daemon/ctl_commands.h"

namespace flis {
void register_runs(CLI::App& app, const CommonOptions&, int& result) {
  app.add_subcommand("runs", "the runs table")->callback([&result] { result = 1; });
}
}  // namespace flis
