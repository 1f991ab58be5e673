// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl state-copy: an SQLite history moves into an empty PostgreSQL database and `flisctl runs`
// shows the same runs on both; a second copy, into a database that holds runs, changes nothing.
#define BOOST_TEST_MODULE daemon_state_copy
#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/state_store.h"
#include "tests/support/config_tree.h"
#include "tests/support/pg_server.h"

using namespace flis;
using flis::test::ConfigTree;

namespace {

struct Output {
  int code = -1;
  std::string out;
};

Output flisctl(const std::string& args) {
  const char* env = std::getenv("FLISCTL");
  std::string bin = env ? env : std::string(FLISD_BINARY_DIR) + "/flisctl";
  Output o;
  FILE* p = popen((bin + " " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  int status = pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

Instant at(int64_t seconds) { return Instant(std::chrono::seconds(seconds)); }

Period november(int day) { return day_period(date::local_days{date::year{2026} / 11 / day}); }

// A history with a delivered run, a waiting late one, a failed one and a redelivery.
void make_history(const std::string& path) {
  auto store = StateStore::open(path);
  BOOST_TEST_REQUIRE(store.ok(), store.message());
  StateStore& s = **store;
  Run p;
  p.order = "K101-CPR-D";
  p.municipality = 101;
  p.kind = RunKind::subscription;
  p.created = at(1'790'000'000);
  p.config_version = "abc";
  p.period = november(2);
  int64_t delivered = s.ensure(p)->id;
  BOOST_TEST_REQUIRE(s.set_running(delivered, at(1'790'000'100)).ok());
  BOOST_TEST_REQUIRE(s.set_delivered(delivered, at(1'790'000'200), 4096, "/out/a.tar.zst", "ff00").ok());
  p.period = november(3);
  p.status = RunStatus::waiting;
  int64_t waiting = s.ensure(p)->id;
  BOOST_TEST_REQUIRE(s.set_waiting(waiting, {"DSA/CPR_PERSON/2026-11-03"}).ok());
  BOOST_TEST_REQUIRE(s.set_late(waiting).ok());
  p.period = november(4);
  p.status = RunStatus::queued;
  int64_t failed = s.ensure(p)->id;
  BOOST_TEST_REQUIRE(s.set_running(failed, at(1'790'000'300)).ok());
  BOOST_TEST_REQUIRE(s.set_failed(failed, at(1'790'000'400), "sftp: connection refused", at(1'790'001'000)).ok());
  BOOST_TEST_REQUIRE(s.add_redelivery("K101-CPR-D", november(2), 101, RunKind::subscription, "abc", at(1'790'000'500)).ok());
}

}  // namespace

BOOST_AUTO_TEST_CASE(state_copy_moves_the_history_and_runs_shows_the_same) {
  ConfigTree sqlite_side;
  make_history((sqlite_side.dir() / "state.db").string());
  std::string uri = test::PgServer::shared().create_database();

  Output copied = flisctl("--config " + sqlite_side.dir().string() + " state-copy --to '" + uri + "'");
  BOOST_TEST_REQUIRE(copied.code == 0, copied.out);
  BOOST_TEST(copied.out.find("copied 4 runs") != std::string::npos, copied.out);

  // The same configuration, pointed at PostgreSQL.
  ConfigTree pg_side;
  std::string settings = sqlite_side.read("flisd.yaml");
  settings.replace(settings.find("state: state.db"), std::string("state: state.db").size(), "state: \"" + uri + "\"");
  pg_side.write("flisd.yaml", settings);
  const std::string now = " --now 2026-11-10T12:00:00Z";
  Output before = flisctl("--config " + sqlite_side.dir().string() + " runs --json" + now);
  Output after = flisctl("--config " + pg_side.dir().string() + " runs --json" + now);
  BOOST_TEST_REQUIRE(before.code == 0, before.out);
  BOOST_TEST_REQUIRE(after.code == 0, after.out);
  BOOST_TEST(before.out.find("\"run\": 4") != std::string::npos, before.out);
  BOOST_TEST(after.out == before.out);

  Output again = flisctl("--config " + sqlite_side.dir().string() + " state-copy --to '" + uri + "'");
  BOOST_TEST(again.code == 1, again.out);
  BOOST_TEST(again.out.find("already holds 4 runs") != std::string::npos, again.out);
  BOOST_TEST(again.out.find("nothing copied") != std::string::npos, again.out);
  Output unchanged = flisctl("--config " + pg_side.dir().string() + " runs --json" + now);
  BOOST_TEST(unchanged.out == before.out);
}

BOOST_AUTO_TEST_CASE(state_copy_wants_a_postgresql_uri) {
  ConfigTree t;
  make_history((t.dir() / "state.db").string());
  Output wrong = flisctl("--config " + t.dir().string() + " state-copy --to /tmp/other.db");
  BOOST_TEST(wrong.code == 2, wrong.out);
  BOOST_TEST(wrong.out.find("is not a postgresql:// or postgres:// URI") != std::string::npos, wrong.out);
}
