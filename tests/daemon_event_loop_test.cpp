// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The service's event loop in one process, against real things: a configuration folder read by the
// real loader, a warehouse and a directory target on disk, a real SQLite state store, inotify and
// timerfd. Time is an injected clock; the loop thread is the only one that acts.
#define BOOST_TEST_MODULE daemon_event_loop
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "daemon/delivery.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "daemon/state_store.h"
#include "tests/support/config_tree.h"
#include "tests/support/sched_fixtures.h"

using namespace flis;
using namespace flis::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const char* kSettings = R"(warehouse: warehouse
state: state.db
workers: 2
backfill_workers: 1
targets:
  flis:
    type: directory
    path: out/flis/{municipality}
)";

const char* kDailyOrder = R"(id: K101-CPR-DAILY
municipality: 101
type: daily
source: DSA
delivery: flis
interfaces: [CPR_PERSON]
start: 2026-11-25
end: 2026-12-31
)";

const std::string kPackage = "K101-CPR-DAILY_2026-11-25.tar.zst";

// Waits for something the loop does on its own thread; the bound only turns a hang into a failure.
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds bound = 30s) {
  auto until = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// A configuration tree with one daily order, its warehouse, and a loop running on its own thread.
struct Service {
  ConfigTree tree;
  Warehouse warehouse{tree.dir() / "warehouse"};
  fs::path outbox = tree.dir() / "out/flis/101";
  // The clock the loop sees: real time shifted by `offset`, so the loop's real timer and the
  // injected clock agree on how far away the next wake-up is.
  std::atomic<int64_t> offset_s{0};
  // When set, every reading of the clock moves it one second on, so times recorded by different
  // threads are strictly ordered as the readings were.
  bool ticking = false;
  std::unique_ptr<EventLoop> loop;
  std::thread thread;
  int exit_code = -1;

  Service() {
    tree.write("flisd.yaml", kSettings);
    tree.write("orders/k101.yaml", kDailyOrder);
    fs::create_directories(warehouse.root() / "DSA" / "CPR_PERSON");
  }
  ~Service() { stop(); }

  void set_now(const std::string& local_time) { offset_s = (at(local_time) - system_now()).count(); }
  Instant now() { return system_now() + std::chrono::seconds(ticking ? offset_s++ : offset_s.load()); }

  void start(std::chrono::seconds grace = 60s) {
    LoopOptions o;
    o.config_dir = tree.dir();
    o.clock = [this] { return now(); };
    o.rescan_interval = 3600s;  // so only inotify or the timer can be what woke the loop
    o.shutdown_grace = grace;
    o.control_socket = tree.dir() / "control.sock";
    auto made = EventLoop::create(o);
    BOOST_TEST_REQUIRE(made.ok(), made.message());
    loop = std::move(*made);
    thread = std::thread([this] { exit_code = loop->run(); });
    BOOST_TEST_REQUIRE(loop->sync());
  }
  int stop() {
    if (thread.joinable()) {
      loop->request_stop();
      thread.join();
    }
    loop.reset();
    return exit_code;
  }

  bool delivered() const { return fs::exists(outbox / kPackage); }
  std::vector<Run> runs() {
    auto store = StateStore::open(tree.dir() / "state.db");
    BOOST_TEST_REQUIRE(store.ok(), store.message());
    auto list = (*store)->list();
    BOOST_TEST_REQUIRE(list.ok(), list.message());
    return *list;
  }
};

// Everything under `dir` whose name is not hidden: what a consumer of the folder would pick up.
std::vector<std::string> visible_files(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string()[0] != '.') out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct QuietLogs {
  QuietLogs() { log_init(LogTarget::stderr_only, "flisd-test"); }
};
BOOST_GLOBAL_FIXTURE(QuietLogs);

}  // namespace

BOOST_AUTO_TEST_CASE(wakes_at_the_end_of_a_period_by_its_timer) {
  Service s;
  s.warehouse.land("DSA", "CPR_PERSON", "2026-11-25", 101);
  s.warehouse.process("DSA", "CPR_PERSON", "2026-11-25");  // processed early: due at the day's end
  s.set_now("2026-11-25 23:59:58");
  s.start();
  BOOST_TEST(!s.delivered());

  // Nobody pokes the loop: its timer, armed at the period's end, must wake it.
  BOOST_TEST_REQUIRE(eventually([&] { return s.delivered(); }), "no package after the period ended");
  auto stats = s.loop->stats();
  BOOST_TEST(stats.timer_wakeups >= 1u);
  BOOST_TEST(stats.rescans == 0u);
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(an_injected_clock_moving_past_the_wakeup_starts_the_run) {
  Service s;
  s.warehouse.land("DSA", "CPR_PERSON", "2026-11-25", 101);
  s.warehouse.process("DSA", "CPR_PERSON", "2026-11-25");
  s.set_now("2026-11-25 12:00");
  s.start();
  s.set_now("2026-11-25 23:59:59");
  s.loop->clock_changed();
  BOOST_TEST_REQUIRE(s.loop->sync());
  BOOST_TEST(!s.delivered(), "delivered before the day was over");

  s.set_now("2026-11-26 00:00");
  s.loop->clock_changed();
  BOOST_TEST_REQUIRE(eventually([&] { return s.delivered(); }));
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_marker_that_appears_wakes_the_run_without_the_rescan) {
  Service s;
  s.set_now("2026-11-26 12:00");  // the day is over, its data not processed yet
  s.start();
  BOOST_TEST(!s.delivered());
  auto waiting = s.runs();
  BOOST_TEST_REQUIRE(waiting.size() == 1u);
  BOOST_TEST(to_string(waiting[0].status) == "waiting");

  // FLIS lands the partition (a folder flisd has not seen yet) and then marks it processed.
  s.warehouse.land("DSA", "CPR_PERSON", "2026-11-25", 101);
  s.warehouse.process("DSA", "CPR_PERSON", "2026-11-25");
  BOOST_TEST_REQUIRE(eventually([&] { return s.delivered(); }), "the marker did not wake the run");
  auto stats = s.loop->stats();
  BOOST_TEST(stats.file_events >= 1u);
  BOOST_TEST(stats.rescans == 0u);
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(reload_keeps_a_good_order_when_its_file_breaks) {
  Service s;
  s.set_now("2026-11-26 12:00");
  s.start();
  auto before = s.loop->config();
  BOOST_TEST_REQUIRE(before->find_order("K101-CPR-DAILY") != nullptr);

  s.tree.write("orders/k101.yaml", "id: K101-CPR-DAILY\nmunicipality: 101\ntype: daily\nsource: DSX\n");
  s.loop->request_reload();
  BOOST_TEST_REQUIRE(s.loop->sync());
  BOOST_TEST(s.loop->stats().reloads == 1u);
  const Order* kept = s.loop->config()->find_order("K101-CPR-DAILY");
  BOOST_TEST_REQUIRE(kept != nullptr, "the broken file took its order away");
  BOOST_TEST(to_string(kept->source) == "DSA");

  // The kept order still delivers.
  s.warehouse.land("DSA", "CPR_PERSON", "2026-11-25", 101);
  s.warehouse.process("DSA", "CPR_PERSON", "2026-11-25");
  BOOST_TEST_REQUIRE(eventually([&] { return s.delivered(); }));
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(reload_keeps_the_whole_configuration_when_flisd_yaml_breaks) {
  Service s;
  s.set_now("2026-11-26 12:00");
  s.start();
  auto before = s.loop->config();
  s.tree.write("flisd.yaml", "workers: [not a number\n");
  s.loop->request_reload();
  BOOST_TEST_REQUIRE(s.loop->sync());
  BOOST_TEST(s.loop->config() == before, "a broken flisd.yaml replaced the running configuration");
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_new_order_after_reload_is_planned) {
  Service s;
  s.set_now("2026-11-26 12:00");
  s.start();
  BOOST_TEST(s.runs().size() == 1u);
  std::string k147 = kDailyOrder;
  k147.replace(k147.find("K101"), 4, "K147");
  k147.replace(k147.find("101\n"), 3, "147");
  s.tree.write("orders/k147.yaml", k147);
  s.loop->request_reload();
  BOOST_TEST_REQUIRE(s.loop->sync());
  BOOST_TEST_REQUIRE(s.loop->config()->find_order("K147-CPR-DAILY") != nullptr);
  BOOST_TEST(s.runs().size() == 2u, "the new order's waiting period is not in the runs table");
  BOOST_TEST(s.stop() == 0);
}

BOOST_AUTO_TEST_CASE(stop_mid_upload_leaves_no_partial_package_and_the_next_start_delivers_it) {
  Service s;
  s.warehouse.land("DSA", "CPR_PERSON", "2026-11-25", 101);
  {
    std::ofstream big(s.warehouse.dir("DSA", "CPR_PERSON", "2026-11-25") / "101" / "big.bin", std::ios::binary);
    std::mt19937_64 rng(42);
    std::vector<uint64_t> block(1 << 16);
    for (int i = 0; i < 8; ++i) {  // 4 MiB
      for (auto& x : block) x = rng();
      big.write(reinterpret_cast<const char*>(block.data()), block.size() * sizeof(uint64_t));
    }
  }
  s.warehouse.process("DSA", "CPR_PERSON", "2026-11-25");
  s.set_now("2026-11-26 12:00");
  // The seam holds the upload mid-way (temporary file open, nothing archived yet) until the stop
  // has set the cancel flag: the stop always comes mid-upload, however fast the machine.
  std::promise<void> reached;
  flis::set_delivery_pause_for_tests([&reached](const std::atomic<bool>* cancel) {
    reached.set_value();
    for (int i = 0; i < 60000 && !(cancel && cancel->load()); ++i) std::this_thread::sleep_for(1ms);
  });
  s.start(0s);  // no grace: stopping aborts the upload at once

  const fs::path part = s.outbox / ("." + kPackage + ".part");
  BOOST_TEST_REQUIRE((reached.get_future().wait_for(60s) == std::future_status::ready), "the upload never started");
  BOOST_TEST(fs::exists(part), "the upload's temporary file is there mid-way");
  BOOST_TEST(s.stop() == 0);
  flis::set_delivery_pause_for_tests({});
  BOOST_TEST(visible_files(s.outbox).empty(), "a package appeared under its final name after an aborted upload");
  auto runs = s.runs();
  BOOST_TEST_REQUIRE(runs.size() == 1u);
  BOOST_TEST(to_string(runs[0].status) == "queued", "an interrupted run must be queued for the next start");

  s.start();
  BOOST_TEST_REQUIRE(eventually([&] { return s.delivered(); }, 120s));
  BOOST_TEST(s.stop() == 0);
  BOOST_TEST(visible_files(s.outbox) == (std::vector<std::string>{kPackage, kPackage + ".sha256"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(backfill_chunks_run_one_at_a_time_oldest_first) {
  Service s;
  // A one-off order of 6 monthly chunks and the daily subscription, all due at once.
  s.tree.write("orders/k101-old.yaml", R"(id: K101-CPR-2025
municipality: 101
type: one-off
source: DSA
delivery: flis
interfaces: [CPR_PERSON]
from: 2025-01-01
to: 2025-06-30
chunk: month
)");
  for (int m = 1; m <= 6; ++m) {
    char name[16];
    std::snprintf(name, sizeof name, "2025-%02d", m);
    auto first = day(std::string(name) + "-01");
    auto last = date::local_days{date::year_month_day{first} + date::months{1}} - date::days{1};
    s.warehouse.process_days("DSA", "CPR_PERSON", first, last);
    s.warehouse.land("DSA", "CPR_PERSON", std::string(name) + "-15", 101);
  }
  s.warehouse.land("DSA", "CPR_PERSON", "2026-11-25", 101);
  s.warehouse.process("DSA", "CPR_PERSON", "2026-11-25");
  s.set_now("2026-11-26 12:00");
  s.ticking = true;
  s.start();
  auto all_delivered = [&] {
    for (const auto& r : s.runs())
      if (r.status != RunStatus::delivered) return false;
    return true;
  };
  BOOST_TEST_REQUIRE(eventually(all_delivered, 120s));
  auto runs = s.runs();
  BOOST_TEST(runs.size() == 7u);
  // With backfill_workers: 1, no two backfill chunks ever ran at once; and they went oldest first.
  std::vector<Run> chunks;
  for (const auto& r : runs)
    if (r.kind == RunKind::backfill) chunks.push_back(r);
  std::sort(chunks.begin(), chunks.end(), [](const Run& a, const Run& b) { return a.period < b.period; });
  for (size_t i = 1; i < chunks.size(); ++i) {
    BOOST_TEST((*chunks[i].started >= *chunks[i - 1].finished), chunks[i].period.name() << " overlapped " << chunks[i - 1].period.name());
  }
  BOOST_TEST(s.stop() == 0);
}
