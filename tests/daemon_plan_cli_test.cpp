// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// `flisctl plan` end to end: a configuration tree in YAML, a warehouse and a state
// database on disk, the real flisctl binary, its table and its --json.
#define BOOST_TEST_MODULE daemon_plan_cli
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "daemon/state_store.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;
using nlohmann::json;

namespace {

struct Output {
  int code = -1;
  std::string out, err;
};

std::string flisctl() {
  const char* env = std::getenv("FLISCTL");
  return env ? env : std::string(FLISD_BINARY_DIR) + "/flisctl";
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A small /etc/flisd: two municipalities, a monthly order over a monthly and a daily interface,
// a daily order, a deactivated one, datamarts; calendar for 2026 only.
struct Tree {
  TempDir tmp;
  std::filesystem::path dir = tmp.path() / "etc";
  Warehouse wh{tmp.path() / "etc" / "warehouse"};

  Tree() {
    write(dir / "flisd.yaml", R"(timezone: Europe/Copenhagen
warehouse: warehouse
state: state.db
targets:
  flis: {type: directory, path: "outbox/{municipality}"}
datamarts:
  start: 2026-10
  delivery: flis
  entitlements:
    147: [DM_BORGER]
)");
    write(dir / "interfaces.yaml", R"(sources:
  DSA:
    CPR_PERSON: {system: CPR, frequency: daily}
    LOEN_ANSAT: {system: OPUS, frequency: monthly}
  DM:
    DM_BORGER: {system: FLIS, frequency: monthly}
)");
    write(dir / "calendar" / "2026.yaml", R"(daily:  {ready: "06:00", lag_days: 1}
weekly: {ready: "06:00", weekday: tuesday}
monthly:
  2026-09: {ready: "2026-10-05 06:00"}
  2026-10: {ready: "2026-11-05 06:00", systems: {OPUS: "2026-11-09 06:00"}}
  2026-11: {ready: "2026-12-04 06:00"}
  2026-12: {ready: "2027-01-07 06:00"}
)");
    write(dir / "orders" / "K101-LOEN.yaml", R"(id: K101-LOEN
municipality: 101
type: monthly
source: DSA
delivery: flis
interfaces: [LOEN_ANSAT]
start: 2026-09-01
end: 2027-12-31
)");
    write(dir / "orders" / "K147-CPR.yaml", R"(id: K147-CPR
municipality: 147
type: daily
source: DSA
delivery: flis
interfaces: [CPR_PERSON]
start: 2026-10-24
end: 2026-10-26
)");
    write(dir / "orders" / "K147-OLD.yaml", R"(id: K147-OLD
municipality: 147
type: monthly
source: DSA
delivery: flis
interfaces: [LOEN_ANSAT]
start: 2026-09-01
end: 2026-12-31
status: deactivated
)");
  }

  Output plan(const std::string& args) const {
    auto err = tmp.path() / "stderr";
    std::string cmd = "'" + flisctl() + "' --log stderr --config '" + dir.string() + "' plan " + args + " 2>'" +
                      err.string() + "'";
    Output o;
    FILE* p = popen(cmd.c_str(), "r");
    BOOST_TEST_REQUIRE(p != nullptr);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
    int status = pclose(p);
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.err = slurp(err);
    return o;
  }

  json plan_json(const std::string& args) const {
    Output o = plan(args + " --json");
    BOOST_TEST_REQUIRE(o.code == 0, o.err);
    return json::parse(o.out);
  }
};

const json& entry(const json& runs, const std::string& order, const std::string& period) {
  for (const auto& r : runs)
    if (r["order"] == order && r["period"] == period) return r;
  throw std::runtime_error("no entry " + order + " " + period);
}

}  // namespace

BOOST_AUTO_TEST_CASE(json_lists_each_order_period_with_expected_time_state_and_missing) {
  Tree t;
  t.wh.land("DSA", "LOEN_ANSAT", "2026-10", 101);  // landed, not processed
  t.wh.process("DSA", "LOEN_ANSAT", "2026-09");
  t.wh.process_days("DSA", "CPR_PERSON", day("2026-10-24"), day("2026-10-25"));
  t.wh.process("DM", "DM_BORGER", "2026-10");
  json runs = t.plan_json("--now 2026-11-10T12:00:00+01:00 --from 2026-09-01 --to 2026-11-30");

  const json& sep = entry(runs, "K101-LOEN", "2026-09");
  BOOST_TEST(sep["state"] == "due");
  BOOST_TEST(sep["expected"] == "2026-10-05T06:00:00+02:00");  // summer time
  BOOST_TEST(sep["missing"].empty());
  BOOST_TEST(sep["municipality"] == 101);

  const json& oct = entry(runs, "K101-LOEN", "2026-10");
  BOOST_TEST(oct["state"] == "late");
  BOOST_TEST(oct["expected"] == "2026-11-09T06:00:00+01:00");  // the OPUS override, winter time
  BOOST_TEST(oct["missing"] == json::array({"DSA/LOEN_ANSAT/2026-10"}));

  BOOST_TEST(entry(runs, "K101-LOEN", "2026-11")["state"] == "future");
  BOOST_TEST(entry(runs, "K147-CPR", "2026-10-25")["expected"] == "2026-10-26T06:00:00+01:00");
  BOOST_TEST(entry(runs, "K147-CPR", "2026-10-25")["state"] == "due");
  BOOST_TEST(entry(runs, "K147-CPR", "2026-10-26")["missing"] == json::array({"DSA/CPR_PERSON/2026-10-26"}));
  BOOST_TEST(entry(runs, "DM-147", "2026-10")["state"] == "due");
  BOOST_TEST(entry(runs, "K147-OLD", "2026-10")["state"] == "cancelled");
  for (const auto& r : runs) {
    BOOST_TEST(r["order"] != "DM-101");  // 101 has no datamart entitlement
    BOOST_TEST(r["state"] != "delivered");
  }
}

BOOST_AUTO_TEST_CASE(a_month_beyond_the_calendar_has_a_null_expected_time) {
  Tree t;
  json runs = t.plan_json("--now 2027-02-15T12:00:00+01:00 --from 2027-01 --to 2027-01");
  const json& jan = entry(runs, "K101-LOEN", "2027-01");
  BOOST_TEST(jan["expected"].is_null());
  BOOST_TEST(jan["state"] == "waiting");
}

BOOST_AUTO_TEST_CASE(delivered_runs_come_from_the_state_database_and_plan_never_creates_it) {
  Tree t;
  t.plan_json("--now 2026-11-10T12:00:00+01:00");
  BOOST_TEST(!std::filesystem::exists(t.dir / "state.db"));  // plan is read-only

  {
    auto store = StateStore::open(t.dir / "state.db");
    BOOST_TEST_REQUIRE(store.ok(), store.message());
    Run proto;
    proto.order = "K101-LOEN";
    proto.municipality = 101;
    proto.period = period("2026-09");
    proto.kind = RunKind::subscription;
    proto.created = at("2026-10-06T06:00:00Z");
    auto run = (*store)->ensure(proto);
    BOOST_TEST_REQUIRE(run.ok(), run.message());
    BOOST_TEST_REQUIRE((*store)->set_running(run->id, at("2026-10-06T06:00:00Z")).ok());
    BOOST_TEST_REQUIRE(
        (*store)->set_delivered(run->id, at("2026-10-06T06:01:00Z"), 1234, "/outbox/101/x.tar.zst", "ab").ok());
  }
  json runs = t.plan_json("--now 2026-11-10T12:00:00+01:00 --from 2026-09 --to 2026-09");
  BOOST_TEST(entry(runs, "K101-LOEN", "2026-09")["state"] == "delivered");
}

BOOST_AUTO_TEST_CASE(the_table_has_aligned_columns_and_local_times_with_their_offset) {
  Tree t;
  Output o = t.plan("--now 2026-11-10T12:00:00+01:00 --from 2026-10 --to 2026-10");
  BOOST_TEST_REQUIRE(o.code == 0, o.err);
  std::istringstream lines(o.out);
  std::string header, line;
  std::getline(lines, header);
  BOOST_TEST(header.rfind("ORDER", 0) == 0u);
  auto col = header.find("PERIOD");
  auto state_col = header.find("STATE");
  BOOST_TEST_REQUIRE(col != std::string::npos);
  int rows = 0;
  bool seen_k101 = false;
  while (std::getline(lines, line)) {
    ++rows;
    BOOST_TEST(line.at(col - 1) == ' ');
    BOOST_TEST(line.at(col) != ' ');
    BOOST_TEST(line.at(state_col) != ' ');
    if (line.rfind("K101-LOEN", 0) == 0) {
      seen_k101 = true;
      BOOST_TEST(line.find("2026-11-09 06:00 +01:00") != std::string::npos, line);
      BOOST_TEST(line.find("DSA/LOEN_ANSAT/2026-10") != std::string::npos, line);
    }
  }
  BOOST_TEST(rows == 6);  // K101-LOEN, K147-OLD, DM-147 for October; K147-CPR's three days
  BOOST_TEST(seen_k101);
}

BOOST_AUTO_TEST_CASE(the_default_window_is_three_months_either_side_of_now) {
  Tree t;
  json runs = t.plan_json("--now 2026-11-10T12:00:00+01:00");
  std::set<std::string> k101;
  for (const auto& r : runs)
    if (r["order"] == "K101-LOEN") k101.insert(r["period"].get<std::string>());
  // 2026-08-10 .. 2027-02-10; the order starts in September.
  BOOST_TEST(k101 == (std::set<std::string>{"2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02"}));
}

BOOST_AUTO_TEST_CASE(order_and_municipality_keep_only_their_deliveries) {
  Tree t;
  const std::string window = "--now 2026-11-10T12:00:00+01:00 --from 2026-09-01 --to 2026-11-30";
  json all = t.plan_json(window);
  json one = t.plan_json(window + " --order K101-LOEN");
  BOOST_TEST_REQUIRE(one.size() == 3u, one.dump());  // 2026-09, -10, -11
  for (const auto& r : one) BOOST_TEST(r["order"] == "K101-LOEN");
  json of147 = t.plan_json(window + " --municipality 147");
  size_t expected = 0;
  for (const auto& r : all) expected += r["municipality"] == 147;
  BOOST_TEST(expected > 0u);
  BOOST_TEST(of147.size() == expected);
  for (const auto& r : of147) BOOST_TEST(r["municipality"] == 147);
  Output missing = t.plan(window + " --order K999-NONE");
  BOOST_TEST(missing.code == 1);
  BOOST_TEST(missing.err.find("no order K999-NONE") != std::string::npos, missing.err);
}

BOOST_AUTO_TEST_CASE(order_alone_shows_a_one_off_order_whole) {
  Tree t;
  write(t.dir / "orders" / "K101-BACKFILL.yaml", R"(id: K101-BACKFILL
municipality: 101
type: one-off
source: DSA
delivery: flis
interfaces: [LOEN_ANSAT]
from: 2025-01-01
to: 2025-06-30
chunk: month
)");
  Output o = t.plan("--now 2026-11-10T12:00:00+01:00 --order K101-BACKFILL");
  BOOST_TEST_REQUIRE(o.code == 0, o.err);
  for (const char* month : {"2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"})
    BOOST_TEST(o.out.find(std::string("K101-BACKFILL  101           ") + month) != std::string::npos, o.out);
  BOOST_TEST(o.err.empty(), o.err);
  // A window given still rules.
  json march = t.plan_json("--now 2026-11-10T12:00:00+01:00 --order K101-BACKFILL --from 2025-03 --to 2025-03");
  BOOST_TEST_REQUIRE(march.size() == 1u, march.dump());
  BOOST_TEST(march[0]["period"] == "2025-03");
}

BOOST_AUTO_TEST_CASE(the_table_says_how_many_periods_the_window_hides) {
  Tree t;
  Output o = t.plan("--now 2026-11-10T12:00:00+01:00 --order K101-LOEN --from 2026-10 --to 2026-12");
  BOOST_TEST_REQUIRE(o.code == 0, o.err);
  // K101-LOEN runs 2026-09 .. 2027-12: September before, 2027's twelve months after.
  BOOST_TEST(o.err == "1 earlier and 12 later periods outside 2026-10-01..2026-12-31; widen the window with "
                      "--from/--to to see them\n");
  Output all = t.plan("--now 2026-11-10T12:00:00+01:00 --order K101-LOEN");
  BOOST_TEST(all.err.empty(), all.err);
}

BOOST_AUTO_TEST_CASE(municipality_must_be_a_kommunekode) {
  Tree t;
  Output o = t.plan("--municipality 411");
  BOOST_TEST(o.code == 2);
  BOOST_TEST(o.err.find("'411' is not a kommunekode") != std::string::npos, o.err);
  BOOST_TEST(o.out.empty());
}

BOOST_AUTO_TEST_CASE(bad_usage_exits_2_with_a_message_that_says_what_is_allowed) {
  Tree t;
  Output now = t.plan("--now yesterday");
  BOOST_TEST(now.code == 2);
  BOOST_TEST(now.err.find("--now 'yesterday' is not a time") != std::string::npos, now.err);
  BOOST_TEST(now.out.empty());
  Output from = t.plan("--from 2026-02-30");
  BOOST_TEST(from.code == 2);
  BOOST_TEST(from.err.find("--from '2026-02-30'") != std::string::npos, from.err);
  Output reversed = t.plan("--from 2026-12 --to 2026-10");
  BOOST_TEST(reversed.code == 2);
}

BOOST_AUTO_TEST_CASE(a_broken_configuration_exits_1_naming_the_file) {
  Tree t;
  write(t.dir / "orders" / "K101-LOEN.yaml", "id: K101-LOEN\nmunicipality: 101\ntype: sometimes\n");
  Output o = t.plan("--now 2026-11-10T12:00:00+01:00");
  BOOST_TEST(o.code == 1);
  BOOST_TEST(o.err.find("orders/K101-LOEN.yaml") != std::string::npos, o.err);
}
