// Placeholder until the journald backend lands: stderr only.
#include "daemon/log.h"

#include <cstdio>
#include <mutex>

namespace flis {
namespace {
std::mutex g_mu;
}

std::optional<LogTarget> parse_log_target(std::string_view s) {
  if (s == "auto") return LogTarget::automatic;
  if (s == "journal") return LogTarget::journal;
  if (s == "stderr") return LogTarget::stderr_only;
  return std::nullopt;
}

void log_init(LogTarget, std::string_view) {}

void log_event(Event, Priority, const LogFields&, const std::string& message) {
  std::lock_guard lock(g_mu);
  std::fprintf(stderr, "%s\n", message.c_str());
}

}  // namespace flis
