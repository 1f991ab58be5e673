// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// state_bench: the run store's throughput on each engine (issue 13), in one run so the figures
// share the machine's load: SQLite (a file in a temporary folder, WAL, synchronous=FULL) against
// PostgreSQL 15 (a private server with fsync on, over its unix socket; started here with
// tests/support/pg_server.h). Per engine:
//   plan     ensure() of N new runs in one batch (a first refresh), then again (all exist)
//   scan     scan() of every run (loading the run book); parse: as many period names parsed alone
//   ensure1  ensure() of 1000 new runs, each its own transaction (a planning pass of a few)
//   cycle    per run: set_running, set_packed, set_delivered, each committed (what a worker does)
//   claim    claim_next() until the queue is empty, attached as a node (fenced)
//
//   state_bench [--runs 20000] [--cycles 2000] [--engine sqlite|postgresql|both]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "daemon/state_store.h"
#include "tests/support/pg_server.h"

using namespace flis;
using SteadyClock = std::chrono::steady_clock;

namespace {

Instant at(int64_t s) { return Instant(std::chrono::seconds(s)); }

Run proto(int i, RunStatus status) {
  Run r;
  r.order = "K" + std::to_string(101 + i % 98) + "-CPR-D";
  r.municipality = 101;
  r.period = day_period(date::local_days{date::year{2000} / 1 / 1} + date::days{i});  // one period each
  r.kind = RunKind::subscription;
  r.status = status;
  r.created = at(1000);
  r.config_version = "bench";
  return r;
}

void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "state_bench: %s: %s\n", what.c_str(), s.message().c_str());
  std::exit(1);
}

void report(const char* engine, const char* what, int n, SteadyClock::time_point start) {
  double secs = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::printf("%-10s %-8s %7d ops %8.3f s %9.0f ops/s\n", engine, what, n, secs, n / secs);
}

void bench(const char* engine, const std::string& location, int runs, int cycles) {
  auto opened = StateStore::open(location);
  if (!opened) die("opening", opened.status());
  StateStore& store = **opened;

  auto start = SteadyClock::now();
  Status s = store.batch([&] {
    for (int i = 0; i < runs; ++i)
      if (auto r = store.ensure(proto(i, RunStatus::waiting)); !r) return r.status();
    return Status::OK();
  });
  if (!s) die("plan", s);
  report(engine, "plan", runs, start);
  start = SteadyClock::now();
  s = store.batch([&] {
    for (int i = 0; i < runs; ++i)
      if (auto r = store.ensure(proto(i, RunStatus::waiting)); !r) return r.status();
    return Status::OK();
  });
  if (!s) die("replan", s);
  report(engine, "replan", runs, start);

  // scan: every run read back, as the run book is loaded at start; parse: the same number of
  // period names parsed alone, the part of each row's read that makes its typed Period.
  int scanned = 0;
  start = SteadyClock::now();
  if (Status t = store.scan([&](const Run&) { ++scanned; }); !t) die("scan", t);
  report(engine, "scan", scanned, start);
  std::vector<std::string> names;
  for (int i = 0; i < runs; ++i) names.push_back(proto(i, RunStatus::waiting).period.name());
  int parsed = 0;
  start = SteadyClock::now();
  for (const auto& name : names) parsed += Period::parse(name).has_value() ? 1 : 0;
  report(engine, "parse", parsed, start);

  start = SteadyClock::now();
  for (int i = 0; i < 1000; ++i)
    if (auto r = store.ensure(proto(runs + i, RunStatus::queued)); !r) die("ensure1", r.status());
  report(engine, "ensure1", 1000, start);

  // The runs to cycle: queued first, in one batch (not timed).
  std::vector<int64_t> ids;
  s = store.batch([&] {
    for (int i = 0; i < cycles; ++i) {
      auto r = store.ensure(proto(runs + 1000 + i, RunStatus::queued));
      if (!r) return r.status();
      ids.push_back(r->id);
    }
    return Status::OK();
  });
  if (!s) die("queueing", s);
  start = SteadyClock::now();
  for (int64_t id : ids) {
    if (Status t = store.set_running(id, at(2000)); !t) die("set_running", t);
    if (Status t = store.set_packed(id, 4096, "/out/x", "ff"); !t) die("set_packed", t);
    if (Status t = store.set_delivered(id, at(2001), 4096, "/out/x", "ff"); !t) die("set_delivered", t);
  }
  report(engine, "cycle", int(ids.size()) * 3, start);

  auto lease = store.attach_node("bench", std::chrono::seconds(60), "bench-host", int(getpid()));
  if (!lease) die("attach_node", lease.status());
  int claimed = 0;
  start = SteadyClock::now();
  for (;;) {
    auto r = store.claim_next(at(3000));
    if (!r) die("claim_next", r.status());
    if (!*r) break;
    ++claimed;
  }
  report(engine, "claim", claimed, start);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20000, cycles = 2000;
  std::string engine = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--runs")) runs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--cycles")) cycles = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--engine")) engine = argv[i + 1];
  }
  if (engine != "postgresql") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flisd-state-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    bench("sqlite", tmpl + "/state.db", runs, cycles);
    std::filesystem::remove_all(tmpl);
  }
  if (engine != "sqlite") {
    test::PgServerOptions options;
    options.durable = true;
    test::PgServer pg(options);
    bench("postgresql", pg.create_database(), runs, cycles);
  }
  return 0;
}
