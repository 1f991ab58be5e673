// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The SFTP server misbehaving under `flisd --once`: stopping mid-transfer and refusing connections
// for a while, its disk filling up, and accepting connections without ever answering. Each case
// checks the error a sysadmin reads, that the run is retried on the policy's backoff (the clock is
// --now, so minutes pass at once), and that in the end every package is there once, whole.
#define BOOST_TEST_MODULE daemon_faults_sftp
#include <boost/test/unit_test.hpp>

#include <boost/test/results_collector.hpp>

#include <iostream>
#include <random>

#include "config/period.h"
#include "tests/support/fault_runs.h"

using namespace flis::test::faults;
using flis::test::sha256sum;
namespace fs = std::filesystem;
namespace utf = boost::unit_test;

namespace {

const date::time_zone* copenhagen() { return date::locate_zone("Europe/Copenhagen"); }

std::string iso(flis::Instant t) { return flis::format_local_iso(t, copenhagen()); }
flis::Instant at(const std::string& s) { return *flis::parse_instant(s, copenhagen()); }

// The target for sshd reached through `port` (sshd's own, a proxy's or a stalled one). known_hosts
// is written for that port, with sshd's host key.
std::string sftp_target(const flis::test::SshdFixture& sshd, int port, const FlisdTree& tree,
                        const std::string& timeout = "30s") {
  fs::path known = tree.root() / ("known_hosts_" + std::to_string(port));
  flis::test::write_file(known, "[127.0.0.1]:" + std::to_string(port) + " " + flis::test::read_file(sshd.host_key_pub()));
  return sftp_target_yaml(sshd, port, sshd.target("").identity, known, timeout);
}

// Exactly `names` in `folder`, each whole and checksummed, no temporaries.
void check_exactly(const fs::path& folder, const std::vector<std::string>& names) {
  Outbox o = check_outbox(folder);
  BOOST_TEST(o.packages == names, folder << ": [" << join(o.packages) << "]");
  BOOST_TEST(o.checksummed == names, folder << " checksummed: [" << join(o.checksummed) << "]");
  BOOST_TEST(o.temporaries.empty(), folder << " temporaries: " << join(o.temporaries));
  BOOST_TEST(o.problems.empty(), folder << ": " << join(o.problems));
}

}  // namespace

// One outage: the server goes away once `cut_at` bytes have gone upstream (the proxy cuts every
// connection and refuses new ones), stays away through two retries, then comes back.
void outage(FlisdTree& tree, Proxy& proxy, const fs::path& folder, const fs::path& data, uint64_t cut_at,
            std::string* first_error) {
  const std::string package = "K101-OUTAGE_2026-11-01.tar.zst";
  const std::string server = "127.0.0.1:" + std::to_string(proxy.port());
  flis::Instant t1 = at("2026-11-03 12:00");
  proxy.switch_after(cut_at, Proxy::Mode::down);
  std::string log;
  BOOST_TEST(tree.once(iso(t1), &log) == 1, log);
  BOOST_TEST_REQUIRE(proxy.wait_for_mode(Proxy::Mode::down, std::chrono::milliseconds(0)),
                     "the cut never happened: the upload ended before " << cut_at << " bytes:\n" << log);
  flis::Run r = the_run(tree, "K101-OUTAGE");
  BOOST_TEST(r.status == flis::RunStatus::failed);
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST(has(r.error, server), "the error names the server: " << r.error);
  BOOST_TEST_REQUIRE(r.next_attempt.has_value());
  // The retry is planned on the schedule's clock (--now); `finished` is the real time it ended.
  BOOST_TEST((*r.next_attempt - t1).count() == 60, "first retry after the initial 60 s");
  BOOST_TEST(!file_exists(folder / package), "no package under its final name");
  *first_error = r.error;

  // While the server refuses connections, each retry waits twice as long as the one before; a
  // run before the retry time does not try at all.
  BOOST_TEST(tree.once(iso(*r.next_attempt - std::chrono::seconds(1)), &log) == 0, log);
  BOOST_TEST(the_run(tree, "K101-OUTAGE").attempts == 1, "nothing is tried before the retry time");
  int64_t expected_gap = 120;
  for (int attempt = 2; attempt <= 3; ++attempt, expected_gap *= 2) {
    flis::Instant when = *the_run(tree, "K101-OUTAGE").next_attempt;
    BOOST_TEST(tree.once(iso(when), &log) == 1, log);
    r = the_run(tree, "K101-OUTAGE");
    BOOST_TEST(r.attempts == attempt);
    BOOST_TEST(r.status == flis::RunStatus::failed);
    BOOST_TEST(has(r.error, server), "attempt " << attempt << " names the server: " << r.error);
    BOOST_TEST(has(r.error, "onnect"), "attempt " << attempt << " says it could not connect: " << r.error);
    BOOST_TEST_REQUIRE(r.next_attempt.has_value());
    BOOST_TEST((*r.next_attempt - when).count() == expected_gap, "backoff doubles: " << r.error);
  }

  // The server is back: the next retry delivers, once, and the interrupted upload's temporary
  // file is gone.
  proxy.set_mode(Proxy::Mode::forward);
  BOOST_TEST(tree.once(iso(*the_run(tree, "K101-OUTAGE").next_attempt), &log) == 0, log);
  r = the_run(tree, "K101-OUTAGE");
  BOOST_TEST(r.status == flis::RunStatus::delivered, r.error);
  BOOST_TEST(r.attempts == 4);
  check_exactly(folder, {package});
  BOOST_TEST(member_sha256(folder / package, "DSA/CPR_PERSON/2026-11-01/data.bin") == sha256sum(data));
  BOOST_TEST(tree.once(iso(t1 + std::chrono::hours(24)), &log) == 0, log);
  check_exactly(folder, {package});
}

// FAULT_TRIALS outages (default 1, bench/faults.sh runs dozens): the first cut 5 MiB into the
// 20 MiB upload, the others anywhere from the SSH handshake to the last megabyte.
BOOST_AUTO_TEST_CASE(a_server_that_stops_mid_transfer_and_refuses_for_minutes_is_retried_with_backoff_then_delivered_once) {
  flis::test::SshdFixture sshd;
  Proxy proxy(sshd.port());
  FlisdTree tree;
  tree.targets(sftp_target(sshd, proxy.port(), tree), "{attempts: 6, initial: 60s, max: 1h}");
  tree.daily_order("K101-OUTAGE", 101, "2026-11-01", "2026-11-01");
  const uint64_t size = 20ull << 20;
  fs::path data = tree.land_random("2026-11-01", 101, "data.bin", size, 7);
  fs::path folder = sshd.root() / "kommuner/101";

  const long trials = env_number("FAULT_TRIALS", 1);
  std::mt19937_64 rng(uint64_t(env_number("FAULT_SEED", 20261126)));
  std::string first_error, errors;
  int passed = 0;
  for (long i = 0; i < trials; ++i) {
    tree.reset();
    fs::remove_all(folder);
    uint64_t cut_at = i == 0 ? 5u << 20 : std::uniform_int_distribution<uint64_t>(4096, size - (1u << 20))(rng);
    int failures_before = int(boost::unit_test::results_collector.results(
                                  boost::unit_test::framework::current_test_case().p_id).p_assertions_failed);
    outage(tree, proxy, folder, data, cut_at, &first_error);
    int failures_after = int(boost::unit_test::results_collector.results(
                                 boost::unit_test::framework::current_test_case().p_id).p_assertions_failed);
    if (failures_after == failures_before) ++passed;
    if (i == 0) errors = first_error;
  }
  std::cout << "FAULTS sftp-outage trials=" << trials << " passed=" << passed
            << " each: cut at a random byte, 3 refused attempts (backoff 60,120,240 s), then delivered once;"
            << " first error=\"" << errors << "\"" << std::endl;
}

// A small tmpfs is the server's disk (or the delivery folder's): a large package fills it.
void full_remote_disk(bool over_sftp) {
  FlisdTree tree;
  std::unique_ptr<flis::test::SshdFixture> sshd;
  fs::path root;
  if (over_sftp) {
    sshd = std::make_unique<flis::test::SshdFixture>();
    root = sshd->root() / "kommuner";
    tree.targets(sftp_target(*sshd, sshd->port(), tree));
  } else {
    root = tree.outbox() / "flis";
  }
  Tmpfs disk(root, "4m");
  tree.daily_order("K101-BIG", 101, "2026-11-01", "2026-11-01");
  tree.daily_order("K147-SMALL", 147, "2026-11-01", "2026-11-01");
  tree.daily_order("K751-SMALL", 751, "2026-11-01", "2026-11-01");
  tree.land_random("2026-11-01", 101, "data.bin", 8u << 20, 11);
  tree.land("2026-11-01", 147, "data.csv", "id;value\n147;1\n");
  tree.land("2026-11-01", 751, "data.csv", "id;value\n751;1\n");

  std::string log;
  BOOST_TEST(tree.once("2026-11-03 12:00", &log) == 1, log);
  flis::Run big = the_run(tree, "K101-BIG");
  BOOST_TEST(big.status == flis::RunStatus::failed);
  BOOST_TEST(big.next_attempt.has_value(), "a full disk is retried");
  std::string folder101 = (root / "101").string();
  BOOST_TEST(has(big.error, folder101), "the error names the folder: " << big.error);
  if (over_sftp) {
    BOOST_TEST(has(big.error, "sftp://"), big.error);
    // SFTP version 3 has no "disk full" status; OpenSSH answers SSH_FX_FAILURE.
    BOOST_TEST((has(big.error, "SSH_FX_FAILURE") || has(big.error, "space")), big.error);
  } else {
    BOOST_TEST(has(big.error, "No space left on device"), big.error);
  }
  BOOST_TEST(has(log, big.error), "the error is logged as stored");
  Outbox o101 = check_outbox(root / "101");
  BOOST_TEST(o101.packages.empty());
  BOOST_TEST(o101.temporaries.empty(), "the temporary file is removed: " << join(o101.temporaries));
  // The others were delivered in the same run, into the room the failed package gave back.
  check_exactly(root / "147", {"K147-SMALL_2026-11-01.tar.zst"});
  check_exactly(root / "751", {"K751-SMALL_2026-11-01.tar.zst"});
  BOOST_TEST(the_run(tree, "K147-SMALL").status == flis::RunStatus::delivered);
  BOOST_TEST(the_run(tree, "K751-SMALL").status == flis::RunStatus::delivered);

  // Room is made; the retry delivers, and nothing else is delivered again.
  disk.resize("64m");
  BOOST_TEST(tree.once(iso(*big.next_attempt), &log) == 0, log);
  BOOST_TEST(the_run(tree, "K101-BIG").status == flis::RunStatus::delivered);
  check_exactly(root / "101", {"K101-BIG_2026-11-01.tar.zst"});
  check_exactly(root / "147", {"K147-SMALL_2026-11-01.tar.zst"});
  check_exactly(root / "751", {"K751-SMALL_2026-11-01.tar.zst"});
  BOOST_TEST(runs_of(tree, "K147-SMALL").size() == 1u);
  std::cout << "FAULTS disk-full-" << (over_sftp ? "sftp" : "directory") << " trials=1 error=\"" << big.error << "\""
            << std::endl;
}

BOOST_AUTO_TEST_CASE(a_full_server_disk_fails_that_run_precisely_spares_the_others_and_delivers_once_there_is_room,
                     *utf::precondition([](utf::test_unit_id) { return is_root(); })) {
  full_remote_disk(true);
}

BOOST_AUTO_TEST_CASE(a_full_delivery_folder_disk_fails_that_run_precisely_spares_the_others_and_delivers_once_there_is_room,
                     *utf::precondition([](utf::test_unit_id) { return is_root(); })) {
  full_remote_disk(false);
}

// A server that completes the TCP handshake and never sends its SSH banner: the run fails with a
// timeout and is retried; flisd does not hang (ctest's own timeout would fail the test if it did).
BOOST_AUTO_TEST_CASE(a_server_that_accepts_and_never_answers_fails_the_run_with_a_timeout) {
  flis::test::SshdFixture sshd;  // for the key and known_hosts only
  StallingListener stalled;
  FlisdTree tree;
  tree.targets(sftp_target(sshd, stalled.port(), tree, "3s"));
  tree.daily_order("K101-STALL", 101, "2026-11-01", "2026-11-01");
  tree.land("2026-11-01", 101, "data.csv", "id;value\n1;2\n");
  std::string log;
  BOOST_TEST(tree.once("2026-11-03 12:00", &log) == 1, log);
  flis::Run r = the_run(tree, "K101-STALL");
  BOOST_TEST(r.status == flis::RunStatus::failed);
  BOOST_TEST(r.next_attempt.has_value(), "retried later, not left running");
  BOOST_TEST(has(r.error, "127.0.0.1:" + std::to_string(stalled.port())), r.error);
  BOOST_TEST((has(r.error, "timed out") || has(r.error, "timeout") || has(r.error, "Timeout")), r.error);
  std::cout << "FAULTS stalled-banner trials=1 error=\"" << r.error << "\"" << std::endl;
}

// The server stops answering in the middle of an upload (every byte held back, the connection
// kept open): the run fails with a timeout, the next attempt delivers.
BOOST_AUTO_TEST_CASE(a_server_that_stalls_mid_transfer_fails_the_run_with_a_timeout_then_delivers) {
  flis::test::SshdFixture sshd;
  Proxy proxy(sshd.port());
  FlisdTree tree;
  tree.targets(sftp_target(sshd, proxy.port(), tree, "3s"));
  tree.daily_order("K101-HANG", 101, "2026-11-01", "2026-11-01");
  tree.land_random("2026-11-01", 101, "data.bin", 20ull << 20, 5);
  fs::path folder = sshd.root() / "kommuner/101";
  const std::string package = "K101-HANG_2026-11-01.tar.zst";
  // 5 MiB into the 20 MiB upload the server stops answering but keeps the connection open.
  proxy.switch_after(5u << 20, Proxy::Mode::stall);
  std::string log;
  BOOST_TEST(tree.once("2026-11-03 12:00", &log) == 1, log);
  BOOST_TEST_REQUIRE(proxy.wait_for_mode(Proxy::Mode::stall, std::chrono::milliseconds(0)), log);
  flis::Run r = the_run(tree, "K101-HANG");
  BOOST_TEST(r.status == flis::RunStatus::failed);
  // A stall shows as no reply, or as the server's window staying shut: either way, after the 3 s.
  BOOST_TEST(has(r.error, " for 3 s (timeout)"), "the configured timeout: " << r.error);
  BOOST_TEST(!file_exists(folder / package));
  proxy.set_mode(Proxy::Mode::forward);
  BOOST_TEST(tree.once(iso(*r.next_attempt), &log) == 0, log);
  check_exactly(folder, {package});
  std::cout << "FAULTS stalled-mid-transfer trials=1 error=\"" << r.error << "\"" << std::endl;
}
