// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl runs [--order ID] [--status S] [--json]: the Datapakkekørsler table, read from the state
// database named in flisd.yaml. Read-only: the database is never created, migrated
// or written, so it is safe beside a running flisd.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "base/printable.h"
#include "config/kommuner.h"
#include "config/loader.h"
#include "config/period.h"
#include "ctl/ctl_commands.h"
#include "daemon/planner.h"
#include "daemon/run_format.h"
#include "daemon/state_store.h"

namespace flis {
namespace {

struct RunsOptions {
  std::optional<std::string> order;
  std::optional<std::string> status;
  bool json = false;
};

constexpr const char* kStatuses = "waiting, queued, running, delivered, failed, cancelled";

// A run as shown: with, for a waiting run, when its data was expected by the calendar (if its
// order is still configured). Waiting past that time is `late`, as flisctl plan says.
struct Shown {
  const Run& run;
  std::optional<Instant> expected;
  bool late = false;
};

std::vector<Shown> shown(const std::vector<Run>& runs, const Config& cfg, Instant now) {
  std::vector<Shown> out;
  out.reserve(runs.size());
  for (const Run& r : runs) {
    Shown s{r, std::nullopt, false};
    const Order* order = cfg.find_order(r.order);
    if (r.status == RunStatus::waiting && order) {
      s.expected = expected_time(cfg, *order, r.period);
      s.late = is_late(s.expected, now);
    }
    out.push_back(s);
  }
  return out;
}

std::string short_time(const std::optional<Instant>& t, const date::time_zone* tz) {
  return t ? format_local_short(*t, tz) : "-";
}

// The last column: where a delivered package went, why a run failed or was cancelled, what a
// waiting run waits for.
std::string remote_or_error(const Shown& shown, const date::time_zone* tz) {
  const Run& r = shown.run;
  switch (r.status) {
    case RunStatus::delivered:
      return r.remote;
    case RunStatus::waiting: {
      std::string s = shown.late ? "late (expected " + format_local_short(*shown.expected, tz) + "): " : "";
      if (r.missing.empty()) return s + "waiting for data";
      return s + "missing " + missing_summary(r.missing);
    }
    case RunStatus::failed:
      if (r.next_attempt) return r.error + " (retry " + format_local_short(*r.next_attempt, tz) + ")";
      return r.error;
    case RunStatus::queued:
      return r.error.empty() ? "-" : "last attempt: " + r.error;
    case RunStatus::cancelled:
      return r.error.empty() ? "-" : r.error;
    case RunStatus::running:
      return "-";
  }
  return "-";
}

void print_table(const std::vector<Shown>& runs, const date::time_zone* tz) {
  std::vector<std::vector<std::string>> rows{
      {"RUN", "ORDER", "MUNICIPALITY", "PERIOD", "STATUS", "ATTEMPTS", "STARTED", "FINISHED", "BYTES", "REMOTE/ERROR"}};
  for (const Shown& shown : runs) {
    const Run& r = shown.run;
    std::string period = r.period.name() + (r.redelivery > 1 ? " (r" + std::to_string(r.redelivery) + ")" : "");
    rows.push_back({std::to_string(r.id), r.order, municipality_code(r.municipality), period,
                    std::string(to_string(r.status)), std::to_string(r.attempts), short_time(r.started, tz),
                    short_time(r.finished, tz), r.status == RunStatus::delivered ? human_bytes(uint64_t(r.bytes)) : "-",
                    remote_or_error(shown, tz)});
  }
  // A database written before errors were made printable, or by hand, must not reach the
  // terminal as escape sequences either.
  for (auto& row : rows)
    for (auto& cell : row) cell = printable(cell);
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      // Numbers right-aligned, text left-aligned; no trailing blanks after the last column.
      bool numeric = i == 0 || i == 5 || i == 8;
      size_t pad = width[i] - row[i].size();
      if (numeric) out.append(pad, ' ');
      out += row[i];
      if (i + 1 < row.size()) out.append((numeric ? 0 : pad) + 2, ' ');
    }
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

nlohmann::ordered_json time_json(const std::optional<Instant>& t, const date::time_zone* tz) {
  return t ? nlohmann::ordered_json(format_local_iso(*t, tz)) : nlohmann::ordered_json(nullptr);
}

void print_json(const std::vector<Shown>& runs, const date::time_zone* tz) {
  auto out = nlohmann::ordered_json::array();
  for (const Shown& shown : runs) {
    const Run& r = shown.run;
    nlohmann::ordered_json o;
    o["run"] = r.id;
    o["order"] = r.order;
    o["municipality"] = r.municipality;
    o["period"] = r.period.name();
    o["redelivery"] = r.redelivery;
    o["kind"] = to_string(r.kind);
    o["status"] = to_string(r.status);
    o["attempts"] = r.attempts;
    o["created"] = time_json(r.created, tz);
    o["started"] = time_json(r.started, tz);
    o["finished"] = time_json(r.finished, tz);
    o["next_attempt"] = time_json(r.next_attempt, tz);
    o["bytes"] = r.bytes;
    o["remote"] = r.remote.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.remote);
    o["checksum"] = r.checksum.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.checksum);
    o["error"] = r.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error);
    o["missing"] = r.missing;
    o["expected"] = time_json(shown.expected, tz);
    o["late"] = shown.late;
    o["config_version"] = r.config_version;
    // The node that made the last attempt (several hosts); null on one host.
    o["node"] = r.node.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.node);
    out.push_back(std::move(o));
  }
  std::cout << out.dump(2) << '\n';
}

void print_runs(const std::vector<Shown>& runs, const RunsOptions& opts, const date::time_zone* tz) {
  if (opts.json) print_json(runs, tz);
  else print_table(runs, tz);
}

int run_runs(const CommonOptions& common, const RunsOptions& opts) {
  RunFilter filter;
  filter.order = opts.order;
  if (opts.status) {
    filter.status = parse_run_status(*opts.status);
    if (!filter.status) {
      std::fprintf(stderr, "flisctl runs: --status '%s' is not a run status; allowed: %s\n", opts.status->c_str(),
                   kStatuses);
      return 2;
    }
  }

  // Broken order files must not hide the history: with an empty "last good" configuration the
  // loader still returns flisd.yaml's settings when only orders have errors.
  Config no_orders;
  LoadResult loaded = load_config(common.config_dir, &no_orders);
  if (!loaded.config) {
    for (const auto& d : loaded.diagnostics.sorted())
      if (d.severity == Diagnostic::Severity::error) std::fprintf(stderr, "%s\n", d.str().c_str());
    std::fprintf(stderr, "flisctl runs: cannot find the state database: the configuration in %s has errors\n",
                 common.config_dir.c_str());
    return 1;
  }
  const Settings& settings = loaded.config->settings;
  const date::time_zone* tz = zone_of(settings);
  std::optional<Instant> given = common.now ? parse_instant(*common.now, tz) : std::nullopt;
  if (common.now && !given) {
    std::fprintf(stderr, "flisctl runs: --now '%s' is not a time in %s; %s\n", common.now->c_str(),
                 settings.timezone.c_str(), kTimeForms);
    return 2;
  }

  if (!StateStore::exists(settings.state)) {
    std::fprintf(stderr, "flisctl runs: no state database at %s yet (flisd has not run); no runs\n",
                 settings.state.c_str());
    print_runs({}, opts, tz);
    return 0;
  }
  auto store = StateStore::open_readonly(settings.state);
  if (!store) {
    std::fprintf(stderr, "flisctl runs: %s\n", store.message().c_str());
    return 1;
  }
  auto runs = (*store)->list(filter);
  if (!runs) {
    std::fprintf(stderr, "flisctl runs: %s\n", runs.message().c_str());
    return 1;
  }
  print_runs(shown(*runs, *loaded.config, given ? *given : system_now()), opts, tz);
  return 0;
}

}  // namespace

void register_runs(CLI::App& app, CommonOptions& common, int& result) {
  auto opts = std::make_shared<RunsOptions>();
  auto* cmd = app.add_subcommand("runs", "the runs table (Datapakkekørsler) from the state database");
  cmd->add_option("--order", opts->order, "only this order's runs");
  cmd->add_option("--status", opts->status, std::string("only runs in this state: ") + kStatuses);
  cmd->add_flag("--json", opts->json, "one JSON array of objects");
  cmd->add_option("--now", common.now, "the clock for `late`: 2026-12-04T06:00:00+01:00, ...Z or local 2026-12-04 06:00");
  cmd->callback([&common, &result, opts] { result = run_runs(common, *opts); });
}

}  // namespace flis
