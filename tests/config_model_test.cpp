// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#define BOOST_TEST_MODULE config_model
#include <boost/test/unit_test.hpp>

#include "config/model.h"

using namespace flis;

BOOST_AUTO_TEST_CASE(enum_names_round_trip) {
  BOOST_TEST(to_string(OrderType::one_off) == "one-off");
  BOOST_TEST((parse_order_type("one-off") == OrderType::one_off));
  BOOST_TEST(!parse_source("dsa").has_value());
  BOOST_TEST((parse_source("legacy") == Source::legacy));
}

BOOST_AUTO_TEST_CASE(partition_key_names_source_interface_and_partition) {
  Partition p{Source::DSA, "CPR_PERSON", "2026-11-25"};
  BOOST_TEST(p.key() == "DSA/CPR_PERSON/2026-11-25");
}
