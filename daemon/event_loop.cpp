// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The event loop; see event_loop.h.
#include "daemon/event_loop.h"

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "config/loader.h"
#include "config/period.h"
#include "daemon/control_socket.h"
#include "daemon/delivery.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/notify.h"
#include "daemon/runner.h"
#include "daemon/worker_pool.h"

namespace flis {
namespace {

constexpr uint32_t kWatchMask =
    IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::string errno_text() { return std::strerror(errno); }

Status add_to_epoll(int epoll, int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) != 0) return Status::Error("epoll_ctl: " + errno_text());
  return Status::OK();
}

// Reads and discards what makes an eventfd/timerfd readable. Returns read()'s result.
ssize_t drain(int fd) {
  uint64_t value = 0;
  return read(fd, &value, sizeof value);
}

itimerspec periodic(std::chrono::microseconds interval) {
  itimerspec spec{};
  spec.it_interval.tv_sec = static_cast<time_t>(interval.count() / 1000000);
  spec.it_interval.tv_nsec = static_cast<long>(interval.count() % 1000000) * 1000;
  spec.it_value = spec.it_interval;
  return spec;
}

// The priority carries error or warning (and the stderr prefix), so the text does not repeat it.
void log_diagnostics(const Diagnostics& diagnostics) {
  for (const auto& d : diagnostics.sorted())
    log_event(Event::config_error,
              d.severity == Diagnostic::Severity::error ? Priority::err : Priority::warning, {}, d.located());
}

int worker_count(const Config& config) { return std::max(1, config.settings.workers); }

}  // namespace

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

Result<std::unique_ptr<EventLoop>> EventLoop::create(LoopOptions options) {
  LoadResult loaded = load_config(options.config_dir);
  log_diagnostics(loaded.diagnostics);
  if (!loaded.config)
    return Status::Error("the configuration in " + options.config_dir.string() + " has " +
                         std::to_string(loaded.diagnostics.error_count()) +
                         " error(s) (logged above); fix them (flisctl validate) and start flisd again");
  auto store = StateStore::open(loaded.config->settings.state);
  if (!store) return store.status();
  const bool shared = is_database_uri(loaded.config->settings.state.string());
  std::unique_ptr<EventLoop> loop(new EventLoop(std::move(options), loaded.config, std::move(*store)));
  loop->shared_ = shared;
  // Before anything else touches the runs: a second process with this node name refuses to start.
  if (!loop->options_.node.empty())
    if (Status st = loop->attach(); !st.ok()) return st;
  if (Status st = loop->open_fds(); !st.ok()) return st;
  loop->start_metrics(*loaded.config, loaded.diagnostics.error_count() == 0);
  return loop;
}

EventLoop::EventLoop(LoopOptions options, std::shared_ptr<const Config> config,
                     std::unique_ptr<StateStore> store)
    : options_(std::move(options)), store_(std::move(store)) {
  runner_ = std::make_unique<Runner>(*store_, options_.clock);
  runner_->set_heartbeat([] { notify::watchdog(); });  // a first pass over years of history is long
  runner_->set_config(config);
  pool_ = std::make_unique<WorkerPool>();
  pool_->grow(runs_in_flight(*config));
}

EventLoop::~EventLoop() {
  cancel_ = true;
  pool_.reset();  // joins the workers before the runner and store they use go away
  control_.reset();
  for (int fd : {epoll_, event_, signal_, wake_timer_, rescan_timer_, watchdog_timer_, inotify_, lease_timer_,
                 rescue_timer_, follow_timer_})
    if (fd >= 0) close(fd);
}

Status EventLoop::open_fds() {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  event_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  wake_timer_ = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
  rescan_timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  inotify_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (epoll_ < 0 || event_ < 0 || wake_timer_ < 0 || rescan_timer_ < 0 || inotify_ < 0)
    return Status::Error("cannot set up the event loop: " + errno_text());
  for (int fd : {event_, wake_timer_, rescan_timer_, inotify_})
    if (Status st = add_to_epoll(epoll_, fd); !st.ok()) return st;

  auto rescan = periodic(std::chrono::duration_cast<std::chrono::microseconds>(options_.rescan_interval));
  timerfd_settime(rescan_timer_, 0, &rescan, nullptr);

  if (auto interval = notify::watchdog_interval()) {
    watchdog_timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (watchdog_timer_ < 0) return Status::Error("cannot create the watchdog timer: " + errno_text());
    auto spec = periodic(*interval / 2);  // twice per WatchdogSec, as systemd recommends
    timerfd_settime(watchdog_timer_, 0, &spec, nullptr);
    if (Status st = add_to_epoll(epoll_, watchdog_timer_); !st.ok()) return st;
  }
  if (!options_.node.empty()) {
    // Monotonic: a lease is a length of time, whatever the wall clock does.
    auto every = [&](int& fd, std::chrono::microseconds interval) -> Status {
      fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
      if (fd < 0) return Status::Error("cannot create a node timer: " + errno_text());
      auto spec = periodic(interval);
      timerfd_settime(fd, 0, &spec, nullptr);
      return add_to_epoll(epoll_, fd);
    };
    if (Status st = every(lease_timer_, std::chrono::duration_cast<std::chrono::microseconds>(options_.lease) / 3); !st)
      return st;
    if (shared_) {
      if (Status st = every(rescue_timer_, std::chrono::duration_cast<std::chrono::microseconds>(options_.rescue_interval)); !st)
        return st;
      if (Status st = every(follow_timer_, std::chrono::duration_cast<std::chrono::microseconds>(options_.follow_interval)); !st)
        return st;
    }
  }
  if (options_.signals) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    signal_ = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_ < 0) return Status::Error("cannot create the signalfd: " + errno_text());
    if (Status st = add_to_epoll(epoll_, signal_); !st.ok()) return st;
  }
  if (options_.control_socket) {
    auto server = ControlServer::open(*options_.control_socket);
    if (!server) return server.status();
    control_ = std::move(*server);
    if (Status st = add_to_epoll(epoll_, control_->fd()); !st.ok()) return st;
  }
  return Status::OK();
}

int EventLoop::run() {
  auto config = runner_->config();
  // Recovery and the first plan run before the loop can answer the watchdog; a ping on each side
  // keeps a slow start from looking like a hang.
  notify::watchdog();
  if (Status st = runner_->recover(&cancel_); !st.ok())
    log_event(Event::recovered, Priority::err, {}, "crash recovery: " + st.message());
  notify::watchdog();
  refresh_and_dispatch();
  notify::watchdog();
  notify::ready(runner_->status_line());
  log_event(Event::started, Priority::info, {},
            std::string("flisd ") + FLISD_VERSION + " started: " + std::to_string(config->orders.size()) +
                (config->orders.size() == 1 ? " order" : " orders") + " from " + options_.config_dir.string() + ", " +
                std::to_string(worker_count(*config)) + " workers");

  for (;;) {
    if (stopping_ && inflight_.empty()) break;
    int timeout_ms = -1;
    if (sync_pending_ || ((need_refresh_ || need_advance_ || need_dispatch_ || !file_events_.empty()) && !stopping_)) {
      timeout_ms = 0;  // work is owed (see update_watches): look at events, then do it
    } else if (stopping_ && !cancel_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(stop_deadline_ -
                                                                        std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    // Room for every descriptor the loop can have (its own few plus the control server's capped
    // clients), so one wait returns all that is ready: sync() then answers only after the loop
    // has seen everything that happened before it was asked.
    {
      // sync() is answered only for what was asked before this wait: what it asks after has not
      // been seen by this turn's events (the eventfd wakes the next turn for it).
      std::lock_guard lock(mu_);
      sync_seen_ = sync_asked_;
    }
    epoll_event events[64];
    static_assert(64 > ControlServer::kMaxConnections + 16, "one epoll_wait must return every ready descriptor");
    int n = epoll_wait(epoll_, events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) {
      log_message(Priority::err, "epoll_wait failed: " + errno_text());
      return 1;
    }
    if (n == 0 && stopping_ && !cancel_) {
      log_event(Event::stopping, Priority::warning, {},
                "shutdown: " + std::to_string(inflight_.size()) + " run(s) still uploading after " +
                    std::to_string(options_.shutdown_grace.count()) +
                    " s; aborting them, they are delivered after the next start");
      cancel_ = true;
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == event_) {
        drain(event_);
      } else if (fd == signal_) {
        handle_signals();
      } else if (fd == wake_timer_) {
        handle_wakeup_timer();
      } else if (fd == rescan_timer_) {
        drain(rescan_timer_);
        {
          std::lock_guard lock(mu_);
          ++stats_.rescans;
        }
        if (!stopping_) {
          if (Status st = runner_->rescan(); !st) log_message(Priority::err, "rescan failed: " + st.message());
          need_dispatch_ = true;
        }
      } else if (fd == lease_timer_) {
        drain(lease_timer_);
        renew(true);
      } else if (fd == rescue_timer_) {
        drain(rescue_timer_);
        if (!stopping_) rescue();
      } else if (fd == follow_timer_) {
        drain(follow_timer_);
        if (!stopping_ && attached_ && !fenced_) {
          if (Status st = runner_->follow_changes(); !st) log_message(Priority::warning, "following other nodes: " + st.message());
          need_dispatch_ = true;
        }
      } else if (fd == watchdog_timer_) {
        drain(watchdog_timer_);
        notify::watchdog();
      } else if (fd == inotify_) {
        handle_inotify();
      } else if (control_ && fd == control_->fd()) {
        control_->serve_pending([this](const ControlRequest& r) {
          ControlReply reply = handle_control(r);
          reply.config = std::filesystem::absolute(options_.config_dir).lexically_normal().string();  // who answered
          return reply;
        });
      }
    }
    handle_requests();
    if (check_lease_.exchange(false)) renew(false);
    if (unrecorded_.exchange(false) && shared_ && attached_) {
      reattach_ = true;
      fence("node " + options_.node + " could not record a run's outcome; it attaches again so the run is checked on its target");
    }
    if (fenced_ && inflight_.empty() && !stopping_) resume_node();
  }
  // The runs still running here are no longer anyone's: the lease ends now, so another node takes
  // them over at its next rescue instead of after the lease.
  if (attached_)
    if (Status st = store_->release_lease(); !st) log_message(Priority::warning, "releasing the node's lease: " + st.message());
  log_event(Event::stopping, Priority::info, {}, "flisd stopped");
  return 0;
}

// --- the node's lease ------------------------------------------------------------------------------

Status EventLoop::attach() {
  const auto asked = std::chrono::steady_clock::now();
  auto lease = store_->attach_node(options_.node, options_.lease, host_name(), int(getpid()));
  if (!lease) return lease.status();
  attached_ = true;
  last_renewed_ = asked;
  log_message(Priority::info, "node " + lease->node + " attached (incarnation " + std::to_string(lease->incarnation) +
                                  ", lease " + std::to_string(options_.lease.count()) + " s)");
  return Status::OK();
}

// Renews the lease; when that fails for longer than two thirds of the lease, the node stops taking
// runs and cancels its uploads while the lease still holds, so that it never writes a package a
// node that took the run over writes too. The times are this host's monotonic clock, taken before
// each renewal was asked: never later than the database's.
void EventLoop::renew(bool timer) {
  if (!attached_) {
    if (timer && inflight_.empty() && !stopping_) resume_node();
    return;
  }
  const auto asked = std::chrono::steady_clock::now();
  Status st = store_->renew_lease();
  if (st) {
    last_renewed_ = asked;
    if (renew_failing_logged_) log_message(Priority::notice, "node " + options_.node + ": lease renewed again");
    renew_failing_logged_ = false;
    return;
  }
  if (is_lease_lost(st)) {
    attached_ = false;
    fence("node " + options_.node + " lost its lease: " + st.message());
    return;
  }
  if (!renew_failing_logged_)
    log_message(Priority::warning, "node " + options_.node + ": cannot renew the lease: " + st.message());
  renew_failing_logged_ = true;
  if (asked - last_renewed_ > options_.lease * 2 / 3)
    fence("node " + options_.node + " could not renew its lease for " +
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(asked - last_renewed_).count()) +
          " s (" + st.message() + ")");
}

void EventLoop::fence(const std::string& why) {
  if (!fenced_)
    log_message(Priority::warning, why + "; it takes no runs and aborts its " + std::to_string(inflight_.size()) +
                                       " upload(s) until it holds a lease again");
  fenced_ = true;
  runner_->set_fenced(true);
  cancel_ = true;  // every upload in flight stops at its next step; none reaches its final name
  update_status();
}

// Every attempt of the fenced node has ended: renew the lease it may still hold, else attach with
// a new incarnation (the runs it left become orphans, taken over like any other node's).
void EventLoop::resume_node() {
  if (reattach_ && attached_) {
    (void)store_->release_lease();  // best effort: a new incarnation makes the old one's runs orphans anyway
    attached_ = false;
  }
  if (attached_) {
    const auto asked = std::chrono::steady_clock::now();
    if (Status st = store_->renew_lease(); !st) {
      if (!is_lease_lost(st)) return;  // still out of reach: the next tick tries again
      attached_ = false;
    } else {
      last_renewed_ = asked;
    }
  }
  if (!attached_)
    if (Status st = attach(); !st) return;
  reattach_ = false;
  fenced_ = false;
  renew_failing_logged_ = false;
  runner_->set_fenced(false);
  cancel_ = false;
  log_message(Priority::notice, "node " + options_.node + " takes runs again");
  if (shared_) rescue();
  need_dispatch_ = true;
}

// Runs of nodes whose lease ended (a crash, a pause, a cut-off network), checked on their target.
void EventLoop::rescue() {
  if (!attached_ || fenced_) return;
  auto taken = runner_->rescue(&cancel_);
  if (!taken) {
    if (is_lease_lost(taken.status())) {
      attached_ = false;
      fence("node " + options_.node + " lost its lease: " + taken.message());
    } else {
      log_message(Priority::err, "rescuing other nodes' runs: " + taken.message());
    }
    return;
  }
  if (*taken > 0) need_dispatch_ = true;
}

// --- requests from other threads -----------------------------------------------------------------

void EventLoop::post() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(event_, &one, sizeof one);
}

void EventLoop::request_stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  post();
}

void EventLoop::request_reload() {
  {
    std::lock_guard lock(mu_);
    reload_requested_ = true;
  }
  post();
}

void EventLoop::clock_changed() {
  {
    std::lock_guard lock(mu_);
    clock_moved_ = true;
  }
  post();
}

bool EventLoop::sync(std::chrono::seconds timeout) {
  std::unique_lock lock(mu_);
  uint64_t ticket = ++sync_asked_;
  lock.unlock();
  post();
  lock.lock();
  return sync_cv_.wait_for(lock, timeout, [&] { return sync_done_ >= ticket; });
}

EventLoop::Stats EventLoop::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::shared_ptr<const Config> EventLoop::config() const { return runner_->config(); }

void EventLoop::handle_requests() {
  bool want_stop, want_reload, clock_moved;
  std::vector<int64_t> done;
  uint64_t ticket;
  {
    std::lock_guard lock(mu_);
    want_stop = std::exchange(stop_requested_, false);
    want_reload = std::exchange(reload_requested_, false);
    clock_moved = std::exchange(clock_moved_, false);
    done.swap(finished_runs_);
    ticket = sync_seen_;
  }
  for (int64_t id : done) finished(id);
  if (want_stop) begin_stop();
  if (want_reload && !stopping_) reload();
  if (clock_moved) {
    // The injected clock moved; a wake-up that has come is handled now, else the timer is re-armed.
    if (armed_wakeup_ && *armed_wakeup_ <= options_.clock()) {
      std::lock_guard lock(mu_);
      ++stats_.timer_wakeups;
      need_advance_ = true;
    } else {
      arm_wakeup();
    }
  }
  if (!stopping_) catch_up();
  if (stopping_) update_status();
  std::lock_guard lock(mu_);
  sync_done_ = std::max(sync_done_, ticket);
  sync_pending_ = sync_asked_ > ticket;  // asked during this turn: one more turn, without waiting
  sync_cv_.notify_all();
}

// --- event sources ---------------------------------------------------------------------------------

void EventLoop::handle_signals() {
  signalfd_siginfo info{};
  while (read(signal_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo == SIGHUP) {
      if (!stopping_) reload();
    } else {
      begin_stop();
    }
  }
}

void EventLoop::handle_wakeup_timer() {
  // ECANCELED: the system clock was set; whatever was planned may be due now, so look again.
  ssize_t n = drain(wake_timer_);
  if (n < 0 && errno == ECANCELED)
    log_message(Priority::notice, "the system clock changed; re-planning");
  std::lock_guard lock(mu_);
  ++stats_.timer_wakeups;
  if (n < 0 && errno == ECANCELED) need_refresh_ = true;
  else need_advance_ = true;
}

void EventLoop::handle_inotify() {
  alignas(inotify_event) char buf[16384];
  bool any = false;
  for (;;) {
    ssize_t n = read(inotify_, buf, sizeof buf);
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      if (ev->mask & IN_IGNORED) {
        watches_.erase(ev->wd);  // folder removed: re-watched on refresh
      } else if (auto w = watches_.find(ev->wd); w != watches_.end()) {
        file_events_.push_back({w->second, ev->len ? std::string(ev->name) : std::string()});
      }
      any = true;
      p += sizeof(inotify_event) + ev->len;
    }
  }
  if (!any) return;
  std::lock_guard lock(mu_);
  ++stats_.file_events;
}

void EventLoop::update_watches() {
  if (watches_started_ && runner_->watch_version() == watched_version_) return;
  watched_version_ = runner_->watch_version();
  std::set<std::filesystem::path> wanted;
  for (auto& p : runner_->watch_paths()) wanted.insert(p.lexically_normal());
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (wanted.count(it->second)) {
      wanted.erase(it->second);
      ++it;
    } else {
      inotify_rm_watch(inotify_, it->first);
      it = watches_.erase(it);
    }
  }
  // A folder watched only from now on may have got its marker between the refresh that revealed
  // the folder and the watch: look once more. (At start nothing was missed: the refresh saw all.)
  const bool first = !watches_started_;
  watches_started_ = true;
  for (const auto& path : wanted) {
    int wd = inotify_add_watch(inotify_, path.c_str(), kWatchMask);
    if (wd >= 0) {
      if (!first && !watches_.count(wd)) file_events_.push_back({path, std::string()});
      watches_[wd] = path;
    } else if (errno == ENOSPC && !watch_limit_logged_) {
      watch_limit_logged_ = true;
      log_message(Priority::warning,
                  "too many warehouse folders to watch (fs.inotify.max_user_watches); new data is "
                  "noticed by the rescan every " + std::to_string(options_.rescan_interval.count()) +
                      " s instead of at once");
    }
  }
}

// --- scheduling ------------------------------------------------------------------------------------

void EventLoop::refresh_and_dispatch() {
  need_refresh_ = false;
  Status planned = runner_->replan();
  {
    std::lock_guard lock(mu_);
    ++stats_.refreshes;
  }
  if (!planned) log_message(Priority::err, "planning failed: " + planned.message());
  need_dispatch_ = true;
  catch_up();
}

// Each kind of event costs what it changes (see docs/architecture.md): a whole pass only for the
// rescan and clock jumps; the timer's pass looks at each order's newest periods; a warehouse event
// at the periods that need the partition; a finished run at nothing but the queue.
void EventLoop::catch_up() {
  if (stopping_) return;
  if (need_refresh_) {
    refresh_and_dispatch();
    return;
  }
  if (need_advance_) {
    need_advance_ = false;
    need_dispatch_ = true;
    if (Status s = runner_->advance(); !s) log_message(Priority::err, "planning failed: " + s.message());
  }
  if (!file_events_.empty()) {
    std::vector<FileEvent> events;
    events.swap(file_events_);
    need_dispatch_ = true;
    if (Status s = runner_->files_changed(events); !s) log_message(Priority::err, "planning failed: " + s.message());
  }
  if (!need_dispatch_) return;
  need_dispatch_ = false;
  dispatch();
  arm_wakeup();
  update_watches();
  update_status();
  update_metrics();
}

void EventLoop::dispatch() {
  if (stopping_ || fenced_) return;
  // Idle: what the other nodes did since the last look, before choosing.
  if (shared_ && inflight_.empty())
    if (Status st = runner_->follow_changes(); !st) log_message(Priority::warning, "following other nodes: " + st.message());
  // An order with a run in flight is held: its next period waits for it.
  std::vector<int64_t> chosen = runner_->runs_to_start(
      static_cast<int>(inflight_.size()), backfills_inflight_,
      [&](const std::string& order) { return busy_orders_.count(order) > 0; });
  for (int64_t id : chosen) {
    auto run = store_->get(id);
    if (!run || !run->has_value()) {
      log_message(Priority::err, "run " + std::to_string(id) + " cannot be read from the state database: " +
                                     (run ? std::string("gone") : run.message()));
      continue;
    }
    start(**run);
  }
}

void EventLoop::start(const Run& run) {
  inflight_[run.id] = run;
  busy_orders_.insert(run.order);
  if (run.kind == RunKind::backfill) ++backfills_inflight_;
  {
    std::lock_guard lock(mu_);
    ++stats_.runs_started;
  }
  pool_->submit([this, run] {
    try {
      Outcome outcome = runner_->execute(run, &cancel_);  // the Runner logs and records the outcome
      if (outcome.abandoned) check_lease_ = true;
      else if (!outcome.recorded) unrecorded_ = true;
      if (metrics_) observe(run, outcome);
    } catch (const std::exception& e) {
      log_event(Event::run_failed, Priority::err,
                {run.order, std::to_string(run.id), run.period.name(), run.municipality, "failed"},
                std::string("run failed unexpectedly: ") + e.what());
    }
    {
      std::lock_guard lock(mu_);
      finished_runs_.push_back(run.id);
    }
    post();
  });
}

void EventLoop::finished(int64_t run_id) {
  auto it = inflight_.find(run_id);
  if (it == inflight_.end()) return;
  busy_orders_.erase(it->second.order);
  if (it->second.kind == RunKind::backfill) --backfills_inflight_;
  inflight_.erase(it);
  need_dispatch_ = true;  // a worker is free; the order's next period may go
  std::lock_guard lock(mu_);
  ++stats_.runs_finished;
}

void EventLoop::arm_wakeup() {
  itimerspec spec{};
  auto next = runner_->next_wakeup();
  armed_wakeup_ = next;
  if (next) {
    // The timer runs on the real clock; with an injected clock (tests) the same distance applies.
    auto delay = std::max<std::chrono::seconds>(*next - options_.clock(), std::chrono::seconds(1));
    auto at = std::chrono::system_clock::now() + delay;
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
  }
  // A zero it_value disarms: nothing is ahead, the rescan and file events remain.
  timerfd_settime(wake_timer_, TFD_TIMER_ABSTIME | (next ? TFD_TIMER_CANCEL_ON_SET : 0), &spec, nullptr);
}

void EventLoop::update_status() {
  if (stopping_) {
    notify::status("stopping: " + std::to_string(inflight_.size()) + " upload(s) finishing");
    return;
  }
  notify::status(runner_->status_line());
}

// --- stop, reload, control -------------------------------------------------------------------------

void EventLoop::begin_stop() {
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = std::chrono::steady_clock::now() + options_.shutdown_grace;
  if (options_.shutdown_grace.count() <= 0) cancel_ = true;
  notify::stopping("stopping: " + std::to_string(inflight_.size()) + " upload(s) finishing");
  log_event(Event::stopping, Priority::notice, {},
            "stopping: no new runs; " + std::to_string(inflight_.size()) + " run(s) in flight get up to " +
                std::to_string(options_.shutdown_grace.count()) + " s to finish");
}

ControlReply EventLoop::reload() {
  notify::reloading();
  log_event(Event::reload, Priority::info, {}, "reloading the configuration in " + options_.config_dir.string());
  auto current = runner_->config();
  LoadResult loaded = load_config(options_.config_dir, current.get());
  log_diagnostics(loaded.diagnostics);
  ControlReply reply;
  const int errors = loaded.diagnostics.error_count();
  if (!loaded.config) {
    reply.message = "the configuration in " + options_.config_dir.string() + " has " + std::to_string(errors) +
                    " error(s); flisd keeps running with the previous configuration";
  } else {
    if (loaded.config->settings.state != current->settings.state)
      log_message(Priority::warning, "flisd.yaml names another state database (" +
                                         loaded.config->settings.state.string() +
                                         "); flisd keeps using " + current->settings.state.string() +
                                         " until it is restarted");
    if (metrics_ || loaded.config->settings.metrics) {
      auto listen = [](const Config& c) { return c.settings.metrics ? c.settings.metrics->listen : std::string("none"); };
      if (listen(*loaded.config) != listen(*current))
        log_message(Priority::warning, "flisd.yaml changes metrics.listen to " + listen(*loaded.config) +
                                           "; flisd keeps " + listen(*current) + " until it is restarted");
    }
    runner_->set_config(loaded.config);
    pool_->grow(runs_in_flight(*loaded.config));
    if (metrics_) metrics_->set_orders(*loaded.config, options_.clock());
    reply.ok = errors == 0;
    reply.message = "reloaded " + options_.config_dir.string() + ": " +
                    std::to_string(loaded.config->orders.size()) + " orders";
    if (errors)
      reply.message += "; " + std::to_string(errors) + " error(s), the last good version of each broken file is kept";
  }
  log_event(Event::reload, reply.ok ? Priority::info : Priority::warning, {}, reply.message);
  if (metrics_) metrics_->config_reloaded(reply.ok, options_.clock());
  for (const auto& d : loaded.diagnostics.sorted()) reply.message += "\n" + d.str();  // for flisctl
  {
    std::lock_guard lock(mu_);
    ++stats_.reloads;
  }
  refresh_and_dispatch();
  notify::ready(runner_->status_line());
  return reply;
}

// --- metrics hooks ---------------------------------------------------------------------------------
// Listening starts with the daemon; a changed metrics.listen takes effect at the next start (as the
// state database does). A listener that cannot start is logged and flisd delivers on without it:
// the missing scrape target is what the "flisd down" alert sees.

void EventLoop::start_metrics(const Config& config, bool config_ok) {
  if (!config.settings.metrics) return;
  auto served = Metrics::serve(config.settings.metrics->listen);
  if (!served) {
    log_message(Priority::err, served.message() + "; flisd runs without metrics until it is restarted");
    return;
  }
  metrics_ = std::move(*served);
  log_message(Priority::info, "metrics: serving http://" + metrics_->address() + "/metrics");
  const Instant now = options_.clock();
  if (auto last = store_->last_deliveries()) {
    for (const auto& d : *last) metrics_->set_last_delivered(d.order, d.municipality, d.at);
  } else {
    log_message(Priority::warning, "metrics: " + last.message());
  }
  metrics_->set_orders(config, now);
  metrics_->config_reloaded(config_ok, now);
}

// A worker's attempt ended (worker thread; Metrics is thread-safe). A shutdown's interruption
// (queued again) and an outcome the store refused are not attempts that ended.
void EventLoop::observe(const Run& run, const Outcome& outcome) {
  if (!outcome.recorded) return;
  if (outcome.status == RunStatus::delivered) {
    metrics_->observe_attempt(AttemptResult::delivered, outcome.bytes, outcome.seconds);
    // The finish time the store recorded, so a restart reads back the same value.
    auto stored = store_->get(run.id);
    Instant at = stored && stored->has_value() && (*stored)->finished ? *(*stored)->finished : system_now();
    metrics_->set_last_delivered(run.order, run.municipality, at);
  } else if (outcome.status == RunStatus::failed) {
    metrics_->observe_attempt(AttemptResult::failed, 0, outcome.seconds);
  }
}

// After each loop turn: the counts the Runner's run book keeps (no query).
void EventLoop::update_metrics() {
  if (!metrics_) return;
  RunCounts counts = runner_->counts();
  std::map<RunStatus, int64_t> by_status;
  for (size_t i = 0; i < counts.by_status.size(); ++i) by_status[RunStatus(i)] = counts.by_status[i];
  // Failed for good: failed with no retry ahead (each waits for flisctl retry).
  const int64_t failed_final = counts.by_status[size_t(RunStatus::failed)] - counts.retrying;
  metrics_->set_run_counts(by_status, counts.late, failed_final);
  metrics_->expire_orders(options_.clock());
}

namespace {

ControlRun to_control(const Run& r) { return {r.id, r.order, r.period.name(), std::string(to_string(r.status))}; }

// The period a control request names, as flisctl's --period was written: the protocol's text
// becomes a Period here, once.
Result<Period> requested_period(const std::string& text) {
  auto period = Period::parse(text);
  if (!period)
    return Status::Error("'" + text + "' is not a period; write it as in the package name: 2026-11-25, 2026-W48, "
                         "2026-11, 2026 or 2019-03-15..2019-03-31");
  return *period;
}

}  // namespace

ControlReply EventLoop::handle_control(const ControlRequest& request) {
  if (stopping_) return {false, "flisd is stopping; ask again after it has started", {}};
  ControlReply reply;
  if (request.cmd == "reload") {
    reply = reload();
  } else if (request.cmd == "trigger") {
    std::optional<Period> period;
    if (request.period) {
      auto named = requested_period(*request.period);
      if (!named) return {false, named.message(), {}};
      period = *named;
    }
    auto runs = runner_->trigger(*request.order, period);
    if (!runs) return {false, runs.message(), {}};
    reply.ok = true;
    for (const auto& r : *runs) reply.runs.push_back(to_control(r));
    reply.message = runs->empty() ? "checked " + *request.order + ": nothing is due"
                                  : "checked " + *request.order + ": " + std::to_string(runs->size()) +
                                        " run(s) queued";
    need_dispatch_ = true;
  } else if (request.cmd == "retry") {
    auto run = runner_->retry(*request.run);
    if (!run) return {false, run.message(), {}};
    reply = {true, "run " + std::to_string(run->id) + " queued again", {to_control(*run)}};
    need_dispatch_ = true;
  } else if (request.cmd == "redeliver") {
    auto period = requested_period(*request.period);
    if (!period) return {false, period.message(), {}};
    auto run = runner_->redeliver(*request.order, *period);
    if (!run) return {false, run.message(), {}};
    reply = {true, "redelivery of " + *request.order + " " + period->name() + " queued as run " +
                       std::to_string(run->id), {to_control(*run)}};
    need_dispatch_ = true;
  }
  return reply;
}

}  // namespace flis
