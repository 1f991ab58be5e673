// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Periods: the local calendar spans a package covers.
//
// A period is a range of civil dates in the configured time zone. Dates are held as
// date::local_days so a period never depends on DST: 2026-03-29 in Copenhagen is one period of 23
// hours and 2026-10-25 one of 25, never skipped or repeated. Only expected times and the instant a
// period ends are converted to UTC, through the time zone.
//
// Local times that a DST change makes ambiguous or impossible are converted by one rule
// (local_to_instant): a time in the spring-forward gap means the instant the gap ends (02:30 on
// 2026-03-29 in Copenhagen is 03:00 CEST), and a time that happens twice means the earlier of the
// two (02:30 on 2026-10-25 is 02:30 CEST).
//
// Thread-safety: everything here is a pure function or a value type; the time_zone pointers come
// from date::locate_zone and are immutable.
#pragma once

#include <cstdint>

#include <date/date.h>
#include <date/tz.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "config/model.h"

namespace flis {

enum class PeriodKind : uint8_t { day, week, month, year, range };

struct Period {
  PeriodKind kind = PeriodKind::day;
  date::local_days first;  // inclusive
  date::local_days last;   // inclusive

  // The canonical name of §5: "2026-11-25", "2026-W48", "2026-11", "2026" or
  // "2019-03-15..2019-03-31" for a one-off chunk that is not a whole calendar period.
  std::string name() const;
  // Inverse of name(); nullopt for anything that is not a canonical, real period ("2025-W53",
  // "2026-02-30" and "2019-03-01..2019-03-31", which is named "2019-03", are all refused).
  static std::optional<Period> parse(std::string_view name);

  // The instant the period is over (its last day's following midnight, local, through tz).
  Instant end_instant(const date::time_zone* tz) const;
  bool contains(date::local_days d) const { return first <= d && d <= last; }

  friend bool operator==(const Period&, const Period&) = default;
  friend auto operator<=>(const Period& a, const Period& b) {
    if (auto c = a.first <=> b.first; c != 0) return c;
    return a.last <=> b.last;
  }
};

Period day_period(date::local_days d);
Period week_period(date::local_days any_day_in_week);  // ISO week, Monday..Sunday
Period month_period(date::year_month ym);
Period year_period(date::year y);
// first..last as a period: a calendar kind when it is exactly a day, ISO week, month or year
// (checked in that order), a `range` otherwise. Requires first <= last.
Period span_period(date::local_days first, date::local_days last);

// Partition name of a frequency for the partition holding day d: "2026-11-25", "2026-W48", "2026-11".
std::string partition_name(Frequency f, date::local_days d);

// Partition placement, the one rule for it: a partition of frequency f spans partition_span(f, d)
// (the day, ISO week or month holding d) and belongs to the package whose period holds its placing
// day: a day itself, a week's Thursday, a month's first day. So every partition falls in exactly
// one period of each kind: none is delivered twice, none skipped.
Period partition_span(Frequency f, date::local_days d);
date::local_days placing_day(Frequency f, const Period& span);
// The partitions of frequency f that belong to `period`, oldest first.
std::vector<Period> partitions_in(Frequency f, const Period& period);

// The periods a subscription delivers, oldest first, from its start to min(end, up_to) inclusive
// of any period that has begun by up_to. One-off orders: the chunks of from..to, oldest first.
// An order without start (or one-off without from/to) has no periods.
std::vector<Period> order_periods(const Order& order, date::local_days up_to);
// The periods of an order (as above) that overlap from..to, oldest first. Costs in proportion to
// the window, not to the order's history.
std::vector<Period> order_periods(const Order& order, date::local_days from, date::local_days to);

// The local civil date of an instant in tz.
date::local_days local_day(Instant t, const date::time_zone* tz);
// A local wall-clock time as an instant, by the DST rule at the top of this file.
Instant local_to_instant(date::local_seconds t, const date::time_zone* tz);

// The configured time zone. Validation refuses a zone the tz database does not know, so the
// fallback to UTC only guards a hand-built Config: plan in UTC rather than crash the daemon.
const date::time_zone* zone_of(const Settings& settings);

// "2026-12-04T06:00:00+01:00": an instant as local ISO 8601 with its true UTC offset.
std::string format_local_iso(Instant t, const date::time_zone* tz);
// "2026-12-04 06:00": for tables.
std::string format_local_short(Instant t, const date::time_zone* tz);
// "+01:00": the UTC offset in force at t.
std::string format_offset(Instant t, const date::time_zone* tz);
// Parses "2026-12-04T06:00:00+01:00", "2026-12-04T05:00:00Z", or a local "2026-12-04 06:00[:00]"
// / "2026-12-04T06:00" / "2026-12-04" (interpreted in tz); for --now and --from/--to.
std::optional<Instant> parse_instant(std::string_view text, const date::time_zone* tz);

}  // namespace flis
