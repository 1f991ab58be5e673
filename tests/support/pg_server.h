// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// A real PostgreSQL 15 for tests: initdb into a temporary folder of its own and pg_ctl start, with
// its unix socket in that folder only (no TCP) or, with Options::tcp, also on 127.0.0.1 on a free
// port (to put a proxy between flisd and the database). Stopped and its folder removed at
// destruction. Trust authentication as the superuser "flisd": nothing listens beyond this machine.
//
//   flis::test::PgServer& pg = flis::test::PgServer::shared();  // one per test binary, lazily
//   std::string uri = pg.create_database();   // a fresh, empty database: postgresql://flisd@/t3?host=...
//   pg.exec(uri, "UPDATE nodes SET lease_until = 0");          // a seam: the lease ran out
//   pg.restart();                                               // the database restarted
//
// PostgreSQL refuses to run as root: as root the server runs as the `postgres` user that Debian's
// package creates (the folder is chowned to it); otherwise as whoever runs the test. Needs
// /usr/lib/postgresql/15/bin (Debian's postgresql-15; scripts/deps.sh installs it). Throws
// std::runtime_error, with the server's log, when it cannot be started.
//
// Header-only; create_database and exec may be called from several threads.
#pragma once

#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace flis::test {

struct PgServerOptions {
  bool tcp = false;      // also listen on 127.0.0.1:port()
  bool durable = false;  // fsync as in production (benchmarks); tests skip it for speed
};

class PgServer {
 public:
  using Options = PgServerOptions;

  explicit PgServer(Options options = Options()) : options_(options) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "flisd-pg-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("pg fixture: mkdtemp failed");
    dir_ = tmpl;
    port_ = free_port();
    as_ = geteuid() == 0 ? "runuser -u postgres -- " : "";
    if (geteuid() == 0) {
      struct passwd* pw = getpwnam("postgres");
      if (pw == nullptr) throw std::runtime_error("pg fixture: no `postgres` user to run PostgreSQL as root; install postgresql-15");
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("pg fixture: cannot chown " + dir_.string());
    }
    run(as_ + bin("initdb") + " -D " + data() + " -U flisd --auth=trust -E UTF8 --no-sync --no-instructions >" +
            (dir_ / "initdb.log").string() + " 2>&1",
        "initdb", dir_ / "initdb.log");
    start();
  }

  ~PgServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // One server for the whole test binary, started on first use, stopped at exit.
  static PgServer& shared() {
    static PgServer server;
    return server;
  }

  void start() {
    std::string opts = "-c listen_addresses='" + std::string(options_.tcp ? "127.0.0.1" : "") + "'" +
                       " -c unix_socket_directories='" + dir_.string() + "' -c port=" + std::to_string(port_) +
                       " -c shared_buffers=16MB -c max_connections=200" +
                       (options_.durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
    run(as_ + bin("pg_ctl") + " -D " + data() + " -l " + log().string() + " -w -t 60 -o \"" + opts + "\" start >/dev/null",
        "pg_ctl start", log());
    running_ = true;
  }

  // -m fast: sessions are cut, as when an operator restarts the server.
  void stop() {
    if (!running_) return;
    running_ = false;
    (void)std::system((as_ + bin("pg_ctl") + " -D " + data() + " -m fast -w stop >/dev/null 2>&1").c_str());
  }

  void restart() {
    stop();
    start();
  }

  // A new empty database, as the URI flisd's `state:` takes.
  std::string create_database() {
    std::string name = "t" + std::to_string(++databases_);
    exec(uri("postgres"), "CREATE DATABASE " + name);
    return uri(name);
  }

  // Over the unix socket in dir().
  std::string uri(const std::string& database) const {
    return "postgresql://flisd@/" + database + "?host=" + dir_.string() + "&port=" + std::to_string(port_);
  }
  // Over TCP (Options::tcp): through 127.0.0.1:port(), or a proxy's port.
  std::string tcp_uri(const std::string& database, int via_port = 0) const {
    return "postgresql://flisd@127.0.0.1:" + std::to_string(via_port ? via_port : port_) + "/" + database;
  }

  // Runs `sql` on the database at `uri` (a test's seam: expire a lease, read a table); throws on
  // an error. Returns the first column of the first row, if any.
  static std::string exec(const std::string& uri, const std::string& sql) {
    PGconn* c = PQconnectdb(uri.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string e = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("pg fixture: connecting to " + uri + ": " + e);
    }
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    PGresult* r = PQexec(c, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    std::string out = st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    std::string e = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error("pg fixture: " + sql + ": " + e);
    return out;
  }

  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path log() const { return dir_ / "server.log"; }

 private:
  static std::string bin(const std::string& name) { return "/usr/lib/postgresql/15/bin/" + name; }
  std::string data() const { return (dir_ / "data").string(); }

  static int free_port() {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      close(s);
      throw std::runtime_error("pg fixture: no free port");
    }
    close(s);
    return ntohs(a.sin_port);
  }

  static void run(const std::string& command, const std::string& what, const std::filesystem::path& log) {
    if (std::system(command.c_str()) == 0) return;
    std::ifstream in(log);
    std::stringstream s;
    s << in.rdbuf();
    throw std::runtime_error("pg fixture: " + what + " failed (is postgresql-15 installed? scripts/deps.sh): " + s.str());
  }

  Options options_;
  std::filesystem::path dir_;
  int port_ = 0;
  std::string as_;
  bool running_ = false;
  std::atomic<int> databases_{0};
};

}  // namespace flis::test
