// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl check [DIR]: on the host flisd runs on, everything validate checks plus what only that
// host can show: the warehouse is there and readable, the state database can be written, each
// SFTP target's key and known_hosts are there and safe, and the server answers with the expected
// host key and accepts the key (a connection and authentication, nothing written). Directory
// targets: the folder flisd would make packages in can be written.
//
// Checks run as the user running flisctl (access(2)): run it as the service user to see what
// flisd can reach. Each check prints "ok: ..." on stdout or "error: ... what to do" on stderr, then
// one summary line. Exit 0 when all pass (warnings allowed), 1 when one fails (2 is CLI11's).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "config/loader.h"
#include "daemon/ctl_commands.h"
#include "daemon/state_store.h"
#include "jobs/ssh_session.h"

namespace flis {
namespace {

namespace fs = std::filesystem;

struct Tally {
  int passed = 0, failed = 0;
  void ok(const std::string& what) {
    ++passed;
    std::printf("ok: %s\n", what.c_str());
  }
  void fail(const std::string& what) {
    ++failed;
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", what.c_str());
  }
  void add(const Status& s, const std::string& ok_text) { s.ok() ? ok(ok_text) : fail(s.message()); }
};

std::string errno_text(int err) { return std::strerror(err); }

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Status check_warehouse(const fs::path& warehouse, const std::string& settings_file) {
  struct stat st {};
  std::string fix = "; set warehouse: in " + settings_file + " to the FLIS warehouse, or mount it there";
  if (stat(warehouse.c_str(), &st) != 0)
    return Status::Error("warehouse " + warehouse.string() + ": " + errno_text(errno) + fix);
  if (!S_ISDIR(st.st_mode)) return Status::Error("warehouse " + warehouse.string() + " is not a folder" + fix);
  if (access(warehouse.c_str(), R_OK | X_OK) != 0)
    return Status::Error("warehouse " + warehouse.string() + " is not readable (" + errno_text(errno) +
                         "); give the user flisd runs as read access (e.g. group flisd and chmod g+rx)");
  std::error_code ec;
  for (fs::directory_iterator it(warehouse, ec), end; !ec && it != end; it.increment(ec)) {
  }
  if (ec) return Status::Error("warehouse " + warehouse.string() + " cannot be listed: " + ec.message());
  return Status::OK();
}

// The database file (if there) and its folder (SQLite keeps -wal and -shm files beside it) must
// be writable; the database is neither made nor opened here.
Status check_state(const fs::path& state) {
  // PostgreSQL: reachable and not from a newer flisd; a database flisd has not used yet is fine
  // (flisd creates its tables), and nothing is written here.
  if (is_database_uri(state.string())) {
    auto store = StateStore::open_readonly(state.string());
    if (store || store.message().find("holds no flisd state yet") != std::string::npos) return Status::OK();
    return store.status();
  }
  fs::path folder = state.parent_path();
  struct stat st {};
  if (stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    std::string why = stat(folder.c_str(), &st) != 0 ? errno_text(errno) : "not a folder";
    return Status::Error("state database folder " + folder.string() + ": " + why +
                         "; create it, owned by the user flisd runs as (the service's StateDirectory= "
                         "makes /var/lib/flisd when it starts), or change state: in flisd.yaml");
  }
  if (access(folder.c_str(), W_OK | X_OK) != 0)
    return Status::Error("state database folder " + folder.string() + " is not writable (" + errno_text(errno) +
                         "); flisd needs to create the database and its -wal file there");
  if (stat(state.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return Status::Error("state database " + state.string() + " is not a file");
    if (access(state.c_str(), R_OK | W_OK) != 0)
      return Status::Error("state database " + state.string() + " is not writable (" + errno_text(errno) +
                           "); chown it to the user flisd runs as");
  }
  return Status::OK();
}

Status check_known_hosts(const fs::path& known_hosts, const Target& t) {
  struct stat st {};
  std::string scan = "ssh-keyscan -p " + std::to_string(t.port) + " " + t.host;
  if (stat(known_hosts.c_str(), &st) != 0)
    return Status::Error("known_hosts " + known_hosts.string() + ": " + errno_text(errno) + "; create it with " +
                         scan + " >" + known_hosts.string() + " and check the key out of band");
  if (!S_ISREG(st.st_mode)) return Status::Error("known_hosts " + known_hosts.string() + " is not a file");
  if (st.st_mode & 022)
    return Status::Error("known_hosts " + known_hosts.string() + " is writable by others (mode " + octal(st.st_mode) +
                         "); chmod 644 it: whoever can change it can send the packages to another server");
  if (access(known_hosts.c_str(), R_OK) != 0)
    return Status::Error("known_hosts " + known_hosts.string() + " is not readable (" + errno_text(errno) + ")");
  return Status::OK();
}

// The deepest existing folder of the target's path before its first placeholder: flisd makes the
// rest, so that one must be writable.
Status check_directory_target(const Target& t) {
  fs::path fixed = fs::path(t.path.substr(0, t.path.find('{'))).parent_path();
  if (t.path.find('{') == std::string::npos) fixed = t.path;
  std::error_code ec;
  while (!fixed.empty() && !fs::exists(fixed, ec) && fixed != fixed.root_path()) fixed = fixed.parent_path();
  if (access(fixed.c_str(), W_OK | X_OK) != 0)
    return Status::Error("target " + t.name + ": " + fixed.string() + " is not writable (" + errno_text(errno) +
                         "); flisd makes the folders of " + t.path + " there");
  return Status::OK();
}

void check_sftp_target(const Target& t, Tally& tally) {
  std::string name = "target " + t.name + ": ";
  fs::path key = resolve_identity(t.identity);
  Status key_ok = read_private_key(key).status();  // read and dropped: only whether flisd could use it
  tally.add(key_ok.context(name.substr(0, name.size() - 2)), name + "private key " + key.string() + " is readable by its owner only");
  Status kh_ok = check_known_hosts(t.known_hosts, t);
  tally.add(kh_ok.context(name.substr(0, name.size() - 2)), name + "known_hosts " + t.known_hosts.string() + " is there and writable by its owner only");
  if (!key_ok.ok() || !kh_ok.ok()) return;
  SshEndpoint endpoint{t.host, t.port, t.user, t.identity, t.known_hosts};
  std::string where = t.user + "@" + t.host + ":" + std::to_string(t.port);
  auto session = SshSession::connect(endpoint, std::chrono::duration_cast<std::chrono::milliseconds>(t.timeout));
  if (session.ok())
    tally.ok(name + where + " answered with the expected host key and accepted the key");
  else
    tally.fail(name + "sftp://" + where + ": " + session.message());
}

int run_check(const std::string& dir) {
  LoadResult loaded = load_config(dir);
  int validate = report_validation(dir, loaded);
  if (!loaded.config) {
    std::printf("check: the configuration has errors; fix them (see above), then run flisctl check again\n");
    return 1;
  }
  const Settings& s = loaded.config->settings;
  Tally tally;
  std::string settings_file = (fs::path(dir) / "flisd.yaml").lexically_normal().string();
  tally.add(check_warehouse(s.warehouse, settings_file), "warehouse " + s.warehouse.string() + " is readable");
  tally.add(check_state(s.state), "state database " + s.state.string() + " can be written");
  for (const auto& [delivery, target] : s.targets) {
    if (target.type == TargetType::sftp)
      check_sftp_target(target, tally);
    else
      tally.add(check_directory_target(target), "target " + delivery + ": " + target.path + " can be made");
  }
  std::printf("check: %d passed, %d failed\n", tally.passed, tally.failed);
  return validate != 0 || tally.failed ? 1 : 0;
}

}  // namespace

void register_check(CLI::App& app, const CommonOptions& common, int& result) {
  auto* cmd = app.add_subcommand("check", "validate, then check this host: warehouse, state, keys, SFTP servers");
  auto dir = std::make_shared<std::string>();
  cmd->add_option("DIR", *dir, "configuration folder (default: --config)");
  cmd->callback([&common, &result, dir] { result = run_check(dir->empty() ? common.config_dir : *dir); });
}

}  // namespace flis
