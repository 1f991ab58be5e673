// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run state store against a real SQLite database in a temporary folder.
#define BOOST_TEST_MODULE daemon_state_store
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "daemon/state_store.h"

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

Run proto(const std::string& order, const std::string& period, RunStatus status = RunStatus::queued) {
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

std::unique_ptr<StateStore> open_store(const fs::path& path) {
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

BOOST_AUTO_TEST_CASE(ensure_creates_once_and_never_resets_an_existing_run) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
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

BOOST_AUTO_TEST_CASE(a_batch_commits_all_its_transitions_or_none) {
  TempDir dir;
  fs::path db = dir.path / "state.db";
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
  for (const Run& r : *runs) BOOST_TEST((r.status == RunStatus::queued), r.period);
  BOOST_TEST(runs->back().period == "2026-11-11");
}

BOOST_AUTO_TEST_CASE(every_transition_is_persisted_across_reopen) {
  TempDir dir;
  int64_t id;
  {
    auto store = open_store(dir.path / "state.db");
    id = store->ensure(proto("K101-CPR-D", "2026-11-25", RunStatus::waiting))->id;
    BOOST_TEST_REQUIRE(store->set_waiting(id, {"DSA/CPR_PERSON/2026-11-25"}).ok());
  }
  {
    auto store = open_store(dir.path / "state.db");
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::waiting));
    BOOST_TEST(r.missing == std::vector<std::string>{"DSA/CPR_PERSON/2026-11-25"});
    BOOST_TEST_REQUIRE(store->set_queued(id, at(3000)).ok());
  }
  {
    auto store = open_store(dir.path / "state.db");
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::queued));
    BOOST_TEST(r.missing.empty());
    BOOST_TEST_REQUIRE(store->set_running(id, at(3100)).ok());
  }
  {
    auto store = open_store(dir.path / "state.db");
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::running));
    BOOST_TEST(r.attempts == 1);
    BOOST_TEST((r.started == at(3100)));
    BOOST_TEST_REQUIRE(store->set_failed(id, at(3200), "sftp://x: connection refused", at(3260)).ok());
  }
  {
    auto store = open_store(dir.path / "state.db");
    Run r = get_run(*store, id);
    BOOST_TEST((r.status == RunStatus::failed));
    BOOST_TEST(r.error == "sftp://x: connection refused");
    BOOST_TEST((r.next_attempt == at(3260)));
    BOOST_TEST((r.finished == at(3200)));
    BOOST_TEST_REQUIRE(store->set_queued(id, at(3260)).ok());
    BOOST_TEST_REQUIRE(store->set_running(id, at(3270)).ok());
    BOOST_TEST_REQUIRE(store->set_delivered(id, at(3300), 123, "/out/p.tar.zst", "abcd").ok());
  }
  auto store = open_store(dir.path / "state.db");
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

BOOST_AUTO_TEST_CASE(a_run_that_is_not_queued_cannot_start) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  int64_t id = store->ensure(proto("K101-CPR-D", "2026-11-25"))->id;
  BOOST_TEST_REQUIRE(store->set_running(id, at(1)).ok());
  Status second = store->set_running(id, at(2));
  BOOST_TEST(!second.ok());
  BOOST_TEST(get_run(*store, id).attempts == 1);
  BOOST_TEST(!store->set_queued(9999, at(3)).ok());
}

BOOST_AUTO_TEST_CASE(order_period_redelivery_is_unique_in_the_schema) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  BOOST_TEST_REQUIRE(store->ensure(proto("K101-CPR-D", "2026-11-25")).ok());
  sqlite3* db = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open((dir.path / "state.db").c_str(), &db) == SQLITE_OK);
  int rc = sqlite3_exec(db,
                        "INSERT INTO runs (order_id, municipality, period, redelivery, kind, status) "
                        "VALUES ('K101-CPR-D', 101, '2026-11-25', 1, 'subscription', 'queued')",
                        nullptr, nullptr, nullptr);
  BOOST_TEST((rc & 0xff) == SQLITE_CONSTRAINT);
  sqlite3_close(db);
}

BOOST_AUTO_TEST_CASE(redeliveries_are_numbered_from_two_upwards) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
  int64_t first = store->ensure(proto("K101-CPR-M", "2026-10"))->id;
  auto r2 = store->add_redelivery("K101-CPR-M", "2026-10", 101, RunKind::subscription, "v2", at(5000));
  BOOST_TEST_REQUIRE(r2.ok(), r2.message());
  auto r3 = store->add_redelivery("K101-CPR-M", "2026-10", 101, RunKind::subscription, "v2", at(5001));
  BOOST_TEST_REQUIRE(r3.ok(), r3.message());
  auto other = store->add_redelivery("K101-CPR-M", "2026-11", 101, RunKind::subscription, "v2", at(5002));
  BOOST_TEST_REQUIRE(other.ok(), other.message());
  BOOST_TEST(r2->redelivery == 2);
  BOOST_TEST(r3->redelivery == 3);
  BOOST_TEST(other->redelivery == 2);
  BOOST_TEST((r2->status == RunStatus::queued));
  BOOST_TEST(r2->config_version == "v2");
  BOOST_TEST(r2->id != first);
  BOOST_TEST(get_run(*store, first).redelivery == 1);
}

BOOST_AUTO_TEST_CASE(list_is_in_creation_order_and_filters_by_order_and_status) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
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

BOOST_AUTO_TEST_CASE(a_database_from_a_newer_flisd_is_refused) {
  TempDir dir;
  { auto store = open_store(dir.path / "state.db"); }
  sqlite3* db = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open((dir.path / "state.db").c_str(), &db) == SQLITE_OK);
  std::string bump = "PRAGMA user_version = " + std::to_string(StateStore::schema_version() + 1);
  BOOST_TEST_REQUIRE(sqlite3_exec(db, bump.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);

  auto store = StateStore::open(dir.path / "state.db");
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.message().find("created by a newer flisd") != std::string::npos, store.message());
  BOOST_TEST(store.message().find((dir.path / "state.db").string()) != std::string::npos);
  auto ro = StateStore::open_readonly(dir.path / "state.db");
  BOOST_TEST(!ro.ok());
}

BOOST_AUTO_TEST_CASE(open_readonly_reads_but_never_creates) {
  TempDir dir;
  auto missing = StateStore::open_readonly(dir.path / "none.db");
  BOOST_TEST(!missing.ok());
  BOOST_TEST(!fs::exists(dir.path / "none.db"));
  {
    auto store = open_store(dir.path / "state.db");
    BOOST_TEST_REQUIRE(store->ensure(proto("K101-CPR-D", "2026-11-25")).ok());
  }
  auto ro = StateStore::open_readonly(dir.path / "state.db");
  BOOST_TEST_REQUIRE(ro.ok(), ro.message());
  BOOST_TEST((*ro)->list()->size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_unwritable_location_names_the_path) {
  TempDir dir;
  // A path under a regular file: cannot be created, even as root.
  { std::FILE* f = std::fopen((dir.path / "file").c_str(), "w"); std::fclose(f); }
  auto store = StateStore::open(dir.path / "file" / "state.db");
  BOOST_TEST_REQUIRE(!store.ok());
  BOOST_TEST(store.message().find((dir.path / "file" / "state.db").string()) != std::string::npos, store.message());
}

BOOST_AUTO_TEST_CASE(a_killed_process_leaves_its_last_committed_transition) {
  TempDir dir;
  int64_t id;
  { id = open_store(dir.path / "state.db")->ensure(proto("K101-CPR-D", "2026-11-25"))->id; }
  pid_t child = fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    // The child commits `running` and dies at once, as a kill -9 mid-upload would leave it.
    auto store = StateStore::open(dir.path / "state.db");
    if (!store.ok() || !(*store)->set_running(id, at(7000)).ok()) _exit(1);
    _exit(9);
  }
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  BOOST_TEST_REQUIRE(WIFEXITED(wstatus));
  BOOST_TEST_REQUIRE(WEXITSTATUS(wstatus) == 9);
  auto store = open_store(dir.path / "state.db");
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
        r.period = "p" + std::to_string(i);
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

BOOST_AUTO_TEST_CASE(a_running_or_delivered_run_cannot_be_cancelled) {
  TempDir dir;
  auto store = open_store(dir.path / "state.db");
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
