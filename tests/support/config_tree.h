// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// ConfigTree: a small, valid configuration folder in a fresh temporary directory, for tests that
// need one. Each test breaks or extends one file with write() and loads the tree with load().
// The base tree: targets `flis` (directory), datamarts for 101 (DM_BORGER), a catalogue with CPR
// (daily), KMD (weekly), OPUS (monthly) and legacy/DM interfaces, the 2026 calendar, and one daily
// order orders/k101.yaml (K101-CPR-DAILY).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "config/loader.h"

namespace flis::test {

inline const char* kBaseSettings = R"(warehouse: warehouse
state: state.db
targets:
  flis:
    type: directory
    path: out/flis/{municipality}
datamarts:
  start: 2026-01
  delivery: flis
  entitlements:
    101: [DM_BORGER]
)";

inline const char* kBaseInterfaces = R"(sources:
  DSA:
    CPR_PERSON: {system: CPR, frequency: daily}
    CPR_ADRESSE: {system: CPR, frequency: daily}
    SAGSBEHANDLING: {system: KMD, frequency: weekly}
    LOEN_ANSAT: {system: OPUS, frequency: monthly}
  legacy:
    CPR_PERSON_RAW: {system: CPR, frequency: daily}
    LOEN_RAW: {system: OPUS, frequency: monthly}
  DM:
    DM_BORGER: {system: FLIS, frequency: monthly}
)";

inline std::string base_calendar_2026() {
  std::string s = "daily: {ready: \"06:00\", lag_days: 1}\nweekly: {ready: \"06:00\", weekday: tuesday}\nmonthly:\n";
  for (int m = 1; m <= 12; ++m) {
    char line[96];
    snprintf(line, sizeof line, "  2026-%02d: {ready: \"%04d-%02d-05 06:00\"}\n", m, m == 12 ? 2027 : 2026,
             m == 12 ? 1 : m + 1);
    s += line;
  }
  return s;
}

inline const char* kBaseOrder = R"(id: K101-CPR-DAILY
municipality: 101
type: daily
source: DSA
delivery: flis
interfaces: [CPR_PERSON, CPR_ADRESSE]
start: 2026-11-01
end: 2026-12-31
)";

class ConfigTree {
 public:
  ConfigTree() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flisd-config-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    write("flisd.yaml", kBaseSettings);
    write("interfaces.yaml", kBaseInterfaces);
    write("calendar/2026.yaml", base_calendar_2026());
    write("orders/k101.yaml", kBaseOrder);
  }
  ~ConfigTree() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ConfigTree(const ConfigTree&) = delete;
  ConfigTree& operator=(const ConfigTree&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  void write(const std::string& rel, const std::string& text) const {
    auto path = dir_ / rel;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }
  void remove(const std::string& rel) const { std::filesystem::remove(dir_ / rel); }
  bool exists(const std::string& rel) const { return std::filesystem::exists(dir_ / rel); }
  std::string read(const std::string& rel) const {
    std::ifstream in(dir_ / rel, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  LoadResult load(const Config* last_good = nullptr) const { return load_config(dir_, last_good); }

 private:
  std::filesystem::path dir_;
};

// Every diagnostic, one a line, for failure messages.
inline std::string dump(const Diagnostics& d) {
  std::string s;
  for (const auto& item : d.sorted()) s += "  " + item.str() + "\n";
  return s.empty() ? "  (no diagnostics)\n" : s;
}

// The diagnostic of that severity in `file` at `line` (0 = any line) whose message holds `text`.
inline const Diagnostic* find_diag(const Diagnostics& d, Diagnostic::Severity sev, const std::string& file, int line,
                                   const std::string& text) {
  for (const auto& item : d.items())
    if (item.severity == sev && item.pos.file == file && (line == 0 || item.pos.line == line) &&
        item.message.find(text) != std::string::npos)
      return &item;
  return nullptr;
}

}  // namespace flis::test
