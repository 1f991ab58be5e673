// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// YamlReader: reading one YAML file of the configuration into plain values, reporting every
// problem as a Diagnostic at the exact line and column (yaml-cpp marks are 0-based; users read
// 1-based). It never stops at the first problem: each accessor reports and returns nullopt, so the
// caller carries on and the user sees all errors of the file in one pass.
//
// Also the small parsers of the configuration's value syntax (dates, months, times, durations) and
// the "did you mean" helper, shared by the loader and flisctl.
//
// Thread-safety: a YamlReader belongs to one thread; the free functions are pure.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.h"
#include "config/model.h"

namespace flis {

// Files larger than this are refused before parsing: no configuration file is anywhere near it,
// and it bounds the work a corrupt or hostile file can cause.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// One key of a mapping: its key node, its value node and where to point at it (the value, or the
// key when the value is empty).
struct Entry {
  YAML::Node key;
  YAML::Node value;
  Position pos;
};
using Entries = std::map<std::string, Entry>;

class YamlReader {
 public:
  YamlReader(std::string file, Diagnostics& diagnostics) : file_(std::move(file)), diags_(diagnostics) {}

  const std::string& file() const { return file_; }
  Diagnostics& diagnostics() { return diags_; }
  Position at(const YAML::Node& node) const;
  Position whole_file() const { return Position{file_, 0, 0}; }
  void error(const Position& pos, std::string message) { diags_.error(pos, std::move(message)); }
  void warning(const Position& pos, std::string message) { diags_.warning(pos, std::move(message)); }

  // Parses `text` as exactly one YAML document. Syntax errors, an empty file, several documents or
  // a file over kMaxConfigFileBytes are reported and give nullopt.
  std::optional<YAML::Node> parse(const std::string& text);

  // The entries of a mapping, reporting a non-mapping, unknown keys (with "did you mean") and
  // duplicate keys. `what` names the mapping in messages ("an order", "targets.flis").
  // `allowed` empty = any key allowed (the caller checks the keys itself).
  std::optional<Entries> mapping(const YAML::Node& node, const Position& where, std::string_view what,
                                 std::initializer_list<std::string_view> allowed);
  std::optional<Entries> mapping(const YAML::Node& node, const Position& where, std::string_view what,
                                 const std::vector<std::string_view>& allowed);

  // A non-empty scalar; reports an empty value or a list/mapping. `key` names it in messages.
  std::optional<std::string> scalar(const Entry& e, std::string_view key);
  std::optional<long long> integer(const Entry& e, std::string_view key, long long lo, long long hi);
  std::optional<date::year_month_day> date(const Entry& e, std::string_view key);
  std::optional<date::year_month> month(const Entry& e, std::string_view key);
  std::optional<TimeOfDay> time_of_day(const Entry& e, std::string_view key);
  std::optional<date::local_seconds> local_time(const Entry& e, std::string_view key);
  std::optional<std::chrono::seconds> duration(const Entry& e, std::string_view key);
  // One of `allowed`, else "unknown <key> 'x'; allowed: a, b, c (did you mean 'a'?)".
  std::optional<std::string> choice(const Entry& e, std::string_view key,
                                    const std::vector<std::string_view>& allowed);
  // A list of non-empty scalars, each with its position.
  std::optional<std::vector<std::pair<std::string, Position>>> list(const Entry& e, std::string_view key);

  // The entry's key text, as a position for errors about the key itself.
  Position key_pos(const Entry& e) const { return at(e.key); }

 private:
  std::string file_;
  Diagnostics& diags_;
};

// Value syntax, shared with flisctl (e.g. `copy --start`).
std::optional<date::year_month_day> parse_date(std::string_view s);      // 2026-01-31
std::optional<date::year_month> parse_month(std::string_view s);         // 2026-01
std::optional<TimeOfDay> parse_time_of_day(std::string_view s);          // 06:00
std::optional<date::local_seconds> parse_local_time(std::string_view s); // 2026-02-05 06:00
std::optional<std::chrono::seconds> parse_duration(std::string_view s);  // 60s, 5m, 6h, 1d
std::string format_date(const date::year_month_day& d);                  // 2026-01-31
std::string format_month(const date::year_month& m);                     // 2026-01

// Levenshtein distance; for "did you mean".
size_t edit_distance(std::string_view a, std::string_view b);
// The closest of `candidates` to `word` when it is close enough to be a likely typo.
std::optional<std::string_view> closest(std::string_view word, const std::vector<std::string_view>& candidates);
// "a, b, c"
std::string join(const std::vector<std::string_view>& items, std::string_view sep = ", ");

// ids and interface names: [A-Za-z0-9][A-Za-z0-9._-]{0,63}, never "..": safe as a file name.
bool is_safe_name(std::string_view s);

}  // namespace flis
