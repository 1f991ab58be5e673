// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// calendar/*.yaml: the FLIS data calendar (datakalender), one file a year, merged.
#include <algorithm>
#include <set>

#include "config/load_parts.h"
#include "config/schema.h"

namespace flis::detail {
namespace {

std::string where(const Position& p) { return p.file + ":" + std::to_string(p.line); }

date::local_seconds month_end(date::year_month ym) {
  return date::local_seconds{date::local_days{(ym + date::months{1}) / 1}};
}

std::string format_local(date::local_seconds t) { return date::format("%F %H:%M", t); }

}  // namespace

void CalendarMerger::read(YamlReader& r, const YAML::Node& root) {
  auto top = r.mapping(root, r.whole_file(), "a calendar file", schema::kCalendar);
  if (!top) return;
  if (auto it = top->find("daily"); it != top->end()) {
    const Entry& e = it->second;
    if (auto f = r.mapping(e.value, e.pos, "daily", schema::kDaily)) {
      Calendar::Daily d;
      bool ok = true;
      if (auto k = f->find("ready"); k != f->end()) {
        auto t = r.time_of_day(k->second, "daily.ready");
        ok &= t.has_value();
        if (t) d.ready = *t;
      }
      if (auto k = f->find("lag_days"); k != f->end()) {
        auto v = r.integer(k->second, "daily.lag_days", 0, 31);
        ok &= v.has_value();
        if (v) d.lag_days = static_cast<int>(*v);
      }
      if (ok && daily_from_) {
        if (d.ready != calendar_.daily.ready || d.lag_days != calendar_.daily.lag_days)
          r.error(r.key_pos(e), "the daily rule differs from the one in " + where(*daily_from_) +
                                    "; give it in one calendar file only, or make them agree");
      } else if (ok) {
        calendar_.daily = d;
        daily_from_ = r.key_pos(e);
      }
    }
  }
  if (auto it = top->find("weekly"); it != top->end()) {
    const Entry& e = it->second;
    if (auto f = r.mapping(e.value, e.pos, "weekly", schema::kWeekly)) {
      Calendar::Weekly w;
      bool ok = true;
      if (auto k = f->find("ready"); k != f->end()) {
        auto t = r.time_of_day(k->second, "weekly.ready");
        ok &= t.has_value();
        if (t) w.ready = *t;
      }
      if (auto k = f->find("weekday"); k != f->end()) {
        auto v = r.choice(k->second, "weekday", schema::kWeekdays);
        ok &= v.has_value();
        if (v) {
          auto idx = std::find(schema::kWeekdays.begin(), schema::kWeekdays.end(), *v) - schema::kWeekdays.begin();
          w.weekday = date::weekday{static_cast<unsigned>(idx + 1)};  // monday = 1 ... sunday = 7 (== 0)
        }
      }
      if (ok && weekly_from_) {
        if (w.ready != calendar_.weekly.ready || w.weekday != calendar_.weekly.weekday)
          r.error(r.key_pos(e), "the weekly rule differs from the one in " + where(*weekly_from_) +
                                    "; give it in one calendar file only, or make them agree");
      } else if (ok) {
        calendar_.weekly = w;
        weekly_from_ = r.key_pos(e);
      }
    }
  }
  if (auto it = top->find("monthly"); it != top->end()) {
    const Entry& e = it->second;
    if (auto months = r.mapping(e.value, e.pos, "monthly", {}))
      for (const auto& [key, me] : *months) read_month(r, key, me);
  }
}

void CalendarMerger::read_month(YamlReader& r, const std::string& key, const Entry& me) {
  auto ym = parse_month(key);
  if (!ym) {
    r.error(r.key_pos(me), "'" + key + "' is not a month; monthly is keyed by data month, written YYYY-MM");
    return;
  }
  if (auto prev = calendar_.monthly.find(*ym); prev != calendar_.monthly.end()) {
    r.error(r.key_pos(me), "data month " + key + " is also given in " + where(prev->second.pos) +
                               "; give each month once in the calendar");
    return;
  }
  auto f = r.mapping(me.value, me.pos, "monthly." + key, schema::kMonth);
  if (!f) return;
  Calendar::Month m;
  m.pos = r.key_pos(me);
  auto after_month = [&](const Entry& e, date::local_seconds t, const std::string& what) {
    if (t >= month_end(*ym)) return true;
    r.error(e.pos, what + " " + format_local(t) + " is before data month " + key +
                       " has ended; a month's data is ready after the month, e.g. in the first week of " +
                       format_month(*ym + date::months{1}));
    return false;
  };
  // A month with errors is still recorded, so it is not also reported as missing from the
  // calendar; its errors make the configuration unusable anyway.
  auto ready = f->find("ready");
  if (ready == f->end()) {
    r.error(m.pos, "month " + key + " needs 'ready', the expected time, e.g. \"" +
                       format_month(*ym + date::months{1}) + "-05 06:00\"");
  } else if (auto t = r.local_time(ready->second, "ready")) {
    after_month(ready->second, *t, "ready");
    m.ready = *t;
  }
  if (auto sys = f->find("systems"); sys != f->end()) {
    std::vector<std::string_view> known;
    std::set<std::string> seen;
    for (const auto& i : catalogue_.interfaces)
      if (seen.insert(i.system).second) known.push_back(i.system);
    if (auto overrides = r.mapping(sys->second.value, sys->second.pos, "systems", {})) {
      for (const auto& [name, se] : *overrides) {
        if (catalogue_ok_ && !seen.count(name)) {
          std::string msg = "unknown fagsystem '" + name + "' in systems; the catalogue (interfaces.yaml) has: " +
                            join(known);
          if (auto c = closest(name, known)) msg += " (did you mean '" + std::string(*c) + "'?)";
          r.error(r.key_pos(se), msg);
          continue;
        }
        auto t = r.local_time(se, "systems." + name);
        if (t && after_month(se, *t, name)) m.systems[name] = *t;
      }
    }
  }
  calendar_.monthly[*ym] = m;
}

std::string month_ranges(const std::vector<date::year_month>& months) {
  std::string out;
  for (size_t i = 0; i < months.size();) {
    size_t j = i;
    while (j + 1 < months.size() && months[j + 1] == months[j] + date::months{1}) ++j;
    if (!out.empty()) out += ", ";
    out += format_month(months[i]);
    if (j > i) out += ".." + format_month(months[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace flis::detail
