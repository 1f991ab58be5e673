// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The control socket as flisctl meets it: a real Unix socket served by a running event loop, real
// peer credentials (a child process that becomes `nobody`), and the real flisctl binary.
#define BOOST_TEST_MODULE daemon_control
#include <boost/test/unit_test.hpp>

#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "daemon/control_protocol.h"
#include "daemon/control_socket.h"
#include "daemon/event_loop.h"
#include "daemon/log.h"
#include "tests/support/config_tree.h"

using namespace flis;
using namespace flis::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const char* kSettings = R"(warehouse: warehouse
state: state.db
targets:
  flis:
    type: directory
    path: out/flis/{municipality}
)";

struct Daemon {
  ConfigTree tree;
  fs::path socket = tree.dir() / "run" / "control.sock";
  std::unique_ptr<EventLoop> loop;
  std::thread thread;

  Daemon() {
    tree.write("flisd.yaml", kSettings);
    fs::create_directories(tree.dir() / "warehouse");
    LoopOptions o;
    o.config_dir = tree.dir();
    o.clock = [] { return system_now(); };
    o.control_socket = socket;
    auto made = EventLoop::create(o);
    BOOST_TEST_REQUIRE(made.ok(), made.message());
    loop = std::move(*made);
    thread = std::thread([this] { loop->run(); });
    BOOST_TEST_REQUIRE(loop->sync());
  }
  ~Daemon() {
    loop->request_stop();
    thread.join();
  }
  Result<ControlReply> call(ControlRequest r) { return control_call(socket, r); }
};

// Runs `fn` in a child process that has become user and group nobody; returns what it printed.
template <typename Fn>
std::string as_nobody(Fn fn) {
  int fds[2];
  BOOST_TEST_REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    std::string out = fn();
    [[maybe_unused]] ssize_t n = write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  BOOST_TEST_REQUIRE(WIFEXITED(status));
  BOOST_TEST_REQUIRE(WEXITSTATUS(status) == 0, "the child could not become nobody");
  return out;
}

struct Run {
  int status = -1;
  std::string out;
};
Run shell(const std::string& command) {
  Run r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Sends stderr to a file for the life of the object; text() reads what was written.
class CapturedStderr {
 public:
  CapturedStderr() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    dup2(fileno(file_), STDERR_FILENO);
  }
  ~CapturedStderr() {
    std::fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    std::fclose(file_);
  }
  std::string text() {
    std::fflush(stderr);
    std::string out;
    std::rewind(file_);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, n);
    return out;
  }

 private:
  FILE* file_;
  int saved_ = -1;
};

// A raw client of the control socket that sends what the test says, when it says.
struct RawClient {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  explicit RawClient(const fs::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    BOOST_TEST_REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~RawClient() { close(fd); }
  void send_text(const std::string& s) { BOOST_TEST_REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size())); }
  // Whether flisd still holds the connection open (nothing to read, no end of file).
  bool still_open() {
    char c;
    return recv(fd, &c, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
  }
};

// Stands in for systemd's notify socket: NOTIFY_SOCKET and WATCHDOG_USEC point flisd at it while
// it lives, so the test sees every WATCHDOG=1 the loop sends.
struct NotifySocket {
  fs::path dir = fs::temp_directory_path() / ("flisd-notify-" + std::to_string(getpid()));
  fs::path path = dir / "notify";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  explicit NotifySocket(const std::string& watchdog_usec) {
    fs::create_directories(dir);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    BOOST_TEST_REQUIRE(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{30, 0};  // only a bound on a broken loop; a working one pings every 50 ms
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setenv("NOTIFY_SOCKET", path.c_str(), 1);
    setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
    unsetenv("WATCHDOG_PID");
  }
  ~NotifySocket() {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    close(fd);
    fs::remove_all(dir);
  }
  void drain() {
    char buf[4096];
    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
  }
  // Waits for the next WATCHDOG=1; false if none came within the receive timeout.
  bool next_watchdog() {
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      if (std::string(buf, size_t(n)).find("WATCHDOG=1") != std::string::npos) return true;
    return false;
  }
};

struct QuietLogs {
  QuietLogs() { log_init(LogTarget::stderr_only, "flisd-test"); }
};
BOOST_GLOBAL_FIXTURE(QuietLogs);

}  // namespace

BOOST_AUTO_TEST_CASE(requests_and_replies_are_one_json_line_each) {
  ControlRequest r{"trigger", "K101-CPR-DAILY", "2026-11-25", std::nullopt};
  std::string line = encode(r);
  BOOST_TEST(line.find('\n') == std::string::npos);
  auto back = decode_request(line);
  BOOST_TEST_REQUIRE(back.ok(), back.message());
  BOOST_TEST(back->cmd == "trigger");
  BOOST_TEST(*back->order == "K101-CPR-DAILY");
  BOOST_TEST(*back->period == "2026-11-25");

  auto bad = decode_request(R"({"cmd":"explode"})");
  BOOST_TEST(!bad.ok());
  BOOST_TEST(bad.message().find("unknown control command 'explode'") != std::string::npos, bad.message());
  BOOST_TEST(!decode_request(R"({"cmd":"redeliver","order":"X"})").ok(), "redeliver needs a period");
  BOOST_TEST(!decode_request("not json").ok());
}

BOOST_AUTO_TEST_CASE(a_client_with_no_daemon_is_told_it_is_not_running) {
  auto r = control_call("/nonexistent/flisd/control.sock", {"reload", {}, {}, {}});
  BOOST_TEST_REQUIRE(!r.ok());
  BOOST_TEST(r.message() == "flisd is not running (no control socket at /nonexistent/flisd/control.sock)");
}

BOOST_AUTO_TEST_CASE(the_socket_is_group_only) {
  Daemon d;
  struct stat st {};
  BOOST_TEST_REQUIRE(stat(d.socket.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0660u);
}

BOOST_AUTO_TEST_CASE(reload_reports_a_broken_order_and_keeps_it) {
  Daemon d;
  auto ok = d.call({"reload", {}, {}, {}});
  BOOST_TEST_REQUIRE(ok.ok(), ok.message());
  BOOST_TEST(ok->ok, ok->message);

  d.tree.write("orders/k101.yaml", "id: K101-CPR-DAILY\nmunicipality: 101\ntype: weekly-ish\n");
  auto broken = d.call({"reload", {}, {}, {}});
  BOOST_TEST_REQUIRE(broken.ok(), broken.message());
  BOOST_TEST(!broken->ok);
  BOOST_TEST(broken->message.find("orders/k101.yaml:3:") != std::string::npos, broken->message);
  BOOST_TEST(d.loop->config()->find_order("K101-CPR-DAILY") != nullptr);
}

BOOST_AUTO_TEST_CASE(a_logged_configuration_error_says_error_once) {
  Daemon d;
  d.tree.write("orders/k101.yaml", "id: K101-CPR-DAILY\nmunicipality: 101\ntype: weekly-ish\n");
  CapturedStderr captured;
  auto broken = d.call({"reload", {}, {}, {}});
  BOOST_TEST_REQUIRE(broken.ok(), broken.message());
  std::string log = captured.text();
  // "flisd-test[42]: error: orders/k101.yaml:3:7: unknown type ...", not "error: ...: error: ...".
  auto at = log.find("error: orders/k101.yaml:3:");
  BOOST_TEST_REQUIRE(at != std::string::npos, log);
  std::string line = log.substr(at, log.find('\n', at) - at);
  BOOST_TEST(line.find("error:", 1) == std::string::npos, line);
}

BOOST_AUTO_TEST_CASE(control_operations_answer_with_the_runners_word) {
  Daemon d;
  auto unknown = d.call({"trigger", std::string("K999-NOPE"), {}, {}});
  BOOST_TEST_REQUIRE(unknown.ok(), unknown.message());
  BOOST_TEST(!unknown->ok);
  BOOST_TEST(unknown->message.find("K999-NOPE") != std::string::npos, unknown->message);

  auto retry = d.call({"retry", {}, {}, int64_t{4242}});
  BOOST_TEST_REQUIRE(retry.ok(), retry.message());
  BOOST_TEST(!retry->ok);
  BOOST_TEST(retry->message.find("4242") != std::string::npos, retry->message);

  auto redeliver = d.call({"redeliver", std::string("K101-CPR-DAILY"), std::string("2026-11-02"), {}});
  BOOST_TEST_REQUIRE(redeliver.ok(), redeliver.message());
  BOOST_TEST(!redeliver->ok, "a period never delivered cannot be redelivered: " << redeliver->message);

  // --period as typed is checked once, where the request arrives, for both operations.
  for (const char* cmd : {"trigger", "redeliver"}) {
    auto typo = d.call({cmd, std::string("K101-CPR-DAILY"), std::string("2026-11-2"), {}});
    BOOST_TEST_REQUIRE(typo.ok(), typo.message());
    BOOST_TEST(!typo->ok);
    BOOST_TEST(typo->message.find("'2026-11-2' is not a period; write it as in the package name") != std::string::npos,
               cmd << ": " << typo->message);
  }
}

BOOST_AUTO_TEST_CASE(a_user_outside_group_flisd_is_refused_clearly) {
  Daemon d;
  fs::permissions(d.tree.dir(), fs::perms(0755));
  fs::permissions(d.socket.parent_path(), fs::perms(0755));
  // The file mode keeps nobody out...
  std::string out = as_nobody([&] { return control_call(d.socket, {"reload", {}, {}, {}}).message(); });
  BOOST_TEST(out.find("permission denied: flisctl must run as root or a member of group flisd") == 0, out);
  // ...and the peer check does too, should the mode ever be wider.
  fs::permissions(d.socket, fs::perms(0666));
  out = as_nobody([&] {
    auto r = control_call(d.socket, {"reload", {}, {}, {}});
    return r.ok() ? (r->ok ? std::string("ACCEPTED") : r->message) : "transport: " + r.message();
  });
  BOOST_TEST(out == "permission denied: flisctl must run as root or a member of group flisd");
  BOOST_TEST(d.loop->stats().reloads == 0u);
}

BOOST_AUTO_TEST_CASE(flisctl_reload_and_trigger_through_the_socket) {
  const char* flisctl = std::getenv("FLISCTL");
  if (!flisctl) {
    BOOST_TEST_MESSAGE("FLISCTL not set (run through ctest); skipped");
    return;
  }
  Daemon d;
  std::string env = "FLISD_CONTROL_SOCKET=" + d.socket.string() + " ";
  auto reload = shell(env + flisctl + " reload");
  BOOST_TEST(reload.status == 0, reload.out);
  BOOST_TEST(reload.out.find("reloaded") != std::string::npos, reload.out);
  BOOST_TEST(d.loop->stats().reloads == 1u);

  auto trigger = shell(env + flisctl + " trigger K999-NOPE");
  BOOST_TEST(trigger.status == 1, trigger.out);
  BOOST_TEST(trigger.out.find("K999-NOPE") != std::string::npos, trigger.out);

  auto down = shell(std::string("FLISD_CONTROL_SOCKET=/nonexistent/x.sock ") + flisctl + " reload");
  BOOST_TEST(down.status == 1);
  BOOST_TEST(down.out.find("flisd is not running (no control socket at /nonexistent/x.sock)") != std::string::npos,
             down.out);
}

BOOST_AUTO_TEST_CASE(flisctl_says_which_flisd_answered_and_warns_when_it_is_not_the_config_given) {
  const char* flisctl = std::getenv("FLISCTL");
  if (!flisctl) {
    BOOST_TEST_MESSAGE("FLISCTL not set (run through ctest); skipped");
    return;
  }
  Daemon d;
  std::string env = "FLISD_CONTROL_SOCKET=" + d.socket.string() + " ";
  std::string dir = fs::canonical(d.tree.dir()).string();
  auto same = shell(env + flisctl + " --config " + d.tree.dir().string() + " reload");
  BOOST_TEST(same.status == 0, same.out);
  BOOST_TEST(same.out.find("flisd at " + d.socket.string() + " (configuration " + dir + "):") == 0, same.out);
  BOOST_TEST(same.out.find("warning") == std::string::npos, same.out);

  ConfigTree other;
  auto elsewhere = shell(env + flisctl + " --config " + other.dir().string() + " trigger K999-NOPE");
  BOOST_TEST(elsewhere.status == 1, elsewhere.out);
  BOOST_TEST(elsewhere.out.find("flisctl: warning: the flisd at " + d.socket.string() + " runs with the configuration in " +
                                dir + ", not " + other.dir().string() + " given with --config") != std::string::npos,
             elsewhere.out);
}

// A member of group flisd that connects and sends a byte now and then (or a monitoring probe that
// hangs) must not stall the loop: another client's reload is answered while the slow one is still
// connected, and the watchdog keeps being pinged. The ordering is the proof, not a stopwatch: a
// loop that served clients one at a time could answer the reload only after dropping the slow one.
BOOST_AUTO_TEST_CASE(a_slow_client_delays_neither_another_clients_reload_nor_the_watchdog) {
  NotifySocket notify("100000");  // WatchdogSec=100ms: the loop pings every 50 ms
  Daemon d;
  RawClient slow(d.socket);
  slow.send_text("{");
  auto reload = d.call({"reload", {}, {}, {}});
  BOOST_TEST_REQUIRE(reload.ok(), reload.message());
  BOOST_TEST(reload->ok, reload->message);
  BOOST_TEST(slow.still_open(), "the reload was answered only after the slow client was dropped");

  notify.drain();
  BOOST_TEST(notify.next_watchdog(), "no watchdog ping while a client dawdles");
  slow.send_text("\"");
  BOOST_TEST(notify.next_watchdog(), "no watchdog ping while a client dawdles");
  BOOST_TEST(slow.still_open(), "the watchdog pings came only after the slow client was dropped");

  // When it finally sends its line within the deadline, it is answered like anyone else.
  slow.send_text("cmd\":\"reload\"}\n");
  std::string answer;
  char buf[4096];
  timeval tv{30, 0};
  setsockopt(slow.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (ssize_t n; (n = recv(slow.fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, size_t(n));
  BOOST_TEST(answer.find("\"ok\":true") != std::string::npos, answer);
}

// At most ControlServer::kMaxConnections at once: one more is told so at once, not left hanging,
// and a client is served again as soon as the others are gone.
BOOST_AUTO_TEST_CASE(connections_beyond_the_cap_are_refused_with_a_reason) {
  Daemon d;
  {
    std::vector<std::unique_ptr<RawClient>> silent;
    for (size_t i = 0; i < ControlServer::kMaxConnections; ++i) {
      silent.push_back(std::make_unique<RawClient>(d.socket));
      silent.back()->send_text("{");
    }
    auto busy = d.call({"reload", {}, {}, {}});
    BOOST_TEST_REQUIRE(busy.ok(), busy.message());
    BOOST_TEST(!busy->ok);
    BOOST_TEST(busy->message.find("too many control connections") != std::string::npos, busy->message);
    for (auto& c : silent) BOOST_TEST(c->still_open());
  }
  BOOST_TEST_REQUIRE(d.loop->sync());  // the loop has seen them go
  auto ok = d.call({"reload", {}, {}, {}});
  BOOST_TEST_REQUIRE(ok.ok(), ok.message());
  BOOST_TEST(ok->ok, ok->message);
}
