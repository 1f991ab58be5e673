// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "config/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace flis {

namespace {

std::string where(const Position& pos) {
  std::string s = pos.file;
  if (pos.line > 0) {
    s += ":" + std::to_string(pos.line);
    if (pos.col > 0) s += ":" + std::to_string(pos.col);
  }
  return s;
}

}  // namespace

std::string Diagnostic::str() const {
  return where(pos) + (severity == Severity::error ? ": error: " : ": warning: ") + message;
}

std::string Diagnostic::located() const { return where(pos) + ": " + message; }

void Diagnostics::error(Position pos, std::string message) {
  items_.push_back({Diagnostic::Severity::error, std::move(pos), std::move(message)});
}

void Diagnostics::warning(Position pos, std::string message) {
  items_.push_back({Diagnostic::Severity::warning, std::move(pos), std::move(message)});
}

void Diagnostics::append(const Diagnostics& other) {
  items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

bool Diagnostics::has_errors() const { return error_count() > 0; }

int Diagnostics::error_count() const {
  return static_cast<int>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::error;
  }));
}

int Diagnostics::warning_count() const { return static_cast<int>(items_.size()) - error_count(); }

std::vector<Diagnostic> Diagnostics::sorted() const {
  std::vector<Diagnostic> v = items_;
  // Stable, so two messages at one place keep the order they were found in.
  std::stable_sort(v.begin(), v.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.pos.file, a.pos.line, a.pos.col) < std::tie(b.pos.file, b.pos.line, b.pos.col);
  });
  return v;
}

}  // namespace flis
