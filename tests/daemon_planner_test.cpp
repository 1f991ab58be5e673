// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The planner: every (order, period) with its state, expected time and missing
// partitions, as `flisctl plan` shows them. (What the daemon queues and when it wakes up is the
// Runner's: tests/daemon_runner_test.cpp.) The clock is injected; the warehouse is real.
#define BOOST_TEST_MODULE daemon_planner
#include <boost/test/unit_test.hpp>

#include <random>

#include "daemon/planner.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;

namespace {
using Names = std::vector<std::string>;

struct World {
  TempDir tmp;
  Warehouse wh{tmp.path() / "warehouse"};
  ConfigBuilder cfg{tmp.path() / "warehouse"};
  World() { cfg.standard_catalogue(); }
};

PlanWindow window(const std::string& from, const std::string& to) { return {day(from), day(to)}; }

const PlannedRun& find(const std::vector<PlannedRun>& runs, const std::string& order, const std::string& period) {
  for (const auto& r : runs)
    if (r.order == order && r.period.name() == period) return r;
  throw std::runtime_error("no run " + order + " " + period);
}

Names periods_of(const std::vector<PlannedRun>& runs) {
  Names out;
  for (const auto& r : runs) out.push_back(r.order + " " + r.period.name());
  return out;
}

std::string expected_str(const PlannedRun& r) {
  return r.expected ? format_local_iso(*r.expected, copenhagen()) : "unknown";
}
}  // namespace

BOOST_AUTO_TEST_SUITE(dst)

BOOST_AUTO_TEST_CASE(daily_orders_across_spring_forward_get_every_day_once_with_true_offsets) {
  World w;
  w.cfg.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-03-27", "2026-03-31");
  w.wh.process_days("DSA", "CPR_PERSON", day("2026-03-27"), day("2026-03-31"));
  auto runs = plan(w.cfg.build(), {}, at("2026-04-10 12:00"), window("2026-03-01", "2026-04-30"));
  BOOST_TEST(periods_of(runs) == (Names{"K101-CPR-D 2026-03-27", "K101-CPR-D 2026-03-28", "K101-CPR-D 2026-03-29",
                                        "K101-CPR-D 2026-03-30", "K101-CPR-D 2026-03-31"}));
  for (const auto& r : runs) BOOST_TEST(to_string(r.state) == "due");
  BOOST_TEST(expected_str(runs[0]) == "2026-03-28T06:00:00+01:00");
  BOOST_TEST(expected_str(runs[1]) == "2026-03-29T06:00:00+02:00");  // the morning after the change
  BOOST_TEST(expected_str(runs[2]) == "2026-03-30T06:00:00+02:00");
}

BOOST_AUTO_TEST_CASE(the_23_hour_day_ends_at_local_midnight_not_24_hours_after_it_began) {
  World w;
  w.cfg.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-03-29", "2026-03-29");
  w.wh.process("DSA", "CPR_PERSON", "2026-03-29");
  auto cfg = w.cfg.build();
  auto before = plan(cfg, {}, at("2026-03-29T21:59:59Z"), window("2026-03-29", "2026-03-29"));
  auto after = plan(cfg, {}, at("2026-03-29T22:00:00Z"), window("2026-03-29", "2026-03-29"));
  BOOST_TEST(to_string(before.at(0).state) == "future");
  BOOST_TEST(to_string(after.at(0).state) == "due");
}

BOOST_AUTO_TEST_CASE(daily_orders_across_fall_back_get_every_day_once_with_true_offsets) {
  World w;
  w.cfg.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-10-24", "2026-10-26");
  auto cfg = w.cfg.build();
  auto runs = plan(cfg, {}, at("2026-10-25 12:00"), window("2026-10-01", "2026-10-31"));
  BOOST_TEST(periods_of(runs) == (Names{"K101-CPR-D 2026-10-24", "K101-CPR-D 2026-10-25", "K101-CPR-D 2026-10-26"}));
  BOOST_TEST(expected_str(runs[0]) == "2026-10-25T06:00:00+01:00");
  BOOST_TEST(expected_str(runs[1]) == "2026-10-26T06:00:00+01:00");
  // The 25-hour day is still running at 23:30 local, after 24 hours have passed.
  auto late_evening = plan(cfg, {}, at("2026-10-25 23:30"), window("2026-10-25", "2026-10-25"));
  BOOST_TEST(to_string(late_evening.at(0).state) == "future");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(calendar)

BOOST_AUTO_TEST_CASE(week_53_is_expected_on_the_tuesday_after_it) {
  World w;
  w.cfg.subscription("K101-UGE", 101, OrderType::weekly, {"SYGDOM_UGE"}, "2026-12-21", "2027-01-10");
  auto runs = plan(w.cfg.build(), {}, at("2027-01-04 12:00"), window("2026-12-21", "2027-01-10"));
  BOOST_TEST(periods_of(runs) == (Names{"K101-UGE 2026-W52", "K101-UGE 2026-W53", "K101-UGE 2027-W01"}));
  const auto& w53 = find(runs, "K101-UGE", "2026-W53");
  BOOST_TEST(expected_str(w53) == "2027-01-05T06:00:00+01:00");
  BOOST_TEST(to_string(w53.state) == "waiting");
  BOOST_TEST(w53.missing == (Names{"DSA/SYGDOM_UGE/2026-W53"}));
}

BOOST_AUTO_TEST_CASE(a_monthly_order_on_a_weekly_interface_includes_week_53_in_december) {
  World w;
  w.cfg.subscription("K101-UGE-M", 101, OrderType::monthly, {"SYGDOM_UGE"}, "2026-12-01", "2027-01-31");
  auto runs = plan(w.cfg.build(), {}, at("2027-02-15 12:00"), window("2026-12-01", "2027-01-31"));
  const auto& dec = find(runs, "K101-UGE-M", "2026-12");
  BOOST_TEST(dec.missing.back() == "DSA/SYGDOM_UGE/2026-W53");
  BOOST_TEST(expected_str(dec) == "2027-01-05T06:00:00+01:00");  // week 53's Tuesday
  BOOST_TEST(find(runs, "K101-UGE-M", "2027-01").missing.front() == "DSA/SYGDOM_UGE/2027-W01");
}

BOOST_AUTO_TEST_CASE(a_monthly_order_on_a_daily_interface_is_expected_with_its_last_day) {
  World w;
  w.cfg.subscription("K101-CPR-M", 101, OrderType::monthly, {"CPR_PERSON"}, "2028-02-01", "2028-03-31");
  auto runs = plan(w.cfg.build(), {}, at("2028-02-15 12:00"), window("2028-02-01", "2028-02-29"));
  BOOST_TEST(runs.size() == 1u);
  BOOST_TEST(expected_str(runs[0]) == "2028-03-01T06:00:00+01:00");  // leap day + 1, 06:00
  BOOST_TEST(runs[0].missing.size() == 29u);
  BOOST_TEST(runs[0].missing.back() == "DSA/CPR_PERSON/2028-02-29");
}

BOOST_AUTO_TEST_CASE(month_end_a_monthly_period_is_not_over_until_local_midnight_after_its_last_day) {
  World w;
  w.cfg.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-12-31");
  w.wh.process("DSA", "LOEN_ANSAT", "2026-10");
  auto cfg = w.cfg.build();
  BOOST_TEST(to_string(plan(cfg, {}, at("2026-10-31 23:59"), window("2026-10-01", "2026-10-31")).at(0).state) ==
             "future");
  BOOST_TEST(to_string(plan(cfg, {}, at("2026-11-01 00:00"), window("2026-10-01", "2026-10-31")).at(0).state) ==
             "due");
}

BOOST_AUTO_TEST_CASE(the_monthly_calendar_is_overridden_per_fagsystem) {
  World w;
  w.cfg.month(date::year{2026} / 11, "2026-12-04 06:00", {{"OPUS", "2026-12-09 06:00"}});
  w.cfg.subscription("K101-BBR", 101, OrderType::monthly, {"BOLIG"}, "2026-11-01", "2026-11-30");
  w.cfg.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-11-01", "2026-11-30");
  w.cfg.subscription("K101-MIX", 101, OrderType::monthly, {"BOLIG", "LOEN_ANSAT"}, "2026-11-01", "2026-11-30");
  auto runs = plan(w.cfg.build(), {}, at("2026-12-05 12:00"), window("2026-11-01", "2026-11-30"));
  BOOST_TEST(expected_str(find(runs, "K101-BBR", "2026-11")) == "2026-12-04T06:00:00+01:00");
  BOOST_TEST(expected_str(find(runs, "K101-LOEN", "2026-11")) == "2026-12-09T06:00:00+01:00");
  // Rule 6: one package for several interfaces waits for the last of them.
  BOOST_TEST(expected_str(find(runs, "K101-MIX", "2026-11")) == "2026-12-09T06:00:00+01:00");
  BOOST_TEST(to_string(find(runs, "K101-BBR", "2026-11").state) == "late");
  BOOST_TEST(to_string(find(runs, "K101-LOEN", "2026-11").state) == "waiting");
}

BOOST_AUTO_TEST_CASE(a_month_missing_from_the_calendar_is_unknown_never_late_and_due_once_processed) {
  World w;
  w.cfg.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2027-01-01", "2027-12-31");
  auto cfg = w.cfg.build();
  auto runs = plan(cfg, {}, at("2027-06-01 12:00"), window("2027-01-01", "2027-01-31"));
  BOOST_TEST(!runs.at(0).expected.has_value());
  BOOST_TEST(to_string(runs.at(0).state) == "waiting");
  w.wh.process("DSA", "LOEN_ANSAT", "2027-01");
  runs = plan(cfg, {}, at("2027-06-01 12:00"), window("2027-01-01", "2027-01-31"));
  BOOST_TEST(to_string(runs.at(0).state) == "due");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(readiness)

BOOST_AUTO_TEST_CASE(landed_but_unprocessed_data_waits_then_turns_late_with_the_partition_listed) {
  World w;
  w.cfg.month(date::year{2026} / 10, "2026-11-05 06:00");
  w.cfg.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT", "BOLIG"}, "2026-10-01", "2026-12-31");
  w.wh.land("DSA", "LOEN_ANSAT", "2026-10", 101);  // files there, no _PROCESSED
  w.wh.process("DSA", "BOLIG", "2026-10");
  auto cfg = w.cfg.build();
  auto before = plan(cfg, {}, at("2026-11-05 05:59"), window("2026-10-01", "2026-10-31")).at(0);
  BOOST_TEST(to_string(before.state) == "waiting");
  BOOST_TEST(before.missing == (Names{"DSA/LOEN_ANSAT/2026-10"}));
  auto after = plan(cfg, {}, at("2026-11-05 06:00"), window("2026-10-01", "2026-10-31")).at(0);
  BOOST_TEST(to_string(after.state) == "late");
  BOOST_TEST(after.missing == (Names{"DSA/LOEN_ANSAT/2026-10"}));
  w.wh.process("DSA", "LOEN_ANSAT", "2026-10");
  auto ready = plan(cfg, {}, at("2026-11-05 06:00"), window("2026-10-01", "2026-10-31")).at(0);
  BOOST_TEST(to_string(ready.state) == "due");
  BOOST_TEST(ready.missing.empty());
}

BOOST_AUTO_TEST_CASE(a_daily_order_missing_one_day_lists_that_day) {
  World w;
  w.cfg.subscription("K101-CPR-M", 101, OrderType::monthly, {"CPR_PERSON"}, "2026-10-01", "2026-10-31");
  w.wh.process_days("DSA", "CPR_PERSON", day("2026-10-01"), day("2026-10-31"));
  std::filesystem::remove(w.wh.dir("DSA", "CPR_PERSON", "2026-10-17") / "_PROCESSED");
  auto r = plan(w.cfg.build(), {}, at("2026-11-10 12:00"), window("2026-10-01", "2026-10-31")).at(0);
  BOOST_TEST(to_string(r.state) == "late");
  BOOST_TEST(r.missing == (Names{"DSA/CPR_PERSON/2026-10-17"}));
}

BOOST_AUTO_TEST_CASE(delivered_periods_stay_delivered_whatever_the_warehouse_says) {
  World w;
  w.cfg.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-09-01", "2026-12-31");
  History h;
  h.delivered.insert({"K101-LOEN", period("2026-09")});
  auto runs = plan(w.cfg.build(), h, at("2026-11-20 12:00"), window("2026-09-01", "2026-10-31"));
  BOOST_TEST(to_string(find(runs, "K101-LOEN", "2026-09").state) == "delivered");
  BOOST_TEST(find(runs, "K101-LOEN", "2026-09").missing.empty());
  BOOST_TEST(to_string(find(runs, "K101-LOEN", "2026-10").state) == "waiting");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(orders)

BOOST_AUTO_TEST_CASE(one_off_orders_are_chunked_into_backfill_periods) {
  World w;
  w.cfg.one_off("K101-HIST", 101, {"LOEN_ANSAT"}, "2019-03-15", "2019-06-10", Chunk::month);
  w.cfg.subscription("K999-LOEN", 999, OrderType::monthly, {"LOEN_ANSAT"}, "2026-10-01", "2026-10-31");
  for (const char* m : {"2019-04", "2019-05", "2019-06", "2026-10"}) w.wh.process("DSA", "LOEN_ANSAT", m);
  auto cfg = w.cfg.build();
  auto planned = plan(cfg, {}, at("2026-11-10 12:00"), window("2019-01-01", "2019-12-31"));
  // 2019-03-15..2019-03-31 holds no month start, so it is due with nothing missing.
  BOOST_TEST(periods_of(planned).size() == 4u);
  BOOST_TEST(to_string(find(planned, "K101-HIST", "2019-03-15..2019-03-31").state) == "due");
  BOOST_TEST(find(planned, "K101-HIST", "2019-04").backfill);
  BOOST_TEST(!plan(cfg, {}, at("2026-11-10 12:00"), window("2026-10-01", "2026-10-31")).at(0).backfill);
}

BOOST_AUTO_TEST_CASE(datamart_orders_are_due_only_when_every_entitled_datamart_is_processed) {
  World w;
  w.cfg.month(date::year{2026} / 10, "2026-11-05 06:00");
  w.cfg.datamart(101, {"DM_BORGER", "DM_OEKONOMI"}, "2026-10-01");
  w.cfg.datamart(147, {"DM_BORGER"}, "2026-10-01");
  w.wh.process("DM", "DM_BORGER", "2026-10");
  auto cfg = w.cfg.build();
  auto runs = plan(cfg, {}, at("2026-11-06 12:00"), window("2026-10-01", "2026-12-31"));
  const auto& dm101 = find(runs, "DM-101", "2026-10");
  BOOST_TEST(to_string(dm101.state) == "late");
  BOOST_TEST(dm101.missing == (Names{"DM/DM_OEKONOMI/2026-10"}));
  BOOST_TEST(to_string(find(runs, "DM-147", "2026-10").state) == "due");
  // Open-ended: the coming months are planned too.
  BOOST_TEST(to_string(find(runs, "DM-101", "2026-12").state) == "future");
}

BOOST_AUTO_TEST_CASE(cancelled_and_deactivated_orders_get_no_new_runs_but_keep_their_history) {
  World w;
  w.cfg.one_off("K101-HIST", 101, {"LOEN_ANSAT"}, "2019-01-01", "2019-03-31", Chunk::month).status =
      OrderStatus::cancelled;
  w.cfg.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-09-01", "2026-12-31").status =
      OrderStatus::deactivated;
  for (const char* m : {"2019-01", "2019-02", "2019-03", "2026-09", "2026-10"}) w.wh.process("DSA", "LOEN_ANSAT", m);
  History h;
  h.delivered.insert({"K101-HIST", period("2019-01")});
  h.delivered.insert({"K101-LOEN", period("2026-09")});
  auto cfg = w.cfg.build();
  auto now = at("2026-11-10 12:00");
  auto runs = plan(cfg, h, now, window("2019-01-01", "2026-12-31"));
  BOOST_TEST(to_string(find(runs, "K101-HIST", "2019-01").state) == "delivered");
  BOOST_TEST(to_string(find(runs, "K101-HIST", "2019-02").state) == "cancelled");
  BOOST_TEST(to_string(find(runs, "K101-LOEN", "2026-09").state) == "delivered");
  BOOST_TEST(to_string(find(runs, "K101-LOEN", "2026-10").state) == "cancelled");
  BOOST_TEST(to_string(find(runs, "K101-LOEN", "2026-12").state) == "cancelled");
}

BOOST_AUTO_TEST_CASE(the_plan_does_not_depend_on_the_order_files_were_read_in) {
  World w;
  w.cfg.month(date::year{2026} / 10, "2026-11-05 06:00");
  for (int k : {101, 147, 151, 153, 155, 157, 159, 161}) {
    std::string id = "K" + std::to_string(k);
    w.cfg.subscription(id + "-LOEN", k, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2027-12-31");
    w.cfg.subscription(id + "-CPR", k, OrderType::daily, {"CPR_PERSON"}, "2026-10-20", "2027-12-31");
    w.cfg.one_off(id + "-HIST", k, {"BOLIG"}, "2026-09-10", "2026-10-31", Chunk::week);
  }
  w.cfg.datamart(101, {"DM_BORGER"}, "2026-01-01");
  w.wh.process("DSA", "LOEN_ANSAT", "2026-10");
  w.wh.process_days("DSA", "CPR_PERSON", day("2026-10-20"), day("2026-10-28"));
  Config sorted = w.cfg.build();
  auto now = at("2026-11-06 12:00");
  auto reference = plan(sorted, {}, now, window("2026-09-01", "2026-11-30"));
  BOOST_TEST(reference.size() > 100u);
  std::mt19937 rng(42);
  for (int round = 0; round < 5; ++round) {
    Config shuffled = sorted;
    std::shuffle(shuffled.orders.begin(), shuffled.orders.end(), rng);
    auto runs = plan(shuffled, {}, now, window("2026-09-01", "2026-11-30"));
    BOOST_TEST_REQUIRE(runs.size() == reference.size());
    for (size_t i = 0; i < runs.size(); ++i) {
      BOOST_TEST(runs[i].order == reference[i].order);
      BOOST_TEST(runs[i].period.name() == reference[i].period.name());
      BOOST_TEST(to_string(runs[i].state) == to_string(reference[i].state));
      BOOST_TEST(runs[i].missing == reference[i].missing);
    }
  }
}

BOOST_AUTO_TEST_CASE(plan_is_sorted_by_expected_time_then_order) {
  World w;
  w.cfg.month(date::year{2026} / 10, "2026-11-05 06:00");
  w.cfg.subscription("B-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-10-01", "2026-10-31");
  w.cfg.subscription("A-LOEN", 147, OrderType::monthly, {"LOEN_ANSAT"}, "2026-10-01", "2026-10-31");
  w.cfg.subscription("C-CPR", 101, OrderType::daily, {"CPR_PERSON"}, "2026-10-30", "2026-10-31");
  auto runs = plan(w.cfg.build(), {}, at("2026-11-10 12:00"), window("2026-10-01", "2026-10-31"));
  BOOST_TEST(periods_of(runs) ==
             (Names{"C-CPR 2026-10-30", "C-CPR 2026-10-31", "A-LOEN 2026-10", "B-LOEN 2026-10"}));
}

BOOST_AUTO_TEST_SUITE_END()
