// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "daemon/warehouse.h"

#include <system_error>

namespace flis {
namespace {

using date::local_days;

// The partitions of one interface that belong to the period (config/period.h places them).
void add_partitions(const Interface& iface, const Period& period, std::vector<Partition>& out) {
  for (const Period& span : partitions_in(iface.frequency, period))
    out.push_back({iface.source, iface.name, partition_name(iface.frequency, span.first)});
}

}  // namespace

std::vector<Partition> partitions_for(const Config& config, const Order& order, const Period& period) {
  std::vector<Partition> out;
  for (const auto& name : order.interfaces) {
    const Interface* iface = config.catalogue.find(order.source, name);
    if (iface == nullptr) {
      // Validation refuses such an order; should one slip through (a catalogue edited under a kept
      // last-good order), assume daily data so the package waits rather than ships without it.
      Interface assumed{name, order.source, "", Frequency::daily, {}};
      add_partitions(assumed, period, out);
      continue;
    }
    add_partitions(*iface, period, out);
  }
  return out;
}

std::filesystem::path partition_path(const std::filesystem::path& warehouse, const Partition& p) {
  return warehouse / std::string(to_string(p.source)) / p.interface / p.name;
}

bool partition_processed(const std::filesystem::path& warehouse, const Partition& p) {
  std::error_code ec;  // an unreadable warehouse reads as "not processed yet", never as a crash
  return std::filesystem::exists(partition_path(warehouse, p) / "_PROCESSED", ec);
}

}  // namespace flis
