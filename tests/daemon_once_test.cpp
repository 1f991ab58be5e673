// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd --once in this process, with the delivery seam (inside packing): `workers` runs build
// packages at once, never more, yet a subscription's periods still go one after another, oldest
// first.
#define BOOST_TEST_MODULE daemon_once
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>

#include "daemon/delivery.h"
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
      if (name.front() == '.' && name.ends_with(".tar.zst.part")) s.uploading.insert(name.substr(1, name.size() - 6));
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
