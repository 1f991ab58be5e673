// flisctl validate (placeholder until implemented)
#include <cstdio>

#include "daemon/ctl_commands.h"

namespace flis {
void register_validate(CLI::App& app, const CommonOptions&, int& result) {
  app.add_subcommand("validate", "check a configuration tree")->callback([&result] {
    std::fprintf(stderr, "flisctl validate: not implemented yet\n");
    result = 1;
  });
}
}  // namespace flis
