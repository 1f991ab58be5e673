// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The SFTP target against a second SFTP server implementation: Green End's sftp-server (Debian's
// gesftpserver) as the sftp subsystem of a real sshd. It answers requests concurrently and offers
// its own set of extensions, so this is what keeps flisd from depending on OpenSSH's behaviour.
// Also the plain version 3 path (no fsync@openssh.com, no posix-rename@openssh.com, no limits),
// small write requests, several uploads at once on one session, and a server that allows one
// channel per connection.
#define BOOST_TEST_MODULE jobs_sftp_gesftp
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "jobs/session_pool.h"
#include "jobs/sftp_target.h"
#include "tests/support/package_files.h"
#include "tests/support/sshd.h"

namespace fs = std::filesystem;
using flis::SessionPool;
using flis::test::SshdFixture;
using namespace std::chrono_literals;

using flis::test::random_bytes;

namespace {

const char* kGesftpserver = "/usr/libexec/gesftpserver";
const std::string kName = "K101-CPR-MONTHLY_2026-11.tar.zst";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

flis::test::SshdOptions green_end(int max_sessions = 0) {
  BOOST_REQUIRE_MESSAGE(fs::exists(kGesftpserver), "gesftpserver is not installed (scripts/deps.sh installs it)");
  flis::test::SshdOptions o;
  o.subsystem = kGesftpserver;
  o.max_sessions = max_sessions;
  return o;
}

std::unique_ptr<flis::DeliveryTarget> target_for(flis::Target config, SessionPool& pool,
                                                 flis::SftpTuning tuning = {}, int max_sessions = 4) {
  config.max_sessions = max_sessions;
  flis::SftpTargetOptions o;
  o.timeout = 10s;
  o.connect_timeout = 20s;
  o.pool = &pool;
  o.tuning = tuning;
  auto t = flis::make_sftp_target(config, nullptr, o);
  BOOST_REQUIRE_MESSAGE(t.ok(), t.message());
  return std::move(*t);
}

flis::Status deliver(flis::DeliveryTarget& t, const fs::path& folder, const std::string& name,
                     const std::string& data, const std::string& sum) {
  auto up = t.begin_unless_present(folder.string(), name);  // as a run does: one look
  if (!up.ok()) return up.status();
  if (!*up) return flis::Status::Error("already there");
  for (size_t at = 0; at < data.size(); at += 10007) {
    if (auto st = (*up)->write(data.data() + at, std::min<size_t>(10007, data.size() - at)); !st.ok()) return st;
  }
  return (*up)->commit(sum);
}

// Everything a delivery promises, on whatever server: package, checksum file, nothing else left,
// inspect sees it, a second delivery is refused, a lost checksum file can be completed.
void check_the_whole_contract(flis::DeliveryTarget& target, const fs::path& folder) {
  std::string data = random_bytes(1024 * 1024 + 7);
  std::string sum(64, 'b');
  flis::Status st = deliver(target, folder, kName, data, sum);
  BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  BOOST_TEST(slurp(folder / kName) == data);
  BOOST_TEST(slurp(folder / (kName + ".sha256")) == sum + "  " + kName + "\n");
  BOOST_TEST(!fs::exists(folder / ("." + kName + ".part")));
  BOOST_TEST(!fs::exists(folder / ("." + kName + ".sha256.part")));
  // Exactly the default file_mode, 0640.
  BOOST_TEST((fs::status(folder / kName).permissions() == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read)));

  auto found = target.inspect(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(found.ok(), found.message());
  BOOST_REQUIRE(found->has_value());
  BOOST_TEST((*found)->size == data.size());
  BOOST_TEST((*found)->sha256.value_or("") == sum);

  auto again = target.begin(folder.string(), kName);
  BOOST_REQUIRE(!again.ok());
  BOOST_TEST(again.message().find("already exists") != std::string::npos);
  BOOST_TEST(slurp(folder / kName) == data);
  auto look = target.begin_unless_present(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(look.ok(), look.message());
  BOOST_TEST((*look == nullptr), "no upload for a package that is already there");
  BOOST_TEST(!fs::exists(folder / ("." + kName + ".part")));
  BOOST_TEST(slurp(folder / kName) == data);

  // A commit cut between rename and checksum: the checksum file is completed (twice: the second
  // replaces the first, with or without posix-rename).
  fs::remove(folder / (kName + ".sha256"));
  BOOST_REQUIRE(target.finish_checksum(folder.string(), kName, std::string(64, 'c')).ok());
  BOOST_REQUIRE(target.finish_checksum(folder.string(), kName, sum).ok());
  BOOST_TEST(slurp(folder / (kName + ".sha256")) == sum + "  " + kName + "\n");

  // A stale temporary file of an interrupted attempt is replaced, not appended to.
  std::ofstream(folder / ".K101-X_2026-11.tar.zst.part") << std::string(300000, 'x');
  BOOST_REQUIRE(deliver(target, folder, "K101-X_2026-11.tar.zst", "small", sum).ok());
  BOOST_TEST(slurp(folder / "K101-X_2026-11.tar.zst") == "small");
}

}  // namespace

BOOST_AUTO_TEST_CASE(green_end_sftp_server_gets_the_whole_contract) {
  SshdFixture sshd(green_end());
  SessionPool pool;
  auto target = target_for(sshd.target(), pool);
  check_the_whole_contract(*target, sshd.root() / "kommuner/101/datapakker");
  BOOST_TEST(pool.sessions_opened() == 1u);
}

BOOST_AUTO_TEST_CASE(plain_sftp_v3_without_extensions_and_small_requests) {
  SshdFixture sshd(green_end());
  SessionPool pool;
  flis::SftpTuning plain;
  plain.use_extensions = false;  // no fsync, no posix-rename, no limits
  plain.request_size = 4096;     // a server with a small packet limit
  plain.max_in_flight = 16;
  auto target = target_for(sshd.target(), pool, plain);
  check_the_whole_contract(*target, sshd.root() / "kommuner/101/datapakker");
}

BOOST_AUTO_TEST_CASE(plain_sftp_v3_on_openssh_too) {
  SshdFixture sshd;
  SessionPool pool;
  flis::SftpTuning plain;
  plain.use_extensions = false;
  plain.request_size = 4096;
  auto target = target_for(sshd.target(), pool, plain);
  check_the_whole_contract(*target, sshd.root() / "kommuner/101/datapakker");
}

BOOST_AUTO_TEST_CASE(a_server_allowing_one_channel_per_connection) {
  SshdFixture sshd(green_end(1));  // MaxSessions 1: a second channel on a connection is refused
  SessionPool pool;
  auto target = target_for(sshd.target(), pool);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  for (int i = 0; i < 5; ++i) {
    std::string name = "K101-D_2026-11-1" + std::to_string(i) + ".tar.zst";
    flis::Status st = deliver(*target, folder, name, random_bytes(20000, i), std::string(64, 'd'));
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
    BOOST_TEST(slurp(folder / name) == random_bytes(20000, i));
  }
  BOOST_TEST(pool.sessions_opened() == 1u);
  BOOST_TEST(sshd.logins() == 1);
}

BOOST_AUTO_TEST_CASE(plain_sftp_v3_several_uploads_at_once_on_one_session) {
  SshdFixture sshd(green_end());
  SessionPool pool;
  flis::SftpTuning plain;
  plain.use_extensions = false;
  plain.request_size = 4096;
  plain.max_in_flight = 16;
  auto target = target_for(sshd.target(), pool, plain, 1);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  std::vector<std::unique_ptr<flis::Upload>> uploads;
  for (int i = 0; i < 4; ++i) {
    auto up = target->begin_unless_present(folder.string(), "K101-D_2026-11-1" + std::to_string(i) + ".tar.zst");
    BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
    BOOST_REQUIRE(*up != nullptr);
    uploads.push_back(std::move(*up));
  }
  for (size_t at = 0; at < 100000; at += 7919)
    for (int i = 0; i < 4; ++i) {
      std::string data = random_bytes(100000, i);
      BOOST_REQUIRE(uploads[i]->write(data.data() + at, std::min<size_t>(7919, data.size() - at)).ok());
    }
  for (int i = 0; i < 4; ++i) {
    flis::Status st = uploads[i]->commit(std::string(64, 'e'));
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  }
  for (int i = 0; i < 4; ++i) {
    std::string name = "K101-D_2026-11-1" + std::to_string(i) + ".tar.zst";
    BOOST_TEST(slurp(folder / name) == random_bytes(100000, i));
    BOOST_TEST(slurp(folder / (name + ".sha256")) == std::string(64, 'e') + "  " + name + "\n");
  }
  BOOST_TEST(pool.sessions_opened() == 1u);
  BOOST_TEST(sshd.logins() == 1);
}
