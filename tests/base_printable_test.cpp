// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// printable(): text from outside flisd (server messages, file names) made safe for a terminal.
#define BOOST_TEST_MODULE config_printable
#include <boost/test/unit_test.hpp>

#include "base/printable.h"

using flis::printable;

BOOST_AUTO_TEST_CASE(control_characters_are_written_out) {
  BOOST_TEST(printable("a\x1b[2Jb") == "a\\x1b[2Jb");
  BOOST_TEST(printable("line\nnext\ttab\r") == "line\\x0anext\\x09tab\\x0d");
  BOOST_TEST(printable(std::string("nul\0x", 5)) == "nul\\x00x");
  BOOST_TEST(printable("del\x7f") == "del\\x7f");
  BOOST_TEST(printable("csi\xc2\x9b" "2J") == "csi\\u009b2J");  // C1 as UTF-8
  BOOST_TEST(printable("raw\x9b" "2J") == "raw\\x9b2J");        // C1 as a bare byte: not UTF-8
  BOOST_TEST(printable("bad\xff\xc3") == "bad\\xff\\xc3");
}

BOOST_AUTO_TEST_CASE(printable_text_is_kept_as_it_is) {
  for (std::string s : {"", "plain ascii: 100% ok (see /x/y)", "København, Århus, Ærø, ø", "€ 5 \xc2\xa0nbsp",
                        "\xf0\x9f\x98\x80 emoji"})
    BOOST_TEST(printable(s) == s);
}
