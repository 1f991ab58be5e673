// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// libFuzzer target: the period and instant parsers of config/period.h, which read what a sysadmin
// types (`flisctl trigger --period`, `--now`, `--from`) and what the state database holds.
//
// Beyond "no crash, no sanitizer report", it checks the parsers' documented contracts:
//  - Period::parse accepts only canonical names: a parsed period's name() is the input, its days
//    are in order, and parsing the name again gives the same period;
//  - parse_instant reads back what format_local_iso writes, in Copenhagen and in UTC.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <string_view>

#include "config/period.h"

namespace {

[[noreturn]] void fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "fuzz_period: %s for input '%.*s': %s\n", what, int(input.size()), input.data(), detail.c_str());
  std::abort();
}

void check_period(std::string_view text) {
  auto p = flis::Period::parse(text);
  if (!p) return;
  if (p->first > p->last) fail("period with first > last", text, p->name());
  if (p->name() != text) fail("parse accepted a non-canonical name", text, p->name());
  auto again = flis::Period::parse(p->name());
  if (!again || !(*again == *p)) fail("name() does not parse back to the same period", text, p->name());
}

void check_instant(std::string_view text, const date::time_zone* tz) {
  auto t = flis::parse_instant(text, tz);
  if (!t) return;
  // Round trips only where the calendar is sane (the tz database covers these years).
  auto year = date::year_month_day{date::floor<date::days>(*t)}.year();
  if (year < date::year{1900} || year > date::year{2400}) return;
  std::string iso = flis::format_local_iso(*t, tz);
  auto back = flis::parse_instant(iso, tz);
  if (!back || *back != *t) fail("format_local_iso does not parse back", text, iso);
  (void)flis::local_day(*t, tz);
  (void)flis::format_local_short(*t, tz);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const date::time_zone* copenhagen = date::locate_zone("Europe/Copenhagen");
  static const date::time_zone* utc = date::locate_zone("Etc/UTC");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_period(text);
  check_instant(text, copenhagen);
  check_instant(text, utc);
  return 0;
}
