// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The loader's parts, one per kind of file (internal to config/; the public entry is loader.h).
// Each part reads one parsed YAML file into the model and reports what is wrong through a
// YamlReader; none of them stops at the first problem.
#pragma once

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/yaml_reader.h"

namespace flis::detail {

// What the orders are checked against, and which of it could be trusted: a broken catalogue or
// flisd.yaml would otherwise make every order look wrong, burying the real error.
struct Context {
  std::filesystem::path dir;
  Settings settings;
  Catalogue catalogue;
  Calendar calendar;
  bool settings_ok = false;   // flisd.yaml read without errors
  bool catalogue_ok = false;  // interfaces.yaml read without errors
};

// interfaces.yaml
void read_catalogue(YamlReader& r, const YAML::Node& root, Catalogue& out);
// flisd.yaml; relative paths resolve against `dir`. Entitlements are checked against `catalogue`.
void read_settings(YamlReader& r, const YAML::Node& root, const std::filesystem::path& dir,
                   const Catalogue& catalogue, bool catalogue_ok, Settings& out);

// calendar/*.yaml, merged one file at a time into `out`.
class CalendarMerger {
 public:
  CalendarMerger(const Catalogue& catalogue, bool catalogue_ok) : catalogue_(catalogue), catalogue_ok_(catalogue_ok) {}
  void read(YamlReader& r, const YAML::Node& root);
  const Calendar& calendar() const { return calendar_; }

 private:
  void read_month(YamlReader& r, const std::string& key, const Entry& e);
  const Catalogue& catalogue_;
  bool catalogue_ok_;
  Calendar calendar_;
  std::optional<Position> daily_from_, weekly_from_;  // where each rule was first given
};

// One order file as read, with where each of its values was written.
struct OrderDraft {
  Order order;
  bool has_id = false;
  Position id_pos, start_pos, interfaces_pos;
};

// orders/*.yaml: reads and checks one order against the context (rules 1-6 of the FLIS ordering guide, listed in docs/configuration.md).
// nullopt when the file could not be read as an order at all.
std::optional<OrderDraft> read_order(YamlReader& r, const YAML::Node& root, const Context& ctx);

// "2026-01..2026-03, 2026-07": months, consecutive ones as ranges.
std::string month_ranges(const std::vector<date::year_month>& months);

}  // namespace flis::detail
