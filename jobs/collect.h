// Collecting the warehouse files of one municipality for a package. Only
// <partition>/<municipality>/ is ever read; symlinks and anything that would leave that folder are
// refused, so a package can never contain another municipality's data.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/status.h"

namespace flis {

struct PackageFile {
  std::filesystem::path source;  // absolute path in the warehouse
  std::string archive_path;      // <SOURCE>/<INTERFACE>/<partition>/<relative file path>
  uint64_t size = 0;
  std::string sha256;            // hex; filled by the packer's first read
};

// Regular files under each partition's municipality folder, sorted by archive path. A partition
// without that folder contributes nothing (the municipality had no data that period).
Result<std::vector<PackageFile>> collect_files(const std::filesystem::path& warehouse,
                                               const std::vector<Partition>& partitions, int municipality);

}  // namespace flis
