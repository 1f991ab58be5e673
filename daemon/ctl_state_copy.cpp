// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl state-copy --to URI [--from PATH]: moves an installation's run history from its SQLite
// file into an empty PostgreSQL database, every run with its id, so that the nodes sharing that
// database deliver nothing again. One transaction on the target: all runs or none. Refuses a
// target that already holds runs (a second copy, or the wrong database).
#include <cstdio>
#include <memory>
#include <string>

#include "config/loader.h"
#include "daemon/ctl_commands.h"
#include "daemon/state_store.h"

namespace flis {
namespace {

struct StateCopyOptions {
  std::string to;
  std::string from;  // empty: `state:` of flisd.yaml
};

int run_state_copy(const CommonOptions& common, const StateCopyOptions& opts) {
  std::string from = opts.from;
  if (from.empty()) {
    Config no_orders;
    LoadResult loaded = load_config(common.config_dir, &no_orders);
    if (!loaded.config) {
      std::fprintf(stderr, "flisctl state-copy: cannot find the state database: the configuration in %s has errors "
                           "(flisctl validate), or give it with --from\n",
                   common.config_dir.c_str());
      return 1;
    }
    from = loaded.config->settings.state.string();
  }
  if (is_database_uri(from)) {
    std::fprintf(stderr, "flisctl state-copy: the source %s is already a PostgreSQL database; give the SQLite file "
                         "with --from\n", from.c_str());
    return 2;
  }
  if (!is_database_uri(opts.to)) {
    std::fprintf(stderr, "flisctl state-copy: --to '%s' is not a postgresql:// or postgres:// URI\n", opts.to.c_str());
    return 2;
  }
  if (!StateStore::exists(from)) {
    std::fprintf(stderr, "flisctl state-copy: no state database at %s (nothing to copy)\n", from.c_str());
    return 1;
  }
  // Read-write: an older file is migrated first, so the copy has the current schema's columns.
  auto source = StateStore::open(from);
  if (!source) {
    std::fprintf(stderr, "flisctl state-copy: %s\n", source.message().c_str());
    return 1;
  }
  auto target = StateStore::open(opts.to);
  if (!target) {
    std::fprintf(stderr, "flisctl state-copy: %s\n", target.message().c_str());
    return 1;
  }
  if (Status s = copy_history(**source, **target); !s) {
    std::fprintf(stderr, "flisctl state-copy: nothing copied: %s\n", s.message().c_str());
    return 1;
  }
  auto count = (*target)->count_runs();
  std::printf("copied %lld runs from %s into %s; set `state:` to that URI in flisd.yaml on every node\n",
              static_cast<long long>(count ? *count : 0), from.c_str(), (*target)->location().c_str());
  return 0;
}

}  // namespace

void register_state_copy(CLI::App& app, const CommonOptions& common, int& result) {
  auto opts = std::make_shared<StateCopyOptions>();
  auto* cmd = app.add_subcommand("state-copy", "copy the SQLite run history into an empty PostgreSQL database");
  cmd->add_option("--to", opts->to, "the PostgreSQL database: postgresql://... or postgres://...")->required();
  cmd->add_option("--from", opts->from, "the SQLite state file (default: state: in flisd.yaml)");
  cmd->callback([&common, &result, opts] { result = run_state_copy(common, *opts); });
}

}  // namespace flis
