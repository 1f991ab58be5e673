// The SFTP server misbehaving under `flisd --once`: stopping mid-transfer and refusing connections
// for a while, its disk filling up, and accepting connections without ever answering. Each case
// checks the error a sysadmin reads, that the run is retried on the policy's backoff (the clock is
// --now, so minutes pass at once), and that in the end every package is there once, whole.
#define BOOST_TEST_MODULE daemon_faults_sftp
#include <boost/test/unit_test.hpp>

#include <iostream>

#include "config/period.h"
#include "daemon/state_store.h"
#include "tests/support/faults.h"
#include "tests/support/sshd.h"

namespace flis {
inline std::ostream& operator<<(std::ostream& o, RunStatus s) { return o << to_string(s); }
}  // namespace flis

using namespace flis::test::faults;
using flis::test::sha256sum;
namespace fs = std::filesystem;
namespace utf = boost::unit_test;

namespace {

const date::time_zone* copenhagen() { return date::locate_zone("Europe/Copenhagen"); }

std::string iso(flis::Instant t) { return flis::format_local_iso(t, copenhagen()); }

// The target for sshd reached through `port` (sshd's own, a proxy's or a stalled one). known_hosts
// is written for that port, with sshd's host key.
std::string sftp_target(const flis::test::SshdFixture& sshd, int port, const FlisdTree& tree) {
  flis::Target t = sshd.target("kommuner/{municipality}");
  fs::path known = tree.root() / ("known_hosts_" + std::to_string(port));
  flis::test::write_file(known, "[127.0.0.1]:" + std::to_string(port) + " " + flis::test::read_file(sshd.host_key_pub()));
  return "  flis: {type: sftp, host: 127.0.0.1, port: " + std::to_string(port) + ", user: " + t.user +
         ", identity: " + t.identity.string() + ", known_hosts: " + known.string() + ", path: \"" + t.path + "\"}\n";
}

std::vector<flis::Run> runs_of(const FlisdTree& tree, const std::string& order) {
  auto store = flis::StateStore::open_readonly(tree.state());
  BOOST_TEST_REQUIRE(store.ok(), store.message());
  auto runs = (*store)->list({.order = order});
  BOOST_TEST_REQUIRE(runs.ok(), runs.message());
  return *runs;
}

flis::Run the_run(const FlisdTree& tree, const std::string& order) {
  auto runs = runs_of(tree, order);
  BOOST_TEST_REQUIRE(runs.size() == 1u, order << " has " << runs.size() << " runs");
  return runs.front();
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// Exactly `names` in `folder`, each whole and checksummed, no temporaries.
void check_exactly(const fs::path& folder, const std::vector<std::string>& names) {
  Outbox o = check_outbox(folder);
  BOOST_TEST(o.packages == names, folder << ": [" << join(o.packages) << "]");
  BOOST_TEST(o.checksummed == names, folder << " checksummed: [" << join(o.checksummed) << "]");
  BOOST_TEST(o.temporaries.empty(), folder << " temporaries: " << join(o.temporaries));
  BOOST_TEST(o.problems.empty(), folder << ": " << join(o.problems));
}

}  // namespace

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
  tree.targets(sftp_target(sshd, stalled.port(), tree));
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
