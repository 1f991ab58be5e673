// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl diff OLD-DIR NEW-DIR [--now T] [--json] and flisctl diff --git REV [DIR]: what changing
// the configuration from OLD to NEW does to deliveries, for reviewing a change before it is
// deployed (a merge request, a pre-commit hook). NEW's validation errors come first and make the
// exit code 1; otherwise the orders added, removed and changed with the packages each will now
// deliver and the periods it cancels (ctl/config_diff.h). The state database NEW names is read
// when it exists (never created), so what is delivered already does not count as new.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/kommuner.h"
#include "config/loader.h"
#include "config/period.h"
#include "ctl/config_diff.h"
#include "ctl/ctl_commands.h"
#include "ctl/git_export.h"
#include "daemon/run_format.h"
#include "daemon/state_store.h"

namespace flis {
namespace {

namespace fs = std::filesystem;

// Keys in the order of the documentation, not alphabetical.
using Json = nlohmann::ordered_json;

struct DiffOptions {
  std::vector<std::string> dirs;
  std::optional<std::string> git;
  bool json = false;
};

std::string plural(int n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// "orders/x.yaml" shown as "DIR/orders/x.yaml", as validate names it.
std::string shown(const std::string& dir, const std::string& file) {
  if (dir == "." || dir == "./" || file.empty() || file.front() == '/' || file == dir) return file;
  return (fs::path(dir) / file).lexically_normal().string();
}

// What the state database says; an empty history when there is none yet (a CI runner).
Result<DiffHistory> read_history(const fs::path& db, bool& found) {
  DiffHistory h;
  found = StateStore::exists(db);
  if (!found) return h;
  auto store = StateStore::open_readonly(db);
  if (!store) return store.status();
  auto runs = (*store)->list();
  if (!runs) return runs.status();
  for (const Run& r : *runs) {
    if (r.redelivery != 1) continue;
    if (r.status == RunStatus::delivered) h.history.delivered.emplace(r.order, r.period);
    bool open = r.status == RunStatus::waiting || r.status == RunStatus::queued ||
                (r.status == RunStatus::failed && r.next_attempt);
    if (open) h.open.emplace(r.order, r.period);
  }
  return h;
}

std::string span(const PeriodSummary& s) {
  if (!s.first || !s.last) return {};
  return *s.first == *s.last ? s.first->name() : s.first->name() + ".." + s.last->name();
}

// "128 due now, 2 waiting for data, 12 ahead"
std::string states(const PeriodSummary& s) {
  std::vector<std::string> parts;
  if (s.due) parts.push_back(std::to_string(s.due) + " due now");
  if (s.waiting) parts.push_back(std::to_string(s.waiting) + " waiting for data");
  if (s.future) parts.push_back(std::to_string(s.future) + " not ended yet");
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

std::string headline(const OrderChange& c, const std::string& type) {
  std::string who = " (" + (type.empty() ? "" : type + ", ") + "municipality " + municipality_code(c.municipality) + ")";
  if (c.datamart) {
    if (c.kind == OrderChange::Kind::added) return "+ " + c.order + ": datamart order appears (datamarts.entitlements of " + municipality_code(c.municipality) + ")";
    if (c.kind == OrderChange::Kind::removed) return "- " + c.order + ": datamart order disappears (datamarts.entitlements of " + municipality_code(c.municipality) + ")";
    return "~ " + c.order + ": datamart order changed" + who;
  }
  switch (c.kind) {
    case OrderChange::Kind::added: return "+ " + c.order + ": added" + who;
    case OrderChange::Kind::removed: return "- " + c.order + ": removed" + who + "; counts as deactivated";
    case OrderChange::Kind::changed: break;
  }
  return "~ " + c.order + ": changed" + who;
}

void print_change(const OrderChange& c, const std::string& type) {
  std::printf("%s\n", headline(c, type).c_str());
  for (const auto& k : c.keys)
    std::printf("    %s: %s -> %s\n", k.key.c_str(), k.before.empty() ? "(none)" : k.before.c_str(),
                k.after.empty() ? "(none)" : k.after.c_str());
  if (c.end_moves) {
    bool earlier = !c.end_moves->second.empty() && (c.end_moves->first.empty() || c.end_moves->second < c.end_moves->first);
    std::printf("    subscription end moves %s: %s -> %s\n", earlier ? "earlier" : "later", c.end_moves->first.c_str(),
                c.end_moves->second.c_str());
  }
  if (c.delivered.count)
    std::printf("    delivers %s, %s (%s); %s in the warehouse today\n",
                plural(c.delivered.count, "package", "packages").c_str(), span(c.delivered).c_str(),
                states(c.delivered).c_str(), human_bytes(c.delivered.bytes).c_str());
  if (c.cancelled.count) {
    std::printf("    cancels %s, %s (no longer delivered)", plural(c.cancelled.count, "period", "periods").c_str(),
                span(c.cancelled).c_str());
    if (c.cancelled.with_runs)
      std::printf("; %s waiting, queued or failed", plural(c.cancelled.with_runs, "run is", "runs are").c_str());
    std::printf("\n");
  }
  if (!c.delivered.count && !c.cancelled.count) std::printf("    deliveries unchanged\n");
}

void print_human(const ConfigDiff& diff, const std::string& from, const std::string& to, const std::string& when,
                 const std::string& history_note) {
  std::printf("flisctl diff: %s -> %s, as of %s\n", from.c_str(), to.c_str(), when.c_str());
  std::printf("%s\n\n", history_note.c_str());
  if (!diff.settings.empty()) {
    std::printf("* flisd.yaml: settings changed\n");
    for (const auto& k : diff.settings)
      std::printf("    %s: %s -> %s\n", k.key.c_str(), k.before.empty() ? "(none)" : k.before.c_str(),
                  k.after.empty() ? "(none)" : k.after.c_str());
  }
  if (diff.orders.empty()) {
    std::printf("No order changes: the same periods are delivered.\n");
    return;
  }
  for (const auto& c : diff.orders) print_change(c, c.datamart ? "" : std::string(to_string(c.type)));
  int added = 0, removed = 0, changed = 0;
  for (const auto& c : diff.orders) {
    added += c.kind == OrderChange::Kind::added;
    removed += c.kind == OrderChange::Kind::removed;
    changed += c.kind == OrderChange::Kind::changed;
  }
  std::printf("\nIn all: %d added, %d removed, %d changed; %s to deliver", added, removed, changed,
              plural(diff.delivered.count, "package", "packages").c_str());
  if (diff.delivered.count) std::printf(" (%s in the warehouse today)", human_bytes(diff.delivered.bytes).c_str());
  std::printf(", %s cancelled.\n", plural(diff.cancelled.count, "period", "periods").c_str());
}

Json summary_json(const PeriodSummary& s) {
  Json j;
  j["count"] = s.count;
  j["first"] = s.first ? Json(s.first->name()) : Json(nullptr);
  j["last"] = s.last ? Json(s.last->name()) : Json(nullptr);
  j["due"] = s.due;
  j["waiting"] = s.waiting;
  j["future"] = s.future;
  j["bytes"] = s.bytes;
  j["runs"] = s.with_runs;
  return j;
}

Json diagnostics_json(const std::vector<Diagnostic>& diags, Diagnostic::Severity severity) {
  Json out = Json::array();
  for (const auto& d : diags) {
    if (d.severity != severity) continue;
    out.push_back({{"file", d.pos.file}, {"line", d.pos.line}, {"column", d.pos.col}, {"message", d.message}});
  }
  return out;
}

Json keys_json(const std::vector<KeyChange>& keys) {
  Json out = Json::array();
  for (const auto& k : keys)
    out.push_back({{"key", k.key},
                   {"old", k.before.empty() ? Json(nullptr) : Json(k.before)},
                   {"new", k.after.empty() ? Json(nullptr) : Json(k.after)}});
  return out;
}

Json change_json(const OrderChange& c) {
  Json j{{"order", c.order},
         {"municipality", c.municipality},
         {"type", std::string(to_string(c.type))},
         {"change", std::string(to_string(c.kind))},
         {"datamart", c.datamart}};
  j["keys"] = keys_json(c.keys);
  j["end"] = c.end_moves ? Json{{"old", c.end_moves->first}, {"new", c.end_moves->second}} : Json(nullptr);
  j["delivered"] = summary_json(c.delivered);
  j["cancelled"] = summary_json(c.cancelled);
  return j;
}

// The two configurations compared: folders, how OLD is named, and the git export holding OLD.
struct Sides {
  std::string old_dir, new_dir, old_label;
  std::unique_ptr<GitSnapshot> snapshot;
};

// The folders from the command line (or the git export); an exit code when there are none.
std::optional<int> resolve_sides(const CommonOptions& common, const DiffOptions& opts, Sides& sides) {
  if (!opts.git) {
    if (opts.dirs.size() != 2) {
      std::fprintf(stderr, "flisctl diff: give OLD-DIR and NEW-DIR, or --git REV [DIR]\n");
      return 2;
    }
    sides.old_dir = sides.old_label = opts.dirs[0];
    sides.new_dir = opts.dirs[1];
    return std::nullopt;
  }
  if (opts.dirs.size() > 1) {
    std::fprintf(stderr, "flisctl diff: with --git give at most one folder (the checkout), not %zu\n", opts.dirs.size());
    return 2;
  }
  sides.new_dir = opts.dirs.empty() ? common.config_dir : opts.dirs[0];
  auto snap = GitSnapshot::export_at(sides.new_dir, *opts.git);
  if (!snap) {
    std::fprintf(stderr, "flisctl diff: %s\n", snap.message().c_str());
    return 1;
  }
  sides.snapshot = std::move(*snap);
  sides.old_dir = sides.snapshot->dir().string();
  sides.old_label = sides.new_dir + " at " + *opts.git + " (" + sides.snapshot->commit().substr(0, 12) + ")";
  return std::nullopt;
}

// NEW with errors: they were printed; --json gets them too. Exit 1.
int report_invalid(const Sides& sides, const Diagnostics& diagnostics, const std::vector<Diagnostic>& shown_diags,
                   bool json) {
  if (json) {
    Json j{{"old", sides.old_label},
           {"new", sides.new_dir},
           {"valid", false},
           {"errors", diagnostics_json(shown_diags, Diagnostic::Severity::error)},
           {"warnings", diagnostics_json(shown_diags, Diagnostic::Severity::warning)}};
    std::printf("%s\n", j.dump(2).c_str());
  }
  std::fprintf(stderr, "flisctl diff: %s has %s; fix them first (flisctl validate %s)\n", sides.new_dir.c_str(),
               plural(diagnostics.error_count(), "error", "errors").c_str(), sides.new_dir.c_str());
  return 1;
}

// OLD that does not load (or did not exist) is "nothing before": every order of NEW is added.
std::shared_ptr<const Config> load_old(const Sides& sides, std::string& note) {
  if (sides.snapshot && !sides.snapshot->exists()) {
    note = "(" + sides.old_label + " did not exist: every order is new)";
    return nullptr;
  }
  LoadResult loaded = load_config(sides.old_dir);
  if (loaded.config && !loaded.diagnostics.has_errors()) return loaded.config;
  note = "(" + sides.old_label + " has errors: compared as if it had no orders)";
  return nullptr;
}

void print_json(const ConfigDiff& diff, const Sides& sides, const std::string& now, bool old_valid,
                const std::optional<std::string>& state, const std::vector<Diagnostic>& shown_diags) {
  Json j{{"old", sides.old_label},
         {"new", sides.new_dir},
         {"now", now},
         {"valid", true},
         {"old_valid", old_valid},
         {"state", state ? Json(*state) : Json(nullptr)},
         {"errors", Json::array()},
         {"warnings", diagnostics_json(shown_diags, Diagnostic::Severity::warning)}};
  j["settings"] = keys_json(diff.settings);
  j["orders"] = Json::array();
  for (const auto& c : diff.orders) j["orders"].push_back(change_json(c));
  j["delivered"] = summary_json(diff.delivered);
  j["cancelled"] = summary_json(diff.cancelled);
  std::printf("%s\n", j.dump(2).c_str());
}

int run_diff(const CommonOptions& common, const DiffOptions& opts) {
  if (common.now && !parse_instant(*common.now, date::locate_zone("Europe/Copenhagen"))) {
    std::fprintf(stderr, "flisctl diff: --now '%s' is not a time; %s\n", common.now->c_str(), kTimeForms);
    return 2;
  }
  Sides sides;
  if (auto failed = resolve_sides(common, opts, sides)) return *failed;

  // NEW first: what will be deployed must be valid before anything else matters.
  LoadResult after = load_config(sides.new_dir);
  auto diags = after.diagnostics.sorted();
  for (Diagnostic& d : diags) d.pos.file = shown(sides.new_dir, d.pos.file);
  for (const Diagnostic& d : diags) std::fprintf(stderr, "%s\n", d.str().c_str());
  if (after.diagnostics.has_errors() || !after.config) return report_invalid(sides, after.diagnostics, diags, opts.json);
  const Config& config = *after.config;
  const date::time_zone* tz = zone_of(config.settings);
  Instant now = common.now ? *parse_instant(*common.now, tz) : system_now();

  std::string old_note;
  std::shared_ptr<const Config> before = load_old(sides, old_note);

  bool found = false;
  const auto& db = config.settings.state;
  auto history = read_history(db, found);
  if (!history) {
    std::fprintf(stderr, "flisctl diff: cannot read the run history in %s: %s\n", db.c_str(), history.message().c_str());
    return 1;
  }
  ConfigDiff diff = diff_configs(before.get(), config, *history, now);

  if (opts.json) {
    print_json(diff, sides, format_local_iso(now, tz), before != nullptr,
               found ? std::optional<std::string>(db.string()) : std::nullopt, diags);
    return 0;
  }
  std::string notes = found ? "Run history: " + db.string() + " (" +
                                  plural(static_cast<int>(history->history.delivered.size()), "period", "periods") +
                                  " delivered)"
                            : "Run history: none at " + db.string() + "; nothing counted as delivered";
  if (!old_note.empty()) notes = old_note + "\n" + notes;
  print_human(diff, sides.old_label, sides.new_dir, format_local_short(now, tz) + " " + format_offset(now, tz), notes);
  return 0;
}

}  // namespace

void register_diff(CLI::App& app, CommonOptions& common, int& result) {
  auto opts = std::make_shared<DiffOptions>();
  auto* cmd = app.add_subcommand("diff", "what a configuration change does to deliveries (for review and CI)");
  cmd->add_option("DIRS", opts->dirs, "OLD-DIR NEW-DIR; with --git, the checkout (default: --config)");
  cmd->add_option("--git", opts->git, "compare the folder with its state at this git revision (e.g. HEAD, origin/main)");
  cmd->add_option("--now", common.now, "the clock: 2026-12-04T06:00:00+01:00, ...Z or local 2026-12-04 06:00");
  cmd->add_flag("--json", opts->json, "one JSON object");
  cmd->callback([&common, &result, opts] { result = run_diff(common, *opts); });
}

}  // namespace flis
