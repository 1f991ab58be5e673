// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// plan_bench: how the scheduling engine scales (issue 3). Writes a configuration tree of N orders
// across the 98 municipalities as YAML (plus the datamart orders of all 98), a warehouse with
// _PROCESSED markers and a run history in which everything up to last month is delivered, then
// times, with the clock fixed at 2026-11-26 12:00 Copenhagen:
//   load    load_config of the tree (what `flisctl validate` and a reload do)
//   plan    plan() of one month (2026-11-01..2026-11-30), cold (every partition stat'ed)
//   plan6   plan() of `flisctl plan`'s default window, 3 months either side of now
// and, with --runner, the daemon's own passes (daemon/runner.h) on a real state database:
//   first   the first start: every period of every order recorded (queued, the data is there)
//   full    a whole pass again, nothing changed (an inotify overflow, a clock jump)
//   old     refresh(): a whole pass that also reads every queued run back, what a reload cost
//           before it re-planned only the orders it changed
//   reload  a reload that changes 1 order file, one that changes 100, one that changes nothing
//           (the pass only: reading the files is `load`)
// Run by bench/plan.sh, which varies the number of orders and how far back they start.
//
//   plan_bench [--orders 10000] [--months-back 12] [--dir DIR] [--keep] [--reuse] [--runner]
//
// Each figure is wall time and, in brackets, the process's CPU time: on a machine shared with
// other work the CPU time is the steadier measure.
//
// Order mix (by index): 40% monthly DSA (monthly and daily interfaces), 30% daily, 10% weekly,
// 10% legacy monthly, 10% one-off (2024, monthly chunks). Every order starts --months-back months
// before November 2026 and ends 2028-12-31.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/kommuner.h"
#include "config/loader.h"
#include "config/period.h"
#include "daemon/log.h"
#include "daemon/planner.h"
#include "daemon/runner.h"
#include "daemon/state_store.h"

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;
using namespace flis;

namespace {

struct Options {
  int orders = 10000;
  int months_back = 12;
  fs::path dir;
  bool keep = false;
  bool reuse = false;  // --dir already holds a tree from an earlier --keep run: time only
  bool runner = false;  // also time the Runner's passes
};

constexpr date::year_month kNowMonth{date::year{2026}, date::November};

std::vector<int> municipalities() {
  std::vector<int> out;
  for (int code = 100; code < 1000; ++code)
    if (kommune_name(code)) out.push_back(code);
  return out;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p);
  out << text;
  if (!out) {
    std::fprintf(stderr, "plan_bench: cannot write %s\n", p.c_str());
    std::exit(1);
  }
}

std::string ymd_text(date::year_month_day d) { return day_period(date::local_days{d}).name(); }

void write_settings(const fs::path& dir, const std::vector<int>& codes) {
  std::string s =
      "timezone: Europe/Copenhagen\nwarehouse: warehouse\nstate: state.db\n"
      "targets:\n  flis: {type: directory, path: \"outbox/{municipality}\"}\n"
      "  serviceplatformen: {type: directory, path: \"spool/{municipality}\"}\n"
      "datamarts:\n  start: 2023-01\n  delivery: flis\n  entitlements:\n";
  for (int c : codes) s += "    " + std::to_string(c) + ": [DM_BORGER, DM_OEKONOMI]\n";
  write(dir / "flisd.yaml", s);
  write(dir / "interfaces.yaml",
        "sources:\n  DSA:\n"
        "    CPR_PERSON: {system: CPR, frequency: daily}\n"
        "    CPR_ADRESSE: {system: CPR, frequency: daily}\n"
        "    SAGSBEHANDLING: {system: KMD_SAG, frequency: weekly}\n"
        "    LOEN_ANSAT: {system: OPUS, frequency: monthly}\n"
        "    LOEN_FRAVAER: {system: OPUS, frequency: monthly}\n"
        "    OEKONOMI_POSTERING: {system: KMD_OPUS_OEKONOMI, frequency: monthly}\n"
        "  legacy:\n"
        "    CPR_PERSON_RAW: {system: CPR, frequency: daily}\n"
        "    LOEN_RAW: {system: OPUS, frequency: monthly}\n"
        "  DM:\n"
        "    DM_BORGER: {system: FLIS, frequency: monthly}\n"
        "    DM_OEKONOMI: {system: FLIS, frequency: monthly}\n");
  for (int y = 2023; y <= 2028; ++y) {
    std::string c;
    if (y == 2023) c += "daily: {ready: \"06:00\", lag_days: 1}\nweekly: {ready: \"06:00\", weekday: tuesday}\n";
    c += "monthly:\n";
    for (unsigned m = 1; m <= 12; ++m) {
      auto ym = date::year{y} / date::month{m};
      auto next = ym + date::months{1};
      char line[160];
      std::snprintf(line, sizeof line, "  %s: {ready: \"%s 06:00\", systems: {OPUS: \"%s 06:00\"}}\n",
                    month_period(ym).name().c_str(), ymd_text(next / 5).c_str(), ymd_text(next / 9).c_str());
      c += line;
    }
    write(dir / "calendar" / (std::to_string(y) + ".yaml"), c);
  }
}

std::string order_yaml(int i, int code, const Options& opt) {
  static const char* monthly_sets[] = {"[LOEN_ANSAT, LOEN_FRAVAER]", "[OEKONOMI_POSTERING]", "[CPR_PERSON]",
                                       "[LOEN_ANSAT]"};
  static const char* daily_sets[] = {"[CPR_PERSON]", "[CPR_PERSON, CPR_ADRESSE]", "[CPR_ADRESSE]"};
  auto start = date::year_month_day{(kNowMonth - date::months{opt.months_back}) / 1};
  std::string head = "id: K" + std::to_string(code) + "-B" + std::to_string(i) + "\nmunicipality: " +
                     std::to_string(code) + "\ndelivery: " + (i % 7 == 0 ? "serviceplatformen" : "flis") + "\n";
  std::string sub = "start: " + ymd_text(start) + "\nend: 2028-12-31\n";
  switch (i % 10) {
    case 0: case 1: case 2: case 3:
      return head + "type: monthly\nsource: DSA\ninterfaces: " + monthly_sets[i % 4] + "\n" + sub;
    case 4: case 5: case 6:
      return head + "type: daily\nsource: DSA\ninterfaces: " + daily_sets[i % 3] + "\n" + sub;
    case 7:
      return head + "type: weekly\nsource: DSA\ninterfaces: [SAGSBEHANDLING]\n" + sub;
    case 8:
      return head + "type: monthly\nsource: legacy\ninterfaces: " + (i % 2 ? "[CPR_PERSON_RAW]" : "[LOEN_RAW]") +
             "\n" + sub;
    default:
      return head + "type: one-off\nsource: DSA\ninterfaces: [OEKONOMI_POSTERING]\nfrom: 2024-01-01\n"
                    "to: 2024-12-31\nchunk: month\n";
  }
}

void touch(const fs::path& dir) {
  fs::create_directories(dir);
  write(dir / "_PROCESSED", "");
}

// Every partition from January 2023 up to a few days before now is processed; November's monthly
// data is not (it has not ended).
int write_warehouse(const fs::path& wh) {
  int n = 0;
  date::local_days first{date::year{2023} / 1 / 1}, last{date::year{2026} / 11 / 20};
  for (auto d = first; d <= last; d += date::days{1}) {
    for (const char* i : {"CPR_PERSON", "CPR_ADRESSE"}) touch(wh / "DSA" / i / partition_name(Frequency::daily, d)), ++n;
    touch(wh / "legacy" / "CPR_PERSON_RAW" / partition_name(Frequency::daily, d)), ++n;
    if (date::weekday{d} == date::Thursday && d + date::days{3} < last)
      touch(wh / "DSA" / "SAGSBEHANDLING" / partition_name(Frequency::weekly, d)), ++n;
  }
  for (auto ym = date::year{2023} / 1; ym < kNowMonth; ym += date::months{1}) {
    auto name = month_period(ym).name();
    for (const char* i : {"LOEN_ANSAT", "LOEN_FRAVAER", "OEKONOMI_POSTERING"}) touch(wh / "DSA" / i / name), ++n;
    touch(wh / "legacy" / "LOEN_RAW" / name), ++n;
    for (const char* i : {"DM_BORGER", "DM_OEKONOMI"}) touch(wh / "DM" / i / name), ++n;
  }
  return n;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Wall and CPU time of one step.
struct Timer {
  SteadyClock::time_point wall0 = SteadyClock::now();
  double cpu0 = cpu_seconds();
  std::string str() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%6.3f s [cpu %6.3f]",
                  std::chrono::duration<double>(SteadyClock::now() - wall0).count(), cpu_seconds() - cpu0);
    return buf;
  }
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "plan_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--orders") o.orders = std::atoi(value().c_str());
    else if (a == "--months-back") o.months_back = std::atoi(value().c_str());
    else if (a == "--dir") o.dir = value();
    else if (a == "--keep") o.keep = true;
    else if (a == "--reuse") o.reuse = o.keep = true;
    else if (a == "--runner") o.runner = true;
    else {
      std::fprintf(stderr, "usage: plan_bench [--orders N] [--months-back M] [--dir DIR] [--keep] [--reuse] [--runner]\n");
      std::exit(2);
    }
  }
  if (o.months_back < 0 || o.months_back > 46) {
    std::fprintf(stderr, "plan_bench: --months-back must be 0..46 (the warehouse starts in 2023)\n");
    std::exit(2);
  }
  return o;
}

// The Runner's passes on a fresh state database in the tree: the first start, a whole pass, and
// reloads that change 1, 100 and 0 orders (one-off orders get a later `to`, subscriptions a later
// end: each changed order is planned again with nothing new to record).
bool time_runner(const Options& opt, const std::shared_ptr<const Config>& config, Instant now) {
  fs::remove(opt.dir / "runner-bench.db");
  auto store = StateStore::open(opt.dir / "runner-bench.db");
  if (!store) {
    std::fprintf(stderr, "plan_bench: %s\n", store.message().c_str());
    return false;
  }
  Runner runner(**store, [now] { return now; });
  size_t lines = 0;  // the log lines a pass writes, counted instead of printed
  log_init(LogTarget::stderr_only, "plan_bench");
  log_set_stderr_sink([&lines](Priority, const std::string&) { ++lines; });
  auto step = [&](const char* what, std::shared_ptr<const Config> c) {
    runner.set_config(std::move(c));
    lines = 0;
    Timer t;
    Status s = runner.replan();
    std::printf("  runner: %-20s %s  %zu log lines\n", what, t.str().c_str(), lines);
    if (!s) std::fprintf(stderr, "plan_bench: %s\n", s.message().c_str());
    return s.ok();
  };
  auto changed = [&](size_t n) {
    auto c = std::make_shared<Config>(*config);
    std::vector<Order*> written;  // the order files (not the generated datamart orders)
    for (Order& o : c->orders)
      if (!o.generated) written.push_back(&o);
    for (size_t i = 0; i < n && i < written.size(); ++i) {
      Order& o = *written[i * (written.size() / n)];
      if (o.end) o.end = date::year_month_day{date::local_days{*o.end} + date::days{1}};
      else if (o.to) o.to = date::year_month_day{date::local_days{*o.to} + date::days{1}};
    }
    return std::shared_ptr<const Config>(std::move(c));
  };
  // What a reload cost before it was proportional: refresh(), a whole pass that also reads every
  // queued run back from the store.
  auto before = [&](const char* what) {
    runner.set_config(config);  // the configuration last planned: a whole pass
    lines = 0;
    Timer t;
    auto queued = runner.refresh();
    std::printf("  runner: %-20s %s  %zu log lines, %zu queued\n", what, t.str().c_str(), lines,
                queued ? queued->size() : size_t(0));
    return queued.ok();
  };
  size_t runs = 0;
  auto hundred = changed(100);
  bool ok = step("first start", config) && step("whole pass", config) && before("refresh() (old reload)") &&
            step("reload, 1 changed", changed(1)) && step("reload, 100 changed", hundred) &&
            step("reload, 0 changed", std::make_shared<Config>(*hundred));
  if (ok) (void)(*store)->scan([&](const Run&) { ++runs; });
  log_set_stderr_sink({});
  std::printf("  runner: %zu runs in the state database\n", runs);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);
  bool made_dir = opt.dir.empty();
  if (made_dir) {
    std::string tmpl = (fs::temp_directory_path() / "flisd-plan-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return 1;
    opt.dir = tmpl;
  }
  auto codes = municipalities();
  int partitions = 0;
  if (!opt.reuse) {
    write_settings(opt.dir, codes);
    for (int i = 0; i < opt.orders; ++i) {
      int code = codes[static_cast<size_t>(i) % codes.size()];
      write(opt.dir / "orders" / ("K" + std::to_string(code) + "-B" + std::to_string(i) + ".yaml"),
            order_yaml(i, code, opt));
    }
    partitions = write_warehouse(opt.dir / "warehouse");
  }

  Timer t;
  LoadResult loaded = load_config(opt.dir);
  std::string load_s = t.str();
  if (!loaded.config) {
    for (const auto& d : loaded.diagnostics.sorted()) std::fprintf(stderr, "%s\n", d.str().c_str());
    return 1;
  }
  const Config& config = *loaded.config;
  const auto* tz = date::locate_zone("Europe/Copenhagen");
  Instant now = *parse_instant("2026-11-26 12:00", tz);

  // History: every period that ended before November is delivered (the daemon kept up).
  History history;
  date::local_days october_end{date::year{2026} / 10 / 31};
  for (const auto& o : config.orders)
    for (const auto& p : order_periods(o, october_end))
      if (p.last <= october_end) history.delivered.insert({o.id, p});

  t = Timer();
  auto month = plan(config, history, now, {date::local_days{kNowMonth / 1}, date::local_days{kNowMonth / date::last}});
  std::string plan_s = t.str();
  t = Timer();
  auto six = plan(config, history, now, {date::local_days{(kNowMonth - date::months{3}) / 26},
                                         date::local_days{(kNowMonth + date::months{3}) / 26}});
  std::string plan6_s = t.str();

  std::printf("orders %5zu, months back %2d, history %7zu runs, %d partitions written\n"
              "  load_config             %s\n"
              "  plan one month          %s  %zu runs\n"
              "  plan 6 months           %s  %zu runs\n",
              config.orders.size(), opt.months_back, history.delivered.size(), partitions, load_s.c_str(),
              plan_s.c_str(), month.size(), plan6_s.c_str(), six.size());
  if (opt.runner && !time_runner(opt, loaded.config, now)) return 1;
  if (made_dir && !opt.keep) fs::remove_all(opt.dir);
  return 0;
}
