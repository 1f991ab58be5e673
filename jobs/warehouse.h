// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The FLIS warehouse layout, in one place: which partitions a period of an order needs, where each
// partition and each municipality's folder in it lies, the `_PROCESSED` marker, listing the
// partitions of an interface, and reading a warehouse path back into the partition it names.
//   <warehouse>/<SOURCE>/<INTERFACE>/<partition>/<municipality>/<files>
//   <warehouse>/<SOURCE>/<INTERFACE>/<partition>/_PROCESSED
// The planner, the Runner's watches, collect (which opens a municipality's files beneath the
// warehouse root, jobs/collect.h) and the packer's manifest all ask this module; no other file
// builds a warehouse path.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/period.h"
#include "base/status.h"

namespace flis {

// FLIS writes this file into a partition folder when it is done with the partition.
inline constexpr std::string_view kProcessedMarker = "_PROCESSED";

// Every partition the package of (order, period) takes, in a stable order (interface as listed,
// then partition name). A daily interface gives every day of the period; a weekly one the ISO
// weeks whose Thursday falls in the period; a monthly one the months inside it.
std::vector<Partition> partitions_for(const Config& config, const Order& order, const Period& period);

// Relative to the warehouse: "DSA/CPR_PERSON/2026-11-25" (the same text as Partition::key()).
std::string partition_folder(const Partition& p);
// Relative to the warehouse: "DSA/CPR_PERSON/2026-11-25/101", the only folder a package of
// municipality 101 reads in that partition.
std::string municipality_folder(const Partition& p, int municipality);
// Refuses a partition whose source, interface or name is not one plain folder name (empty, ".",
// "..", or holding a '/'), so a folder built from it can never lead out of the warehouse.
Status check_partition(const Partition& p);

std::filesystem::path interface_path(const std::filesystem::path& warehouse, Source source,
                                     const std::string& interface);
std::filesystem::path partition_path(const std::filesystem::path& warehouse, const Partition& p);
// Whether the partition's marker exists; an unreadable warehouse reads as "not processed yet".
bool partition_processed(const std::filesystem::path& warehouse, const Partition& p);

// The partition folders in an interface folder (any order), each with whether it is processed.
// A missing or unreadable folder has none.
struct PartitionFolder {
  std::string name;
  bool processed = false;
};
std::vector<PartitionFolder> list_partitions(const std::filesystem::path& interface_dir);

// The partition a change seen in the warehouse names: `name` appearing in a partition folder
// (a marker, a municipality folder), or a partition folder `name` appearing in an interface
// folder. Anything else (higher up, or a folder name that is no source) is nullopt.
std::optional<Partition> partition_at(const std::filesystem::path& warehouse, const std::filesystem::path& folder,
                                      const std::string& name);

}  // namespace flis
