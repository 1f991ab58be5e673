// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// Metrics on prometheus-cpp; see daemon/metrics.h.
#include "daemon/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <set>

namespace flis {
namespace {

constexpr RunStatus kStatuses[] = {RunStatus::waiting,   RunStatus::queued, RunStatus::running,
                                   RunStatus::delivered, RunStatus::failed, RunStatus::cancelled};

// Attempt durations run from a second (a small daily package on a local target) to hours (a
// one-off chunk of many GiB over a slow link).
const prometheus::Histogram::BucketBoundaries kDurationBuckets{1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400};

double seconds_of(Instant at) { return static_cast<double>(at.time_since_epoch().count()); }

prometheus::Labels order_labels(const std::string& order, int municipality) {
  return {{"order", order}, {"municipality", std::to_string(municipality)}};
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& r = *registry_;
  runs_ = &prometheus::BuildGauge().Name("flisd_runs").Help("Runs in the state database, per status").Register(r);
  for (RunStatus s : kStatuses) runs_by_status_[s] = &runs_->Add({{"status", std::string(to_string(s))}});
  late_ = &prometheus::BuildGauge()
               .Name("flisd_runs_late")
               .Help("Waiting runs whose calendar time has passed (their data is not processed yet)")
               .Register(r)
               .Add({});
  failed_final_ = &prometheus::BuildGauge()
                       .Name("flisd_runs_failed_final")
                       .Help("Failed runs with no attempt left; each waits for flisctl retry")
                       .Register(r)
                       .Add({});
  last_delivered_ = &prometheus::BuildGauge()
                         .Name("flisd_order_last_delivered_timestamp_seconds")
                         .Help("When the order's last package was delivered (unix time); absent before its first")
                         .Register(r);
  period_ = &prometheus::BuildGauge()
                 .Name("flisd_order_period_seconds")
                 .Help("One period of an active subscription order (a month counts 31 days)")
                 .Register(r);
  auto& deliveries = prometheus::BuildCounter()
                         .Name("flisd_deliveries_total")
                         .Help("Delivery attempts that ended, by result (a failed attempt may be retried)")
                         .Register(r);
  delivered_ = &deliveries.Add({{"result", "delivered"}});
  failed_ = &deliveries.Add({{"result", "failed"}});
  bytes_ = &prometheus::BuildCounter()
                .Name("flisd_delivered_bytes_total")
                .Help("Bytes of the packages delivered (compressed, as on the target)")
                .Register(r)
                .Add({});
  duration_ = &prometheus::BuildHistogram()
                   .Name("flisd_run_duration_seconds")
                   .Help("How long one attempt of a run took, delivered or failed")
                   .Register(r)
                   .Add({}, kDurationBuckets);
  reload_ok_ = &prometheus::BuildGauge()
                    .Name("flisd_config_last_reload_successful")
                    .Help("1 if the last load of the configuration (start or reload) had no errors, else 0")
                    .Register(r)
                    .Add({});
  reload_time_ = &prometheus::BuildGauge()
                      .Name("flisd_config_last_reload_timestamp_seconds")
                      .Help("When the configuration was last loaded (unix time)")
                      .Register(r)
                      .Add({});
  prometheus::BuildGauge()
      .Name("flisd_build_info")
      .Help("The flisd version; always 1")
      .Register(r)
      .Add({{"version", FLISD_VERSION}})
      .Set(1);
}

Metrics::~Metrics() {
  exposer_.reset();  // no scrape may still be reading the registry
}

Result<std::unique_ptr<Metrics>> Metrics::serve(const std::string& listen) {
  auto metrics = std::make_unique<Metrics>();
  try {
    // One thread: Prometheus scrapes one at a time, and a scrape only serialises.
    metrics->exposer_ = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return Status::Error("cannot serve metrics on " + listen + ": " + e.what() +
                         " (is another program listening there? see metrics.listen in flisd.yaml)");
  }
  metrics->exposer_->RegisterCollectable(metrics->registry_);
  metrics->host_ = listen.substr(0, listen.rfind(':'));
  return metrics;
}

std::string Metrics::address() const {
  if (!exposer_) return {};
  auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? std::string() : host_ + ":" + std::to_string(ports.front());
}

std::string Metrics::text() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void Metrics::set_run_counts(const std::map<RunStatus, int64_t>& counts, int64_t late, int64_t failed_final) {
  for (auto& [status, gauge] : runs_by_status_) {
    auto it = counts.find(status);
    gauge->Set(it == counts.end() ? 0.0 : static_cast<double>(it->second));
  }
  late_->Set(static_cast<double>(late));
  failed_final_->Set(static_cast<double>(failed_final));
}

std::optional<double> Metrics::period_seconds(const Order& order) {
  constexpr double day = 86400;
  switch (order.type) {
    case OrderType::daily: return day;
    case OrderType::weekly: return 7 * day;
    case OrderType::monthly: return 31 * day;
    case OrderType::one_off: return std::nullopt;
  }
  return std::nullopt;
}

void Metrics::set_orders(const Config& config, Instant now) {
  std::lock_guard lock(mu_);
  // Built anew: an order may have ended, changed municipality or type, or gone.
  for (auto& [order, gauge] : period_by_order_) period_->Remove(gauge);
  period_by_order_.clear();
  period_ends_.clear();
  std::set<std::string> known;
  for (const Order& order : config.orders) {
    known.insert(order.id);
    auto period = period_seconds(order);
    if (!order.active() || !period) continue;
    // The day after the last day (UTC; an hour either way does not matter to a days-long alert).
    std::optional<Instant> end;
    if (order.end) end = Instant(date::sys_days(*order.end) + date::days(1));
    if (end && *end <= now) continue;
    auto& gauge = period_->Add(order_labels(order.id, order.municipality));
    gauge.Set(*period);
    period_by_order_[order.id] = &gauge;
    if (end) period_ends_.emplace(*end, order.id);
  }
  // A removed order's last delivery would otherwise be exported for ever.
  for (auto it = last_delivered_by_order_.begin(); it != last_delivered_by_order_.end();) {
    if (known.count(it->first)) {
      ++it;
    } else {
      last_delivered_->Remove(it->second);
      it = last_delivered_by_order_.erase(it);
    }
  }
}

void Metrics::expire_orders(Instant now) {
  std::lock_guard lock(mu_);
  while (!period_ends_.empty() && period_ends_.begin()->first <= now) {
    if (auto it = period_by_order_.find(period_ends_.begin()->second); it != period_by_order_.end()) {
      period_->Remove(it->second);
      period_by_order_.erase(it);
    }
    period_ends_.erase(period_ends_.begin());
  }
}

void Metrics::set_last_delivered(const std::string& order, int municipality, Instant at) {
  std::lock_guard lock(mu_);
  auto labels = order_labels(order, municipality);
  auto it = last_delivered_by_order_.find(order);
  if (it != last_delivered_by_order_.end() && !last_delivered_->Has(labels)) {
    last_delivered_->Remove(it->second);  // the order moved to another municipality
    last_delivered_by_order_.erase(it);
    it = last_delivered_by_order_.end();
  }
  if (it == last_delivered_by_order_.end()) it = last_delivered_by_order_.emplace(order, &last_delivered_->Add(labels)).first;
  // A redelivery of an old period is still a delivery; a recovered one may report an earlier time.
  it->second->Set(std::max(it->second->Value(), seconds_of(at)));
}

void Metrics::observe_attempt(AttemptResult result, int64_t bytes, double seconds) {
  if (result == AttemptResult::delivered) {
    delivered_->Increment();
    bytes_->Increment(static_cast<double>(bytes));
  } else {
    failed_->Increment();
  }
  duration_->Observe(seconds);
}

void Metrics::config_reloaded(bool ok, Instant at) {
  reload_ok_->Set(ok ? 1 : 0);
  reload_time_->Set(seconds_of(at));
}

}  // namespace flis
