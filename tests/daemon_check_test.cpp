// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl check against a real sshd (tests/support/sshd.h) and a real configuration folder, as a
// sysadmin runs it after installing: a good host passes; a wrong host key, a missing key file and
// an unreadable warehouse each fail with a message saying what to do.
#define BOOST_TEST_MODULE daemon_check
#include <boost/test/unit_test.hpp>

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/config_tree.h"
#include "tests/support/sshd.h"

using namespace flis::test;
namespace fs = std::filesystem;

namespace {

struct Run {
  int status = -1;
  std::string out;
};

Run shell(const std::string& command) {
  Run r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A configuration whose `flis` target is the fixture's sshd, with its warehouse and state folder.
struct Host {
  SshdFixture sshd;
  ConfigTree tree;
  const char* flisctl = std::getenv("FLISCTL");

  Host() {
    fs::create_directories(tree.dir() / "warehouse");
    std::ofstream(tree.dir() / "flisd.yaml")
        << "warehouse: warehouse\nstate: state.db\ntargets:\n  flis:\n    type: sftp\n    host: 127.0.0.1\n"
        << "    port: " << sshd.port() << "\n    user: " << sshd.user() << "\n    identity: " << sshd.client_key().string()
        << "\n    known_hosts: " << sshd.known_hosts().string() << "\n    path: /kommuner/{municipality}\n"
        << "datamarts:\n  start: 2026-01\n  entitlements:\n    101: [DM_BORGER]\n";
  }
  Run check(const std::string& prefix = "") const { return shell(prefix + flisctl + " check " + tree.dir().string()); }
};

bool has(const Run& r, const std::string& text) {
  BOOST_TEST_MESSAGE(r.out);
  return r.out.find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_good_host_passes) {
  Host h;
  if (!h.flisctl) return;  // run through ctest
  Run r = h.check();
  BOOST_TEST(r.status == 0, r.out);
  BOOST_TEST(has(r, "ok: warehouse " + (h.tree.dir() / "warehouse").string() + " is readable"));
  BOOST_TEST(has(r, "ok: state database " + (h.tree.dir() / "state.db").string() + " can be written"));
  BOOST_TEST(has(r, "ok: target flis: " + h.sshd.user() + "@127.0.0.1:" + std::to_string(h.sshd.port()) +
                        " answered with the expected host key and accepted the key"));
  BOOST_TEST(has(r, "check: 5 passed, 0 failed"));
  BOOST_TEST(!fs::exists(h.tree.dir() / "state.db"), "check neither creates nor migrates the database");
  BOOST_TEST(!fs::exists(h.sshd.root() / "kommuner"), "check writes nothing on the server");
}

BOOST_AUTO_TEST_CASE(a_wrong_host_key_fails_naming_both_keys) {
  Host h;
  if (!h.flisctl) return;
  fs::path other = h.sshd.dir() / "other_host_key";
  SshdFixture::keygen(other);
  std::ofstream(h.sshd.known_hosts()) << "[127.0.0.1]:" << h.sshd.port() << " " << slurp(other.string() + ".pub");
  Run r = h.check();
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r, "error: target flis: sftp://" + h.sshd.user() + "@127.0.0.1:" + std::to_string(h.sshd.port()) +
                        ": host key of 127.0.0.1:" + std::to_string(h.sshd.port()) + " has changed"));
  BOOST_TEST(has(r, h.sshd.host_fingerprint()));
  BOOST_TEST(has(r, "check the new key out of band"));
  BOOST_TEST(has(r, "check: 4 passed, 1 failed"));
}

BOOST_AUTO_TEST_CASE(a_missing_key_file_fails_saying_what_to_do) {
  Host h;
  if (!h.flisctl) return;
  fs::remove(h.sshd.client_key());
  Run r = h.check("env -u CREDENTIALS_DIRECTORY ");
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r, "error: target flis: private key " + h.sshd.client_key().string() + " does not exist"));
  BOOST_TEST(has(r, "give identity as the key file's path"));
}

BOOST_AUTO_TEST_CASE(an_unreadable_warehouse_fails_saying_what_to_do) {
  Host h;
  if (!h.flisctl) return;
  fs::permissions(h.tree.dir() / "warehouse", fs::perms(0700));
  std::string as;
  if (geteuid() == 0) {
    // root reads everything: check as an unprivileged user, as flisd runs.
    fs::permissions(h.tree.dir(), fs::perms(0755));
    as = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  } else {
    fs::permissions(h.tree.dir() / "warehouse", fs::perms(0));
  }
  Run r = h.check(as);
  fs::permissions(h.tree.dir() / "warehouse", fs::perms(0700));
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r, "error: warehouse " + (h.tree.dir() / "warehouse").string() + " is not readable"));
  BOOST_TEST(has(r, "give the user flisd runs as read access"));
}

BOOST_AUTO_TEST_CASE(a_misspelt_warehouse_fails_naming_the_setting) {
  Host h;
  if (!h.flisctl) return;
  fs::rename(h.tree.dir() / "warehouse", h.tree.dir() / "warehous");
  Run r = h.check();
  BOOST_TEST(r.status == 1, r.out);
  BOOST_TEST(has(r, "error: warehouse " + (h.tree.dir() / "warehouse").string() + ": No such file or directory; "
                        "set warehouse: in " + (h.tree.dir() / "flisd.yaml").string()));
}
