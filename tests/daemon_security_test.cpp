// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Security of a whole delivery run (`flisd --once --log stderr` against a real sshd): a changed
// host key and a private key others can read stop the run before anything is sent, with errors that
// say what to check; the private key never reaches the log or the state database; hostile names in
// the configuration never reach a path.
#define BOOST_TEST_MODULE daemon_security
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <iostream>

#include "tests/support/fault_runs.h"

using namespace flis::test::faults;
using flis::test::sha256sum;
namespace fs = std::filesystem;

namespace {

std::string sftp_target(const flis::test::SshdFixture& sshd, const fs::path& identity, const fs::path& known_hosts) {
  return sftp_target_yaml(sshd, sshd.port(), identity, known_hosts);
}

// Every stretch of 16 characters of the key file's base64 body: none may appear anywhere.
std::vector<std::string> key_pieces(const fs::path& key) {
  std::string text = flis::test::read_file(key), body;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.starts_with("-----")) body += line;
  std::vector<std::string> pieces;
  for (size_t at = 0; at + 16 <= body.size(); at += 8) pieces.push_back(body.substr(at, 16));
  return pieces;
}

struct Delivery {
  flis::test::SshdFixture sshd;
  FlisdTree tree;
  Delivery() {
    tree.daily_order("K101-SEC", 101, "2026-11-01", "2026-11-01");
    tree.land("2026-11-01", 101, "data.csv", "id;value\n1;2\n");
  }
  fs::path folder() const { return sshd.root() / "kommuner/101"; }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_changed_host_key_stops_the_run_and_the_log_shows_both_fingerprints) {
  Delivery d;
  // known_hosts holds another key for this server: a man in the middle, or a server rebuilt.
  fs::path other = d.tree.root() / "other_host_key";
  flis::test::SshdFixture::keygen(other);
  fs::path known = d.tree.root() / "known_hosts";
  flis::test::write_file(known, "[127.0.0.1]:" + std::to_string(d.sshd.port()) + " " +
                                    flis::test::read_file(other.string() + ".pub"));
  d.tree.targets(sftp_target(d.sshd, d.sshd.client_key(), known));
  std::string log;
  BOOST_TEST(d.tree.once("2026-11-03 12:00", &log) == 1, log);
  const std::string presented = d.sshd.host_fingerprint();
  const std::string expected = flis::test::SshdFixture::fingerprint(other.string() + ".pub");
  flis::Run r = the_run(d.tree);
  BOOST_TEST(r.status == flis::RunStatus::failed);
  BOOST_TEST(has(r.error, "changed"), r.error);
  BOOST_TEST(has(r.error, presented), "the error shows the key the server presented: " << r.error);
  BOOST_TEST(has(r.error, expected), "the error shows the key known_hosts expects: " << r.error);
  BOOST_TEST(has(log, presented));
  BOOST_TEST(has(log, expected));
  BOOST_TEST(!fs::exists(d.folder()), "nothing was sent: not even a folder made");
  BOOST_TEST(flis::test::read_file(known).find(presented) == std::string::npos);
  std::cout << "FAULTS security-host-key-changed trials=1 error=\"" << r.error << "\"" << std::endl;
}

BOOST_AUTO_TEST_CASE(a_private_key_others_can_read_stops_the_run_before_connecting) {
  Delivery d;
  fs::path key = d.tree.root() / "id_loose";
  fs::copy_file(d.sshd.client_key(), key);
  fs::permissions(key, fs::perms(0644));
  d.tree.targets(sftp_target(d.sshd, key, d.sshd.known_hosts()));
  std::string log;
  BOOST_TEST(d.tree.once("2026-11-03 12:00", &log) == 1, log);
  flis::Run r = the_run(d.tree);
  BOOST_TEST(r.status == flis::RunStatus::failed);
  BOOST_TEST(has(r.error, key.string()), r.error);
  BOOST_TEST(has(r.error, "chmod 600"), "the error says what to do: " << r.error);
  BOOST_TEST(!fs::exists(d.folder()));
  BOOST_TEST(d.sshd.log().find("Accepted publickey") == std::string::npos, "the server never saw the key");
  std::cout << "FAULTS security-key-0644 trials=1 error=\"" << r.error << "\"" << std::endl;
}

BOOST_AUTO_TEST_CASE(the_private_key_never_appears_in_the_log_or_the_state_database) {
  Delivery d;
  d.tree.targets(sftp_target(d.sshd, d.sshd.client_key(), d.sshd.known_hosts()));
  // A delivery that succeeds, one the server refuses (unknown key), and the key file's path misused
  // as known_hosts: the three places a careless program would print key material.
  std::string ok_log, refused_log, swapped_log;
  BOOST_TEST_REQUIRE(d.tree.once("2026-11-03 12:00", &ok_log) == 0, ok_log);
  BOOST_TEST(check_outbox(d.folder()).checksummed.size() == 1u);

  fs::path stranger = d.tree.root() / "id_stranger";
  flis::test::SshdFixture::keygen(stranger);
  d.tree.daily_order("K101-SEC2", 101, "2026-11-02", "2026-11-02");
  d.tree.land("2026-11-02", 101, "data.csv", "id;value\n3;4\n");
  d.tree.targets(sftp_target(d.sshd, stranger, d.sshd.known_hosts()));
  BOOST_TEST(d.tree.once("2026-11-04 12:00", &refused_log) == 1, refused_log);
  d.tree.targets(sftp_target(d.sshd, stranger, stranger));
  d.tree.daily_order("K101-SEC3", 101, "2026-11-03", "2026-11-03");
  d.tree.land("2026-11-03", 101, "data.csv", "id;value\n5;6\n");
  BOOST_TEST(d.tree.once("2026-11-05 12:00", &swapped_log) == 1, swapped_log);

  std::string db;
  for (const auto& e : fs::directory_iterator(d.tree.state_dir())) db += flis::test::read_file(e.path());
  int pieces = 0;
  for (const fs::path& key : {d.sshd.client_key(), stranger}) {
    for (const auto& piece : key_pieces(key)) {
      ++pieces;
      BOOST_TEST(!has(ok_log, piece), "key material in the log of a delivery: " << piece);
      BOOST_TEST(!has(refused_log, piece), "key material in the log of a refused key: " << piece);
      BOOST_TEST(!has(swapped_log, piece), "key material in the log of a key used as known_hosts: " << piece);
      BOOST_TEST(!has(db, piece), "key material in the state database: " << piece);
    }
  }
  BOOST_TEST(pieces > 20);
  BOOST_TEST(has(refused_log, stranger.string()), "the refusal names the key file:\n" << refused_log);
  std::cout << "FAULTS security-secrets-in-logs trials=3 pieces=" << pieces << std::endl;
}

// Hostile names in the configuration: every one is refused by the loader, so `flisd --once` writes
// nothing anywhere, least of all outside the delivery folders.
BOOST_AUTO_TEST_CASE(names_that_would_leave_the_delivery_folder_are_refused_and_nothing_is_written) {
  struct Hostile {
    std::string what, file, text;
  };
  const std::string order_tail =
      "\nmunicipality: 101\ntype: daily\nsource: DSA\ndelivery: flis\ninterfaces: [CPR_PERSON]\nstart: 2026-11-01\n"
      "end: 2026-11-01\n";
  const std::vector<Hostile> cases = {
      {"order id with ../", "orders/a.yaml", "id: ../../escape" + order_tail},
      {"order id with /", "orders/a.yaml", "id: K101/escape" + order_tail},
      {"absolute order id", "orders/a.yaml", "id: /tmp/escape" + order_tail},
      {"order id ..", "orders/a.yaml", "id: '..'" + order_tail},
      {"order id with ..", "orders/a.yaml", "id: K101..escape" + order_tail},
      {"municipality as a path", "orders/a.yaml",
       "id: K101-X\nmunicipality: 101/../147\ntype: daily\nsource: DSA\ndelivery: flis\ninterfaces: [CPR_PERSON]\n"
       "start: 2026-11-01\nend: 2026-11-01\n"},
      {"interface with ../", "orders/a.yaml",
       "id: K101-X\nmunicipality: 101\ntype: daily\nsource: DSA\ndelivery: flis\ninterfaces: [../CPR_PERSON]\n"
       "start: 2026-11-01\nend: 2026-11-01\n"},
      {"catalogue interface with ../", "interfaces.yaml",
       "sources:\n  DSA:\n    CPR_PERSON: {system: CPR, frequency: daily}\n    ../../escape: {system: CPR, frequency: daily}\n"},
  };
  int refused = 0;
  for (const auto& c : cases) {
    FlisdTree tree;
    tree.land("2026-11-01", 101, "data.csv", "id\n1\n");
    tree.write(c.file, c.text);
    std::string log;
    int code = tree.once("2026-11-03 12:00", &log);
    BOOST_TEST(code == 1, c.what << ": flisd --once exited " << code << "\n" << log);
    BOOST_TEST(has(log, c.file + ":"), c.what << ": the error names the file and line:\n" << log);
    BOOST_TEST(!fs::exists(tree.outbox()), c.what << ": something was delivered");
    std::vector<std::string> outside;
    for (const auto& e : fs::recursive_directory_iterator(tree.root()))
      if (e.path().filename().string().find("escape") != std::string::npos) outside.push_back(e.path().string());
    BOOST_TEST(outside.empty(), c.what << ": " << join(outside));
    BOOST_TEST(!fs::exists("/tmp/escape"));
    refused += code == 1;
  }
  // Path templates: a '..' component is refused, with or without the placeholders around it.
  for (std::string tmpl : {"out/{municipality}/../../escape", "out/../escape/{municipality}", "../escape/{order}"}) {
    FlisdTree tree;
    tree.daily_order("K101-T", 101, "2026-11-01", "2026-11-01");
    tree.land("2026-11-01", 101, "data.csv", "id\n1\n");
    tree.targets("  flis: {type: directory, path: \"" + (tree.root() / tmpl).string() + "\"}\n");
    std::string log;
    int code = tree.once("2026-11-03 12:00", &log);
    BOOST_TEST(code == 1, tmpl << ":\n" << log);
    BOOST_TEST(!fs::exists(tree.root() / "escape"), tmpl << ": delivered outside the template's tree");
    BOOST_TEST(!fs::exists(tree.root().parent_path() / "escape"));
    refused += code == 1;
  }
  std::cout << "FAULTS security-path-traversal-config trials=" << cases.size() + 3 << " refused=" << refused << std::endl;
}

// A symbolic link in a municipality's warehouse folder pointing at another municipality's file:
// the run fails naming it, and nothing is delivered.
BOOST_AUTO_TEST_CASE(a_warehouse_symlink_into_another_municipality_fails_the_run_and_delivers_nothing) {
  FlisdTree tree;
  tree.daily_order("K101-L", 101, "2026-11-01", "2026-11-01");
  tree.land("2026-11-01", 101, "data.csv", "id\n101\n");
  fs::path theirs = tree.land("2026-11-01", 147, "secret.csv", "id\nSECRET-OF-147\n");
  fs::path link = tree.day_folder("2026-11-01", 101) / "borrowed.csv";
  fs::create_symlink(theirs, link);
  std::string log;
  BOOST_TEST(tree.once("2026-11-03 12:00", &log) == 1, log);
  flis::Run r = the_run(tree);
  BOOST_TEST(r.status == flis::RunStatus::failed);
  BOOST_TEST(has(r.error, link.string()), r.error);
  BOOST_TEST(check_outbox(tree.outbox(101)).packages.empty());
  BOOST_TEST(check_outbox(tree.outbox(101)).temporaries.empty());
}

// Terminal escapes in what others wrote (here a warehouse file name; an SFTP server's status
// message takes the same path) reach neither the state database nor the terminal of whoever runs
// `flisctl runs`: each control character is written out as \xHH.
BOOST_AUTO_TEST_CASE(terminal_escapes_in_an_error_are_neither_stored_nor_printed) {
  FlisdTree tree;
  tree.daily_order("K101-ESC", 101, "2026-11-01", "2026-11-01");
  tree.land("2026-11-01", 101, "data.csv", "id\n101\n");
  const std::string hostile = "x\x1b[2J\x1b]0;owned\x07\xc2\x9b" "1m.csv";
  fs::path fifo = tree.day_folder("2026-11-01", 101) / hostile;
  BOOST_TEST_REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  std::string log;
  BOOST_TEST(tree.once("2026-11-03 12:00", &log) == 1, log);
  flis::Run r = the_run(tree);
  BOOST_TEST(r.status == flis::RunStatus::failed);
  auto clean = [](const std::string& s) {
    return std::none_of(s.begin(), s.end(), [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; }) &&
           s.find("\xc2\x9b") == std::string::npos;
  };
  BOOST_TEST(clean(r.error), "the state database holds control characters: " << r.error);
  BOOST_TEST(has(r.error, "x\\x1b[2J\\x1b]0;owned\\x07\\u009b1m.csv"), r.error);

  const char* flisctl = std::getenv("FLISCTL");
  BOOST_TEST_REQUIRE(flisctl != nullptr, "FLISCTL is not set");
  std::string cmd = std::string(flisctl) + " --config " + tree.etc().string() + " runs --now '2026-11-03 12:00'";
  FILE* p = popen(cmd.c_str(), "r");
  BOOST_TEST_REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  BOOST_TEST(pclose(p) == 0, out);
  out.erase(std::remove(out.begin(), out.end(), '\n'), out.end());
  BOOST_TEST(clean(out), "flisctl runs prints control characters: " << out);
  BOOST_TEST(has(out, "\\x1b[2J"), out);
}
