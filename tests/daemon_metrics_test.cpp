// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Metrics (daemon/metrics.h): the exposition a scrape gets, from the values the daemon pushes in.
#define BOOST_TEST_MODULE daemon_metrics
#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "daemon/event_loop.h"
#include "daemon/metrics.h"
#include "tests/support/config_tree.h"

using namespace flis;
using namespace std::chrono_literals;

namespace {

// The value of one sample, "name{labels}" as exposed; "absent" when there is none.
std::string sample(const Metrics& m, const std::string& name) {
  std::istringstream in(m.text());
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + " ", 0) == 0) return line.substr(name.size() + 1);
  return "absent";
}

Order order(const std::string& id, OrderType type, std::optional<date::year_month_day> end = std::nullopt) {
  Order o;
  o.id = id;
  o.municipality = 101;
  o.type = type;
  o.end = end;
  return o;
}

const Instant kNow = Instant(date::sys_days(date::year{2026} / 11 / 26)) + 8h;
std::string labels(const std::string& id) { return "{municipality=\"101\",order=\"" + id + "\"}"; }

}  // namespace

BOOST_AUTO_TEST_CASE(every_status_is_exposed_from_the_start) {
  Metrics m;
  for (const char* s : {"waiting", "queued", "running", "delivered", "failed", "cancelled"})
    BOOST_TEST(sample(m, std::string("flisd_runs{status=\"") + s + "\"}") == "0");
  BOOST_TEST(sample(m, "flisd_build_info{version=\"" FLISD_VERSION "\"}") == "1");
  m.set_run_counts({{RunStatus::waiting, 3}, {RunStatus::delivered, 40}, {RunStatus::failed, 2}}, 1, 1);
  BOOST_TEST(sample(m, "flisd_runs{status=\"waiting\"}") == "3");
  BOOST_TEST(sample(m, "flisd_runs{status=\"delivered\"}") == "40");
  BOOST_TEST(sample(m, "flisd_runs{status=\"failed\"}") == "2");
  BOOST_TEST(sample(m, "flisd_runs{status=\"queued\"}") == "0");
  BOOST_TEST(sample(m, "flisd_runs_late") == "1");
  BOOST_TEST(sample(m, "flisd_runs_failed_final") == "1");
}

BOOST_AUTO_TEST_CASE(attempts_count_by_result_with_bytes_and_duration) {
  Metrics m;
  m.observe_attempt(AttemptResult::delivered, 1000, 2.5);
  m.observe_attempt(AttemptResult::failed, 0, 70);
  BOOST_TEST(sample(m, "flisd_deliveries_total{result=\"delivered\"}") == "1");
  BOOST_TEST(sample(m, "flisd_deliveries_total{result=\"failed\"}") == "1");
  BOOST_TEST(sample(m, "flisd_delivered_bytes_total") == "1000");
  BOOST_TEST(sample(m, "flisd_run_duration_seconds_count") == "2");
  BOOST_TEST(sample(m, "flisd_run_duration_seconds_bucket{le=\"5\"}") == "1");
  BOOST_TEST(sample(m, "flisd_run_duration_seconds_bucket{le=\"300\"}") == "2");
}

BOOST_AUTO_TEST_CASE(period_lengths_for_active_subscriptions_that_have_not_ended) {
  Config config;
  config.orders = {order("DAILY", OrderType::daily), order("WEEKLY", OrderType::weekly),
                   order("MONTHLY", OrderType::monthly), order("ONE-OFF", OrderType::one_off),
                   order("ENDED", OrderType::daily, date::year{2026} / 11 / 24),
                   order("ENDS-TODAY", OrderType::daily, date::year{2026} / 11 / 26)};
  config.orders.push_back(order("DEACTIVATED", OrderType::daily));
  config.orders.back().status = OrderStatus::deactivated;
  Metrics m;
  m.set_orders(config, kNow);
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("DAILY")) == "86400");
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("WEEKLY")) == "604800");
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("MONTHLY")) == "2678400");  // 31 days
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("ONE-OFF")) == "absent");
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("ENDED")) == "absent");
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("DEACTIVATED")) == "absent");
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("ENDS-TODAY")) == "86400");
  // Its last day over: nothing more is due, so no "two periods without a delivery" for it.
  m.expire_orders(kNow + 24h);
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("ENDS-TODAY")) == "absent");
  BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("DAILY")) == "86400");
}

BOOST_AUTO_TEST_CASE(last_delivery_only_moves_forward_and_goes_with_its_order) {
  Config config;
  config.orders = {order("DAILY", OrderType::daily)};
  Metrics m;
  BOOST_TEST(sample(m, "flisd_order_last_delivered_timestamp_seconds" + labels("DAILY")) == "absent");
  m.set_last_delivered("DAILY", 101, kNow);
  m.set_last_delivered("DAILY", 101, kNow - 1h);  // recovered late: an older finish time
  BOOST_TEST(sample(m, "flisd_order_last_delivered_timestamp_seconds" + labels("DAILY")) ==
             std::to_string(kNow.time_since_epoch().count()));
  m.set_last_delivered("GONE", 101, kNow);
  m.set_orders(config, kNow);
  BOOST_TEST(sample(m, "flisd_order_last_delivered_timestamp_seconds" + labels("GONE")) == "absent");
  BOOST_TEST(sample(m, "flisd_order_last_delivered_timestamp_seconds" + labels("DAILY")) != "absent");
}

BOOST_AUTO_TEST_CASE(reload_outcome_and_time) {
  Metrics m;
  m.config_reloaded(false, kNow);
  BOOST_TEST(sample(m, "flisd_config_last_reload_successful") == "0");
  BOOST_TEST(sample(m, "flisd_config_last_reload_timestamp_seconds") == std::to_string(kNow.time_since_epoch().count()));
  m.config_reloaded(true, kNow + 1min);
  BOOST_TEST(sample(m, "flisd_config_last_reload_successful") == "1");
}

BOOST_AUTO_TEST_CASE(serves_on_the_configured_address_and_says_when_it_cannot) {
  auto first = Metrics::serve("127.0.0.1:0");
  BOOST_TEST_REQUIRE(first.ok(), first.message());
  std::string address = (*first)->address();
  BOOST_TEST(address.rfind("127.0.0.1:", 0) == 0);
  BOOST_TEST(address != "127.0.0.1:0");
  auto second = Metrics::serve(address);  // taken
  BOOST_TEST_REQUIRE(!second.ok());
  BOOST_TEST(second.message().find("cannot serve metrics on " + address) != std::string::npos, second.message());
}

// The store's side of the metrics hooks: each order's last delivery, read at start.
BOOST_AUTO_TEST_CASE(the_store_finds_each_orders_last_delivery) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "flisd-metrics-XXXXXX").string();
  BOOST_TEST_REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  std::filesystem::path dir = tmpl;
  {
    auto store = StateStore::open(dir / "state.db");
    BOOST_TEST_REQUIRE(store.ok(), store.message());
    StateStore& s = **store;
    auto add = [&](const std::string& order, const std::string& period) {
      Run proto;
      proto.order = order;
      proto.municipality = 101;
      proto.period = *Period::parse(period);
      proto.kind = RunKind::subscription;
      proto.status = RunStatus::queued;
      auto run = s.ensure(proto);
      BOOST_TEST_REQUIRE(run.ok(), run.message());
      return run->id;
    };
    auto deliver = [&](int64_t id, Instant at) {
      BOOST_TEST_REQUIRE(s.set_running(id, at).ok());
      BOOST_TEST_REQUIRE(s.set_delivered(id, at, 100, "/out/x.tar.zst", "00").ok());
    };
    deliver(add("A", "2026-11-24"), kNow - 48h);
    deliver(add("A", "2026-11-25"), kNow - 24h);
    deliver(add("B", "2026-11"), kNow - 1h);
    int64_t retried = add("C", "2026-11-24"), given_up = add("C", "2026-11-23");
    add("C", "2026-11-25");
    BOOST_TEST_REQUIRE(s.set_running(retried, kNow).ok());
    BOOST_TEST_REQUIRE(s.set_failed(retried, kNow, "refused", kNow + 1h).ok());
    BOOST_TEST_REQUIRE(s.set_running(given_up, kNow).ok());
    BOOST_TEST_REQUIRE(s.set_failed(given_up, kNow, "refused", std::nullopt).ok());

    auto last = s.last_deliveries();
    BOOST_TEST_REQUIRE(last.ok(), last.message());
    BOOST_TEST_REQUIRE(last->size() == 2u);
    std::sort(last->begin(), last->end(), [](auto& a, auto& b) { return a.order < b.order; });
    BOOST_TEST((*last)[0].order == "A");
    BOOST_TEST(((*last)[0].at == kNow - 24h));
    BOOST_TEST((*last)[1].order == "B");
    BOOST_TEST((*last)[1].municipality == 101);
  }
  std::filesystem::remove_all(dir);
}

// The loop serves metrics where flisd.yaml says; an address it cannot use is logged, and flisd
// starts all the same (deliveries matter more; the scrape target shows as down).
BOOST_AUTO_TEST_CASE(the_loop_starts_metrics_from_the_configuration_and_without_them_if_it_must) {
  auto taken = Metrics::serve("127.0.0.1:0");
  BOOST_TEST_REQUIRE(taken.ok(), taken.message());
  for (bool free_port : {true, false}) {
    flis::test::ConfigTree tree;
    std::string listen = free_port ? "127.0.0.1:0" : (*taken)->address();
    tree.write("flisd.yaml", std::string(flis::test::kBaseSettings) + "metrics: {listen: \"" + listen + "\"}\n");
    LoopOptions options;
    options.config_dir = tree.dir();
    options.clock = [] { return kNow; };
    auto loop = EventLoop::create(options);
    BOOST_TEST_CONTEXT("metrics.listen " << listen) {
      BOOST_TEST_REQUIRE(loop.ok(), loop.message());
      if (!free_port) {
        BOOST_TEST((*loop)->metrics() == nullptr);
        continue;
      }
      BOOST_TEST_REQUIRE((*loop)->metrics() != nullptr);
      const Metrics& m = *(*loop)->metrics();
      BOOST_TEST(m.address() != "127.0.0.1:0");
      BOOST_TEST(sample(m, "flisd_config_last_reload_successful") == "1");
      BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("K101-CPR-DAILY")) == "86400");
      BOOST_TEST(sample(m, "flisd_order_period_seconds" + labels("DM-101")) == "2678400");
    }
  }
}
