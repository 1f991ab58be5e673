// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Periods, their names and local time through the time zone (§4).
#define BOOST_TEST_MODULE config_period
#include <boost/test/unit_test.hpp>

#include "config/period.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;
using namespace std::chrono_literals;

namespace {
std::vector<std::string> names(const std::vector<Period>& periods) {
  std::vector<std::string> out;
  for (const auto& p : periods) out.push_back(p.name());
  return out;
}
using Names = std::vector<std::string>;
}  // namespace

BOOST_AUTO_TEST_SUITE(names_and_parsing)

BOOST_AUTO_TEST_CASE(calendar_periods_have_the_package_names_of_section_5) {
  BOOST_TEST(day_period(day("2026-11-25")).name() == "2026-11-25");
  BOOST_TEST(week_period(day("2026-11-25")).name() == "2026-W48");
  BOOST_TEST(month_period(date::year{2026} / 11).name() == "2026-11");
  BOOST_TEST(year_period(date::year{2026}).name() == "2026");
  BOOST_TEST(span_period(day("2019-03-15"), day("2019-03-31")).name() == "2019-03-15..2019-03-31");
}

BOOST_AUTO_TEST_CASE(every_name_parses_back_to_its_period) {
  for (const char* n : {"2026-11-25", "2026-W48", "2026-W53", "2026-11", "2026", "2019-03-15..2019-03-31",
                        "2028-02-29", "2027-W01"}) {
    auto p = Period::parse(n);
    BOOST_TEST_REQUIRE(p.has_value(), n);
    BOOST_TEST(p->name() == n);
  }
}

BOOST_AUTO_TEST_CASE(parse_refuses_what_is_not_a_real_canonical_period) {
  for (const char* n : {"2026-02-29", "2026-13", "2026-00", "2025-W53", "2026-W00", "2026-W54", "26-11",
                        "2026-11-5", "2026/11/25", "", "2019-03-31..2019-03-15", "2019-03-01..2019-03-31",
                        "2019-03-15..2019-03-15", "2026-11-25x", "abcd"})
    BOOST_TEST(!Period::parse(n).has_value(), "'" << n << "' should be refused");
}

BOOST_AUTO_TEST_CASE(a_span_that_is_exactly_a_calendar_period_takes_its_name) {
  BOOST_TEST(span_period(day("2019-03-01"), day("2019-03-31")).name() == "2019-03");
  BOOST_TEST(span_period(day("2019-01-01"), day("2019-12-31")).name() == "2019");
  BOOST_TEST(span_period(day("2026-12-28"), day("2027-01-03")).name() == "2026-W53");
  BOOST_TEST(span_period(day("2019-03-15"), day("2019-03-15")).name() == "2019-03-15");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(iso_weeks)

BOOST_AUTO_TEST_CASE(week_53_of_2026_runs_from_monday_28_december_to_sunday_3_january) {
  Period w = week_period(day("2026-12-31"));
  BOOST_TEST(w.name() == "2026-W53");
  BOOST_TEST((w.first == day("2026-12-28")));
  BOOST_TEST((w.last == day("2027-01-03")));
  BOOST_TEST(week_period(day("2027-01-03")).name() == "2026-W53");
  BOOST_TEST(week_period(day("2027-01-04")).name() == "2027-W01");
  BOOST_TEST((Period::parse("2026-W53")->first == day("2026-12-28")));
}

BOOST_AUTO_TEST_CASE(a_week_is_named_by_its_iso_year_not_its_calendar_year) {
  // 2024-12-30 is a Monday whose Thursday is 2025-01-02: ISO week 2025-W01.
  BOOST_TEST(week_period(day("2024-12-31")).name() == "2025-W01");
  BOOST_TEST(partition_name(Frequency::weekly, day("2024-12-30")) == "2025-W01");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(local_time)

BOOST_AUTO_TEST_CASE(the_spring_forward_day_is_one_period_of_23_hours) {
  auto tz = copenhagen();
  Period d = day_period(day("2026-03-29"));
  Instant start = day_period(day("2026-03-28")).end_instant(tz);
  BOOST_TEST(format_local_iso(start, tz) == "2026-03-29T00:00:00+01:00");
  BOOST_TEST(format_local_iso(d.end_instant(tz), tz) == "2026-03-30T00:00:00+02:00");
  BOOST_TEST((d.end_instant(tz) - start == 23h));
}

BOOST_AUTO_TEST_CASE(the_fall_back_day_is_one_period_of_25_hours) {
  auto tz = copenhagen();
  Period d = day_period(day("2026-10-25"));
  Instant start = day_period(day("2026-10-24")).end_instant(tz);
  BOOST_TEST(format_local_iso(start, tz) == "2026-10-25T00:00:00+02:00");
  BOOST_TEST(format_local_iso(d.end_instant(tz), tz) == "2026-10-26T00:00:00+01:00");
  BOOST_TEST((d.end_instant(tz) - start == 25h));
}

BOOST_AUTO_TEST_CASE(offsets_printed_are_the_true_ones_in_winter_and_summer) {
  auto tz = copenhagen();
  BOOST_TEST(format_local_iso(at("2026-12-04T05:00:00Z"), tz) == "2026-12-04T06:00:00+01:00");
  BOOST_TEST(format_local_iso(at("2026-07-01T04:00:00Z"), tz) == "2026-07-01T06:00:00+02:00");
  BOOST_TEST(format_local_short(at("2026-07-01T04:00:00Z"), tz) == "2026-07-01 06:00");
  BOOST_TEST(format_offset(at("2026-07-01T04:00:00Z"), tz) == "+02:00");
}

BOOST_AUTO_TEST_CASE(a_local_time_in_the_spring_gap_means_the_end_of_the_gap) {
  auto tz = copenhagen();
  BOOST_TEST(format_local_iso(local_to_instant(local("2026-03-29 02:30"), tz), tz) == "2026-03-29T03:00:00+02:00");
}

BOOST_AUTO_TEST_CASE(a_local_time_that_happens_twice_means_the_earlier) {
  auto tz = copenhagen();
  Instant t = local_to_instant(local("2026-10-25 02:30"), tz);
  BOOST_TEST(format_local_iso(t, tz) == "2026-10-25T02:30:00+02:00");
  BOOST_TEST((t == at("2026-10-25T00:30:00Z")));
}

BOOST_AUTO_TEST_CASE(parse_instant_reads_offsets_utc_and_local_times) {
  auto tz = copenhagen();
  Instant expect = at("2026-12-04T05:00:00Z");
  for (const char* s : {"2026-12-04T06:00:00+01:00", "2026-12-04T05:00:00Z", "2026-12-04 06:00",
                        "2026-12-04T06:00", "2026-12-04 06:00:00", "2026-12-04T07:00:00+02:00"}) {
    auto t = parse_instant(s, tz);
    BOOST_TEST_REQUIRE(t.has_value(), s);
    BOOST_TEST((*t == expect), s);
  }
  BOOST_TEST((*parse_instant("2026-07-01", tz) == at("2026-06-30T22:00:00Z")));
}

BOOST_AUTO_TEST_CASE(parse_instant_refuses_nonsense) {
  auto tz = copenhagen();
  for (const char* s : {"", "now", "2026-13-01", "2026-02-30 06:00", "2026-12-04 25:00", "2026-12-04T06",
                        "2026-12-04T06:00+0100", "2026-12-04T06:00:00+01:00junk", "2026-12-04 6:00"})
    BOOST_TEST(!parse_instant(s, tz).has_value(), "'" << s << "' should be refused");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(order_periods_)

Order subscription(OrderType type, const std::string& start, const std::string& end) {
  Order o;
  o.id = "K101";
  o.type = type;
  o.start = ymd(start);
  o.end = ymd(end);
  return o;
}

Order one_off(const std::string& from, const std::string& to, Chunk chunk) {
  Order o;
  o.id = "K101-BACKFILL";
  o.type = OrderType::one_off;
  o.from = ymd(from);
  o.to = ymd(to);
  o.chunk = chunk;
  return o;
}

BOOST_AUTO_TEST_CASE(daily_periods_across_both_dst_changes_neither_skip_nor_repeat) {
  auto spring = order_periods(subscription(OrderType::daily, "2026-03-28", "2026-03-30"), day("2027-01-01"));
  BOOST_TEST(names(spring) == (Names{"2026-03-28", "2026-03-29", "2026-03-30"}));
  auto fall = order_periods(subscription(OrderType::daily, "2026-10-24", "2026-10-26"), day("2027-01-01"));
  BOOST_TEST(names(fall) == (Names{"2026-10-24", "2026-10-25", "2026-10-26"}));
}

BOOST_AUTO_TEST_CASE(a_subscription_stops_at_its_end_and_at_up_to) {
  auto o = subscription(OrderType::monthly, "2026-01-01", "2026-04-30");
  BOOST_TEST(names(order_periods(o, day("2027-01-01"))) == (Names{"2026-01", "2026-02", "2026-03", "2026-04"}));
  BOOST_TEST(names(order_periods(o, day("2026-02-01"))) == (Names{"2026-01", "2026-02"}));
}

BOOST_AUTO_TEST_CASE(weekly_periods_include_week_53) {
  auto o = subscription(OrderType::weekly, "2026-12-21", "2027-01-10");
  BOOST_TEST(names(order_periods(o, day("2027-12-31"))) == (Names{"2026-W52", "2026-W53", "2027-W01"}));
}

BOOST_AUTO_TEST_CASE(february_of_a_leap_year_has_29_daily_periods) {
  auto o = subscription(OrderType::daily, "2028-02-01", "2028-02-29");
  auto days = order_periods(o, day("2028-12-31"));
  BOOST_TEST(days.size() == 29u);
  BOOST_TEST(days.back().name() == "2028-02-29");
  BOOST_TEST((month_period(date::year{2028} / 2).last == day("2028-02-29")));
  BOOST_TEST((month_period(date::year{2027} / 2).last == day("2027-02-28")));
}

BOOST_AUTO_TEST_CASE(month_chunks_are_clipped_at_both_ends) {
  auto o = one_off("2019-03-15", "2019-06-10", Chunk::month);
  BOOST_TEST(names(order_periods(o, day("2027-01-01"))) ==
             (Names{"2019-03-15..2019-03-31", "2019-04", "2019-05", "2019-06-01..2019-06-10"}));
}

BOOST_AUTO_TEST_CASE(week_and_year_chunks_are_clipped_too) {
  auto weeks = one_off("2026-12-30", "2027-01-12", Chunk::week);
  BOOST_TEST(names(order_periods(weeks, day("2027-12-31"))) ==
             (Names{"2026-12-30..2027-01-03", "2027-W01", "2027-01-11..2027-01-12"}));
  auto years = one_off("2015-07-01", "2017-12-31", Chunk::year);
  BOOST_TEST(names(order_periods(years, day("2027-12-31"))) == (Names{"2015-07-01..2015-12-31", "2016", "2017"}));
}

BOOST_AUTO_TEST_CASE(a_whole_chunk_is_one_package_named_by_dates_unless_it_is_a_calendar_period) {
  BOOST_TEST(names(order_periods(one_off("2015-01-01", "2025-12-31", Chunk::whole), day("2027-01-01"))) ==
             (Names{"2015-01-01..2025-12-31"}));
  BOOST_TEST(names(order_periods(one_off("2019-01-01", "2019-12-31", Chunk::whole), day("2027-01-01"))) ==
             (Names{"2019"}));
}

BOOST_AUTO_TEST_CASE(the_window_form_gives_exactly_the_overlapping_periods) {
  auto o = subscription(OrderType::monthly, "2025-01-01", "2027-12-31");
  BOOST_TEST(names(order_periods(o, day("2026-02-15"), day("2026-04-01"))) ==
             (Names{"2026-02", "2026-03", "2026-04"}));
  auto chunks = one_off("2019-03-15", "2019-06-10", Chunk::month);
  BOOST_TEST(names(order_periods(chunks, day("2019-03-20"), day("2019-04-01"))) ==
             (Names{"2019-03-15..2019-03-31", "2019-04"}));
  BOOST_TEST(order_periods(chunks, day("2020-01-01"), day("2020-12-31")).empty());
}

BOOST_AUTO_TEST_SUITE_END()
