// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/warehouse.h"

#include <system_error>

#include "config/kommuner.h"

namespace flis {
namespace fs = std::filesystem;
namespace {

// The partitions of one interface that belong to the period (config/period.h places them).
void add_partitions(const Interface& iface, const Period& period, std::vector<Partition>& out) {
  for (const Period& span : partitions_in(iface.frequency, period))
    out.push_back({iface.source, iface.name, partition_name(iface.frequency, span.first)});
}

bool plain_name(std::string_view part) {
  return !part.empty() && part != "." && part != ".." && part.find('/') == std::string_view::npos;
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

std::string partition_folder(const Partition& p) {
  return std::string(to_string(p.source)) + "/" + p.interface + "/" + p.name;
}

std::string municipality_folder(const Partition& p, int municipality) {
  return partition_folder(p) + "/" + municipality_code(municipality);
}

Status check_partition(const Partition& p) {
  if (plain_name(to_string(p.source)) && plain_name(p.interface) && plain_name(p.name)) return Status::OK();
  return Status::Error("invalid partition " + p.key() + ": each part must be one plain folder name");
}

fs::path interface_path(const fs::path& warehouse, Source source, const std::string& interface) {
  return warehouse / std::string(to_string(source)) / interface;
}

fs::path partition_path(const fs::path& warehouse, const Partition& p) {
  return interface_path(warehouse, p.source, p.interface) / p.name;
}

bool partition_processed(const fs::path& warehouse, const Partition& p) {
  std::error_code ec;  // an unreadable warehouse reads as "not processed yet", never as a crash
  return fs::exists(partition_path(warehouse, p) / kProcessedMarker, ec);
}

std::vector<PartitionFolder> list_partitions(const fs::path& interface_dir) {
  std::vector<PartitionFolder> out;
  std::error_code ec;
  for (fs::directory_iterator it(interface_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code kind;
    if (!it->is_directory(kind)) continue;
    out.push_back({it->path().filename().string(), fs::exists(it->path() / kProcessedMarker, kind)});
  }
  return out;
}

std::optional<Partition> partition_at(const fs::path& warehouse, const fs::path& folder, const std::string& name) {
  fs::path rel = folder.lexically_normal().lexically_relative(warehouse.lexically_normal());
  std::vector<std::string> parts;
  for (const auto& c : rel)
    if (!c.empty() && c != ".") parts.push_back(c.string());
  if (parts.size() == 2 && !name.empty()) parts.push_back(name);
  if (parts.size() != 3) return std::nullopt;
  auto source = parse_source(parts[0]);
  if (!source) return std::nullopt;
  Partition p{*source, parts[1], parts[2]};
  if (!check_partition(p).ok()) return std::nullopt;
  return p;
}

}  // namespace flis
