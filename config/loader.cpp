// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// load_config: reads the tree, hands each file to its part (load_settings.cpp, load_calendar.cpp,
// load_orders.cpp), then checks what spans files: unique ids, the generated datamart orders
// (rule 4), calendar coverage; and decides whether the result is usable.
#include "config/loader.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "base/printable.h"
#include "config/load_parts.h"
#include "config/yaml_reader.h"

namespace flis {
namespace {

namespace fs = std::filesystem;

// An order file is named <safe name>.yaml: its name reaches shells (bash completion), logs and
// terminals, so it obeys the rule of ids. It need not equal the order's id.
bool safe_order_file(const std::string& name) {
  const std::string ext = ".yaml";
  return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0 &&
         is_safe_name(std::string_view(name).substr(0, name.size() - ext.size()));
}

void refuse_order_file(const std::string& name, Diagnostics& diags) {
  diags.error({"orders/" + printable(name), 0, 0},
              "this order file name is not allowed; name order files <name>.yaml, the name 1-64 letters, "
              "digits, '.', '_' and '-', starting with a letter or digit (usually the order's id, e.g. "
              "K101-CPR-DAILY.yaml); the file is not read");
}

// Reads at most one byte over the limit: enough for the parser to refuse it, never a whole
// runaway file in memory.
std::optional<std::string> read_file(const fs::path& path, const std::string& name, Diagnostics& diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diags.error({name, 0, 0}, "cannot read " + path.string() + ": " + std::strerror(errno) +
                                  "; check that it exists and flisd may read it");
    return std::nullopt;
  }
  std::string text(kMaxConfigFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) {
    diags.error({name, 0, 0}, "cannot read " + path.string() + ": I/O error");
    return std::nullopt;
  }
  return text;
}

void read_folder(const fs::path& dir, const std::string& sub, ConfigFiles& files, Diagnostics& diags) {
  std::error_code ec;
  if (!fs::is_directory(dir / sub, ec)) return;
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir / sub, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;  // editors' and flisctl copy's temporary files
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    std::string ext = it->path().extension().string();
    if (ext == ".yaml" && sub == "orders" && !safe_order_file(name)) refuse_order_file(name, diags);
    else if (ext == ".yaml") names.push_back(name);
    else if (ext == ".yml")
      diags.warning({sub + "/" + name, 0, 0}, "ignored: files in " + sub + "/ are read only when named *.yaml");
  }
  if (ec) diags.error({sub, 0, 0}, "cannot list " + (dir / sub).string() + ": " + ec.message());
  for (const auto& name : names)
    if (auto text = read_file(dir / sub / name, sub + "/" + name, diags)) files[sub + "/" + name] = *text;
}

// First 12 hex digits of SHA-256 over every (name, contents), in name order: the same tree gives
// the same version on every machine.
std::string tree_version(const ConfigFiles& files) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  for (const auto& [name, text] : files) {
    std::string header = name + '\0' + std::to_string(text.size()) + '\0';
    EVP_DigestUpdate(ctx, header.data(), header.size());
    EVP_DigestUpdate(ctx, text.data(), text.size());
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 6 && i < len; ++i) out += hex[md[i] >> 4], out += hex[md[i] & 15];
  return out;
}

bool has_errors_in(const Diagnostics& d, const std::string& file) {
  for (const auto& item : d.items())
    if (item.severity == Diagnostic::Severity::error && item.pos.file == file) return true;
  return false;
}

// Parses one file and hands it to `read`; yaml-cpp's exceptions end here, as errors of that file.
template <typename Fn>
void with_file(const ConfigFiles& files, const std::string& name, Diagnostics& diags, Fn read) {
  auto it = files.find(name);
  if (it == files.end()) return;
  YamlReader r(name, diags);
  try {
    if (auto root = r.parse(it->second)) read(r, *root);
  } catch (const YAML::Exception& e) {
    r.error(e.mark.is_null() ? r.whole_file() : Position{name, e.mark.line + 1, e.mark.column + 1},
            "cannot read this YAML: " + e.msg);
  } catch (const std::exception& e) {
    r.error(r.whole_file(), std::string("cannot read this file: ") + e.what());
  }
}

std::vector<date::year_month> months_without_calendar(const Calendar& cal, date::year_month first,
                                                      date::year_month last) {
  std::vector<date::year_month> missing;
  for (auto m = first; m <= last && missing.size() < 1200; m += date::months{1})
    if (!cal.monthly.count(m)) missing.push_back(m);
  return missing;
}

// Which calendar part gives an expected time (the planner's expected_time): each interface by its
// own frequency, the latest of them. Daily interfaces take the daily rule, weekly ones the weekly
// rule, monthly ones the month's entry; so only an order with a monthly interface ever needs a
// monthly entry, and only such an order's expected time can be unknown. Monthly interfaces come
// only in monthly subscriptions, datamart orders and one-off orders (rule 5); one-off periods are
// history, so the warning is for active monthly subscriptions that hold a monthly interface.
bool needs_monthly_entries(const Order& o, const Catalogue& catalogue) {
  if (o.type != OrderType::monthly || !o.active() || !o.start) return false;
  return std::any_of(o.interfaces.begin(), o.interfaces.end(), [&](const std::string& name) {
    const Interface* i = catalogue.find(o.source, name);
    return i != nullptr && i->frequency == Frequency::monthly;
  });
}

// The months of an order that lack a calendar entry, as "2027-01..2027-12"; empty when none.
std::string uncovered_months(const Calendar& cal, const Order& o) {
  date::year_month first = o.start->year() / o.start->month();
  date::year_month last;
  if (o.end) {
    last = o.end->year() / o.end->month();
  } else {  // a datamart order runs on: check up to the last month the calendar knows
    last = cal.monthly.empty() ? first : std::max(first, cal.monthly.rbegin()->first);
  }
  auto missing = months_without_calendar(cal, first, last);
  return missing.empty() ? std::string() : detail::month_ranges(missing);
}

// "order A", "orders A and B", "orders A, B, C and 97 more": a few ids and the count of the rest.
std::string orders_named(const std::vector<std::string>& ids) {
  std::string who = ids.size() == 1 ? "order " + ids[0] : "orders " + ids[0];
  size_t named = std::min<size_t>(ids.size(), 3);
  for (size_t i = 1; i < named; ++i) who += (i + 1 == named && named == ids.size() ? " and " : ", ") + ids[i];
  if (ids.size() > named) who += " and " + std::to_string(ids.size() - named) + " more";
  return who;
}

// More order files than this with the same warning get one summary instead of a warning each: a
// rule that holds for thousands of orders (a mix of fagsystemer the municipalities all ordered)
// would otherwise bury everything else in `flisctl validate` and in the journal at every reload.
constexpr size_t kSummariseAbove = 3;

// The diagnostics of the order files into `diags`: errors as they are, and a warning that more
// than kSummariseAbove files share word for word said once, at the first file's position, naming a
// few of the orders and the count. `id_of` maps an order file to its order's id.
void add_order_diagnostics(const Diagnostics& found, const std::map<std::string, std::string>& id_of,
                           Diagnostics& diags) {
  std::map<std::string, std::vector<const Diagnostic*>> by_text;
  for (const Diagnostic& d : found.items())
    if (d.severity == Diagnostic::Severity::warning) by_text[d.message].push_back(&d);
  std::set<const Diagnostic*> summarised;
  for (auto& [text, same] : by_text) {
    if (same.size() <= kSummariseAbove) continue;
    std::sort(same.begin(), same.end(), [](const Diagnostic* a, const Diagnostic* b) {
      return std::tie(a->pos.file, a->pos.line, a->pos.col) < std::tie(b->pos.file, b->pos.line, b->pos.col);
    });
    std::vector<std::string> ids;
    for (const Diagnostic* d : same) {
      summarised.insert(d);
      auto it = id_of.find(d->pos.file);
      ids.push_back(it != id_of.end() ? it->second : d->pos.file);
    }
    diags.warning(same.front()->pos, orders_named(ids) + ", each: " + text);
  }
  for (const Diagnostic& d : found.items())
    if (!summarised.count(&d)) diags.add(d);
}

// One warning per set of missing months, however many orders share it (a calendar year not yet
// published concerns every monthly order alike): "orders A, B, C and 97 more: ...", at the first.
class UncoveredMonths {
 public:
  void add(const Calendar& cal, const Catalogue& catalogue, const Order& o, const Position& pos) {
    if (!needs_monthly_entries(o, catalogue)) return;
    std::string months = uncovered_months(cal, o);
    if (months.empty()) return;
    auto& group = groups_[months];
    if (group.ids.empty()) group.pos = pos;
    group.ids.push_back(o.id);
  }
  void report(Diagnostics& diags) const {
    for (const auto& [months, group] : groups_) {
      diags.warning(group.pos, orders_named(group.ids) + ": no data calendar entry for " + months +
                                   " (needed for their monthly interfaces); such a month is due as soon as its data is "
                                   "processed and `flisctl plan` shows its expected time as unknown; add it to "
                                   "calendar/*.yaml once FLIS publishes it");
    }
  }

 private:
  struct Group {
    Position pos;
    std::vector<std::string> ids;
  };
  std::map<std::string, Group> groups_;
};

// A last good order may be kept only if it still fits the new catalogue and targets.
bool still_fits(const Order& o, const detail::Context& ctx) {
  if (!ctx.settings.targets.count(o.delivery)) return false;
  return std::all_of(o.interfaces.begin(), o.interfaces.end(),
                     [&](const std::string& i) { return ctx.catalogue.find(o.source, i) != nullptr; });
}

std::vector<Order> generated_datamart_orders(const Datamarts& dm) {
  std::vector<Order> out;
  for (const auto& [code, interfaces] : dm.entitlements) {
    Order o;
    o.id = datamart_order_id(code);
    o.municipality = code;
    o.type = OrderType::monthly;
    o.source = Source::DM;
    o.delivery = dm.delivery;
    o.interfaces = interfaces;
    o.start = dm.start / 1;
    o.generated = true;
    auto at = dm.entitlement_pos.find(code);
    o.pos = at != dm.entitlement_pos.end() ? at->second : dm.pos;
    out.push_back(o);
  }
  return out;
}

}  // namespace

std::string datamart_order_id(int municipality) { return "DM-" + std::to_string(municipality); }

ConfigFiles read_config_files(const fs::path& dir, Diagnostics& diags) {
  ConfigFiles files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    diags.error({dir.string(), 0, 0}, "no configuration folder here; give the folder holding flisd.yaml "
                                      "(--config DIR, default /etc/flisd)");
    return files;
  }
  for (const char* name : {"flisd.yaml", "interfaces.yaml"})
    if (fs::exists(dir / name, ec))
      if (auto text = read_file(dir / name, name, diags)) files[name] = *text;
  read_folder(dir, "calendar", files, diags);
  read_folder(dir, "orders", files, diags);
  return files;
}

LoadResult load_config(const fs::path& dir, const Config* last_good) {
  Diagnostics read_problems;
  ConfigFiles files = read_config_files(dir, read_problems);
  return load_config_files(dir, files, last_good, read_problems);
}

LoadResult load_config_files(const fs::path& dir, const ConfigFiles& files, const Config* last_good,
                             const Diagnostics& read_problems) {
  LoadResult result;
  Diagnostics& diags = result.diagnostics;
  diags.append(read_problems);
  detail::Context ctx;
  std::error_code ec;
  ctx.dir = fs::absolute(dir, ec).lexically_normal();
  for (const char* name : {"flisd.yaml", "interfaces.yaml"})
    if (!files.count(name) && !has_errors_in(diags, name))
      diags.error({name, 0, 0}, std::string("missing: the configuration folder has no ") + name +
                                    " (a sample is in /usr/share/doc/flisd/examples; every key in "
                                    "/usr/share/doc/flisd/configuration.md)");

  with_file(files, "interfaces.yaml", diags,
            [&](YamlReader& r, const YAML::Node& root) { detail::read_catalogue(r, root, ctx.catalogue); });
  ctx.catalogue_ok = !has_errors_in(diags, "interfaces.yaml");
  with_file(files, "flisd.yaml", diags, [&](YamlReader& r, const YAML::Node& root) {
    detail::read_settings(r, root, ctx.dir, ctx.catalogue, ctx.catalogue_ok, ctx.settings);
  });
  ctx.settings_ok = !has_errors_in(diags, "flisd.yaml");

  detail::CalendarMerger calendar(ctx.catalogue, ctx.catalogue_ok);
  std::vector<std::string> core_files{"flisd.yaml", "interfaces.yaml"};
  for (const auto& [name, text] : files) {
    if (name.rfind("calendar/", 0) != 0) continue;
    core_files.push_back(name);
    with_file(files, name, diags, [&](YamlReader& r, const YAML::Node& root) { calendar.read(r, root); });
  }
  ctx.calendar = calendar.calendar();

  // Orders, in file-name order so "first" and "second" in messages are stable.
  struct Loaded {
    std::string file;
    detail::OrderDraft draft;
  };
  std::vector<Loaded> loaded;
  std::set<std::string> order_files;
  Diagnostics order_diags;  // summarised into diags below
  for (const auto& file : files) {
    const std::string& name = file.first;  // not a structured binding: the lambda captures it
    if (name.rfind("orders/", 0) != 0) continue;
    if (!safe_order_file(name.substr(7))) {  // files given in memory (a git tree) are checked here
      refuse_order_file(name.substr(7), diags);
      order_files.insert("orders/" + printable(name.substr(7)));
      continue;
    }
    order_files.insert(name);
    with_file(files, name, order_diags, [&](YamlReader& r, const YAML::Node& root) {
      if (auto d = detail::read_order(r, root, ctx)) {
        d->order.pos = Position{name, 0, 0};
        loaded.push_back({name, *d});
      }
    });
  }
  {
    std::map<std::string, std::string> id_of;
    for (const auto& l : loaded)
      if (l.draft.has_id) id_of[l.file] = l.draft.order.id;
    add_order_diagnostics(order_diags, id_of, diags);
  }
  for (const auto& item : read_problems.items())
    if (item.pos.file.rfind("orders/", 0) == 0) order_files.insert(item.pos.file);

  std::vector<Order> generated;
  if (ctx.settings_ok && ctx.catalogue_ok && ctx.settings.datamarts)
    generated = generated_datamart_orders(*ctx.settings.datamarts);

  // Ids unique across files, and never one flisd gives a datamart order. Both files of a
  // duplicate are in error: on reload neither may take over the other's id, so each keeps its
  // last good version.
  std::map<std::string, const Loaded*> first_with_id;
  std::set<std::string> generated_ids;
  for (const auto& o : generated) generated_ids.insert(o.id);
  for (const auto& l : loaded) {
    if (!l.draft.has_id) continue;
    const std::string& id = l.draft.order.id;
    if (generated_ids.count(id)) {
      diags.error(l.draft.id_pos, "id '" + id + "' is the id flisd gives the generated datamart order of "
                                  "municipality " + id.substr(3) +
                                  " (datamarts.entitlements in flisd.yaml); choose another id");
      continue;
    }
    auto [it, fresh] = first_with_id.emplace(id, &l);
    if (fresh) continue;
    const Loaded& first = *it->second;
    diags.error(l.draft.id_pos, "id '" + id + "' is also the id of the order in " + first.file +
                                    "; ids must be unique across all order files");
    diags.error(first.draft.id_pos, "id '" + id + "' is also the id of the order in " + l.file +
                                        "; ids must be unique across all order files");
  }

  bool core_ok = std::none_of(core_files.begin(), core_files.end(),
                              [&](const std::string& f) { return has_errors_in(diags, f); });
  auto config = std::make_shared<Config>();
  config->dir = ctx.dir;
  config->settings = ctx.settings;
  config->catalogue = ctx.catalogue;
  config->calendar = ctx.calendar;
  config->version = tree_version(files);
  std::set<std::string> taken;
  UncoveredMonths uncovered;
  for (const auto& l : loaded)
    if (!has_errors_in(diags, l.file)) {
      config->orders.push_back(l.draft.order);
      taken.insert(l.draft.order.id);
      uncovered.add(ctx.calendar, ctx.catalogue, l.draft.order, l.draft.start_pos);
    }
  for (const auto& o : generated) {
    config->orders.push_back(o);
    taken.insert(o.id);
    uncovered.add(ctx.calendar, ctx.catalogue, o, o.pos);
  }
  uncovered.report(diags);

  bool orders_ok = true;
  for (const auto& file : order_files) {
    if (!has_errors_in(diags, file)) continue;
    orders_ok = false;
    if (!last_good) continue;
    for (const auto& o : last_good->orders) {
      if (o.generated || o.pos.file != file) continue;
      if (taken.count(o.id) || !still_fits(o, ctx)) break;
      diags.warning({file, 0, 0}, "keeping the last good version of order " + o.id + " until this file is fixed");
      config->orders.push_back(o);
      taken.insert(o.id);
      break;
    }
  }
  std::sort(config->orders.begin(), config->orders.end(),
            [](const Order& a, const Order& b) { return a.id < b.id; });
  if (core_ok && (orders_ok || last_good)) result.config = std::move(config);
  return result;
}

}  // namespace flis
