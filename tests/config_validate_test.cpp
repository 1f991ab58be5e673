// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Validation: for each ordering rule and file-format rule a small configuration that breaks it, and the
// file, line (column where it matters) and message the sysadmin gets.
#define BOOST_TEST_MODULE config_validate
#include <boost/test/unit_test.hpp>

#include "config/kommuner.h"
#include "config/loader.h"
#include "config/yaml_reader.h"
#include "tests/support/config_tree.h"

using namespace flis;
using flis::test::ConfigTree;
using Sev = Diagnostic::Severity;

namespace {

// The one diagnostic expected, reported with everything that was found when it is not there.
const Diagnostic* expect(const LoadResult& r, Sev sev, const std::string& file, int line, const std::string& text) {
  const Diagnostic* d = flis::test::find_diag(r.diagnostics, sev, file, line, text);
  BOOST_CHECK_MESSAGE(d, "expected " << (sev == Sev::error ? "error" : "warning") << " at " << file << ":" << line
                                     << " containing \"" << text << "\"; got:\n"
                                     << flis::test::dump(r.diagnostics));
  return d;
}
const Diagnostic* expect_error(const LoadResult& r, const std::string& file, int line, const std::string& text) {
  return expect(r, Sev::error, file, line, text);
}

// An order file from lines "key: value"; line 1 is the id.
std::string order(std::initializer_list<std::string> lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

LoadResult with_order(const std::string& text) {
  static int n = 0;
  (void)n;
  ConfigTree t;
  t.write("orders/x.yaml", text);
  return t.load();
}

}  // namespace

BOOST_AUTO_TEST_CASE(base_tree_is_clean_and_has_the_generated_datamart_order) {
  ConfigTree t;
  auto r = t.load();
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.diagnostics.items().empty(), flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->orders.size() == 2u);
  BOOST_TEST(r.config->find_order("DM-101") != nullptr);
}

BOOST_AUTO_TEST_CASE(real_kommunekoder) {
  BOOST_TEST(kommune_count() == 98);
  BOOST_TEST(*kommune_name(101) == "København");
  BOOST_TEST(*kommune_name(860) == "Hjørring");
  BOOST_TEST(kommune_name(400).has_value());   // Bornholm
  BOOST_TEST(!kommune_name(411).has_value());  // Christiansø is not a kommune
}

// ---- orders: rules 1-6 ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(one_off_only_from_dsa) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: legacy", "delivery: flis",
                             "interfaces: [LOEN_RAW]", "from: 2024-12-31", "to: 2024-01-01", "start: 2024-01-01"}));
  BOOST_TEST(!r.config);
  auto d = expect_error(r, "orders/x.yaml", 4, "one-off order may only use source DSA");
  if (d) BOOST_TEST(d->pos.col == 9);
  // The rest of the order is still checked.
  expect_error(r, "orders/x.yaml", 8, "to 2024-01-01 is before from 2024-12-31");
  expect_error(r, "orders/x.yaml", 9, "'start' is only for subscriptions");
}

BOOST_AUTO_TEST_CASE(legacy_only_monthly) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: legacy", "delivery: flis",
                             "interfaces: [CPR_PERSON_RAW]", "start: 2026-11-01", "end: 2026-12-31"}));
  expect_error(r, "orders/x.yaml", 4, "legacy is allowed only for a monthly subscription");
}

BOOST_AUTO_TEST_CASE(datamarts_are_never_ordered_by_hand) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: monthly", "source: DM", "delivery: flis",
                             "interfaces: [DM_BORGER]", "start: 2026-01-01", "end: 2026-12-31"}));
  expect_error(r, "orders/x.yaml", 4, "entitlements in flisd.yaml");
}

BOOST_AUTO_TEST_CASE(interface_must_exist_with_did_you_mean) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON, CPR_ADRESE]", "start: 2026-11-01", "end: 2026-12-31"}));
  auto d = expect_error(r, "orders/x.yaml", 6, "unknown interface 'CPR_ADRESE'");
  if (d) {
    BOOST_TEST(d->message.find("did you mean 'CPR_ADRESSE'?") != std::string::npos);
    BOOST_TEST(d->pos.col == 26);
  }
}

BOOST_AUTO_TEST_CASE(interface_must_belong_to_the_source) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: monthly", "source: DSA", "delivery: flis",
                             "interfaces: [LOEN_RAW]", "start: 2026-01-01", "end: 2026-12-31"}));
  expect_error(r, "orders/x.yaml", 6, "belongs to source legacy, not DSA");
}

BOOST_AUTO_TEST_CASE(daily_order_cannot_take_weekly_or_monthly_interfaces) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON, SAGSBEHANDLING, LOEN_ANSAT]", "start: 2026-11-01",
                             "end: 2026-12-31"}));
  expect_error(r, "orders/x.yaml", 6, "SAGSBEHANDLING is received weekly, so it cannot be in a daily order");
  expect_error(r, "orders/x.yaml", 6, "LOEN_ANSAT is received monthly, so it cannot be in a daily order");
  BOOST_TEST(r.diagnostics.error_count() == 2);
}

BOOST_AUTO_TEST_CASE(weekly_order_cannot_take_monthly_interfaces) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: weekly", "source: DSA", "delivery: flis",
                             "interfaces: [SAGSBEHANDLING, LOEN_ANSAT]", "start: 2026-11-02", "end: 2026-12-31"}));
  expect_error(r, "orders/x.yaml", 6, "LOEN_ANSAT is received monthly, so it cannot be in a weekly order");
  BOOST_TEST(r.diagnostics.error_count() == 1);
}

BOOST_AUTO_TEST_CASE(monthly_and_one_off_take_any_frequency) {
  ConfigTree t;
  t.write("orders/m.yaml", order({"id: M1", "municipality: 101", "type: monthly", "source: DSA", "delivery: flis",
                                  "interfaces: [LOEN_ANSAT]", "start: 2026-01-01", "end: 2026-12-31"}));
  t.write("orders/o.yaml", order({"id: O1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                                  "interfaces: [CPR_PERSON, SAGSBEHANDLING, LOEN_ANSAT]", "from: 2020-01-01",
                                  "to: 2020-12-31"}));
  auto r = t.load();
  BOOST_TEST(r.diagnostics.error_count() == 0, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config != nullptr);
}

BOOST_AUTO_TEST_CASE(one_off_bounds_inside_a_weekly_or_monthly_partition_are_warned_about) {
  // 2020-03-15 is a Sunday (its week's Thursday, 03-12, is before it); 2020-06-10 a Wednesday (its
  // week's Thursday, 06-11, is after it).
  auto r = with_order(order({"id: O1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON, SAGSBEHANDLING, LOEN_ANSAT]", "from: 2020-03-15",
                             "to: 2020-06-10"}));
  BOOST_TEST(r.diagnostics.error_count() == 0, flis::test::dump(r.diagnostics));
  expect(r, Sev::warning, "orders/x.yaml", 7,
         "SAGSBEHANDLING comes in weekly partitions; 2020-W11 (2020-03-09..2020-03-15) is not delivered, though "
         "2020-03-15..2020-03-15 are in the order");
  expect(r, Sev::warning, "orders/x.yaml", 8,
         "SAGSBEHANDLING comes in weekly partitions; 2020-W24 (2020-06-08..2020-06-14) is not delivered, though "
         "2020-06-08..2020-06-10 are in the order");
  expect(r, Sev::warning, "orders/x.yaml", 7,
         "LOEN_ANSAT comes in monthly partitions; 2020-03 (2020-03-01..2020-03-31) is not delivered");
  expect(r, Sev::warning, "orders/x.yaml", 8,
         "LOEN_ANSAT comes in monthly partitions; 2020-06 (2020-06-01..2020-06-30) is delivered whole, including "
         "days outside 2020-03-15..2020-06-10");
  BOOST_TEST(r.diagnostics.warning_count() == 4, flis::test::dump(r.diagnostics));
  // On the bounds: no warning.
  r = with_order(order({"id: O1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                        "interfaces: [SAGSBEHANDLING, LOEN_ANSAT]", "from: 2020-03-01", "to: 2020-05-31"}));
  BOOST_TEST(r.diagnostics.warning_count() == 1, "2020-03-01 is a Sunday: its week 2020-W09 is cut; "
                                                 "2020-05-31 ends 2020-W22\n"
                                                 << flis::test::dump(r.diagnostics));
  r = with_order(order({"id: O1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                        "interfaces: [LOEN_ANSAT]", "from: 2020-03-01", "to: 2020-05-31"}));
  BOOST_TEST(r.diagnostics.warning_count() == 0, flis::test::dump(r.diagnostics));
}

BOOST_AUTO_TEST_CASE(subscription_needs_start_and_end) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]"}));
  expect_error(r, "orders/x.yaml", 1, "needs 'start'");
  expect_error(r, "orders/x.yaml", 1, "needs 'end'");
}

// FLIS did not exist before 2000: an earlier date is a typo (1026 for 2026) that would make
// hundreds of thousands of periods, so it is an error naming file, line and column.
BOOST_AUTO_TEST_CASE(dates_before_2000_are_refused) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "start: 1026-11-01", "end: 2026-11-30"}));
  BOOST_TEST(r.config == nullptr);
  auto d = expect_error(r, "orders/x.yaml", 7, "start 1026-11-01 is before 2000-01-01");
  if (d) BOOST_TEST(d->str().find("orders/x.yaml:7:8: error: start 1026-11-01 is before 2000-01-01") == 0u, d->str());
  auto one_off = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                                   "interfaces: [CPR_PERSON]", "from: 1999-12-31", "to: 2000-01-31"}));
  expect_error(one_off, "orders/x.yaml", 7, "from 1999-12-31 is before 2000-01-01");
  auto first_day = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                                     "interfaces: [CPR_PERSON]", "from: 2000-01-01", "to: 2000-01-31"}));
  BOOST_TEST(first_day.config != nullptr, flis::test::dump(first_day.diagnostics));

  ConfigTree t;
  std::string settings = flis::test::kBaseSettings;
  auto at = settings.find("start: ");
  BOOST_TEST_REQUIRE(at != std::string::npos, "the base settings have no datamarts.start");
  settings.replace(at, settings.find('\n', at) - at, "start: 1999-12");
  t.write("flisd.yaml", settings);
  auto dm = t.load();
  auto e = flis::test::find_diag(dm.diagnostics, Sev::error, "flisd.yaml", 0, "datamarts.start 1999-12 is before 2000-01");
  BOOST_TEST(e != nullptr, flis::test::dump(dm.diagnostics));
}

// More than 5000 periods in one order is almost surely a mistake: a warning at the first date.
BOOST_AUTO_TEST_CASE(an_order_with_more_than_5000_periods_is_warned_about) {
  auto daily = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                                 "interfaces: [CPR_PERSON]", "start: 2000-01-01", "end: 2026-12-31"}));
  BOOST_TEST(daily.config != nullptr, "a warning, not an error");
  auto d = expect(daily, Sev::warning, "orders/x.yaml", 7, "this order makes about 9862 periods (2000-01-01..2026-12-31)");
  if (d) BOOST_TEST(d->message.find("more than 5000") != std::string::npos, d->message);
  auto by_day = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                                  "interfaces: [CPR_PERSON]", "from: 2005-01-01", "to: 2020-12-31", "chunk: day"}));
  expect(by_day, Sev::warning, "orders/x.yaml", 7, "periods (2005-01-01..2020-12-31)");
  for (std::string chunk : {"week", "month", "whole"}) {
    auto fewer = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                                   "interfaces: [CPR_PERSON]", "from: 2005-01-01", "to: 2020-12-31", "chunk: " + chunk}));
    BOOST_TEST(!flis::test::find_diag(fewer.diagnostics, Sev::warning, "orders/x.yaml", 0, "periods ("), chunk);
  }
}

BOOST_AUTO_TEST_CASE(subscription_start_after_end) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "start: 2026-12-01", "end: 2026-11-30"}));
  auto d = expect_error(r, "orders/x.yaml", 8, "end 2026-11-30 is before start 2026-12-01");
  if (d) BOOST_TEST(d->pos.col == 6);
}

BOOST_AUTO_TEST_CASE(one_off_needs_from_and_to_in_order_and_no_start) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "from: 2024-12-31", "to: 2024-01-01",
                             "start: 2024-01-01"}));
  expect_error(r, "orders/x.yaml", 8, "to 2024-01-01 is before from 2024-12-31");
  expect_error(r, "orders/x.yaml", 9, "'start' is only for subscriptions");
  auto r2 = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                              "interfaces: [CPR_PERSON]"}));
  expect_error(r2, "orders/x.yaml", 1, "needs 'from'");
  expect_error(r2, "orders/x.yaml", 1, "needs 'to'");
}

BOOST_AUTO_TEST_CASE(subscription_takes_no_from_to_or_chunk) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31", "chunk: month",
                             "from: 2026-01-01"}));
  expect_error(r, "orders/x.yaml", 9, "'chunk' is only for one-off orders");
  expect_error(r, "orders/x.yaml", 10, "'from' is only for one-off orders");
}

BOOST_AUTO_TEST_CASE(rule6_warns_when_a_subscription_mixes_fagsystemer) {
  ConfigTree t;
  t.write("orders/x.yaml", order({"id: X1", "municipality: 101", "type: monthly", "source: DSA", "delivery: flis",
                                  "interfaces: [CPR_PERSON, LOEN_ANSAT]", "start: 2026-01-01", "end: 2026-12-31"}));
  auto r = t.load();
  BOOST_TEST(r.config != nullptr);
  BOOST_TEST(r.diagnostics.error_count() == 0);
  BOOST_TEST(r.diagnostics.warning_count() == 1);
  auto d = expect(r, Sev::warning, "orders/x.yaml", 6, "mixes interfaces of different fagsystemer");
  if (d) {
    BOOST_TEST(d->message.find("CPR: CPR_PERSON; OPUS: LOEN_ANSAT") != std::string::npos);
    BOOST_TEST(d->message.find("when the last of them is processed") != std::string::npos);
    BOOST_TEST(d->message.find("separately") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(ids_unique_across_files_naming_both) {
  ConfigTree t;
  t.write("orders/zz.yaml", flis::test::kBaseOrder);
  auto r = t.load();
  BOOST_TEST(!r.config);
  expect_error(r, "orders/zz.yaml", 1, "also the id of the order in orders/k101.yaml");
  expect_error(r, "orders/k101.yaml", 1, "also the id of the order in orders/zz.yaml");
}

BOOST_AUTO_TEST_CASE(a_duplicate_id_never_takes_over_an_order_on_reload) {
  ConfigTree t;
  auto good = t.load();
  BOOST_TEST_REQUIRE(good.config != nullptr);
  // A new file that claims the id of an existing order, with other interfaces.
  t.write("orders/a-new.yaml", "id: K101-CPR-DAILY\nmunicipality: 101\ntype: daily\nsource: DSA\n"
                               "delivery: flis\ninterfaces: [CPR_PERSON]\nstart: 2026-01-01\nend: 2026-12-31\n");
  auto reload = t.load(good.config.get());
  BOOST_TEST_REQUIRE(reload.config != nullptr);
  const Order* o = reload.config->find_order("K101-CPR-DAILY");
  BOOST_TEST_REQUIRE(o != nullptr);
  BOOST_TEST(o->pos.file == "orders/k101.yaml");
  BOOST_TEST(o->interfaces.size() == 2u);
}

BOOST_AUTO_TEST_CASE(ids_must_be_safe_file_names) {
  for (std::string bad : std::vector<std::string>{"../etc", "a..b", "-x", "a/b", "æøå", std::string(65, 'a')}) {
    auto r = with_order(order({"id: \"" + bad + "\"", "municipality: 101", "type: daily", "source: DSA",
                               "delivery: flis", "interfaces: [CPR_PERSON]", "start: 2026-11-01",
                               "end: 2026-12-31"}));
    BOOST_TEST_CONTEXT("id " << bad) { expect_error(r, "orders/x.yaml", 1, "is not allowed"); }
  }
}

BOOST_AUTO_TEST_CASE(user_id_may_not_take_a_generated_datamart_id) {
  auto r = with_order(order({"id: DM-101", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31"}));
  expect_error(r, "orders/x.yaml", 1, "generated datamart order of municipality 101");
}

BOOST_AUTO_TEST_CASE(status_values_depend_on_type) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31",
                             "status: cancelled"}));
  expect_error(r, "orders/x.yaml", 9, "status cancelled is for one-off orders");
  auto r2 = with_order(order({"id: X1", "municipality: 101", "type: one-off", "source: DSA", "delivery: flis",
                              "interfaces: [CPR_PERSON]", "from: 2024-01-01", "to: 2024-12-31",
                              "status: deactivated"}));
  expect_error(r2, "orders/x.yaml", 9, "status deactivated is for subscriptions");
  auto r3 = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                              "interfaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31",
                              "status: paused"}));
  expect_error(r3, "orders/x.yaml", 9, "allowed: active, cancelled, deactivated");
}

BOOST_AUTO_TEST_CASE(municipality_must_be_a_real_kommunekode) {
  for (std::string bad : {"411", "999", "100", "abc", "0101"}) {
    auto r = with_order(order({"id: X1", "municipality: " + bad, "type: daily", "source: DSA", "delivery: flis",
                               "interfaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31"}));
    BOOST_TEST_CONTEXT("municipality " << bad) {
      auto d = expect_error(r, "orders/x.yaml", 2, "is not a kommunekode");
      if (d) BOOST_TEST(d->pos.col == 15);
    }
  }
  auto ok = with_order(order({"id: X1", "municipality: 400", "type: daily", "source: DSA", "delivery: flis",
                              "interfaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31"}));
  BOOST_TEST(ok.config != nullptr, flis::test::dump(ok.diagnostics));
}

BOOST_AUTO_TEST_CASE(dates_must_be_real) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "start: 2026-02-30", "end: 2026-13-01"}));
  auto d = expect_error(r, "orders/x.yaml", 7, "'2026-02-30' is not a real date");
  if (d) BOOST_TEST(d->pos.col == 8);
  expect_error(r, "orders/x.yaml", 8, "'2026-13-01' is not a real date");
}

BOOST_AUTO_TEST_CASE(enum_values_with_the_allowed_list_and_did_you_mean) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: montly", "source: DSA", "delivery: sftp",
                             "interfaces: [CPR_PERSON]", "start: 2026-01-01", "end: 2026-12-31"}));
  auto d = expect_error(r, "orders/x.yaml", 3, "unknown type 'montly'; allowed: one-off, daily, weekly, monthly");
  if (d) BOOST_TEST(d->message.find("did you mean 'monthly'?") != std::string::npos);
  expect_error(r, "orders/x.yaml", 5, "unknown delivery 'sftp'; allowed: flis, serviceplatformen");
}

BOOST_AUTO_TEST_CASE(unknown_keys_with_did_you_mean) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "intefaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31", "colour: blue"}));
  auto d = expect_error(r, "orders/x.yaml", 6, "unknown key 'intefaces'");
  if (d) {
    BOOST_TEST(d->message.find("(did you mean 'interfaces'?)") != std::string::npos);
    BOOST_TEST(d->pos.col == 1);
  }
  auto d2 = expect_error(r, "orders/x.yaml", 9, "unknown key 'colour'");
  if (d2) BOOST_TEST(d2->message.find("did you mean") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(duplicate_keys_are_errors) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON]", "start: 2026-11-01", "end: 2026-12-31",
                             "end: 2027-12-31"}));
  expect_error(r, "orders/x.yaml", 9, "key 'end' given twice (first on line 8)");
}

BOOST_AUTO_TEST_CASE(yaml_syntax_errors_have_their_position) {
  auto r = with_order("id: X1\nmunicipality: 101\ninterfaces: [CPR_PERSON\nstart: 2026-11-01\n");
  BOOST_TEST(!r.config);
  BOOST_TEST_REQUIRE(r.diagnostics.error_count() == 1, flis::test::dump(r.diagnostics));
  const auto& d = r.diagnostics.items()[0];
  BOOST_TEST(d.pos.file == "orders/x.yaml");
  BOOST_TEST(d.pos.line >= 3);
  BOOST_TEST(d.message.find("invalid YAML") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_order_file_with_several_errors_reports_them_all) {
  auto r = with_order(order({"id: X1", "municipality: 411", "type: daily", "source: DSA", "delivery: flis",
                             "interfaces: [CPR_PERSON, NOPE]", "start: 2026-02-30", "end: 2026-12-31",
                             "colour: blue"}));
  expect_error(r, "orders/x.yaml", 2, "kommunekode");
  expect_error(r, "orders/x.yaml", 6, "unknown interface 'NOPE'");
  expect_error(r, "orders/x.yaml", 7, "not a real date");
  expect_error(r, "orders/x.yaml", 9, "unknown key 'colour'");
  BOOST_TEST(r.diagnostics.error_count() == 4);
}

BOOST_AUTO_TEST_CASE(errors_of_all_files_in_one_pass) {
  ConfigTree t;
  t.write("orders/a.yaml", "id: A1\nmunicipality: 411\n");
  t.write("orders/b.yaml", "id: [\n");
  t.write("calendar/2027.yaml", "monthly:\n  2027-01: {ready: \"2027-01-20 06:00\"}\n");
  auto r = t.load();
  expect_error(r, "orders/a.yaml", 2, "kommunekode");
  expect_error(r, "orders/b.yaml", 0, "invalid YAML");
  expect_error(r, "calendar/2027.yaml", 2, "before data month 2027-01 has ended");
}

BOOST_AUTO_TEST_CASE(delivery_needs_a_target) {
  auto r = with_order(order({"id: X1", "municipality: 101", "type: daily", "source: DSA",
                             "delivery: serviceplatformen", "interfaces: [CPR_PERSON]", "start: 2026-11-01",
                             "end: 2026-12-31"}));
  expect_error(r, "orders/x.yaml", 5, "no target for delivery 'serviceplatformen'");
}

BOOST_AUTO_TEST_CASE(empty_and_non_mapping_order_files) {
  auto r = with_order("");
  expect_error(r, "orders/x.yaml", 0, "file is empty");
  auto r2 = with_order("- id: X1\n");
  expect_error(r2, "orders/x.yaml", 1, "must be a mapping");
  auto two = with_order(order({"id: X1", "---", "id: X2"}));
  expect_error(two, "orders/x.yaml", 0, "a second YAML document");
  // yaml-cpp 0.7's LoadAll loops forever on these (found by tests/fuzz); the loader must not.
  for (const char* stray : {",\n", "# comment\n, b\n", "a: 1\n,\n"}) {
    auto r = with_order(stray);
    BOOST_TEST_CONTEXT("file " << stray) {
      BOOST_TEST(!r.config);
      BOOST_TEST(r.diagnostics.error_count() >= 1);
    }
  }
  auto r3 = with_order(std::string(kMaxConfigFileBytes + 10, '#'));
  expect_error(r3, "orders/x.yaml", 0, "larger than 1048576 bytes");
}

// ---- calendar ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(calendar_month_given_twice_names_both_files) {
  ConfigTree t;
  t.write("calendar/2027.yaml", "monthly:\n  2027-01: {ready: \"2027-02-04 06:00\"}\n"
                                "  2026-12: {ready: \"2027-01-06 06:00\"}\n");
  auto r = t.load();
  BOOST_TEST(!r.config);
  expect_error(r, "calendar/2027.yaml", 3, "data month 2026-12 is also given in calendar/2026.yaml:15");
}

BOOST_AUTO_TEST_CASE(calendar_bad_times) {
  ConfigTree t;
  t.write("calendar/2026.yaml", "daily: {ready: \"25:00\"}\nweekly: {weekday: tusday}\n"
                                "monthly:\n  2026-10: {ready: \"2026-11-31 06:00\"}\n");
  auto r = t.load();
  auto d = expect_error(r, "calendar/2026.yaml", 1, "'25:00' is not a time of day");
  if (d) BOOST_TEST(d->pos.col == 16);
  auto w = expect_error(r, "calendar/2026.yaml", 2, "unknown weekday 'tusday'");
  if (w) BOOST_TEST(w->message.find("did you mean 'tuesday'?") != std::string::npos);
  expect_error(r, "calendar/2026.yaml", 4, "'2026-11-31 06:00' is not a real date and time");
}

BOOST_AUTO_TEST_CASE(calendar_ready_before_the_month_has_ended) {
  ConfigTree t;
  t.write("calendar/2027.yaml", "monthly:\n  2027-01: {ready: \"2027-01-31 23:59\"}\n"
                                "  2027-02: {ready: \"2027-03-01 00:00\"}\n");
  auto r = t.load();
  expect_error(r, "calendar/2027.yaml", 2, "ready 2027-01-31 23:59 is before data month 2027-01 has ended");
  BOOST_TEST(r.diagnostics.error_count() == 1, flis::test::dump(r.diagnostics));
}

BOOST_AUTO_TEST_CASE(calendar_unknown_fagsystem_in_override) {
  ConfigTree t;
  t.write("calendar/2027.yaml", "monthly:\n  2027-01: {ready: \"2027-02-04 06:00\", systems: {OPSU: \"2027-02-08 06:00\"}}\n");
  auto r = t.load();
  auto d = expect_error(r, "calendar/2027.yaml", 2, "unknown fagsystem 'OPSU'");
  if (d) BOOST_TEST(d->message.find("did you mean 'OPUS'?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(calendar_daily_rule_in_two_files_must_agree) {
  ConfigTree t;
  t.write("calendar/2027.yaml", "daily: {ready: \"06:00\", lag_days: 1}\nweekly: {ready: \"07:00\"}\n");
  auto r = t.load();
  BOOST_TEST(!flis::test::find_diag(r.diagnostics, Sev::error, "calendar/2027.yaml", 1, "daily"), flis::test::dump(r.diagnostics));
  expect_error(r, "calendar/2027.yaml", 2, "the weekly rule differs from the one in calendar/2026.yaml:2");
}

BOOST_AUTO_TEST_CASE(monthly_subscription_without_calendar_months_warns_once_naming_them) {
  ConfigTree t;
  t.write("orders/x.yaml", order({"id: X1", "municipality: 101", "type: monthly", "source: DSA", "delivery: flis",
                                  "interfaces: [LOEN_ANSAT]", "start: 2026-06-01", "end: 2027-03-31"}));
  auto r = t.load();
  BOOST_TEST(r.config != nullptr);
  BOOST_TEST(r.diagnostics.warning_count() == 1, flis::test::dump(r.diagnostics));
  expect(r, Sev::warning, "orders/x.yaml", 7, "no data calendar entry for 2027-01..2027-03");
}

// The planner takes a daily interface's expected time from the daily rule whatever the order's
// type, so a monthly order over daily interfaces never needs a monthly entry: no warning.
BOOST_AUTO_TEST_CASE(monthly_subscription_over_daily_interfaces_needs_no_monthly_entries) {
  ConfigTree t;
  t.write("orders/x.yaml", order({"id: X1", "municipality: 101", "type: monthly", "source: DSA", "delivery: flis",
                                  "interfaces: [CPR_PERSON, CPR_ADRESSE]", "start: 2026-06-01", "end: 2027-12-31"}));
  auto r = t.load();
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(!flis::test::find_diag(r.diagnostics, Sev::warning, "orders/x.yaml", 0, "calendar"),
             flis::test::dump(r.diagnostics));
}

BOOST_AUTO_TEST_CASE(many_orders_missing_the_same_months_get_one_warning_with_a_count) {
  ConfigTree t;
  for (int i = 1; i <= 5; ++i)
    t.write("orders/x" + std::to_string(i) + ".yaml",
            order({"id: X" + std::to_string(i), "municipality: 101", "type: monthly", "source: DSA", "delivery: flis",
                   "interfaces: [LOEN_ANSAT]", "start: 2026-06-01", "end: 2027-12-31"}));
  auto r = t.load();
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  // The datamart order DM-101 (monthly DM interfaces, no end) lacks no month the calendar has.
  BOOST_TEST(r.diagnostics.warning_count() == 1, flis::test::dump(r.diagnostics));
  expect(r, Sev::warning, "orders/x1.yaml", 7,
         "orders X1, X2, X3 and 2 more: no data calendar entry for 2027-01..2027-12 (needed for their monthly "
         "interfaces)");
}

BOOST_AUTO_TEST_CASE(a_warning_many_orders_share_is_one_summary_naming_a_few_and_the_count) {
  auto mixed = [](int i) {
    return order({"id: M" + std::to_string(i), "municipality: 101", "type: monthly", "source: DSA",
                  "delivery: flis", "interfaces: [CPR_PERSON, LOEN_ANSAT]", "start: 2026-01-01", "end: 2026-12-31"});
  };
  ConfigTree many;
  for (int i = 1; i <= 40; ++i) many.write("orders/m" + std::to_string(100 + i) + ".yaml", mixed(100 + i));
  auto r = many.load();
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->orders.size() == 42u);  // every order is still loaded, with the base tree's two
  BOOST_TEST(r.diagnostics.warning_count() == 1, flis::test::dump(r.diagnostics));
  expect(r, Sev::warning, "orders/m101.yaml", 6,
         "orders M101, M102, M103 and 37 more, each: this subscription mixes interfaces of different fagsystemer "
         "(CPR: CPR_PERSON; OPUS: LOEN_ANSAT)");

  // A few stay a warning each, at their own file and line.
  ConfigTree few;
  for (int i = 1; i <= 3; ++i) few.write("orders/m" + std::to_string(i) + ".yaml", mixed(i));
  auto f = few.load();
  BOOST_TEST(f.diagnostics.warning_count() == 3, flis::test::dump(f.diagnostics));
  for (int i = 1; i <= 3; ++i)
    expect(f, Sev::warning, "orders/m" + std::to_string(i) + ".yaml", 6, "this subscription mixes interfaces");

  // Errors are never summarised: each file names its own.
  ConfigTree broken;
  for (int i = 1; i <= 5; ++i)
    broken.write("orders/b" + std::to_string(i) + ".yaml",
                 order({"id: B" + std::to_string(i), "municipality: 411", "type: monthly", "source: DSA",
                        "delivery: flis", "interfaces: [LOEN_ANSAT]", "start: 2026-01-01", "end: 2026-12-31"}));
  BOOST_TEST(broken.load().diagnostics.error_count() == 5);
}

// ---- flisd.yaml -------------------------------------------------------------------------------

LoadResult with_settings(const std::string& text) {
  ConfigTree t;
  t.write("flisd.yaml", text);
  return t.load();
}

const std::string kTargets = "targets:\n  flis: {type: directory, path: \"out/{municipality}\"}\n";

BOOST_AUTO_TEST_CASE(settings_timezone_must_be_known) {
  auto r = with_settings("timezone: Europe/Kobenhavn\n" + kTargets);
  BOOST_TEST(!r.config);
  expect_error(r, "flisd.yaml", 1, "unknown time zone 'Europe/Kobenhavn'");
}

BOOST_AUTO_TEST_CASE(settings_workers_and_retry) {
  auto r = with_settings("workers: 0\n" + kTargets);
  expect_error(r, "flisd.yaml", 1, "workers is 0; allowed: 1 to 64");
  r = with_settings("workers: 2\nbackfill_workers: 3\n" + kTargets);
  expect_error(r, "flisd.yaml", 2, "backfill_workers is 3 but workers is 2");
  r = with_settings("retry: {attempts: 0, initial: 5x, max: 6h}\n" + kTargets);
  expect_error(r, "flisd.yaml", 1, "retry.attempts is 0");
  expect_error(r, "flisd.yaml", 1, "'5x' is not a duration");
  r = with_settings("retry: {attempts: 3, initial: 2h, max: 1h}\n" + kTargets);
  expect_error(r, "flisd.yaml", 1, "retry.initial is longer than retry.max");
  r = with_settings("retry: {initial: 0s}\n" + kTargets);
  expect_error(r, "flisd.yaml", 1, "must be more than 0");
}

BOOST_AUTO_TEST_CASE(settings_compression) {
  auto r = with_settings("compression:\n  level: 20\n  threads: -1\n" + kTargets);
  expect_error(r, "flisd.yaml", 2, "compression.level is 20; allowed: 1 to 19");
  expect_error(r, "flisd.yaml", 3, "compression.threads is -1");
}

BOOST_AUTO_TEST_CASE(settings_sftp_target_fields) {
  auto r = with_settings(
      "targets:\n  flis:\n    type: sftp\n    host: sftp.example\n    port: 0\n    path: /k/{kommune}\n");
  expect_error(r, "flisd.yaml", 2, "needs 'user'");
  expect_error(r, "flisd.yaml", 2, "needs 'identity'");
  expect_error(r, "flisd.yaml", 2, "needs 'known_hosts'");
  expect_error(r, "flisd.yaml", 5, "port is 0; allowed: 1 to 65535");
  expect_error(r, "flisd.yaml", 6, "unknown placeholder '{kommune}'");
}

// An SFTP target with every required key, for the tests of its optional ones (appended lines).
const std::string kSftpTarget = "targets:\n  flis:\n    type: sftp\n    host: h\n    user: u\n    identity: k\n"
                                "    known_hosts: kh\n    path: /k/{municipality}\n";

BOOST_AUTO_TEST_CASE(settings_sftp_target_timeout) {
  auto r = with_settings(kSftpTarget + "    timeout: 0s\n");
  expect_error(r, "flisd.yaml", 9, "timeout must be between 1s and 1h");
  r = with_settings(kSftpTarget + "    timeout: 2h\n");
  expect_error(r, "flisd.yaml", 9, "timeout must be between 1s and 1h");
  r = with_settings(kSftpTarget + "    timeout: 5m\n");
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").timeout.count() == 300);
  r = with_settings(kSftpTarget);
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").timeout.count() == 30, "30 s unless said");
  r = with_settings("targets:\n  flis: {type: directory, path: \"x/{municipality}\", timeout: 5s}\n");
  expect_error(r, "flisd.yaml", 2, "'timeout' is only for sftp targets");
}

BOOST_AUTO_TEST_CASE(settings_sftp_target_max_sessions) {
  auto r = with_settings(kSftpTarget + "    max_sessions: 0\n");
  expect_error(r, "flisd.yaml", 9, "max_sessions is 0; allowed: 1 to 64");
  r = with_settings(kSftpTarget + "    max_sessions: 8\n");
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").max_sessions == 8);
  r = with_settings(kSftpTarget);
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").max_sessions == 4, "4 unless said");
  r = with_settings("targets:\n  flis: {type: directory, path: x, max_sessions: 2}\n");
  expect_error(r, "flisd.yaml", 2, "'max_sessions' is only for sftp targets");
}

BOOST_AUTO_TEST_CASE(settings_sftp_target_uploads_per_session) {
  auto r = with_settings(kSftpTarget + "    uploads_per_session: 0\n");
  expect_error(r, "flisd.yaml", 9, "uploads_per_session is 0; allowed: 1 to 10");
  r = with_settings(kSftpTarget + "    uploads_per_session: 11\n");
  expect_error(r, "flisd.yaml", 9, "uploads_per_session is 11; allowed: 1 to 10");
  r = with_settings(kSftpTarget + "    uploads_per_session: 1\n");
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").uploads_per_session == 1);
  r = with_settings(kSftpTarget);
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").uploads_per_session == 8, "8 unless said");
  r = with_settings("targets:\n  flis: {type: directory, path: x, uploads_per_session: 2}\n");
  expect_error(r, "flisd.yaml", 2, "'uploads_per_session' is only for sftp targets");
}

BOOST_AUTO_TEST_CASE(settings_directory_target_fields) {
  auto r = with_settings("targets:\n  flis:\n    type: directory\n    host: x\n");
  expect_error(r, "flisd.yaml", 4, "'host' is only for sftp targets");
  expect_error(r, "flisd.yaml", 2, "needs 'path'");
  r = with_settings("targets:\n  flis: {type: ftp, path: x}\n");
  expect_error(r, "flisd.yaml", 2, "unknown target type 'ftp'; allowed: sftp, directory");
  r = with_settings("targets:\n  flis: {type: directory, path: x}\n  flis2: {type: directory, path: y}\n");
  expect_error(r, "flisd.yaml", 3, "unknown delivery 'flis2'");
}

BOOST_AUTO_TEST_CASE(settings_target_file_and_dir_modes) {
  auto r = with_settings("targets:\n  flis: {type: directory, path: \"x/{municipality}\"}\n");
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").file_mode == 0640u, "0640 unless said");
  BOOST_TEST(r.config->settings.targets.at("flis").dir_mode == 0750u, "0750 unless said");
  r = with_settings("targets:\n  flis: {type: directory, path: \"x/{municipality}\", file_mode: \"0644\", dir_mode: 0755}\n");
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.targets.at("flis").file_mode == 0644u);
  BOOST_TEST(r.config->settings.targets.at("flis").dir_mode == 0755u);
  const std::string t = "targets:\n  flis:\n    type: directory\n    path: x/{municipality}\n";
  expect_error(with_settings(t + "    file_mode: rw-r--r--\n"), "flisd.yaml", 5,
               "'file_mode' must be an octal mode such as \"0644\", not 'rw-r--r--'");
  expect_error(with_settings(t + "    file_mode: \"0648\"\n"), "flisd.yaml", 5, "not '0648'");
  expect_error(with_settings(t + "    file_mode: \"0444\"\n"), "flisd.yaml", 5, "the owner (flisd) needs read and write");
  expect_error(with_settings(t + "    file_mode: \"0666\"\n"), "flisd.yaml", 5, "writable by others is not allowed");
  expect_error(with_settings(t + "    dir_mode: \"4755\"\n"), "flisd.yaml", 5, "setuid, setgid and sticky");
  expect_error(with_settings(t + "    dir_mode: \"0640\"\n"), "flisd.yaml", 5, "read, write and search (0700)");
}

// Without {municipality} every municipality's packages would share one folder; {order} does not
// separate them (an order id is not tied to its municipality). Refused naming file, line, column.
BOOST_AUTO_TEST_CASE(a_target_path_without_municipality_is_an_error) {
  for (std::string path : {"/kommuner/datapakker", "/kommuner/{order}", "out"}) {
    BOOST_TEST_CONTEXT(path) {
      auto r = with_settings("targets:\n  flis:\n    type: directory\n    path: \"" + path + "\"\n");
      BOOST_TEST(r.config == nullptr);
      auto d = expect_error(r, "flisd.yaml", 4, "has no {municipality}");
      if (d) {
        BOOST_TEST(d->pos.col == 11);
        BOOST_TEST(d->str().find("flisd.yaml:4:11: error: path template '" + path + "' has no {municipality}") == 0u,
                   d->str());
      }
    }
  }
  auto sftp = with_settings("targets:\n  flis: {type: sftp, host: h, user: u, identity: k, known_hosts: kh, "
                            "path: \"/kommuner/{order}\"}\n");
  expect_error(sftp, "flisd.yaml", 2, "has no {municipality}");
  auto ok = with_settings("targets:\n  flis: {type: directory, path: \"out/{order}/{municipality}\"}\n");
  BOOST_TEST(ok.config != nullptr, flis::test::dump(ok.diagnostics));
}

BOOST_AUTO_TEST_CASE(settings_datamart_entitlements) {
  auto r = with_settings(kTargets + "datamarts:\n  start: 2026-13\n  entitlements:\n    411: [DM_BORGER]\n"
                                    "    101: [CPR_PERSON, DM_BORGR]\n");
  expect_error(r, "flisd.yaml", 4, "2026-13' is not a month");
  expect_error(r, "flisd.yaml", 6, "'411' is not a kommunekode");
  expect_error(r, "flisd.yaml", 7, "'CPR_PERSON' is not a datamart of the catalogue");
  auto d = expect_error(r, "flisd.yaml", 7, "'DM_BORGR' is not a datamart");
  if (d) BOOST_TEST(d->message.find("did you mean 'DM_BORGER'?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(settings_unknown_key_with_did_you_mean) {
  auto r = with_settings("warehous: /x\n" + kTargets);
  auto d = expect_error(r, "flisd.yaml", 1, "unknown key 'warehous'");
  if (d) BOOST_TEST(d->message.find("did you mean 'warehouse'?") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_core_files) {
  ConfigTree t;
  t.remove("interfaces.yaml");
  auto r = t.load();
  BOOST_TEST(!r.config);
  expect_error(r, "interfaces.yaml", 0, "missing");
}

BOOST_AUTO_TEST_CASE(catalogue_checks) {
  ConfigTree t;
  t.write("interfaces.yaml", "sources:\n  DSB:\n    X: {system: A, frequency: daily}\n  DSA:\n"
                             "    ../X: {system: A, frequency: daily}\n    Y: {system: A, frequency: hourly}\n"
                             "  DM:\n    DM_Z: {system: FLIS, frequency: daily}\n");
  auto r = t.load();
  auto d = expect_error(r, "interfaces.yaml", 2, "unknown source 'DSB'");
  if (d) BOOST_TEST(d->message.find("did you mean 'DSA'?") != std::string::npos);
  expect_error(r, "interfaces.yaml", 5, "interface name '../X' is not allowed");
  expect_error(r, "interfaces.yaml", 6, "unknown frequency 'hourly'");
  expect_error(r, "interfaces.yaml", 8, "DM interfaces must be monthly");
}

// The base settings with another `state:`.
static std::string with_state(const std::string& uri) {
  std::string settings = flis::test::kBaseSettings;
  auto at = settings.find("state: state.db");
  BOOST_TEST_REQUIRE(at != std::string::npos, "the base settings have no state: state.db");
  return settings.replace(at, std::string("state: state.db").size(), "state: \"" + uri + "\"");
}

// A PostgreSQL state is kept as written; a password in it is refused (it would be in git).
BOOST_AUTO_TEST_CASE(a_state_uri_is_kept_as_written_and_must_hold_no_password) {
  for (std::string uri : {"postgresql:///flisd?host=/run/postgresql", "postgres://flisd@db.example:5432/flisd",
                          "postgresql://flisd@/flisd?host=/run/postgresql&sslmode=disable"}) {
    ConfigTree t;
    t.write("flisd.yaml", with_state(uri));
    auto r = t.load();
    BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
    BOOST_TEST(r.config->settings.state.string() == uri);
  }
  for (std::string uri : {"postgresql://flisd:secret@db.example/flisd", "postgres:///flisd?host=/run/pg&password=secret"}) {
    ConfigTree t;
    t.write("flisd.yaml", with_state(uri));
    auto r = t.load();
    auto e = flis::test::find_diag(r.diagnostics, Sev::error, "flisd.yaml", 0, "the state URI holds a password");
    BOOST_TEST(e != nullptr, uri + ": " + flis::test::dump(r.diagnostics));
    if (e) BOOST_TEST(e->message.find("PGPASSFILE") != std::string::npos, e->message);
  }
}
