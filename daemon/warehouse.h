// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The FLIS warehouse as flisd sees it: which partitions a period of an order needs,
// and whether each has been processed (its `_PROCESSED` marker exists).
//   <warehouse>/<SOURCE>/<INTERFACE>/<partition>/<municipality>/<files>
//   <warehouse>/<SOURCE>/<INTERFACE>/<partition>/_PROCESSED
#pragma once

#include <filesystem>
#include <vector>

#include "config/model.h"
#include "config/period.h"

namespace flis {

// Every partition the package of (order, period) takes, in a stable order (interface as listed,
// then partition name). A daily interface gives every day of the period; a weekly one the ISO
// weeks whose Thursday falls in the period; a monthly one the months inside it.
std::vector<Partition> partitions_for(const Config& config, const Order& order, const Period& period);

std::filesystem::path partition_path(const std::filesystem::path& warehouse, const Partition& p);
bool partition_processed(const std::filesystem::path& warehouse, const Partition& p);

}  // namespace flis
