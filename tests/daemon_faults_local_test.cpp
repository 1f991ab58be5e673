// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Local faults under `flisd --once`: warehouse files that are not what they should be, the state
// database's disk filling up, and the clock jumping about and crossing both DST changes.
#define BOOST_TEST_MODULE daemon_faults_local
#include <boost/test/unit_test.hpp>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <iostream>
#include <set>

#include "config/period.h"
#include "tests/support/fault_runs.h"

using namespace flis::test::faults;
using flis::test::sha256sum;
namespace fs = std::filesystem;
namespace utf = boost::unit_test;

namespace {

// Nothing under a final name and nothing left behind in a delivery folder.
void check_nothing_delivered(const fs::path& folder) {
  Outbox o = check_outbox(folder);
  BOOST_TEST(o.packages.empty(), "delivered: " << join(o.packages));
  BOOST_TEST(o.temporaries.empty(), "left behind: " << join(o.temporaries));
}

const std::string kDay = "2026-11-01";
const std::string kNow = "2026-11-03 12:00";

// A run of K101-WH over a 20 MiB a.bin and a 1 MiB b.bin (archived in that order), paused by
// SIGSTOP while a.bin is being packed, so `change` acts between b.bin's two reads (hashing, then
// packing) at a moment that does not depend on timing.
struct PausedRun {
  FlisdTree tree;
  fs::path a, b;
  PausedRun() {
    tree.daily_order("K101-WH", 101, kDay, kDay);
    a = tree.land_random(kDay, 101, "a.bin", 20u << 20, 1);
    b = tree.land_random(kDay, 101, "b.bin", 1u << 20, 2);
  }
  // Runs flisd, pauses it inside a.bin, calls change(), lets it go on; its exit code and log.
  int run(const std::function<void()>& change, std::string& log) {
    auto temp_size = [&] { return upload_size(tree.outbox(101), "K101-WH_2026-11-01.tar.zst"); };
    Child flisd(tree.once_args(kNow), tree.root() / "paused.log");
    bool inside = wait_until(flisd, [&] { return temp_size() >= (1u << 20); });
    flisd.stop();
    BOOST_TEST_REQUIRE(inside, "flisd never got to packing:\n" << flisd.log());
    BOOST_TEST_REQUIRE(temp_size() < (19u << 20), "paused too late to be inside a.bin");
    change();
    flisd.resume();
    int code = flisd.wait();
    log = flisd.log();
    return code;
  }
  flis::Run the_run() { return flis::test::faults::the_run(tree); }
};

void check_failed_naming(PausedRun& r, int code, const std::string& log, const fs::path& file, const std::string& how) {
  BOOST_TEST(code == 1, log);
  flis::Run run = r.the_run();
  BOOST_TEST(run.status == flis::RunStatus::failed);
  BOOST_TEST(run.next_attempt.has_value(), "retried later");
  BOOST_TEST(has(run.error, file.string()), "the error names " << file << ": " << run.error);
  BOOST_TEST(has(run.error, how), run.error);
  BOOST_TEST(has(log, file.string()), "the log names the file");
  check_nothing_delivered(r.tree.outbox(101));
  std::cout << "FAULTS warehouse-" << how << " trials=1 error=\"" << run.error << "\"" << std::endl;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(warehouse)

BOOST_AUTO_TEST_CASE(a_file_that_shrinks_between_hashing_and_packing_fails_the_run_naming_it) {
  PausedRun r;
  std::string log;
  int code = r.run([&] { fs::resize_file(r.b, 1000); }, log);
  check_failed_naming(r, code, log, r.b, "changed");
}

BOOST_AUTO_TEST_CASE(a_file_that_grows_between_hashing_and_packing_fails_the_run_naming_it) {
  PausedRun r;
  std::string log;
  int code = r.run([&] { std::ofstream(r.b, std::ios::app) << "one more line\n"; }, log);
  check_failed_naming(r, code, log, r.b, "changed");
}

BOOST_AUTO_TEST_CASE(a_file_that_vanishes_between_hashing_and_packing_fails_the_run_naming_it_then_delivers) {
  PausedRun r;
  std::string log;
  std::string saved = flis::test::read_file(r.b);
  int code = r.run([&] { fs::remove(r.b); }, log);
  check_failed_naming(r, code, log, r.b, "vanished");
  // FLIS puts the file back; the retry delivers it whole.
  flis::test::write_file(r.b, saved);
  BOOST_TEST(r.tree.once(flis::format_local_iso(*r.the_run().next_attempt, date::locate_zone("Europe/Copenhagen")), &log) == 0, log);
  Outbox o = check_outbox(r.tree.outbox(101));
  BOOST_TEST(o.checksummed == std::vector<std::string>{"K101-WH_2026-11-01.tar.zst"});
  BOOST_TEST(member_sha256(r.tree.outbox(101) / o.packages.at(0), "DSA/CPR_PERSON/2026-11-01/b.bin") == sha256sum(r.b));
}

BOOST_AUTO_TEST_CASE(a_pipe_where_a_file_should_be_fails_the_run_naming_it) {
  FlisdTree tree;
  tree.daily_order("K101-WH", 101, kDay, kDay);
  tree.land(kDay, 101, "a.csv", "id;value\n1;2\n");
  fs::path fifo = tree.day_folder(kDay, 101) / "b.csv";
  BOOST_TEST_REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  std::string log;
  BOOST_TEST(tree.once(kNow, &log) == 1, log);
  auto runs = runs_of(tree);
  BOOST_TEST_REQUIRE(runs.size() == 1u);
  BOOST_TEST(runs[0].status == flis::RunStatus::failed);
  BOOST_TEST(has(runs[0].error, fifo.string()), runs[0].error);
  check_nothing_delivered(tree.outbox(101));
  std::cout << "FAULTS warehouse-fifo trials=1 error=\"" << runs[0].error << "\"" << std::endl;
}

// flisd runs as its own unprivileged user in production, so an unreadable file is real there; root
// reads everything, so the test runs flisd as nobody.
BOOST_AUTO_TEST_CASE(an_unreadable_file_fails_the_run_naming_it,
                     *utf::precondition([](utf::test_unit_id) { return is_root(); })) {
  FlisdTree tree;
  tree.daily_order("K101-WH", 101, kDay, kDay);
  tree.land(kDay, 101, "a.csv", "id;value\n1;2\n");
  fs::path secret = tree.land(kDay, 101, "b.csv", "id;value\n3;4\n");
  fs::permissions(secret, fs::perms::none);
  fs::permissions(tree.root(), fs::perms(0755));
  fs::create_directories(tree.state_dir());
  fs::create_directories(tree.outbox());
  const passwd* nobody = getpwnam("nobody");
  BOOST_TEST_REQUIRE(nobody != nullptr);
  BOOST_TEST_REQUIRE(chown(tree.state_dir().c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
  BOOST_TEST_REQUIRE(chown(tree.outbox().c_str(), nobody->pw_uid, nobody->pw_gid) == 0);
  std::vector<std::string> args = {"/usr/bin/setpriv", "--reuid=" + std::to_string(nobody->pw_uid),
                                   "--regid=" + std::to_string(nobody->pw_gid), "--clear-groups"};
  for (const auto& a : tree.once_args(kNow)) args.push_back(a);
  Child flisd(args, tree.root() / "nobody.log");
  int code = flisd.wait();
  BOOST_TEST(code == 1, flisd.log());
  auto runs = runs_of(tree);
  BOOST_TEST_REQUIRE(runs.size() == 1u, flisd.log());
  BOOST_TEST(runs[0].status == flis::RunStatus::failed);
  BOOST_TEST(has(runs[0].error, secret.string()), runs[0].error);
  BOOST_TEST(has(runs[0].error, "Permission denied"), runs[0].error);
  check_nothing_delivered(tree.outbox(101));
  std::cout << "FAULTS warehouse-unreadable trials=1 error=\"" << runs[0].error << "\"" << std::endl;
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(state_disk)

// The state database's disk is full before a run: nothing can be recorded, so nothing may be
// delivered; flisd says why and where; after room is made, everything is delivered once.
BOOST_AUTO_TEST_CASE(a_full_state_disk_stops_runs_with_a_clear_error_and_loses_nothing,
                     *utf::precondition([](utf::test_unit_id) { return is_root(); })) {
  FlisdTree tree;
  Tmpfs disk(tree.state_dir(), "1m");
  tree.daily_order("K101-DB", 101, "2026-11-01", "2026-11-03");
  for (std::string d : {"2026-11-01", "2026-11-02", "2026-11-03"}) tree.land(d, 101, "data.csv", "id;value\n" + d + "\n");
  std::string log;
  BOOST_TEST_REQUIRE(tree.once("2026-11-02 12:00", &log) == 0, log);
  BOOST_TEST(check_outbox(tree.outbox(101)).packages.size() == 1u);

  disk.fill();
  int code = tree.once("2026-11-05 12:00", &log);
  BOOST_TEST(code != 0, log);
  BOOST_TEST(has(log, tree.state().string()), "the error names the state database:\n" << log);
  BOOST_TEST((has(log, "full") || has(log, "No space")), "the error says the disk is full:\n" << log);
  BOOST_TEST(check_outbox(tree.outbox(101)).packages.size() == 1u, "nothing delivered without a record");

  fs::remove(disk.path() / "filler");
  BOOST_TEST(tree.once("2026-11-05 12:00", &log) == 0, log);
  Outbox o = check_outbox(tree.outbox(101));
  BOOST_TEST(o.checksummed == (std::vector<std::string>{"K101-DB_2026-11-01.tar.zst", "K101-DB_2026-11-02.tar.zst",
                                                        "K101-DB_2026-11-03.tar.zst"}));
  auto runs = runs_of(tree);
  BOOST_TEST(runs.size() == 3u);
  for (const auto& r : runs) BOOST_TEST(r.status == flis::RunStatus::delivered, r.period.name() << ": " << r.error);
  std::cout << "FAULTS state-disk-full-before trials=1 exit=" << code << std::endl;
}

// The state disk fills while a package is being uploaded: the delivery cannot be recorded. flisd
// must stop and say so; after room is made, a restart finds the package on the target and records
// it, and delivers the rest: each exactly once.
BOOST_AUTO_TEST_CASE(a_state_disk_that_fills_during_an_upload_loses_nothing_and_delivers_once,
                     *utf::precondition([](utf::test_unit_id) { return is_root(); })) {
  FlisdTree tree;
  Tmpfs disk(tree.state_dir(), "1m");
  tree.daily_order("K101-DB", 101, "2026-11-01", "2026-11-02");
  tree.land_random("2026-11-01", 101, "data.bin", 16u << 20, 3);
  tree.land_random("2026-11-02", 101, "data.bin", 16u << 20, 4);
  auto temp_size = [&] { return upload_size(tree.outbox(101), "K101-DB_2026-11-01.tar.zst"); };
  std::string log;
  int code;
  {
    Child flisd(tree.once_args("2026-11-05 12:00"), tree.root() / "full.log");
    BOOST_TEST_REQUIRE(wait_until(flisd, [&] { return temp_size() >= (1u << 20); }), flisd.log());
    flisd.stop();
    disk.fill();
    flisd.resume();
    code = flisd.wait();
    log = flisd.log();
  }
  BOOST_TEST(code != 0, log);
  BOOST_TEST((has(log, "full") || has(log, "No space")), "flisd says the disk is full:\n" << log);
  BOOST_TEST(has(log, tree.state().string()), "and names the state database:\n" << log);
  Outbox during = check_outbox(tree.outbox(101));
  BOOST_TEST(during.problems.empty(), join(during.problems));
  BOOST_TEST(during.packages.size() <= 1u, "no run started after the disk filled: " << join(during.packages));

  fs::remove(disk.path() / "filler");
  BOOST_TEST(tree.once("2026-11-05 12:00", &log) == 0, log);
  Outbox o = check_outbox(tree.outbox(101));
  BOOST_TEST(o.checksummed == (std::vector<std::string>{"K101-DB_2026-11-01.tar.zst", "K101-DB_2026-11-02.tar.zst"}));
  BOOST_TEST(o.temporaries.empty());
  auto runs = runs_of(tree);
  BOOST_TEST(runs.size() == 2u);
  for (const auto& r : runs) BOOST_TEST(r.status == flis::RunStatus::delivered, r.period.name() << ": " << r.error);
  std::cout << "FAULTS state-disk-full-during trials=1 exit=" << code << std::endl;
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(clock_jumps)

// `flisd --once --now` steps through both DST nights of 2026 in Copenhagen, with jumps back and
// forward. After every step the delivered days are exactly those that have ended by the latest
// time seen so far (local midnight after the day, with the offset of that midnight): none early,
// none skipped, none twice.
BOOST_AUTO_TEST_CASE(daily_periods_across_dst_changes_and_clock_jumps_are_neither_skipped_nor_repeated) {
  FlisdTree tree;
  tree.daily_order("K101-SPRING", 101, "2026-03-27", "2026-04-01");
  tree.daily_order("K101-AUTUMN", 101, "2026-10-23", "2026-10-28");
  // Each day's end, written out by hand: local midnight after it, +01:00 in winter, +02:00 in summer.
  std::map<std::string, std::string> ends = {
      {"2026-03-27", "2026-03-28T00:00:00+01:00"}, {"2026-03-28", "2026-03-29T00:00:00+01:00"},
      {"2026-03-29", "2026-03-30T00:00:00+02:00"}, {"2026-03-30", "2026-03-31T00:00:00+02:00"},
      {"2026-03-31", "2026-04-01T00:00:00+02:00"}, {"2026-04-01", "2026-04-02T00:00:00+02:00"},
      {"2026-10-23", "2026-10-24T00:00:00+02:00"}, {"2026-10-24", "2026-10-25T00:00:00+02:00"},
      {"2026-10-25", "2026-10-26T00:00:00+01:00"}, {"2026-10-26", "2026-10-27T00:00:00+01:00"},
      {"2026-10-27", "2026-10-28T00:00:00+01:00"}, {"2026-10-28", "2026-10-29T00:00:00+01:00"}};
  for (const auto& [day, end] : ends) tree.land(day, 101, "data.csv", "id;day\n1;" + day + "\n");
  const auto* tz = date::locate_zone("Europe/Copenhagen");
  auto instant = [&](const std::string& s) { return *flis::parse_instant(s, tz); };

  const std::vector<std::string> steps = {
      "2026-03-27T12:00:00+01:00", "2026-03-28T23:59:59+01:00", "2026-03-29T00:00:00+01:00",
      "2026-03-29T01:59:59+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T23:59:59+02:00",
      "2026-03-29T22:00:00Z",      "2026-03-29T12:00:00+02:00",  // back 10 hours
      "2026-03-30T00:00:01+02:00", "2026-04-04T08:00:00+02:00",  // a jump of five days
      "2026-10-24T23:59:59+02:00", "2026-10-25T00:00:00+02:00", "2026-10-25T02:30:00+02:00",
      "2026-10-25T02:30:00+01:00", "2026-10-25T23:59:59+01:00", "2026-10-25T22:59:59Z",
      "2026-10-25T23:00:00Z",      "2026-10-25T02:59:59+02:00",  // back into the repeated hour
      "2026-10-26T00:00:00+01:00", "2026-10-31T08:00:00+01:00"};
  flis::Instant latest = instant(steps.front());
  int checked = 0;
  for (const auto& step : steps) {
    std::string log;
    BOOST_TEST_REQUIRE(tree.once(step, &log) == 0, step << ":\n" << log);
    latest = std::max(latest, instant(step));
    std::set<std::string> want, got;
    for (const auto& [day, end] : ends)
      if (instant(end) <= latest) want.insert((day < "2026-06" ? "K101-SPRING_" : "K101-AUTUMN_") + day + ".tar.zst");
    Outbox o = check_outbox(tree.outbox(101));
    got.insert(o.checksummed.begin(), o.checksummed.end());
    BOOST_TEST(o.packages.size() == o.checksummed.size());
    BOOST_TEST(o.problems.empty(), join(o.problems));
    BOOST_TEST((got == want), "after --now " << step << ": delivered "
                                             << join(std::vector<std::string>(got.begin(), got.end()))
                                             << "; want " << join(std::vector<std::string>(want.begin(), want.end())));
    std::multiset<std::pair<std::string, std::string>> delivered;
    for (const auto& r : runs_of(tree)) {
      BOOST_TEST(r.status != flis::RunStatus::failed, step << ": " << r.period.name() << " failed: " << r.error);
      if (r.status == flis::RunStatus::delivered) delivered.insert({r.order, r.period.name()});
      BOOST_TEST(r.redelivery == 1);
    }
    BOOST_TEST(delivered.size() == got.size(), "one delivered run per package after " << step);
    ++checked;
  }
  BOOST_TEST(check_outbox(tree.outbox(101)).checksummed.size() == ends.size());
  std::cout << "FAULTS clock-dst steps=" << checked << " days=" << ends.size() << std::endl;
}

BOOST_AUTO_TEST_SUITE_END()
