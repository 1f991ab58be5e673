// The control socket: a Unix stream socket through which flisctl asks the running flisd to
// trigger, retry, redeliver or reload (control_protocol.h for what goes over it).
//
// Where it is: $FLISD_CONTROL_SOCKET if set (tests), else control.sock in the first folder of
// $RUNTIME_DIRECTORY (systemd's RuntimeDirectory=flisd), else /run/flisd/control.sock. flisctl finds
// it the same way.
//
// Who may use it: the socket is mode 0660, group flisd when that group exists; and every connection
// is checked with SO_PEERCRED: root, the daemon's own user, or a member of group flisd. Anyone else
// gets a refusal naming what is needed, not silence.
//
// Thread-safety: a ControlServer is used by the event loop thread only. The client function may be
// called from any thread.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/status.h"
#include "daemon/control_protocol.h"

namespace flis {

std::filesystem::path control_socket_path();

// Who is at the other end of a connection.
struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Whether `peer` may use the control socket: root, the daemon's own user, or a member of group
// flisd (primary or supplementary group).
bool peer_allowed(int fd, const Peer& peer);

inline constexpr const char* kPermissionDenied =
    "permission denied: flisctl must run as root or a member of group flisd";

class ControlServer {
 public:
  using Handler = std::function<ControlReply(const ControlRequest&)>;

  // Binds and listens at `path` (making its folder if needed). A stale socket file of a dead flisd
  // is replaced; one that still answers means another flisd is running, which is an error.
  static Result<std::unique_ptr<ControlServer>> open(const std::filesystem::path& path);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int fd() const { return fd_; }  // readable when a client connects (non-blocking)
  const std::filesystem::path& path() const { return path_; }

  // Accepts pending connections and answers each: checks the peer, reads one request line, calls
  // `handler`, writes the reply. A slow or silent client is dropped after a few seconds.
  void serve_pending(const Handler& handler);

 private:
  ControlServer(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  void serve_one(int client, const Handler& handler);
  int fd_;
  std::filesystem::path path_;
};

// flisctl's side: sends `request` to the daemon at `path` and returns its reply. The error when
// the daemon is not running says so: "flisd is not running (no control socket at ...)".
Result<ControlReply> control_call(const std::filesystem::path& path, const ControlRequest& request);

}  // namespace flis
