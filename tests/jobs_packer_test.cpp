// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The packer, checked the way a municipality opens a package: with the `zstd`, `tar`
// and `sha256sum` command-line tools.
#define BOOST_TEST_MODULE jobs_packer
#include <boost/test/unit_test.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <future>
#include <random>
#include <map>
#include <set>

#include "jobs/directory_target.h"
#include "jobs/packer.h"
#include "jobs/tar_stream.h"
#include "tests/support/memory_package.h"
#include "tests/support/package_files.h"

namespace fs = std::filesystem;
using flis::test::MemoryUpload;
using flis::test::read_file;
using flis::test::read_package;
using flis::test::TempDir;
using flis::test::write_file;
using namespace date::literals;

namespace {

flis::Order monthly_order(int municipality = 101) {
  flis::Order o;
  o.id = "K" + std::to_string(municipality) + "-CPR-MONTHLY";
  o.municipality = municipality;
  o.type = flis::OrderType::monthly;
  o.source = flis::Source::DSA;
  o.interfaces = {"CPR_PERSON", "LOEN_ANSAT"};
  return o;
}

flis::Partition part(const std::string& interface, const std::string& name) {
  return {flis::Source::DSA, interface, name};
}

struct Delivery {
  flis::Result<flis::PackResult> result = flis::Status::Error("not run");
  fs::path package;  // the final path, whether or not it exists
};

// Builds the package of `order` for November 2026 into `out` through a DirectoryTarget, committing
// on success and aborting on failure, as the runner does. `between`, when given, runs after every
// file is hashed and before the archive reads its first file (the archive waits for it).
Delivery deliver(const fs::path& warehouse, const flis::Order& order, std::vector<flis::Partition> partitions,
                 const fs::path& out, std::function<void()> between = {},
                 const std::atomic<bool>* cancel = nullptr, flis::Compression compression = {}) {
  flis::PackageSpec spec;
  spec.order = &order;
  spec.period = flis::month_period(2026_y / date::November);
  spec.partitions = std::move(partitions);
  spec.warehouse = warehouse;
  spec.compression = compression;
  spec.created = date::sys_days{2026_y / date::December / 4} + std::chrono::hours(5);
  std::promise<void> hashed;
  std::future<void> hashed_future = hashed.get_future();
  if (between) {
    spec.after_hashing = [&] {
      between();
      hashed.set_value();
    };
    spec.before_packing = [&] {
      BOOST_REQUIRE(hashed_future.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
    };
  }
  flis::DirectoryTarget target;
  std::string name = flis::package_name(order.id, spec.period.name());
  Delivery d;
  d.package = out / name;
  auto up = target.begin(out.string(), name);
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  d.result = flis::build_package(spec, **up, cancel);
  if (d.result.ok()) {
    flis::Status s = (*up)->commit(d.result->sha256);
    BOOST_REQUIRE_MESSAGE(s.ok(), s.message());
  } else {
    (*up)->abort();
  }
  return d;
}

nlohmann::json manifest_of(const fs::path& package, const fs::path& scratch) {
  BOOST_REQUIRE(flis::test::unpack(package, scratch));
  return nlohmann::json::parse(read_file(scratch / "manifest.json"));
}

// A small two-interface warehouse with municipalities 101 and 147.
void sample_warehouse(const fs::path& wh) {
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/personer.csv", "cpr;navn\n0101801234;Jens Hansen\n");
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/sub/adresser.csv", "cpr;adresse\n0101801234;Nørregade 1\n");
  write_file(wh / "DSA/CPR_PERSON/2026-11/147/personer.csv", "cpr;navn\n0202902345;Frederiksberg Borger\n");
  write_file(wh / "DSA/LOEN_ANSAT/2026-11/101/loen.csv", std::string(300000, 'L'));
  write_file(wh / "DSA/LOEN_ANSAT/2026-11/147/loen.csv", "147 only\n");
}

const std::vector<flis::Partition> kParts{part("CPR_PERSON", "2026-11"), part("LOEN_ANSAT", "2026-11")};

}  // namespace

BOOST_AUTO_TEST_CASE(package_name_follows_the_design) {
  BOOST_TEST(flis::package_name("K101-CPR-MONTHLY", "2026-11") == "K101-CPR-MONTHLY_2026-11.tar.zst");
  BOOST_TEST(flis::package_name("K101-CPR-MONTHLY", "2026-11", 2) == "K101-CPR-MONTHLY_2026-11.r2.tar.zst");
}

BOOST_AUTO_TEST_CASE(the_package_unpacks_with_zstd_and_tar_to_exactly_the_municipality_files) {
  TempDir wh, out, scratch;
  sample_warehouse(wh.path());
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path());
  BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
  BOOST_REQUIRE(flis::test::unpack(d.package, scratch.path()));
  std::vector<std::string> expected{"DSA/CPR_PERSON/2026-11/personer.csv", "DSA/CPR_PERSON/2026-11/sub/adresser.csv",
                                    "DSA/LOEN_ANSAT/2026-11/loen.csv", "manifest.json"};
  BOOST_TEST(flis::test::tree(scratch.path()) == expected, boost::test_tools::per_element());
  BOOST_TEST(read_file(scratch / "DSA/CPR_PERSON/2026-11/sub/adresser.csv") ==
             read_file(wh / "DSA/CPR_PERSON/2026-11/101/sub/adresser.csv"));
  BOOST_TEST(read_file(scratch / "DSA/LOEN_ANSAT/2026-11/loen.csv") == std::string(300000, 'L'));
  BOOST_TEST(d.result->files == 3u);
  BOOST_TEST(d.result->raw_bytes == fs::file_size(wh / "DSA/CPR_PERSON/2026-11/101/personer.csv") +
                                        fs::file_size(wh / "DSA/CPR_PERSON/2026-11/101/sub/adresser.csv") + 300000);
}

BOOST_AUTO_TEST_CASE(manifest_json_is_the_first_member_and_describes_every_file) {
  TempDir wh, out, scratch;
  sample_warehouse(wh.path());
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path());
  BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
  auto names = flis::test::members(d.package);
  BOOST_REQUIRE(!names.empty());
  BOOST_TEST(names.front() == "manifest.json");

  nlohmann::json m = manifest_of(d.package, scratch.path());
  BOOST_TEST(m["format_version"] == 1);
  BOOST_TEST(m["order"] == "K101-CPR-MONTHLY");
  BOOST_TEST(m["municipality"] == 101);
  BOOST_TEST(m["source"] == "DSA");
  BOOST_TEST(m["type"] == "monthly");
  BOOST_TEST(m["period"]["name"] == "2026-11");
  BOOST_TEST(m["period"]["start"] == "2026-11-01");
  BOOST_TEST(m["period"]["end"] == "2026-11-30");
  BOOST_TEST(m["interfaces"] == nlohmann::json({"CPR_PERSON", "LOEN_ANSAT"}));
  BOOST_TEST(m["created"] == "2026-12-04T05:00:00Z");
  BOOST_TEST(m["flisd_version"] == FLISD_VERSION);
  BOOST_REQUIRE(m["files"].size() == 3u);
  std::vector<std::string> in_manifest;
  for (const auto& f : m["files"]) {
    std::string path = f["path"];
    in_manifest.push_back(path);
    BOOST_TEST(f["size"].get<uint64_t>() == fs::file_size(scratch / path), path);
    BOOST_TEST(f["sha256"] == flis::test::sha256sum(scratch / path), path);
  }
  // The data members follow the manifest in the order it lists them.
  BOOST_TEST(std::vector<std::string>(names.begin() + 1, names.end()) == in_manifest, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(the_manifest_tells_partitions_without_data_from_those_with) {
  TempDir wh, out, scratch;
  write_file(wh / "DSA/CPR_PERSON/2026-11-01/101/a.csv", "a");
  write_file(wh / "DSA/CPR_PERSON/2026-11-02/147/b.csv", "only 147 that day");  // no folder for 101
  fs::create_directories(wh / "DSA/CPR_PERSON/2026-11-03/101");                 // an empty folder
  write_file(wh / "DSA/LOEN_ANSAT/2026-11/101/loen.csv", "l");
  std::vector<flis::Partition> parts{part("CPR_PERSON", "2026-11-01"), part("CPR_PERSON", "2026-11-02"),
                                     part("CPR_PERSON", "2026-11-03"), part("LOEN_ANSAT", "2026-11")};
  auto d = deliver(wh.path(), monthly_order(), parts, out.path());
  BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
  nlohmann::json m = manifest_of(d.package, scratch.path());
  BOOST_TEST(m["partitions"] == nlohmann::json::parse(
                                    R"({"CPR_PERSON": {"with_data": ["2026-11-01"], "no_data": ["2026-11-02", "2026-11-03"]},
                                        "LOEN_ANSAT": {"with_data": ["2026-11"], "no_data": []}})"),
             m["partitions"].dump());
}

BOOST_AUTO_TEST_CASE(the_delivered_checksum_file_verifies_with_sha256sum) {
  TempDir wh, out;
  sample_warehouse(wh.path());
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path());
  BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
  BOOST_TEST(d.result->sha256 == flis::test::sha256sum(d.package));
  BOOST_TEST(d.result->bytes == fs::file_size(d.package));
  auto check = flis::test::run("cd " + flis::test::quote(out.path()) + " && sha256sum -c " +
                               flis::test::quote(d.package.filename().string() + ".sha256"));
  BOOST_TEST(check.status == 0, check.out);
  // The zstd frame carries its own content checksum, so `zstd -t` catches a corrupted copy too.
  BOOST_TEST(flis::test::run("zstd -lv " + flis::test::quote(d.package) + " 2>&1").out.find("XXH64") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_empty_period_is_a_package_with_only_the_manifest) {
  TempDir wh, out, scratch;
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path());
  BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
  BOOST_TEST(flis::test::members(d.package) == std::vector<std::string>{"manifest.json"},
             boost::test_tools::per_element());
  BOOST_TEST(manifest_of(d.package, scratch.path())["files"].empty());
}

BOOST_AUTO_TEST_CASE(long_and_danish_file_names_survive_gnu_tar) {
  TempDir wh, out, scratch;
  std::string long_name = std::string(150, 'n') + ".csv";
  std::string danish = "kommune_Ærø_Hjørring_Ålborg.csv";
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/deep/er/end/hundrede/tegn" / long_name, "long");
  write_file(wh / "DSA/CPR_PERSON/2026-11/101" / danish, "dansk");
  auto d = deliver(wh.path(), monthly_order(), {part("CPR_PERSON", "2026-11")}, out.path());
  BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
  BOOST_REQUIRE(flis::test::unpack(d.package, scratch.path()));
  BOOST_TEST(read_file(scratch / "DSA/CPR_PERSON/2026-11/deep/er/end/hundrede/tegn" / long_name) == "long");
  BOOST_TEST(read_file(scratch / "DSA/CPR_PERSON/2026-11" / danish) == "dansk");
  nlohmann::json m = nlohmann::json::parse(read_file(scratch / "manifest.json"));
  BOOST_TEST(m["files"][1]["path"] == "DSA/CPR_PERSON/2026-11/" + danish);
}

// Reading 8 GiB is too slow for a test; the header is what matters, so read back the header of an
// announced 9 GiB member with libarchive and look for the pax size record GNU tar relies on.
BOOST_AUTO_TEST_CASE(a_member_over_8_gib_gets_a_pax_size_record) {
  std::string bytes;
  auto tar = flis::TarWriter::open([&bytes](const void* p, size_t n) {
    bytes.append(static_cast<const char*>(p), n);
    return flis::Status::OK();
  });
  BOOST_REQUIRE(tar.ok());
  const uint64_t size = 9ull << 30;
  BOOST_REQUIRE((*tar)->begin_entry("DSA/BIG/2026-11/big.csv", size, 0).ok());
  BOOST_TEST(bytes.find("size=" + std::to_string(size)) != std::string::npos);

  bytes.append(4096, '\0');  // a little of the data, so the reader finds the member
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  BOOST_REQUIRE(archive_read_open_memory(a, bytes.data(), bytes.size()) == ARCHIVE_OK);
  struct archive_entry* e = nullptr;
  BOOST_REQUIRE(archive_read_next_header(a, &e) == ARCHIVE_OK);
  BOOST_TEST(static_cast<uint64_t>(archive_entry_size(e)) == size);
  BOOST_TEST(std::string(archive_entry_pathname(e)) == "DSA/BIG/2026-11/big.csv");
  archive_read_free(a);
}

BOOST_AUTO_TEST_CASE(the_tar_writer_refuses_more_or_fewer_bytes_than_announced) {
  auto tar = flis::TarWriter::open([](const void*, size_t) { return flis::Status::OK(); });
  BOOST_REQUIRE(tar.ok());
  BOOST_REQUIRE((*tar)->begin_entry("a", 3, 0).ok());
  BOOST_TEST(!(*tar)->write("abcd", 4).ok());
  BOOST_REQUIRE((*tar)->write("ab", 2).ok());
  BOOST_TEST((*tar)->finish_entry().message().find("1 bytes short") != std::string::npos);
}

// The files are compressed while they are hashed, so a package is two zstd frames: the manifest's,
// then the files'. Every reader of RFC 8878 streams takes them as one.
BOOST_AUTO_TEST_CASE(a_package_is_two_zstd_frames_that_tar_zstd_reads_as_one_archive) {
  TempDir wh, out, scratch;
  sample_warehouse(wh.path());
  std::string rows;
  for (size_t i = 0; rows.size() < (size_t(24) << 20); ++i) rows += std::to_string(i * 7919 % 1000003) + ";række\n";
  write_file(wh / "DSA/LOEN_ANSAT/2026-11/101/rows.csv", rows);
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path(), {}, nullptr, flis::Compression{3, 2});
  BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
  auto listed = flis::test::run("zstd -lv " + flis::test::quote(d.package.string()));
  BOOST_TEST(listed.out.find("# Zstandard Frames: 2") != std::string::npos, listed.out);
  auto members = flis::test::run("tar --zstd -tf " + flis::test::quote(d.package.string()));
  BOOST_REQUIRE_EQUAL(members.status, 0);
  BOOST_TEST(members.out.rfind("manifest.json\n", 0) == 0, members.out);
  auto x = flis::test::run("cd " + flis::test::quote(scratch.path().string()) + " && tar --zstd -xf " +
                           flis::test::quote(d.package.string()));
  BOOST_REQUIRE_EQUAL(x.status, 0);
  BOOST_TEST((read_file(scratch / "DSA/LOEN_ANSAT/2026-11/rows.csv") == rows));
  auto manifest = nlohmann::json::parse(read_file(scratch / "manifest.json"));
  BOOST_TEST(manifest["files"].size() == 4u);
}

// A file gone after listing fails the build while the archive's compressed bytes are still held
// for the manifest: nothing reaches the target.
BOOST_AUTO_TEST_CASE(a_failure_while_compression_runs_ahead_of_hashing_leaves_no_package) {
  TempDir wh;
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/a.csv", flis::test::random_bytes(3 << 20, 5));
  fs::path victim = wh / "DSA/CPR_PERSON/2026-11/101/b.csv";
  write_file(victim, "b\n");
  flis::Order order = monthly_order();
  flis::PackageSpec spec;
  spec.order = &order;
  spec.period = flis::month_period(2026_y / date::November);
  spec.partitions = {part("CPR_PERSON", "2026-11")};
  spec.warehouse = wh.path();
  spec.compression = flis::Compression{3, 2};
  spec.after_listing = [&] { fs::remove(victim); };
  MemoryUpload up;
  auto r = flis::build_package(spec, up);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find(victim.string()) != std::string::npos, r.message());
  BOOST_TEST(up.bytes.empty());
}

BOOST_AUTO_TEST_CASE(a_file_that_grows_between_hashing_and_packing_fails_naming_it) {
  TempDir wh, out;
  sample_warehouse(wh.path());
  fs::path victim = wh / "DSA/CPR_PERSON/2026-11/101/personer.csv";
  write_file(victim, std::string(100, 'a'));
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path(),
                   [&] { write_file(victim, std::string(120, 'a')); });
  BOOST_REQUIRE(!d.result.ok());
  BOOST_TEST(d.result.message().find("warehouse file changed while being packed: " + victim.string() +
                                     " (size 100 -> 120); the run will be retried") != std::string::npos,
             d.result.message());
  BOOST_TEST(flis::test::tree(out.path()).empty());
}

BOOST_AUTO_TEST_CASE(a_file_rewritten_with_the_same_size_fails_naming_it) {
  TempDir wh, out;
  sample_warehouse(wh.path());
  fs::path victim = wh / "DSA/LOEN_ANSAT/2026-11/101/loen.csv";
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path(), [&] {
    std::string same_size(300000, 'M');
    write_file(victim, same_size);
    // Make sure the modification time moves even on a coarse-grained clock.
    struct timespec times[2] = {{0, UTIME_OMIT}, {1, 0}};
    utimensat(AT_FDCWD, victim.c_str(), times, 0);
  });
  BOOST_REQUIRE(!d.result.ok());
  BOOST_TEST(d.result.message().find("warehouse file changed while being packed: " + victim.string()) !=
             std::string::npos, d.result.message());
  BOOST_TEST(flis::test::tree(out.path()).empty());
}

BOOST_AUTO_TEST_CASE(a_file_that_vanishes_fails_naming_it) {
  TempDir wh, out;
  sample_warehouse(wh.path());
  fs::path victim = wh / "DSA/CPR_PERSON/2026-11/101/sub/adresser.csv";
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path(), [&] { fs::remove(victim); });
  BOOST_REQUIRE(!d.result.ok());
  BOOST_TEST(d.result.message().find("warehouse file vanished while being packed: " + victim.string()) !=
             std::string::npos, d.result.message());
  BOOST_TEST(flis::test::tree(out.path()).empty());
}

BOOST_AUTO_TEST_CASE(a_file_swapped_for_a_symlink_after_listing_is_refused) {
  TempDir wh, out;
  sample_warehouse(wh.path());
  fs::path victim = wh / "DSA/CPR_PERSON/2026-11/101/personer.csv";
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path(), [&] {
    fs::remove(victim);
    fs::create_symlink(wh / "DSA/CPR_PERSON/2026-11/147/personer.csv", victim);
  });
  BOOST_REQUIRE(!d.result.ok());
  BOOST_TEST(d.result.message().find(victim.string()) != std::string::npos, d.result.message());
  BOOST_TEST(flis::test::tree(out.path()).empty());
}

BOOST_AUTO_TEST_CASE(an_unreadable_file_fails_naming_it) {
  if (geteuid() == 0) {
    BOOST_TEST_MESSAGE("skipped: root reads files whatever their mode");
    return;
  }
  TempDir wh, out;
  sample_warehouse(wh.path());
  fs::path victim = wh / "DSA/LOEN_ANSAT/2026-11/101/loen.csv";
  fs::permissions(victim, fs::perms::none);
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path());
  BOOST_REQUIRE(!d.result.ok());
  BOOST_TEST(d.result.message().find("cannot read warehouse file " + victim.string()) != std::string::npos,
             d.result.message());
}

BOOST_AUTO_TEST_CASE(cancel_stops_the_build_with_an_error_and_no_package) {
  TempDir wh, out;
  sample_warehouse(wh.path());
  std::atomic<bool> cancel{false};
  auto d = deliver(wh.path(), monthly_order(), kParts, out.path(), [&] { cancel = true; }, &cancel);
  BOOST_REQUIRE(!d.result.ok());
  BOOST_TEST(d.result.message().find("cancelled") != std::string::npos, d.result.message());
  BOOST_TEST(flis::test::tree(out.path()).empty());
}

BOOST_AUTO_TEST_CASE(every_thread_setting_gives_the_same_content) {
  // A package small enough for one compression job (compressed without workers) and one of
  // several jobs (compressed by the workers).
  for (size_t extra : {size_t(0), size_t(7) << 20}) {
    TempDir wh;
    sample_warehouse(wh.path());
    std::string rows;
    for (size_t i = 0; rows.size() < extra; ++i) rows += std::to_string(i * 7919 % 1000003) + ";række\n";
    if (extra) write_file(wh / "DSA/LOEN_ANSAT/2026-11/101/rows.csv", rows);
    for (int threads : {1, 2, 3}) {
      TempDir out, scratch;
      auto d = deliver(wh.path(), monthly_order(), kParts, out.path(), {}, nullptr, flis::Compression{1, threads});
      BOOST_REQUIRE_MESSAGE(d.result.ok(), d.result.message());
      BOOST_REQUIRE(flis::test::unpack(d.package, scratch.path()));
      BOOST_TEST(read_file(scratch / "DSA/LOEN_ANSAT/2026-11/loen.csv") == std::string(300000, 'L'), threads);
      if (extra) BOOST_TEST((read_file(scratch / "DSA/LOEN_ANSAT/2026-11/rows.csv") == rows), threads);
    }
  }
}

// An Upload that fails once `limit` bytes have arrived, as a full remote disk would.
class FailingUpload : public MemoryUpload {
 public:
  flis::Status write(const void* data, size_t size) override {
    if (bytes.size() + size > 200000) return flis::Status::Error("No space left on device writing /remote/x.part");
    return MemoryUpload::write(data, size);
  }
};

BOOST_AUTO_TEST_CASE(an_upload_error_ends_the_build_with_that_error) {
  TempDir wh;
  std::mt19937 rng(7);
  std::string noise(3 << 20, ' ');
  for (char& c : noise) c = static_cast<char>(rng());  // does not compress: output exceeds the limit
  write_file(wh / "DSA/CPR_PERSON/2026-11/101/big.csv", noise);
  flis::Order order = monthly_order();
  flis::PackageSpec spec;
  spec.order = &order;
  spec.period = flis::month_period(2026_y / date::November);
  spec.partitions = {part("CPR_PERSON", "2026-11")};
  spec.warehouse = wh.path();
  FailingUpload up;
  auto r = flis::build_package(spec, up);
  BOOST_REQUIRE(!r.ok());
  BOOST_TEST(r.message().find("No space left on device writing /remote/x.part") != std::string::npos, r.message());
  BOOST_TEST(up.bytes.size() <= 200000u);
}

// Property: whatever the warehouse holds, the package of municipality M holds exactly M's files
// of the partitions asked for, byte for byte, and nothing of any other municipality. 36 packages:
// 12 random warehouses, 3 municipalities each.
BOOST_AUTO_TEST_CASE(only_the_municipality_folder_is_ever_packed_random_warehouses) {
  std::mt19937 rng(20261126);
  const std::vector<int> municipalities{101, 147, 151, 155, 860};
  const std::vector<std::string> interfaces{"CPR_PERSON", "LOEN_ANSAT", "OPUS_ORG"};
  const std::vector<std::string> months{"2026-10", "2026-11", "2026-12"};
  std::vector<flis::Partition> parts;
  for (const auto& i : interfaces) parts.push_back(part(i, "2026-11"));
  for (int round = 0; round < 12; ++round) {
    TempDir wh;
    // Files named by owner, so a leak is visible in the name and in the content.
    for (int m : municipalities)
      for (const auto& i : interfaces)
        for (const auto& month : months) {
          int n = static_cast<int>(rng() % 3);
          for (int k = 0; k < n; ++k) {
            std::string file = (rng() % 2 ? "sub/" : "") + std::string("f") + std::to_string(k) + "_of_" +
                               std::to_string(m) + ".csv";
            write_file(wh / "DSA" / i / month / std::to_string(m) / file,
                       "owner=" + std::to_string(m) + ";" + std::string(rng() % 2000, 'x'));
          }
        }
    for (int pick = 0; pick < 3; ++pick) {
      int me = municipalities[rng() % municipalities.size()];
      flis::Order order = monthly_order(me);
      flis::PackageSpec spec;
      spec.order = &order;
      spec.period = flis::month_period(2026_y / date::November);
      spec.partitions = parts;
      spec.warehouse = wh.path();
      MemoryUpload up;
      auto r = flis::build_package(spec, up);
      BOOST_REQUIRE_MESSAGE(r.ok(), r.message());
      auto got = read_package(up.bytes);

      std::map<std::string, std::string> expected;
      for (const auto& i : interfaces) {
        fs::path folder = wh / "DSA" / i / "2026-11" / std::to_string(me);
        if (!fs::exists(folder)) continue;
        for (const auto& rel : flis::test::tree(folder))
          expected["DSA/" + i + "/2026-11/" + rel] = read_file(folder / rel);
      }
      BOOST_REQUIRE(got.count("manifest.json") == 1u);
      got.erase("manifest.json");
      BOOST_TEST((got == expected), "round " << round << ", municipality " << me);
      for (const auto& [name, content] : got)
        BOOST_TEST(content.rfind("owner=" + std::to_string(me) + ";", 0) == 0u, name);
    }
  }
}
