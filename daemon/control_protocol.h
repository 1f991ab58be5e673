// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The control protocol between flisctl and flisd: over the control socket, the
// client sends one JSON object on one line and the daemon answers with one JSON object on one line,
// then closes the connection.
//
//   {"cmd":"trigger","order":"K101-CPR-D","period":"2026-11-25"}   period optional
//   {"cmd":"retry","run":17}
//   {"cmd":"redeliver","order":"K101-CPR-D","period":"2026-11-25"}
//   {"cmd":"reload"}
//
//   {"ok":true,"message":"queued K101-CPR-D 2026-11-25 (run 17)","runs":[{"run":17,...}],
//    "config":"/etc/flisd"}
//   {"ok":false,"message":"no order 'K999' in /etc/flisd/orders","config":"/etc/flisd"}
//
// "config" is the configuration folder the answering daemon runs with (absolute), so flisctl can
// tell when it reached a flisd other than the one its --config names.
//
// Plain values; thread-safe as values are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace flis {

struct ControlRequest {
  std::string cmd;  // trigger | retry | redeliver | reload
  std::optional<std::string> order;
  std::optional<std::string> period;
  std::optional<int64_t> run;
};

// One run named in a reply, as flisctl prints it.
struct ControlRun {
  int64_t run = 0;
  std::string order;
  std::string period;
  std::string status;
};

struct ControlReply {
  bool ok = false;
  std::string message;  // one or more lines, for a human
  std::vector<ControlRun> runs;
  std::string config;   // the daemon's configuration folder; empty when it did not say
};

// One line of JSON, without the newline.
std::string encode(const ControlRequest& request);
std::string encode(const ControlReply& reply);
// Parsing checks the shape: an unknown command or a missing field is an error naming it.
Result<ControlRequest> decode_request(const std::string& line);
Result<ControlReply> decode_reply(const std::string& line);

}  // namespace flis
