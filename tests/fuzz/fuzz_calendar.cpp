// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// libFuzzer target: the data calendar (calendar/*.yaml) through the public loader entry point,
// load_config_files, with a fixed valid flisd.yaml, catalogue and order around it, so the input
// reaches CalendarMerger and the checks after it. A calendar that loads is then used the way the
// daemon uses it: every expected ready time is converted through the time zone.
//
// Besides sanitizer reports, it checks that the loader never returns a configuration together with
// an error, and never a null configuration without one.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/loader.h"
#include "config/period.h"

namespace {

const char* kSettings = R"(warehouse: /nonexistent/warehouse
state: /nonexistent/state.db
targets:
  flis: {type: directory, path: /nonexistent/out/{municipality}}
)";

const char* kInterfaces = R"(sources:
  DSA:
    CPR_PERSON: {system: CPR, frequency: daily}
    SAGSBEHANDLING: {system: KMD, frequency: weekly}
    LOEN_ANSAT: {system: OPUS, frequency: monthly}
)";

const char* kOrder = R"(id: K101-LOEN-MONTHLY
municipality: 101
type: monthly
source: DSA
delivery: flis
interfaces: [LOEN_ANSAT]
start: 2026-01-01
end: 2027-12-31
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const date::time_zone* tz = date::locate_zone("Europe/Copenhagen");
  flis::ConfigFiles files{{"flisd.yaml", kSettings},
                          {"interfaces.yaml", kInterfaces},
                          {"orders/k101.yaml", kOrder},
                          {"calendar/2026.yaml", std::string(reinterpret_cast<const char*>(data), size)}};
  flis::LoadResult r = flis::load_config_files("/nonexistent/config", files);
  if (r.config && r.diagnostics.has_errors()) {
    std::fprintf(stderr, "fuzz_calendar: a configuration was returned together with errors\n");
    std::abort();
  }
  if (!r.config && !r.diagnostics.has_errors()) {
    std::fprintf(stderr, "fuzz_calendar: no configuration and no error\n");
    std::abort();
  }
  if (!r.config) return 0;
  for (const auto& [month, m] : r.config->calendar.monthly) {
    (void)flis::local_to_instant(m.ready, tz);
    for (const auto& [system, t] : m.systems) (void)flis::local_to_instant(t, tz);
  }
  return 0;
}
