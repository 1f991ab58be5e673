#include "daemon/warehouse.h"

#include <system_error>

namespace flis {
namespace {

using date::local_days;

// The partitions of one interface inside first..last, by the interface's frequency. Every
// partition falls in exactly one period of each kind, so no partition is ever delivered twice and
// none is skipped: a week belongs to the period holding its Thursday, a month to the period holding
// its first day.
void add_partitions(const Interface& iface, const Period& period, std::vector<Partition>& out) {
  switch (iface.frequency) {
    case Frequency::daily:
      for (local_days d = period.first; d <= period.last; d += date::days{1})
        out.push_back({iface.source, iface.name, partition_name(Frequency::daily, d)});
      break;
    case Frequency::weekly: {
      local_days thursday = period.first + (date::Thursday - date::weekday{period.first});
      for (; thursday <= period.last; thursday += date::weeks{1})
        out.push_back({iface.source, iface.name, partition_name(Frequency::weekly, thursday)});
      break;
    }
    case Frequency::monthly: {
      date::year_month_day f{period.first};
      date::year_month ym = f.year() / f.month();
      if (f.day() != date::day{1}) ym += date::months{1};
      for (; local_days{ym / 1} <= period.last; ym += date::months{1})
        out.push_back({iface.source, iface.name, partition_name(Frequency::monthly, local_days{ym / 1})});
      break;
    }
  }
}

}  // namespace

std::vector<Partition> partitions_for(const Config& config, const Order& order, const Period& period) {
  std::vector<Partition> out;
  for (const auto& name : order.interfaces) {
    const Interface* iface = config.catalogue.find(order.source, name);
    if (iface == nullptr) {
      // Validation refuses such an order; should one slip through (a catalogue edited under a kept
      // last-good order), assume daily data so the package waits rather than ships without it.
      Interface assumed{name, order.source, "", Frequency::daily, {}};
      add_partitions(assumed, period, out);
      continue;
    }
    add_partitions(*iface, period, out);
  }
  return out;
}

std::filesystem::path partition_path(const std::filesystem::path& warehouse, const Partition& p) {
  return warehouse / std::string(to_string(p.source)) / p.interface / p.name;
}

bool partition_processed(const std::filesystem::path& warehouse, const Partition& p) {
  std::error_code ec;  // an unreadable warehouse reads as "not processed yet", never as a crash
  return std::filesystem::exists(partition_path(warehouse, p) / "_PROCESSED", ec);
}

}  // namespace flis
