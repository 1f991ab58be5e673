// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Test helpers for packages on disk: temporary folders, small files, and the command-line tools a
// municipality would use to open a package (`zstd`, `tar`, `sha256sum`), so tests check packages
// the way their consumers do rather than with flisd's own code.
//
//   flis::test::TempDir dir;
//   flis::test::write_file(dir / "DSA/CPR_PERSON/2026-11/101/a.csv", "id;name\n");
//   auto r = flis::test::run("tar -tf " + flis::test::quote(path));   // r.status, r.out
//
// Header-only; not thread-safe.
#pragma once

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace flis::test {

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "flisd-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& p) const { return path_ / p; }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path`, making its folders.
inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// n bytes that do not compress, the same for the same seed.
inline std::string random_bytes(size_t n, unsigned seed = 1) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen());
  return s;
}

// Single-quoted for sh.
inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
inline std::string quote(const std::filesystem::path& p) { return quote(p.string()); }

struct CommandResult {
  int status = -1;  // exit status; -1 if it did not exit normally
  std::string out;  // stdout (stderr is left to the test log)
};

inline CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) throw std::runtime_error("popen failed: " + command);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// Unpacks a .tar.zst with `zstd -dc | tar -x` into `into` (created); true on success.
inline bool unpack(const std::filesystem::path& package, const std::filesystem::path& into) {
  std::filesystem::create_directories(into);
  return run("bash -o pipefail -c " + quote("zstd -qdc " + quote(package) + " | tar --warning=no-timestamp -xf - -C " + quote(into)))
             .status == 0;
}

// The member names of a .tar.zst in archive order, as `tar -t` lists them.
inline std::vector<std::string> members(const std::filesystem::path& package) {
  auto r = run("zstd -qdc " + quote(package) + " | tar -tf -");
  std::vector<std::string> names;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) names.push_back(line);
  return names;
}

// `sha256sum` of a file: the 64 hex digits.
inline std::string sha256sum(const std::filesystem::path& path) {
  return run("sha256sum " + quote(path)).out.substr(0, 64);
}

// Every regular file under `root`, as paths relative to it, sorted.
inline std::vector<std::string> tree(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root))
    if (e.is_regular_file()) out.push_back(e.path().lexically_relative(root).generic_string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace flis::test
