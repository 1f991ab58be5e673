// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "jobs/manifest.h"

#include <date/date.h>

#include <nlohmann/json.hpp>
#include <set>

namespace flis {
namespace {

// Per interface (in the order's order), its partitions with files and those without.
nlohmann::ordered_json partition_lists(const Order& order, const std::vector<Partition>& partitions,
                                       const std::vector<PackageFile>& files) {
  std::set<std::string> gave;  // "SOURCE/INTERFACE/partition"
  for (const PackageFile& f : files) gave.insert(f.partition);
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const std::string& interface : order.interfaces)
    out[interface] = {{"with_data", nlohmann::ordered_json::array()}, {"no_data", nlohmann::ordered_json::array()}};
  std::set<std::string> seen;
  for (const Partition& p : partitions) {
    if (!seen.insert(p.key()).second) continue;
    auto& lists = out[p.interface];
    if (lists.is_null())
      lists = {{"with_data", nlohmann::ordered_json::array()}, {"no_data", nlohmann::ordered_json::array()}};
    lists[gave.count(p.key()) ? "with_data" : "no_data"].push_back(p.name);
  }
  return out;
}

}  // namespace

Result<std::string> make_manifest(const Order& order, const Period& period, const std::vector<Partition>& partitions,
                                  const std::vector<PackageFile>& files, Instant created) {
  using nlohmann::ordered_json;  // keys in the order a reader expects them
  ordered_json m;
  m["format_version"] = kManifestFormatVersion;
  m["order"] = order.id;
  m["municipality"] = order.municipality;
  m["source"] = std::string(to_string(order.source));
  m["type"] = std::string(to_string(order.type));
  m["period"] = {{"name", period.name()},
                 {"start", date::format("%F", period.first)},
                 {"end", date::format("%F", period.last)}};
  m["interfaces"] = order.interfaces;
  m["partitions"] = partition_lists(order, partitions, files);
  ordered_json list = ordered_json::array();
  for (const PackageFile& f : files)
    list.push_back({{"path", f.archive_path}, {"size", f.size}, {"sha256", f.sha256}});
  m["files"] = std::move(list);
  m["created"] = date::format("%FT%TZ", created);
  m["flisd_version"] = FLISD_VERSION;
  try {
    return m.dump(2) + "\n";
  } catch (const nlohmann::json::exception& e) {
    return Status::Error("manifest of order " + order.id + ": a file name is not valid UTF-8 (" + e.what() +
                         "); rename the warehouse file");
  }
}

}  // namespace flis
