// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Several real flisd processes (nodes) on one real PostgreSQL, delivering to a real sshd: every
// (order, period) is delivered once whichever node dies, pauses, or loses the database.
//
// The nodes run with a 3 s lease and a 1 s rescue interval (--lease-seconds, --rescue-seconds), so
// a node's death is noticed in seconds. A node is stopped mid-upload through the test seam
// FLISD_TEST_PAUSE_DIR (daemon/service.cpp): its worker waits, with the temporary file open on the
// target, while <dir>/hold exists, and says so in <dir>/paused-*; the test acts then, not after a
// guessed delay. Waiting for an outcome polls the database with a generous deadline.
#define BOOST_TEST_MODULE daemon_nodes
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <chrono>
#include <memory>
#include <thread>

#include "tests/support/fault_runs.h"
#include "tests/support/pg_server.h"

using namespace flis::test::faults;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kLease = 3, kRescue = 1;
const std::string kOrder = "K101-NODES";

flis::test::PgServer& pg() {
  static flis::test::PgServer server(flis::test::PgServer::Options{.tcp = true});
  return server;
}

std::string package_of(const std::string& day) { return kOrder + "_" + day + ".tar.zst"; }

std::vector<std::string> days(int n) {
  std::vector<std::string> out;
  for (int d = 1; d <= n; ++d) out.push_back("2026-11-" + std::string(d < 10 ? "0" : "") + std::to_string(d));
  return out;
}

// A tree whose state is a fresh PostgreSQL database, delivering `n` daily packages to sshd.
struct World {
  FlisdTree tree;
  flis::test::SshdFixture sshd;
  std::string uri;
  std::vector<std::string> periods;
  fs::path folder;

  World(int n, size_t bytes = 4096, int workers = 2) {
    uri = pg().create_database();
    // The schema now, so the test can read the runs table before any node has started.
    auto store = flis::StateStore::open(uri);
    BOOST_TEST_REQUIRE(store.ok(), store.message());
    periods = days(n);
    fs::path known = tree.root() / "known_hosts";
    flis::test::write_file(known, "[127.0.0.1]:" + std::to_string(sshd.port()) + " " +
                                      flis::test::read_file(sshd.host_key_pub()));
    set_state(uri, workers, sftp_target_yaml(sshd, sshd.port(), sshd.target("").identity, known, "10s"));
    tree.daily_order(kOrder, 101, periods.front(), periods.back());
    for (size_t i = 0; i < periods.size(); ++i) tree.land_random(periods[i], 101, "data.bin", bytes, i + 1);
    folder = sshd.root() / "kommuner/101";
  }

  void set_state(const std::string& state, int workers, const std::string& targets) {
    tree.write("flisd.yaml", "timezone: Europe/Copenhagen\nwarehouse: " + tree.warehouse().string() +
                                 "\nstate: \"" + state + "\"\nworkers: " + std::to_string(workers) +
                                 "\nbackfill_workers: 1\nretry: {attempts: 4, initial: 2s, max: 1h}\n"
                                 "compression: {level: 1, threads: 1}\ntargets:\n" + targets);
  }

  // A node: `flisd --node NAME` on this tree; `pause` makes its uploads wait while pause/hold exists.
  std::unique_ptr<Child> node(const std::string& name, const std::optional<fs::path>& pause = std::nullopt,
                              const std::string& config_dir = {}) {
    std::map<std::string, std::string> env{{"FLISD_CONTROL_SOCKET", (tree.root() / (name + ".sock")).string()}};
    if (pause) env["FLISD_TEST_PAUSE_DIR"] = pause->string();
    return std::make_unique<Child>(
        std::vector<std::string>{flisd_binary(), "--config", config_dir.empty() ? tree.etc().string() : config_dir,
                                 "--log", "stderr", "--node", name, "--lease-seconds", std::to_string(kLease),
                                 "--rescue-seconds", std::to_string(kRescue)},
        tree.root() / (name + ".log"), env);
  }

  int64_t count(const std::string& where) const {
    return std::stoll(flis::test::PgServer::exec(uri, "SELECT count(*) FROM runs WHERE " + where));
  }
  std::string value(const std::string& sql) const { return flis::test::PgServer::exec(uri, sql); }

  // Waits (polling the database) until every period is delivered; false after `limit`.
  bool wait_delivered(std::chrono::seconds limit = std::chrono::seconds(120)) const {
    auto until = Clock::now() + limit;
    while (Clock::now() < until) {
      if (count("status = 'delivered'") == int64_t(periods.size())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Every package there once, whole and checksummed; no temporary file; one delivered run each.
  void check_once() const {
    Outbox o = check_outbox(folder);
    std::vector<std::string> want;
    for (const auto& d : periods) want.push_back(package_of(d));
    BOOST_TEST(o.packages == want, "[" << join(o.packages) << "]");
    BOOST_TEST(o.checksummed == want, "checksummed: [" << join(o.checksummed) << "]");
    BOOST_TEST(o.temporaries.empty(), "temporary files left: " << join(o.temporaries));
    BOOST_TEST(o.problems.empty(), join(o.problems));
    BOOST_TEST(count("true") == int64_t(periods.size()), "runs: " << count("true"));
    BOOST_TEST(count("status = 'delivered' AND redelivery = 1") == int64_t(periods.size()));
  }
};

bool wait_for_file(const fs::path& dir, const std::string& prefix, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto until = Clock::now() + limit;
  while (Clock::now() < until) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().filename().string().rfind(prefix, 0) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::vector<std::string> temporaries(const fs::path& folder) { return check_outbox(folder).temporaries; }

void stop_all(std::vector<std::unique_ptr<Child>>& nodes) {
  for (auto& n : nodes) ::kill(n->pid(), SIGTERM);
  for (auto& n : nodes) BOOST_TEST(n->wait() == 0, n->log());
}

}  // namespace

BOOST_AUTO_TEST_CASE(three_nodes_deliver_each_period_once) {
  World w(24);
  std::vector<std::unique_ptr<Child>> nodes;
  for (const char* name : {"n1", "n2", "n3"}) nodes.push_back(w.node(name));
  BOOST_TEST_REQUIRE(w.wait_delivered(), "delivered " << w.count("status = 'delivered'") << " of 24");
  stop_all(nodes);
  w.check_once();
  // Every node took part: the claim shares the work (a node that took none would be a bug in it).
  BOOST_TEST(w.count("node <> ''") == 24);
  BOOST_TEST(std::stoi(w.value("SELECT count(DISTINCT node) FROM runs")) >= 2);
}

BOOST_AUTO_TEST_CASE(a_second_process_with_the_same_node_name_refuses_to_start) {
  World w(1);
  auto first = w.node("same");
  BOOST_TEST_REQUIRE(w.wait_delivered());
  auto second = w.node("same");
  BOOST_TEST(second->wait() == 1);
  BOOST_TEST(has(second->log(), "same"), second->log());
  ::kill(first->pid(), SIGTERM);
  BOOST_TEST(first->wait() == 0);
}

BOOST_AUTO_TEST_CASE(kill_9_mid_upload_another_node_finishes_within_lease_and_rescue) {
  World w(1, 256 * 1024);
  fs::path pause = w.tree.root() / "pause";
  fs::create_directories(pause);
  flis::test::write_file(pause / "hold", "");
  auto a = w.node("a", pause);
  BOOST_TEST_REQUIRE(wait_for_file(pause, "paused-"), a->log());
  BOOST_TEST_REQUIRE(temporaries(w.folder).size() == 1u, "the paused upload's temporary file is on the target");
  a->kill9();
  a->wait();
  auto killed = Clock::now();
  auto b = w.node("b");
  BOOST_TEST_REQUIRE(w.wait_delivered(), b->log());
  double took = std::chrono::duration<double>(Clock::now() - killed).count();
  BOOST_TEST_MESSAGE("rescued and delivered " << took << " s after kill -9 (lease " << kLease << " s, rescue " << kRescue
                                              << " s)");
  BOOST_TEST(took < kLease + kRescue + 30.0);
  std::vector<std::unique_ptr<Child>> nodes;
  nodes.push_back(std::move(b));
  stop_all(nodes);
  w.check_once();
  BOOST_TEST(w.value("SELECT node FROM runs") == "b");
  BOOST_TEST(has(nodes[0]->log(), "taken over by node b"), nodes[0]->log());
}

BOOST_AUTO_TEST_CASE(a_node_paused_past_its_lease_is_refused_and_leaves_nothing_behind) {
  World w(1, 256 * 1024);
  fs::path pause = w.tree.root() / "pause";
  fs::create_directories(pause);
  flis::test::write_file(pause / "hold", "");
  auto a = w.node("a", pause);
  BOOST_TEST_REQUIRE(wait_for_file(pause, "paused-"), a->log());
  a->stop();  // SIGSTOP, with its upload open on the target
  auto b = w.node("b");
  BOOST_TEST_REQUIRE(w.wait_delivered(), b->log());
  BOOST_TEST(w.value("SELECT node FROM runs") == "b");
  fs::remove(pause / "hold");
  a->resume();
  // Node a finds its lease lost, abandons the attempt and attaches again.
  auto until = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < until && !has(a->log(), "takes runs again"))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(has(a->log(), "abandoned"), a->log());
  BOOST_TEST(has(a->log(), "takes runs again"), a->log());
  std::vector<std::unique_ptr<Child>> nodes;
  nodes.push_back(std::move(a));
  nodes.push_back(std::move(b));
  stop_all(nodes);
  w.check_once();
  BOOST_TEST(w.value("SELECT node FROM runs") == "b");
}

BOOST_AUTO_TEST_CASE(postgresql_restarted_mid_run_loses_and_doubles_nothing) {
  World w(16, 64 * 1024, 1);
  std::vector<std::unique_ptr<Child>> nodes;
  for (const char* name : {"r1", "r2", "r3"}) nodes.push_back(w.node(name));
  auto until = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < until && w.count("status = 'delivered'") < 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pg().restart();
  BOOST_TEST_REQUIRE(w.wait_delivered(), nodes[0]->log());
  stop_all(nodes);
  w.check_once();
}

BOOST_AUTO_TEST_CASE(a_node_cut_off_from_postgresql_stops_claiming_and_aborts_its_upload) {
  World w(1, 256 * 1024);
  Proxy proxy(pg().port());
  // Node a reaches the database through the proxy; node b directly.
  const std::string db = w.uri.substr(w.uri.find('/', std::string("postgresql://").size()) + 1,
                                      w.uri.find('?') - w.uri.find('/', std::string("postgresql://").size()) - 1);
  fs::path etc_a = w.tree.root() / "etc-a";
  fs::copy(w.tree.etc(), etc_a, fs::copy_options::recursive);
  {
    std::string yaml = flis::test::read_file(w.tree.etc() / "flisd.yaml");
    yaml.replace(yaml.find(w.uri), w.uri.size(), pg().tcp_uri(db, proxy.port()));
    flis::test::write_file(etc_a / "flisd.yaml", yaml);
  }
  fs::path pause = w.tree.root() / "pause";
  fs::create_directories(pause);
  flis::test::write_file(pause / "hold", "");
  auto a = w.node("a", pause, etc_a.string());
  BOOST_TEST_REQUIRE(wait_for_file(pause, "paused-"), a->log());
  proxy.set_mode(Proxy::Mode::down);
  // a cannot renew: within two thirds of its lease it aborts the upload (its temporary file goes)
  // and says so.
  auto until = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < until && !has(a->log(), "could not renew its lease"))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST_REQUIRE(has(a->log(), "could not renew its lease"), a->log());
  until = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < until && !temporaries(w.folder).empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(temporaries(w.folder).empty(), "node a's upload was not aborted");
  fs::remove(pause / "hold");
  auto b = w.node("b");
  BOOST_TEST_REQUIRE(w.wait_delivered(), b->log());
  BOOST_TEST(w.value("SELECT node FROM runs") == "b");
  proxy.set_mode(Proxy::Mode::forward);
  std::vector<std::unique_ptr<Child>> nodes;
  nodes.push_back(std::move(a));
  nodes.push_back(std::move(b));
  stop_all(nodes);
  w.check_once();
}
