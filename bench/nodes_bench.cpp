// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// nodes_bench: several flisd nodes on one PostgreSQL (bench/nodes.sh runs it).
//
//   throughput  N small daily packages to a real sshd behind bench/delayproxy (a 10 ms round trip),
//               delivered by one node, then (a fresh database, an empty outbox) by three: the wall
//               time from start until the database holds every run delivered, and the ratio.
//   rescue      T trials: node a pauses mid-upload (the FLISD_TEST_PAUSE_DIR seam), node b runs
//               idle, a is killed with SIGKILL; the time until b has delivered the package. Lost
//               (never delivered) and duplicated (a second final file, a leftover temporary file)
//               are counted.
//
//   nodes_bench --delayproxy PATH [--packages 300] [--trials 20] [--workers 2] [--lease 30] [--rescue 10]
// (--packages 0 or --trials 0 leaves that part out)
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "daemon/state_store.h"
#include "tests/support/faults.h"
#include "tests/support/pg_server.h"
#include "tests/support/sshd.h"

using namespace flis::test::faults;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string delayproxy;
  int packages = 300, trials = 20, workers = 2, lease = 30, rescue = 10;
};

std::string day_of(int i) {  // 2026-01-01 + i days, within 2026
  static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int m = 0;
  while (i >= len[m]) i -= len[m++];
  char b[32];
  std::snprintf(b, sizeof b, "2026-%02d-%02d", m + 1, i + 1);
  return b;
}

struct Bench {
  Args args;
  flis::test::PgServer pg{flis::test::PgServer::Options{.tcp = false, .durable = true}};
  flis::test::SshdFixture sshd;
  std::unique_ptr<Child> proxy;
  int proxy_port = 0;
  int folder = 0;  // the target folder of the last prepare(): bench<folder>/101 under sshd's root

  explicit Bench(Args a) : args(std::move(a)) {
    int fd = detail::listen_on(0);
    proxy_port = detail::port_of(fd);
    close(fd);
    proxy = std::make_unique<Child>(std::vector<std::string>{args.delayproxy, "127.0.0.1", std::to_string(proxy_port),
                                                             "127.0.0.1", std::to_string(sshd.port()), "5"},
                                    fs::temp_directory_path() / "nodes-bench-proxy.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the proxy's listen (a start, not a measurement)
  }

  // A tree with `n` daily packages of `bytes` each, its state a fresh database: `orders` daily
  // orders of municipality 101 of n / orders days each, so that the nodes have orders to share
  // (one order's periods go out one at a time on a node).
  std::string prepare(FlisdTree& tree, int n, size_t bytes, int orders = 1) {
    std::string uri = pg.create_database();
    // The schema now, so the bench can read the runs table before any node has started.
    if (auto store = flis::StateStore::open(uri); !store.ok()) throw std::runtime_error(store.message());
    fs::path known = tree.root() / "known_hosts";
    flis::test::write_file(known, "[127.0.0.1]:" + std::to_string(proxy_port) + " " +
                                      flis::test::read_file(sshd.host_key_pub()));
    flis::Target t = sshd.target("kommuner/{municipality}");
    std::string path = (sshd.root() / ("bench" + std::to_string(++folder)) / "{municipality}").string();
    tree.write("flisd.yaml", "timezone: Europe/Copenhagen\nwarehouse: " + tree.warehouse().string() + "\nstate: \"" +
                                 uri + "\"\nworkers: " + std::to_string(args.workers) +
                                 "\nbackfill_workers: 1\nretry: {attempts: 6, initial: 2s, max: 1h}\n"
                                 "compression: {level: 1, threads: 1}\ntargets:\n  flis: {type: sftp, host: 127.0.0.1, port: " +
                                 std::to_string(proxy_port) + ", user: " + t.user + ", identity: " +
                                 sshd.target("").identity.string() + ", known_hosts: " + known.string() +
                                 ", timeout: 30s, path: \"" + path + "\"}\n");
    const int per_order = n / orders;
    for (int o = 0; o < orders; ++o) {
      tree.daily_order("K101-BENCH" + std::to_string(o), 101, day_of(0), day_of(per_order - 1));
    }
    for (int i = 0; i < per_order; ++i) tree.land_random(day_of(i), 101, "data.bin", bytes, uint64_t(i) + 1);
    return uri;
  }
  fs::path outbox(int folder) const { return sshd.root() / ("bench" + std::to_string(folder)) / "101"; }

  std::unique_ptr<Child> node(FlisdTree& tree, const std::string& name, const std::string& pause = {}) {
    std::map<std::string, std::string> env{{"FLISD_CONTROL_SOCKET", (tree.root() / (name + ".sock")).string()}};
    if (!pause.empty()) env["FLISD_TEST_PAUSE_DIR"] = pause;
    return std::make_unique<Child>(
        std::vector<std::string>{flisd_binary(), "--config", tree.etc().string(), "--log", "stderr", "--node", name,
                                 "--lease-seconds", std::to_string(args.lease), "--rescue-seconds",
                                 std::to_string(args.rescue)},
        tree.root() / (name + ".log"), env);
  }

  static int64_t delivered(const std::string& uri) {
    return std::stoll(flis::test::PgServer::exec(uri, "SELECT count(*) FROM runs WHERE status = 'delivered'"));
  }
  static void stop(std::vector<std::unique_ptr<Child>>& nodes) {
    for (auto& n : nodes) ::kill(n->pid(), SIGTERM);
    for (auto& n : nodes) n->wait();
  }

  // Seconds until `nodes` nodes have delivered every package; -1 if not within 10 minutes.
  double throughput(int nodes) {
    FlisdTree tree;
    const int orders = std::max(1, args.packages / 15);
    std::string uri = prepare(tree, args.packages, 2048, orders);
    const int64_t expected = int64_t(args.packages / orders) * orders;
    auto t0 = Clock::now();
    std::vector<std::unique_ptr<Child>> running;
    for (int i = 0; i < nodes; ++i) running.push_back(node(tree, "n" + std::to_string(i + 1)));
    double took = -1;
    while (Clock::now() - t0 < std::chrono::minutes(10)) {
      if (std::any_of(running.begin(), running.end(), [](auto& n) { return n->exited(); })) break;  // failed to start
      if (delivered(uri) == expected) {
        took = std::chrono::duration<double>(Clock::now() - t0).count();
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop(running);
    Outbox box = check_outbox(outbox(folder));
    size_t packages = box.packages.size(), temporaries = box.temporaries.size(), problems = box.problems.size();
    std::printf("NODES throughput nodes=%d orders=%d packages=%d delivered=%zu temporaries=%zu problems=%zu seconds=%.2f\n",
                nodes, orders, args.packages, packages, temporaries, problems, took);
    return took;
  }

  void rescue_trials() {
    std::vector<double> times;
    int lost = 0, duplicated = 0;
    for (int trial = 0; trial < args.trials; ++trial) {
      FlisdTree tree;
      std::string uri = prepare(tree, 1, 256 * 1024);
      fs::path pause = tree.root() / "pause";
      fs::create_directories(pause);
      flis::test::write_file(pause / "hold", "");
      auto a = node(tree, "a", pause.string());
      bool paused = false;
      for (auto until = Clock::now() + std::chrono::seconds(120); !paused && Clock::now() < until;) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(pause, ec))
          if (e.path().filename().string().rfind("paused-", 0) == 0) paused = true;
        if (!paused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      auto b = node(tree, "b");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // b attached and idle (not measured)
      a->kill9();
      a->wait();
      auto killed = Clock::now();
      double took = -1;
      while (Clock::now() - killed < std::chrono::seconds(args.lease + args.rescue + 120)) {
        if (delivered(uri) == 1) {
          took = std::chrono::duration<double>(Clock::now() - killed).count();
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::vector<std::unique_ptr<Child>> nodes;
      nodes.push_back(std::move(b));
      stop(nodes);
      Outbox o = check_outbox(outbox(folder));
      if (!paused || took < 0) ++lost;
      if (o.packages.size() > 1 || !o.temporaries.empty() || !o.problems.empty()) ++duplicated;
      if (took >= 0) times.push_back(took);
      std::printf("NODES rescue trial=%d paused=%d seconds=%.2f packages=%zu temporaries=%zu\n", trial, paused ? 1 : 0,
                  took, o.packages.size(), o.temporaries.size());
      std::fflush(stdout);
    }
    std::sort(times.begin(), times.end());
    double median = times.empty() ? -1 : times[times.size() / 2];
    double max = times.empty() ? -1 : times.back();
    std::printf("NODES rescue trials=%d lease=%d rescue=%d median=%.2f max=%.2f lost=%d duplicated=%d\n", args.trials,
                args.lease, args.rescue, median, max, lost, duplicated);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--delayproxy") args.delayproxy = v;
    else if (k == "--packages") args.packages = std::stoi(v);
    else if (k == "--trials") args.trials = std::stoi(v);
    else if (k == "--workers") args.workers = std::stoi(v);
    else if (k == "--lease") args.lease = std::stoi(v);
    else if (k == "--rescue") args.rescue = std::stoi(v);
    else {
      std::cerr << "nodes_bench: unknown option " << k << "\n";
      return 2;
    }
  }
  if (args.delayproxy.empty()) {
    std::cerr << "nodes_bench: --delayproxy PATH is required (bench/nodes.sh builds it)\n";
    return 2;
  }
  Bench bench(args);
  if (args.packages > 0) {
    double one = bench.throughput(1);
    double three = bench.throughput(3);
    std::printf("NODES ratio one/three=%.2f (one node %.2f s, three nodes %.2f s, %d packages, %d workers each)\n",
                three > 0 ? one / three : -1.0, one, three, args.packages, args.workers);
    std::fflush(stdout);
  }
  if (args.trials > 0) bench.rescue_trials();
  return 0;
}
