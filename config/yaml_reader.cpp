// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "config/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <set>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

namespace flis {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<int> digits(std::string_view s) {
  if (!all_digits(s) || s.size() > 9) return std::nullopt;
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string shape(const YAML::Node& n) {
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "a value";
}

}  // namespace

// ---- value syntax ----------------------------------------------------------------------------

std::optional<date::year_month_day> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto y = digits(s.substr(0, 4)), m = digits(s.substr(5, 2)), d = digits(s.substr(8, 2));
  if (!y || !m || !d) return std::nullopt;
  date::year_month_day ymd{date::year{*y}, date::month{static_cast<unsigned>(*m)},
                           date::day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

std::optional<date::year_month> parse_month(std::string_view s) {
  if (s.size() != 7 || s[4] != '-') return std::nullopt;
  auto y = digits(s.substr(0, 4)), m = digits(s.substr(5, 2));
  if (!y || !m) return std::nullopt;
  date::year_month ym{date::year{*y}, date::month{static_cast<unsigned>(*m)}};
  if (!ym.ok()) return std::nullopt;
  return ym;
}

std::optional<TimeOfDay> parse_time_of_day(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  auto h = digits(s.substr(0, 2)), m = digits(s.substr(3, 2));
  if (!h || !m || *h > 23 || *m > 59) return std::nullopt;
  return TimeOfDay{*h * 60 + *m};
}

std::optional<date::local_seconds> parse_local_time(std::string_view s) {
  if (s.size() != 16 || (s[10] != ' ' && s[10] != 'T')) return std::nullopt;
  auto d = parse_date(s.substr(0, 10));
  auto t = parse_time_of_day(s.substr(11));
  if (!d || !t) return std::nullopt;
  return date::local_seconds{date::local_days{*d}} + std::chrono::seconds{*t};
}

std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  auto n = digits(s.substr(0, s.size() - 1));
  if (!n) return std::nullopt;
  long long v = *n;
  switch (s.back()) {
    case 's': return std::chrono::seconds{v};
    case 'm': return std::chrono::seconds{v * 60};
    case 'h': return std::chrono::seconds{v * 3600};
    case 'd': return std::chrono::seconds{v * 86400};
    default: return std::nullopt;
  }
}

std::string format_date(const date::year_month_day& d) { return date::format("%F", d); }

std::string format_month(const date::year_month& m) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(m.year()), static_cast<unsigned>(m.month()));
  return buf;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and swaps of neighbours each
  // cost 1, so "OPSU" is one typo away from "OPUS".
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::optional<std::string_view> closest(std::string_view word, const std::vector<std::string_view>& candidates) {
  // Case is ignored ("dsa" is close to "DSA"); a typo is at most a third of the word, and two
  // letters at most, so unrelated short words are not suggested.
  if (word.size() > 200) return std::nullopt;
  std::optional<std::string_view> best;
  size_t best_d = 0;
  const std::string w = lower(word);
  for (auto c : candidates) {
    size_t d = edit_distance(w, lower(c));
    if (!best || d < best_d) best = c, best_d = d;
  }
  size_t limit = std::min<size_t>(2, std::max<size_t>(1, word.size() / 3));
  if (best && best_d <= limit) return best;
  return std::nullopt;
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) s += sep;
    s += items[i];
  }
  return s;
}

bool is_safe_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  return s.find("..") == std::string_view::npos;
}

// ---- YamlReader ------------------------------------------------------------------------------

namespace {

// Records where a document starts; ignores everything else.
class DocumentStart : public YAML::EventHandler {
 public:
  YAML::Mark mark = YAML::Mark::null_mark();
  void OnDocumentStart(const YAML::Mark& m) override { mark = m; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { first(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { first(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { first(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    first(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    first(m);
  }
  void OnMapEnd() override {}

 private:
  void first(const YAML::Mark& m) {
    if (!seen_) mark = m, seen_ = true;
  }
  bool seen_ = false;
};

// Where a second document starts, if the text has one. Documents are counted with the event
// parser, never more than two, instead of YAML::LoadAll: yaml-cpp 0.7's LoadAll loops forever,
// allocating, on a stray ',' (yaml-cpp issue #1040, fixed upstream in PR #1319); our fuzzer
// found it.
std::optional<YAML::Mark> second_document(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStart ignored, second;
  if (!parser.HandleNextDocument(ignored)) return std::nullopt;
  if (!parser.HandleNextDocument(second)) return std::nullopt;
  return second.mark;
}

}  // namespace

Position YamlReader::at(const YAML::Node& node) const {
  if (!node.IsDefined()) return whole_file();
  YAML::Mark m = node.Mark();
  if (m.is_null() || m.line < 0) return whole_file();
  return Position{file_, m.line + 1, m.column + 1};
}

std::optional<YAML::Node> YamlReader::parse(const std::string& text) {
  if (text.size() > kMaxConfigFileBytes) {
    error(whole_file(), "file is larger than " + std::to_string(kMaxConfigFileBytes) +
                            " bytes, the most a configuration file may be; is it the right file?");
    return std::nullopt;
  }
  YAML::Node root;
  std::optional<YAML::Mark> second;
  try {
    root = YAML::Load(text);
    second = second_document(text);
  } catch (const YAML::Exception& e) {
    Position p = e.mark.is_null() ? whole_file() : Position{file_, e.mark.line + 1, e.mark.column + 1};
    error(p, "invalid YAML: " + e.msg + "; fix the syntax at this place");
    return std::nullopt;
  }
  if (second) {
    Position p = second->is_null() ? whole_file() : Position{file_, second->line + 1, second->column + 1};
    error(p, "a second YAML document in this file, or stray text after the first; each file holds exactly one "
             "(remove the '---' or the stray text)");
    return std::nullopt;
  }
  if (!root.IsDefined() || root.IsNull()) {
    error(whole_file(), "file is empty; expected a YAML mapping of keys to values");
    return std::nullopt;
  }
  return root;
}

std::optional<Entries> YamlReader::mapping(const YAML::Node& node, const Position& where, std::string_view what,
                                           std::initializer_list<std::string_view> allowed) {
  return mapping(node, where, what, std::vector<std::string_view>(allowed));
}

std::optional<Entries> YamlReader::mapping(const YAML::Node& node, const Position& where, std::string_view what,
                                           const std::vector<std::string_view>& allowed) {
  if (!node.IsDefined() || node.IsNull()) {
    error(where, std::string(what) + " is empty; expected a mapping of keys to values");
    return std::nullopt;
  }
  if (!node.IsMap()) {
    error(at(node), std::string(what) + " must be a mapping of keys to values, not " + shape(node));
    return std::nullopt;
  }
  Entries entries;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node k = it->first;
    const YAML::Node v = it->second;
    if (!k.IsScalar() || k.Scalar().empty()) {
      error(at(k), "a key in " + std::string(what) + " must be a plain name, not " + shape(k));
      continue;
    }
    const std::string& name = k.Scalar();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::string msg = "unknown key '" + name + "' in " + std::string(what) + "; allowed: " + join(allowed);
      if (auto c = closest(name, allowed)) msg += " (did you mean '" + std::string(*c) + "'?)";
      error(at(k), msg);
      continue;
    }
    if (auto prev = entries.find(name); prev != entries.end()) {
      error(at(k), "key '" + name + "' given twice (first on line " + std::to_string(at(prev->second.key).line) +
                       "); give each key once");
      continue;
    }
    Position p = (v.IsDefined() && !v.IsNull()) ? at(v) : at(k);
    if (p.line == 0) p = at(k);
    entries.emplace(name, Entry{k, v, p});
  }
  return entries;
}

std::optional<std::string> YamlReader::scalar(const Entry& e, std::string_view key) {
  const YAML::Node& v = e.value;
  if (!v.IsDefined() || v.IsNull()) {
    error(e.pos, "'" + std::string(key) + "' has no value; give one");
    return std::nullopt;
  }
  if (!v.IsScalar()) {
    error(e.pos, "'" + std::string(key) + "' must be a single value, not " + shape(v));
    return std::nullopt;
  }
  if (v.Scalar().empty()) {
    error(e.pos, "'" + std::string(key) + "' is empty; give a value");
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<long long> YamlReader::integer(const Entry& e, std::string_view key, long long lo, long long hi) {
  auto s = scalar(e, key);
  if (!s) return std::nullopt;
  long long v = 0;
  const char* end = s->data() + s->size();
  auto [p, ec] = std::from_chars(s->data(), end, v);
  std::string range = std::to_string(lo) + (hi == lo ? "" : " to " + std::to_string(hi));
  if (ec != std::errc() || p != end) {
    error(e.pos, "'" + *s + "' is not a whole number; " + std::string(key) + " must be a number from " + range);
    return std::nullopt;
  }
  if (v < lo || v > hi) {
    error(e.pos, std::string(key) + " is " + *s + "; allowed: " + range);
    return std::nullopt;
  }
  return v;
}

std::optional<date::year_month_day> YamlReader::date(const Entry& e, std::string_view key) {
  auto s = scalar(e, key);
  if (!s) return std::nullopt;
  auto d = parse_date(*s);
  if (!d) error(e.pos, "'" + *s + "' is not a real date; " + std::string(key) + " must be a date written YYYY-MM-DD");
  return d;
}

std::optional<date::year_month> YamlReader::month(const Entry& e, std::string_view key) {
  auto s = scalar(e, key);
  if (!s) return std::nullopt;
  auto m = parse_month(*s);
  if (!m) error(e.pos, "'" + *s + "' is not a month; " + std::string(key) + " must be a month written YYYY-MM");
  return m;
}

std::optional<TimeOfDay> YamlReader::time_of_day(const Entry& e, std::string_view key) {
  auto s = scalar(e, key);
  if (!s) return std::nullopt;
  auto t = parse_time_of_day(*s);
  if (!t)
    error(e.pos, "'" + *s + "' is not a time of day; " + std::string(key) + " must be HH:MM, from 00:00 to 23:59");
  return t;
}

std::optional<date::local_seconds> YamlReader::local_time(const Entry& e, std::string_view key) {
  auto s = scalar(e, key);
  if (!s) return std::nullopt;
  auto t = parse_local_time(*s);
  if (!t)
    error(e.pos, "'" + *s + "' is not a real date and time; " + std::string(key) +
                     " must be written \"YYYY-MM-DD HH:MM\" (local time), e.g. \"2026-12-04 06:00\"");
  return t;
}

std::optional<std::chrono::seconds> YamlReader::duration(const Entry& e, std::string_view key) {
  auto s = scalar(e, key);
  if (!s) return std::nullopt;
  auto d = parse_duration(*s);
  if (!d)
    error(e.pos, "'" + *s + "' is not a duration; " + std::string(key) +
                     " must be a number with a unit s, m, h or d, e.g. 60s, 5m, 6h, 1d");
  return d;
}

std::optional<std::string> YamlReader::choice(const Entry& e, std::string_view key,
                                              const std::vector<std::string_view>& allowed) {
  auto s = scalar(e, key);
  if (!s) return std::nullopt;
  if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return s;
  std::string msg = "unknown " + std::string(key) + " '" + *s + "'; allowed: " + join(allowed);
  if (auto c = closest(*s, allowed)) msg += " (did you mean '" + std::string(*c) + "'?)";
  error(e.pos, msg);
  return std::nullopt;
}

std::optional<std::vector<std::pair<std::string, Position>>> YamlReader::list(const Entry& e, std::string_view key) {
  const YAML::Node& v = e.value;
  if (!v.IsDefined() || v.IsNull() || (v.IsSequence() && v.size() == 0)) {
    error(e.pos, "'" + std::string(key) + "' is empty; list at least one, e.g. [CPR_PERSON]");
    return std::nullopt;
  }
  if (!v.IsSequence()) {
    error(e.pos, "'" + std::string(key) + "' must be a list, e.g. [CPR_PERSON, CPR_ADRESSE], not " + shape(v));
    return std::nullopt;
  }
  std::vector<std::pair<std::string, Position>> items;
  bool ok = true;
  for (const auto& item : v) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      error(at(item).line ? at(item) : e.pos, "each entry of '" + std::string(key) + "' must be a name, not " + shape(item));
      ok = false;
      continue;
    }
    items.emplace_back(item.Scalar(), at(item));
  }
  if (!ok) return std::nullopt;
  return items;
}

}  // namespace flis
