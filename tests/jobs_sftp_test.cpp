// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The SFTP target against a real OpenSSH sshd on 127.0.0.1 (tests/support/sshd.h): what a
// municipality finds in its folder, and what a sysadmin reads when something is wrong.
#define BOOST_TEST_MODULE jobs_sftp
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "jobs/sftp_target.h"
#include "tests/support/package_files.h"
#include "tests/support/sshd.h"

namespace fs = std::filesystem;
using flis::test::SshdFixture;

using flis::test::random_bytes;

namespace {

const std::string kName = "K101-CPR-MONTHLY_2026-11.tar.zst";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

// Timeouts: generous for connecting (a loaded test machine may take seconds to fork and exec an
// sshd session), short for a transfer that stalls, where a test waits for them.
std::unique_ptr<flis::DeliveryTarget> target_for(const flis::Target& config, int timeout_ms = 10000,
                                                 const std::atomic<bool>* cancel = nullptr,
                                                 int connect_timeout_ms = 20000) {
  flis::SftpTargetOptions o;
  o.timeout = std::chrono::milliseconds(timeout_ms);
  o.connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
  auto t = flis::make_sftp_target(config, cancel, o);
  BOOST_REQUIRE_MESSAGE(t.ok(), t.message());
  return std::move(*t);
}

// Writes `data` in uneven pieces, as the packer does.
flis::Status write_all(flis::Upload& up, const std::string& data) {
  size_t piece = 10007;
  for (size_t at = 0; at < data.size(); at += piece) {
    if (auto st = up.write(data.data() + at, std::min(piece, data.size() - at)); !st.ok()) return st;
  }
  return flis::Status::OK();
}

// Logs the message (--log_level=message shows what a sysadmin would read).
bool contains(const std::string& text, const std::string& part) {
  BOOST_TEST_MESSAGE(text);
  return text.find(part) != std::string::npos;
}

// A TCP port that accepts connections and never says anything: a stalled server.
struct SilentServer {
  int fd = -1;
  int port = 0;
  SilentServer() {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    BOOST_REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    BOOST_REQUIRE(listen(fd, 4) == 0);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~SilentServer() { close(fd); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(delivers_the_package_the_checksum_and_makes_the_folders) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root() / "kommuner/101/datapakker";  // none of it exists yet
  std::string data = random_bytes(3 * 1024 * 1024 + 123);

  auto up = target->begin(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  BOOST_REQUIRE(write_all(**up, data).ok());
  BOOST_TEST((*up)->remote_path() == (folder / kName).string());
  auto st = (*up)->commit(sha256_hex(data));
  BOOST_REQUIRE_MESSAGE(st.ok(), st.message());

  BOOST_TEST(slurp(folder / kName) == data);
  BOOST_TEST(slurp(folder / (kName + ".sha256")) == sha256_hex(data) + "  " + kName + "\n");
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName)));
  BOOST_TEST(((fs::status(folder / kName).permissions() & fs::perms::others_all) == fs::perms::none));
  // What a municipality would run on what it received.
  BOOST_TEST(std::system(("cd '" + folder.string() + "' && sha256sum --quiet -c " + kName + ".sha256").c_str()) == 0);
}

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Delivers an empty package into root/a/101 and returns the folder.
fs::path deliver_into_new_folder(const SshdFixture& sshd, const flis::Target& config) {
  auto target = target_for(config);
  fs::path folder = sshd.root() / "a/101";
  auto up = target->begin(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  auto st = (*up)->commit(sha256_hex(""));
  BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  return folder;
}

}  // namespace

// The sshd started under umask 077 would make 0600/0700 of the modes asked for at open and mkdir:
// the target sets them exactly.
BOOST_AUTO_TEST_CASE(remote_modes_are_0640_and_0750_unless_configured) {
  mode_t saved = umask(077);
  SshdFixture sshd;
  umask(saved);
  fs::path folder = deliver_into_new_folder(sshd, sshd.target());
  BOOST_TEST(mode_of(folder / kName) == 0640u);
  BOOST_TEST(mode_of(folder / (kName + ".sha256")) == 0640u);
  BOOST_TEST(mode_of(folder) == 0750u);
  BOOST_TEST(mode_of(folder.parent_path()) == 0750u);
}

BOOST_AUTO_TEST_CASE(remote_file_mode_and_dir_mode_are_set_as_configured) {
  mode_t saved = umask(077);
  SshdFixture sshd;
  umask(saved);
  flis::Target config = sshd.target();
  config.file_mode = 0644;
  config.dir_mode = 0755;
  fs::path folder = deliver_into_new_folder(sshd, config);
  BOOST_TEST(mode_of(folder / kName) == 0644u);
  BOOST_TEST(mode_of(folder / (kName + ".sha256")) == 0644u);
  BOOST_TEST(mode_of(folder) == 0755u);
  BOOST_TEST(mode_of(folder.parent_path()) == 0755u);
}

BOOST_AUTO_TEST_CASE(an_empty_package_is_delivered_too) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  auto up = target->begin(sshd.root().string(), kName);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  auto st = (*up)->commit(sha256_hex(""));
  BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  BOOST_TEST(fs::file_size(sshd.root() / kName) == 0u);
}

BOOST_AUTO_TEST_CASE(inspect_reports_a_delivered_package_and_nothing_for_an_absent_one) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  std::string folder = sshd.root().string();
  auto none = target->inspect(folder, kName);
  BOOST_REQUIRE_MESSAGE(none.ok(), none.message());
  BOOST_TEST(!none->has_value());

  std::string data = random_bytes(100000);
  auto up = target->begin(folder, kName);
  BOOST_REQUIRE(up.ok());
  BOOST_REQUIRE(write_all(**up, data).ok());
  BOOST_REQUIRE((*up)->commit(sha256_hex(data)).ok());

  auto found = target->inspect(folder, kName);
  BOOST_REQUIRE_MESSAGE(found.ok(), found.message());
  BOOST_REQUIRE(found->has_value());
  BOOST_TEST((*found)->size == data.size());
  BOOST_TEST((*found)->sha256.value_or("") == sha256_hex(data));
}

BOOST_AUTO_TEST_CASE(the_final_name_appears_only_at_commit_and_abort_leaves_nothing) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root();
  auto up = target->begin(folder.string(), kName);
  BOOST_REQUIRE(up.ok());
  BOOST_REQUIRE(write_all(**up, random_bytes(2 * 1024 * 1024)).ok());
  BOOST_TEST(!fs::exists(folder / kName));
  BOOST_TEST(fs::exists(folder / flis::temporary_name(kName)));
  (*up)->abort();
  BOOST_TEST(!fs::exists(folder / kName));
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName)));
  BOOST_TEST(!fs::exists(folder / (kName + ".sha256")));
}

BOOST_AUTO_TEST_CASE(a_stale_temporary_file_is_replaced_not_appended_to) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root();
  std::ofstream(folder / flis::temporary_name(kName)) << random_bytes(500000, 7);

  std::string data = "a small package";
  auto up = target->begin(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  BOOST_REQUIRE(write_all(**up, data).ok());
  BOOST_REQUIRE((*up)->commit(sha256_hex(data)).ok());
  BOOST_TEST(slurp(folder / kName) == data);
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName)));
}

BOOST_AUTO_TEST_CASE(inspect_removes_a_stale_temporary_file) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root();
  std::ofstream(folder / flis::temporary_name(kName)) << "left by a crash";
  auto found = target->inspect(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(found.ok(), found.message());
  BOOST_TEST(!found->has_value());
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName)));
}

BOOST_AUTO_TEST_CASE(remove_temporaries_removes_every_attempt_of_the_package_and_nothing_else) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root();
  const std::string other = "K101-OTHER_2026-11-02.tar.zst";
  auto up = target->begin(folder.string(), kName, flis::attempt_tag("a", 1));
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  BOOST_REQUIRE(write_all(**up, "x").ok());
  std::ofstream(folder / flis::temporary_name(kName, flis::attempt_tag("b", 2))) << "another node's attempt";
  std::ofstream(folder / flis::temporary_name(kName)) << "a one-host attempt";
  std::ofstream(folder / flis::temporary_name(other, flis::attempt_tag("a", 1))) << "another package";
  for (int i = 0; i < 300; ++i) std::ofstream(folder / ("K101-MANY_" + std::to_string(i) + ".tar.zst")) << i;
  BOOST_REQUIRE(target->remove_temporaries(folder.string(), kName).ok());
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName, flis::attempt_tag("a", 1))));
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName, flis::attempt_tag("b", 2))));
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName)));
  BOOST_TEST(fs::exists(folder / flis::temporary_name(other, flis::attempt_tag("a", 1))));
  BOOST_TEST(fs::exists(folder / "K101-MANY_299.tar.zst"));
  // The attempt whose temporary file went can no longer commit it.
  BOOST_TEST(!(*up)->commit(sha256_hex("x")).ok());
  BOOST_TEST(!fs::exists(folder / kName));
  BOOST_REQUIRE(target->remove_temporaries((folder / "absent").string(), kName).ok());
}

BOOST_AUTO_TEST_CASE(an_existing_package_is_never_overwritten) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root();
  std::ofstream(folder / kName) << "delivered earlier";

  auto up = target->begin(folder.string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "already exists"));
  BOOST_TEST(contains(up.message(), "sftp://" + sshd.user() + "@127.0.0.1:" + std::to_string(sshd.port())));
  BOOST_TEST(slurp(folder / kName) == "delivered earlier");
}

BOOST_AUTO_TEST_CASE(begin_unless_present_starts_an_upload_or_leaves_a_delivered_package_alone) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root() / "kommuner/101";  // made by the first look
  std::string data = "the package";
  auto up = target->begin_unless_present(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  BOOST_REQUIRE(*up != nullptr);
  BOOST_REQUIRE(write_all(**up, data).ok());
  BOOST_REQUIRE((*up)->commit(sha256_hex(data)).ok());

  // A stale temporary file beside the delivered package: the look reports the package, starts
  // nothing and leaves nothing behind.
  std::ofstream(folder / flis::temporary_name(kName)) << "left by a crash";
  auto again = target->begin_unless_present(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(again.ok(), again.message());
  BOOST_TEST((*again == nullptr), "no upload for a package that is already there");
  BOOST_TEST(slurp(folder / kName) == data);
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName)));
  BOOST_TEST(fs::exists(folder / (kName + ".sha256")));
}

BOOST_AUTO_TEST_CASE(a_package_that_appears_during_the_upload_is_not_overwritten) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  fs::path folder = sshd.root();
  auto up = target->begin(folder.string(), kName);
  BOOST_REQUIRE(up.ok());
  BOOST_REQUIRE(write_all(**up, random_bytes(300000)).ok());
  std::ofstream(folder / kName) << "delivered by another run";
  auto st = (*up)->commit("00");
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(contains(st.message(), "already exists"));
  BOOST_TEST(slurp(folder / kName) == "delivered by another run");
  (*up)->abort();
  BOOST_TEST(!fs::exists(folder / flis::temporary_name(kName)));
}

BOOST_AUTO_TEST_CASE(a_changed_host_key_is_refused_naming_both_fingerprints) {
  SshdFixture sshd;
  fs::path other = sshd.dir() / "other_host_key";
  SshdFixture::keygen(other);
  fs::path pub = other.string() + ".pub";
  std::ofstream(sshd.known_hosts()) << "[127.0.0.1]:" << sshd.port() << " " << slurp(pub);

  auto target = target_for(sshd.target());
  auto up = target->begin((sshd.root() / "kommuner").string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "has changed"));
  BOOST_TEST(contains(up.message(), sshd.host_fingerprint()));
  BOOST_TEST(contains(up.message(), SshdFixture::fingerprint(pub)));
  BOOST_TEST(contains(up.message(), sshd.known_hosts().string()));
  BOOST_TEST(!fs::exists(sshd.root() / "kommuner"));
}

BOOST_AUTO_TEST_CASE(an_unknown_host_is_refused_naming_its_fingerprint) {
  SshdFixture sshd;
  // known_hosts knows this key, but for another host.
  std::ofstream(sshd.known_hosts()) << "sftp.flis.example " << slurp(sshd.host_key_pub());
  auto target = target_for(sshd.target());
  auto up = target->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "is not in " + sshd.known_hosts().string()));
  BOOST_TEST(contains(up.message(), sshd.host_fingerprint()));
  BOOST_TEST(contains(up.message(), "ssh-keyscan"));
  BOOST_TEST(slurp(sshd.known_hosts()).find("127.0.0.1") == std::string::npos);  // never written
}

BOOST_AUTO_TEST_CASE(a_missing_known_hosts_file_is_refused) {
  SshdFixture sshd;
  flis::Target config = sshd.target();
  config.known_hosts = sshd.dir() / "no_such_known_hosts";
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), config.known_hosts.string() + " does not exist"));
  BOOST_TEST(!fs::exists(config.known_hosts));
}

BOOST_AUTO_TEST_CASE(a_private_key_readable_by_others_is_refused) {
  SshdFixture sshd;
  fs::permissions(sshd.client_key(), fs::perms(0644));
  auto up = target_for(sshd.target())->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "private key " + sshd.client_key().string() +
                                        " is accessible by others (mode 0644); chmod 600 it"));
}

// The key is checked as OpenSSH checks it, on the descriptor it is then read from: owned by the
// user flisd runs as or root (the guide promises this for an absolute identity), ...
BOOST_AUTO_TEST_CASE(a_private_key_owned_by_another_user_is_refused) {
  if (geteuid() != 0) {
    BOOST_TEST_MESSAGE("skipped: needs root to give the key to another user");
    return;
  }
  SshdFixture sshd;
  flis::Target config = sshd.target();
  config.identity = sshd.dir() / "their_key";
  fs::copy_file(sshd.client_key(), config.identity);
  BOOST_REQUIRE(chown(config.identity.c_str(), 65534, 65534) == 0);
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "private key " + config.identity.string() + " is owned by uid 65534"), up.message());
  BOOST_TEST(contains(up.message(), "chown it"), up.message());
  BOOST_TEST(sshd.log().find("Accepted publickey") == std::string::npos, "the server saw the key");
}

// ... and never a symbolic link, which could be pointed elsewhere between the check and the read.
BOOST_AUTO_TEST_CASE(a_private_key_that_is_a_symbolic_link_is_refused) {
  SshdFixture sshd;
  flis::Target config = sshd.target();
  config.identity = sshd.dir() / "linked_key";
  fs::create_symlink(sshd.client_key(), config.identity);
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "private key " + config.identity.string() + " is a symbolic link"), up.message());
}

BOOST_AUTO_TEST_CASE(a_missing_or_invalid_private_key_is_refused) {
  SshdFixture sshd;
  flis::Target config = sshd.target();
  config.identity = sshd.dir() / "no_such_key";
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "private key " + config.identity.string() + " does not exist"));
  BOOST_TEST(contains(up.message(), "CREDENTIALS_DIRECTORY is not set"), "it may be a credential flisd cannot see");

  config.identity = sshd.dir() / "garbage_key";
  std::ofstream(config.identity) << "not a key\n";
  fs::permissions(config.identity, fs::perms(0600));
  up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "cannot load private key " + config.identity.string()));
}

BOOST_AUTO_TEST_CASE(a_key_the_server_does_not_know_is_refused) {
  SshdFixture sshd;
  flis::Target config = sshd.target();
  config.identity = sshd.dir() / "stranger_key";
  SshdFixture::keygen(config.identity);
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "refused public key " + config.identity.string()));
  BOOST_TEST(contains(up.message(), "for user " + sshd.user()));
}

BOOST_AUTO_TEST_CASE(a_credential_missing_from_credentials_directory_is_named) {
  SshdFixture sshd;
  fs::path credentials = sshd.dir() / "credentials";
  fs::create_directory(credentials);
  flis::Target config = sshd.target();
  config.identity = sshd.dir() / "etc/sftp-key";  // as the loader resolves `identity: sftp-key`
  setenv("CREDENTIALS_DIRECTORY", credentials.c_str(), 1);
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  unsetenv("CREDENTIALS_DIRECTORY");
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "no credential 'sftp-key' in CREDENTIALS_DIRECTORY (" + credentials.string() + ")"));
}

BOOST_AUTO_TEST_CASE(the_key_may_come_from_a_systemd_credential) {
  SshdFixture sshd;
  fs::path credentials = sshd.dir() / "credentials";
  fs::create_directory(credentials);
  fs::copy_file(sshd.client_key(), credentials / "flisd-sftp-key");
  flis::Target config = sshd.target();
  config.identity = "flisd-sftp-key";  // relative: looked up in $CREDENTIALS_DIRECTORY
  setenv("CREDENTIALS_DIRECTORY", credentials.c_str(), 1);
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  BOOST_REQUIRE((*up)->commit("00").ok());

  // As the loader hands it over: resolved against the config folder, where no such file is.
  config.identity = sshd.dir() / "etc-flisd" / "flisd-sftp-key";
  up = target_for(config)->begin(sshd.root().string(), "second.tar.zst");
  unsetenv("CREDENTIALS_DIRECTORY");
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  BOOST_REQUIRE((*up)->commit("00").ok());
  BOOST_TEST(fs::exists(sshd.root() / "second.tar.zst"));
}

BOOST_AUTO_TEST_CASE(a_server_that_disappears_mid_transfer_is_an_error) {
  SshdFixture sshd;
  auto target = target_for(sshd.target());
  auto up = target->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(up.ok());
  BOOST_REQUIRE(write_all(**up, random_bytes(1024 * 1024)).ok());
  sshd.kill();
  flis::Status st;
  std::string chunk = random_bytes(1024 * 1024, 2);
  for (int i = 0; i < 64 && st.ok(); ++i) st = (*up)->write(chunk.data(), chunk.size());
  if (st.ok()) st = (*up)->commit("00");
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(contains(st.message(), "connection lost"));
  BOOST_TEST(contains(st.message(), "sftp://" + sshd.user() + "@127.0.0.1:" + std::to_string(sshd.port())));
  BOOST_TEST(!fs::exists(sshd.root() / kName));
}

BOOST_AUTO_TEST_CASE(a_server_that_stalls_mid_transfer_times_out) {
  SshdFixture sshd;
  auto target = target_for(sshd.target(), 1000);
  auto up = target->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(up.ok());
  sshd.pause_sessions(true);
  flis::Status st;
  std::string chunk = random_bytes(1024 * 1024, 3);
  for (int i = 0; i < 256 && st.ok(); ++i) st = (*up)->write(chunk.data(), chunk.size());
  if (st.ok()) st = (*up)->commit("00");
  sshd.pause_sessions(false);
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(contains(st.message(), "(timeout)"));
  BOOST_TEST(!fs::exists(sshd.root() / kName));
}

BOOST_AUTO_TEST_CASE(a_server_that_accepts_and_never_answers_times_out) {
  SilentServer silent;
  SshdFixture sshd;  // only for a key and a known_hosts
  flis::Target config = sshd.target();
  config.port = silent.port;
  auto up = target_for(config, 1000, nullptr, 1000)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "cannot connect"));
  BOOST_TEST(contains(up.message(), "127.0.0.1:" + std::to_string(silent.port)));
}

BOOST_AUTO_TEST_CASE(a_closed_port_is_an_error_naming_the_server) {
  SshdFixture sshd;
  flis::Target config = sshd.target();
  sshd.kill();
  auto up = target_for(config)->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "sftp://" + config.user + "@127.0.0.1:" + std::to_string(config.port) +
                                        ": cannot connect"));
}

// sshd runs as root here, and root's writes are never refused; so the client logs in as an
// unprivileged user (flisdtest, made by the fixture when the tests run as root).
BOOST_AUTO_TEST_CASE(a_folder_that_cannot_be_written_is_an_error_naming_it) {
  SshdFixture sshd;
  flis::Target config = sshd.target();
  config.user = SshdFixture::unprivileged_user();
  fs::path readonly = sshd.root() / "readonly";
  fs::create_directory(readonly);
  fs::permissions(readonly, fs::perms(0555));
  auto target = target_for(config);

  auto up = target->begin((readonly / "101").string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "sftp://" + config.user + "@127.0.0.1:" + std::to_string(config.port) +
                                        (readonly / "101").string() +
                                        ": permission denied (SSH_FX_PERMISSION_DENIED) creating folder"));

  up = target->begin(readonly.string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), (readonly / flis::temporary_name(kName)).string() +
                                        ": permission denied (SSH_FX_PERMISSION_DENIED)"));
  BOOST_TEST(fs::is_empty(readonly));
}

BOOST_AUTO_TEST_CASE(a_path_through_a_file_is_an_error) {
  SshdFixture sshd;
  std::ofstream(sshd.root() / "kommuner") << "a file, not a folder";
  auto up = target_for(sshd.target())->begin((sshd.root() / "kommuner/101").string(), kName);
  BOOST_REQUIRE(!up.ok());
  BOOST_TEST(contains(up.message(), "kommuner: exists and is not a folder"));
}

BOOST_AUTO_TEST_CASE(cancel_stops_an_upload_promptly) {
  SshdFixture sshd;
  std::atomic<bool> cancel{false};
  auto target = target_for(sshd.target(), 10000, &cancel);
  auto up = target->begin(sshd.root().string(), kName);
  BOOST_REQUIRE(up.ok());
  BOOST_REQUIRE(write_all(**up, random_bytes(500000)).ok());
  cancel = true;
  flis::Status st;
  std::string chunk = random_bytes(1024 * 1024, 4);
  for (int i = 0; i < 8 && st.ok(); ++i) st = (*up)->write(chunk.data(), chunk.size());
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(contains(st.message(), "cancelled"));
  (*up)->abort();
  BOOST_TEST(!fs::exists(sshd.root() / flis::temporary_name(kName)));
  BOOST_TEST(!fs::exists(sshd.root() / kName));
}

// A small tmpfs mounted for one test: a server whose disk fills up.
struct SmallDisk {
  fs::path where;
  bool mounted = false;
  explicit SmallDisk(const fs::path& at) : where(at) {
    fs::create_directory(where);
    mounted = mount("tmpfs", where.c_str(), "tmpfs", 0, "size=1m,mode=0755") == 0;
  }
  ~SmallDisk() {
    if (mounted) umount2(where.c_str(), MNT_DETACH);
  }
};

BOOST_AUTO_TEST_CASE(a_full_disk_is_an_error_and_abort_cleans_up) {
  SshdFixture sshd;
  SmallDisk disk(sshd.root() / "full");
  if (!disk.mounted) {
    BOOST_TEST_MESSAGE("cannot mount a tmpfs here (not root?); skipped");
    return;
  }
  auto target = target_for(sshd.target());
  auto up = target->begin(disk.where.string(), kName);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  flis::Status st = write_all(**up, random_bytes(3 * 1024 * 1024));
  if (st.ok()) st = (*up)->commit("00");
  BOOST_REQUIRE(!st.ok());
  BOOST_TEST(contains(st.message(), (disk.where / flis::temporary_name(kName)).string() + ": "));
  BOOST_TEST(contains(st.message(), "(SSH_FX_FAILURE) writing"));
  (*up)->abort();
  BOOST_TEST(fs::is_empty(disk.where));
}
