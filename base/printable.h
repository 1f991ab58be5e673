// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Text from outside flisd made safe to store and to show on a terminal.
//
// Error messages carry what others wrote: an SFTP server's status message, warehouse and
// configuration file names. A control character in them (ESC[2J clears the screen, ESC]...
// rewrites the window title, a C1 CSI does both on 8-bit terminals) would act on the terminal of
// whoever runs `flisctl runs` or `flisctl validate`. printable() replaces every such character
// with a visible escape, so the text still says what was there and can do nothing.
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace flis {

// `text` with C0 controls (tab and newline included: a message is one line), DEL and C1 controls
// written as \xHH or \u00HH, and bytes that are not UTF-8 as \xHH. Printable UTF-8 (æ, ø, å) is
// kept as it is; text without anything to replace comes back unchanged.
std::string printable(std::string_view text);

}  // namespace flis
