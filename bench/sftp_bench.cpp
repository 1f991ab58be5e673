// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// sftp_bench: flisd's SFTP upload against OpenSSH's `sftp put` of the same file, on loopback and
// through bench/delayproxy (a 10 ms round trip by default). Run by bench/sftp.sh.
//
//   sftp_bench --file F --delayproxy PATH [--delay-ms 5] [--runs 3] [--request-size N]
//              [--in-flight N] [--sweep]
//
// Starts its own sshd (tests/support/sshd.h) and delay proxy on 127.0.0.1. Each upload runs in a
// child process, so its peak RSS is its own; the time covers connect, upload and (flisd) commit
// with its fsync, rename and .sha256; OpenSSH is measured with a plain put and with `put -f`
// (fsync), the fair comparison. The best of --runs is reported. --sweep also tries request sizes
// and in-flight counts over the delayed path.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "jobs/sftp_target.h"
#include "tests/support/sshd.h"

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Options {
  fs::path file;
  fs::path delayproxy;
  int delay_ms = 5;
  int runs = 3;
  flis::SftpTuning tuning;
  bool sweep = false;
};

struct Measurement {
  double seconds = 0;
  double cpu_seconds = 0;  // user + system of the client (sftp's ssh child included)
  double server_cpu_seconds = 0;  // of the sshd session that served it
  long peak_rss_kib = 0;
  bool ok = false;
};

// Runs `body` in a child process; its exit status says whether it worked.
template <typename F>
Measurement in_child(F body) {
  auto start = SteadyClock::now();
  pid_t pid = fork();
  if (pid == 0) _exit(body() ? 0 : 1);
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Measurement m;
  m.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  m.peak_rss_kib = usage.ru_maxrss;
  auto secs = [](timeval t) { return t.tv_sec + t.tv_usec / 1e6; };
  m.cpu_seconds = secs(usage.ru_utime) + secs(usage.ru_stime);
  m.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return m;
}

bool flisd_upload(const flis::Target& config, const flis::SftpTuning& tuning, const fs::path& file,
                  const std::string& folder, const std::string& name) {
  flis::SftpTargetOptions options;
  options.tuning = tuning;
  auto target = flis::make_sftp_target(config, nullptr, options);
  if (!target.ok()) return false;
  auto up = (*target)->begin(folder, name);
  if (!up.ok()) {
    std::fprintf(stderr, "flisd: %s\n", up.message().c_str());
    return false;
  }
  std::ifstream in(file, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() == 0) break;
    if (auto st = (*up)->write(buf.data(), static_cast<size_t>(in.gcount())); !st.ok()) {
      std::fprintf(stderr, "flisd: %s\n", st.message().c_str());
      return false;
    }
  }
  auto st = (*up)->commit("0000");
  if (!st.ok()) std::fprintf(stderr, "flisd: %s\n", st.message().c_str());
  return st.ok();
}

// `sftp -b` with one put; with `fsync`, `put -f`, which makes the server fsync the file as flisd
// does before its rename.
bool openssh_put(const flis::test::SshdFixture& sshd, int port, const fs::path& file, const std::string& remote,
                 bool fsync) {
  fs::path batch = sshd.dir() / "batch";
  std::ofstream(batch) << "put " << (fsync ? "-f " : "") << file.string() << " " << remote << "\n";
  std::string kh = "UserKnownHostsFile=" + sshd.known_hosts().string();
  std::string p = std::to_string(port);
  std::string dest = sshd.user() + "@127.0.0.1";
  int null = open("/dev/null", O_WRONLY);
  dup2(null, 1);
  execlp("sftp", "sftp", "-q", "-b", batch.c_str(), "-i", sshd.client_key().c_str(), "-P", p.c_str(), "-o", kh.c_str(),
         "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-F",
         "/dev/null", dest.c_str(), static_cast<char*>(nullptr));
  return false;
}

Measurement best_of(int runs, const std::function<Measurement()>& once) {
  Measurement best;
  for (int i = 0; i < runs; ++i) {
    Measurement m = once();
    if (!m.ok) return m;
    if (!best.ok || m.seconds < best.seconds) best = m;
    best.peak_rss_kib = std::max(best.peak_rss_kib, m.peak_rss_kib);
    best.cpu_seconds = std::min(best.cpu_seconds, m.cpu_seconds);
    best.server_cpu_seconds = std::min(best.server_cpu_seconds, m.server_cpu_seconds);
  }
  return best;
}

// Runs one upload in a child and charges it the CPU of the sshd session that served it.
template <typename F>
Measurement served(const flis::test::SshdFixture& sshd, F body) {
  double before = sshd.finished_sessions_cpu_seconds();
  Measurement m = in_child(body);
  // The session ends when the client disconnects; give sshd a moment to reap it.
  for (int i = 0; i < 100; ++i) {
    m.server_cpu_seconds = sshd.finished_sessions_cpu_seconds() - before;
    if (m.server_cpu_seconds > 0) break;
    usleep(10000);
  }
  return m;
}

double mb_per_s(uint64_t bytes, const Measurement& m) { return m.ok ? bytes / 1e6 / m.seconds : 0; }

pid_t start_proxy(const Options& o, int listen_port, int target_port) {
  pid_t pid = fork();
  if (pid == 0) {
    std::string lp = std::to_string(listen_port), tp = std::to_string(target_port), d = std::to_string(o.delay_ms);
    execl(o.delayproxy.c_str(), "delayproxy", "127.0.0.1", lp.c_str(), "127.0.0.1", tp.c_str(), d.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 200 && !flis::test::sshd_detail::port_accepts(listen_port); ++i) usleep(10000);
  return pid;
}

int run(const Options& o) {
  uint64_t bytes = fs::file_size(o.file);
  flis::test::SshdFixture sshd;
  int proxy_port = flis::test::sshd_detail::free_port();
  pid_t proxy = start_proxy(o, proxy_port, sshd.port());
  {
    std::ofstream kh(sshd.known_hosts(), std::ios::app);
    kh << "[127.0.0.1]:" << proxy_port << " " << flis::test::sshd_detail::read_text(sshd.host_key_pub());
  }
  int counter = 0;
  auto remote = [&](const char* who) {
    return (sshd.root() / (std::string(who) + "-" + std::to_string(++counter) + ".tar.zst")).string();
  };
  auto cleanup = [&] {
    for (auto& e : fs::directory_iterator(sshd.root())) fs::remove(e.path());
  };

  std::printf("file: %s, %.1f MiB; delay %d ms each way through the proxy (RTT %d ms)\n", o.file.c_str(),
              bytes / 1048576.0, o.delay_ms, 2 * o.delay_ms);
  std::printf("flisd tuning: request %zu bytes, %d in flight; best of %d runs\n\n", o.tuning.request_size,
              o.tuning.max_in_flight, o.runs);
  std::printf("%-10s %-8s %8s %8s %11s %11s %13s\n", "path", "tool", "MB/s", "seconds", "client CPU",
              "server CPU", "client RSS MiB");
  for (auto [label, port] : {std::pair{"loopback", sshd.port()}, std::pair{"delayed", proxy_port}}) {
    flis::Target config = sshd.target();
    config.port = port;
    Measurement f = best_of(o.runs, [&] {
      std::string path = remote("flisd");
      auto m = served(sshd, [&] { return flisd_upload(config, o.tuning, o.file, sshd.root().string(), fs::path(path).filename()); });
      cleanup();
      return m;
    });
    auto openssh = [&](bool fsync) {
      return best_of(o.runs, [&] {
        std::string path = remote("openssh");
        auto m = served(sshd, [&] { return openssh_put(sshd, port, o.file, path, fsync); });
        cleanup();
        return m;
      });
    };
    Measurement s = openssh(false);
    Measurement sf = openssh(true);
    for (auto [tool, m] : {std::pair{"flisd", f}, std::pair{"openssh", s}, std::pair{"put -f", sf}}) {
      std::printf("%-10s %-8s %8.1f %8.2f %11.2f %11.2f %13.1f\n", label, tool, mb_per_s(bytes, m), m.seconds,
                  m.cpu_seconds, m.server_cpu_seconds, m.peak_rss_kib / 1024.0);
    }
    if (f.ok && s.ok) {
      std::printf("%-10s ratio flisd/openssh throughput: %.2f (against put -f: %.2f)\n", label, s.seconds / f.seconds,
                  sf.seconds / f.seconds);
    }
  }

  if (o.sweep) {
    std::printf("\nsweep over the delayed path (MB/s, best of %d):\n%-12s", o.runs, "request\\fly");
    std::vector<int> flights = {16, 32, 64, 128};
    std::vector<size_t> sizes = {16384, 32768 - 64, 32768, 65536, 130000};
    for (int f : flights) std::printf(" %8d", f);
    std::printf("\n");
    flis::Target config = sshd.target();
    config.port = proxy_port;
    for (size_t size : sizes) {
      std::printf("%-12zu", size);
      for (int f : flights) {
        flis::SftpTuning t{size, f};
        Measurement m = best_of(o.runs, [&] {
          std::string path = remote("sweep");
          auto r = served(sshd, [&] { return flisd_upload(config, t, o.file, sshd.root().string(), fs::path(path).filename()); });
          cleanup();
          return r;
        });
        std::printf(" %8.1f", mb_per_s(bytes, m));
        std::fflush(stdout);
      }
      std::printf("\n");
    }
  }
  kill(proxy, SIGKILL);
  waitpid(proxy, nullptr, 0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--file") o.file = value();
    else if (a == "--delayproxy") o.delayproxy = value();
    else if (a == "--delay-ms") o.delay_ms = std::stoi(value());
    else if (a == "--runs") o.runs = std::stoi(value());
    else if (a == "--request-size") o.tuning.request_size = std::stoul(value());
    else if (a == "--in-flight") o.tuning.max_in_flight = std::stoi(value());
    else if (a == "--sweep") o.sweep = true;
    else {
      std::fprintf(stderr, "usage: sftp_bench --file F --delayproxy PATH [--delay-ms 5] [--runs 3] "
                           "[--request-size N] [--in-flight N] [--sweep]\n");
      return 2;
    }
  }
  if (o.file.empty() || o.delayproxy.empty()) {
    std::fprintf(stderr, "sftp_bench: --file and --delayproxy are required\n");
    return 2;
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sftp_bench: %s\n", e.what());
    return 1;
  }
}
