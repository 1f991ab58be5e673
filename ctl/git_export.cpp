// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "ctl/git_export.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace flis {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int code = -1;
  std::string out, err;  // what the program wrote, trailing newlines cut
};

std::string read_trimmed(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// Runs argv with stdout and stderr in files of `scratch`; waits for it.
Result<Outcome> run(const std::vector<std::string>& argv, const fs::path& scratch) {
  fs::path out = scratch / "stdout", err = scratch / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::Error("cannot run " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return Status::Error("waiting for " + argv[0] + ": " + std::strerror(errno));
  Outcome o;
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  o.out = read_trimmed(out);
  o.err = read_trimmed(err);
  return o;
}

}  // namespace

Result<std::unique_ptr<GitSnapshot>> GitSnapshot::export_at(const fs::path& dir, const std::string& rev) {
  // A revision is never an option: `--output=/etc/passwd` must not reach git as one.
  if (rev.empty() || rev.front() == '-') return Status::Error("'" + rev + "' is not a git revision");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::Error(dir.string() + " is not a folder");

  std::string pattern = (fs::temp_directory_path(ec) / "flisctl-diff.XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    return Status::Error("cannot make a temporary folder: " + std::string(std::strerror(errno)));
  std::unique_ptr<GitSnapshot> snap(new GitSnapshot);
  snap->temp_ = pattern;
  snap->tree_ = snap->temp_ / "tree";
  const fs::path& scratch = snap->temp_;
  std::string where = dir.string();
  auto git = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", where});
    return run(args, scratch);
  };

  // Where the folder sits in its repository: "" at the top, "config/" in a subfolder. git is run
  // from the top from then on: `git archive` run in a subfolder would look for it in the tree twice.
  auto prefix = git({"rev-parse", "--show-prefix", "--show-toplevel"});
  if (!prefix) return prefix.status();
  if (prefix->code != 0) return Status::Error(dir.string() + " is not in a git checkout: " + prefix->err);
  auto newline = prefix->out.find('\n');
  if (newline == std::string::npos) return Status::Error("git rev-parse in " + dir.string() + ": unexpected output");
  std::string sub = prefix->out.substr(0, newline);
  where = prefix->out.substr(newline + 1);
  if (!sub.empty() && sub.back() == '/') sub.pop_back();

  auto commit = git({"rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{commit}"});
  if (!commit) return commit.status();
  if (commit->code != 0 || commit->out.empty())
    return Status::Error("no commit '" + rev + "' in the repository of " + dir.string());
  snap->commit_ = commit->out;

  std::string tree = sub.empty() ? snap->commit_ + "^{tree}" : snap->commit_ + ":" + sub;
  auto there = git({"cat-file", "-e", tree});
  if (!there) return there.status();
  if (there->code != 0) return snap;  // the folder did not exist then: nothing before

  fs::path tar = snap->temp_ / "tree.tar";
  auto archived = git({"archive", "--format=tar", "-o", tar.string(), tree});
  if (!archived) return archived.status();
  if (archived->code != 0) return Status::Error("git archive " + tree + ": " + archived->err);
  fs::create_directory(snap->tree_, ec);
  if (ec) return Status::Error("cannot make " + snap->tree_.string() + ": " + ec.message());
  auto extracted = run({"tar", "-xf", tar.string(), "-C", snap->tree_.string()}, scratch);
  if (!extracted) return extracted.status();
  if (extracted->code != 0) return Status::Error("unpacking " + tar.string() + ": " + extracted->err);
  snap->exists_ = true;
  return snap;
}

GitSnapshot::~GitSnapshot() {
  std::error_code ec;
  if (!temp_.empty()) fs::remove_all(temp_, ec);
}

}  // namespace flis
