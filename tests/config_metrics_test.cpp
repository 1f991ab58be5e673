// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// metrics.listen in flisd.yaml: absent means no listener; present, it is an IP address and a port,
// and anything else is refused at its line with an example of what works.
#define BOOST_TEST_MODULE config_metrics
#include <boost/test/unit_test.hpp>

#include "config/loader.h"
#include "tests/support/config_tree.h"

using namespace flis;
using flis::test::ConfigTree;

namespace {

// The base settings (11 lines) with a metrics block: `listen:` on line 13.
LoadResult with_listen(const std::string& listen) {
  ConfigTree t;
  t.write("flisd.yaml", std::string(flis::test::kBaseSettings) + "metrics:\n  listen: \"" + listen + "\"\n");
  return t.load();
}

void expect_refused(const std::string& listen, const std::string& text) {
  auto r = with_listen(listen);
  BOOST_TEST_CONTEXT("metrics.listen: " << listen) {
    BOOST_TEST(flis::test::find_diag(r.diagnostics, Diagnostic::Severity::error, "flisd.yaml", 13, text) != nullptr,
               flis::test::dump(r.diagnostics));
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(absent_means_no_listener) {
  ConfigTree t;
  auto r = t.load();
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(!r.config->settings.metrics.has_value());
}

BOOST_AUTO_TEST_CASE(addresses_that_are_accepted) {
  for (std::string listen : {"127.0.0.1:9469", "0.0.0.0:9469", "192.0.2.7:80", "127.0.0.1:0"}) {
    auto r = with_listen(listen);
    BOOST_TEST_CONTEXT("metrics.listen: " << listen) {
      BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
      BOOST_TEST(r.diagnostics.error_count() == 0, flis::test::dump(r.diagnostics));
      BOOST_TEST(r.config->settings.metrics->listen == listen);
    }
  }
}

BOOST_AUTO_TEST_CASE(localhost_becomes_the_loopback_address) {
  auto r = with_listen("localhost:9469");
  BOOST_TEST_REQUIRE(r.config != nullptr, flis::test::dump(r.diagnostics));
  BOOST_TEST(r.config->settings.metrics->listen == "127.0.0.1:9469");
}

BOOST_AUTO_TEST_CASE(a_bare_port_would_listen_everywhere_and_is_refused) {
  expect_refused("9469", "names no address");
  expect_refused(":9469", "names no address");
  expect_refused("9469", "0.0.0.0:9469 for every interface");
}

BOOST_AUTO_TEST_CASE(host_names_and_bad_ports_are_refused) {
  expect_refused("prometheus.example:9469", "is not an IPv4 address (host names are not looked up)");
  expect_refused("[::1]:9469", "IPv6 addresses cannot be served");
  expect_refused("127.0.0.1:65536", "'65536' is not a port");
  expect_refused("127.0.0.1:http", "'http' is not a port");
  expect_refused("127.0.0.1:", "'' is not a port");
}

BOOST_AUTO_TEST_CASE(listen_is_required_and_nothing_else_is_known) {
  ConfigTree t;
  t.write("flisd.yaml", std::string(flis::test::kBaseSettings) + "metrics:\n  port: 9469\n");
  auto r = t.load();
  BOOST_TEST(flis::test::find_diag(r.diagnostics, Diagnostic::Severity::error, "flisd.yaml", 0, "port") != nullptr,
             flis::test::dump(r.diagnostics));
  BOOST_TEST(flis::test::find_diag(r.diagnostics, Diagnostic::Severity::error, "flisd.yaml", 13, "metrics needs 'listen'") !=
                 nullptr,
             flis::test::dump(r.diagnostics));
}
