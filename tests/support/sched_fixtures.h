// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Test fixtures for the scheduling engine: a Config built in code (no YAML, no loader) and a real
// warehouse folder in a temporary directory, so planner tests state exactly the world they need.
#pragma once

#include <date/date.h>
#include <date/tz.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/period.h"

namespace flis::test {

inline const date::time_zone* copenhagen() { return date::locate_zone("Europe/Copenhagen"); }

// "2026-03-29" -> local_days / year_month_day; throws on a typo so a test cannot silently pass.
inline date::local_days day(const std::string& s) {
  auto p = Period::parse(s);
  if (!p || p->kind != PeriodKind::day) throw std::invalid_argument("not a date: " + s);
  return p->first;
}
inline date::year_month_day ymd(const std::string& s) { return date::year_month_day{day(s)}; }
inline Period period(const std::string& name) {
  auto p = Period::parse(name);
  if (!p) throw std::invalid_argument("not a period: " + name);
  return *p;
}
// An instant: "2026-12-04T06:00:00+01:00", "...Z", or local Copenhagen time "2026-12-04 06:00".
inline Instant at(const std::string& s) {
  auto t = parse_instant(s, copenhagen());
  if (!t) throw std::invalid_argument("not an instant: " + s);
  return *t;
}
inline date::local_seconds local(const std::string& s) {  // "2026-12-04 06:00"
  auto t = parse_instant(s, date::locate_zone("Etc/UTC"));
  if (!t) throw std::invalid_argument("not a local time: " + s);
  return date::local_seconds{t->time_since_epoch()};
}

// A temporary folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flisd-sched-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A warehouse on disk: land() puts a municipality's file in a partition, process() adds the
// partition's _PROCESSED marker (FLIS is done with it).
class Warehouse {
 public:
  explicit Warehouse(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }

  std::filesystem::path dir(const std::string& source, const std::string& iface, const std::string& part) const {
    return root_ / source / iface / part;
  }
  void land(const std::string& source, const std::string& iface, const std::string& part, int municipality,
            const std::string& file = "data.csv") const {
    auto d = dir(source, iface, part) / std::to_string(municipality);
    std::filesystem::create_directories(d);
    std::ofstream(d / file) << "id;value\n1;2\n";
  }
  void process(const std::string& source, const std::string& iface, const std::string& part) const {
    std::filesystem::create_directories(dir(source, iface, part));
    std::ofstream(dir(source, iface, part) / "_PROCESSED");
  }
  // Processes every daily partition first..last (inclusive).
  void process_days(const std::string& source, const std::string& iface, date::local_days first,
                    date::local_days last) const {
    for (auto d = first; d <= last; d += date::days{1}) process(source, iface, partition_name(Frequency::daily, d));
  }

 private:
  std::filesystem::path root_;
};

// A Config built in code. Orders are sorted by id on build(), as the loader does.
class ConfigBuilder {
 public:
  explicit ConfigBuilder(std::filesystem::path warehouse = "/nonexistent/warehouse") {
    c_.settings.warehouse = std::move(warehouse);
  }

  ConfigBuilder& interface(Source source, const std::string& name, const std::string& system, Frequency f) {
    c_.catalogue.interfaces.push_back({name, source, system, f, {}});
    return *this;
  }
  // The example catalogue of docs/configuration.md, plus a weekly interface.
  ConfigBuilder& standard_catalogue() {
    interface(Source::DSA, "CPR_PERSON", "CPR", Frequency::daily);
    interface(Source::DSA, "CPR_ADRESSE", "CPR", Frequency::daily);
    interface(Source::DSA, "SYGDOM_UGE", "KMD", Frequency::weekly);
    interface(Source::DSA, "LOEN_ANSAT", "OPUS", Frequency::monthly);
    interface(Source::DSA, "BOLIG", "BBR", Frequency::monthly);
    interface(Source::legacy, "CPR_PERSON_RAW", "CPR", Frequency::daily);
    interface(Source::DM, "DM_BORGER", "FLIS", Frequency::monthly);
    interface(Source::DM, "DM_OEKONOMI", "FLIS", Frequency::monthly);
    return *this;
  }
  ConfigBuilder& month(date::year_month ym, const std::string& ready,
                       const std::map<std::string, std::string>& systems = {}) {
    Calendar::Month m;
    m.ready = local(ready);
    for (const auto& [sys, t] : systems) m.systems[sys] = local(t);
    c_.calendar.monthly[ym] = m;
    return *this;
  }
  ConfigBuilder& timezone(const std::string& tz) {
    c_.settings.timezone = tz;
    return *this;
  }

  Order& subscription(const std::string& id, int municipality, OrderType type, std::vector<std::string> interfaces,
                      const std::string& start, const std::string& end, Source source = Source::DSA) {
    Order o;
    o.id = id;
    o.municipality = municipality;
    o.type = type;
    o.source = source;
    o.interfaces = std::move(interfaces);
    o.start = ymd(start);
    o.end = ymd(end);
    o.pos.file = "orders/" + id + ".yaml";
    c_.orders.push_back(o);
    return c_.orders.back();
  }
  Order& one_off(const std::string& id, int municipality, std::vector<std::string> interfaces,
                 const std::string& from, const std::string& to, Chunk chunk) {
    Order o;
    o.id = id;
    o.municipality = municipality;
    o.type = OrderType::one_off;
    o.source = Source::DSA;
    o.interfaces = std::move(interfaces);
    o.from = ymd(from);
    o.to = ymd(to);
    o.chunk = chunk;
    o.pos.file = "orders/" + id + ".yaml";
    c_.orders.push_back(o);
    return c_.orders.back();
  }
  // The generated datamart order of a municipality (rule 4): monthly, source DM, open-ended.
  Order& datamart(int municipality, std::vector<std::string> datamarts, const std::string& start) {
    Order o;
    o.id = "DM-" + std::to_string(municipality);
    o.municipality = municipality;
    o.type = OrderType::monthly;
    o.source = Source::DM;
    o.interfaces = std::move(datamarts);
    o.start = ymd(start);
    o.generated = true;
    c_.orders.push_back(o);
    return c_.orders.back();
  }

  Config build() const {
    Config c = c_;
    std::sort(c.orders.begin(), c.orders.end(), [](const Order& a, const Order& b) { return a.id < b.id; });
    return c;
  }

 private:
  Config c_;
};

}  // namespace flis::test
