// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Diagnostics: the errors and warnings of a configuration, printed as compilers print them:
//   orders/k101.yaml:4:7: error: unknown source 'DSX'; allowed: DSA, legacy (did you mean 'DSA'?)
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace flis {

struct Diagnostic {
  enum class Severity { error, warning };
  Severity severity = Severity::error;
  Position pos;
  std::string message;  // "what is wrong; what is allowed"

  // "file:line:col: error: message" (line/col omitted when 0), as validate prints it.
  std::string str() const;
  // "file:line:col: message": for a log line, whose priority already says error or warning.
  std::string located() const;
};

class Diagnostics {
 public:
  void error(Position pos, std::string message);
  void warning(Position pos, std::string message);
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void append(const Diagnostics& other);

  bool has_errors() const;
  int error_count() const;
  int warning_count() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  // Sorted by file, line, col: the order a user reads them in.
  std::vector<Diagnostic> sorted() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace flis
