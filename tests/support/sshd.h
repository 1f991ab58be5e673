// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// A real OpenSSH sshd for tests: started on 127.0.0.1 on a free port, in a temporary folder of its
// own, with a freshly generated ed25519 host key and client key, an authorized_keys holding the
// client key, and the in-process `internal-sftp` subsystem (no chroot: remote paths are ordinary
// absolute paths on this machine, e.g. under root()). Killed, with every session it forked, and
// its folder removed at destruction.
//
//   flis::test::SshdFixture sshd;
//   flis::Target t = sshd.target();            // type sftp, host, port, user, key, known_hosts
//   ... deliver to sshd.root() / "kommuner/101/datapakker" ...
//
// Needs /usr/sbin/sshd and ssh-keygen (Debian's openssh-server). Runs as whoever runs the test;
// as root it can also authenticate an unprivileged user (unprivileged_user()), which is how
// permission failures are tested (root's writes are never refused). Throws std::runtime_error when
// sshd cannot be started, with its log.
//
// SshdFixture(options) starts a variant: another SFTP server as the sftp subsystem (e.g.
// /usr/libexec/gesftpserver, Debian's gesftpserver), or sshd's MaxSessions (channels per
// connection).
//
// Header-only; not thread-safe (one fixture per test).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "config/model.h"

namespace flis::test {

namespace sshd_detail {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("sshd fixture: failed: " + command);
}

// A port that was free a moment ago (sshd may still lose a race for it; start() retries).
inline int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    throw std::runtime_error("sshd fixture: cannot find a free port");
  }
  close(fd);
  return ntohs(a.sin_port);
}

inline bool port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

inline pid_t parent_of(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 1));
  std::string state;
  pid_t ppid = -1;
  fields >> state >> ppid;
  return ppid;
}

// Every process below `root` (sshd's per-connection children and theirs).
inline std::vector<pid_t> descendants(pid_t root) {
  std::vector<pid_t> found{root};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = std::stoi(name);
      bool known = false;
      for (pid_t p : found) known = known || p == pid;
      if (known) continue;
      pid_t ppid = parent_of(pid);
      for (pid_t p : found) {
        if (p == ppid) {
          found.push_back(pid);
          grew = true;
          break;
        }
      }
    }
  }
  found.erase(found.begin());
  return found;
}

}  // namespace sshd_detail

struct SshdOptions {
  std::string subsystem = "internal-sftp";  // the command for `Subsystem sftp`
  int max_sessions = 0;                     // sshd's MaxSessions; 0: sshd's default (10)
  std::string extra;                        // more sshd_config lines ("Ciphers aes128-cbc\n")
};

class SshdFixture {
 public:
  SshdFixture() : SshdFixture(SshdOptions{}) {}
  explicit SshdFixture(SshdOptions options) : options_(std::move(options)) {
    char tmpl[] = "/tmp/flisd-sshd-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("sshd fixture: mkdtemp failed");
    dir_ = tmpl;
    // Readable by the unprivileged test user: it must reach authorized_keys and root().
    std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    std::filesystem::create_directory(root());
    std::filesystem::permissions(root(), std::filesystem::perms(0755));
    keygen(dir_ / "host_key");
    keygen(client_key());
    std::filesystem::copy_file(dir_ / "client_key.pub", dir_ / "authorized_keys");
    std::filesystem::permissions(dir_ / "authorized_keys", std::filesystem::perms(0644));
    if (geteuid() == 0) std::filesystem::create_directories("/run/sshd");  // privilege separation
    start();
  }

  ~SshdFixture() {
    kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  SshdFixture(const SshdFixture&) = delete;
  SshdFixture& operator=(const SshdFixture&) = delete;

  int port() const { return port_; }
  // A folder for the server's files; it is the same folder on this machine.
  std::filesystem::path root() const { return dir_ / "srv"; }
  std::filesystem::path client_key() const { return dir_ / "client_key"; }
  std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }
  std::filesystem::path host_key_pub() const { return dir_ / "host_key.pub"; }
  std::filesystem::path dir() const { return dir_; }
  // The user the client logs in as by default: whoever runs the test.
  std::string user() const {
    const passwd* pw = getpwuid(geteuid());
    return pw ? pw->pw_name : "root";
  }
  // "SHA256:..." of the host key, as ssh-keygen -l prints it.
  std::string host_fingerprint() const { return fingerprint(host_key_pub()); }
  std::string log() const { return sshd_detail::read_text(dir_ / "sshd.log"); }
  // SSH connections that logged in so far ("Accepted publickey" lines of the log).
  int logins() const {
    std::string text = log();
    int n = 0;
    for (size_t at = text.find("Accepted publickey"); at != std::string::npos;
         at = text.find("Accepted publickey", at + 1))
      ++n;
    return n;
  }
  // The processes serving connections now (sshd's children and theirs).
  std::vector<pid_t> session_pids() const {
    return pid_ > 0 ? sshd_detail::descendants(pid_) : std::vector<pid_t>{};
  }
  // The listening sshd's process id (-1 after kill()).
  pid_t pid() const { return pid_; }
  // CPU seconds (user + system) of every session that has ended so far: sshd reaps them, so they
  // add up in its cutime and cstime. For benchmarks.
  double finished_sessions_cpu_seconds() const {
    std::string stat = sshd_detail::read_text("/proc/" + std::to_string(pid_) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string f;
    double ticks = 0;
    for (int i = 3; i <= 17 && fields >> f; ++i) {
      if (i == 16 || i == 17) ticks += std::stod(f);  // cutime, cstime
    }
    return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }

  // A ready sftp Target for this server, delivering under root()/<path_template>.
  flis::Target target(const std::string& path_template = "kommuner/{municipality}/datapakker") const {
    flis::Target t;
    t.name = "flis";
    t.type = flis::TargetType::sftp;
    t.host = "127.0.0.1";
    t.port = port_;
    t.user = user();
    t.identity = client_key();
    t.known_hosts = known_hosts();
    t.path = (root() / path_template).string();
    return t;
  }

  // Kills sshd and every session it forked (a server that disappears).
  void kill() {
    if (pid_ <= 0) return;
    for (pid_t p : sshd_detail::descendants(pid_)) ::kill(p, SIGKILL);
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

  // Stops (SIGSTOP) or resumes every session process: a server that stalls mid-transfer.
  void pause_sessions(bool paused) {
    if (pid_ <= 0) return;
    for (pid_t p : sshd_detail::descendants(pid_)) ::kill(p, paused ? SIGSTOP : SIGCONT);
  }

  // Generates an ed25519 key pair without passphrase: `path` (mode 0600) and `path`.pub.
  static void keygen(const std::filesystem::path& path) {
    sshd_detail::run("ssh-keygen -q -t ed25519 -N '' -C flisd-test -f '" + path.string() + "' </dev/null >/dev/null");
  }

  static std::string fingerprint(const std::filesystem::path& pub) {
    char tmp[] = "/tmp/flisd-fp-XXXXXX";
    int fd = mkstemp(tmp);
    close(fd);
    sshd_detail::run("ssh-keygen -l -E sha256 -f '" + pub.string() + "' > " + tmp);
    std::istringstream line(sshd_detail::read_text(tmp));
    std::filesystem::remove(tmp);
    std::string bits, fp;
    line >> bits >> fp;
    return fp;
  }

  // A user other than root that sshd can log in with the same client key: as root, the system
  // user `flisdtest` (made if missing; no password, no shell), else the current user.
  static std::string unprivileged_user() {
    if (geteuid() != 0) {
      const passwd* pw = getpwuid(geteuid());
      return pw ? pw->pw_name : "";
    }
    if (getpwnam("flisdtest") == nullptr) {
      // -p '*': not a usable password, but not "locked" either, which sshd without PAM refuses.
      sshd_detail::run("useradd --system --no-create-home --shell /usr/sbin/nologin -p '*' flisdtest");
    }
    return "flisdtest";
  }

  // Makes `path` owned by `user` (for folders the unprivileged user may write).
  static void chown_to(const std::filesystem::path& path, const std::string& user) {
    const passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr || ::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      throw std::runtime_error("sshd fixture: cannot chown " + path.string() + " to " + user);
    }
  }

 private:
  void write_config() const {
    std::ofstream c(dir_ / "sshd_config");
    c << "Port " << port_ << "\n"
      << "ListenAddress 127.0.0.1\n"
      << "HostKey " << (dir_ / "host_key").string() << "\n"
      << "PidFile " << (dir_ / "sshd.pid").string() << "\n"
      << "AuthorizedKeysFile " << (dir_ / "authorized_keys").string() << "\n"
      << "StrictModes no\n"
      << "UsePAM no\n"
      << "PasswordAuthentication no\n"
      << "KbdInteractiveAuthentication no\n"
      << "PubkeyAuthentication yes\n"
      << "PermitRootLogin prohibit-password\n"
      << "UseDNS no\n"
      << "PrintMotd no\n"
      << "MaxStartups 100\n"
      << "Subsystem sftp " << options_.subsystem << "\n"
      << "LogLevel INFO\n";
    if (options_.max_sessions > 0) c << "MaxSessions " << options_.max_sessions << "\n";
    c << options_.extra;
  }

  void start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = sshd_detail::free_port();
      write_config();
      std::ofstream(known_hosts()) << "[127.0.0.1]:" << port_ << " " << sshd_detail::read_text(host_key_pub());
      pid_ = fork();
      if (pid_ < 0) throw std::runtime_error("sshd fixture: fork failed");
      if (pid_ == 0) {
        int log = open((dir_ / "sshd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(log, 1);
        dup2(log, 2);
        int null = open("/dev/null", O_RDONLY);
        dup2(null, 0);
        std::string cfg = (dir_ / "sshd_config").string();
        execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", cfg.c_str(), static_cast<char*>(nullptr));
        _exit(127);
      }
      for (int i = 0; i < 500; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        if (sshd_detail::port_accepts(port_)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (pid_ > 0) kill();
      if (log().find("Address already in use") == std::string::npos) break;
    }
    throw std::runtime_error("sshd fixture: sshd did not start; its log:\n" + log());
  }

  SshdOptions options_;
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace flis::test
