// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "config/period.h"

#include <date/iso_week.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <exception>

namespace flis {
namespace {

using namespace std::chrono_literals;
using date::local_days;

// Names are formatted by hand: the planner names millions of periods in a large plan, and
// date::format through an ostringstream is an order of magnitude slower.
void put_digits(std::string& out, int value, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<size_t>(width));
}

void put_date(std::string& out, local_days d) {
  date::year_month_day ymd{d};
  put_digits(out, static_cast<int>(ymd.year()), 4);
  out += '-';
  put_digits(out, static_cast<int>(static_cast<unsigned>(ymd.month())), 2);
  out += '-';
  put_digits(out, static_cast<int>(static_cast<unsigned>(ymd.day())), 2);
}

void put_week(std::string& out, local_days d) {
  iso_week::year_weeknum_weekday w{d};
  put_digits(out, static_cast<int>(w.year()), 4);
  out += "-W";
  put_digits(out, static_cast<int>(static_cast<unsigned>(w.weeknum())), 2);
}

void put_month(std::string& out, local_days d) {
  date::year_month_day ymd{d};
  put_digits(out, static_cast<int>(ymd.year()), 4);
  out += '-';
  put_digits(out, static_cast<int>(static_cast<unsigned>(ymd.month())), 2);
}

// A fixed-width run of decimal digits at s[pos..pos+width); -1 if anything else is there.
int digits_at(std::string_view s, size_t pos, size_t width) {
  if (pos + width > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// "YYYY-MM-DD" exactly, and a real date.
std::optional<local_days> parse_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  int y = digits_at(s, 0, 4), m = digits_at(s, 5, 2), d = digits_at(s, 8, 2);
  if (y < 0 || m < 0 || d < 0) return std::nullopt;
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return local_days{ymd};
}

local_days monday_of(local_days d) {
  return d - (date::weekday{d} - date::Monday);
}

// The calendar period of a kind that holds day d.
Period period_containing(PeriodKind kind, local_days d) {
  switch (kind) {
    case PeriodKind::day: return day_period(d);
    case PeriodKind::week: return week_period(d);
    case PeriodKind::month: {
      date::year_month_day ymd{d};
      return month_period(ymd.year() / ymd.month());
    }
    case PeriodKind::year: return year_period(date::year_month_day{d}.year());
    case PeriodKind::range: break;
  }
  return day_period(d);
}

PeriodKind kind_of(OrderType t) {
  switch (t) {
    case OrderType::daily: return PeriodKind::day;
    case OrderType::weekly: return PeriodKind::week;
    default: return PeriodKind::month;
  }
}

PeriodKind kind_of(Chunk c) {
  switch (c) {
    case Chunk::day: return PeriodKind::day;
    case Chunk::week: return PeriodKind::week;
    case Chunk::month: return PeriodKind::month;
    case Chunk::year: return PeriodKind::year;
    case Chunk::whole: return PeriodKind::range;
  }
  return PeriodKind::month;
}

// The calendar periods of `kind` from the one holding lo through the one holding hi, each clipped
// to clip_first..clip_last (one-off chunks; subscriptions pass no clipping).
std::vector<Period> walk(PeriodKind kind, local_days lo, local_days hi, std::optional<local_days> clip_first,
                         std::optional<local_days> clip_last) {
  std::vector<Period> out;
  for (local_days d = lo; d <= hi;) {
    Period p = period_containing(kind, d);
    d = p.last + date::days{1};
    if (clip_first || clip_last) {
      local_days f = clip_first ? std::max(p.first, *clip_first) : p.first;
      local_days l = clip_last ? std::min(p.last, *clip_last) : p.last;
      p = span_period(f, l);
    }
    out.push_back(p);
  }
  return out;
}

}  // namespace

Period day_period(local_days d) { return {PeriodKind::day, d, d}; }

Period week_period(local_days any_day_in_week) {
  local_days monday = monday_of(any_day_in_week);
  return {PeriodKind::week, monday, monday + date::days{6}};
}

Period month_period(date::year_month ym) {
  return {PeriodKind::month, local_days{ym / 1}, local_days{ym / date::last}};
}

Period year_period(date::year y) {
  return {PeriodKind::year, local_days{y / date::January / 1}, local_days{y / date::December / 31}};
}

Period span_period(local_days first, local_days last) {
  for (PeriodKind k : {PeriodKind::day, PeriodKind::week, PeriodKind::month, PeriodKind::year}) {
    Period p = period_containing(k, first);
    if (p.first == first && p.last == last) return p;
  }
  return {PeriodKind::range, first, last};
}

std::string Period::name() const {
  std::string out;
  out.reserve(22);
  switch (kind) {
    case PeriodKind::day: put_date(out, first); break;
    case PeriodKind::week: put_week(out, first); break;
    case PeriodKind::month: put_month(out, first); break;
    case PeriodKind::year: put_digits(out, static_cast<int>(date::year_month_day{first}.year()), 4); break;
    case PeriodKind::range:
      put_date(out, first);
      out += "..";
      put_date(out, last);
      break;
  }
  return out;
}

std::optional<Period> Period::parse(std::string_view s) {
  if (s.size() == 4) {
    int y = digits_at(s, 0, 4);
    if (y < 0) return std::nullopt;
    return year_period(date::year{y});
  }
  if (s.size() == 7 && s[4] == '-') {
    int y = digits_at(s, 0, 4), m = digits_at(s, 5, 2);
    if (y < 0 || m < 1 || m > 12) return std::nullopt;
    return month_period(date::year{y} / date::month{static_cast<unsigned>(m)});
  }
  if (s.size() == 8 && s[4] == '-' && s[5] == 'W') {
    int y = digits_at(s, 0, 4), w = digits_at(s, 6, 2);
    if (y < 0 || w < 1) return std::nullopt;
    auto last = iso_week::year_lastweek{iso_week::year{y}}.weeknum();
    if (static_cast<unsigned>(w) > static_cast<unsigned>(last)) return std::nullopt;
    iso_week::year_weeknum_weekday mon{iso_week::year{y}, iso_week::weeknum{static_cast<unsigned>(w)},
                                       iso_week::mon};
    return week_period(local_days{mon});
  }
  if (s.size() == 10) {
    auto d = parse_date(s);
    if (!d) return std::nullopt;
    return day_period(*d);
  }
  if (s.size() == 22 && s.substr(10, 2) == "..") {
    auto f = parse_date(s.substr(0, 10)), l = parse_date(s.substr(12));
    if (!f || !l || *l < *f) return std::nullopt;
    Period p = span_period(*f, *l);
    if (p.kind != PeriodKind::range) return std::nullopt;  // it has a shorter, canonical name
    return p;
  }
  return std::nullopt;
}

Instant Period::end_instant(const date::time_zone* tz) const {
  return local_to_instant(date::local_seconds{last + date::days{1}}, tz);
}

std::string partition_name(Frequency f, local_days d) {
  std::string out;
  switch (f) {
    case Frequency::daily: put_date(out, d); break;
    case Frequency::weekly: put_week(out, d); break;
    case Frequency::monthly: put_month(out, d); break;
  }
  return out;
}

Period partition_span(Frequency f, local_days d) {
  switch (f) {
    case Frequency::daily: return day_period(d);
    case Frequency::weekly: return week_period(d);
    case Frequency::monthly: break;
  }
  date::year_month_day ymd{d};
  return month_period(ymd.year() / ymd.month());
}

local_days placing_day(Frequency f, const Period& span) {
  return f == Frequency::weekly ? span.first + date::days{3} : span.first;
}

std::vector<Period> partitions_in(Frequency f, const Period& period) {
  std::vector<Period> out;
  for (Period span = partition_span(f, period.first); span.first <= period.last;
       span = partition_span(f, span.last + date::days{1})) {
    local_days placed = placing_day(f, span);
    if (placed >= period.first && placed <= period.last) out.push_back(span);
  }
  return out;
}

std::vector<Period> order_periods(const Order& order, local_days up_to) {
  return order_periods(order, local_days::min(), up_to);
}

std::vector<Period> order_periods(const Order& order, local_days from, local_days to) {
  if (order.is_subscription()) {
    if (!order.start) return {};
    local_days lo = std::max(local_days{*order.start}, from);
    local_days hi = order.end ? std::min(local_days{*order.end}, to) : to;
    if (hi < lo) return {};
    return walk(kind_of(order.type), lo, hi, std::nullopt, std::nullopt);
  }
  if (!order.from || !order.to) return {};
  local_days first{*order.from}, last{*order.to};
  if (last < first) return {};
  if (order.chunk == Chunk::whole) {
    if (last < from || to < first) return {};
    return {span_period(first, last)};
  }
  local_days lo = std::max(first, from), hi = std::min(last, to);
  if (hi < lo) return {};
  return walk(kind_of(order.chunk), lo, hi, first, last);
}

local_days local_day(Instant t, const date::time_zone* tz) {
  return date::floor<date::days>(tz->to_local(t));
}

Instant local_to_instant(date::local_seconds t, const date::time_zone* tz) {
  // date's to_sys with choose::earliest gives the earlier instant of an ambiguous time and, for a
  // time in a gap, the transition itself: the first instant after the gap.
  return tz->to_sys(t, date::choose::earliest);
}

std::string format_offset(Instant t, const date::time_zone* tz) {
  auto offset = tz->get_info(t).offset;
  std::string out;
  out += offset < 0s ? '-' : '+';
  auto minutes = std::chrono::abs(std::chrono::duration_cast<std::chrono::minutes>(offset)).count();
  put_digits(out, static_cast<int>(minutes / 60), 2);
  out += ':';
  put_digits(out, static_cast<int>(minutes % 60), 2);
  return out;
}

namespace {
std::string format_local(Instant t, const date::time_zone* tz, char sep, bool seconds) {
  auto info = tz->get_info(t);
  date::local_seconds local{t.time_since_epoch() + info.offset};
  auto day = date::floor<date::days>(local);
  date::hh_mm_ss<std::chrono::seconds> tod{local - day};
  std::string out;
  put_date(out, day);
  out += sep;
  put_digits(out, static_cast<int>(tod.hours().count()), 2);
  out += ':';
  put_digits(out, static_cast<int>(tod.minutes().count()), 2);
  if (seconds) {
    out += ':';
    put_digits(out, static_cast<int>(tod.seconds().count()), 2);
  }
  return out;
}
}  // namespace

std::string format_local_iso(Instant t, const date::time_zone* tz) {
  return format_local(t, tz, 'T', true) + format_offset(t, tz);
}

std::string format_local_short(Instant t, const date::time_zone* tz) {
  return format_local(t, tz, ' ', false);
}

std::optional<Instant> parse_instant(std::string_view s, const date::time_zone* tz) {
  auto day = parse_date(s.substr(0, std::min<size_t>(s.size(), 10)));
  if (!day) return std::nullopt;
  if (s.size() == 10) return local_to_instant(date::local_seconds{*day}, tz);
  if (s.size() < 16 || (s[10] != 'T' && s[10] != ' ') || s[13] != ':') return std::nullopt;
  int h = digits_at(s, 11, 2), m = digits_at(s, 14, 2), sec = 0;
  size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    sec = digits_at(s, 17, 2);
    pos = 19;
  }
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59) return std::nullopt;
  date::local_seconds local = date::local_seconds{*day} + std::chrono::hours{h} + std::chrono::minutes{m} +
                              std::chrono::seconds{sec};
  std::string_view zone = s.substr(std::min(pos, s.size()));
  if (zone.empty()) return local_to_instant(local, tz);
  if (zone == "Z") return Instant{local.time_since_epoch()};
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') return std::nullopt;
  int oh = digits_at(zone, 1, 2), om = digits_at(zone, 4, 2);
  if (oh < 0 || oh > 14 || om < 0 || om > 59) return std::nullopt;
  auto offset = std::chrono::hours{oh} + std::chrono::minutes{om};
  return Instant{local.time_since_epoch() - (zone[0] == '+' ? offset : -offset)};
}

const date::time_zone* zone_of(const Settings& settings) {
  try {
    return date::locate_zone(settings.timezone);
  } catch (const std::exception&) {
    return date::locate_zone("Etc/UTC");
  }
}

}  // namespace flis
