// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// kill -9 of `flisd --once` at random moments of a delivery, then a restart: every package is
// delivered exactly once, and no consumer ever sees a partial package under its final name.
//
// Each trial starts from an empty state database and outbox over the same warehouse (two daily
// periods of 12 MiB of incompressible data each, so a kill can land mid-upload) and kills flisd at
// one of three kinds of moment, chosen by a seeded random generator:
//   mid-upload     once the temporary file of a random package holds a random share of its bytes;
//   after-rename   as soon as a random package appears under its final name (before its .sha256);
//   any-time       after a random delay within the length of an uninterrupted run.
// After the kill the outbox is checked as a consumer would; then `flisd --once` runs again and must
// exit 0 with both packages there once, whole, checksummed, holding the warehouse bytes, and the
// state database must hold one delivered run per period.
//
// FAULT_TRIALS (default 5) and FAULT_SEED set the trials; bench/faults.sh runs dozens.
#define BOOST_TEST_MODULE daemon_faults_kill
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "tests/support/fault_runs.h"

using namespace flis::test::faults;
using flis::test::sha256sum;
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kDataSize = 12ull << 20;
const std::vector<std::string> kDays = {"2026-11-01", "2026-11-02"};
const std::string kNow = "2026-11-04 12:00";
const std::string kOrder = "K101-KILL";

std::string package_of(const std::string& day) { return kOrder + "_" + day + ".tar.zst"; }

struct Trial {
  std::string kind;
  std::string state_at_kill;  // what the kill left in the outbox
  std::vector<std::string> failures;
};

// Everything a finished delivery must be, in the outbox and in the state database.
void check_delivered_once(const FlisdTree& tree, const fs::path& folder, const std::map<std::string, std::string>& data_sha,
                          Trial& trial) {
  auto fail = [&](const std::string& what) { trial.failures.push_back(what); };
  Outbox o = check_outbox(folder);
  std::vector<std::string> expected;
  for (const auto& d : kDays) expected.push_back(package_of(d));
  if (o.packages != expected) fail("packages after restart: [" + join(o.packages) + "], want [" + join(expected) + "]");
  if (o.checksummed != expected) fail("checksummed after restart: [" + join(o.checksummed) + "]");
  if (!o.temporaries.empty()) fail("temporary files left: " + join(o.temporaries));
  if (!o.problems.empty()) fail("consumer problems: " + join(o.problems));
  for (const auto& d : kDays) {
    if (!file_exists(folder / package_of(d))) continue;
    if (member_sha256(folder / package_of(d), "DSA/CPR_PERSON/" + d + "/data.bin") != data_sha.at(d))
      fail(package_of(d) + " does not hold the warehouse bytes of " + d);
  }
  auto store = flis::StateStore::open_readonly(tree.state());
  if (!store) return fail("state database: " + store.message());
  auto runs = (*store)->list();
  if (!runs) return fail("state database: " + runs.message());
  std::multiset<std::string> periods;
  for (const auto& r : *runs) {
    periods.insert(r.period.name());
    if (r.status != flis::RunStatus::delivered) fail("run " + r.period.name() + " is " + std::string(to_string(r.status)) + ": " + r.error);
    if (r.redelivery != 1) fail("run " + r.period.name() + " is a redelivery");
  }
  if (periods != std::multiset<std::string>(kDays.begin(), kDays.end())) fail("runs are not one per period");
}

// What a consumer saw right after the kill: never a partial package under a final name.
std::string after_kill(const fs::path& folder, Trial& trial) {
  Outbox o = check_outbox(folder);
  for (const auto& p : o.problems) trial.failures.push_back("after the kill: " + p);
  return std::to_string(o.packages.size()) + " final/" + std::to_string(o.checksummed.size()) + " checksummed/" +
         std::to_string(o.temporaries.size()) + " temporary";
}

struct Figures {
  int trials = 0, passed = 0;
  std::map<std::string, int> kinds, states;
};

void run_trials(FlisdTree& tree, const fs::path& folder, const std::string& target_name,
                const std::function<void()>& clean_target) {
  std::map<std::string, std::string> data_sha;
  for (size_t i = 0; i < kDays.size(); ++i) {
    fs::path f = tree.land_random(kDays[i], 101, "data.bin", kDataSize, 1000 + i);
    data_sha[kDays[i]] = sha256sum(f);
  }
  tree.daily_order(kOrder, 101, kDays.front(), kDays.back());

  // An uninterrupted run first: it must deliver, and it tells how long a run takes.
  tree.reset();
  clean_target();
  auto t0 = std::chrono::steady_clock::now();
  std::string log;
  int code = tree.once(kNow, &log);
  auto full = std::chrono::steady_clock::now() - t0;
  BOOST_TEST_REQUIRE(code == 0, "an uninterrupted run exited " << code << ":\n" << log);
  Trial baseline;
  check_delivered_once(tree, folder, data_sha, baseline);
  BOOST_TEST_REQUIRE(baseline.failures.empty(), join(baseline.failures, "\n"));

  const long trials = env_number("FAULT_TRIALS", 5);
  std::mt19937_64 rng(uint64_t(env_number("FAULT_SEED", 20261126)));
  Figures fig;
  for (long i = 0; i < trials; ++i) {
    tree.reset();
    clean_target();
    Trial trial;
    const char* kinds[] = {"mid-upload", "after-rename", "any-time"};
    trial.kind = kinds[i % 3];
    std::string day = kDays[std::uniform_int_distribution<size_t>(0, kDays.size() - 1)(rng)];
    double share = std::uniform_real_distribution<double>(0.02, 0.98)(rng);
    auto delay = std::chrono::duration_cast<std::chrono::microseconds>(full) *
                 std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    {
      Child flisd(tree.once_args(kNow), tree.root() / "killed.log");
      bool hit = true;
      if (trial.kind == "mid-upload") {
        hit = wait_until(flisd, [&] { return upload_size(folder, package_of(day)) >= uint64_t(double(kDataSize) * share); });
      } else if (trial.kind == "after-rename") {
        hit = wait_until(flisd, [&] { return file_exists(folder / package_of(day)); });
      } else {
        auto until = std::chrono::steady_clock::now() + delay;
        hit = wait_until(flisd, [&] { return std::chrono::steady_clock::now() >= until; });
      }
      flisd.kill9();
      int killed = flisd.wait();
      if (!hit || killed != 128 + SIGKILL) trial.kind += " (ended before the kill)";
    }
    trial.state_at_kill = after_kill(folder, trial);
    int again = tree.once(kNow, &log);
    if (again != 0) trial.failures.push_back("the restart exited " + std::to_string(again) + ":\n" + log);
    check_delivered_once(tree, folder, data_sha, trial);

    ++fig.trials;
    fig.kinds[trial.kind]++;
    fig.states[trial.state_at_kill]++;
    if (trial.failures.empty()) ++fig.passed;
    BOOST_TEST(trial.failures.empty(), target_name << " trial " << i << " (" << trial.kind << ", " << day
                                                   << ", killed with " << trial.state_at_kill
                                                   << "):\n  " << join(trial.failures, "\n  "));
  }
  std::cout << "FAULTS kill9 target=" << target_name << " trials=" << fig.trials << " passed=" << fig.passed;
  for (const auto& [k, n] : fig.kinds) std::cout << " kind[" << k << "]=" << n;
  for (const auto& [s, n] : fig.states) std::cout << " at-kill[" << s << "]=" << n;
  std::cout << std::endl;
}

}  // namespace

BOOST_AUTO_TEST_CASE(kill_9_during_delivery_to_a_directory_then_restart_delivers_exactly_once) {
  FlisdTree tree;
  run_trials(tree, tree.outbox(101), "directory", [] {});
}

BOOST_AUTO_TEST_CASE(kill_9_during_delivery_over_sftp_then_restart_delivers_exactly_once) {
  flis::test::SshdFixture sshd;
  FlisdTree tree;
  flis::Target t = sshd.target("kommuner/{municipality}");
  tree.targets(sftp_target_yaml(sshd, t.port, t.identity, t.known_hosts));
  fs::path remote = sshd.root() / "kommuner";
  run_trials(tree, remote / "101", "sftp", [&] {
    std::error_code ec;
    fs::remove_all(remote, ec);
  });
}
