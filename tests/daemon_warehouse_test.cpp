// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Which warehouse partitions a period needs, and when a partition counts as processed.
#define BOOST_TEST_MODULE daemon_warehouse
#include <boost/test/unit_test.hpp>

#include <map>

#include "daemon/warehouse.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;

namespace {
using Names = std::vector<std::string>;

Names keys(const std::vector<Partition>& parts) {
  Names out;
  for (const auto& p : parts) out.push_back(p.key());
  return out;
}

Config catalogue_only() { return ConfigBuilder().standard_catalogue().build(); }

Order order_on(OrderType type, std::vector<std::string> interfaces, Source source = Source::DSA) {
  Order o;
  o.id = "K101";
  o.municipality = 101;
  o.type = type;
  o.source = source;
  o.interfaces = std::move(interfaces);
  return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(a_daily_interface_gives_every_day_of_a_month) {
  auto parts = partitions_for(catalogue_only(), order_on(OrderType::monthly, {"CPR_PERSON"}), period("2026-11"));
  BOOST_TEST(parts.size() == 30u);
  BOOST_TEST(parts.front().key() == "DSA/CPR_PERSON/2026-11-01");
  BOOST_TEST(parts.back().key() == "DSA/CPR_PERSON/2026-11-30");
}

BOOST_AUTO_TEST_CASE(a_leap_february_has_29_daily_partitions) {
  auto parts = partitions_for(catalogue_only(), order_on(OrderType::monthly, {"CPR_PERSON"}), period("2028-02"));
  BOOST_TEST(parts.size() == 29u);
  BOOST_TEST(parts.back().name == "2028-02-29");
}

BOOST_AUTO_TEST_CASE(a_weekly_interface_gives_the_weeks_whose_thursday_is_in_the_month) {
  auto order = order_on(OrderType::monthly, {"SYGDOM_UGE"});
  // Thursday 2026-12-31 puts week 53 (Mon 28 Dec .. Sun 3 Jan) in December, not in January.
  BOOST_TEST(keys(partitions_for(catalogue_only(), order, period("2026-12"))) ==
             (Names{"DSA/SYGDOM_UGE/2026-W49", "DSA/SYGDOM_UGE/2026-W50", "DSA/SYGDOM_UGE/2026-W51",
                    "DSA/SYGDOM_UGE/2026-W52", "DSA/SYGDOM_UGE/2026-W53"}));
  BOOST_TEST(keys(partitions_for(catalogue_only(), order, period("2027-01"))) ==
             (Names{"DSA/SYGDOM_UGE/2027-W01", "DSA/SYGDOM_UGE/2027-W02", "DSA/SYGDOM_UGE/2027-W03",
                    "DSA/SYGDOM_UGE/2027-W04"}));
}

BOOST_AUTO_TEST_CASE(every_week_belongs_to_exactly_one_month) {
  std::map<std::string, int> seen;
  auto order = order_on(OrderType::monthly, {"SYGDOM_UGE"});
  for (auto ym = date::year{2025} / 1; ym <= date::year{2028} / 12; ym += date::months{1})
    for (const auto& p : partitions_for(catalogue_only(), order, month_period(ym))) ++seen[p.name];
  int weeks = 0;
  for (auto d = day("2025-01-02"); d <= day("2028-12-28"); d += date::weeks{1}, ++weeks)
    BOOST_TEST(seen[partition_name(Frequency::weekly, d)] == 1, partition_name(Frequency::weekly, d));
  BOOST_TEST(seen.size() == static_cast<size_t>(weeks));
}

BOOST_AUTO_TEST_CASE(a_weekly_order_takes_its_own_week) {
  auto parts = partitions_for(catalogue_only(), order_on(OrderType::weekly, {"SYGDOM_UGE"}), period("2026-W53"));
  BOOST_TEST(keys(parts) == (Names{"DSA/SYGDOM_UGE/2026-W53"}));
}

BOOST_AUTO_TEST_CASE(a_monthly_interface_gives_the_month_and_interfaces_keep_their_listed_order) {
  auto order = order_on(OrderType::monthly, {"LOEN_ANSAT", "BOLIG"});
  BOOST_TEST(keys(partitions_for(catalogue_only(), order, period("2026-11"))) ==
             (Names{"DSA/LOEN_ANSAT/2026-11", "DSA/BOLIG/2026-11"}));
}

BOOST_AUTO_TEST_CASE(a_year_chunk_takes_the_months_whose_first_day_it_holds) {
  Order o = order_on(OrderType::one_off, {"LOEN_ANSAT"});
  BOOST_TEST(partitions_for(catalogue_only(), o, period("2019")).size() == 12u);
  BOOST_TEST(keys(partitions_for(catalogue_only(), o, period("2019-03-15..2019-05-31"))) ==
             (Names{"DSA/LOEN_ANSAT/2019-04", "DSA/LOEN_ANSAT/2019-05"}));
}

BOOST_AUTO_TEST_CASE(datamart_orders_read_their_datamarts_under_source_dm) {
  auto parts = partitions_for(catalogue_only(), order_on(OrderType::monthly, {"DM_BORGER", "DM_OEKONOMI"}, Source::DM),
                              period("2026-10"));
  BOOST_TEST(keys(parts) == (Names{"DM/DM_BORGER/2026-10", "DM/DM_OEKONOMI/2026-10"}));
}

BOOST_AUTO_TEST_CASE(a_partition_is_processed_only_once_its_marker_exists) {
  TempDir tmp;
  Warehouse wh(tmp.path());
  Partition p{Source::DSA, "CPR_PERSON", "2026-11-25"};
  BOOST_TEST(partition_path(tmp.path(), p) == tmp.path() / "DSA" / "CPR_PERSON" / "2026-11-25");
  BOOST_TEST(!partition_processed(tmp.path(), p));  // nothing there
  wh.land("DSA", "CPR_PERSON", "2026-11-25", 101);
  BOOST_TEST(!partition_processed(tmp.path(), p));  // files landed, FLIS not done with them
  wh.process("DSA", "CPR_PERSON", "2026-11-25");
  BOOST_TEST(partition_processed(tmp.path(), p));
  BOOST_TEST(!partition_processed(tmp.path(), Partition{Source::legacy, "CPR_PERSON", "2026-11-25"}));
}
