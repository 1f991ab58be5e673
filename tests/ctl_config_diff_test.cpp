// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl diff's logic: what a configuration change does to deliveries. Configs are built in code,
// the warehouse is real, the clock is fixed at 2026-12-02 10:00 in Copenhagen.
#define BOOST_TEST_MODULE daemon_config_diff
#include <boost/test/unit_test.hpp>

#include "ctl/config_diff.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;

namespace {

struct World {
  TempDir tmp;
  Warehouse wh{tmp.path() / "warehouse"};
  ConfigBuilder before{tmp.path() / "warehouse"}, after{tmp.path() / "warehouse"};
  DiffHistory history;
  World() {
    before.standard_catalogue();
    after.standard_catalogue();
  }
  ConfigDiff diff() {
    Config a = before.build(), b = after.build();
    return diff_configs(&a, b, history, at("2026-12-02 10:00"));
  }
};

// A summary's first or last period by name; empty when it has none.
std::string name(const std::optional<Period>& p) { return p ? p->name() : std::string(); }

OrderChange only(const ConfigDiff& d) {
  BOOST_REQUIRE_EQUAL(d.orders.size(), 1u);
  return d.orders[0];
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_new_one_off_order_from_2015_delivers_a_package_per_month_with_the_bytes_of_its_municipality) {
  World w;
  w.after.one_off("K101-LOEN-2015", 101, {"LOEN_ANSAT"}, "2015-01-01", "2025-10-31", Chunk::month);
  for (std::string m : {"2015-01", "2015-02", "2015-03"}) {
    w.wh.land("DSA", "LOEN_ANSAT", m, 101);  // 13 bytes each
    w.wh.land("DSA", "LOEN_ANSAT", m, 147);  // another municipality's: not counted
    w.wh.process("DSA", "LOEN_ANSAT", m);
  }
  OrderChange c = only(w.diff());
  BOOST_TEST(to_string(c.kind) == "added");
  BOOST_TEST(c.delivered.count == 130);
  BOOST_TEST(name(c.delivered.first) == "2015-01");
  BOOST_TEST(name(c.delivered.last) == "2025-10");
  BOOST_TEST(c.delivered.due == 3);
  BOOST_TEST(c.delivered.waiting == 127);
  BOOST_TEST(c.delivered.bytes == 3 * 13);
  BOOST_TEST(c.cancelled.count == 0);
}

BOOST_AUTO_TEST_CASE(periods_already_delivered_are_not_counted_as_new) {
  World w;
  w.after.one_off("K101-LOEN-2015", 101, {"LOEN_ANSAT"}, "2015-01-01", "2015-12-31", Chunk::month);
  w.history.history.delivered = {{"K101-LOEN-2015", period("2015-01")}, {"K101-LOEN-2015", period("2015-02")}};
  OrderChange c = only(w.diff());
  BOOST_TEST(c.delivered.count == 10);
  BOOST_TEST(name(c.delivered.first) == "2015-03");
}

BOOST_AUTO_TEST_CASE(an_end_moved_earlier_cancels_the_periods_after_it_and_counts_their_runs) {
  World w;
  w.before.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2027-12-31");
  w.after.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-09-30");
  w.history.open = {{"K101-LOEN-M", period("2026-10")}};
  OrderChange c = only(w.diff());
  BOOST_TEST(to_string(c.kind) == "changed");
  BOOST_REQUIRE_EQUAL(c.keys.size(), 1u);
  BOOST_TEST(c.keys[0].key == "end");
  BOOST_TEST(c.keys[0].before == "2027-12-31");
  BOOST_TEST(c.keys[0].after == "2026-09-30");
  BOOST_REQUIRE(c.end_moves.has_value());
  BOOST_TEST(c.end_moves->second == "2026-09-30");
  BOOST_TEST(c.cancelled.count == 15);
  BOOST_TEST(name(c.cancelled.first) == "2026-10");
  BOOST_TEST(name(c.cancelled.last) == "2027-12");
  BOOST_TEST(c.cancelled.with_runs == 1);
  BOOST_TEST(c.delivered.count == 0);
}

BOOST_AUTO_TEST_CASE(an_end_moved_later_delivers_the_added_periods_including_those_not_ended) {
  World w;
  w.before.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-06-30");
  w.after.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2027-06-30");
  OrderChange c = only(w.diff());
  BOOST_TEST(c.delivered.count == 12);
  BOOST_TEST(name(c.delivered.first) == "2026-07");
  BOOST_TEST(name(c.delivered.last) == "2027-06");
  BOOST_TEST(c.delivered.waiting == 5);  // 2026-07..2026-11 have ended
  BOOST_TEST(c.delivered.future == 7);
}

BOOST_AUTO_TEST_CASE(a_removed_order_cancels_what_it_had_not_delivered) {
  World w;
  w.before.one_off("K147-CPR-2024", 147, {"LOEN_ANSAT"}, "2024-01-01", "2024-12-31", Chunk::month);
  w.history.history.delivered = {{"K147-CPR-2024", period("2024-01")}};
  OrderChange c = only(w.diff());
  BOOST_TEST(to_string(c.kind) == "removed");
  BOOST_TEST(c.cancelled.count == 11);
  BOOST_TEST(name(c.cancelled.first) == "2024-02");
  BOOST_TEST(c.delivered.count == 0);
}

BOOST_AUTO_TEST_CASE(cancelling_a_one_off_order_cancels_its_remaining_chunks) {
  World w;
  w.before.one_off("K101-LOEN-2023", 101, {"LOEN_ANSAT"}, "2023-01-01", "2023-12-31", Chunk::month);
  w.after.one_off("K101-LOEN-2023", 101, {"LOEN_ANSAT"}, "2023-01-01", "2023-12-31", Chunk::month).status =
      OrderStatus::cancelled;
  OrderChange c = only(w.diff());
  BOOST_REQUIRE_EQUAL(c.keys.size(), 1u);
  BOOST_TEST(c.keys[0].key == "status");
  BOOST_TEST(c.keys[0].after == "cancelled");
  BOOST_TEST(c.cancelled.count == 12);
}

BOOST_AUTO_TEST_CASE(reactivating_a_subscription_delivers_the_periods_it_missed) {
  World w;
  w.before.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-12-31").status =
      OrderStatus::deactivated;
  w.after.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-12-31");
  w.history.history.delivered = {{"K101-LOEN-M", period("2026-01")}, {"K101-LOEN-M", period("2026-02")}};
  OrderChange c = only(w.diff());
  BOOST_TEST(c.delivered.count == 10);
  BOOST_TEST(name(c.delivered.first) == "2026-03");
  BOOST_TEST(name(c.delivered.last) == "2026-12");
}

BOOST_AUTO_TEST_CASE(a_new_datamart_entitlement_makes_a_datamart_order_appear_up_to_this_month) {
  World w;
  w.after.datamart(860, {"DM_BORGER"}, "2026-01-01");
  OrderChange c = only(w.diff());
  BOOST_TEST(to_string(c.kind) == "added");
  BOOST_TEST(c.datamart);
  BOOST_TEST(c.municipality == 860);
  BOOST_TEST(c.delivered.count == 12);  // 2026-01..2026-12; December has begun, not ended
  BOOST_TEST(c.delivered.future == 1);
}

BOOST_AUTO_TEST_CASE(a_datamart_order_whose_entitlement_goes_disappears_and_its_months_are_cancelled) {
  World w;
  w.before.datamart(851, {"DM_OEKONOMI"}, "2026-01-01");
  w.history.history.delivered = {{"DM-851", period("2026-01")}};
  OrderChange c = only(w.diff());
  BOOST_TEST(to_string(c.kind) == "removed");
  BOOST_TEST(c.datamart);
  BOOST_TEST(c.cancelled.count == 11);
}

BOOST_AUTO_TEST_CASE(unchanged_orders_are_not_reported) {
  World w;
  for (ConfigBuilder* b : {&w.before, &w.after})
    b->subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-12-31");
  auto d = w.diff();
  BOOST_TEST(d.orders.empty());
  BOOST_TEST(d.delivered.count == 0);
}

BOOST_AUTO_TEST_CASE(an_interface_added_changes_no_period_but_is_shown) {
  World w;
  w.before.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-12-31");
  w.after.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT", "BOLIG"}, "2026-01-01", "2026-12-31");
  OrderChange c = only(w.diff());
  BOOST_REQUIRE_EQUAL(c.keys.size(), 1u);
  BOOST_TEST(c.keys[0].before == "[LOEN_ANSAT]");
  BOOST_TEST(c.keys[0].after == "[LOEN_ANSAT, BOLIG]");
  BOOST_TEST(c.delivered.count == 0);
  BOOST_TEST(c.cancelled.count == 0);
}

BOOST_AUTO_TEST_CASE(without_an_old_configuration_every_order_is_added_and_totals_add_up) {
  World w;
  w.after.subscription("K101-LOEN-M", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-12-31");
  w.after.one_off("K147-LOEN-2025", 147, {"LOEN_ANSAT"}, "2025-01-01", "2025-06-30", Chunk::month);
  Config b = w.after.build();
  auto d = diff_configs(nullptr, b, w.history, at("2026-12-02 10:00"));
  BOOST_REQUIRE_EQUAL(d.orders.size(), 2u);
  BOOST_TEST(to_string(d.orders[0].kind) == "added");
  BOOST_TEST(to_string(d.orders[1].kind) == "added");
  BOOST_TEST(d.delivered.count == 18);
  BOOST_TEST(name(d.delivered.first) == "2025-01");
  BOOST_TEST(name(d.delivered.last) == "2026-12");
}

BOOST_AUTO_TEST_CASE(changed_settings_are_listed_and_the_same_tree_in_another_folder_is_unchanged) {
  World w;
  Config a = w.before.build(), b = w.after.build();
  a.dir = "/etc/flisd";
  b.dir = "/tmp/review/new";
  Target t;
  t.name = "flis";
  t.path = "/etc/flisd/outbox/{municipality}";  // as the loader leaves a relative path: absolute
  a.settings.targets["flis"] = t;
  t.path = "/tmp/review/new/outbox/{municipality}";
  b.settings.targets["flis"] = t;
  BOOST_TEST(diff_configs(&a, b, w.history, at("2026-12-02 10:00")).settings.empty());

  b.settings.targets["flis"].path = "/srv/outbox/{municipality}";
  b.settings.workers = 4;
  auto d = diff_configs(&a, b, w.history, at("2026-12-02 10:00"));
  BOOST_REQUIRE_EQUAL(d.settings.size(), 2u);
  BOOST_TEST(d.settings[0].key == "targets.flis.path");
  BOOST_TEST(d.settings[0].before == "outbox/{municipality}");
  BOOST_TEST(d.settings[0].after == "/srv/outbox/{municipality}");
  BOOST_TEST(d.settings[1].key == "workers");
  BOOST_TEST(d.settings[1].after == "4");

  // Every key a sysadmin may change is shown, the SFTP sessions' bounds and the modes included.
  Target sftp;
  sftp.name = "kommune";
  sftp.type = TargetType::sftp;
  sftp.host = "sftp.example.dk";
  a.settings.targets["kommune"] = sftp;
  sftp.max_sessions = 2;
  sftp.uploads_per_session = 1;
  sftp.file_mode = 0600;
  b.settings.targets["kommune"] = sftp;
  b.settings.compression.level = 9;
  d = diff_configs(&a, b, w.history, at("2026-12-02 10:00"));
  std::vector<std::string> keys;
  for (const auto& c : d.settings) keys.push_back(c.key + ": " + c.before + " -> " + c.after);
  BOOST_TEST(keys == (std::vector<std::string>{"compression.level: 3 -> 9", "targets.flis.path: outbox/{municipality} -> /srv/outbox/{municipality}",
                                               "targets.kommune.file_mode: 0640 -> 0600",
                                               "targets.kommune.max_sessions: 4 -> 2",
                                               "targets.kommune.uploads_per_session: 8 -> 1", "workers: 2 -> 4"}),
             boost::test_tools::per_element());
}
