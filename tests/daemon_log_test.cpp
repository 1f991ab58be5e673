// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Logging as a sysadmin reads it: readable stderr lines with the run's fields, the journal chosen
// only when JOURNAL_STREAM names our stderr, a fixed MESSAGE_ID per kind of event, and lines that
// stay whole when many threads log at once. (Journal read-back: tests/service-journal.test.sh.)
#define BOOST_TEST_MODULE daemon_log
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "daemon/log.h"

using namespace flis;

namespace {

// Sends stderr to a file for the life of the object; text() reads what was written.
class CapturedStderr {
 public:
  CapturedStderr() {
    char name[] = "/tmp/flisd-log-test-XXXXXX";
    fd_ = mkstemp(name);
    path_ = name;
    fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    dup2(fd_, STDERR_FILENO);
  }
  ~CapturedStderr() {
    restore();
    close(fd_);
    unlink(path_.c_str());
  }
  void restore() {
    if (saved_ < 0) return;
    fflush(stderr);
    dup2(saved_, STDERR_FILENO);
    close(saved_);
    saved_ = -1;
  }
  std::string text() const {
    fflush(stderr);
    std::ifstream in(path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // "dev:inode" of the capture file, as systemd would put it in JOURNAL_STREAM.
  std::string device_inode() const {
    struct stat st {};
    fstat(fd_, &st);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  }

 private:
  int fd_ = -1, saved_ = -1;
  std::string path_;
};

const LogFields kDelivered{"K101-CPR-DAILY", "7", "2026-11-25", 101, "delivered"};

}  // namespace

BOOST_AUTO_TEST_CASE(stderr_lines_name_the_program_and_the_runs_fields) {
  CapturedStderr err;
  log_init(LogTarget::stderr_only, "flisd");
  log_event(Event::run_delivered, Priority::info, kDelivered, "K101-CPR-DAILY 2026-11-25: delivered");
  log_event(Event::run_failed, Priority::err, {"K101-CPR-DAILY", "", "", 0, ""}, "disk full");
  log_message(Priority::warning, "no fields here");
  err.restore();
  std::string pid = std::to_string(getpid());
  BOOST_TEST(err.text() ==
             "flisd[" + pid + "]: K101-CPR-DAILY 2026-11-25: delivered (order=K101-CPR-DAILY, run=7, "
             "period=2026-11-25, municipality=101, status=delivered)\n"
             "flisd[" + pid + "]: error: disk full (order=K101-CPR-DAILY)\n"
             "flisd[" + pid + "]: warning: no fields here\n");
}

BOOST_AUTO_TEST_CASE(auto_chooses_stderr_when_journal_stream_names_another_file) {
  CapturedStderr err;
  setenv("JOURNAL_STREAM", "1:2", 1);  // inherited from a parent whose stderr went to the journal
  log_init(LogTarget::automatic, "flisd");
  log_message(Priority::info, "still on stderr");
  unsetenv("JOURNAL_STREAM");
  err.restore();
  BOOST_TEST(err.text().find("still on stderr") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(auto_chooses_the_journal_when_journal_stream_names_our_stderr) {
  if (access("/run/systemd/journal/socket", W_OK) != 0) {
    BOOST_TEST_MESSAGE("no journald socket here; the journal choice is covered by service-journal.test.sh");
    return;
  }
  CapturedStderr err;
  setenv("JOURNAL_STREAM", err.device_inode().c_str(), 1);
  log_init(LogTarget::automatic, "flisd-log-test");
  log_event(Event::run_delivered, Priority::info, kDelivered, "to the journal, not stderr");
  unsetenv("JOURNAL_STREAM");
  err.restore();
  BOOST_TEST(err.text().empty(), "went to stderr (is journald alive? scripts/services.sh restarts it): "
                                     << err.text());
  log_init(LogTarget::stderr_only, "flisd");
}

BOOST_AUTO_TEST_CASE(every_kind_of_event_has_its_own_fixed_message_id) {
  const Event all[] = {Event::started,       Event::stopping,    Event::reload,       Event::config_error,
                       Event::run_waiting,   Event::run_queued,  Event::run_started,  Event::run_delivered,
                       Event::run_failed,    Event::run_retried, Event::run_late,     Event::run_cancelled,
                       Event::recovered,     Event::message};
  std::set<std::string> seen;
  const std::regex id128("[0-9a-f]{32}");
  for (Event e : all) {
    std::string id(message_id(e));
    BOOST_TEST(std::regex_match(id, id128), id);
    BOOST_TEST(seen.insert(id).second, "MESSAGE_ID used twice: " << id);
  }
  // Published ids never change: sysadmins' journalctl filters depend on them.
  BOOST_TEST(message_id(Event::run_delivered) == "38eebf934ca24088a55c728181327766");
  BOOST_TEST(message_id(Event::config_error) == "868cb9e0e14d47d09bf1c5ab059e0fac");
}

BOOST_AUTO_TEST_CASE(lines_from_many_threads_stay_whole) {
  CapturedStderr err;
  log_init(LogTarget::stderr_only, "flisd");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i)
        log_event(Event::run_started, Priority::info, {"K" + std::to_string(t), std::to_string(i), "2026-11", 101, ""},
                  "thread " + std::to_string(t) + " line " + std::to_string(i));
    });
  for (auto& th : threads) th.join();
  err.restore();
  std::istringstream lines(err.text());
  const std::regex whole(R"(flisd\[\d+\]: thread (\d) line (\d+) \(order=K\1, run=\2, period=2026-11, municipality=101\))");
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) BOOST_TEST_REQUIRE(std::regex_match(line, whole), line);
  BOOST_TEST(n == 1600);
}
