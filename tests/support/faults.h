// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Fault-injection helpers: the hostile world flisd must survive, made real rather than mocked.
//
//  - Tmpfs: a small RAM file system mounted on a folder (a disk that fills up); needs root.
//  - StallingListener: a TCP port that accepts connections and never says a word.
//  - Proxy: a TCP forwarder in front of a real sshd that can stall every connection, or go down
//    (cut every connection and refuse new ones: a server that stops) and come back on the same port.
//  - Child: flisd (or anything) as a child process, to kill -9 at chosen moments.
//  - FlisdTree: a configuration folder, warehouse, state and outbox for `flisd --once` runs.
//  - check_outbox: what a municipality's consumer sees in a delivery folder: every *.tar.zst must
//    decompress whole, and with its .sha256 beside it `sha256sum -c` must pass.
//
// Header-only; each object belongs to one test thread (the Proxy runs its own thread inside).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/package_files.h"

namespace flis::test::faults {

namespace fs = std::filesystem;

inline bool is_root() { return geteuid() == 0; }

// The built flisd, from the environment ctest sets.
inline std::string flisd_binary() {
  const char* p = std::getenv("FLISD");
  if (p == nullptr) throw std::runtime_error("FLISD is not set (run through ctest)");
  return p;
}

// An integer from the environment (trial counts, seeds), or `fallback`.
inline long env_number(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtol(v, nullptr, 10) : fallback;
}

// ---------------------------------------------------------------------------------------------
// A tmpfs of a given size mounted on `dir` (created), unmounted at destruction.
class Tmpfs {
 public:
  Tmpfs(fs::path dir, const std::string& size) : dir_(std::move(dir)) {
    fs::create_directories(dir_);
    std::string opts = "size=" + size + ",mode=0755";
    if (mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0)
      throw std::runtime_error("cannot mount a tmpfs on " + dir_.string() + ": " + std::strerror(errno));
  }
  ~Tmpfs() { umount2(dir_.c_str(), MNT_DETACH); }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;

  // Grows (or shrinks) the file system in place; its files stay.
  void resize(const std::string& size) {
    std::string opts = "size=" + size;
    if (mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT, opts.c_str()) != 0)
      throw std::runtime_error("cannot remount " + dir_.string() + ": " + std::strerror(errno));
  }
  // Writes a file `name` until the file system is full; returns its size.
  uint64_t fill(const std::string& name = "filler") {
    int fd = open((dir_ / name).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) throw std::runtime_error("cannot create filler in " + dir_.string());
    std::vector<char> block(64 * 1024, 'x');
    uint64_t total = 0;
    for (size_t chunk = block.size(); chunk > 0;) {
      ssize_t n = ::write(fd, block.data(), chunk);
      if (n > 0) total += uint64_t(n);
      else chunk /= 2;  // ENOSPC: try smaller pieces until not even one byte fits
    }
    close(fd);
    return total;
  }
  const fs::path& path() const { return dir_; }

 private:
  fs::path dir_;
};

// ---------------------------------------------------------------------------------------------
namespace detail {

inline int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 64) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline int port_of(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

inline int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

}  // namespace detail

// A TCP port on 127.0.0.1 that completes every connection (the kernel does, from the backlog) and
// never sends a byte: an SSH client waits for a banner that never comes.
class StallingListener {
 public:
  StallingListener() : fd_(detail::listen_on(0)) {
    if (fd_ < 0) throw std::runtime_error("cannot listen on 127.0.0.1");
  }
  ~StallingListener() { close(fd_); }
  StallingListener(const StallingListener&) = delete;
  StallingListener& operator=(const StallingListener&) = delete;
  int port() const { return detail::port_of(fd_); }

 private:
  int fd_;
};

// A TCP forwarder 127.0.0.1:port() -> 127.0.0.1:upstream, with a switch:
//   forward  every byte both ways (the server is there);
//   stall    connections are accepted and kept, nothing is forwarded (a server that hangs);
//   down     every connection is cut and the port refuses new ones (a server that stopped).
// Back to forward reopens the same port. set_mode returns once the switch has taken effect.
// switch_after(n, mode) flips the switch by itself once n bytes have gone upstream, so a cut
// lands mid-transfer however fast the upload runs and however loaded the machine is.
class Proxy {
 public:
  enum class Mode { forward, stall, down };

  explicit Proxy(int upstream) : upstream_(upstream) {
    listen_fd_ = detail::listen_on(0);
    if (listen_fd_ < 0 || pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("proxy: cannot listen");
    port_ = detail::port_of(listen_fd_);
    thread_ = std::thread([this] { loop(); });
  }
  ~Proxy() {
    quit_ = true;
    poke();
    thread_.join();
    for (auto& p : pairs_) close(p.first), close(p.second);
    if (listen_fd_ >= 0) close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  int port() const { return port_; }
  // Bytes forwarded from the client to the server so far.
  uint64_t upstream_bytes() const { return up_bytes_.load(); }
  int connections() const { return accepted_.load(); }

  void set_mode(Mode m) {
    std::unique_lock lock(mu_);
    mode_ = m;
    int want = ++generation_;
    poke();
    cv_.wait(lock, [&] { return applied_ >= want; });
  }
  void switch_after(uint64_t upstream_bytes, Mode m) {
    std::lock_guard lock(mu_);
    trigger_bytes_ = upstream_bytes;
    trigger_mode_ = m;
  }
  // Waits (up to `limit`) until the mode has become `m`, by set_mode or by switch_after.
  bool wait_for_mode(Mode m, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return mode_ == m && applied_ >= generation_; });
  }

 private:
  void poke() {
    char c = 1;
    (void)!::write(wake_[1], &c, 1);
  }

  void apply(Mode m) {
    if (m == Mode::down) {
      for (auto& p : pairs_) close(p.first), close(p.second);
      pairs_.clear();
      if (listen_fd_ >= 0) close(listen_fd_);
      listen_fd_ = -1;
    } else if (listen_fd_ < 0) {
      for (int i = 0; i < 200 && listen_fd_ < 0; ++i) {
        listen_fd_ = detail::listen_on(port_);
        if (listen_fd_ < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  }

  void loop() {
    std::vector<char> buf(64 * 1024);
    while (!quit_) {
      Mode m;
      {
        std::lock_guard lock(mu_);
        m = mode_;
        apply(m);
        applied_ = generation_;
      }
      cv_.notify_all();
      std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
      if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
      size_t first_pair = fds.size();
      if (m == Mode::forward)
        for (auto& p : pairs_) fds.push_back({p.first, POLLIN, 0}), fds.push_back({p.second, POLLIN, 0});
      if (poll(fds.data(), fds.size(), -1) < 0) continue;
      if (fds[0].revents) {
        char drain[64];
        while (::read(wake_[0], drain, sizeof drain) > 0) {
        }
      }
      if (listen_fd_ >= 0 && fds.size() > 1 && fds[1].fd == listen_fd_ && fds[1].revents) {
        int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          int server = detail::connect_to(upstream_);
          int one = 1;  // without it each forwarded write waits on the peer's delayed ACK
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (server >= 0) setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (server < 0) close(client);
          else pairs_.emplace_back(client, server), ++accepted_;
        }
      }
      if (m != Mode::forward) continue;
      std::vector<size_t> dead;
      for (size_t i = first_pair; i < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        size_t pair = (i - first_pair) / 2;
        bool from_client = (i - first_pair) % 2 == 0;
        int to = from_client ? pairs_[pair].second : pairs_[pair].first;
        ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
        if (n <= 0 || !detail::write_all(to, buf.data(), size_t(n))) {
          dead.push_back(pair);
          continue;
        }
        if (from_client) up_bytes_ += uint64_t(n);
      }
      {
        std::lock_guard lock(mu_);
        if (trigger_bytes_ && up_bytes_.load() >= trigger_bytes_) {
          mode_ = trigger_mode_;
          trigger_bytes_ = 0;
          ++generation_;  // applied at the top of the loop, before anything more is read
        }
      }
      std::sort(dead.begin(), dead.end());
      dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        close(pairs_[*it].first);
        close(pairs_[*it].second);
        pairs_.erase(pairs_.begin() + long(*it));
      }
    }
  }

  int upstream_;
  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2]{-1, -1};
  std::vector<std::pair<int, int>> pairs_;  // (client, server)
  std::atomic<bool> quit_{false};
  std::atomic<uint64_t> up_bytes_{0};
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  Mode mode_ = Mode::forward;
  int generation_ = 0, applied_ = 0;
  uint64_t trigger_bytes_ = 0;  // 0: no switch pending
  Mode trigger_mode_ = Mode::forward;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// A child process with stdout and stderr in a log file.
class Child {
 public:
  Child(const std::vector<std::string>& argv, fs::path log, const std::map<std::string, std::string>& env = {})
      : log_(std::move(log)) {
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      int null = open("/dev/null", O_RDONLY);
      dup2(null, 0);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() {
    if (!done_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // True once the process has ended (reaps it).
  bool exited() {
    if (done_) return true;
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) finish(st);
    return done_;
  }
  // Waits for the end; the exit code, or 128 + signal.
  int wait() {
    if (!done_) {
      int st;
      while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      finish(st);
    }
    return code_;
  }
  void kill9() {
    if (!done_) ::kill(pid_, SIGKILL);
  }
  void stop() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  void finish(int st) {
    done_ = true;
    code_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  fs::path log_;
  pid_t pid_ = -1;
  bool done_ = false;
  int code_ = -1;
};

inline uint64_t size_of(const fs::path& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}
// The size of `package`'s upload in progress in `folder`: its temporary file, named
// ".<package>.part" or, when flisd runs as a node (always, since --once attaches as one),
// ".<package>.<node>-<attempt>.part". 0 while there is none.
inline uint64_t upload_size(const fs::path& folder, const std::string& package) {
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.starts_with("." + package + ".") && name.ends_with(".part")) return size_of(it->path());
  }
  return 0;
}
inline bool file_exists(const fs::path& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// Polls (every 200 µs) until `done()` holds or the child has exited. True if done() held first.
template <typename Pred>
bool wait_until(Child& child, Pred done) {
  for (;;) {
    if (done()) return true;
    if (child.exited()) return done();
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// A file of `size` pseudo-random bytes (incompressible, so the package is as large as the data).
inline void write_random_file(const fs::path& path, uint64_t size, uint64_t seed) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> block(8192);
  for (uint64_t written = 0; written < size;) {
    for (auto& w : block) w = rng();
    uint64_t n = std::min<uint64_t>(size - written, block.size() * 8);
    out.write(reinterpret_cast<const char*>(block.data()), std::streamsize(n));
    written += n;
  }
}

// ---------------------------------------------------------------------------------------------
// What a consumer polling a delivery folder sees.
struct Outbox {
  std::vector<std::string> packages;     // *.tar.zst, sorted
  std::vector<std::string> checksummed;  // of those, the ones with a .sha256 beside them
  std::vector<std::string> temporaries;  // hidden .part files (uploads in progress or left behind)
  std::vector<std::string> problems;     // anything a consumer must never see
};

// Checks every package in `folder`: decompresses whole (zstd, then tar lists it); with its .sha256
// beside it, `sha256sum -c` passes. A .sha256 without its package is a problem too.
inline Outbox check_outbox(const fs::path& folder) {
  Outbox o;
  if (!fs::is_directory(folder)) return o;
  for (const auto& e : fs::directory_iterator(folder)) {
    std::string name = e.path().filename().string();
    if (name.front() == '.') o.temporaries.push_back(name);
    else if (name.size() > 8 && name.ends_with(".tar.zst")) o.packages.push_back(name);
    else if (name.ends_with(".tar.zst.sha256")) {
      if (!file_exists(folder / name.substr(0, name.size() - 7))) o.problems.push_back(name + " without its package");
    } else o.problems.push_back("unexpected file " + name);
  }
  std::sort(o.packages.begin(), o.packages.end());
  std::sort(o.temporaries.begin(), o.temporaries.end());
  for (const auto& p : o.packages) {
    std::string path = (folder / p).string();
    if (run("bash -o pipefail -c " + quote("zstd -qdc " + quote(path) + " | tar -tf - >/dev/null") + " 2>&1").status != 0)
      o.problems.push_back(p + " does not decompress whole");
    if (file_exists(folder / (p + ".sha256"))) {
      o.checksummed.push_back(p);
      if (run("cd " + quote(folder) + " && sha256sum --quiet -c " + quote(p + ".sha256") + " 2>&1").status != 0)
        o.problems.push_back(p + " fails sha256sum -c");
    }
  }
  return o;
}

inline std::string join(const std::vector<std::string>& v, const std::string& sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

// The SHA-256 of one member of a package, as `tar -xO` gives it.
inline std::string member_sha256(const fs::path& package, const std::string& member) {
  auto r = run("bash -o pipefail -c " + quote("zstd -qdc " + quote(package) + " | tar -xOf - " + quote(member) +
                                              " | sha256sum"));
  return r.status == 0 ? r.out.substr(0, 64) : "(unreadable)";
}

// ---------------------------------------------------------------------------------------------
// A configuration folder (etc/), warehouse, state folder and outbox in one temporary folder, for
// `flisd --once` runs. The catalogue has DSA CPR_PERSON (daily) and LOEN_ANSAT (monthly); the
// calendar covers 2026; orders are added with order().
class FlisdTree {
 public:
  FlisdTree() : tmp_("flisd-faults") {
    fs::create_directories(etc());
    fs::create_directories(warehouse());
    write("interfaces.yaml",
          "sources:\n  DSA:\n    CPR_PERSON: {system: CPR, frequency: daily}\n"
          "    LOEN_ANSAT: {system: OPUS, frequency: monthly}\n");
    std::string cal = "daily: {ready: \"06:00\", lag_days: 1}\nweekly: {ready: \"06:00\", weekday: tuesday}\nmonthly:\n";
    for (int m = 1; m <= 12; ++m) {
      char line[96];
      std::snprintf(line, sizeof line, "  2026-%02d: {ready: \"%04d-%02d-05 06:00\"}\n", m, m == 12 ? 2027 : 2026,
                    m == 12 ? 1 : m + 1);
      cal += line;
    }
    write("calendar/2026.yaml", cal);
    directory_targets();
  }

  const fs::path& root() const { return tmp_.path(); }
  fs::path etc() const { return root() / "etc"; }
  fs::path warehouse() const { return root() / "warehouse"; }
  fs::path state_dir() const { return root() / "state"; }
  fs::path state() const { return state_dir() / "state.db"; }
  fs::path outbox() const { return root() / "out"; }
  // The delivery folder of a municipality with the directory targets.
  fs::path outbox(int municipality, const std::string& delivery = "flis") const {
    char code[8];
    std::snprintf(code, sizeof code, "%03d", municipality);
    return outbox() / delivery / code;
  }

  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((etc() / rel).parent_path());
    std::ofstream(etc() / rel, std::ios::trunc) << text;
  }

  // flisd.yaml with both deliveries as directory targets under outbox().
  void directory_targets() {
    targets("  flis: {type: directory, path: \"" + (outbox() / "flis/{municipality}").string() + "\"}\n" +
            "  serviceplatformen: {type: directory, path: \"" + (outbox() / "serviceplatformen/{municipality}").string() +
            "\"}\n");
  }
  // flisd.yaml with `targets_yaml` (the lines under "targets:", indented two spaces).
  void targets(const std::string& targets_yaml, const std::string& retry = "{attempts: 4, initial: 60s, max: 1h}") {
    write("flisd.yaml", "timezone: Europe/Copenhagen\nwarehouse: " + warehouse().string() + "\nstate: " +
                            state().string() + "\nworkers: 1\nbackfill_workers: 1\nretry: " + retry +
                            "\ncompression: {level: 1, threads: 1}\ntargets:\n" + targets_yaml);
  }
  // A daily subscription on CPR_PERSON.
  void daily_order(const std::string& id, int municipality, const std::string& start, const std::string& end,
                   const std::string& delivery = "flis") const {
    write("orders/" + id + ".yaml", "id: " + id + "\nmunicipality: " + std::to_string(municipality) +
                                        "\ntype: daily\nsource: DSA\ndelivery: " + delivery +
                                        "\ninterfaces: [CPR_PERSON]\nstart: " + start + "\nend: " + end + "\n");
  }
  // A file of a municipality in a CPR_PERSON day partition, and the partition's _PROCESSED marker.
  fs::path land(const std::string& day, int municipality, const std::string& file, const std::string& content) const {
    fs::path p = day_folder(day, municipality) / file;
    write_file(p, content);
    process(day);
    return p;
  }
  fs::path land_random(const std::string& day, int municipality, const std::string& file, uint64_t size,
                       uint64_t seed) const {
    fs::path p = day_folder(day, municipality) / file;
    write_random_file(p, size, seed);
    process(day);
    return p;
  }
  fs::path day_folder(const std::string& day, int municipality) const {
    return warehouse() / "DSA/CPR_PERSON" / day / std::to_string(municipality);
  }
  void process(const std::string& day) const {
    fs::create_directories(warehouse() / "DSA/CPR_PERSON" / day);
    std::ofstream(warehouse() / "DSA/CPR_PERSON" / day / "_PROCESSED");
  }

  // The argument list of `flisd --once --now <now>` on this tree.
  std::vector<std::string> once_args(const std::string& now) const {
    return {flisd_binary(), "--config", etc().string(), "--log", "stderr", "--once", "--now", now};
  }
  // Runs `flisd --once --now <now>` to its end; the exit code, and its output in *log.
  int once(const std::string& now, std::string* log = nullptr) const {
    Child c(once_args(now), root() / "once.log");
    int code = c.wait();
    if (log != nullptr) *log = c.log();
    return code;
  }
  // Forgets every run and delivery (a fresh trial on the same warehouse).
  void reset() const {
    std::error_code ec;
    fs::remove_all(state_dir(), ec);
    fs::remove_all(outbox(), ec);
  }

 private:
  TempDir tmp_;
};

}  // namespace flis::test::faults
