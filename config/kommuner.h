// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The 98 Danish municipalities (kommuner) and their codes (kommunekoder), as used by FLIS and
// Danmarks Statistik since the 2007 municipal reform. An order's `municipality` and the datamart
// entitlements in flisd.yaml must name one of these; 411 Christiansø, for instance, is not a
// kommune and is refused.
//
// Thread-safety: read-only tables; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flis {

// The municipality's name ("København") for a real kommunekode; nullopt for anything else.
std::optional<std::string_view> kommune_name(int code);
// A kommunekode as folder names, package paths and tables write it: three digits ("101", "085").
std::string municipality_code(int code);
// How many codes the table holds (98); for tests.
int kommune_count();

}  // namespace flis
