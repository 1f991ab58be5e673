// Loading /etc/flisd: flisd.yaml, interfaces.yaml, calendar/*.yaml and orders/*.yaml into a Config,
// validating every rule of DESIGN.md §1 and §3 and collecting all errors of all files in one pass.
#pragma once

#include <filesystem>
#include <memory>

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

// The id flisd gives the generated datamart order of a municipality (rule 4), e.g. "DM-101".
std::string datamart_order_id(int municipality);

}  // namespace flis
