// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The directory target: a consumer never sees a partial package under the final
// name, a delivered package is never overwritten, and errors name the path.
#define BOOST_TEST_MODULE jobs_directory_target
#include <boost/test/unit_test.hpp>

#include <sys/mount.h>
#include <sys/stat.h>

#include "jobs/directory_target.h"
#include "jobs/target.h"
#include "tests/support/package_files.h"

namespace fs = std::filesystem;
using flis::DirectoryTarget;
using flis::test::read_file;
using flis::test::TempDir;
using flis::test::write_file;

namespace {

const std::string kName = "K101-CPR-MONTHLY_2026-11.tar.zst";

std::unique_ptr<flis::Upload> begin(DirectoryTarget& t, const fs::path& folder) {
  auto r = t.begin(folder.string(), kName);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  return std::move(*r);
}

}  // namespace

BOOST_AUTO_TEST_CASE(temporary_name_is_hidden_and_not_a_package_name) {
  BOOST_TEST(flis::temporary_name(kName) == "." + kName + ".part");
}

BOOST_AUTO_TEST_CASE(an_attempt_has_a_temporary_name_of_its_own) {
  const std::string tag = flis::attempt_tag("host 1/a", 2);
  BOOST_TEST(tag == "host_1_a-2");
  BOOST_TEST(flis::temporary_name(kName, tag) == "." + kName + ".host_1_a-2.part");
  BOOST_TEST(flis::temporary_name(kName, tag) != flis::temporary_name(kName, flis::attempt_tag("host 1/a", 3)));
  BOOST_TEST(flis::is_temporary_of(flis::temporary_name(kName, tag), kName));
  BOOST_TEST(flis::is_temporary_of(flis::temporary_name(kName), kName));
  BOOST_TEST(flis::is_temporary_of(flis::temporary_name(kName + ".sha256"), kName));
  BOOST_TEST(!flis::is_temporary_of(kName, kName));
  BOOST_TEST(!flis::is_temporary_of(flis::temporary_name("K101-CPR-MONTHLY_2026-12.tar.zst", tag), kName));
}

BOOST_AUTO_TEST_CASE(remove_temporaries_removes_every_attempt_of_the_package_and_nothing_else) {
  TempDir dir;
  DirectoryTarget target;
  const std::string other = "K101-CPR-MONTHLY_2026-12.tar.zst";
  auto up = target.begin(dir.path().string(), kName, flis::attempt_tag("a", 1));
  BOOST_REQUIRE(up.ok());
  BOOST_REQUIRE((*up)->write("x", 1).ok());
  write_file(dir / flis::temporary_name(kName, flis::attempt_tag("b", 2)), "another node's attempt");
  write_file(dir / flis::temporary_name(kName), "a one-host attempt");
  write_file(dir / flis::temporary_name(other, flis::attempt_tag("a", 1)), "another package");
  write_file(dir / other, "delivered");
  BOOST_REQUIRE(target.remove_temporaries(dir.path().string(), kName).ok());
  BOOST_TEST(flis::test::tree(dir.path()) ==
                 (std::vector<std::string>{"." + other + ".a-1.part", other}),
             boost::test_tools::per_element());
  // The attempt whose temporary file went can no longer commit it.
  BOOST_TEST(!(*up)->commit(std::string(64, 'a')).ok());
  BOOST_TEST(!fs::exists(dir / kName));
}

BOOST_AUTO_TEST_CASE(expand_path_fills_municipality_with_three_digits_and_order) {
  BOOST_TEST(flis::expand_path("/k/{municipality}/{order}/{municipality}", 101, "K101-X") == "/k/101/K101-X/101");
  BOOST_TEST(flis::expand_path("/k/{municipality}", 7, "o") == "/k/007");
}

BOOST_AUTO_TEST_CASE(check_folder_refuses_dot_dot_components_only) {
  BOOST_TEST(!flis::check_folder("/spool/../etc").ok());
  BOOST_TEST(!flis::check_folder("..").ok());
  BOOST_TEST(!flis::check_folder("/spool/..").ok());
  BOOST_TEST(flis::check_folder("/spool/K101..x/a").ok());
  BOOST_TEST(flis::check_folder("/spool/...").ok());
}

BOOST_AUTO_TEST_CASE(delivers_under_the_final_name_only_at_commit_with_a_sha256sum_file) {
  TempDir dir;
  DirectoryTarget target("/spool/{municipality}");
  fs::path folder = dir / "serviceplatformen/101";
  auto up = begin(target, folder);
  BOOST_TEST(up->remote_path() == (folder / kName).string());
  BOOST_REQUIRE(up->write("hello ", 6).ok());
  BOOST_REQUIRE(up->write("world\n", 6).ok());
  BOOST_TEST(fs::exists(folder / ("." + kName + ".part")));
  BOOST_TEST(!fs::exists(folder / kName));
  std::string sum = flis::test::run("printf 'hello world\\n' | sha256sum").out.substr(0, 64);
  BOOST_REQUIRE(up->commit(sum).ok());
  BOOST_TEST(read_file(folder / kName) == "hello world\n");
  BOOST_TEST(read_file(folder / (kName + ".sha256")) == sum + "  " + kName + "\n");
  BOOST_TEST(flis::test::tree(folder) == (std::vector<std::string>{kName, kName + ".sha256"}),
             boost::test_tools::per_element());
  auto check = flis::test::run("cd " + flis::test::quote(folder) + " && sha256sum -c --status " + kName + ".sha256");
  BOOST_TEST(check.status == 0);
  struct stat st;
  BOOST_REQUIRE(stat(folder.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0750u);
  BOOST_REQUIRE(stat((folder / kName).c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0007) == 0u);
  BOOST_TEST(target.describe() == "directory:/spool/{municipality}");
}

BOOST_AUTO_TEST_CASE(abort_leaves_nothing_behind) {
  TempDir dir;
  DirectoryTarget target;
  auto up = begin(target, dir.path());
  BOOST_REQUIRE(up->write("partial", 7).ok());
  up->abort();
  BOOST_TEST(flis::test::tree(dir.path()).empty());
}

BOOST_AUTO_TEST_CASE(an_upload_dropped_without_commit_removes_its_temporary) {
  TempDir dir;
  DirectoryTarget target;
  {
    auto up = begin(target, dir.path());
    BOOST_REQUIRE(up->write("partial", 7).ok());
  }
  BOOST_TEST(flis::test::tree(dir.path()).empty());
}

BOOST_AUTO_TEST_CASE(begin_removes_a_stale_temporary_of_an_interrupted_attempt) {
  TempDir dir;
  write_file(dir / ("." + kName + ".part"), "stale bytes of a crashed run");
  DirectoryTarget target;
  auto up = begin(target, dir.path());
  BOOST_REQUIRE(up->write("new", 3).ok());
  BOOST_REQUIRE(up->commit(std::string(64, 'a')).ok());
  BOOST_TEST(read_file(dir / kName) == "new");
}

BOOST_AUTO_TEST_CASE(never_overwrites_a_delivered_package) {
  TempDir dir;
  write_file(dir / kName, "delivered yesterday");
  DirectoryTarget target;
  auto r = target.begin(dir.path().string(), kName);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find((dir / kName).string()) != std::string::npos, r.message());
  BOOST_TEST(r.message().find("never overwrites") != std::string::npos, r.message());
  BOOST_TEST(read_file(dir / kName) == "delivered yesterday");
}

BOOST_AUTO_TEST_CASE(commit_refuses_a_final_name_that_appeared_meanwhile) {
  TempDir dir;
  DirectoryTarget target;
  auto up = begin(target, dir.path());
  BOOST_REQUIRE(up->write("mine", 4).ok());
  write_file(dir / kName, "someone else's");
  flis::Status s = up->commit(std::string(64, 'a'));
  BOOST_REQUIRE(!s.ok());
  BOOST_TEST(s.message().find("already exists") != std::string::npos, s.message());
  BOOST_TEST(read_file(dir / kName) == "someone else's");
  BOOST_TEST(flis::test::tree(dir.path()) == std::vector<std::string>{kName}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(inspect_reports_size_and_checksum_and_removes_a_stale_temporary) {
  TempDir dir;
  DirectoryTarget target;
  auto none = target.inspect(dir.path().string(), kName);
  BOOST_REQUIRE(none.ok());
  BOOST_TEST(!none->has_value());

  write_file(dir / ("." + kName + ".part"), "stale");
  write_file(dir / kName, "0123456789");
  auto no_sum = target.inspect(dir.path().string(), kName);
  BOOST_REQUIRE(no_sum.ok());
  BOOST_REQUIRE(no_sum->has_value());
  BOOST_TEST((*no_sum)->size == 10u);
  BOOST_TEST(!(*no_sum)->sha256.has_value());
  BOOST_TEST(!fs::exists(dir / ("." + kName + ".part")));

  std::string hex(64, 'c');
  write_file(dir / (kName + ".sha256"), hex + "  " + kName + "\n");
  auto with_sum = target.inspect(dir.path().string(), kName);
  BOOST_REQUIRE(with_sum.ok());
  BOOST_TEST((*with_sum)->sha256.value_or("") == hex);
}

BOOST_AUTO_TEST_CASE(a_folder_with_dot_dot_is_refused) {
  TempDir dir;
  DirectoryTarget target;
  auto r = target.begin((dir / "a/../b").string(), kName);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("'..'") != std::string::npos, r.message());
  BOOST_TEST(!fs::exists(dir / "b"));
}

BOOST_AUTO_TEST_CASE(a_folder_that_cannot_be_made_is_an_error_naming_it) {
  TempDir dir;
  write_file(dir / "file", "not a folder");
  DirectoryTarget target;
  auto r = target.begin((dir / "file/sub").string(), kName);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find((dir / "file").string()) != std::string::npos, r.message());
}

// A full disk: a 1 MiB tmpfs (mounting needs root; skipped with a message otherwise).
BOOST_AUTO_TEST_CASE(a_full_disk_is_reported_with_the_path_and_leaves_no_package) {
  TempDir dir;
  fs::path mnt = dir / "small";
  fs::create_directories(mnt);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
    BOOST_TEST_MESSAGE("skipped: cannot mount a tmpfs here (" << std::strerror(errno) << ")");
    return;
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  DirectoryTarget target;
  auto up = begin(target, mnt / "101");
  std::string block(256 * 1024, 'x');
  flis::Status s;
  for (int i = 0; i < 8 && s.ok(); ++i) s = up->write(block.data(), block.size());
  BOOST_REQUIRE(!s.ok());
  fs::path temp = mnt / "101" / ("." + kName + ".part");
  BOOST_TEST(s.message() == "No space left on device writing " + temp.string());
  up->abort();
  BOOST_TEST(flis::test::tree(mnt).empty());
}

namespace {

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  BOOST_REQUIRE(stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

struct Umask {
  explicit Umask(mode_t m) : saved(umask(m)) {}
  ~Umask() { umask(saved); }
  mode_t saved;
};

}  // namespace

BOOST_AUTO_TEST_CASE(packages_are_0640_and_folders_0750_by_default) {
  TempDir dir;
  Umask strict(0077);
  DirectoryTarget target;
  fs::path folder = dir / "a/101";
  auto up = begin(target, folder);
  BOOST_REQUIRE(up->commit(std::string(64, '0')).ok());
  BOOST_TEST(mode_of(folder / kName) == 0640u);
  BOOST_TEST(mode_of(folder / (kName + ".sha256")) == 0640u);
  BOOST_TEST(mode_of(folder) == 0750u);
  BOOST_TEST(mode_of(dir / "a") == 0750u);
}

BOOST_AUTO_TEST_CASE(file_mode_and_dir_mode_are_set_exactly_whatever_the_umask) {
  TempDir dir;
  Umask strict(0077);  // would make 0600/0700 of what is asked
  DirectoryTarget target("", 0664, 0775);
  fs::create_directories(dir / "existing");
  fs::permissions(dir / "existing", fs::perms(0700));
  fs::path folder = dir / "existing/made/101";
  auto up = begin(target, folder);
  BOOST_REQUIRE(up->write("x", 1).ok());
  BOOST_REQUIRE(up->commit(std::string(64, '0')).ok());
  BOOST_TEST(mode_of(folder / kName) == 0664u);
  BOOST_TEST(mode_of(folder / (kName + ".sha256")) == 0664u);
  BOOST_TEST(mode_of(folder) == 0775u);
  BOOST_TEST(mode_of(dir / "existing/made") == 0775u);
  BOOST_TEST(mode_of(dir / "existing") == 0700u, "a folder flisd did not make is left alone");
}

// Whoever may write the delivery folder (a consumer picking packages up) may leave links there.
// flisd follows none: a symbolic link at the final or the .sha256 name is an error naming it, not
// a package that looks delivered; ...
BOOST_AUTO_TEST_CASE(inspect_follows_no_symbolic_link_at_the_final_or_checksum_name) {
  TempDir dir;
  DirectoryTarget target;
  write_file(dir / "elsewhere.bin", std::string(1000, 'x'));
  fs::create_symlink(dir / "elsewhere.bin", dir / kName);
  auto linked = target.inspect(dir.path().string(), kName);
  BOOST_REQUIRE(!linked.ok());
  BOOST_TEST(linked.message().find((dir / kName).string() + " is not a regular file") != std::string::npos,
             linked.message());

  fs::remove(dir / kName);
  write_file(dir / kName, "package");
  write_file(dir / "other.sha256", std::string(64, 'a') + "  other\n");
  fs::create_symlink(dir / "other.sha256", dir / (kName + ".sha256"));
  auto sum = target.inspect(dir.path().string(), kName);
  BOOST_REQUIRE(!sum.ok());
  BOOST_TEST(sum.message().find(kName + ".sha256 is a symbolic link") != std::string::npos, sum.message());
}

// ... and the checksum's temporary file is always a new one: a hard link left at its name is
// replaced, never written through.
BOOST_AUTO_TEST_CASE(a_hard_link_at_the_checksum_temporary_name_is_not_written_through) {
  TempDir dir;
  DirectoryTarget target;
  write_file(dir / "precious.txt", "keep me\n");
  fs::create_hard_link(dir / "precious.txt", dir / flis::temporary_name(kName + ".sha256"));
  write_file(dir / kName, "package");
  BOOST_REQUIRE(target.finish_checksum(dir.path().string(), kName, std::string(64, 'b')).ok());
  BOOST_TEST(read_file(dir / "precious.txt") == "keep me\n");
  BOOST_TEST(read_file(dir / (kName + ".sha256")) == std::string(64, 'b') + "  " + kName + "\n");
}
