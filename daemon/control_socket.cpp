// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The control socket; see control_socket.h.
#include "daemon/control_socket.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <vector>

#include "daemon/log.h"

namespace flis {
namespace {

constexpr size_t kMaxRequest = ControlServer::kMaxRequest;
constexpr int kClientTimeoutSec = 600;  // a reload of many orders may take a while
constexpr const char* kBusy = "flisd is busy: too many control connections are open; try again in a few seconds";

std::string errno_text(int err) { return std::strerror(err); }

std::optional<gid_t> flisd_group() {
  std::vector<char> buf(16384);
  group gr{};
  group* found = nullptr;
  if (getgrnam_r("flisd", &gr, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
  return found->gr_gid;
}

Result<sockaddr_un> unix_address(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.size() >= sizeof(addr.sun_path))
    return Status::Error("control socket path " + s + " is too long for a Unix socket (max " +
                         std::to_string(sizeof(addr.sun_path) - 1) + " bytes)");
  std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
  return addr;
}

void set_timeouts(int fd, int seconds) {
  timeval tv{};
  tv.tv_sec = seconds;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// flisctl's side (blocking, with timeouts): reads up to the first newline (not included). False on
// timeout, error or oversize.
bool read_line(int fd, std::string& line) {
  line.clear();
  char buf[4096];
  while (line.size() < kMaxRequest) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return !line.empty() && n == 0;
    line.append(buf, static_cast<size_t>(n));
    if (auto nl = line.find('\n'); nl != std::string::npos) {
      line.resize(nl);
      return true;
    }
  }
  return false;
}

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool in_supplementary_groups(int fd, gid_t group, uid_t uid) {
  std::vector<gid_t> groups(256);
  socklen_t len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
    for (size_t i = 0; i < len / sizeof(gid_t); ++i)
      if (groups[i] == group) return true;
    return false;
  }
  // Older kernels: the group's member list from /etc/group.
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || !found) return false;
  std::vector<char> gbuf(16384);
  struct group gr {};
  struct group* g = nullptr;
  if (getgrgid_r(group, &gr, gbuf.data(), gbuf.size(), &g) != 0 || !g) return false;
  for (char** m = g->gr_mem; m && *m; ++m)
    if (std::strcmp(*m, found->pw_name) == 0) return true;
  return false;
}

}  // namespace

std::filesystem::path control_socket_path() {
  if (const char* env = std::getenv("FLISD_CONTROL_SOCKET"); env && *env) return env;
  if (const char* rt = std::getenv("RUNTIME_DIRECTORY"); rt && *rt) {
    std::string first(rt);
    first = first.substr(0, first.find(':'));  // systemd lists several folders with ':'
    if (!first.empty()) return std::filesystem::path(first) / "control.sock";
  }
  return "/run/flisd/control.sock";
}

bool peer_allowed(int fd, const Peer& peer) {
  if (peer.uid == 0 || peer.uid == geteuid()) return true;
  auto group = flisd_group();
  if (!group) return false;
  return peer.gid == *group || in_supplementary_groups(fd, *group, peer.uid);
}

Result<std::unique_ptr<ControlServer>> ControlServer::open(const std::filesystem::path& path) {
  auto addr = unix_address(path);
  if (!addr) return addr.status();
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  if (ec)
    return Status::Error("cannot make the folder of the control socket " + path.parent_path().string() +
                         ": " + ec.message());

  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return Status::Error("control socket path " + path.string() +
                           " exists and is not a socket; remove it or set another path");
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool answers = probe >= 0 && connect(probe, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) == 0;
    if (probe >= 0) close(probe);
    if (answers)
      return Status::Error("another flisd is running: its control socket " + path.string() +
                           " answers; stop it first");
    unlink(path.c_str());  // left behind by a flisd that died
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Error("cannot create the control socket: " + errno_text(errno));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0 || listen(fd, 16) != 0) {
    int err = errno;
    close(fd);
    return Status::Error("cannot listen on control socket " + path.string() + ": " + errno_text(err));
  }
  // The peer check is the real gate; the mode keeps others from even connecting.
  chmod(path.c_str(), 0660);
  // Under User=flisd the socket already belongs to group flisd; root must hand it over.
  struct stat made {};
  if (auto group = flisd_group(); group && stat(path.c_str(), &made) == 0 && made.st_gid != *group &&
                                  chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0)
    log_message(Priority::warning, "cannot give control socket " + path.string() + " to group flisd: " +
                                       errno_text(errno) + "; only root and the daemon's user can use it");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  bool ok = ep >= 0 && timer >= 0;
  ev.data.fd = fd;
  ok = ok && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0;
  ev.data.fd = timer;
  ok = ok && epoll_ctl(ep, EPOLL_CTL_ADD, timer, &ev) == 0;
  if (!ok) {
    int err = errno;
    for (int f : {fd, ep, timer})
      if (f >= 0) close(f);
    unlink(path.c_str());
    return Status::Error("cannot watch control socket " + path.string() + ": " + errno_text(err));
  }
  return std::unique_ptr<ControlServer>(new ControlServer(fd, ep, timer, path));
}

ControlServer::~ControlServer() {
  for (const auto& [client, c] : conns_) close(client);
  close(listen_);
  close(epoll_);
  close(timer_);
  unlink(path_.c_str());
}

void ControlServer::serve_pending(const Handler& handler) {
  epoll_event events[32];
  int n = epoll_wait(epoll_, events, 32, 0);
  for (int i = 0; i < n; ++i) {
    int fd = events[i].data.fd;
    if (fd == listen_) {
      accept_pending();
    } else if (fd == timer_) {
      uint64_t expirations = 0;
      [[maybe_unused]] ssize_t r = read(timer_, &expirations, sizeof expirations);
    } else if (auto it = conns_.find(fd); it != conns_.end()) {
      Connection& c = it->second;
      if (!c.answered) read_request(fd, c, handler);
      else write_pending(fd, c);
    }
  }
  expire_and_rearm();
}

void ControlServer::accept_pending() {
  for (;;) {
    int client = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: no more pending (or out of descriptors: the next wake-up tries again)
    }
    if (conns_.size() >= kMaxConnections) {
      // Told, not left hanging: one line fits in any socket buffer, so this never blocks.
      ControlReply busy{false, kBusy, {}};
      std::string line = encode(busy) + "\n";
      [[maybe_unused]] ssize_t sent = send(client, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      close(client);
      log_message(Priority::warning, "control socket: " + std::to_string(conns_.size()) +
                                         " connections open; refused another");
      continue;
    }
    Connection c;
    c.deadline = std::chrono::steady_clock::now() + kConnectionDeadline;
    ucred cred{};
    socklen_t len = sizeof cred;
    c.allowed = getsockopt(client, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
                peer_allowed(client, Peer{cred.pid, cred.uid, cred.gid});
    if (!c.allowed)
      log_message(Priority::warning, "control socket: refused uid " + std::to_string(cred.uid) + " (pid " +
                                         std::to_string(cred.pid) + "): not root nor in group flisd");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = client;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, client, &ev) != 0) {
      close(client);
      continue;
    }
    conns_.emplace(client, std::move(c));
  }
}

// Reads what has arrived; a complete line (or one ended by the client closing its side) is
// answered. A refused peer's line is read too: closing before the caller has sent it would hand
// the caller EPIPE instead of the refusal it should read.
void ControlServer::read_request(int client, Connection& c, const Handler& handler) {
  char buf[4096];
  bool eof = false;
  for (;;) {
    ssize_t n = recv(client, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) {
      eof = true;
      break;
    }
    c.in.append(buf, static_cast<size_t>(n));
    if (c.in.find('\n') != std::string::npos || c.in.size() > kMaxRequest) break;
  }
  size_t nl = c.in.find('\n');
  if (nl == std::string::npos && (c.in.size() > kMaxRequest || (eof && c.in.empty()))) {
    drop(client);  // garbage or gone: nobody to answer
    return;
  }
  if (nl == std::string::npos && !eof) return;  // more to come, until the deadline
  std::string line = c.in.substr(0, nl);
  ControlReply reply;
  if (!c.allowed) {
    reply.message = kPermissionDenied;
  } else if (auto request = decode_request(line); !request) {
    reply.message = request.message();
  } else {
    try {
      reply = handler(*request);
    } catch (const std::exception& e) {
      reply = ControlReply{false, std::string("flisd failed to handle '") + request->cmd + "': " + e.what(), {}};
    }
  }
  answer(client, c, reply);
}

void ControlServer::answer(int client, Connection& c, const ControlReply& reply) {
  c.answered = true;
  c.out = encode(reply) + "\n";
  write_pending(client, c);
  if (conns_.count(client)) {  // the rest when the socket takes it
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.fd = client;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, client, &ev);
  }
}

void ControlServer::write_pending(int client, Connection& c) {
  while (!c.out.empty()) {
    ssize_t n = send(client, c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) break;
    c.out.erase(0, static_cast<size_t>(n));
  }
  drop(client);  // answered in full, or the client is gone
}

void ControlServer::drop(int client) {
  epoll_ctl(epoll_, EPOLL_CTL_DEL, client, nullptr);
  close(client);
  conns_.erase(client);
}

// Drops connections past their deadline and sets the timer for the next one.
void ControlServer::expire_and_rearm() {
  auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> next;
  for (auto it = conns_.begin(); it != conns_.end();) {
    int client = it->first;
    auto deadline = it->second.deadline;
    ++it;
    if (deadline <= now) drop(client);
    else if (!next || deadline < *next) next = deadline;
  }
  itimerspec spec{};  // all zero: disarmed
  if (next) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(*next - now).count();
    left = std::max<int64_t>(left, 1);
    spec.it_value.tv_sec = static_cast<time_t>(left / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(left % 1000000000);
  }
  timerfd_settime(timer_, 0, &spec, nullptr);
}

Result<ControlReply> control_call(const std::filesystem::path& path, const ControlRequest& request) {
  auto addr = unix_address(path);
  if (!addr) return addr.status();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Error("cannot create a socket: " + errno_text(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (connect(fd, reinterpret_cast<const sockaddr*>(&*addr), sizeof *addr) != 0) {
    int err = errno;
    if (err == ENOENT || err == ECONNREFUSED || err == ENOTDIR)
      return Status::Error("flisd is not running (no control socket at " + path.string() + ")");
    if (err == EACCES || err == EPERM)
      return Status::Error(std::string(kPermissionDenied) + " (cannot open " + path.string() + ")");
    return Status::Error("cannot connect to flisd at " + path.string() + ": " + errno_text(err));
  }
  set_timeouts(fd, kClientTimeoutSec);
  // A flisd with too many connections answers at once and closes, perhaps before the request
  // is sent: its answer is still waiting to be read, and says more than the failed send.
  const bool sent = write_all(fd, encode(request) + "\n");
  const int send_error = errno;
  std::string line;
  if (read_line(fd, line)) return decode_reply(line);
  if (!sent) return Status::Error("cannot send to flisd at " + path.string() + ": " + errno_text(send_error));
  return Status::Error("flisd at " + path.string() + " closed the connection without an answer");
}

}  // namespace flis
