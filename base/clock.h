// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The clock, injected everywhere time matters so scheduling tests are exact and fast.
#pragma once

#include <chrono>
#include <functional>

namespace flis {

using Instant = std::chrono::sys_seconds;  // a UTC instant, whole seconds
using Clock = std::function<Instant()>;

inline Instant system_now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace flis
