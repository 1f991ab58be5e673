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

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  explicit operator bool() const { return ok(); }
  // The error message; empty for OK.
  const std::string& message() const {
    static const std::string empty;
    return message_ ? *message_ : empty;
  }
  // Returns a Status with "context: " prepended to the message (OK stays OK).
  Status context(const std::string& what) const {
    return ok() ? *this : Status(what + ": " + *message_);
  }

 private:
  explicit Status(std::string m) : message_(std::move(m)) {}
  std::optional<std::string> message_;
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
