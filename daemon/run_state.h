// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run state machine and its rules, in one place that everyone asks: the states, the kinds of
// run, which transitions are legal (the store enforces the same table in its SQL), when a waiting
// run is late, how long a failed run waits before its next attempt.
//
//   waiting ──data processed──► queued ──worker──► running ──► delivered
//      │                        ▲   ▲                 │
//      │           retry time / │   │ shutdown,       ▼
//      │           by hand      │   └─recovery──── failed ──(no attempts left: stays)
//      └──────┬─────────────────┴─────────────────────┘
//             ▼ order cancelled, deactivated or removed (never while running)
//         cancelled ──order active again / by hand──► queued
//
// Thread-safety: plain functions of values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "config/model.h"

namespace flis {

enum class RunStatus : uint8_t { waiting, queued, running, delivered, failed, cancelled };
std::string_view to_string(RunStatus);
std::optional<RunStatus> parse_run_status(std::string_view);

// What kind of order a run belongs to: backfill chunks (one-off orders) go behind the others.
enum class RunKind : uint8_t { subscription, backfill, datamart };
std::string_view to_string(RunKind);
std::optional<RunKind> parse_run_kind(std::string_view);
RunKind kind_of(const Order& order);

// Whether a run may go from `from` to `to`.
bool transition_allowed(RunStatus from, RunStatus to);
// The states a run may come from to reach `to`.
std::vector<RunStatus> sources_of(RunStatus to);

// A waiting run is late from its expected time on (inclusive); never while the calendar lacks it.
bool is_late(std::optional<Instant> expected, Instant now);

// How long a failed run waits after `attempts` attempts: initial * 2^(attempts-1), capped at max.
std::chrono::seconds retry_backoff(const RetryPolicy& policy, int attempts);

}  // namespace flis
