// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Status and Result: flisd's one error style, after LevelDB's Status.
//
// Errors are values, not exceptions: every operation that can fail for a reason a sysadmin must
// read returns a Status (or a Result<T>) whose message names the thing that failed (file, server,
// order) and what it said. Exceptions from libraries (yaml-cpp, std::filesystem) are caught at the
// boundary of the module that calls them and turned into a Status.
//
// Thread-safety: const methods may be called from many threads without synchronisation.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace flis {

// What kind of error a Status is, for the few callers that act differently on one: a node that
// lost its lease on a run (daemon/state_store.h) must abandon the run, not retry it.
enum class StatusCode { ok, error, lease_lost };

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }
  static Status LeaseLost(std::string message) { return Status(std::move(message), StatusCode::lease_lost); }

  bool ok() const { return !message_.has_value(); }
  explicit operator bool() const { return ok(); }
  StatusCode code() const { return ok() ? StatusCode::ok : code_; }
  // The error message; empty for OK.
  const std::string& message() const {
    static const std::string empty;
    return message_ ? *message_ : empty;
  }
  // Returns a Status with "context: " prepended to the message (OK stays OK).
  Status context(const std::string& what) const {
    return ok() ? *this : Status(what + ": " + *message_, code_);
  }

 private:
  explicit Status(std::string m, StatusCode code = StatusCode::error) : message_(std::move(m)), code_(code) {}
  std::optional<std::string> message_;
  StatusCode code_ = StatusCode::error;
};

// A value or an error Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Status error) : v_(std::move(error)) {}     // NOLINT: must not be OK
  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }
  const std::string& message() const {
    static const std::string empty;
    return ok() ? empty : std::get<Status>(v_).message();
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace flis
