// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl validate [DIR]: check a configuration tree, for git hooks and CI.
// Diagnostics go to stderr, sorted as a user reads them, with paths as the user named the folder
// (so an editor or CI can jump to them); a one-line summary goes to stdout.
// Exit 0 when clean or only warnings, 1 on errors (2, wrong usage, is CLI11's).
#include <cstdio>
#include <filesystem>
#include <string>

#include "config/loader.h"
#include "ctl/ctl_commands.h"

namespace flis {
namespace {

std::string plural(int n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// "orders/x.yaml" shown as "DIR/orders/x.yaml"; "." is left out, as compilers do.
std::string shown(const std::string& dir, const std::string& file) {
  if (dir == "." || dir == "./" || file.empty() || file.front() == '/' || file == dir) return file;
  return (std::filesystem::path(dir) / file).lexically_normal().string();
}

}  // namespace

int report_validation(const std::string& dir, const LoadResult& r) {
  for (Diagnostic d : r.diagnostics.sorted()) {
    d.pos.file = shown(dir, d.pos.file);
    std::fprintf(stderr, "%s\n", d.str().c_str());
  }
  int errors = r.diagnostics.error_count(), warnings = r.diagnostics.warning_count();
  std::string summary = dir + ": ";
  if (r.config) {
    int generated = 0;
    for (const auto& o : r.config->orders) generated += o.generated ? 1 : 0;
    summary += plural(static_cast<int>(r.config->orders.size()), "order") + " (" + std::to_string(generated) +
               " generated), ";
  }
  summary += plural(warnings, "warning") + ", " + plural(errors, "error");
  std::printf("%s\n", summary.c_str());
  return errors ? 1 : 0;
}

namespace {

int run_validate(const std::string& dir) { return report_validation(dir, load_config(dir)); }

}  // namespace

void register_validate(CLI::App& app, const CommonOptions& common, int& result) {
  auto* cmd = app.add_subcommand("validate", "check a configuration tree (for git hooks and CI)");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("DIR", *dir, "configuration folder (default: --config)");
  cmd->callback([&common, &result, dir] { result = run_validate(dir->empty() ? common.config_dir : *dir); });
}

}  // namespace flis
