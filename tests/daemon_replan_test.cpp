// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// What a reload re-plans: the orders it added, removed or changed, or every order when it changed
// what every plan reads.
#define BOOST_TEST_MODULE daemon_replan
#include <boost/test/unit_test.hpp>

#include "daemon/replan.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;

namespace {
using Ids = std::set<std::string>;

ConfigBuilder base() {
  ConfigBuilder b;
  b.standard_catalogue().month(date::year{2026} / 10, "2026-11-05 06:00");
  b.subscription("K101-A", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-01", "2026-12-31");
  b.subscription("K101-B", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-01-01", "2026-12-31");
  b.one_off("K147-H", 147, {"BOLIG"}, "2019-01-01", "2019-12-31", Chunk::month);
  return b;
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_same_configuration_read_again_replans_nothing) {
  Config a = base().build(), b = base().build();
  b.orders[0].pos = {"orders/elsewhere.yaml", 3, 1};  // where it is written does not count
  b.settings.workers = 7;                             // nor what planning never reads
  b.settings.targets["flis"].path = "/srv/other/{municipality}";
  auto ids = orders_to_replan(a, b);
  BOOST_TEST_REQUIRE(ids.has_value());
  BOOST_TEST(ids->empty());
}

BOOST_AUTO_TEST_CASE(added_removed_and_changed_orders_are_replanned_and_only_they) {
  ConfigBuilder next = base();
  next.subscription("K151-NEW", 151, OrderType::weekly, {"SYGDOM_UGE"}, "2026-01-01", "2026-12-31");
  Config a = base().build(), b = next.build();
  std::erase_if(b.orders, [](const Order& o) { return o.id == "K147-H"; });
  for (Order& o : b.orders)
    if (o.id == "K101-B") o.end = date::year{2026} / 6 / 30;
  auto ids = orders_to_replan(a, b);
  BOOST_TEST_REQUIRE(ids.has_value());
  BOOST_TEST((*ids == Ids{"K101-B", "K147-H", "K151-NEW"}));

  Config c = base().build();
  c.orders[0].status = OrderStatus::deactivated;
  BOOST_TEST((*orders_to_replan(a, c) == Ids{c.orders[0].id}));
  Config d = base().build();
  d.orders[1].interfaces.push_back("CPR_ADRESSE");
  BOOST_TEST((*orders_to_replan(a, d) == Ids{d.orders[1].id}));
}

BOOST_AUTO_TEST_CASE(what_every_plan_reads_replans_every_order) {
  Config a = base().build();
  Config calendar = base().month(date::year{2026} / 10, "2026-11-06 06:00").build();
  BOOST_TEST(!orders_to_replan(a, calendar).has_value());
  Config catalogue = base().interface(Source::DSA, "NEW_FEED", "X", Frequency::daily).build();
  BOOST_TEST(!orders_to_replan(a, catalogue).has_value());
  Config zone = base().timezone("Europe/Berlin").build();
  BOOST_TEST(!orders_to_replan(a, zone).has_value());
  Config daily = base().build();
  daily.calendar.daily.lag_days = 2;
  BOOST_TEST(!orders_to_replan(a, daily).has_value());
  Config warehouse = base().build();
  warehouse.settings.warehouse = "/srv/warehouse";
  BOOST_TEST(!orders_to_replan(a, warehouse).has_value());
  Config marts = base().build();
  marts.settings.datamarts = Datamarts{};
  BOOST_TEST(!orders_to_replan(a, marts).has_value());
}
