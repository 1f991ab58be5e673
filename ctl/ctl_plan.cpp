// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl plan [--now T] [--from DATE] [--to DATE] [--json]: the deliveries the configuration and
// the warehouse call for as of T, each (order, period) with its expected time and state. Read-only: the state database is read when it exists and never created.
#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/kommuner.h"
#include "config/loader.h"
#include "config/period.h"
#include "ctl/ctl_commands.h"
#include "daemon/planner.h"
#include "daemon/run_format.h"
#include "daemon/state_store.h"

namespace flis {
namespace {

struct PlanOptions {
  std::optional<std::string> from, to;
  std::optional<std::string> order;
  std::optional<int> municipality;
  bool json = false;
};

constexpr const char* kDateForms = "use a date (2026-11-25) or a period name (2026-11, 2026-W48, 2026)";

// --from/--to take a date or any period name: --from 2026-10 --to 2026-12 means October to December.
std::optional<Period> parse_bound(const std::string& text) { return Period::parse(text); }

date::local_days add_months(date::local_days d, int n) {
  date::year_month_day ymd{d};
  auto ym = ymd.year() / ymd.month() + date::months{n};
  date::year_month_day moved = ym / ymd.day();
  return date::local_days{moved.ok() ? moved : date::year_month_day{ym / date::last}};
}

// The delivered (order, period) pairs of the state database; empty when it does not exist yet.
Result<History> read_history(const std::filesystem::path& db) {
  History history;
  if (!StateStore::exists(db)) return history;
  // Read-only, as flisctl runs: flisd may be running, and plan must never migrate or lock it.
  auto store = StateStore::open_readonly(db);
  if (!store.ok()) return store.status();
  RunFilter filter;
  filter.status = RunStatus::delivered;
  auto runs = (*store)->list(filter);
  if (!runs.ok()) return runs.status();
  for (const auto& run : *runs) history.delivered.insert({run.order, run.period});
  return history;
}


std::string expected_text(const PlannedRun& run, const date::time_zone* tz) {
  if (!run.expected) return "unknown";
  return format_local_short(*run.expected, tz) + " " + format_offset(*run.expected, tz);
}

// An order's own dates: a subscription's start..end (end open for datamart orders), a one-off
// order's from..to. With --order and no --from/--to the window is these, so the order shows whole.
PlanWindow order_window(const Order& o, PlanWindow fallback) {
  if (o.is_subscription()) {
    if (o.start) fallback.from = date::local_days{*o.start};
    if (o.end) fallback.to = date::local_days{*o.end};
  } else if (o.from && o.to) {
    fallback = {date::local_days{*o.from}, date::local_days{*o.to}};
  }
  return fallback;
}

struct Hidden {
  size_t earlier = 0, later = 0;
};

// The periods of the orders shown that fall outside the window (an order without an end has no
// "later" count: it goes on).
Hidden hidden_periods(const Config& config, const PlanOptions& opts, const PlanWindow& window) {
  Hidden h;
  for (const Order& o : config.orders) {
    if ((opts.order && o.id != *opts.order) || (opts.municipality && o.municipality != *opts.municipality)) continue;
    for (const Period& p : order_periods(o, window.from - date::days{1}))
      if (p.last < window.from) ++h.earlier;  // one that overlaps the window is shown
    bool ends = !o.is_subscription() || o.end.has_value();
    if (ends)
      for (const Period& p : order_periods(o, window.to + date::days{1}, date::local_days::max()))
        if (p.first > window.to) ++h.later;
  }
  return h;
}

// One row of the table; the rows are formatted twice (widths, then output) rather than held, so a
// plan of hundreds of thousands of runs prints in constant extra memory.
std::array<std::string, 6> table_row(const PlannedRun& r, const date::time_zone* tz) {
  return {r.order, municipality_code(r.municipality), r.period.name(), expected_text(r, tz),
          std::string(to_string(r.state)), missing_summary(r.missing)};
}

void print_table(const std::vector<PlannedRun>& runs, const date::time_zone* tz) {
  const std::array<std::string, 6> header{"ORDER", "MUNICIPALITY", "PERIOD", "EXPECTED", "STATE", "MISSING"};
  std::array<size_t, 6> width{};
  auto measure = [&](const std::array<std::string, 6>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  };
  measure(header);
  for (const auto& r : runs) measure(table_row(r, tz));
  std::string line;
  auto print = [&](const std::array<std::string, 6>& row) {
    line.clear();
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  };
  print(header);
  for (const auto& r : runs) print(table_row(r, tz));
}

// Written object by object: a DOM of every run would cost more than planning them.
void print_json(const std::vector<PlannedRun>& runs, const date::time_zone* tz) {
  auto str = [](const std::string& s) { return nlohmann::json(s).dump(); };
  std::string out;
  std::fputs("[", stdout);
  for (size_t n = 0; n < runs.size(); ++n) {
    const PlannedRun& r = runs[n];
    out.assign(n == 0 ? "\n" : ",\n");
    out += "  {\"order\": " + str(r.order) + ", \"municipality\": " + std::to_string(r.municipality) +
           ", \"period\": " + str(r.period.name()) + ", \"start\": \"" + day_period(r.period.first).name() +
           "\", \"end\": \"" + day_period(r.period.last).name() + "\", \"expected\": " +
           (r.expected ? "\"" + format_local_iso(*r.expected, tz) + "\"" : std::string("null")) +
           ", \"state\": \"" + std::string(to_string(r.state)) + "\", \"backfill\": " +
           (r.backfill ? "true" : "false") + ", \"missing\": [";
    for (size_t i = 0; i < r.missing.size(); ++i) out += (i ? ", " : "") + str(r.missing[i]);
    out += "]}";
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  std::fputs(runs.empty() ? "]\n" : "\n]\n", stdout);
}

int run_plan(const CommonOptions& common, const PlanOptions& opts) {
  // Usage first, before any file is read: a typo in --now must not look like a broken config.
  if (common.now && !parse_instant(*common.now, date::locate_zone("Europe/Copenhagen"))) {
    std::fprintf(stderr, "flisctl plan: --now '%s' is not a time; %s\n", common.now->c_str(), kTimeForms);
    return 2;
  }
  std::optional<Period> from, to;
  if (opts.from && !(from = parse_bound(*opts.from))) {
    std::fprintf(stderr, "flisctl plan: --from '%s' is not a date; %s\n", opts.from->c_str(), kDateForms);
    return 2;
  }
  if (opts.to && !(to = parse_bound(*opts.to))) {
    std::fprintf(stderr, "flisctl plan: --to '%s' is not a date; %s\n", opts.to->c_str(), kDateForms);
    return 2;
  }
  if (from && to && to->last < from->first) {
    std::fprintf(stderr, "flisctl plan: --to %s is before --from %s\n", opts.to->c_str(), opts.from->c_str());
    return 2;
  }

  LoadResult loaded = load_config(common.config_dir);
  if (!loaded.config) {
    for (const auto& d : loaded.diagnostics.sorted())
      if (d.severity == Diagnostic::Severity::error) std::fprintf(stderr, "%s\n", d.str().c_str());
    std::fprintf(stderr, "flisctl plan: the configuration in %s has errors; run `flisctl validate` to see all\n",
                 common.config_dir.c_str());
    return 1;
  }
  const Config& config = *loaded.config;
  // The loader has checked the zone exists.
  const date::time_zone* tz = zone_of(config.settings);

  // --now was checked above; whether it parses does not depend on the zone (a time in a DST gap
  // is the instant the gap ends), only what instant it names.
  Instant now = common.now ? *parse_instant(*common.now, tz) : system_now();
  date::local_days today = local_day(now, tz);
  PlanWindow window{from ? from->first : add_months(today, -3), to ? to->last : add_months(today, 3)};

  auto history = read_history(config.settings.state);
  if (!history.ok()) {
    std::fprintf(stderr, "flisctl plan: cannot read the run history in %s: %s\n",
                 config.settings.state.c_str(), history.message().c_str());
    return 1;
  }
  if (opts.order && config.find_order(*opts.order) == nullptr) {
    std::fprintf(stderr, "flisctl plan: no order %s in %s\n", opts.order->c_str(), common.config_dir.c_str());
    return 1;
  }
  if (opts.order && !from && !to) window = order_window(*config.find_order(*opts.order), window);
  auto runs = plan(config, *history, now, window);
  // With 10,000 orders the whole plan is long; the filters keep what one question needs.
  std::erase_if(runs, [&](const PlannedRun& p) {
    return (opts.order && p.order != *opts.order) || (opts.municipality && p.municipality != *opts.municipality);
  });
  if (opts.json) {
    print_json(runs, tz);
    return 0;
  }
  print_table(runs, tz);
  Hidden hidden = hidden_periods(config, opts, window);
  if (hidden.earlier || hidden.later) {
    std::string range = day_period(window.from).name() + ".." + day_period(window.to).name();
    // On stderr: the table on stdout stays rows only, for scripts.
    std::fflush(stdout);
    std::fprintf(stderr, "%zu earlier and %zu later periods outside %s; widen the window with --from/--to to see them\n",
                 hidden.earlier, hidden.later, range.c_str());
  }
  return 0;
}

}  // namespace

void register_plan(CLI::App& app, CommonOptions& common, int& result) {
  auto opts = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand("plan", "the deliveries and their state as of now (or --now)");
  cmd->add_option("--now", common.now, "the clock: 2026-12-04T06:00:00+01:00, ...Z or local 2026-12-04 06:00");
  cmd->add_option("--from", opts->from, "first date shown (default: 3 months before now); a date or period name");
  cmd->add_option("--to", opts->to, "last date shown (default: 3 months after now); a date or period name");
  cmd->add_option("--order", opts->order, "only this order's deliveries (all of them unless --from/--to)");
  cmd->add_option("--municipality", opts->municipality, "only this municipality's deliveries (kommunekode, e.g. 101)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            int code = 0;
            try {
              code = std::stoi(text);
            } catch (const std::exception&) {
            }
            return kommune_name(code) ? "" : "'" + text + "' is not a kommunekode (e.g. 101 København, 751 Aarhus)";
          },
          "KOMMUNEKODE"));
  cmd->add_flag("--json", opts->json, "one JSON array of objects");
  cmd->callback([&common, &result, opts] { result = run_plan(common, *opts); });
}

}  // namespace flis
