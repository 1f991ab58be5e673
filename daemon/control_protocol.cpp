// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// JSON lines of the control protocol (nlohmann-json); see control_protocol.h.
#include "daemon/control_protocol.h"

#include <nlohmann/json.hpp>

namespace flis {
namespace {

using nlohmann::json;

Result<std::string> string_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Error(std::string("missing \"") + key + "\"");
  if (!it->is_string()) return Status::Error(std::string("\"") + key + "\" must be a string");
  return it->get<std::string>();
}

}  // namespace

std::string encode(const ControlRequest& r) {
  json j;
  j["cmd"] = r.cmd;
  if (r.order) j["order"] = *r.order;
  if (r.period) j["period"] = *r.period;
  if (r.run) j["run"] = *r.run;
  return j.dump();
}

std::string encode(const ControlReply& r) {
  json j;
  j["ok"] = r.ok;
  j["message"] = r.message;
  json runs = json::array();
  for (const auto& run : r.runs)
    runs.push_back({{"run", run.run}, {"order", run.order}, {"period", run.period}, {"status", run.status}});
  j["runs"] = runs;
  if (!r.config.empty()) j["config"] = r.config;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<ControlRequest> decode_request(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Error("control request is not a JSON object");
  auto cmd = string_field(j, "cmd");
  if (!cmd) return cmd.status().context("control request");
  ControlRequest r;
  r.cmd = *cmd;
  if (r.cmd == "reload") return r;
  if (r.cmd == "retry") {
    auto it = j.find("run");
    if (it == j.end() || !it->is_number_integer())
      return Status::Error("control request retry: \"run\" must be a run number");
    r.run = it->get<int64_t>();
    return r;
  }
  if (r.cmd == "trigger" || r.cmd == "redeliver") {
    auto order = string_field(j, "order");
    if (!order) return order.status().context("control request " + r.cmd);
    r.order = *order;
    if (j.contains("period") && !j["period"].is_null()) {
      auto period = string_field(j, "period");
      if (!period) return period.status().context("control request " + r.cmd);
      r.period = *period;
    } else if (r.cmd == "redeliver") {
      return Status::Error("control request redeliver: missing \"period\"");
    }
    return r;
  }
  return Status::Error("unknown control command '" + r.cmd + "'; known: trigger, retry, redeliver, reload");
}

Result<ControlReply> decode_reply(const std::string& line) {
  json j = json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ok") || !j["ok"].is_boolean())
    return Status::Error("flisd sent a reply flisctl does not understand: " + line.substr(0, 200));
  ControlReply r;
  r.ok = j["ok"].get<bool>();
  if (j.contains("message") && j["message"].is_string()) r.message = j["message"].get<std::string>();
  if (j.contains("config") && j["config"].is_string()) r.config = j["config"].get<std::string>();
  if (j.contains("runs") && j["runs"].is_array()) {
    for (const auto& x : j["runs"]) {
      ControlRun run;
      run.run = x.value("run", int64_t{0});
      run.order = x.value("order", std::string());
      run.period = x.value("period", std::string());
      run.status = x.value("status", std::string());
      r.runs.push_back(std::move(run));
    }
  }
  return r;
}

}  // namespace flis
