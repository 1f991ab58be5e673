// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Loading /etc/flisd: flisd.yaml, interfaces.yaml, calendar/*.yaml and orders/*.yaml into a Config,
// validating every rule of the FLIS ordering guide and of the file formats and collecting all errors of all files in one pass.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "config/diagnostics.h"
#include "config/model.h"

namespace flis {

struct LoadResult {
  // The loaded configuration; null when an error makes it unusable. With `last_good` given, a
  // broken order file does not make it unusable: the order's last good version is kept instead
  // (and its errors are still reported), so a running daemon is never taken down by one file.
  std::shared_ptr<const Config> config;
  Diagnostics diagnostics;
};

LoadResult load_config(const std::filesystem::path& dir, const Config* last_good = nullptr);

// The files of a configuration tree by name relative to it ("flisd.yaml", "calendar/2026.yaml",
// "orders/k101.yaml"), with their contents. load_config is read_config_files + load_config_files;
// the split lets `flisctl copy` validate a tree with a file not yet written, and the fuzzer load
// from memory.
using ConfigFiles = std::map<std::string, std::string>;
// Reads flisd.yaml, interfaces.yaml, calendar/*.yaml and orders/*.yaml (hidden files skipped).
// Files that cannot be read are reported in `diagnostics` and left out.
ConfigFiles read_config_files(const std::filesystem::path& dir, Diagnostics& diagnostics);
// load_config on files already read; `read_problems` are the diagnostics of reading them.
LoadResult load_config_files(const std::filesystem::path& dir, const ConfigFiles& files,
                             const Config* last_good = nullptr, const Diagnostics& read_problems = {});

// The id flisd gives the generated datamart order of a municipality (rule 4), e.g. "DM-101".
std::string datamart_order_id(int municipality);

}  // namespace flis
