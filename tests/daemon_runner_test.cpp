// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The Runner end to end inside one process: a real warehouse and a real directory target in a
// temporary folder, a real SQLite state store, and an injected clock.
#define BOOST_TEST_MODULE daemon_runner
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>

#include "daemon/runner.h"
#include "daemon/state_store.h"
#include "jobs/packer.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Regular files under root, relative, sorted (hidden temporary files included).
std::vector<std::string> files_under(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(root, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.push_back(e.path().lexically_relative(root).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

// A world: warehouse, outbox, state database, a config built in code and a clock we move by hand.
struct World {
  TempDir tmp;
  Warehouse warehouse{tmp.path() / "warehouse"};
  fs::path outbox = tmp.path() / "outbox";
  Instant now = at("2026-11-04 12:00");
  std::unique_ptr<StateStore> store;
  std::unique_ptr<Runner> runner;
  ConfigBuilder builder{tmp.path() / "warehouse"};

  World() {
    fs::create_directories(warehouse.root());
    auto s = StateStore::open(tmp.path() / "state.db");
    BOOST_TEST_REQUIRE(s.ok(), s.message());
    store = std::move(*s);
    runner = std::make_unique<Runner>(*store, [this] { return now; });
    builder.standard_catalogue();
  }

  // Installs the builder's config with a directory target at `target_path` for delivery flis.
  std::shared_ptr<const Config> apply(std::string target_path = {}) {
    Config c = builder.build();
    c.version = "test-v1";
    Target t;
    t.name = "flis";
    t.type = TargetType::directory;
    t.path = target_path.empty() ? (outbox / "{municipality}").string() : target_path;
    c.settings.targets["flis"] = t;
    c.settings.retry = RetryPolicy{3, std::chrono::seconds(60), std::chrono::seconds(90)};
    auto shared = std::make_shared<const Config>(std::move(c));
    runner->set_config(shared);
    return shared;
  }

  // A processed daily partition with a file for municipality 101.
  void ready_day(const std::string& iface, const std::string& day) {
    warehouse.land("DSA", iface, day, 101);
    warehouse.process("DSA", iface, day);
  }

  std::vector<Run> refresh() {
    auto r = runner->refresh();
    BOOST_TEST_REQUIRE(r.ok(), r.message());
    return *r;
  }

  Run get(int64_t id) {
    auto r = store->get(id);
    BOOST_TEST_REQUIRE(r.ok(), r.message());
    BOOST_TEST_REQUIRE(r->has_value());
    return **r;
  }

  std::vector<Run> runs(std::optional<RunStatus> status = std::nullopt) {
    auto r = store->list({.status = status});
    BOOST_TEST_REQUIRE(r.ok(), r.message());
    return *r;
  }
};

std::vector<std::string> periods_of(const std::vector<Run>& runs) {
  std::vector<std::string> out;
  for (const auto& r : runs) out.push_back(r.order + " " + r.period.name());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(due_periods_are_delivered_exactly_once) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-01", "2026-12-31");
  w.apply();
  for (auto d : {"2026-11-01", "2026-11-02", "2026-11-03"}) w.ready_day("CPR_PERSON", d);

  auto queued = w.refresh();
  BOOST_TEST(periods_of(queued) == (std::vector<std::string>{"K101-CPR-D 2026-11-01", "K101-CPR-D 2026-11-02",
                                                             "K101-CPR-D 2026-11-03"}),
             boost::test_tools::per_element());
  for (const Run& r : queued) {
    BOOST_TEST((r.kind == RunKind::subscription));
    Outcome s = w.runner->execute(r);
    BOOST_TEST_REQUIRE(s.ok(), s.message());
  }
  BOOST_TEST(w.refresh().empty());
  // A stale copy of a delivered run handed to execute again must not deliver it a second time.
  BOOST_TEST(!w.runner->execute(queued[0]).ok());
  BOOST_TEST(w.refresh().empty());

  fs::path pkg = w.outbox / "101" / "K101-CPR-D_2026-11-01.tar.zst";
  BOOST_TEST(files_under(w.outbox).size() == 6u);  // three packages and their .sha256 files
  Run r = w.get(queued[0].id);
  BOOST_TEST((r.status == RunStatus::delivered));
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST(r.remote == pkg.string());
  BOOST_TEST(r.bytes == int64_t(fs::file_size(pkg)));
  BOOST_TEST(slurp(pkg.string() + ".sha256") == r.checksum + "  K101-CPR-D_2026-11-01.tar.zst\n");
  BOOST_TEST(r.config_version == "test-v1");
  BOOST_TEST(w.runs().size() == 3u);  // the unfinished 2026-11-04 is not recorded
}

BOOST_AUTO_TEST_CASE(waiting_runs_name_their_missing_partitions_until_processed) {
  World w;
  w.builder.subscription("K101-MIX-M", 101, OrderType::monthly, {"CPR_PERSON", "LOEN_ANSAT"}, "2026-10-01",
                         "2026-12-31");
  w.apply();
  w.warehouse.process_days("DSA", "CPR_PERSON", day("2026-10-01"), day("2026-10-30"));
  w.warehouse.land("DSA", "CPR_PERSON", "2026-10-31", 101);  // landed, not processed

  BOOST_TEST(w.refresh().empty());
  auto waiting = w.runs(RunStatus::waiting);
  BOOST_TEST_REQUIRE(waiting.size() == 1u);
  BOOST_TEST(waiting[0].period.name() == "2026-10");
  BOOST_TEST(waiting[0].missing == (std::vector<std::string>{"DSA/CPR_PERSON/2026-10-31", "DSA/LOEN_ANSAT/2026-10"}));

  auto watched = w.runner->watch_paths();
  BOOST_TEST((std::find(watched.begin(), watched.end(), w.warehouse.dir("DSA", "CPR_PERSON", "2026-10-31")) !=
              watched.end()));
  // LOEN_ANSAT has no folder yet: its nearest existing parent is watched.
  BOOST_TEST((std::find(watched.begin(), watched.end(), w.warehouse.root() / "DSA") != watched.end()));

  w.warehouse.process("DSA", "CPR_PERSON", "2026-10-31");
  w.refresh();
  BOOST_TEST(w.runs(RunStatus::waiting)[0].missing == std::vector<std::string>{"DSA/LOEN_ANSAT/2026-10"});

  w.warehouse.process("DSA", "LOEN_ANSAT", "2026-10");
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  BOOST_TEST(queued[0].id == waiting[0].id);
  BOOST_TEST(queued[0].missing.empty());
}

BOOST_AUTO_TEST_CASE(a_failing_target_is_retried_with_backoff_then_left_failed) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  // A folder under a regular file: mkdir fails with ENOTDIR, even as root.
  std::ofstream(w.tmp.path() / "plainfile") << "x";
  w.apply((w.tmp.path() / "plainfile" / "{municipality}").string());
  w.ready_day("CPR_PERSON", "2026-11-03");

  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  int64_t id = queued[0].id;
  Instant t0 = w.now;
  BOOST_TEST(!w.runner->execute(queued[0]).ok());
  Run r = w.get(id);
  BOOST_TEST((r.status == RunStatus::failed));
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST(r.error.find("plainfile") != std::string::npos, r.error);
  BOOST_TEST((r.next_attempt == t0 + std::chrono::seconds(60)));  // initial
  BOOST_TEST((w.runner->next_wakeup() <= t0 + std::chrono::seconds(60)));

  w.now = t0 + std::chrono::seconds(59);
  BOOST_TEST(w.refresh().empty());  // not yet

  w.now = t0 + std::chrono::seconds(60);
  queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  BOOST_TEST(!w.runner->execute(queued[0]).ok());
  r = w.get(id);
  BOOST_TEST(r.attempts == 2);
  BOOST_TEST((r.next_attempt == w.now + std::chrono::seconds(90)));  // 120 s, capped at max 90 s

  w.now += std::chrono::seconds(90);
  queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  BOOST_TEST(!w.runner->execute(queued[0]).ok());
  r = w.get(id);
  BOOST_TEST((r.status == RunStatus::failed));
  BOOST_TEST(r.attempts == 3);
  BOOST_TEST(!r.next_attempt.has_value());  // the policy's 3 attempts are used up

  w.now += std::chrono::hours(24);
  BOOST_TEST(w.refresh().empty());
  BOOST_TEST((w.get(id).status == RunStatus::failed));

  // flisctl retry: queued again with a fresh budget.
  auto retried = w.runner->retry(id);
  BOOST_TEST_REQUIRE(retried.ok(), retried.message());
  BOOST_TEST((retried->status == RunStatus::queued));
  BOOST_TEST(retried->attempts == 0);
  BOOST_TEST(!w.runner->retry(id).ok());  // not failed any more
}

BOOST_AUTO_TEST_CASE(recover_records_a_package_already_on_the_target_without_building_another) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-03");
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  // The crash came after the final rename and the checksum file, before set_delivered.
  BOOST_TEST_REQUIRE(w.store->set_running(queued[0].id, w.now).ok());
  fs::path folder = w.outbox / "101";
  fs::create_directories(folder);
  std::ofstream(folder / "K101-CPR-D_2026-11-03.tar.zst") << "twelve bytes";
  std::string sum(64, 'a');
  std::ofstream(folder / "K101-CPR-D_2026-11-03.tar.zst.sha256") << sum << "  K101-CPR-D_2026-11-03.tar.zst\n";

  Status s = w.runner->recover();
  BOOST_TEST_REQUIRE(s.ok(), s.message());
  Run r = w.get(queued[0].id);
  BOOST_TEST((r.status == RunStatus::delivered));
  BOOST_TEST(r.bytes == 12);
  BOOST_TEST(r.checksum == sum);
  BOOST_TEST(r.remote == (folder / "K101-CPR-D_2026-11-03.tar.zst").string());
  BOOST_TEST(slurp(folder / "K101-CPR-D_2026-11-03.tar.zst") == "twelve bytes");  // not rebuilt
  BOOST_TEST(w.refresh().empty());
}

BOOST_AUTO_TEST_CASE(recover_queues_an_interrupted_run_and_removes_its_temporary_file) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-03");
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  BOOST_TEST_REQUIRE(w.store->set_running(queued[0].id, w.now).ok());
  fs::path folder = w.outbox / "101";
  fs::create_directories(folder);
  fs::path temp = folder / temporary_name("K101-CPR-D_2026-11-03.tar.zst");
  std::ofstream(temp) << "half a package";

  Status s = w.runner->recover();
  BOOST_TEST_REQUIRE(s.ok(), s.message());
  BOOST_TEST((w.get(queued[0].id).status == RunStatus::queued));
  BOOST_TEST(!fs::exists(temp));

  queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  BOOST_TEST_REQUIRE(w.runner->execute(queued[0]).ok());
  Run r = w.get(queued[0].id);
  BOOST_TEST((r.status == RunStatus::delivered));
  BOOST_TEST(r.attempts == 2);  // the interrupted attempt counts
  BOOST_TEST(files_under(w.outbox) == (std::vector<std::string>{"101/K101-CPR-D_2026-11-03.tar.zst",
                                                                 "101/K101-CPR-D_2026-11-03.tar.zst.sha256"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(execute_records_a_package_a_crashed_attempt_already_delivered) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-03");
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  fs::path folder = w.outbox / "101";
  fs::create_directories(folder);
  std::ofstream(folder / "K101-CPR-D_2026-11-03.tar.zst") << "first";
  std::ofstream(folder / "K101-CPR-D_2026-11-03.tar.zst.sha256") << std::string(64, 'b') << "  x\n";

  BOOST_TEST_REQUIRE(w.runner->execute(queued[0]).ok());
  Run r = w.get(queued[0].id);
  BOOST_TEST((r.status == RunStatus::delivered));
  BOOST_TEST(r.checksum == std::string(64, 'b'));
  BOOST_TEST(slurp(folder / "K101-CPR-D_2026-11-03.tar.zst") == "first");
}

// The files are hashed while the target is looked at; a package already there is recorded even when
// its warehouse files have gone meanwhile (here: turned into a link flisd refuses to follow).
BOOST_AUTO_TEST_CASE(a_package_already_delivered_is_recorded_even_when_its_files_are_gone) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-03");
  w.ready_day("CPR_PERSON", "2026-11-04");
  w.now = at("2026-11-05 12:00");
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 2u);
  fs::path folder = w.outbox / "101";
  fs::create_directories(folder);
  std::ofstream(folder / "K101-CPR-D_2026-11-03.tar.zst") << "first";
  std::ofstream(folder / "K101-CPR-D_2026-11-03.tar.zst.sha256") << std::string(64, 'b') << "  x\n";
  for (const char* day : {"2026-11-03", "2026-11-04"}) {
    fs::path municipality = w.warehouse.dir("DSA", "CPR_PERSON", day) / "101";
    fs::remove_all(municipality);
    fs::create_directory_symlink(w.outbox, municipality);
  }

  BOOST_TEST_REQUIRE(w.runner->execute(queued[0]).ok());
  BOOST_TEST((w.get(queued[0].id).status == RunStatus::delivered));

  // Not there: the listing's refusal is the run's error, and no temporary file is left.
  flis::Outcome second = w.runner->execute(queued[1]);
  BOOST_TEST(!second.ok());
  BOOST_TEST(second.message().find("2026-11-04/101") != std::string::npos, second.message());
  BOOST_TEST(files_under(folder) == (std::vector<std::string>{"K101-CPR-D_2026-11-03.tar.zst",
                                                             "K101-CPR-D_2026-11-03.tar.zst.sha256"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(runs_of_deactivated_and_removed_orders_are_cancelled) {
  World w;
  w.builder.subscription("K101-A", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.builder.subscription("K101-B", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-02");
  w.warehouse.land("DSA", "CPR_PERSON", "2026-11-03", 101);  // K101-* 2026-11-03 waiting
  BOOST_TEST(w.refresh().empty());
  BOOST_TEST(w.runs(RunStatus::waiting).size() == 2u);
  w.warehouse.process("DSA", "CPR_PERSON", "2026-11-03");
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 2u);

  // Reload: K101-A deactivated, K101-B's file removed.
  ConfigBuilder next{w.warehouse.root()};
  next.standard_catalogue();
  next.subscription("K101-A", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31").status =
      OrderStatus::deactivated;
  w.builder = next;
  w.apply();
  BOOST_TEST(w.refresh().empty());
  auto cancelled = w.runs(RunStatus::cancelled);
  BOOST_TEST_REQUIRE(cancelled.size() == 2u);
  BOOST_TEST(cancelled[0].error.find("deactivated") != std::string::npos, cancelled[0].error);
  BOOST_TEST(cancelled[1].error.find("removed") != std::string::npos, cancelled[1].error);
  // A run handed out before the reload is cancelled rather than delivered.
  BOOST_TEST(!w.runner->execute(queued[0]).ok());
  BOOST_TEST((w.get(queued[0].id).status == RunStatus::cancelled));
  BOOST_TEST(files_under(w.outbox).empty());
}

BOOST_AUTO_TEST_CASE(runs_past_an_end_moved_earlier_are_cancelled_and_earlier_ones_kept) {
  World w;
  w.now = at("2026-11-08 12:00");
  w.builder.subscription("K101-A", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  BOOST_TEST(w.refresh().empty());
  BOOST_TEST_REQUIRE(w.runs(RunStatus::waiting).size() == 5u);  // 2026-11-03 .. 2026-11-07

  // The end moves to 2026-11-05: the waiting runs of the 6th and 7th go, the others stay.
  ConfigBuilder next{w.warehouse.root()};
  next.standard_catalogue();
  next.subscription("K101-A", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-11-05");
  w.builder = next;
  w.apply();
  BOOST_TEST(w.refresh().empty());
  BOOST_TEST(periods_of(w.runs(RunStatus::cancelled)) == (std::vector<std::string>{"K101-A 2026-11-06", "K101-A 2026-11-07"}),
             boost::test_tools::per_element());
  for (const Run& r : w.runs(RunStatus::cancelled))
    BOOST_TEST(r.error.find("no longer a period") != std::string::npos, r.error);
  BOOST_TEST(w.runs(RunStatus::waiting).size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_reload_replans_only_the_orders_it_changed_and_a_refresh_replans_all) {
  World w;
  w.builder.subscription("K101-A", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.builder.subscription("K101-B", 101, OrderType::daily, {"CPR_ADRESSE"}, "2026-11-03", "2026-12-31");
  w.apply();
  BOOST_TEST(w.refresh().empty());
  BOOST_TEST_REQUIRE(w.runs(RunStatus::waiting).size() == 2u);  // 2026-11-03 of each

  // Both partitions get processed with no warehouse event (files_changed is not called).
  w.ready_day("CPR_PERSON", "2026-11-03");
  w.ready_day("CPR_ADRESSE", "2026-11-03");
  // A reload that only moves K101-B's end: K101-B is planned again and queued, K101-A is not
  // looked at (its data is found by the warehouse event or the slow rescan, not by a reload).
  ConfigBuilder next{w.warehouse.root()};
  next.standard_catalogue();
  next.subscription("K101-A", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  next.subscription("K101-B", 101, OrderType::daily, {"CPR_ADRESSE"}, "2026-11-03", "2027-06-30");
  w.builder = next;
  w.apply();
  BOOST_TEST(periods_of(w.refresh()) == (std::vector<std::string>{"K101-B 2026-11-03"}),
             boost::test_tools::per_element());
  BOOST_TEST(periods_of(w.runs(RunStatus::waiting)) == (std::vector<std::string>{"K101-A 2026-11-03"}),
             boost::test_tools::per_element());
  // The same configuration again (an overflow, a clock jump): every order.
  BOOST_TEST(w.refresh().size() == 2u);
  BOOST_TEST(w.runs(RunStatus::waiting).empty());
}

BOOST_AUTO_TEST_CASE(subscriptions_come_before_backfill_chunks) {
  World w;
  w.builder.one_off("K101-HIST", 101, {"CPR_PERSON"}, "2026-09-01", "2026-10-31", Chunk::month);
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-02", "2026-12-31");
  w.builder.datamart(101, {"DM_BORGER"}, "2026-10-01");
  w.apply();
  w.warehouse.process_days("DSA", "CPR_PERSON", day("2026-09-01"), day("2026-11-03"));
  w.warehouse.process("DM", "DM_BORGER", "2026-10");

  auto queued = w.refresh();
  BOOST_TEST(periods_of(queued) == (std::vector<std::string>{"DM-101 2026-10", "K101-CPR-D 2026-11-02",
                                                             "K101-CPR-D 2026-11-03", "K101-HIST 2026-09",
                                                             "K101-HIST 2026-10"}),
             boost::test_tools::per_element());
  BOOST_TEST((queued[0].kind == RunKind::datamart));
  BOOST_TEST((queued[1].kind == RunKind::subscription));
  BOOST_TEST((queued[3].kind == RunKind::backfill));
}

BOOST_AUTO_TEST_CASE(redeliver_makes_a_new_numbered_package) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-03");
  BOOST_TEST(!w.runner->redeliver("K101-CPR-D", period("2026-11-03")).ok());  // never delivered yet
  for (const Run& r : w.refresh()) BOOST_TEST_REQUIRE(w.runner->execute(r).ok());

  auto again = w.runner->redeliver("K101-CPR-D", period("2026-11-03"));
  BOOST_TEST_REQUIRE(again.ok(), again.message());
  BOOST_TEST(again->redelivery == 2);
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 1u);
  BOOST_TEST_REQUIRE(w.runner->execute(queued[0]).ok());
  BOOST_TEST(fs::exists(w.outbox / "101" / "K101-CPR-D_2026-11-03.r2.tar.zst"));
  BOOST_TEST(fs::exists(w.outbox / "101" / "K101-CPR-D_2026-11-03.tar.zst"));
  BOOST_TEST(w.refresh().empty());
}

BOOST_AUTO_TEST_CASE(a_queued_redelivery_of_an_order_deactivated_is_cancelled) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-03");
  for (const Run& r : w.refresh()) BOOST_TEST_REQUIRE(w.runner->execute(r).ok());
  auto again = w.runner->redeliver("K101-CPR-D", period("2026-11-03"));
  BOOST_TEST_REQUIRE(again.ok(), again.message());

  ConfigBuilder next{w.warehouse.root()};
  next.standard_catalogue();
  next.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31").status =
      OrderStatus::deactivated;
  w.builder = next;
  w.apply();
  BOOST_TEST(w.refresh().empty());
  Run r = w.get(again->id);
  BOOST_TEST((r.status == RunStatus::cancelled));
  BOOST_TEST(r.error.find("deactivated") != std::string::npos, r.error);
  BOOST_TEST(!fs::exists(w.outbox / "101" / "K101-CPR-D_2026-11-03.r2.tar.zst"));
}

BOOST_AUTO_TEST_CASE(trigger_queues_a_processed_period_and_names_what_is_missing) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-01", "2026-12-31");
  w.apply();
  w.warehouse.land("DSA", "CPR_PERSON", "2026-11-02", 101);
  auto missing = w.runner->trigger("K101-CPR-D", period("2026-11-02"));
  BOOST_TEST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.message().find("DSA/CPR_PERSON/2026-11-02") != std::string::npos, missing.message());
  BOOST_TEST(!w.runner->trigger("K101-CPR-D", period("2026-11-04")).ok());  // not ended
  BOOST_TEST(!w.runner->trigger("NO-SUCH", std::nullopt).ok());

  w.warehouse.process("DSA", "CPR_PERSON", "2026-11-02");
  auto ok = w.runner->trigger("K101-CPR-D", period("2026-11-02"));
  BOOST_TEST_REQUIRE(ok.ok(), ok.message());
  BOOST_TEST_REQUIRE(ok->size() == 1u);
  BOOST_TEST(((*ok)[0].status == RunStatus::queued));
}

BOOST_AUTO_TEST_CASE(status_line_counts_orders_and_waiting_runs) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-12-31");
  w.apply();
  w.warehouse.land("DSA", "CPR_PERSON", "2026-11-03", 101);
  w.refresh();
  std::string line = w.runner->status_line();
  BOOST_TEST(line.find("1 order; 0 running; 1 waiting, 1 late; next ") == 0u, line);
}

// Several nodes: what another node claimed is not this node's to run; the book learns it from the
// store (the refused claim and changes_since), and the STATUS line names the node and counts only
// the runs it runs itself.
BOOST_AUTO_TEST_CASE(a_node_follows_another_nodes_claim_and_shows_only_its_own_runs) {
  World w;
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-11-03", "2026-11-03");
  w.apply();
  w.ready_day("CPR_PERSON", "2026-11-03");
  BOOST_TEST_REQUIRE(w.store->attach_node("a", std::chrono::seconds(30), "host-a", 1).ok());
  auto other = StateStore::open((w.tmp.path() / "state.db").string());
  BOOST_TEST_REQUIRE(other.ok(), other.message());
  BOOST_TEST_REQUIRE((*other)->attach_node("b", std::chrono::seconds(30), "host-b", 2).ok());

  auto queued = w.runner->refresh();
  BOOST_TEST_REQUIRE(queued.ok(), queued.message());
  BOOST_TEST_REQUIRE(queued->size() == 1u);
  const Run run = (*queued)[0];
  BOOST_TEST_REQUIRE((*other)->set_running(run.id, w.now).ok());  // node b claims it first

  Outcome refused = w.runner->execute(run);
  BOOST_TEST(!refused.ok());
  BOOST_TEST(!refused.abandoned);  // a lost race for a claim, not a lost lease
  bool still_queued = false;
  w.runner->for_each_queued([&](const RunBook::Entry&, const std::string&) { return still_queued = true; });
  BOOST_TEST(!still_queued);
  BOOST_TEST(w.runner->counts().by_status[size_t(RunStatus::running)] == 1);

  BOOST_TEST_REQUIRE((*other)->set_delivered(run.id, w.now, 10, "/x", std::string(64, 'a')).ok());
  BOOST_TEST_REQUIRE(w.runner->follow_changes().ok());
  BOOST_TEST(w.runner->counts().by_status[size_t(RunStatus::delivered)] == 1);
  std::string line = w.runner->status_line();
  BOOST_TEST(line.find("node a: 1 order; 0 running;") == 0u, line);
}

// What is due, as the daemon plans it: every ended period with its data, oldest first per order,
// subscriptions before backfill chunks.
BOOST_AUTO_TEST_SUITE(due)

BOOST_AUTO_TEST_CASE(catch_up_after_a_long_gap_queues_every_missed_period_oldest_first) {
  World w;
  w.now = at("2026-11-10 12:00");
  w.builder.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2025-01-01", "2027-12-31");
  w.apply();
  for (auto ym = date::year{2025} / 1; ym <= date::year{2026} / 10; ym += date::months{1})
    w.warehouse.process("DSA", "LOEN_ANSAT", partition_name(Frequency::monthly, date::local_days{ym / 1}));
  auto queued = w.refresh();
  BOOST_TEST_REQUIRE(queued.size() == 22u);  // 2025-01 .. 2026-10; 2026-11 has not ended
  BOOST_TEST(queued.front().period.name() == "2025-01");
  BOOST_TEST(queued.back().period.name() == "2026-10");
  for (size_t i = 1; i < queued.size(); ++i) BOOST_TEST((queued[i - 1].period < queued[i].period), queued[i].period.name());
  for (const auto& r : queued) BOOST_TEST((r.status == RunStatus::queued));
}

BOOST_AUTO_TEST_CASE(periods_whose_data_is_not_processed_wait_and_the_others_are_queued) {
  World w;
  w.now = at("2026-11-10 12:00");
  w.builder.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-08-01", "2027-12-31");
  w.apply();
  w.warehouse.process("DSA", "LOEN_ANSAT", "2026-08");
  w.warehouse.process("DSA", "LOEN_ANSAT", "2026-10");
  BOOST_TEST(periods_of(w.refresh()) == (std::vector<std::string>{"K101-LOEN 2026-08", "K101-LOEN 2026-10"}),
             boost::test_tools::per_element());
  BOOST_TEST(periods_of(w.runs(RunStatus::waiting)) == (std::vector<std::string>{"K101-LOEN 2026-09"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(one_off_orders_are_chunked_and_queued_after_every_subscription) {
  World w;
  w.now = at("2026-11-10 12:00");
  w.builder.one_off("K101-HIST", 101, {"LOEN_ANSAT"}, "2019-03-15", "2019-06-10", Chunk::month);
  w.builder.subscription("K999-LOEN", 999, OrderType::monthly, {"LOEN_ANSAT"}, "2026-10-01", "2026-10-31");
  w.apply();
  for (const char* m : {"2019-04", "2019-05", "2019-06", "2026-10"}) w.warehouse.process("DSA", "LOEN_ANSAT", m);
  // 2019-03-15..2019-03-31 holds no month start, so it is due with nothing missing; the
  // subscription comes first although its period is the newest.
  BOOST_TEST(periods_of(w.refresh()) ==
                 (std::vector<std::string>{"K999-LOEN 2026-10", "K101-HIST 2019-03-15..2019-03-31", "K101-HIST 2019-04",
                                           "K101-HIST 2019-05", "K101-HIST 2019-06-01..2019-06-10"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// When the daemon's timer should fire without a file event: a period's end, a calendar time.
BOOST_AUTO_TEST_SUITE(wakeup)

BOOST_AUTO_TEST_CASE(a_daily_order_wakes_the_daemon_at_local_midnight) {
  World w;
  w.now = at("2026-03-29 12:00");
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-03-01", "2026-12-31");
  w.apply();
  w.warehouse.process_days("DSA", "CPR_PERSON", day("2026-03-01"), day("2026-03-28"));
  w.refresh();
  auto next = w.runner->next_wakeup();
  BOOST_TEST_REQUIRE(next.has_value());
  BOOST_TEST(format_local_iso(*next, copenhagen()) == "2026-03-30T00:00:00+02:00");
}

BOOST_AUTO_TEST_CASE(between_month_end_and_the_calendar_date_the_calendar_time_is_next) {
  World w;
  w.now = at("2026-11-02 12:00");
  w.builder.month(date::year{2026} / 10, "2026-11-05 06:00");
  w.builder.month(date::year{2026} / 11, "2026-12-04 06:00", {{"OPUS", "2026-12-09 06:00"}});
  w.builder.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-10-01", "2026-12-31");
  w.apply();
  w.refresh();
  BOOST_TEST(format_local_iso(*w.runner->next_wakeup(), copenhagen()) == "2026-11-05T06:00:00+01:00");
  w.now = at("2026-11-05 06:00");
  BOOST_TEST_REQUIRE(w.runner->advance().ok());
  BOOST_TEST(format_local_iso(*w.runner->next_wakeup(), copenhagen()) == "2026-12-01T00:00:00+01:00");
  w.now = at("2026-12-01 00:00");
  BOOST_TEST_REQUIRE(w.runner->advance().ok());
  BOOST_TEST(format_local_iso(*w.runner->next_wakeup(), copenhagen()) == "2026-12-09T06:00:00+01:00");
}

BOOST_AUTO_TEST_CASE(nothing_ahead_after_the_last_period_and_its_expected_time) {
  World w;
  w.now = at("2026-04-01 05:59");
  w.builder.subscription("K101-CPR-D", 101, OrderType::daily, {"CPR_PERSON"}, "2026-03-01", "2026-03-31");
  w.apply();
  w.refresh();
  BOOST_TEST(w.runner->next_wakeup().has_value());  // 2026-03-31's data is expected at 06:00
  w.now = at("2026-04-01 06:00");
  BOOST_TEST_REQUIRE(w.runner->advance().ok());
  BOOST_TEST(!w.runner->next_wakeup().has_value());
}

BOOST_AUTO_TEST_CASE(stopped_orders_wake_nobody) {
  World w;
  w.now = at("2026-11-10 12:00");
  w.builder.one_off("K101-HIST", 101, {"LOEN_ANSAT"}, "2019-01-01", "2019-03-31", Chunk::month).status =
      OrderStatus::cancelled;
  w.builder.subscription("K101-LOEN", 101, OrderType::monthly, {"LOEN_ANSAT"}, "2026-09-01", "2026-12-31").status =
      OrderStatus::deactivated;
  w.apply();
  for (const char* m : {"2019-01", "2019-02", "2019-03", "2026-09", "2026-10"}) w.warehouse.process("DSA", "LOEN_ANSAT", m);
  BOOST_TEST(w.refresh().empty());
  BOOST_TEST(!w.runner->next_wakeup().has_value());
}

BOOST_AUTO_TEST_SUITE_END()
