// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// collect_files: which warehouse files go into a municipality's package ("Only that
// municipality's folder is ever read for its package").
#define BOOST_TEST_MODULE jobs_collect
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>

#include "jobs/collect.h"
#include "tests/support/package_files.h"

namespace fs = std::filesystem;
using flis::Partition;
using flis::Source;
using flis::test::TempDir;
using flis::test::write_file;

namespace {

Partition part(const std::string& interface, const std::string& name) { return {Source::DSA, interface, name}; }

std::vector<std::string> archive_paths(const std::vector<flis::PackageFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.archive_path);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(collects_the_municipality_files_recursively_sorted_by_archive_path) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11-02/101/b.csv", "22");
  write_file(wh / "DSA/CPR_PERSON/2026-11-01/101/z.csv", "1");
  write_file(wh / "DSA/CPR_PERSON/2026-11-01/101/sub/dir/a.csv", "333");
  write_file(wh / "DSA/AAA/2026-11/101/x.csv", "4444");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11-01"), part("CPR_PERSON", "2026-11-02"),
                                           part("AAA", "2026-11")}, 101);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  std::vector<std::string> expected{"DSA/AAA/2026-11/x.csv", "DSA/CPR_PERSON/2026-11-01/sub/dir/a.csv",
                                    "DSA/CPR_PERSON/2026-11-01/z.csv", "DSA/CPR_PERSON/2026-11-02/b.csv"};
  BOOST_TEST(archive_paths(*r) == expected, boost::test_tools::per_element());
  BOOST_TEST((*r)[1].size == 3u);
  BOOST_TEST((*r)[1].source == wh / "DSA/CPR_PERSON/2026-11-01/101/sub/dir/a.csv");
}

BOOST_AUTO_TEST_CASE(other_municipalities_and_partitions_not_asked_for_are_left_out) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/mine.csv", "x");
  write_file(wh / "DSA/CPR_PERSON/2026-11/147/theirs.csv", "x");
  write_file(wh / "DSA/CPR_PERSON/2026-11/_PROCESSED", "");
  write_file(wh / "DSA/CPR_PERSON/2026-10/101/old.csv", "x");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11")}, 101);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  BOOST_TEST(archive_paths(*r) == std::vector<std::string>{"DSA/CPR_PERSON/2026-11/mine.csv"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_partition_without_the_municipality_folder_contributes_nothing) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/147/theirs.csv", "x");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11"), part("CPR_PERSON", "2026-12")}, 101);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  BOOST_TEST(r->empty());
}

BOOST_AUTO_TEST_CASE(a_symlink_to_another_municipality_file_is_refused_naming_it) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/147/secret.csv", "not yours");
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/ok.csv", "x");
  fs::create_symlink(wh / "DSA/CPR_PERSON/2026-11/147/secret.csv", wh / "DSA/CPR_PERSON/2026-11/101/link.csv");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11")}, 101);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find((wh / "DSA/CPR_PERSON/2026-11/101/link.csv").string()) != std::string::npos);
  BOOST_TEST(r.message().find("symbolic link") != std::string::npos, r.message());
}

BOOST_AUTO_TEST_CASE(a_symlinked_folder_inside_the_municipality_folder_is_refused) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/147/secret.csv", "not yours");
  fs::create_directories(wh / "DSA/CPR_PERSON/2026-11/101");
  fs::create_directory_symlink(wh / "DSA/CPR_PERSON/2026-11/147", wh / "DSA/CPR_PERSON/2026-11/101/other");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11")}, 101);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("101/other") != std::string::npos, r.message());
}

BOOST_AUTO_TEST_CASE(a_municipality_folder_that_is_a_symlink_is_refused) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/147/secret.csv", "not yours");
  fs::create_directory_symlink(wh / "DSA/CPR_PERSON/2026-11/147", wh / "DSA/CPR_PERSON/2026-11/101");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11")}, 101);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("2026-11/101") != std::string::npos, r.message());
}

BOOST_AUTO_TEST_CASE(a_special_file_is_refused_naming_it) {
  TempDir wh;
  fs::create_directories(wh / "DSA/CPR_PERSON/2026-11/101");
  BOOST_REQUIRE(mkfifo((wh / "DSA/CPR_PERSON/2026-11/101/pipe").c_str(), 0600) == 0);
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11")}, 101);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("101/pipe") != std::string::npos, r.message());
  BOOST_TEST(r.message().find("special file") != std::string::npos, r.message());
}

BOOST_AUTO_TEST_CASE(a_partition_name_with_dot_dot_is_refused) {
  TempDir wh;
  write_file(wh / "DSA/x/101/a.csv", "x");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "..")}, 101);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("invalid partition") != std::string::npos, r.message());
}

BOOST_AUTO_TEST_CASE(a_partition_listed_twice_adds_its_files_once) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/a.csv", "x");
  auto r = flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11"), part("CPR_PERSON", "2026-11")}, 101);
  BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
  BOOST_TEST(r->size() == 1u);
}
