// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The warehouse layout: which partitions a period needs, where each partition and municipality
// folder lies, when a partition counts as processed, listing, and reading a path back.
#define BOOST_TEST_MODULE jobs_warehouse
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <map>

#include "jobs/warehouse.h"
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

BOOST_AUTO_TEST_CASE(folders_are_source_interface_partition_then_the_three_digit_municipality) {
  Partition p{Source::DSA, "CPR_PERSON", "2026-11-25"};
  BOOST_TEST(partition_folder(p) == p.key());
  BOOST_TEST(municipality_folder(p, 101) == "DSA/CPR_PERSON/2026-11-25/101");
  BOOST_TEST(municipality_folder(Partition{Source::legacy, "LOEN_RAW", "2026-10"}, 85) == "legacy/LOEN_RAW/2026-10/085");
  BOOST_TEST(interface_path("/srv/wh", Source::DM, "DM_BORGER") == std::filesystem::path("/srv/wh/DM/DM_BORGER"));
}

BOOST_AUTO_TEST_CASE(a_partition_part_that_is_not_one_plain_folder_name_is_refused) {
  BOOST_TEST(check_partition({Source::DSA, "CPR_PERSON", "2026-11-25"}).ok());
  for (const Partition& bad : {Partition{Source::DSA, "", "2026-11"}, Partition{Source::DSA, "..", "2026-11"},
                               Partition{Source::DSA, "CPR_PERSON", "."}, Partition{Source::DSA, "A/B", "2026-11"},
                               Partition{Source::DSA, "CPR_PERSON", "../../etc"}}) {
    Status s = check_partition(bad);
    BOOST_TEST(!s.ok(), bad.key());
    BOOST_TEST(s.message().find("plain folder name") != std::string::npos, s.message());
  }
}

BOOST_AUTO_TEST_CASE(an_interface_folder_lists_its_partitions_with_their_markers) {
  TempDir tmp;
  Warehouse wh(tmp.path());
  wh.land("DSA", "CPR_PERSON", "2026-11-24", 101);
  wh.process("DSA", "CPR_PERSON", "2026-11-25");
  std::ofstream(interface_path(tmp.path(), Source::DSA, "CPR_PERSON") / "stray-file");  // not a partition
  auto found = list_partitions(interface_path(tmp.path(), Source::DSA, "CPR_PERSON"));
  std::map<std::string, bool> got;
  for (const auto& f : found) got[f.name] = f.processed;
  BOOST_TEST((got == std::map<std::string, bool>{{"2026-11-24", false}, {"2026-11-25", true}}));
  BOOST_TEST(list_partitions(tmp.path() / "DSA" / "NOT_THERE").empty());
}

BOOST_AUTO_TEST_CASE(a_change_in_the_warehouse_reads_back_as_the_partition_it_names) {
  const std::filesystem::path wh = "/srv/warehouse";
  auto marker = partition_at(wh, wh / "DSA/CPR_PERSON/2026-11-25", "_PROCESSED");
  BOOST_TEST_REQUIRE(marker.has_value());
  BOOST_TEST(marker->key() == "DSA/CPR_PERSON/2026-11-25");
  auto folder = partition_at(wh / "", wh / "DM/DM_BORGER", "2026-10");  // a new partition folder
  BOOST_TEST_REQUIRE(folder.has_value());
  BOOST_TEST((folder->source == Source::DM));
  BOOST_TEST(folder->name == "2026-10");
  BOOST_TEST(!partition_at(wh, wh / "DSA", "CPR_PERSON").has_value());       // an interface folder
  BOOST_TEST(!partition_at(wh, wh / "NOPE/X/2026-10", "_PROCESSED").has_value());  // no such source
  BOOST_TEST(!partition_at(wh, "/elsewhere/DSA/CPR_PERSON", "2026-10").has_value());
}
