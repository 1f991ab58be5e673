// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// What the fault and security tests read back after `flisd --once`: the runs in a FlisdTree's
// state database, and the flisd.yaml line of an SFTP target served by the test's sshd.
#pragma once

#include <boost/test/unit_test.hpp>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "daemon/state_store.h"
#include "tests/support/faults.h"
#include "tests/support/sshd.h"

namespace flis {
inline std::ostream& operator<<(std::ostream& o, RunStatus s) { return o << to_string(s); }
}  // namespace flis

namespace flis::test::faults {

inline bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// Every run in the tree's state database (of `order` only, if given), oldest first.
inline std::vector<flis::Run> runs_of(const FlisdTree& tree, const std::optional<std::string>& order = std::nullopt) {
  auto store = flis::StateStore::open_readonly(tree.state());
  BOOST_TEST_REQUIRE(store.ok(), store.message());
  auto runs = (*store)->list({.order = order});
  BOOST_TEST_REQUIRE(runs.ok(), runs.message());
  return *runs;
}

// The one run (of `order`, if given); more or fewer is a failure of the test.
inline flis::Run the_run(const FlisdTree& tree, const std::optional<std::string>& order = std::nullopt) {
  auto runs = runs_of(tree, order);
  BOOST_TEST_REQUIRE(runs.size() == 1u, order.value_or("the state") << " has " << runs.size() << " runs");
  return runs.front();
}

// The "  flis: {type: sftp, ...}" line for `sshd` reached at `port` (its own, or a proxy's),
// delivering to kommuner/{municipality} under the server's root.
inline std::string sftp_target_yaml(const SshdFixture& sshd, int port, const fs::path& identity,
                                    const fs::path& known_hosts, const std::string& timeout = "30s") {
  flis::Target t = sshd.target("kommuner/{municipality}");
  return "  flis: {type: sftp, host: 127.0.0.1, port: " + std::to_string(port) + ", user: " + t.user +
         ", identity: " + identity.string() + ", known_hosts: " + known_hosts.string() + ", timeout: " + timeout +
         ", path: \"" + t.path + "\"}\n";
}

}  // namespace flis::test::faults
