// Small formatting helpers for runs, shared by the Runner's log lines and `flisctl runs`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

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

}  // namespace flis
