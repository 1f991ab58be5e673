// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// libFuzzer target for the configuration loader. The input replaces one file of a configuration
// tree held in memory (the first byte chooses which: flisd.yaml, interfaces.yaml, a calendar file
// or an order file), and the tree is loaded, on its own or as a reload against the good example
// configuration. The loader must never crash, hang or leak, whatever the bytes; and a
// result it calls usable must hold what the contract promises (sorted, unique ids).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/loader.h"

namespace {

struct Base {
  flis::ConfigFiles files;
  std::shared_ptr<const flis::Config> good;
};

const Base& base() {
  static const Base b = [] {
    Base b;
    flis::Diagnostics d;
    auto all = flis::read_config_files(std::string(FLISD_SOURCE_DIR) + "/config/examples", d);
    for (const char* keep : {"flisd.yaml", "interfaces.yaml", "calendar/2026.yaml", "orders/K147-MIXED-MONTHLY.yaml"})
      b.files[keep] = all.at(keep);
    b.good = flis::load_config_files("/etc/flisd", b.files).config;
    if (!b.good) std::abort();  // the examples must load
    return b;
  }();
  return b;
}

void check(const flis::LoadResult& r) {
  if (!r.config) return;
  const auto& orders = r.config->orders;
  for (size_t i = 1; i < orders.size(); ++i)
    if (!(orders[i - 1].id < orders[i].id)) std::abort();  // sorted, ids unique
  for (const auto& d : r.diagnostics.items()) (void)d.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const char* kTargets[] = {"flisd.yaml", "interfaces.yaml", "calendar/2028.yaml", "orders/fuzz.yaml"};
  if (size < 1) return 0;
  const Base& b = base();
  flis::ConfigFiles files = b.files;
  std::string name = kTargets[data[0] % 4];
  files[name] = std::string(reinterpret_cast<const char*>(data + 1), size - 1);
  // Bit 2 of the first byte: load as a reload against the good configuration (last_good).
  check(flis::load_config_files("/etc/flisd", files, (data[0] & 4) ? b.good.get() : nullptr));
  return 0;
}
