// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// world_bench: flisd end to end (flisd --once: plan, pack, deliver over SFTP) against OpenSSH's
// sftp uploading the same, already built files, in the same run, on loopback and through
// bench/delayproxy (a 10 ms round trip by default). Run by bench/world.sh.
//
//   world_bench --flisd PATH --delayproxy PATH [--small] [--big] [--csv]
//               [--municipalities 98] [--days 31] [--csv-kib 16] [--workers 2] [--max-sessions 4]
//               [--delay-ms 5] [--big-mib 256] [--csv-mib 512] [--no-delayed]
//               [--rounds 1] [--wrap 'perf stat -d'] [--keep-logs]
//
//  --small  98 municipalities x 31 days of daily orders, one 16 KiB CSV each (3,038 packages):
//           flisd --once to sshd, against `sftp -b` putting the 6,076 built files (packages and
//           .sha256) over one connection; also flisd --once to a local folder (the scheduler and
//           packing without SSH) and flisd's SFTP layer alone (SftpTarget and its
//           session pool from `workers` threads uploading the same built files), which leaves out
//           the scheduler and packing. Sessions opened per run from sshd's log.
//  --big    one package of --big-mib incompressible bytes through the delay proxy, end to end,
//           against `sftp put` (and `put -f`, which fsyncs as flisd does) of the built package.
//  --csv    one package of --csv-mib CSV to loopback sshd, end to end, against `zstd -3 -T2`
//           alone on the same bytes; flisd's peak RSS.
//
//  --rounds --big and --csv that many times, flisd and its baselines in turn; the medians are
//           reported, with each round's ratio (one round's time swings by 15% on a shared machine).
//  --wrap   runs each flisd under a command (perf stat, perf record -g ...); its output goes to
//           the world's flisd.log, which --keep-logs keeps (the work folder is left in /tmp).
//
// Each flisd and sftp runs in a child process (its peak RSS is its own); times are wall clock.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/kommuner.h"
#include "jobs/session_pool.h"
#include "jobs/sftp_target.h"
#include "tests/support/sshd.h"

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Options {
  fs::path flisd, delayproxy;
  bool small = false, big = false, csv = false, delayed = true;
  int municipalities = 98, days = 31, csv_kib = 16, workers = 2, max_sessions = 4, delay_ms = 5;
  int big_mib = 256, csv_mib = 512;
  int rounds = 1;  // --big and --csv: flisd and its baselines this many times, alternating
  std::vector<std::string> wrap;  // a command each flisd runs under, split at spaces
  bool keep_logs = false;
};

struct Measurement {
  double seconds = 0;
  long peak_rss_kib = 0;
  bool ok = false;
};

// The median of several rounds' measurements (the largest peak RSS, every round ok): on a shared
// 2-core machine one round's time swings by 15%.
Measurement median(std::vector<Measurement> m) {
  std::sort(m.begin(), m.end(), [](const Measurement& a, const Measurement& b) { return a.seconds < b.seconds; });
  Measurement out = m[m.size() / 2];
  if (m.size() % 2 == 0) out.seconds = (m[m.size() / 2 - 1].seconds + m[m.size() / 2].seconds) / 2;
  for (const auto& r : m) out.peak_rss_kib = std::max(out.peak_rss_kib, r.peak_rss_kib), out.ok = out.ok && r.ok;
  return out;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

Measurement run_child(const std::vector<std::string>& argv, const fs::path& log) {
  auto start = SteadyClock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Measurement m;
  m.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  m.peak_rss_kib = usage.ru_maxrss;
  m.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return m;
}

std::vector<int> municipality_codes(int n) {
  std::vector<int> codes;
  for (int c = 100; c < 1000 && static_cast<int>(codes.size()) < n; ++c)
    if (flis::kommune_name(c)) codes.push_back(c);
  return codes;
}

// A CSV of person-like rows: what the warehouse holds, compressing about as real data does.
std::string csv_rows(size_t bytes, unsigned seed) {
  static const char* first[] = {"Jens", "Mette", "Anders", "Hanne", "Peter", "Kirsten", "Lars", "Søren", "Ida", "Åse"};
  static const char* last[] = {"Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Larsen", "Møller", "Olsen"};
  static const char* street[] = {"Nørregade", "Vestergade", "Jagtvej", "Strandvejen", "Algade", "Søndergade"};
  std::mt19937 g(seed);
  std::string out = "cpr;fornavn;efternavn;adresse;postnr;dato;beloeb\n";
  char line[256];
  while (out.size() < bytes) {
    auto r = [&](unsigned below) { return static_cast<unsigned>(g() % below); };
    int n = std::snprintf(line, sizeof line, "%06u%04u;%s;%s;%s %u;%u;2026-%02u-%02u;%u.%02u\n", r(311299), r(10000),
                          first[r(10)], last[r(8)], street[r(6)], r(200) + 1, 1000 + r(8999), r(12) + 1, r(28) + 1,
                          r(100000), r(100));
    out.append(line, static_cast<size_t>(n));
  }
  out.resize(bytes);
  return out;
}

// A configuration folder, warehouse and state for `flisd --once`, delivering to `target`.
struct World {
  fs::path dir;
  explicit World(fs::path d) : dir(std::move(d)) {
    fs::create_directories(dir / "etc/orders");
    fs::create_directories(dir / "etc/calendar");
    fs::create_directories(dir / "warehouse/DSA/CPR_PERSON");
    fs::copy_file(FLISD_SOURCE_DIR "/config/examples/interfaces.yaml", dir / "etc/interfaces.yaml");
    for (auto& e : fs::directory_iterator(FLISD_SOURCE_DIR "/config/examples/calendar"))
      fs::copy_file(e.path(), dir / "etc/calendar" / e.path().filename());
  }
  void settings(const flis::Target& t, int workers, int max_sessions, int threads) const {
    std::ofstream(dir / "etc/flisd.yaml") << "timezone: Europe/Copenhagen\n"
                                          << "warehouse: " << (dir / "warehouse").string() << "\n"
                                          << "state: " << (dir / "state.db").string() << "\n"
                                          << "workers: " << workers << "\nbackfill_workers: 1\n"
                                          << "compression: {level: 3, threads: " << threads << "}\n"
                                          << "targets:\n  flis:\n    type: sftp\n    host: " << t.host << "\n"
                                          << "    port: " << t.port << "\n    user: " << t.user << "\n"
                                          << "    identity: " << t.identity.string() << "\n"
                                          << "    known_hosts: " << t.known_hosts.string() << "\n"
                                          << "    max_sessions: " << max_sessions << "\n"
                                          << "    path: " << t.path << "\n";
  }
  // The same world to a local folder: what the scheduler and packing cost without SSH.
  void settings_directory(const fs::path& out, int workers) const {
    std::ofstream(dir / "etc/flisd.yaml") << "timezone: Europe/Copenhagen\n"
                                          << "warehouse: " << (dir / "warehouse").string() << "\n"
                                          << "state: " << (dir / "state.db").string() << "\n"
                                          << "workers: " << workers << "\nbackfill_workers: 1\n"
                                          << "compression: {level: 3, threads: 1}\n"
                                          << "targets:\n  flis:\n    type: directory\n"
                                          << "    path: " << (out / "{municipality}").string() << "\n";
  }
  void order(int code, const std::string& start, const std::string& end) const {
    std::string id = "K" + std::to_string(code) + "-CPR-DAILY";
    std::ofstream(dir / "etc/orders" / (id + ".yaml"))
        << "id: " << id << "\nmunicipality: " << code << "\ntype: daily\nsource: DSA\ndelivery: flis\n"
        << "interfaces: [CPR_PERSON]\nstart: " << start << "\nend: " << end << "\n";
  }
  void data(const std::string& day, int code, const std::string& name, const std::string& bytes) const {
    fs::path d = dir / "warehouse/DSA/CPR_PERSON" / day;
    fs::create_directories(d / std::to_string(code));
    std::ofstream(d / std::to_string(code) / name, std::ios::binary) << bytes;
    std::ofstream(d / "_PROCESSED");
  }
  void fresh_state() const {
    for (const char* f : {"state.db", "state.db-wal", "state.db-shm"}) fs::remove(dir / f);
  }
  Measurement once(const Options& o, const std::string& now) const {
    std::vector<std::string> argv = o.wrap;
    for (std::string a : {o.flisd.string(), std::string("--once"), std::string("--config"), (dir / "etc").string(),
                          std::string("--now"), now})
      argv.push_back(a);
    return run_child(argv, dir / "flisd.log");
  }
};

std::string day_of_october(int d) {
  return (d < 10 ? "2026-10-0" : "2026-10-") + std::to_string(d);
}

// Every regular file under `root`, relative to it.
std::vector<fs::path> files_under(const fs::path& root) {
  std::vector<fs::path> out;
  if (!fs::exists(root)) return out;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), root));
  std::sort(out.begin(), out.end());
  return out;
}

// `sftp -b` putting every file of `local` under `remote` (folders first), over one connection.
Measurement openssh_batch(const flis::test::SshdFixture& sshd, int port, const fs::path& local, const fs::path& remote,
                          const std::vector<fs::path>& files, bool fsync, const fs::path& work) {
  fs::path batch = work / "batch";
  {
    std::ofstream b(batch);
    std::set<fs::path> folders;
    for (const auto& f : files)
      for (fs::path p = f.parent_path(); !p.empty(); p = p.parent_path()) folders.insert(p);
    b << "-mkdir " << remote.string() << "\n";
    for (const auto& d : folders) b << "-mkdir " << (remote / d).string() << "\n";  // sorted: parents first
    for (const auto& f : files) b << "put " << (fsync ? "-f " : "") << (local / f).string() << " " << (remote / f).string() << "\n";
  }
  std::string kh = "UserKnownHostsFile=" + sshd.known_hosts().string();
  return run_child({"sftp", "-q", "-b", batch.string(), "-i", sshd.client_key().string(), "-P", std::to_string(port), "-o",
                    kh, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o",
                    "StrictHostKeyChecking=yes", "-F", "/dev/null", sshd.user() + "@127.0.0.1"},
                   work / "sftp.log");
}

// flisd's SFTP layer alone: the built packages delivered with SftpTarget as Runner does
// (begin_unless_present, write, commit with its .sha256) from `workers` threads sharing one session pool.
Measurement sftp_layer(const flis::Target& config, const fs::path& local, const fs::path& remote,
                       const std::vector<fs::path>& packages, int workers, uint64_t* sessions) {
  flis::SessionPool pool;
  flis::SftpTargetOptions o;
  o.pool = &pool;
  auto target = flis::make_sftp_target(config, nullptr, o);
  std::atomic<size_t> next{0};
  std::atomic<bool> ok{true};
  std::atomic<int64_t> begin_us{0}, commit_us{0};
  auto start = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      for (size_t i = next++; i < packages.size(); i = next++) {
        std::ifstream in(local / packages[i], std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::string folder = (remote / packages[i].parent_path()).string(), name = packages[i].filename();
        auto t0 = SteadyClock::now();
        auto up = (*target)->begin_unless_present(folder, name);
        auto t2 = SteadyClock::now();
        flis::Status st = up.status();
        if (st.ok() && !*up) st = flis::Status::Error(folder + "/" + name + " is already there");
        if (st.ok()) st = (*up)->write(data.data(), data.size());
        if (st.ok()) st = (*up)->commit(std::string(64, '0'));
        auto t3 = SteadyClock::now();
        auto us = [](auto d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
        begin_us += us(t2 - t0);
        commit_us += us(t3 - t2);
        if (!st.ok()) {
          std::fprintf(stderr, "sftp layer: %s\n", st.message().c_str());
          ok = false;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Measurement m;
  m.seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  m.ok = ok;
  *sessions = pool.sessions_opened();
  double n = static_cast<double>(std::max<size_t>(1, packages.size()));
  std::printf("          (per package: look + begin %.2f ms, write + commit %.2f ms)\n", begin_us / n / 1000,
              commit_us / n / 1000);
  return m;
}

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

void clear(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
}

const char* kNow = "2026-11-03T12:00:00+01:00";

void small_world(const Options& o, flis::test::SshdFixture& sshd, int proxy_port, const fs::path& work) {
  World world(work / "small");
  std::vector<int> codes = municipality_codes(o.municipalities);
  for (int code : codes) {
    world.order(code, day_of_october(1), day_of_october(o.days));
    for (int d = 1; d <= o.days; ++d)
      world.data(day_of_october(d), code, "person.csv", csv_rows(static_cast<size_t>(o.csv_kib) * 1024, code * 100 + d));
  }
  size_t packages = codes.size() * static_cast<size_t>(o.days);
  std::printf("small packages: %zu municipalities x %d days = %zu packages of one %d KiB CSV; workers %d, max_sessions %d\n",
              codes.size(), o.days, packages, o.csv_kib, o.workers, o.max_sessions);
  std::printf("%-9s %-34s %9s %10s %14s\n", "path", "what", "seconds", "pkgs/s", "sessions/run");

  {
    world.settings_directory(work / "outbox", o.workers);
    world.fresh_state();
    Measurement d = world.once(o, kNow);
    std::printf("%-9s %-34s %9.2f %10.1f %14s%s\n", "local", "flisd --once to a directory", d.seconds,
                packages / d.seconds, "-", d.ok ? "" : "  (FAILED: see flisd.log)");
    clear(work / "outbox");
  }
  std::vector<std::pair<const char*, int>> paths{{"loopback", sshd.port()}};
  if (o.delayed) paths.push_back({"10ms-rtt", proxy_port});
  for (auto [label, port] : paths) {
    fs::path remote = sshd.root() / "flisd";
    flis::Target t = sshd.target();
    t.port = port;
    t.path = (remote / "{municipality}/datapakker").string();
    world.settings(t, o.workers, o.max_sessions, 1);
    world.fresh_state();
    clear(remote);
    int logins = sshd.logins();
    Measurement f = world.once(o, kNow);
    int sessions = sshd.logins() - logins;
    std::vector<fs::path> built = files_under(remote);
    std::printf("%-9s %-34s %9.2f %10.1f %14.4f%s\n", label, "flisd --once end to end", f.seconds,
                packages / f.seconds, static_cast<double>(sessions) / packages,
                f.ok && built.size() == 2 * packages ? "" : "  (FAILED: see flisd.log)");
    std::fflush(stdout);
    // The built files, kept locally for the baselines.
    fs::path local = work / "built";
    clear(local);
    fs::copy(remote, local, fs::copy_options::recursive);
    std::vector<fs::path> pkgs;
    for (const auto& b : built)
      if (b.extension() == ".zst") pkgs.push_back(b);

    clear(sshd.root() / "layer");
    uint64_t layer_sessions = 0;
    Measurement l = sftp_layer(t, local, sshd.root() / "layer", pkgs, o.workers, &layer_sessions);
    std::printf("%-9s %-34s %9.2f %10.1f %14.4f%s\n", label, "flisd SFTP layer alone", l.seconds,
                pkgs.size() / l.seconds, static_cast<double>(layer_sessions) / pkgs.size(), l.ok ? "" : "  (FAILED)");
    std::fflush(stdout);
    for (bool fsync : {false, true}) {
      clear(sshd.root() / "openssh");
      Measurement s = openssh_batch(sshd, port, local, sshd.root() / "openssh", built, fsync, work);
      std::printf("%-9s %-34s %9.2f %10.1f %14.4f%s\n", label,
                  fsync ? "sftp -b, put -f, one connection" : "sftp -b, put, one connection", s.seconds,
                  pkgs.size() / s.seconds, 1.0 / pkgs.size(), s.ok ? "" : "  (FAILED: see sftp.log)");
      std::printf("%-9s   flisd end to end / sftp -b%s: %.2fx the time; SFTP layer / sftp -b: %.2fx\n", label,
                  fsync ? " put -f" : "", f.seconds / s.seconds, l.seconds / s.seconds);
      std::fflush(stdout);
    }
    clear(sshd.root() / "openssh");
    clear(sshd.root() / "layer");
  }
  std::printf("\n");
}

// One package of one big file, end to end, for --big and --csv.
Measurement one_big_package(const Options& o, const World& world, const flis::test::SshdFixture& sshd, int port,
                            int threads, fs::path* built) {
  fs::path remote = sshd.root() / "big";
  flis::Target t = sshd.target();
  t.port = port;
  t.path = (remote / "{municipality}").string();
  world.settings(t, 1, 1, threads);
  world.fresh_state();
  clear(remote);
  Measurement m = world.once(o, kNow);
  for (const auto& f : files_under(remote))
    if (f.extension() == ".zst") *built = remote / f;
  return m;
}

void big_package(const Options& o, flis::test::SshdFixture& sshd, int proxy_port, const fs::path& work) {
  World world(work / "big");
  world.order(101, day_of_october(31), day_of_october(31));
  {
    std::ofstream out(work / "random.bin", std::ios::binary);
    std::mt19937_64 g(7);
    std::vector<uint64_t> buf(1 << 17);
    for (int i = 0; i < o.big_mib; ++i) {
      for (auto& v : buf) v = g();
      out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size() * 8));
    }
  }
  fs::path day = world.dir / "warehouse/DSA/CPR_PERSON" / day_of_october(31);
  fs::create_directories(day / "101");
  fs::rename(work / "random.bin", day / "101/big.bin");
  std::ofstream(day / "_PROCESSED");
  fs::path built;
  fs::path local = work / "big.tar.zst";
  std::vector<Measurement> fs_, puts[2];
  std::vector<double> ratios[2];
  for (int round = 0; round < std::max(1, o.rounds); ++round) {
    fs_.push_back(one_big_package(o, world, sshd, proxy_port, 2, &built));
    if (round == 0) fs::copy_file(built, local, fs::copy_options::overwrite_existing);
    for (bool fsync : {false, true}) {
      clear(sshd.root() / "openssh");
      puts[fsync].push_back(openssh_batch(sshd, proxy_port, work, sshd.root() / "openssh", {"big.tar.zst"}, fsync, work));
      ratios[fsync].push_back(fs_.back().seconds / puts[fsync].back().seconds);
    }
  }
  Measurement f = median(fs_);
  uint64_t bytes = fs::file_size(local);
  std::printf("big package: %d MiB of incompressible data through a %d ms round trip (package %.1f MiB)%s\n", o.big_mib,
              2 * o.delay_ms, bytes / 1048576.0, o.rounds > 1 ? ", medians of the rounds" : "");
  std::printf("  flisd --once end to end   %7.2f s  %7.1f MB/s  peak RSS %.1f MiB%s\n", f.seconds, bytes / 1e6 / f.seconds,
              f.peak_rss_kib / 1024.0, f.ok ? "" : "  (FAILED)");
  for (bool fsync : {false, true}) {
    Measurement m = median(puts[fsync]);
    std::printf("  sftp %-20s %7.2f s  %7.1f MB/s   flisd / sftp: %.2fx the time", fsync ? "put -f (fsync)" : "put",
                m.seconds, bytes / 1e6 / m.seconds, median_of(ratios[fsync]));
    if (o.rounds > 1) {
      std::printf(" (rounds:");
      for (double r : ratios[fsync]) std::printf(" %.2f", r);
      std::printf(")");
    }
    std::printf("\n");
  }
  clear(sshd.root() / "openssh");
  clear(sshd.root() / "big");
  std::printf("\n");
}

void csv_package(const Options& o, flis::test::SshdFixture& sshd, const fs::path& work) {
  World world(work / "csv");
  world.order(101, day_of_october(31), day_of_october(31));
  fs::path day = world.dir / "warehouse/DSA/CPR_PERSON" / day_of_october(31);
  fs::create_directories(day / "101");
  fs::path file = day / "101/person.csv";
  {
    std::ofstream out(file, std::ios::binary);
    for (int i = 0; i < o.csv_mib; ++i) out << csv_rows(1 << 20, i);
  }
  std::ofstream(day / "_PROCESSED");
  uint64_t bytes = fs::file_size(file);
  run_child({"cat", file.string()}, "/dev/null");  // warm the page cache for both
  fs::path built;
  std::vector<Measurement> fs_, zs;
  std::vector<double> ratios;
  for (int round = 0; round < std::max(1, o.rounds); ++round) {
    fs_.push_back(one_big_package(o, world, sshd, sshd.port(), 2, &built));
    zs.push_back(run_child({"sh", "-c", "zstd -q -3 -T2 -c '" + file.string() + "' > /dev/null"}, work / "zstd.log"));
    ratios.push_back(zs.back().seconds / fs_.back().seconds);
  }
  Measurement f = median(fs_), z = median(zs);
  std::printf("CSV package: %d MiB to loopback sshd (compression threads 2)%s\n", o.csv_mib,
              o.rounds > 1 ? ", medians of the rounds" : "");
  std::printf("  flisd --once end to end   %7.2f s  %7.1f MB/s  peak RSS %.1f MiB%s\n", f.seconds, bytes / 1e6 / f.seconds,
              f.peak_rss_kib / 1024.0, f.ok ? "" : "  (FAILED)");
  std::printf("  zstd -3 -T2 alone         %7.2f s  %7.1f MB/s   flisd reaches %.2f of it", z.seconds,
              bytes / 1e6 / z.seconds, median_of(ratios));
  if (o.rounds > 1) {
    std::printf(" (rounds:");
    for (double r : ratios) std::printf(" %.2f", r);
    std::printf(")");
  }
  std::printf("\n");
  clear(sshd.root() / "big");
  std::printf("\n");
}

int run(const Options& o) {
  char tmpl[] = "/tmp/flisd-world-bench-XXXXXX";
  fs::path work = mkdtemp(tmpl);
  flis::test::SshdFixture sshd;
  int proxy_port = flis::test::sshd_detail::free_port();
  pid_t proxy = start_proxy(o, proxy_port, sshd.port());
  std::ofstream(sshd.known_hosts(), std::ios::app)
      << "[127.0.0.1]:" << proxy_port << " " << flis::test::sshd_detail::read_text(sshd.host_key_pub());
  std::printf("ciphers offered: %s\n\n", flis::preferred_ciphers());
  if (o.small) small_world(o, sshd, proxy_port, work);
  if (o.big) big_package(o, sshd, proxy_port, work);
  if (o.csv) csv_package(o, sshd, work);
  kill(proxy, SIGKILL);
  waitpid(proxy, nullptr, 0);
  if (o.keep_logs) std::printf("kept %s (flisd.log of each world in it)\n", work.c_str());
  else clear(work);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--flisd") o.flisd = value();
    else if (a == "--delayproxy") o.delayproxy = value();
    else if (a == "--small") o.small = true;
    else if (a == "--big") o.big = true;
    else if (a == "--csv") o.csv = true;
    else if (a == "--no-delayed") o.delayed = false;
    else if (a == "--municipalities") o.municipalities = std::stoi(value());
    else if (a == "--days") o.days = std::stoi(value());
    else if (a == "--csv-kib") o.csv_kib = std::stoi(value());
    else if (a == "--workers") o.workers = std::stoi(value());
    else if (a == "--max-sessions") o.max_sessions = std::stoi(value());
    else if (a == "--delay-ms") o.delay_ms = std::stoi(value());
    else if (a == "--big-mib") o.big_mib = std::stoi(value());
    else if (a == "--csv-mib") o.csv_mib = std::stoi(value());
    else if (a == "--rounds") o.rounds = std::stoi(value());
    else if (a == "--wrap") {
      std::istringstream words(value());
      for (std::string w; words >> w;) o.wrap.push_back(w);
    } else if (a == "--keep-logs") o.keep_logs = true;
    else {
      std::fprintf(stderr, "world_bench: unknown option %s (see bench/world_bench.cpp)\n", a.c_str());
      return 2;
    }
  }
  if (o.flisd.empty() || o.delayproxy.empty()) {
    std::fprintf(stderr, "world_bench: --flisd and --delayproxy are required\n");
    return 2;
  }
  if (!o.small && !o.big && !o.csv) o.small = o.big = o.csv = true;
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "world_bench: %s\n", e.what());
    return 1;
  }
}
