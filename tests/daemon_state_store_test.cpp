// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run state store against both engines: a real SQLite database in a temporary folder and a
// real PostgreSQL (tests/support/pg_server.h). Cases that hold for both run once per engine.
#define BOOST_TEST_MODULE daemon_state_store
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <thread>

#include "daemon/state_store.h"
#include "tests/support/pg_server.h"

using namespace flis;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "flisd-state-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Instant at(int64_t seconds) { return Instant(std::chrono::seconds(seconds)); }

// A period by its name, as the store writes it.
Period named(const std::string& name) {
  auto p = Period::parse(name);
  BOOST_TEST_REQUIRE(p.has_value(), "not a period: " << name);
  return *p;
}

// The i-th day of 2026 as a period: many distinct periods for the racing cases.
Period nth_day(int i) { return day_period(date::local_days{date::year{2026} / 1 / 1} + date::days{i}); }

Run proto(const std::string& order, const Period& period, RunStatus status = RunStatus::queued) {
  Run r;
  r.order = order;
  r.municipality = 101;
  r.period = period;
  r.kind = RunKind::subscription;
  r.status = status;
  r.created = at(1000);
  r.config_version = "abc123";
  return r;
}

Run proto(const std::string& order, const std::string& period, RunStatus status = RunStatus::queued) {
  return proto(order, named(period), status);
}

std::unique_ptr<StateStore> open_store(const std::string& path) {
  auto store = StateStore::open(path);
  BOOST_TEST_REQUIRE(store.ok(), store.message());
  return std::move(*store);
}

Run get_run(StateStore& store, int64_t id) {
  auto r = store.get(id);
  BOOST_TEST_REQUIRE(r.ok(), r.message());
  BOOST_TEST_REQUIRE(r->has_value());
  return **r;
}

// The engines every shared case runs on.
const char* const kEngines[] = {"sqlite", "postgresql"};
namespace bdata = boost::unit_test::data;

// A fresh, empty store location of one engine: a file in a temporary folder, or a new database.
struct Where {
  TempDir dir;
  std::string location;
  bool pg;
  explicit Where(const std::string& engine) : pg(engine == "postgresql") {
    location = pg ? test::PgServer::shared().create_database() : (dir.path / "state.db").string();
  }
  // Runs raw SQL on the store's database, behind the store's back: the tests' seam. True if it ran.
  bool sql(const std::string& statement) const {
    if (pg) {
      try {
        test::PgServer::exec(location, statement);
        return true;
      } catch (const std::exception&) {
        return false;
      }
    }
    sqlite3* db = nullptr;
    bool ok = sqlite3_open(location.c_str(), &db) == SQLITE_OK;
    ok = ok && sqlite3_exec(db, statement.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
    sqlite3_close(db);
    return ok;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(open_creates_database_in_wal_mode_with_schema_version) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  BOOST_TEST(fs::exists(dir.path / "state.db"));
  sqlite3* db = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open((dir.path / "state.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, nullptr);
  BOOST_TEST_REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  BOOST_TEST(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0))) == "wal");
  sqlite3_finalize(s);
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr);
  BOOST_TEST_REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  BOOST_TEST(sqlite3_column_int(s, 0) == StateStore::schema_version());
  sqlite3_finalize(s);
  sqlite3_close(db);
}

BOOST_DATA_TEST_CASE(ensure_creates_once_and_never_resets_an_existing_run, bdata::make(kEngines), engine) {
  Where w(engine);
  auto store = open_store(w.location);
  auto first = store->ensure(proto("K101-CPR-D", "2026-11-25"));
  BOOST_TEST_REQUIRE(first.ok(), first.message());
  BOOST_TEST(first->id > 0);
  BOOST_TEST((first->status == RunStatus::queued));
  BOOST_TEST(first->attempts == 0);
  BOOST_TEST(first->redelivery == 1);
  BOOST_TEST(first->config_version == "abc123");
  BOOST_TEST((first->created == at(1000)));

  BOOST_TEST_REQUIRE(store->set_running(first->id, at(2000)).ok());
  BOOST_TEST_REQUIRE(store->set_delivered(first->id, at(2100), 4096, "/out/K101-CPR-D_2026-11-25.tar.zst", "ff00").ok());

  auto again = store->ensure(proto("K101-CPR-D", "2026-11-25", RunStatus::waiting));
  BOOST_TEST_REQUIRE(again.ok(), again.message());
  BOOST_TEST(again->id == first->id);
  BOOST_TEST((again->status == RunStatus::delivered));
  BOOST_TEST(again->bytes == 4096);
  BOOST_TEST(store->list()->size() == 1u);
}

// A period column edited by hand into something that is no period: every read that meets the row
// fails, naming the run, the text and the repair; none skips it, none reads it as another period.
BOOST_DATA_TEST_CASE(a_run_whose_period_is_not_a_period_name_fails_the_reads_that_meet_it, bdata::make(kEngines),
                     engine) {
  Where w(engine);
  auto store = open_store(w.location);
  int64_t before = store->ensure(proto("K101-CPR-D", "2026-11-04"))->id;
  int64_t bad = store->ensure(proto("K101-CPR-D", "2026-11-05"))->id;
  int64_t after = store->ensure(proto("K101-CPR-D", "2026-11-06"))->id;
  BOOST_TEST_REQUIRE(w.sql("UPDATE runs SET period = '2026-11-5' WHERE id = " + std::to_string(bad)));

  const std::string id = std::to_string(bad);
  auto names_it = [&](const std::string& message) {
    BOOST_TEST(message.find("run " + id + " has period '2026-11-5', which is not a period name") != std::string::npos,
               message);
    BOOST_TEST(message.find("DELETE FROM runs WHERE id = " + id) != std::string::npos, message);
  };
  auto one = store->get(bad);
  BOOST_TEST_REQUIRE(!one.ok());
  names_it(one.message());
  auto all = store->list();
  BOOST_TEST_REQUIRE(!all.ok());
  names_it(all.message());
  std::vector<int64_t> handed;
  Status scanned = store->scan([&](const Run& r) { handed.push_back(r.id); });
  BOOST_TEST_REQUIRE(!scanned.ok());
  names_it(scanned.message());
  BOOST_TEST((handed == std::vector<int64_t>{before}), "the scan stops at the row, not after skipping it");
  int64_t last = -1;
  Status changed = store->changes_since(0, [](const Run&) {}, &last);
  BOOST_TEST_REQUIRE(!changed.ok());
  names_it(changed.message());

  // The other rows read as ever, and the row repaired as the message says reads again.
  BOOST_TEST(get_run(*store, after).period.name() == "2026-11-06");
  BOOST_TEST_REQUIRE(w.sql("UPDATE runs SET period = '2026-11-05' WHERE id = " + id));
  auto repaired = store->list();
  BOOST_TEST_REQUIRE(repaired.ok(), repaired.message());
  BOOST_TEST(repaired->size() == 3u);
  BOOST_TEST(get_run(*store, bad).period.name() == "2026-11-05");
}

BOOST_DATA_TEST_CASE(a_batch_commits_all_its_transitions_or_none, bdata::make(kEngines), engine) {
  Where w(engine);
  const std::string& db = w.location;
  {
    auto store = open_store(db);
    Status ok = store->batch([&] {
      for (int day = 1; day <= 9; ++day) {
        auto r = store->ensure(proto("K101-CPR-D", "2026-11-0" + std::to_string(day), RunStatus::waiting));
        if (!r) return r.status();
        // A nested batch is part of the outer one.
        if (Status s = store->batch([&] { return store->set_queued(r->id, at(1500)); }); !s) return s;
      }
      return Status::OK();
    });
    BOOST_TEST_REQUIRE(ok.ok(), ok.message());
    Status failed = store->batch([&] {
      auto r = store->ensure(proto("K101-CPR-D", "2026-11-10"));
      if (!r) return r.status();
      if (Status s = store->set_running(r->id, at(2000)); !s) return s;
      return Status::Error("stop here");  // e.g. a full disk half-way through a refresh
    });
    BOOST_TEST(failed.message() == "stop here");
    // The store is usable after a rolled-back batch.
    BOOST_TEST(store->ensure(proto("K101-CPR-D", "2026-11-11")).ok());
  }
  auto store = open_store(db);
  auto runs = store->list();
  BOOST_TEST_REQUIRE(runs.ok(), runs.message());
  BOOST_TEST(runs->size() == 10u, "nine from the batch, the one after; none from the rolled-back batch");
  for (const Run& r : *runs) BOOST_TEST((r.status == RunStatus::queued), r.period.name());
  BOOST_TEST(runs->back().period.name() == "2026-11-11");
}

BOOST_DATA_TEST_CASE(every_transition_is_persisted_across_reopen, bdata::make(kEngines), engine) {
  Where w(engine);
  int64_t id;
  {
    auto store = open_store(w.location);
    id = store->ensure(proto("K101-CPR-D", "2026-11-25", RunStatus::waiting))->id;
    BOOST_TEST_REQUIRE(store->set_waiting(id, {"DSA/CPR_PERSON/2026-11-25"}).ok());
  }
  {
    auto store = open_store(w.location);
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::waiting));
    BOOST_TEST(r.missing == std::vector<std::string>{"DSA/CPR_PERSON/2026-11-25"});
    BOOST_TEST_REQUIRE(store->set_queued(id, at(3000)).ok());
  }
  {
    auto store = open_store(w.location);
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::queued));
    BOOST_TEST(r.missing.empty());
    BOOST_TEST_REQUIRE(store->set_running(id, at(3100)).ok());
  }
  {
    auto store = open_store(w.location);
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::running));
    BOOST_TEST(r.attempts == 1);
    BOOST_TEST((r.started == at(3100)));
    BOOST_TEST_REQUIRE(store->set_failed(id, at(3200), "sftp://x: connection refused", at(3260)).ok());
  }
  {
    auto store = open_store(w.location);
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::failed));
    BOOST_TEST(r.error == "sftp://x: connection refused");
    BOOST_TEST((r.next_attempt == at(3260)));
    BOOST_TEST((r.finished == at(3200)));
    BOOST_TEST_REQUIRE(store->set_queued(id, at(3260)).ok());
    BOOST_TEST_REQUIRE(store->set_running(id, at(3270)).ok());
    BOOST_TEST_REQUIRE(store->set_delivered(id, at(3300), 123, "/out/p.tar.zst", "abcd").ok());
  }
  auto store = open_store(w.location);
  Run r = get_run(*store, id);
  BOOST_TEST((r.status == RunStatus::delivered));
  BOOST_TEST(r.attempts == 2);
  BOOST_TEST(r.bytes == 123);
  BOOST_TEST(r.remote == "/out/p.tar.zst");
  BOOST_TEST(r.checksum == "abcd");
  BOOST_TEST(r.error == "");
  BOOST_TEST(!r.next_attempt.has_value());
  BOOST_TEST((r.finished == at(3300)));
}

BOOST_DATA_TEST_CASE(a_run_that_is_not_queued_cannot_start, bdata::make(kEngines), engine) {
  Where w(engine);
  auto store = open_store(w.location);
  int64_t id = store->ensure(proto("K101-CPR-D", "2026-11-25"))->id;
  BOOST_TEST_REQUIRE(store->set_running(id, at(1)).ok());
  Status second = store->set_running(id, at(2));
  BOOST_TEST(!second.ok());
  BOOST_TEST(get_run(*store, id).attempts == 1);
  BOOST_TEST(!store->set_queued(9999, at(3)).ok());
}

BOOST_DATA_TEST_CASE(order_period_redelivery_is_unique_in_the_schema, bdata::make(kEngines), engine) {
  Where w(engine);
  auto store = open_store(w.location);
  BOOST_TEST_REQUIRE(store->ensure(proto("K101-CPR-D", "2026-11-25")).ok());
  BOOST_TEST(!w.sql("INSERT INTO runs (order_id, municipality, period, redelivery, kind, status) "
                    "VALUES ('K101-CPR-D', 101, '2026-11-25', 1, 'subscription', 'queued')"));
  BOOST_TEST(w.sql("INSERT INTO runs (order_id, municipality, period, redelivery, kind, status) "
                   "VALUES ('K101-CPR-D', 101, '2026-11-25', 2, 'subscription', 'queued')"),
             "the seam itself works: another redelivery is a new row");
}

BOOST_DATA_TEST_CASE(redeliveries_are_numbered_from_two_upwards, bdata::make(kEngines), engine) {
  Where w(engine);
  auto store = open_store(w.location);
  int64_t first = store->ensure(proto("K101-CPR-M", "2026-10"))->id;
  auto r2 = store->add_redelivery("K101-CPR-M", named("2026-10"), 101, RunKind::subscription, "v2", at(5000));
  BOOST_TEST_REQUIRE(r2.ok(), r2.message());
  auto r3 = store->add_redelivery("K101-CPR-M", named("2026-10"), 101, RunKind::subscription, "v2", at(5001));
  BOOST_TEST_REQUIRE(r3.ok(), r3.message());
  auto other = store->add_redelivery("K101-CPR-M", named("2026-11"), 101, RunKind::subscription, "v2", at(5002));
  BOOST_TEST_REQUIRE(other.ok(), other.message());
  BOOST_TEST(r2->redelivery == 2);
  BOOST_TEST(r3->redelivery == 3);
  BOOST_TEST(other->redelivery == 2);
  BOOST_TEST((r2->status == RunStatus::queued));
  BOOST_TEST(r2->config_version == "v2");
  BOOST_TEST(r2->id != first);
  BOOST_TEST(get_run(*store, first).redelivery == 1);
}

BOOST_DATA_TEST_CASE(list_is_in_creation_order_and_filters_by_order_and_status, bdata::make(kEngines), engine) {
  Where w(engine);
  auto store = open_store(w.location);
  int64_t a = store->ensure(proto("B-ORDER", "2026-10"))->id;
  int64_t b = store->ensure(proto("A-ORDER", "2026-10"))->id;
  int64_t c = store->ensure(proto("B-ORDER", "2026-11", RunStatus::waiting))->id;
  auto all = store->list();
  BOOST_TEST_REQUIRE(all.ok());
  BOOST_TEST_REQUIRE(all->size() == 3u);
  BOOST_TEST((*all)[0].id == a);
  BOOST_TEST((*all)[1].id == b);
  BOOST_TEST((*all)[2].id == c);

  auto by_order = store->list({.order = "B-ORDER"});
  BOOST_TEST_REQUIRE(by_order->size() == 2u);
  BOOST_TEST((*by_order)[1].id == c);

  auto waiting = store->list({.status = RunStatus::waiting});
  BOOST_TEST_REQUIRE(waiting->size() == 1u);
  BOOST_TEST((*waiting)[0].id == c);

  auto both = store->list({.order = "A-ORDER", .status = RunStatus::waiting});
  BOOST_TEST(both->empty());
}

BOOST_DATA_TEST_CASE(a_database_from_a_newer_flisd_is_refused, bdata::make(kEngines), engine) {
  Where w(engine);
  { auto store = open_store(w.location); }
  std::string newer = std::to_string(StateStore::schema_version() + 1);
  BOOST_TEST_REQUIRE(w.sql(w.pg ? "UPDATE flisd_schema SET version = " + newer : "PRAGMA user_version = " + newer));

  auto store = StateStore::open(w.location);
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.message().find("created by a newer flisd") != std::string::npos, store.message());
  BOOST_TEST(store.message().find(w.pg ? "postgresql://" : w.location) != std::string::npos, store.message());
  auto ro = StateStore::open_readonly(w.location);
  BOOST_TEST(!ro.ok());
}

BOOST_DATA_TEST_CASE(open_readonly_reads_but_never_creates, bdata::make(kEngines), engine) {
  Where w(engine);
  auto missing = StateStore::open_readonly(w.location);
  BOOST_TEST(!missing.ok());
  BOOST_TEST(missing.message().find("flisd has not run") != std::string::npos, missing.message());
  if (w.pg) BOOST_TEST(!w.sql("SELECT 1 FROM runs"), "no table was created");
  else BOOST_TEST(!fs::exists(w.location));
  {
    auto store = open_store(w.location);
    BOOST_TEST_REQUIRE(store->ensure(proto("K101-CPR-D", "2026-11-25")).ok());
  }
  auto ro = StateStore::open_readonly(w.location);
  BOOST_TEST_REQUIRE(ro.ok(), ro.message());
  BOOST_TEST((*ro)->list()->size() == 1u);
  BOOST_TEST(!(*ro)->ensure(proto("K101-CPR-D", "2026-11-26")).ok(), "a read-only store refuses writes");
}

BOOST_AUTO_TEST_CASE(an_unwritable_location_names_the_path) {
  TempDir dir;
  // A path under a regular file: cannot be created, even as root.
  { std::FILE* f = std::fopen((dir.path / "file").c_str(), "w"); std::fclose(f); }
  auto store = StateStore::open(dir.path / "file" / "state.db");
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.message().find((dir.path / "file" / "state.db").string()) != std::string::npos, store.message());
}

BOOST_DATA_TEST_CASE(a_killed_process_leaves_its_last_committed_transition, bdata::make(kEngines), engine) {
  Where w(engine);
  int64_t id;
  { id = open_store(w.location)->ensure(proto("K101-CPR-D", "2026-11-25"))->id; }
  pid_t child = fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    // The child commits `running` and dies at once, as a kill -9 mid-upload would leave it.
    auto store = StateStore::open(w.location);
    if (!store.ok() || !(*store)->set_running(id, at(7000)).ok()) _exit(1);
    _exit(9);
  }
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  BOOST_TEST_REQUIRE(WIFEXITED(wstatus));
  BOOST_TEST_REQUIRE(WEXITSTATUS(wstatus) == 9);
  auto store = open_store(w.location);
  Run r = get_run(*store, id);
  BOOST_TEST((r.status == RunStatus::running));
  BOOST_TEST(r.attempts == 1);
  BOOST_TEST((r.started == at(7000)));
}

BOOST_AUTO_TEST_CASE(a_full_disk_says_the_disk_is_full) {
  TempDir dir;
  fs::path mnt = dir.path / "small";
  fs::create_directory(mnt);
  // A tiny tmpfs is a real full disk; where mounting is not allowed there is nothing to test.
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=96k") != 0) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a small tmpfs here");
    return;
  }
  std::string last_error;
  {
    auto store = StateStore::open(mnt / "state.db");
    if (!store.ok()) {
      last_error = store.message();
    } else {
      Run r = proto("K101-CPR-D", "2026-11-25");
      r.missing = {std::string(4000, 'x')};  // big rows fill the disk in a few hundred inserts
      for (int i = 0; i < 1000 && last_error.empty(); ++i) {
        r.period = nth_day(i);
        auto e = (*store)->ensure(r);
        if (!e.ok()) last_error = e.message();
      }
    }
  }
  umount2(mnt.c_str(), MNT_DETACH);
  BOOST_TEST_REQUIRE(!last_error.empty());
  BOOST_TEST(last_error.find("disk is full") != std::string::npos, last_error);
  BOOST_TEST(last_error.find((mnt / "state.db").string()) != std::string::npos, last_error);
}

BOOST_DATA_TEST_CASE(a_running_or_delivered_run_cannot_be_cancelled, bdata::make(kEngines), engine) {
  Where w(engine);
  auto store = open_store(w.location);
  int64_t id = store->ensure(proto("K101-CPR-D", "2026-11-25"))->id;
  BOOST_TEST_REQUIRE(store->set_running(id, at(1)).ok());
  BOOST_TEST(!store->set_cancelled(id, at(2), "order deactivated").ok());
  BOOST_TEST((get_run(*store, id).status == RunStatus::running));
  BOOST_TEST_REQUIRE(store->set_failed(id, at(3), "boom", at(60)).ok());
  BOOST_TEST_REQUIRE(store->set_cancelled(id, at(4), "order deactivated").ok());
  Run r = get_run(*store, id);
  BOOST_TEST((r.status == RunStatus::cancelled));
  BOOST_TEST(r.error == "order deactivated");
  BOOST_TEST(!r.next_attempt.has_value());
}

// --- upgrading -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_version_2_sqlite_database_is_migrated_keeping_its_runs) {
  TempDir dir;
  fs::path db = dir.path / "state.db";
  sqlite3* raw = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  // The schema flisd wrote before several hosts, with one delivered run.
  BOOST_TEST_REQUIRE(sqlite3_exec(raw,
                                  "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, "
                                  "municipality INTEGER NOT NULL, period TEXT NOT NULL, redelivery INTEGER NOT NULL DEFAULT 1, "
                                  "kind TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
                                  "created INTEGER, started INTEGER, finished INTEGER, next_attempt INTEGER, "
                                  "bytes INTEGER NOT NULL DEFAULT 0, remote TEXT NOT NULL DEFAULT '', "
                                  "checksum TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '', "
                                  "config_version TEXT NOT NULL DEFAULT '', missing TEXT NOT NULL DEFAULT '', "
                                  "UNIQUE (order_id, period, redelivery));"
                                  "CREATE INDEX runs_status ON runs (status);"
                                  "ALTER TABLE runs ADD COLUMN late INTEGER NOT NULL DEFAULT 0;"
                                  "INSERT INTO runs (order_id, municipality, period, kind, status, attempts, bytes) "
                                  "VALUES ('K101-CPR-D', 101, '2026-11-25', 'subscription', 'delivered', 1, 77);"
                                  "PRAGMA user_version = 2;",
                                  nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  auto store = open_store(db.string());
  auto runs = store->list();
  BOOST_TEST_REQUIRE(runs.ok(), runs.message());
  BOOST_TEST_REQUIRE(runs->size() == 1u);
  BOOST_TEST(((*runs)[0].status == RunStatus::delivered));
  BOOST_TEST((*runs)[0].bytes == 77);
  BOOST_TEST((*runs)[0].node == "");
  BOOST_TEST((*runs)[0].version > 0, "an old run has a version, so a node reading changes sees it");
  auto made = store->ensure(proto("K101-CPR-D", "2026-11-26"));
  BOOST_TEST_REQUIRE(made.ok(), made.message());
  BOOST_TEST(made->version > (*runs)[0].version);
}

// --- several hosts: nodes, leases, claims, fencing -----------------------------------------------

namespace {

constexpr std::chrono::seconds kLease{60};

// A store attached as `node` (another "host", so a dead pid is not taken over by accident).
std::unique_ptr<StateStore> node_store(const Where& w, const std::string& node, int pid = 0) {
  auto store = open_store(w.location);
  auto lease = store->attach_node(node, kLease, "host-" + node, pid ? pid : int(getpid()));
  BOOST_TEST_REQUIRE(lease.ok(), lease.message());
  return store;
}

// The seam for "the lease ran out": its end moved into the past in the database.
void expire(const Where& w, const std::string& node) {
  BOOST_TEST_REQUIRE(w.sql("UPDATE nodes SET lease_until = 0 WHERE name = '" + node + "'"));
}

int64_t queued_run(StateStore& store, const Period& period, RunKind kind = RunKind::subscription) {
  Run p = proto("K101-CPR-D", period);
  p.kind = kind;
  auto r = store.ensure(p);
  BOOST_TEST_REQUIRE(r.ok(), r.message());
  return r->id;
}

int64_t queued_run(StateStore& store, const std::string& period, RunKind kind = RunKind::subscription) {
  return queued_run(store, named(period), kind);
}

}  // namespace

BOOST_DATA_TEST_CASE(a_second_live_process_cannot_take_a_node_name, bdata::make(kEngines), engine) {
  Where w(engine);
  auto first = node_store(w, "a");
  BOOST_TEST(first->lease()->incarnation == 1);
  auto second = open_store(w.location);
  auto refused = second->attach_node("a", kLease, "host-a2", 4242);
  BOOST_TEST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.message().find("node a is held by process " + std::to_string(getpid()) + " on host host-a") !=
                 std::string::npos,
             refused.message());
  BOOST_TEST(refused.message().find("--node") != std::string::npos, refused.message());
  // Once the first lease has ended, the name is free again, with a new incarnation.
  BOOST_TEST_REQUIRE(first->release_lease().ok());
  auto later = second->attach_node("a", kLease, "host-a2", 4242);
  BOOST_TEST_REQUIRE(later.ok(), later.message());
  BOOST_TEST(later->incarnation == 2);
}

BOOST_DATA_TEST_CASE(a_dead_process_of_the_same_host_leaves_its_name_at_once, bdata::make(kEngines), engine) {
  Where w(engine);
  pid_t child = fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // a pid that is certainly gone
  auto crashed = open_store(w.location);
  BOOST_TEST_REQUIRE(crashed->attach_node("a", kLease, "host-a", child).ok());
  auto restarted = open_store(w.location);
  auto lease = restarted->attach_node("a", kLease, "host-a", int(getpid()));
  BOOST_TEST_REQUIRE(lease.ok(), lease.message());
  BOOST_TEST(lease->incarnation == 2);
}

BOOST_DATA_TEST_CASE(writes_are_refused_after_the_lease_expired, bdata::make(kEngines), engine) {
  Where w(engine);
  auto a = node_store(w, "a");
  int64_t id = queued_run(*a, "2026-11-25");
  int64_t other = queued_run(*a, "2026-11-26");
  BOOST_TEST_REQUIRE(a->set_running(id, at(100)).ok());
  BOOST_TEST(get_run(*a, id).node == "a");
  BOOST_TEST(get_run(*a, id).incarnation == 1);
  BOOST_TEST_REQUIRE(a->renew_lease().ok());

  expire(w, "a");
  for (Status s : {a->set_packed(id, 1, "/out/p", "ff"), a->set_delivered(id, at(200), 1, "/out/p", "ff"),
                   a->set_failed(id, at(200), "x", std::nullopt), a->set_queued(id, at(200)), a->set_running(other, at(200))}) {
    BOOST_TEST(is_lease_lost(s), s.message());
    BOOST_TEST(s.message().find("lease") != std::string::npos, s.message());
  }
  BOOST_TEST(is_lease_lost(a->renew_lease()));
  auto claim = a->claim_next(at(200));
  BOOST_TEST(is_lease_lost(claim.status()), claim.message());
  Run r = get_run(*a, id);
  BOOST_TEST((r.status == RunStatus::running), "nothing changed");
  BOOST_TEST(r.remote == "");
  BOOST_TEST((get_run(*a, other).status == RunStatus::queued));
  // A plain wrong transition is not a lost lease.
  auto b = node_store(w, "b");
  Status wrong = b->set_delivered(other, at(300), 1, "/out/q", "ff");
  BOOST_TEST(!wrong.ok());
  BOOST_TEST(!is_lease_lost(wrong), wrong.message());
}

BOOST_DATA_TEST_CASE(writes_are_refused_after_another_incarnation_took_the_name, bdata::make(kEngines), engine) {
  Where w(engine);
  auto old = node_store(w, "a");
  int64_t id = queued_run(*old, "2026-11-25");
  BOOST_TEST_REQUIRE(old->set_running(id, at(100)).ok());
  expire(w, "a");  // paused past its lease (SIGSTOP); meanwhile it restarted elsewhere
  auto fresh = node_store(w, "a");
  BOOST_TEST(fresh->lease()->incarnation == 2);
  Status late = old->set_delivered(id, at(200), 1, "/out/p", "ff");
  BOOST_TEST(is_lease_lost(late), late.message());
  BOOST_TEST(is_lease_lost(old->renew_lease()));
  BOOST_TEST((get_run(*fresh, id).status == RunStatus::running));
}

BOOST_DATA_TEST_CASE(take_orphans_moves_only_runs_of_dead_leases, bdata::make(kEngines), engine) {
  Where w(engine);
  auto a = node_store(w, "a");
  auto b = node_store(w, "b");
  int64_t of_a = queued_run(*a, "2026-11-25");
  int64_t of_b = queued_run(*a, "2026-11-26");
  BOOST_TEST_REQUIRE(a->set_running(of_a, at(100)).ok());
  BOOST_TEST_REQUIRE(b->set_running(of_b, at(100)).ok());
  auto none = b->take_orphans();
  BOOST_TEST_REQUIRE(none.ok(), none.message());
  BOOST_TEST(none->empty(), "a's lease is live: nothing is an orphan");

  expire(w, "a");  // a was killed: its lease runs out
  auto taken = b->take_orphans();
  BOOST_TEST_REQUIRE(taken.ok(), taken.message());
  BOOST_TEST_REQUIRE(taken->size() == 1u);
  BOOST_TEST((*taken)[0].id == of_a);
  BOOST_TEST((*taken)[0].node == "b");
  BOOST_TEST((*taken)[0].attempts == 1, "the rescue is not a new attempt");
  BOOST_TEST(((*taken)[0].status == RunStatus::running));
  // Now b holds it: b may finish it, a may not.
  BOOST_TEST(is_lease_lost(a->set_delivered(of_a, at(200), 1, "/out/p", "ff")));
  BOOST_TEST_REQUIRE(b->set_delivered(of_a, at(200), 1, "/out/p", "ff").ok());
  BOOST_TEST(b->take_orphans()->empty());
}

BOOST_DATA_TEST_CASE(claim_next_takes_subscriptions_before_backfills_and_oldest_first, bdata::make(kEngines), engine) {
  Where w(engine);
  auto a = node_store(w, "a");
  int64_t backfill = queued_run(*a, "2020-01", RunKind::backfill);
  int64_t newer = queued_run(*a, "2026-11-26");
  int64_t older = queued_run(*a, "2026-11-25");
  int64_t datamart = queued_run(*a, "2026-11-27", RunKind::datamart);
  std::vector<int64_t> order;
  for (;;) {
    auto r = a->claim_next(at(100));
    BOOST_TEST_REQUIRE(r.ok(), r.message());
    if (!*r) break;
    BOOST_TEST(((*r)->status == RunStatus::running));
    BOOST_TEST((*r)->node == "a");
    BOOST_TEST((*r)->attempts == 1);
    order.push_back((*r)->id);
  }
  BOOST_TEST((order == std::vector<int64_t>{older, newer, datamart, backfill}));
}

BOOST_DATA_TEST_CASE(two_connections_racing_claim_next_never_get_the_same_run, bdata::make(kEngines), engine) {
  Where w(engine);
  auto a = node_store(w, "a");
  auto b = node_store(w, "b");
  constexpr int kRuns = 150;
  BOOST_TEST_REQUIRE(a->batch([&] {
                        for (int i = 0; i < kRuns; ++i) queued_run(*a, nth_day(i));
                        return Status::OK();
                      }).ok());
  std::vector<int64_t> got[2];
  std::string errors[2];
  auto worker = [&](StateStore& store, int k) {
    for (;;) {
      auto r = store.claim_next(at(100));
      if (!r) {
        errors[k] = r.message();
        return;
      }
      if (!*r) return;
      got[k].push_back((*r)->id);
    }
  };
  std::thread ta(worker, std::ref(*a), 0), tb(worker, std::ref(*b), 1);
  ta.join();
  tb.join();
  BOOST_TEST(errors[0] == "");
  BOOST_TEST(errors[1] == "");
  std::set<int64_t> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  BOOST_TEST(got[0].size() + got[1].size() == size_t(kRuns), "no run was claimed twice");
  BOOST_TEST(all.size() == size_t(kRuns), "every run was claimed");
}

BOOST_DATA_TEST_CASE(ensure_from_two_connections_creates_one_row, bdata::make(kEngines), engine) {
  Where w(engine);
  auto a = open_store(w.location);
  auto b = open_store(w.location);
  constexpr int kPeriods = 100;
  std::vector<int64_t> ids[2];
  auto planner = [&](StateStore& store, int k) {
    for (int i = 0; i < kPeriods; ++i) {
      auto r = store.ensure(proto("K101-CPR-D", nth_day(i), RunStatus::waiting));
      ids[k].push_back(r ? r->id : -1);
    }
  };
  std::thread ta(planner, std::ref(*a), 0), tb(planner, std::ref(*b), 1);
  ta.join();
  tb.join();
  BOOST_TEST(ids[0] == ids[1], "both see the same run for each period");
  BOOST_TEST(std::count(ids[0].begin(), ids[0].end(), -1) == 0);
  BOOST_TEST(*a->count_runs() == kPeriods);
}

BOOST_DATA_TEST_CASE(late_is_marked_once_across_nodes, bdata::make(kEngines), engine) {
  Where w(engine);
  auto a = open_store(w.location);
  auto b = open_store(w.location);
  int64_t id = a->ensure(proto("K101-CPR-D", "2026-11-25", RunStatus::waiting))->id;
  auto first = a->set_late(id);
  BOOST_TEST_REQUIRE(first.ok(), first.message());
  BOOST_TEST(*first);
  auto second = b->set_late(id);
  BOOST_TEST_REQUIRE(second.ok(), second.message());
  BOOST_TEST(!*second);
  BOOST_TEST(!*a->set_late(id));
  BOOST_TEST(get_run(*b, id).late);
  int64_t queued = a->ensure(proto("K101-CPR-D", "2026-11-26"))->id;
  BOOST_TEST(!a->set_late(queued).ok(), "only a waiting run can be late");
}

BOOST_DATA_TEST_CASE(changes_since_returns_what_changed_in_order, bdata::make(kEngines), engine) {
  Where w(engine);
  auto a = open_store(w.location);
  auto b = open_store(w.location);
  int64_t x = a->ensure(proto("K101-CPR-D", "2026-11-25"))->id;
  int64_t y = a->ensure(proto("K101-CPR-D", "2026-11-26"))->id;
  int64_t last = 0;
  std::vector<int64_t> seen;
  BOOST_TEST_REQUIRE(b->changes_since(0, [&](const Run& r) { seen.push_back(r.id); }, &last).ok());
  BOOST_TEST((seen == std::vector<int64_t>{x, y}));
  BOOST_TEST_REQUIRE(a->set_running(x, at(100)).ok());
  seen.clear();
  int64_t after = last;
  BOOST_TEST_REQUIRE(b->changes_since(after, [&](const Run& r) {
                        seen.push_back(r.id);
                        BOOST_TEST((r.status == RunStatus::running));
                      }, &last).ok());
  BOOST_TEST((seen == std::vector<int64_t>{x}));
  BOOST_TEST(last > after);
  seen.clear();
  BOOST_TEST_REQUIRE(b->changes_since(last, [&](const Run& r) { seen.push_back(r.id); }, &last).ok());
  BOOST_TEST(seen.empty());
}

BOOST_DATA_TEST_CASE(without_a_node_nothing_is_fenced, bdata::make(kEngines), engine) {
  Where w(engine);
  auto store = open_store(w.location);
  int64_t id = store->ensure(proto("K101-CPR-D", "2026-11-25"))->id;
  auto r = store->claim_next(at(100));
  BOOST_TEST_REQUIRE(r.ok(), r.message());
  BOOST_TEST_REQUIRE(r->has_value());
  BOOST_TEST((*r)->id == id);
  BOOST_TEST((*r)->node == "");
  BOOST_TEST(!store->take_orphans().ok(), "rescuing needs a node");
  BOOST_TEST_REQUIRE(store->set_delivered(id, at(200), 1, "/out/p", "ff").ok());
}

// --- moving a history ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_sqlite_history_copies_into_an_empty_postgresql_with_its_ids) {
  Where from("sqlite"), to("postgresql");
  int64_t last_id = 0;
  {
    auto src = open_store(from.location);
    int64_t a = src->ensure(proto("K101-CPR-D", "2026-11-25"))->id;
    BOOST_TEST_REQUIRE(src->set_running(a, at(100)).ok());
    BOOST_TEST_REQUIRE(src->set_delivered(a, at(200), 4096, "/out/a.tar.zst", "ff00").ok());
    BOOST_TEST_REQUIRE(src->ensure(proto("K101-CPR-D", "2026-11-26", RunStatus::waiting)).ok());
    BOOST_TEST_REQUIRE(src->set_waiting(2, {"DSA/CPR/2026-11-26"}).ok());
    BOOST_TEST(src->set_late(2).ok());
    last_id = src->add_redelivery("K101-CPR-D", named("2026-11-25"), 101, RunKind::subscription, "v2", at(300))->id;
  }
  auto src = open_store(from.location);
  auto dst = open_store(to.location);
  Status copied = copy_history(*src, *dst);
  BOOST_TEST_REQUIRE(copied.ok(), copied.message());
  auto before = src->list();
  auto after = dst->list();
  BOOST_TEST_REQUIRE(after->size() == before->size());
  for (size_t i = 0; i < before->size(); ++i) {
    const Run &x = (*before)[i], &y = (*after)[i];
    BOOST_TEST(x.id == y.id);
    BOOST_TEST((x.status == y.status));
    BOOST_TEST(x.attempts == y.attempts);
    BOOST_TEST((x.finished == y.finished));
    BOOST_TEST(x.remote == y.remote);
    BOOST_TEST(x.missing == y.missing);
    BOOST_TEST(x.late == y.late);
    BOOST_TEST(x.redelivery == y.redelivery);
  }
  auto next = dst->ensure(proto("K101-CPR-D", "2026-11-27"));
  BOOST_TEST_REQUIRE(next.ok(), next.message());
  BOOST_TEST(next->id > last_id, "the id counter moved past the copied runs");

  Status again = copy_history(*src, *dst);
  BOOST_TEST_REQUIRE(!again.ok());
  BOOST_TEST(again.message().find("already holds 4 runs") != std::string::npos, again.message());
  BOOST_TEST(*dst->count_runs() == 4);
}

// --- PostgreSQL's connection ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_connection_the_server_closed_between_calls_is_reopened) {
  Where w("postgresql");
  auto store = open_store(w.location);
  int64_t id = store->ensure(proto("K101-CPR-D", "2026-11-25"))->id;
  // What a server restart or an administrator's pg_terminate_backend does to an idle session.
  auto cut = [&] {
    const std::string others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
    BOOST_TEST_REQUIRE(w.sql("SELECT pg_terminate_backend(pid) " + others));
    // Until the session is really gone (the signal is asynchronous).
    for (int i = 0; i < 500 && test::PgServer::exec(w.location, "SELECT count(*) " + others) != "0"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  cut();
  auto read = store->get(id);
  BOOST_TEST_REQUIRE(read.ok(), read.message());
  BOOST_TEST(read->has_value());
  cut();
  Status write = store->set_running(id, at(100));
  BOOST_TEST_REQUIRE(write.ok(), write.message());
  BOOST_TEST((get_run(*store, id).status == RunStatus::running));
  BOOST_TEST(get_run(*store, id).attempts == 1, "the write was sent once");
}

BOOST_AUTO_TEST_CASE(an_unreachable_postgresql_says_what_to_check) {
  TempDir dir;
  std::string uri = "postgresql://flisd@/flisd?host=" + dir.path.string() + "&connect_timeout=2";
  auto store = StateStore::open(uri);
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.message().find("state database postgresql://flisd@/flisd") != std::string::npos, store.message());
  BOOST_TEST(store.message().find("check that PostgreSQL runs") != std::string::npos, store.message());
}

BOOST_AUTO_TEST_CASE(nodes_starting_together_on_a_fresh_database_migrate_it_once) {
  Where w("postgresql");
  std::string errors[4];
  std::vector<std::thread> starting;
  for (int i = 0; i < 4; ++i)
    starting.emplace_back([&, i] {
      auto store = StateStore::open(w.location);
      if (!store) errors[i] = store.message();
    });
  for (auto& t : starting) t.join();
  for (const auto& e : errors) BOOST_TEST(e == "");
  BOOST_TEST(test::PgServer::exec(w.location, "SELECT version FROM flisd_schema") == std::to_string(StateStore::schema_version()));
  BOOST_TEST(test::PgServer::exec(w.location, "SELECT count(*) FROM flisd_schema") == "1");
}

BOOST_DATA_TEST_CASE(two_nodes_rescuing_at_once_never_take_the_same_orphan, bdata::make(kEngines), engine) {
  Where w(engine);
  auto dead = node_store(w, "dead");
  constexpr int kRuns = 60;
  BOOST_TEST_REQUIRE(dead->batch([&] {
                           for (int i = 0; i < kRuns; ++i) {
                             int64_t id = queued_run(*dead, nth_day(i));
                             if (Status s = dead->set_running(id, at(100)); !s) return s;
                           }
                           return Status::OK();
                         }).ok());
  expire(w, "dead");
  auto a = node_store(w, "a");
  auto b = node_store(w, "b");
  std::vector<Run> got[2];
  std::string errors[2];
  auto rescuer = [&](StateStore& store, int k) {
    auto r = store.take_orphans();
    if (r) got[k] = *r;
    else errors[k] = r.message();
  };
  std::thread ta(rescuer, std::ref(*a), 0), tb(rescuer, std::ref(*b), 1);
  ta.join();
  tb.join();
  BOOST_TEST(errors[0] == "");
  BOOST_TEST(errors[1] == "");
  std::set<int64_t> all;
  for (const auto& side : got)
    for (const Run& r : side) all.insert(r.id);
  BOOST_TEST(got[0].size() + got[1].size() == size_t(kRuns), "no orphan was taken twice");
  BOOST_TEST(all.size() == size_t(kRuns));
  auto runs = a->list({.status = RunStatus::running});
  for (const Run& r : *runs) BOOST_TEST((r.node == "a" || r.node == "b"), r.node);
}

// A sequence hands out versions when a change is made, not when it commits: a reader must never
// move past a version that an open transaction may still commit.
BOOST_AUTO_TEST_CASE(changes_since_never_skips_a_lower_version_committed_later) {
  Where w("postgresql");
  auto a = open_store(w.location);
  auto b = open_store(w.location);
  int64_t x = 0, y = 0, last = 0;
  std::vector<int64_t> seen;
  auto collect = [&](const Run& r) { seen.push_back(r.id); };
  Status s = a->batch([&] {
    x = a->ensure(proto("K101-CPR-D", "2026-11-25"))->id;  // a lower version, not committed yet
    y = b->ensure(proto("K101-CPR-D", "2026-11-26"))->id;  // a higher one, committed at once
    if (Status c = b->changes_since(0, collect, &last); !c) return c;
    BOOST_TEST(seen.empty(), "while a writes, nothing is certain");
    BOOST_TEST(last == 0);
    return Status::OK();
  });
  BOOST_TEST_REQUIRE(s.ok(), s.message());
  BOOST_TEST_REQUIRE(b->changes_since(last, collect, &last).ok());
  BOOST_TEST((seen == std::vector<int64_t>{x, y}), "both, in version order, once a committed");
}
