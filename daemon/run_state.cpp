// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The run state machine's rules. See daemon/run_state.h.
#include "daemon/run_state.h"

#include <algorithm>
#include <array>
#include <utility>

namespace flis {
namespace {

constexpr std::array<std::pair<RunStatus, std::string_view>, 6> kStatusNames{{
    {RunStatus::waiting, "waiting"},
    {RunStatus::queued, "queued"},
    {RunStatus::running, "running"},
    {RunStatus::delivered, "delivered"},
    {RunStatus::failed, "failed"},
    {RunStatus::cancelled, "cancelled"},
}};

constexpr std::array<std::pair<RunKind, std::string_view>, 3> kKindNames{{
    {RunKind::subscription, "subscription"},
    {RunKind::backfill, "backfill"},
    {RunKind::datamart, "datamart"},
}};

}  // namespace

std::string_view to_string(RunStatus s) {
  for (const auto& [v, n] : kStatusNames)
    if (v == s) return n;
  return "?";
}

std::optional<RunStatus> parse_run_status(std::string_view s) {
  for (const auto& [v, n] : kStatusNames)
    if (n == s) return v;
  return std::nullopt;
}

std::string_view to_string(RunKind k) {
  for (const auto& [v, n] : kKindNames)
    if (v == k) return n;
  return "?";
}

std::optional<RunKind> parse_run_kind(std::string_view s) {
  for (const auto& [v, n] : kKindNames)
    if (n == s) return v;
  return std::nullopt;
}

RunKind kind_of(const Order& order) {
  if (order.generated) return RunKind::datamart;
  return order.is_subscription() ? RunKind::subscription : RunKind::backfill;
}

bool transition_allowed(RunStatus from, RunStatus to) {
  using S = RunStatus;
  switch (to) {
    case S::waiting: return from == S::waiting;  // only its list of missing partitions changes
    // Data came, a retry is due, shutdown or crash recovery put it back, or `flisctl trigger`.
    case S::queued: return from == S::waiting || from == S::failed || from == S::cancelled || from == S::running;
    case S::running: return from == S::queued;  // so no run ever starts twice
    case S::delivered: return from == S::running;
    case S::failed: return from == S::running;
    case S::cancelled: return from == S::waiting || from == S::queued || from == S::failed;  // never running
  }
  return false;
}

std::vector<RunStatus> sources_of(RunStatus to) {
  std::vector<RunStatus> out;
  for (const auto& [from, name] : kStatusNames)
    if (transition_allowed(from, to)) out.push_back(from);
  return out;
}

bool is_late(std::optional<Instant> expected, Instant now) { return expected && now >= *expected; }

std::chrono::seconds retry_backoff(const RetryPolicy& policy, int attempts) {
  std::chrono::seconds delay = policy.initial;
  for (int i = 1; i < attempts && delay < policy.max; ++i) delay *= 2;
  return std::min(delay, policy.max);
}

}  // namespace flis
