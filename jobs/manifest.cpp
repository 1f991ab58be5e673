#include "jobs/manifest.h"

#include <date/date.h>

#include <nlohmann/json.hpp>

namespace flis {

Result<std::string> make_manifest(const Order& order, const Period& period, const std::vector<PackageFile>& files,
                                  Instant created) {
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
