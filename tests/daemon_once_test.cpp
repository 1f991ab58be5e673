// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd --once in this process, with the delivery seam (inside packing): `workers` runs build
// packages at once, never more, yet a subscription's periods still go one after another, oldest
// first.
#define BOOST_TEST_MODULE daemon_once
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <fstream>
#include <set>

#include "daemon/delivery.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "daemon/options.h"
#include "tests/support/fault_runs.h"

using namespace flis::test::faults;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::vector<int> kMunicipalities = {101, 147, 151};
const std::vector<std::string> kDays = {"2026-11-01", "2026-11-02", "2026-11-03"};

std::string order_of(int m) { return "K" + std::to_string(m) + "-CPR-DAILY"; }

// What the delivery folders held when an upload reached the seam: the final packages and the
// temporary files of the uploads in flight.
struct Seen {
  std::set<std::string> packages, uploading;
};

Seen look(const FlisdTree& tree) {
  Seen s;
  for (int m : kMunicipalities) {
    if (!fs::is_directory(tree.outbox(m))) continue;
    for (const auto& e : fs::directory_iterator(tree.outbox(m))) {
      std::string name = e.path().filename().string();
      if (name.ends_with(".tar.zst")) s.packages.insert(name);
      // ".<package>.<node>-<attempt>.part": the package's name is what comes before its tag.
      if (auto end = name.find(".tar.zst."); name.front() == '.' && end != std::string::npos && name.ends_with(".part"))
        s.uploading.insert(name.substr(1, end - 1 + 8));
    }
  }
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(once_delivers_workers_runs_at_once_and_each_orders_periods_in_order) {
  FlisdTree tree;
  for (int m : kMunicipalities) {
    tree.daily_order(order_of(m), m, kDays.front(), kDays.back());
    for (size_t d = 0; d < kDays.size(); ++d) tree.land(kDays[d], m, "person.csv", "cpr;navn\n" + std::to_string(m * 10 + d) + ";x\n");
  }
  tree.write("flisd.yaml", "timezone: Europe/Copenhagen\nwarehouse: " + tree.warehouse().string() + "\nstate: " +
                               tree.state().string() + "\nworkers: 2\nbackfill_workers: 1\n"
                               "compression: {level: 1, threads: 1}\ntargets:\n  flis: {type: directory, path: \"" +
                               (tree.outbox() / "flis/{municipality}").string() + "\"}\n");

  // The first upload to reach the seam waits there (up to 60 s) for a second: with one run at a
  // time none would come. Every upload notes what the folders hold at that moment.
  std::mutex mu;
  std::condition_variable arrived;
  int arrivals = 0, inside = 0, most_inside = 0;
  std::vector<Seen> seen;
  flis::set_delivery_pause_for_tests([&](const std::atomic<bool>*) {
    std::unique_lock lock(mu);
    ++arrivals;
    most_inside = std::max(most_inside, ++inside);
    arrived.notify_all();
    if (arrivals == 1) arrived.wait_for(lock, 60s, [&] { return arrivals >= 2; });
    seen.push_back(look(tree));
    --inside;
  });
  flis::log_init(*flis::parse_log_target("stderr"), "flisd");
  flis::DaemonOptions options;
  options.config_dir = tree.etc().string();
  options.log = "stderr";
  options.now = "2026-11-05 12:00";
  int code = flis::flisd_once(options);
  flis::set_delivery_pause_for_tests({});

  BOOST_TEST(code == 0);
  BOOST_TEST(most_inside == 2, "packages being built at once: " << most_inside << " (workers: 2)");
  BOOST_TEST(seen.size() == kMunicipalities.size() * kDays.size());
  size_t uploads_seen = 0;
  for (const Seen& s : seen) uploads_seen += s.uploading.size();
  BOOST_TEST(uploads_seen > 0u, "no upload in progress was ever seen: the check below would prove nothing");
  for (const Seen& s : seen) {
    // Of one order, only the oldest period not yet delivered may be uploading.
    for (const std::string& up : s.uploading) {
      for (int m : kMunicipalities) {
        for (size_t d = 0; d < kDays.size(); ++d) {
          if (up != order_of(m) + "_" + kDays[d] + ".tar.zst") continue;
          for (size_t earlier = 0; earlier < d; ++earlier) {
            std::string before = order_of(m) + "_" + kDays[earlier] + ".tar.zst";
            BOOST_TEST(s.packages.count(before) == 1u, up << " was uploading before " << before << " was delivered");
          }
        }
      }
    }
  }
  for (int m : kMunicipalities) {
    Outbox o = check_outbox(tree.outbox(m));
    BOOST_TEST(o.checksummed.size() == kDays.size(), m << ": " << join(o.packages));
    BOOST_TEST(o.temporaries.empty(), m << " left behind: " << join(o.temporaries));
    BOOST_TEST(o.problems.empty(), m << ": " << join(o.problems));
  }
  for (const flis::Run& r : runs_of(tree)) BOOST_TEST(r.status == flis::RunStatus::delivered, r.order << " " << r.period.name());
}

// flisd --once holds a node lease like the daemon: beside a live flisd it never "recovers" that
// flisd's running runs (removing its temporary file, delivering the package a second time), and it
// refuses that flisd's node name. The live flisd here is this test process, attached as "alpha".
namespace {

struct Held {
  int64_t run = 0;
  fs::path temporary;  // alpha's upload in progress
};

// Order K101's run of 2026-11-01 running on node "alpha", with alpha's temporary file in the outbox.
Held run_held_by_alpha(const FlisdTree& tree, flis::StateStore& store) {
  auto lease = store.attach_node("alpha", std::chrono::seconds(300), flis::host_name(), int(getpid()));
  BOOST_TEST_REQUIRE(lease.ok(), lease.message());
  flis::Run proto;
  proto.order = order_of(101);
  proto.municipality = 101;
  proto.period = *flis::Period::parse(kDays.front());
  proto.created = flis::system_now();
  auto run = store.ensure(proto);
  BOOST_TEST_REQUIRE(run.ok(), run.message());
  BOOST_TEST_REQUIRE(store.set_running(run->id, flis::system_now()).ok());
  Held held{run->id, tree.outbox(101) / ("." + order_of(101) + "_" + kDays.front() + ".tar.zst.alpha-1.part")};
  fs::create_directories(held.temporary.parent_path());
  std::ofstream(held.temporary) << "half a package";
  return held;
}

void two_orders(FlisdTree& tree) {
  for (int m : {101, 147}) {
    tree.daily_order(order_of(m), m, kDays.front(), kDays.front());
    tree.land(kDays.front(), m, "person.csv", "cpr;navn\n" + std::to_string(m) + ";x\n");
  }
}

int once_as(const FlisdTree& tree, const std::string& node, std::string* log) {
  std::vector<std::string> args = tree.once_args("2026-11-05 12:00");
  args.insert(args.end(), {"--node", node});
  Child c(args, tree.root() / ("once-" + node + ".log"));
  int code = c.wait();
  *log = c.log();
  return code;
}

// Two orders due, and this test process attached as the live node "alpha" running K101's run.
struct BesideAlpha {
  FlisdTree tree;
  std::unique_ptr<flis::StateStore> store;
  Held held;
  BesideAlpha() {
    two_orders(tree);
    fs::create_directories(tree.state_dir());
    auto opened = flis::StateStore::open(tree.state().string());
    BOOST_TEST_REQUIRE(opened.ok(), opened.message());
    store = std::move(*opened);
    held = run_held_by_alpha(tree, *store);
  }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(once_refuses_the_node_name_of_a_live_flisd, BesideAlpha) {
  std::string log;
  BOOST_TEST(once_as(tree, "alpha", &log) == 1, log);
  BOOST_TEST(has(log, "node alpha is held by process " + std::to_string(getpid())), log);
  BOOST_TEST(has(log, "--node"), log);
  BOOST_TEST(check_outbox(tree.outbox(147)).packages.empty(), "nothing is delivered under a name held by another");
  BOOST_TEST(fs::exists(held.temporary));
}

BOOST_FIXTURE_TEST_CASE(once_beside_a_live_flisd_leaves_its_running_runs_alone_until_its_lease_ends, BesideAlpha) {
  std::string log;
  BOOST_TEST(once_as(tree, "beta", &log) == 0, log);
  BOOST_TEST(check_outbox(tree.outbox(147)).checksummed.size() == 1u, log);
  auto alpha_run = store->get(held.run);
  BOOST_TEST_REQUIRE((alpha_run.ok() && alpha_run->has_value()));
  BOOST_TEST((**alpha_run).status == flis::RunStatus::running, "alpha's run was taken from a live node: " << log);
  BOOST_TEST((**alpha_run).node == "alpha");
  BOOST_TEST(fs::exists(held.temporary), "alpha's upload in progress was removed");
  BOOST_TEST(check_outbox(tree.outbox(101)).packages.empty());

  // alpha stops (its lease ends now): the next --once takes the run over, checks the target and
  // delivers it once, with alpha's temporary file gone.
  BOOST_TEST_REQUIRE(store->release_lease().ok());
  BOOST_TEST(once_as(tree, "beta", &log) == 0, log);
  Outbox o = check_outbox(tree.outbox(101));
  BOOST_TEST(o.checksummed.size() == 1u, log);
  BOOST_TEST(o.temporaries.empty(), join(o.temporaries));
  BOOST_TEST(o.problems.empty(), join(o.problems));
}
