// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
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
// Serving never blocks the event loop: every socket is non-blocking and watched by the server's own
// epoll instance, which the loop watches in turn (fd()). A connection has kConnectionDeadline in
// all to send its request line (at most kMaxRequest bytes) and take its answer, and at most
// kMaxConnections are open at once; a client that dawdles (a byte every few seconds) or a hung
// monitoring probe costs one descriptor for a few seconds, never the loop and its watchdog ping.
//
// Thread-safety: a ControlServer is used by the event loop thread only. The client function may be
// called from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
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

  static constexpr size_t kMaxRequest = 64 * 1024;  // a request is a few hundred bytes
  static constexpr std::chrono::seconds kConnectionDeadline{5};
  static constexpr size_t kMaxConnections = 16;

  // Binds and listens at `path` (making its folder if needed). A stale socket file of a dead flisd
  // is replaced; one that still answers means another flisd is running, which is an error.
  static Result<std::unique_ptr<ControlServer>> open(const std::filesystem::path& path);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Readable whenever there is something to serve: a connection, a request, room for an answer,
  // a deadline passed. For the event loop's epoll; call serve_pending() when it is readable.
  int fd() const { return epoll_; }
  const std::filesystem::path& path() const { return path_; }

  // Does what can be done now without waiting: accepts connections (checking each peer), reads
  // what has arrived, answers every complete request line through `handler`, writes what the
  // socket takes, and drops connections past their deadline.
  void serve_pending(const Handler& handler);

  size_t connections() const { return conns_.size(); }

 private:
  struct Connection {
    std::string in, out;
    bool allowed = false;
    bool answered = false;
    std::chrono::steady_clock::time_point deadline;
  };
  ControlServer(int listen_fd, int epoll, int timer, std::filesystem::path path)
      : listen_(listen_fd), epoll_(epoll), timer_(timer), path_(std::move(path)) {}
  void accept_pending();
  void read_request(int client, Connection& c, const Handler& handler);
  void answer(int client, Connection& c, const ControlReply& reply);
  void write_pending(int client, Connection& c);
  void drop(int client);
  void expire_and_rearm();
  int listen_, epoll_, timer_;
  std::filesystem::path path_;
  std::map<int, Connection> conns_;
};

// flisctl's side: sends `request` to the daemon at `path` and returns its reply. The error when
// the daemon is not running says so: "flisd is not running (no control socket at ...)".
Result<ControlReply> control_call(const std::filesystem::path& path, const ControlRequest& request);

}  // namespace flis
