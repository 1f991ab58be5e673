// flisctl copy (placeholder until implemented)
#include <cstdio>

#include "daemon/ctl_commands.h"

namespace flis {
void register_copy(CLI::App& app, const CommonOptions&, int& result) {
  app.add_subcommand("copy", "copy an order to a new id")->callback([&result] { result = 1; });
}
}  // namespace flis
