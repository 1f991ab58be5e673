// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The keys each configuration file accepts. The loader refuses any other key (with a
// "did you mean"), and a test checks that docs/configuration.md documents every one of them, so
// the reference cannot drift from what the loader does.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flis::schema {

// flisd.yaml
inline const std::vector<std::string_view> kSettings{"timezone", "warehouse",   "state",   "workers",  "backfill_workers",
                                                     "retry",    "compression", "targets", "datamarts",
                                                     "metrics"};
inline const std::vector<std::string_view> kRetry{"attempts", "initial", "max"};
inline const std::vector<std::string_view> kCompression{"level", "threads"};
inline const std::vector<std::string_view> kTarget{"type",        "host",    "port",         "user",
                                                   "identity",    "known_hosts", "timeout", "max_sessions", "uploads_per_session", "path",
                                                   "file_mode",   "dir_mode"};
inline const std::vector<std::string_view> kSftpOnly{"host", "port", "user", "identity", "known_hosts", "timeout", "max_sessions", "uploads_per_session"};
inline const std::vector<std::string_view> kDatamarts{"start", "delivery", "entitlements"};
inline const std::vector<std::string_view> kMetrics{"listen"};
// interfaces.yaml
inline const std::vector<std::string_view> kCatalogue{"sources"};
inline const std::vector<std::string_view> kInterface{"system", "frequency"};
// calendar/*.yaml
inline const std::vector<std::string_view> kCalendar{"daily", "weekly", "monthly"};
inline const std::vector<std::string_view> kDaily{"ready", "lag_days"};
inline const std::vector<std::string_view> kWeekly{"ready", "weekday"};
inline const std::vector<std::string_view> kMonth{"ready", "systems"};
// orders/*.yaml
inline const std::vector<std::string_view> kOrder{"id",         "municipality", "type", "source", "delivery", "interfaces",
                                                  "start",      "end",          "from", "to",     "chunk",    "status"};

// Allowed values that are not model enums.
inline const std::vector<std::string_view> kDeliveries{"flis", "serviceplatformen"};
inline const std::vector<std::string_view> kWeekdays{"monday", "tuesday",  "wednesday", "thursday",
                                                     "friday", "saturday", "sunday"};

// Every accepted key as "file: dotted.key" (e.g. "flisd.yaml: retry.attempts"), for the docs test.
inline std::vector<std::string> all_keys() {
  std::vector<std::string> out;
  auto add = [&out](std::string_view file, std::string_view prefix, const std::vector<std::string_view>& keys) {
    for (auto k : keys) out.push_back(std::string(file) + ": " + std::string(prefix) + std::string(k));
  };
  add("flisd.yaml", "", kSettings);
  add("flisd.yaml", "retry.", kRetry);
  add("flisd.yaml", "compression.", kCompression);
  add("flisd.yaml", "targets.<delivery>.", kTarget);
  add("flisd.yaml", "datamarts.", kDatamarts);
  add("flisd.yaml", "metrics.", kMetrics);
  add("interfaces.yaml", "", kCatalogue);
  add("interfaces.yaml", "sources.<source>.<interface>.", kInterface);
  add("calendar/*.yaml", "", kCalendar);
  add("calendar/*.yaml", "daily.", kDaily);
  add("calendar/*.yaml", "weekly.", kWeekly);
  add("calendar/*.yaml", "monthly.<YYYY-MM>.", kMonth);
  add("orders/*.yaml", "", kOrder);
  return out;
}

}  // namespace flis::schema
