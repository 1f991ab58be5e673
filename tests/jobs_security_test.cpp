// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Hostile names and hostile warehouses against jobs/: no name that reaches a path can lead a
// package out of its folder, and no package ever holds another municipality's data, whatever the
// warehouse holds (symbolic links, special files, folders named like other municipalities).
#define BOOST_TEST_MODULE jobs_security
#include <boost/test/unit_test.hpp>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include <iostream>
#include <map>
#include <random>

#include "jobs/collect.h"
#include "jobs/directory_target.h"
#include "jobs/packer.h"
#include "jobs/target.h"
#include "tests/support/memory_package.h"
#include "tests/support/package_files.h"
#include "tests/support/sshd.h"

namespace fs = std::filesystem;
using flis::test::MemoryUpload;
using flis::test::read_package;
using flis::test::TempDir;
using flis::test::write_file;

namespace {

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

flis::Partition part(const std::string& interface, const std::string& name) {
  return flis::Partition{flis::Source::DSA, interface, name};
}


}  // namespace

BOOST_AUTO_TEST_CASE(order_ids_with_dot_dot_in_a_path_template_are_refused_by_every_target) {
  TempDir root;
  flis::DirectoryTarget target;
  for (std::string id : {"../../escape", "..", "x/../../escape", "K101/../../../escape"}) {
    std::string folder = flis::expand_path((root / "out/{order}/{municipality}").string(), 101, id);
    flis::Status s = flis::check_folder(folder);
    BOOST_TEST(!s.ok(), folder);
    auto up = target.begin(folder, "K101_2026-11.tar.zst");
    BOOST_TEST(!up.ok(), id << ": begin accepted " << folder);
    auto seen = target.inspect(folder, "K101_2026-11.tar.zst");
    BOOST_TEST(!seen.ok(), id << ": inspect accepted " << folder);
  }
  BOOST_TEST(!fs::exists(root / "escape"));
}

// The directory target and the SFTP target apply the same name rule (jobs/target.h): the same
// names are refused by both, with the same reason, before anything is made.
BOOST_AUTO_TEST_CASE(package_names_that_are_not_one_plain_file_name_are_refused_by_every_target) {
  flis::test::SshdFixture sshd;
  TempDir root;
  auto sftp = flis::make_target(sshd.target("out/{municipality}"));
  BOOST_TEST_REQUIRE(sftp.ok(), sftp.message());
  flis::DirectoryTarget dir;
  struct Case {
    flis::DeliveryTarget& target;
    fs::path folder;
  };
  std::vector<Case> targets{{dir, root / "out"}, {**sftp, sshd.root() / "out"}};
  for (std::string name : std::vector<std::string>{"../escape.tar.zst", "sub/escape.tar.zst", "..", ".", "",
                                                   ".hidden.tar.zst", "/tmp/escape.tar.zst",
                                                   flis::temporary_name("K101_2026-11.tar.zst")}) {
    std::vector<std::string> reasons;
    for (Case& c : targets) {
      const std::string shown = c.target.describe() + ": '" + name + "'";
      auto up = c.target.begin(c.folder.string(), name);
      BOOST_TEST(!up.ok(), shown << " was accepted by begin");
      BOOST_TEST(!c.target.inspect(c.folder.string(), name).ok(), shown << " was accepted by inspect");
      BOOST_TEST(!c.target.finish_checksum(c.folder.string(), name, std::string(64, 'a')).ok(),
                 shown << " was accepted by finish_checksum");
      if (up.ok()) continue;
      size_t at = up.message().find("invalid package name");
      reasons.push_back(at == std::string::npos ? up.message() : up.message().substr(at));
    }
    BOOST_TEST_REQUIRE(reasons.size() == 2u);
    BOOST_TEST(reasons[0] == reasons[1]);
  }
  // A plain name is taken by both.
  for (Case& c : targets) {
    auto up = c.target.begin(c.folder.string(), "K101_2026-11.tar.zst");
    BOOST_TEST_REQUIRE(up.ok(), up.message());
    (*up)->abort();
  }
  BOOST_TEST(!fs::exists(root / "escape.tar.zst"));
  BOOST_TEST(!fs::exists(sshd.root() / "escape.tar.zst"));
  BOOST_TEST(!fs::exists("/tmp/escape.tar.zst"));
}

BOOST_AUTO_TEST_CASE(the_sftp_target_refuses_a_folder_with_dot_dot_before_touching_the_server) {
  flis::test::SshdFixture sshd;
  flis::Target t = sshd.target("kommuner/{municipality}");
  auto target = flis::make_target(t);
  BOOST_TEST_REQUIRE(target.ok(), target.message());
  std::string folder = (sshd.root() / "kommuner/101/../../escape").string();
  auto up = (*target)->begin(folder, "K101_2026-11.tar.zst");
  BOOST_TEST(!up.ok());
  BOOST_TEST(has(up.message(), ".."), up.message());
  auto seen = (*target)->inspect(folder, "K101_2026-11.tar.zst");
  BOOST_TEST(!seen.ok());
  BOOST_TEST(!fs::exists(sshd.root().parent_path() / "escape"));
  BOOST_TEST(!fs::exists(sshd.root() / "kommuner"), "not even the folders were made");
}

BOOST_AUTO_TEST_CASE(interface_and_partition_names_that_are_not_one_folder_are_refused_by_collect) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/a.csv", "mine");
  write_file(wh / "DSA/CPR_PERSON/2026-11/147/b.csv", "theirs");
  write_file(wh / "secret.csv", "outside");
  for (auto [iface, name] : std::vector<std::pair<std::string, std::string>>{
           {"..", "2026-11"}, {"../DSA/CPR_PERSON", "2026-11"}, {"CPR_PERSON", ".."}, {"CPR_PERSON", "2026-11/../.."},
           {"CPR_PERSON", "2026-11/147"}, {"/etc", "2026-11"}, {"CPR_PERSON", "."}, {"", "2026-11"}}) {
    auto files = flis::collect_files(wh.path(), {part(iface, name)}, 101);
    BOOST_TEST(!files.ok(), iface << " / " << name << " was accepted");
  }
  for (int bad : {-1, 1000, 1101}) BOOST_TEST(!flis::collect_files(wh.path(), {part("CPR_PERSON", "2026-11")}, bad).ok());
}

// Property: over random warehouses full of hostile entries, the package of municipality M either
// holds exactly M's own regular files, byte for byte, or is refused with an error naming the
// offending entry inside M's folder. Never a byte of another municipality, never a file outside
// the warehouse. (jobs_packer_test has the benign version of this property.)
BOOST_AUTO_TEST_CASE(no_package_ever_holds_another_municipalitys_data_random_hostile_warehouses) {
  std::mt19937 rng(uint32_t(std::getenv("FAULT_SEED") ? std::atol(std::getenv("FAULT_SEED")) : 6));
  const std::vector<int> codes{101, 147, 751};
  const std::vector<std::string> ifaces{"CPR_PERSON", "LOEN_ANSAT"};
  int refused = 0, packed = 0;
  const int rounds = std::getenv("FAULT_TRIALS") ? std::atoi(std::getenv("FAULT_TRIALS")) : 30;
  for (int round = 0; round < rounds; ++round) {
    TempDir tmp;
    fs::path wh = tmp / "warehouse";
    write_file(tmp / "outside.csv", "owner=OUTSIDE");
    std::map<int, std::map<std::string, std::string>> own;  // municipality -> archive path -> content
    std::map<int, std::vector<std::string>> hostile;         // municipality -> hostile entries in its folder
    for (int m : codes)
      for (const auto& iface : ifaces) {
        fs::path folder = wh / "DSA" / iface / "2026-11" / std::to_string(m);
        fs::create_directories(folder);
        for (int k = 0, n = int(rng() % 4); k < n; ++k) {
          // Folders named like other municipalities, dot-names and deep paths are all legitimate.
          std::string rel = std::vector<std::string>{"", "147/", "sub/deeper/", "..data/", "101/"}[rng() % 5] +
                            std::vector<std::string>{"f", "..f", ".hidden", "f..csv"}[rng() % 4] + std::to_string(k);
          std::string content = "owner=" + std::to_string(m) + ";" + std::string(rng() % 500, 'x');
          write_file(folder / rel, content);
          own[m]["DSA/" + iface + "/2026-11/" + rel] = content;
        }
        if (rng() % 3 != 0) continue;
        fs::path entry = folder / ("hostile" + std::to_string(rng() % 100));
        switch (rng() % 6) {
          case 0: fs::create_symlink(wh / "DSA" / iface / "2026-11" / std::to_string(codes[(rng() % 2) + 1]), entry); break;
          case 1: fs::create_symlink(tmp / "outside.csv", entry); break;
          case 2: fs::create_symlink("../147", entry); break;
          case 3: fs::create_symlink("/etc/passwd", entry); break;
          case 4: mkfifo(entry.c_str(), 0644); break;
          case 5: fs::create_directories(folder / "sub"), fs::create_symlink("..", folder / "sub" / entry.filename()),
                  entry = folder / "sub" / entry.filename(); break;
        }
        hostile[m].push_back(entry.string());
      }
    for (int me : codes) {
      flis::Order order;
      order.id = "K" + std::to_string(me) + "-PROP";
      order.municipality = me;
      order.type = flis::OrderType::monthly;
      order.interfaces = ifaces;
      flis::PackageSpec spec;
      spec.order = &order;
      spec.period = flis::month_period(date::year{2026} / date::November);
      for (const auto& i : ifaces) spec.partitions.push_back(part(i, "2026-11"));
      spec.warehouse = wh;
      spec.compression = flis::Compression{1, 1};
      MemoryUpload up;
      auto r = flis::build_package(spec, up);
      if (!r.ok()) {
        ++refused;
        bool named = false;
        for (const auto& h : hostile[me]) named = named || has(r.message(), h);
        BOOST_TEST(named, "round " << round << " municipality " << me << " refused without naming a hostile entry: "
                                   << r.message());
        continue;
      }
      ++packed;
      BOOST_TEST(hostile[me].empty(), "round " << round << " municipality " << me << " packed despite "
                                               << (hostile[me].empty() ? "" : hostile[me].front()));
      auto got = read_package(up.bytes);
      got.erase("manifest.json");
      BOOST_TEST(got == own[me], "round " << round << " municipality " << me << ": the package is not exactly its files");
      for (const auto& [name, content] : got)
        BOOST_TEST(content.starts_with("owner=" + std::to_string(me) + ";"), name << " holds " << content.substr(0, 12));
    }
  }
  BOOST_TEST(refused > 0);
  BOOST_TEST(packed > 0);
  std::cout << "FAULTS security-hostile-warehouses trials=" << rounds * int(codes.size()) << " packed=" << packed
            << " refused=" << refused << std::endl;
}

namespace {

// The package of municipality 101 for November 2026, with `between` run after the files are
// listed and before any is read.
flis::Result<flis::PackResult> pack_101(const fs::path& wh, MemoryUpload& up, std::function<void()> between) {
  static flis::Order order = [] {
    flis::Order o;
    o.id = "K101-SWAP";
    o.municipality = 101;
    o.type = flis::OrderType::monthly;
    o.interfaces = {"CPR_PERSON"};
    return o;
  }();
  flis::PackageSpec spec;
  spec.order = &order;
  spec.period = flis::month_period(date::year{2026} / date::November);
  spec.partitions = {part("CPR_PERSON", "2026-11")};
  spec.warehouse = wh;
  spec.compression = flis::Compression{1, 1};
  spec.after_listing = std::move(between);
  return flis::build_package(spec, up);
}

// A decoy 101/ with a file of the same name and size as 147's, so that only the folder tells them apart.
fs::path decoy_warehouse(const TempDir& tmp) {
  fs::path part = tmp / "warehouse/DSA/CPR_PERSON/2026-11";
  write_file(part / "101/personer.csv", "owner=101;decoy");
  write_file(part / "147/personer.csv", "owner=147;SECRT");
  return tmp / "warehouse";
}

// Whether a package was built and carries 147's bytes (a failed build is aborted, never delivered).
bool holds_147(const flis::Result<flis::PackResult>& r, const MemoryUpload& up) {
  if (!r.ok()) return false;
  for (const auto& [name, content] : read_package(up.bytes))
    if (has(content, "SECRT")) return true;
  return false;
}

}  // namespace

// Someone who can write a partition folder lists a decoy 101/, then swaps it for a symbolic link
// to 147/ between listing and reading: the package fails naming the file, and never holds 147's data.
BOOST_AUTO_TEST_CASE(a_municipality_folder_swapped_for_a_symlink_after_listing_fails_the_package) {
  TempDir tmp;
  fs::path wh = decoy_warehouse(tmp);
  fs::path part = wh / "DSA/CPR_PERSON/2026-11";
  MemoryUpload up;
  auto r = pack_101(wh, up, [&] {
    fs::rename(part / "101", part / "101.decoy");
    fs::create_directory_symlink("147", part / "101");
  });
  BOOST_TEST(!r.ok(), "the package was built from the swapped folder");
  BOOST_TEST(has(r.message(), (part / "101/personer.csv").string()), r.message());
  BOOST_TEST(has(r.message(), "symbolic link"), r.message());
  BOOST_TEST(!holds_147(r, up));
}

// The same without a link: 101/ renamed away and 147/ renamed into its place. Its inode differs
// from the one listed, so the package fails the same way.
BOOST_AUTO_TEST_CASE(a_municipality_folder_renamed_into_place_after_listing_fails_the_package) {
  TempDir tmp;
  fs::path wh = decoy_warehouse(tmp);
  fs::path part = wh / "DSA/CPR_PERSON/2026-11";
  MemoryUpload up;
  auto r = pack_101(wh, up, [&] {
    fs::rename(part / "101", part / "101.decoy");
    fs::rename(part / "147", part / "101");
  });
  BOOST_TEST(!r.ok(), "the package was built from another municipality's folder");
  BOOST_TEST(has(r.message(), (part / "101/personer.csv").string()), r.message());
  BOOST_TEST(has(r.message(), "replaced"), r.message());
  BOOST_TEST(!holds_147(r, up));
}

// A file of 101/ replaced by a hard link to 147's file after listing: a different inode, refused.
// A hard link already there when listing is refused too: it may be another municipality's file.
BOOST_AUTO_TEST_CASE(hard_links_in_a_municipality_folder_are_refused) {
  TempDir tmp;
  fs::path wh = decoy_warehouse(tmp);
  fs::path part = wh / "DSA/CPR_PERSON/2026-11";
  MemoryUpload up;
  auto r = pack_101(wh, up, [&] {
    fs::remove(part / "101/personer.csv");
    fs::create_hard_link(part / "147/personer.csv", part / "101/personer.csv");
  });
  BOOST_TEST(!r.ok());
  BOOST_TEST(has(r.message(), "replaced by another file"), r.message());
  BOOST_TEST(!holds_147(r, up));

  MemoryUpload up2;
  auto listed = pack_101(wh, up2, {});
  BOOST_TEST(!listed.ok());
  BOOST_TEST(has(listed.message(), (part / "101/personer.csv").string() + ": it has 2 hard links"), listed.message());
  BOOST_TEST(!holds_147(listed, up2));
}
