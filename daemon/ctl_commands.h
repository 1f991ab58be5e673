// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl's subcommands, one file each (daemon/ctl_*.cpp). Each registers itself on the app; when
// chosen, its callback stores the exit code in `result` (0 success, 1 failed check or action).
#pragma once

#include <CLI/CLI.hpp>

#include "daemon/options.h"

namespace flis {

struct LoadResult;

// How --now is written, for the errors of the commands that take it (plan, runs).
inline constexpr const char* kTimeForms = "use 2026-12-04T06:00:00+01:00, 2026-12-04T05:00:00Z or local 2026-12-04 06:00";

void register_validate(CLI::App& app, const CommonOptions& common, int& result);  // ctl_validate.cpp
void register_check(CLI::App& app, const CommonOptions& common, int& result);     // ctl_check.cpp
// validate's report of a loaded tree: the diagnostics on stderr, the summary line on stdout.
// 1 when there are errors, else 0. ctl_validate.cpp
int report_validation(const std::string& dir, const LoadResult& loaded);
void register_copy(CLI::App& app, const CommonOptions& common, int& result);      // ctl_copy.cpp
void register_plan(CLI::App& app, CommonOptions& common, int& result);            // ctl_plan.cpp
void register_runs(CLI::App& app, CommonOptions& common, int& result);            // ctl_runs.cpp
void register_diff(CLI::App& app, CommonOptions& common, int& result);            // ctl_diff.cpp
void register_state_copy(CLI::App& app, const CommonOptions& common, int& result);  // ctl_state_copy.cpp
// trigger, retry, redeliver, reload: through the daemon's control socket. ctl_control.cpp
void register_control(CLI::App& app, const CommonOptions& common, int& result);

}  // namespace flis
