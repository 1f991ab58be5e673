// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Metrics: what flisd serves on /metrics (Prometheus text format, `metrics.listen` in flisd.yaml),
// on prometheus-cpp's pull exposer (civetweb).
//
// The daemon pushes values in as things happen (a run's attempt ends, a reload, a loop turn); a
// scrape only serialises what is already here. So scraping never touches the state database or
// the event loop, and cannot slow a delivery.
//
//   flisd_runs{status}                         runs per status (all six statuses, 0 included)
//   flisd_runs_late                            waiting runs past their calendar time
//   flisd_runs_failed_final                    failed runs with no attempt left (need flisctl retry)
//   flisd_order_last_delivered_timestamp_seconds{order,municipality}
//   flisd_order_period_seconds{order,municipality}   one period of an active subscription
//   flisd_deliveries_total{result}             attempts ended, result = delivered | failed
//   flisd_delivered_bytes_total
//   flisd_run_duration_seconds                 histogram of attempt durations
//   flisd_config_last_reload_successful        1/0, the start's load counts as a reload
//   flisd_config_last_reload_timestamp_seconds
//   flisd_build_info{version}                  always 1
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "config/model.h"
#include "daemon/state_store.h"

namespace prometheus {
class Exposer;
class Registry;
class Gauge;
class Counter;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace flis {

enum class AttemptResult { delivered, failed };

class Metrics {
 public:
  // Metrics without a listener: text() shows what a scrape would get (tests).
  Metrics();
  // Metrics served on `listen` ("127.0.0.1:9469"; port 0 takes a free one). An
  // error names the address and why it cannot be used (e.g. already in use).
  static Result<std::unique_ptr<Metrics>> serve(const std::string& listen);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Where /metrics is served, "127.0.0.1:41234" (the port actually bound); empty without a listener.
  std::string address() const;
  // The exposition a scrape gets now.
  std::string text() const;

  void set_run_counts(const std::map<RunStatus, int64_t>& counts, int64_t late, int64_t failed_final);
  // The orders of a (re)loaded configuration: a period length for each active subscription that
  // has not ended by `now`; the series of orders that are gone are dropped.
  void set_orders(const Config& config, Instant now);
  // Drops the period length of subscriptions whose last day has passed: nothing more is due, so
  // "nothing delivered for two periods" must not fire for them (called each loop turn; cheap).
  void expire_orders(Instant now);
  void set_last_delivered(const std::string& order, int municipality, Instant at);
  void observe_attempt(AttemptResult result, int64_t bytes, double seconds);
  void config_reloaded(bool ok, Instant at);

  // One period of an order as seconds, for the "nothing delivered for two periods" alert: the
  // longest such period (a month is 31 days), so the alert never fires between two regular
  // deliveries. None for one-off orders.
  static std::optional<double> period_seconds(const Order& order);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;  // of metrics.listen: "127.0.0.1"

  mutable std::mutex mu_;  // the label maps below; prometheus-cpp guards its own values
  prometheus::Family<prometheus::Gauge>* runs_;
  std::map<RunStatus, prometheus::Gauge*> runs_by_status_;
  prometheus::Gauge* late_;
  prometheus::Gauge* failed_final_;
  prometheus::Family<prometheus::Gauge>* last_delivered_;
  prometheus::Family<prometheus::Gauge>* period_;
  std::map<std::string, prometheus::Gauge*> last_delivered_by_order_, period_by_order_;
  std::multimap<Instant, std::string> period_ends_;  // subscription end -> order
  prometheus::Counter* delivered_;
  prometheus::Counter* failed_;
  prometheus::Counter* bytes_;
  prometheus::Histogram* duration_;
  prometheus::Gauge* reload_ok_;
  prometheus::Gauge* reload_time_;
};

}  // namespace flis
