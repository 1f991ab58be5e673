// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Small formatting helpers for runs, shared by the Runner's log lines and `flisctl runs`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace flis {

// "812 B", "4.0 KiB", "1.3 MiB", "2.1 GiB": binary units, one decimal above bytes.
inline std::string human_bytes(uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

// The partitions a run waits for, short enough for a table cell or a log line: "A, B and 29 more".
inline std::string missing_summary(const std::vector<std::string>& missing) {
  if (missing.empty()) return "-";
  std::string s = missing[0];
  if (missing.size() > 1) s += ", " + missing[1];
  if (missing.size() > 2) s += " and " + std::to_string(missing.size() - 2) + " more";
  return s;
}

}  // namespace flis
