// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// SSH sessions kept and shared (jobs/session_pool.h) against a real OpenSSH sshd: one connection
// serves many packages, several at once on their own channels, a broken one fails the runs on it
// and only those, idle ones are closed, the bounds hold, and every new connection checks the host
// key again.
#define BOOST_TEST_MODULE jobs_session_pool
#include <boost/test/unit_test.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "jobs/session_pool.h"
#include "jobs/sftp_target.h"
#include "jobs/ssh_session.h"
#include "tests/support/package_files.h"
#include "tests/support/sshd.h"

namespace fs = std::filesystem;
using flis::SessionPool;
using flis::test::SshdFixture;
using namespace std::chrono_literals;

using flis::test::random_bytes;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string kSum(64, 'a');  // the target writes what it is given

// `sync_every`: a background sync from that many bytes on and every so many after (0: the default).
std::unique_ptr<flis::DeliveryTarget> target_for(flis::Target config, SessionPool& pool, int max_sessions = 4,
                                                 int uploads_per_session = 8, uint64_t sync_every = 0) {
  config.max_sessions = max_sessions;
  config.uploads_per_session = uploads_per_session;
  flis::SftpTargetOptions o;
  o.timeout = 10s;
  o.connect_timeout = 20s;
  o.pool = &pool;
  if (sync_every > 0) o.background_sync_from = o.background_sync_every = sync_every;
  auto t = flis::make_sftp_target(config, nullptr, o);
  BOOST_REQUIRE_MESSAGE(t.ok(), t.message());
  return std::move(*t);
}

// One package as Runner delivers it: look for an earlier delivery, upload, commit.
flis::Status deliver(flis::DeliveryTarget& t, const fs::path& folder, const std::string& name,
                     const std::string& data) {
  auto found = t.inspect(folder.string(), name);
  if (!found.ok()) return found.status();
  auto up = t.begin(folder.string(), name);
  if (!up.ok()) return up.status();
  if (auto st = (*up)->write(data.data(), data.size()); !st.ok()) return st;
  return (*up)->commit(kSum);
}

// Waits (up to a generous bound, never racing the machine) until `done` holds.
template <typename F>
bool eventually(F done) {
  for (auto until = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < until;) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_session_serves_many_packages) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  for (int i = 0; i < 12; ++i) {
    std::string name = "K101-D_2026-11-" + std::to_string(10 + i) + ".tar.zst";
    std::string data = random_bytes(16 * 1024 + i, i);
    BOOST_REQUIRE_MESSAGE(deliver(*target, folder, name, data).ok(), name);
    BOOST_TEST(slurp(folder / name) == data);
    BOOST_TEST(slurp(folder / (name + ".sha256")) == kSum + "  " + name + "\n");
  }
  BOOST_TEST(pool.sessions_opened() == 1u);
  BOOST_TEST(sshd.logins() == 1);
  BOOST_TEST(pool.open_sessions() == 1u);
}

BOOST_AUTO_TEST_CASE(a_killed_session_fails_only_the_run_using_it) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  std::string a_data = random_bytes(200 * 1024, 1), b_data = random_bytes(200 * 1024, 2);

  auto a = target->begin(folder.string(), "A.tar.zst");
  BOOST_REQUIRE_MESSAGE(a.ok(), a.message());
  BOOST_REQUIRE((*a)->write(a_data.data(), a_data.size()).ok());
  auto before = sshd.session_pids();
  auto b = target->begin(folder.string(), "B.tar.zst");  // A holds its session: B gets its own
  BOOST_REQUIRE_MESSAGE(b.ok(), b.message());
  BOOST_REQUIRE(pool.sessions_opened() == 2u);
  for (pid_t p : sshd.session_pids())
    if (std::find(before.begin(), before.end(), p) == before.end()) kill(p, SIGKILL);

  flis::Status b_written = (*b)->write(b_data.data(), b_data.size());
  flis::Status b_committed = b_written.ok() ? (*b)->commit(kSum) : b_written;
  BOOST_TEST_MESSAGE(b_committed.message());
  BOOST_TEST(!b_committed.ok());
  BOOST_TEST(b_committed.message().find("connection lost") != std::string::npos);
  (*b)->abort();
  BOOST_TEST(!fs::exists(folder / "B.tar.zst"));

  flis::Status a_committed = (*a)->commit(kSum);
  BOOST_REQUIRE_MESSAGE(a_committed.ok(), a_committed.message());
  BOOST_TEST(slurp(folder / "A.tar.zst") == a_data);

  // The broken session was closed, not kept; the next run delivers (B again).
  BOOST_TEST(pool.open_sessions() == 1u);
  BOOST_REQUIRE(deliver(*target, folder, "B.tar.zst", b_data).ok());
  BOOST_TEST(slurp(folder / "B.tar.zst") == b_data);
}

BOOST_AUTO_TEST_CASE(a_session_that_died_while_idle_is_replaced_without_failing_the_run) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  BOOST_REQUIRE(deliver(*target, folder, "one.tar.zst", "1").ok());
  BOOST_REQUIRE(pool.idle_sessions() == 1u);
  for (pid_t p : sshd.session_pids()) kill(p, SIGKILL);  // the server drops the idle connection

  flis::Status st = deliver(*target, folder, "two.tar.zst", "2");
  BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  BOOST_TEST(slurp(folder / "two.tar.zst") == "2");
  BOOST_TEST(pool.sessions_opened() == 2u);
  BOOST_TEST(pool.open_sessions() == 1u);
}

BOOST_AUTO_TEST_CASE(an_idle_session_is_closed_after_the_idle_time) {
  SshdFixture sshd;
  SessionPool pool(SessionPool::Settings{200ms});
  auto target = target_for(sshd.target(), pool);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  BOOST_REQUIRE(deliver(*target, folder, "one.tar.zst", "1").ok());
  BOOST_TEST(eventually([&] { return pool.open_sessions() == 0; }));
  // The server sees the connection end too.
  BOOST_TEST(eventually([&] { return sshd.session_pids().empty(); }));
  BOOST_REQUIRE(deliver(*target, folder, "two.tar.zst", "2").ok());
  BOOST_TEST(pool.sessions_opened() == 2u);
}

BOOST_AUTO_TEST_CASE(a_new_session_checks_the_host_key_again) {
  SshdFixture sshd;
  SessionPool pool(SessionPool::Settings{100ms});
  auto target = target_for(sshd.target(), pool);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  BOOST_REQUIRE(deliver(*target, folder, "one.tar.zst", "1").ok());
  BOOST_REQUIRE(eventually([&] { return pool.open_sessions() == 0; }));
  fs::path other = sshd.dir() / "other_host_key";
  SshdFixture::keygen(other);
  std::ofstream(sshd.known_hosts()) << "[127.0.0.1]:" << sshd.port() << " " << slurp(other.string() + ".pub");
  auto found = target->inspect(folder.string(), "two.tar.zst");
  BOOST_REQUIRE(!found.ok());
  BOOST_TEST_MESSAGE(found.message());
  BOOST_TEST(found.message().find("has changed") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_run_waits_for_a_session_when_max_sessions_are_leased) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 2, 1);  // one run per session
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  auto a = target->begin(folder.string(), "A.tar.zst");
  auto b = target->begin(folder.string(), "B.tar.zst");
  BOOST_REQUIRE(a.ok() && b.ok());
  std::atomic<bool> started{false};
  flis::Result<std::unique_ptr<flis::Upload>> c = flis::Status::Error("not yet");
  std::thread third([&] { c = target->begin(folder.string(), "C.tar.zst"); started = true; });
  BOOST_REQUIRE(eventually([&] { return pool.waiting_runs() == 1; }));
  BOOST_TEST(!started.load());  // both sessions are full: C waits, no third connection
  BOOST_REQUIRE((*a)->commit(kSum).ok());  // hands A's session back
  third.join();
  BOOST_REQUIRE_MESSAGE(c.ok(), c.message());
  BOOST_REQUIRE((*c)->commit(kSum).ok());
  BOOST_REQUIRE((*b)->commit(kSum).ok());
  BOOST_TEST(pool.sessions_opened() == 2u);
  BOOST_TEST(sshd.logins() == 2);
}

BOOST_AUTO_TEST_CASE(more_concurrent_runs_than_sessions_all_deliver_within_the_bound) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 2);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  std::vector<std::thread> runs;
  std::atomic<int> failures{0};
  for (int w = 0; w < 6; ++w) {
    runs.emplace_back([&, w] {
      for (int i = 0; i < 4; ++i) {
        std::string name = "K101-D_" + std::to_string(w) + "_" + std::to_string(i) + ".tar.zst";
        if (!deliver(*target, folder, name, random_bytes(40 * 1024, w * 10 + i)).ok()) ++failures;
      }
    });
  }
  for (auto& t : runs) t.join();
  BOOST_TEST(failures.load() == 0);
  for (int w = 0; w < 6; ++w)
    for (int i = 0; i < 4; ++i) {
      std::string name = "K101-D_" + std::to_string(w) + "_" + std::to_string(i) + ".tar.zst";
      BOOST_TEST(slurp(folder / name) == random_bytes(40 * 1024, w * 10 + i));
    }
  BOOST_TEST(pool.sessions_opened() <= 2u);
  BOOST_TEST(sshd.logins() <= 2);
}

BOOST_AUTO_TEST_CASE(several_uploads_at_once_on_one_session) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 1);  // one session: the uploads share it
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  constexpr int kUploads = 5;
  std::vector<std::unique_ptr<flis::Upload>> uploads;
  std::vector<std::string> data;
  for (int i = 0; i < kUploads; ++i) {
    auto up = target->begin(folder.string(), "K101-D_2026-11-1" + std::to_string(i) + ".tar.zst");
    BOOST_REQUIRE_MESSAGE(up.ok(), up.message());  // none waits for another to commit
    uploads.push_back(std::move(*up));
    data.push_back(random_bytes(300 * 1024 + i, 100 + i));
  }
  BOOST_TEST(pool.leased_channels() == size_t{kUploads});
  // Interleaved, as workers' packers feed them.
  for (size_t at = 0; at < 300 * 1024 + kUploads; at += 10000)
    for (int i = 0; i < kUploads; ++i) {
      size_t n = std::min<size_t>(10000, data[i].size() > at ? data[i].size() - at : 0);
      if (n > 0) BOOST_REQUIRE(uploads[i]->write(data[i].data() + at, n).ok());
    }
  for (int i = kUploads - 1; i >= 0; --i) {
    flis::Status st = uploads[i]->commit(kSum);
    BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
  }
  for (int i = 0; i < kUploads; ++i) {
    std::string name = "K101-D_2026-11-1" + std::to_string(i) + ".tar.zst";
    BOOST_TEST(slurp(folder / name) == data[i]);
    BOOST_TEST(slurp(folder / (name + ".sha256")) == kSum + "  " + name + "\n");
    BOOST_TEST(!fs::exists(folder / ("." + name + ".part")));
  }
  BOOST_TEST(pool.sessions_opened() == 1u);
  BOOST_TEST(sshd.logins() == 1);
  BOOST_TEST(pool.leased_channels() == 0u);
}

BOOST_AUTO_TEST_CASE(many_threads_deliver_through_one_session) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 1, 4);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  std::vector<std::thread> runs;
  std::vector<std::string> errors(6);
  for (int w = 0; w < 6; ++w) {
    runs.emplace_back([&, w] {
      for (int i = 0; i < 5; ++i) {
        std::string name = "K101-D_" + std::to_string(w) + "_" + std::to_string(i) + ".tar.zst";
        size_t size = i % 2 ? 3000 + w : 150 * 1024 + w;  // small ones beside bigger ones
        if (auto st = deliver(*target, folder, name, random_bytes(size, w * 10 + i)); !st.ok())
          errors[w] = name + ": " + st.message();
      }
    });
  }
  for (auto& t : runs) t.join();
  for (const auto& e : errors) BOOST_TEST(e.empty(), e);
  for (int w = 0; w < 6; ++w)
    for (int i = 0; i < 5; ++i) {
      std::string name = "K101-D_" + std::to_string(w) + "_" + std::to_string(i) + ".tar.zst";
      size_t size = i % 2 ? 3000 + w : 150 * 1024 + w;
      BOOST_TEST(slurp(folder / name) == random_bytes(size, w * 10 + i), name);
    }
  BOOST_TEST(pool.sessions_opened() == 1u);
  BOOST_TEST(sshd.logins() == 1);
}

BOOST_AUTO_TEST_CASE(a_killed_shared_session_fails_every_run_on_it_and_a_retry_delivers) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 1);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  std::string a_data = random_bytes(200 * 1024, 1), b_data = random_bytes(200 * 1024, 2);
  auto a = target->begin(folder.string(), "A.tar.zst");
  auto b = target->begin(folder.string(), "B.tar.zst");
  BOOST_REQUIRE(a.ok() && b.ok());
  BOOST_REQUIRE(pool.sessions_opened() == 1u);
  BOOST_REQUIRE((*a)->write(a_data.data(), a_data.size() / 2).ok());
  for (pid_t p : sshd.session_pids()) kill(p, SIGKILL);  // the connection both share is cut

  for (flis::Upload* up : {a->get(), b->get()}) {
    const std::string& data = up == a->get() ? a_data : b_data;
    flis::Status written = up->write(data.data(), data.size());
    flis::Status committed = written.ok() ? up->commit(kSum) : written;
    BOOST_TEST_MESSAGE(committed.message());
    BOOST_TEST(!committed.ok());
    BOOST_TEST(committed.message().find("connection lost") != std::string::npos, committed.message());
    up->abort();
  }
  BOOST_TEST(!fs::exists(folder / "A.tar.zst"));
  BOOST_TEST(!fs::exists(folder / "B.tar.zst"));
  BOOST_TEST(pool.open_sessions() == 0u, "the broken session was closed, not kept");

  // The retries connect again (and check the host key again) and deliver both.
  BOOST_REQUIRE(deliver(*target, folder, "A.tar.zst", a_data).ok());
  BOOST_REQUIRE(deliver(*target, folder, "B.tar.zst", b_data).ok());
  BOOST_TEST(slurp(folder / "A.tar.zst") == a_data);
  BOOST_TEST(slurp(folder / "B.tar.zst") == b_data);
  BOOST_TEST(pool.sessions_opened() == 2u);
  BOOST_TEST(sshd.logins() == 2);
}

BOOST_AUTO_TEST_CASE(uploads_per_session_bounds_the_runs_sharing_a_session) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 1, 2);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  auto a = target->begin(folder.string(), "A.tar.zst");
  auto b = target->begin(folder.string(), "B.tar.zst");
  BOOST_REQUIRE(a.ok() && b.ok());
  flis::Result<std::unique_ptr<flis::Upload>> c = flis::Status::Error("not yet");
  std::thread third([&] { c = target->begin(folder.string(), "C.tar.zst"); });
  BOOST_REQUIRE(eventually([&] { return pool.waiting_runs() == 1; }));  // C waits for room
  BOOST_REQUIRE((*a)->commit(kSum).ok());  // hands A's channel back
  third.join();
  BOOST_REQUIRE_MESSAGE(c.ok(), c.message());
  BOOST_REQUIRE((*c)->commit(kSum).ok());
  BOOST_REQUIRE((*b)->commit(kSum).ok());
  BOOST_TEST(pool.sessions_opened() == 1u);
}

BOOST_AUTO_TEST_CASE(a_server_refusing_a_second_channel_gets_one_run_per_session) {
  flis::test::SshdOptions options;
  options.max_sessions = 1;  // sshd's MaxSessions: one channel per connection
  SshdFixture sshd(options);
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 1);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  std::string a_data = random_bytes(100 * 1024, 3);
  auto a = target->begin(folder.string(), "A.tar.zst");
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE((*a)->write(a_data.data(), a_data.size() / 2).ok());
  flis::Result<std::unique_ptr<flis::Upload>> b = flis::Status::Error("not yet");
  std::thread second([&] { b = target->begin(folder.string(), "B.tar.zst"); });
  // B's channel is refused: no error, it waits for A's, and A's upload is unharmed.
  BOOST_REQUIRE(eventually([&] { return pool.waiting_runs() == 1; }));
  BOOST_REQUIRE((*a)->write(a_data.data() + a_data.size() / 2, a_data.size() - a_data.size() / 2).ok());
  flis::Status a_done = (*a)->commit(kSum);
  BOOST_REQUIRE_MESSAGE(a_done.ok(), a_done.message());
  second.join();
  BOOST_REQUIRE_MESSAGE(b.ok(), b.message());
  BOOST_REQUIRE((*b)->write("b", 1).ok());
  BOOST_REQUIRE((*b)->commit(kSum).ok());
  BOOST_TEST(slurp(folder / "A.tar.zst") == a_data);
  BOOST_TEST(slurp(folder / "B.tar.zst") == "b");
  BOOST_TEST(pool.sessions_opened() == 1u);
  BOOST_TEST(sshd.logins() == 1);
}

// Files in `folder`, hidden ones (temporary files) included.
std::vector<std::string> names_in(const fs::path& folder) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(folder)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A.tar.zst begun in `folder` with `data` written, not committed.
std::unique_ptr<flis::Upload> upload_of(flis::DeliveryTarget& target, const fs::path& folder, const std::string& data) {
  auto up = target.begin(folder.string(), "A.tar.zst");
  BOOST_REQUIRE_MESSAGE(up.ok(), up.message());
  BOOST_REQUIRE((*up)->write(data.data(), data.size()).ok());
  return std::move(*up);
}

// A big upload is flushed to the server's disk while it is written, from a second channel of its
// own session: no second connection, and the package arrives intact.
BOOST_AUTO_TEST_CASE(a_big_upload_is_synced_from_beside_it_on_the_same_session) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 4, 8, 1 << 20);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  std::string data = random_bytes(6 << 20, 5);
  auto up = upload_of(*target, folder, data);
  BOOST_REQUIRE(eventually([&] { return pool.leased_channels() == 2; }));  // the sync's channel
  flis::Status done = up->commit(kSum);
  BOOST_REQUIRE_MESSAGE(done.ok(), done.message());
  BOOST_TEST(slurp(folder / "A.tar.zst") == data);
  BOOST_TEST(names_in(folder) == (std::vector<std::string>{"A.tar.zst", "A.tar.zst.sha256"}),
             boost::test_tools::per_element());
  BOOST_TEST(pool.sessions_opened() == 1u);
  BOOST_TEST(sshd.logins() == 1);
  BOOST_TEST(pool.leased_channels() == 0u);
  BOOST_TEST(pool.idle_channels() == 2u);  // both kept with the session for the next runs
}

// No room for the sync's channel (a session full of runs, or a server allowing one channel per
// connection): the upload goes on without it, on its one session.
BOOST_AUTO_TEST_CASE(a_big_upload_with_no_room_beside_it_is_delivered_without_the_sync) {
  for (int max_channels : {0, 1}) {  // 0: sshd's default (10), with uploads_per_session 1
    BOOST_TEST_CONTEXT("sshd MaxSessions " << max_channels) {
      flis::test::SshdOptions options;
      options.max_sessions = max_channels;
      SshdFixture sshd(options);
      SessionPool pool;
      auto target = target_for(sshd.target(), pool, 1, max_channels == 0 ? 1 : 8, 1 << 20);
      fs::path folder = sshd.root() / "kommuner/101/datapakker";
      std::string data = random_bytes(6 << 20, 6);
      flis::Status done = upload_of(*target, folder, data)->commit(kSum);
      BOOST_REQUIRE_MESSAGE(done.ok(), done.message());
      BOOST_TEST(slurp(folder / "A.tar.zst") == data);
      BOOST_TEST(pool.sessions_opened() == 1u);
      BOOST_TEST(sshd.logins() == 1);
      BOOST_TEST(pool.idle_channels() == 1u);
    }
  }
}

// An upload aborted while its background sync runs leaves nothing behind: the sync's channel is
// closed (with its handle on the file), the upload's goes back to the session.
BOOST_AUTO_TEST_CASE(an_aborted_big_upload_leaves_nothing_and_closes_the_sync_channel) {
  SshdFixture sshd;
  SessionPool pool;
  auto target = target_for(sshd.target(), pool, 4, 8, 1 << 20);
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  auto up = upload_of(*target, folder, random_bytes(6 << 20, 7));
  BOOST_REQUIRE(eventually([&] { return pool.leased_channels() == 2; }));
  up->abort();
  BOOST_TEST(names_in(folder).empty());
  BOOST_TEST(pool.leased_channels() == 0u);
  BOOST_TEST(pool.idle_channels() == 1u);
  BOOST_TEST(pool.open_sessions() == 1u);
}

// A server that stalls while a background sync's channel is open does not hold an abort up for
// that channel's full timeout (30 s here): abort() stays bounded by its own few seconds.
BOOST_AUTO_TEST_CASE(an_abort_on_a_stalled_server_does_not_wait_for_the_background_sync) {
  SshdFixture sshd;
  SessionPool pool;
  flis::Target config = sshd.target();
  flis::SftpTargetOptions o;
  o.timeout = 30s;
  o.connect_timeout = 20s;
  o.pool = &pool;
  o.background_sync_from = o.background_sync_every = 1 << 20;
  auto target = flis::make_sftp_target(config, nullptr, o);
  BOOST_REQUIRE(target.ok());
  fs::path folder = sshd.root() / "kommuner/101/datapakker";
  auto up = upload_of(**target, folder, random_bytes(6 << 20, 8));
  BOOST_REQUIRE(eventually([&] { return pool.leased_channels() == 2; }));
  sshd.pause_sessions(true);
  auto start = std::chrono::steady_clock::now();
  up->abort();
  auto took = std::chrono::steady_clock::now() - start;
  sshd.pause_sessions(false);
  BOOST_TEST(took < 20s, "abort took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  BOOST_TEST(pool.leased_channels() == 0u);
}

BOOST_AUTO_TEST_CASE(aes128_gcm_is_negotiated_where_the_cpu_has_aes_instructions) {
  SshdFixture sshd;
  flis::Target t = sshd.target();
  auto session = flis::SshSession::connect({t.host, t.port, t.user, t.identity, t.known_hosts}, 20s);
  BOOST_REQUIRE_MESSAGE(session.ok(), session.message());
  std::string expected = flis::cpu_has_aes() ? "aes128-gcm@openssh.com" : "chacha20-poly1305@openssh.com";
  BOOST_TEST((*session)->cipher() == expected);
}

BOOST_AUTO_TEST_CASE(a_server_offering_only_cbc_ciphers_is_refused) {
  flis::test::SshdOptions options;
  options.extra = "Ciphers aes128-cbc,aes256-cbc\n";
  SshdFixture sshd(options);
  SessionPool pool;
  auto target = target_for(sshd.target(), pool);
  auto found = target->inspect((sshd.root() / "x").string(), "K.tar.zst");
  BOOST_REQUIRE(!found.ok());
  BOOST_TEST_MESSAGE(found.message());
  BOOST_TEST(found.message().find("no SHA-1, no CBC") != std::string::npos);
}
