// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Loading: the examples, the model the loader builds (paths, generated datamart orders, version),
// reloading with a last good configuration, and the documentation of every accepted key.
#define BOOST_TEST_MODULE config_loader
#include <boost/test/unit_test.hpp>

#include <fstream>
#include <sstream>

#include "config/loader.h"
#include "config/schema.h"
#include "tests/support/config_tree.h"

using namespace flis;
using flis::test::ConfigTree;
using Sev = Diagnostic::Severity;

namespace {

const std::filesystem::path kExamples = std::filesystem::path(FLISD_SOURCE_DIR) / "config/examples";

date::year_month_day ymd(int y, unsigned m, unsigned d) { return date::year{y} / m / d; }

}  // namespace

BOOST_AUTO_TEST_CASE(examples_validate_with_only_the_intended_rule6_warning) {
  auto r = load_config(kExamples);
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.diagnostics.error_count() == 0, flis::test::dump(r.diagnostics));
  BOOST_TEST_REQUIRE(r.diagnostics.warning_count() == 1, flis::test::dump(r.diagnostics));
  const auto& w = r.diagnostics.items()[0];
  BOOST_TEST(w.pos.file == "orders/K147-MIXED-MONTHLY.yaml");
  BOOST_TEST(w.message.find("fagsystemer") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(examples_hold_every_kind_of_order) {
  auto r = load_config(kExamples);
  BOOST_TEST_REQUIRE(r.config != nullptr);
  const Config& c = *r.config;
  int one_off = 0, daily = 0, weekly = 0, monthly = 0, legacy = 0, cancelled = 0, deactivated = 0, generated = 0;
  for (const auto& o : c.orders) {
    one_off += o.type == OrderType::one_off, daily += o.type == OrderType::daily;
    weekly += o.type == OrderType::weekly, monthly += o.type == OrderType::monthly;
    legacy += o.source == Source::legacy, generated += o.generated;
    cancelled += o.status == OrderStatus::cancelled, deactivated += o.status == OrderStatus::deactivated;
  }
  BOOST_TEST(one_off >= 2);
  BOOST_TEST(daily >= 1);
  BOOST_TEST(weekly >= 1);
  BOOST_TEST(monthly >= 2);
  BOOST_TEST(legacy >= 1);
  BOOST_TEST(cancelled == 1);
  BOOST_TEST(deactivated == 1);
  BOOST_TEST(generated == 4);
  BOOST_TEST(std::is_sorted(c.orders.begin(), c.orders.end(),
                            [](const Order& a, const Order& b) { return a.id < b.id; }));
}

BOOST_AUTO_TEST_CASE(relative_paths_resolve_against_the_config_folder) {
  auto r = load_config(kExamples);
  BOOST_TEST_REQUIRE(r.config != nullptr);
  const Settings& s = r.config->settings;
  BOOST_TEST(s.warehouse == kExamples / "demo/warehouse");
  BOOST_TEST(s.state == kExamples / "demo/state.db");
  BOOST_TEST(s.targets.at("flis").path == (kExamples / "demo/outbox/flis/{municipality}").string());
  BOOST_TEST(r.config->dir == kExamples);
}

BOOST_AUTO_TEST_CASE(example_settings_and_calendar_are_read) {
  auto r = load_config(kExamples);
  BOOST_TEST_REQUIRE(r.config != nullptr);
  const Config& c = *r.config;
  BOOST_TEST(c.settings.timezone == "Europe/Copenhagen");
  BOOST_TEST(c.settings.retry.initial.count() == 60);
  BOOST_TEST(c.settings.retry.max.count() == 6 * 3600);
  BOOST_TEST(c.calendar.monthly.size() == 24u);
  BOOST_TEST((c.calendar.weekly.weekday == date::Tuesday));
  BOOST_TEST(c.calendar.daily.ready.count() == 360);
  const auto& nov = c.calendar.monthly.at(date::year{2026} / date::November);
  BOOST_TEST(date::format("%F %H:%M", nov.ready) == "2026-12-04 06:00");
  BOOST_TEST(date::format("%F %H:%M", nov.systems.at("OPUS")) == "2026-12-09 06:00");
  const Interface* cpr = c.catalogue.find(Source::DSA, "CPR_PERSON");
  BOOST_TEST_REQUIRE(cpr != nullptr);
  BOOST_TEST(cpr->system == "CPR");
  BOOST_TEST((cpr->frequency == Frequency::daily));
}

BOOST_AUTO_TEST_CASE(generated_datamart_orders_follow_rule_4) {
  auto r = load_config(kExamples);
  BOOST_TEST_REQUIRE(r.config != nullptr);
  const Order* dm = r.config->find_order(datamart_order_id(101));
  BOOST_TEST_REQUIRE(dm != nullptr);
  BOOST_TEST(dm->id == "DM-101");
  BOOST_TEST(dm->generated);
  BOOST_TEST((dm->type == OrderType::monthly));
  BOOST_TEST((dm->source == Source::DM));
  BOOST_TEST(dm->delivery == "flis");
  BOOST_TEST(dm->municipality == 101);
  BOOST_TEST((dm->interfaces == std::vector<std::string>{"DM_BORGER", "DM_OEKONOMI", "DM_BESKAEFTIGELSE"}));
  BOOST_TEST((dm->start == ymd(2026, 1, 1)));
  BOOST_TEST(!dm->end.has_value());
  BOOST_TEST(dm->pos.file == "flisd.yaml");
  BOOST_TEST(dm->pos.line == 35);  // "    101: [DM_BORGER, ...]" under datamarts.entitlements
  BOOST_TEST(dm->pos.col == 5);
}

BOOST_AUTO_TEST_CASE(an_order_is_read_field_by_field) {
  ConfigTree t;
  t.write("orders/o.yaml", "id: K751-X\nmunicipality: 751\ntype: one-off\nsource: DSA\ndelivery: flis\n"
                           "interfaces: [LOEN_ANSAT]\nfrom: 2024-01-01\nto: 2024-12-31\nchunk: year\n"
                           "status: cancelled\n");
  auto r = t.load();
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  const Order* o = r.config->find_order("K751-X");
  BOOST_TEST_REQUIRE(o != nullptr);
  BOOST_TEST(o->municipality == 751);
  BOOST_TEST((o->type == OrderType::one_off));
  BOOST_TEST((o->chunk == Chunk::year));
  BOOST_TEST((o->status == OrderStatus::cancelled));
  BOOST_TEST((o->from == ymd(2024, 1, 1)));
  BOOST_TEST((o->to == ymd(2024, 12, 31)));
  BOOST_TEST(!o->start.has_value());
  BOOST_TEST(o->pos.file == "orders/o.yaml");
  BOOST_TEST(!o->generated);
}

BOOST_AUTO_TEST_CASE(version_is_a_content_hash) {
  ConfigTree t;
  auto a = t.load(), b = t.load();
  BOOST_TEST_REQUIRE(a.config != nullptr);
  BOOST_TEST(a.config->version.size() == 12u);
  BOOST_TEST(a.config->version.find_first_not_of("0123456789abcdef") == std::string::npos);
  BOOST_TEST(a.config->version == b.config->version);
  t.write("orders/k101.yaml", std::string(flis::test::kBaseOrder) + "# a comment\n");
  auto c = t.load();
  BOOST_TEST(c.config->version != a.config->version);
}

BOOST_AUTO_TEST_CASE(reload_keeps_the_last_good_version_of_a_broken_order) {
  ConfigTree t;
  auto good = t.load();
  BOOST_TEST_REQUIRE(good.config != nullptr);
  t.write("orders/k101.yaml", "id: K101-CPR-DAILY\nmunicipality: 101\ntype: daily\nsource: DSA\n"
                              "delivery: flis\ninterfaces: [CPR_PERSON]\nstart: 2026-11-01\nend: 2026-02-30\n");
  auto fresh = t.load();
  BOOST_TEST(!fresh.config);  // without a last good configuration, an error makes it unusable
  auto reload = t.load(good.config.get());
  BOOST_TEST_REQUIRE(reload.config != nullptr, flis::test::dump(reload.diagnostics));
  BOOST_TEST(reload.diagnostics.has_errors());  // still reported
  BOOST_TEST(flis::test::find_diag(reload.diagnostics, Sev::error, "orders/k101.yaml", 8, "not a real date"));
  const Order* kept = reload.config->find_order("K101-CPR-DAILY");
  BOOST_TEST_REQUIRE(kept != nullptr);
  BOOST_TEST(kept->interfaces.size() == 2u);  // the old version, with both interfaces
  BOOST_TEST((kept->end == ymd(2026, 12, 31)));
}

BOOST_AUTO_TEST_CASE(reload_drops_a_removed_order_file) {
  ConfigTree t;
  auto good = t.load();
  BOOST_TEST_REQUIRE(good.config != nullptr);
  t.remove("orders/k101.yaml");
  auto reload = t.load(good.config.get());
  BOOST_TEST_REQUIRE(reload.config != nullptr);
  BOOST_TEST(reload.config->find_order("K101-CPR-DAILY") == nullptr);
  BOOST_TEST(reload.config->find_order("DM-101") != nullptr);
}

BOOST_AUTO_TEST_CASE(reload_with_broken_settings_or_calendar_is_unusable) {
  ConfigTree t;
  auto good = t.load();
  BOOST_TEST_REQUIRE(good.config != nullptr);
  t.write("flisd.yaml", "workers: many\n");
  BOOST_TEST(!t.load(good.config.get()).config);
  t.write("flisd.yaml", flis::test::kBaseSettings);
  t.write("calendar/2026.yaml", "daily: {ready: \"6 o'clock\"}\n");
  BOOST_TEST(!t.load(good.config.get()).config);
}

BOOST_AUTO_TEST_CASE(a_new_broken_order_is_left_out_on_reload) {
  ConfigTree t;
  auto good = t.load();
  t.write("orders/new.yaml", "id: NEW\nmunicipality: 411\n");
  auto reload = t.load(good.config.get());
  BOOST_TEST_REQUIRE(reload.config != nullptr);
  BOOST_TEST(reload.config->find_order("NEW") == nullptr);
  BOOST_TEST(reload.config->orders.size() == good.config->orders.size());
}

BOOST_AUTO_TEST_CASE(hidden_files_are_skipped_and_yml_files_warned_about) {
  ConfigTree t;
  t.write("orders/.K1.yaml.tmp", "garbage: [");
  t.write("orders/.#k101.yaml", "garbage: [");
  t.write("orders/k2.yml", "id: K2\n");
  auto r = t.load();
  BOOST_TEST(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(flis::test::find_diag(r.diagnostics, Sev::warning, "orders/k2.yml", 0, "*.yaml"));
}

BOOST_AUTO_TEST_CASE(in_memory_files_load_like_a_folder) {
  ConfigTree t;
  Diagnostics read;
  ConfigFiles files = read_config_files(t.dir(), read);
  BOOST_TEST(files.size() == 4u);
  BOOST_TEST(files.count("orders/k101.yaml") == 1u);
  files["orders/extra.yaml"] = "id: EXTRA\nmunicipality: 147\ntype: monthly\nsource: legacy\ndelivery: flis\n"
                               "interfaces: [LOEN_RAW]\nstart: 2026-01-01\nend: 2026-12-31\n";
  auto r = load_config_files(t.dir(), files);
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->find_order("EXTRA") != nullptr);
}

BOOST_AUTO_TEST_CASE(the_configuration_reference_documents_every_accepted_key) {
  std::ifstream in(std::filesystem::path(FLISD_SOURCE_DIR) / "docs/configuration.md");
  BOOST_TEST_REQUIRE(in.good(), "docs/configuration.md is missing");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const auto& key : schema::all_keys()) {
    // "flisd.yaml: retry.attempts" is documented as `retry.attempts` (the full dotted key).
    std::string dotted = key.substr(key.find(": ") + 2);
    BOOST_TEST(doc.find("`" + dotted + "`") != std::string::npos, "docs/configuration.md lacks `" << dotted << "`");
  }
}

// An order file's name reaches shells (bash completion), logs and terminals: a name that is not
// <safe name>.yaml is refused, its contents unread, whether it comes from a folder or from memory.
BOOST_AUTO_TEST_CASE(an_order_file_with_an_unsafe_name_is_refused) {
  ConfigTree t;
  t.write("orders/$(touch${IFS}PWNED).yaml", std::string(flis::test::kBaseOrder));
  auto r = t.load();
  BOOST_TEST(r.config == nullptr, "a configuration with an unsafe order file name must not load");
  const Diagnostic* d = flis::test::find_diag(r.diagnostics, Sev::error, "orders/$(touch${IFS}PWNED).yaml", 0,
                                              "order file name is not allowed");
  BOOST_TEST_REQUIRE(d != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(d->str().find("name order files <name>.yaml") != std::string::npos, d->str());

  // A control character in the name is shown escaped, never sent to the terminal as is.
  ConfigTree esc;
  esc.write("orders/x\x1b[2J.yaml", "id: X\n");
  auto re = esc.load();
  BOOST_TEST(flis::test::find_diag(re.diagnostics, Sev::error, "orders/x\\x1b[2J.yaml", 0, "not allowed"),
             flis::test::dump(re.diagnostics));

  // The same rule for files given in memory (a tree read from git).
  Diagnostics read;
  ConfigTree base;
  ConfigFiles files = read_config_files(base.dir(), read);
  files["orders/K1 2.yaml"] = "id: K1\n";
  auto rm = load_config_files(base.dir(), files);
  BOOST_TEST(rm.config == nullptr);
  BOOST_TEST(flis::test::find_diag(rm.diagnostics, Sev::error, "orders/K1 2.yaml", 0, "not allowed"),
             flis::test::dump(rm.diagnostics));
}

// The name need not be the id: K101.yaml may hold order K101-CPR-DAILY.
BOOST_AUTO_TEST_CASE(an_order_file_name_need_not_equal_its_id) {
  ConfigTree t;
  auto r = t.load();
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  const Order* o = r.config->find_order("K101-CPR-DAILY");
  BOOST_TEST_REQUIRE(o != nullptr);
  BOOST_TEST(o->pos.file == "orders/k101.yaml");
}
