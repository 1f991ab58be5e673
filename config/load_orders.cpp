// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// orders/*.yaml: one order (bestilling) per file, checked against rules 1-6 of the FLIS ordering guide (docs/configuration.md).
#include <algorithm>
#include <map>

#include "config/kommuner.h"
#include "config/load_parts.h"
#include "config/period.h"
#include "config/schema.h"

namespace flis::detail {
namespace {

// How often an order delivers, as the frequency an interface must at least have (rule 5).
// One-off orders deliver historical data and may take any interface.
bool frequent_enough(OrderType type, Frequency f) {
  switch (type) {
    case OrderType::daily: return f == Frequency::daily;
    case OrderType::weekly: return f != Frequency::monthly;
    default: return true;
  }
}

const char* what_type_takes(OrderType type) {
  switch (type) {
    case OrderType::daily: return "a daily order takes only daily interfaces";
    case OrderType::weekly: return "a weekly order takes daily and weekly interfaces";
    default: return "";
  }
}

class OrderReader {
 public:
  OrderReader(YamlReader& r, const Context& ctx) : r_(r), ctx_(ctx) {}

  std::optional<OrderDraft> read(const YAML::Node& root) {
    auto f = r_.mapping(root, r_.whole_file(), "an order", schema::kOrder);
    if (!f) return std::nullopt;
    fields_ = std::move(*f);
    d_.order.pos = r_.whole_file();
    root_pos_ = r_.at(root);
    read_id();
    read_municipality();
    bool typed = read_type_and_source();
    read_delivery();
    read_status(typed);
    read_dates(typed);
    if (typed) read_interfaces();
    return d_;
  }

 private:
  const Entry* get(const char* key) const {
    auto it = fields_.find(key);
    return it == fields_.end() ? nullptr : &it->second;
  }
  const Entry* need(const char* key, const std::string& what) {
    if (auto e = get(key)) return e;
    r_.error(root_pos_, "the order has no '" + std::string(key) + "'; " + what);
    return nullptr;
  }

  void read_id() {
    auto e = need("id", "give it a unique id, e.g. K101-CPR-DAILY");
    if (!e) return;
    auto id = r_.scalar(*e, "id");
    if (!id) return;
    d_.id_pos = e->pos;
    if (!is_safe_name(*id)) {
      r_.error(e->pos, "id '" + *id + "' is not allowed; an id is 1-64 letters, digits, '.', '_' and '-', "
                       "starting with a letter or digit, never containing '..'");
      return;
    }
    d_.order.id = *id;
    d_.has_id = true;
  }

  void read_municipality() {
    auto e = need("municipality", "give the kommunekode, e.g. 101 for København");
    if (!e) return;
    auto s = r_.scalar(*e, "municipality");
    if (!s) return;
    int code = 0;
    bool digits = s->size() == 3 && std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) code = std::stoi(*s);
    if (!digits || !kommune_name(code)) {
      r_.error(e->pos, "'" + *s + "' is not a kommunekode; municipality must be one of the 98 municipality "
                       "codes (e.g. 101 København, 147 Frederiksberg, 751 Aarhus, 851 Aalborg)");
      return;
    }
    d_.order.municipality = code;
  }

  // Type and source together: rules 1, 3 and 4 are about the pair.
  bool read_type_and_source() {
    std::optional<std::string> type, source;
    if (auto e = need("type", "allowed: one-off, daily, weekly, monthly"))
      type = r_.choice(*e, "type", {"one-off", "daily", "weekly", "monthly"});
    if (auto e = need("source", "allowed: DSA, legacy")) {
      auto s = r_.scalar(*e, "source");
      if (s && *s == "DM") {
        r_.error(e->pos, "datamarts (source DM) cannot be ordered; flisd makes one monthly DM order per "
                         "municipality from the entitlements in flisd.yaml (datamarts.entitlements); allowed "
                         "sources here: DSA, legacy");
        return false;
      }
      if (s) source = r_.choice(*e, "source", {"DSA", "legacy"});
    }
    if (!type || !source) return false;
    d_.order.type = *parse_order_type(*type);
    d_.order.source = *parse_source(*source);
    // Rules 1 and 3 are reported, and the rest of the order is still checked as written.
    const Position& at = get("source")->pos;
    if (d_.order.type == OrderType::one_off && d_.order.source != Source::DSA)
      r_.error(at, "a one-off order may only use source DSA (rule 1); " + *source + " is for subscriptions");
    else if (d_.order.source == Source::legacy && d_.order.type != OrderType::monthly)
      r_.error(at, "source legacy is allowed only for a monthly subscription (rule 3); this order is " + *type);
    return true;
  }

  void read_delivery() {
    auto e = need("delivery", "allowed: flis, serviceplatformen");
    if (!e) return;
    auto d = r_.choice(*e, "delivery", schema::kDeliveries);
    if (!d) return;
    d_.order.delivery = *d;
    if (ctx_.settings_ok && !ctx_.settings.targets.count(*d))
      r_.error(e->pos, "no target for delivery '" + *d + "' in flisd.yaml; add targets." + *d +
                           " (type sftp or directory) or use a delivery that has one");
  }

  void read_status(bool typed) {
    auto e = get("status");
    if (!e) return;
    auto s = r_.choice(*e, "status", {"active", "cancelled", "deactivated"});
    if (!s) return;
    d_.order.status = *parse_order_status(*s);
    if (!typed) return;
    bool one_off = d_.order.type == OrderType::one_off;
    if (d_.order.status == OrderStatus::cancelled && !one_off)
      r_.error(e->pos, "status cancelled is for one-off orders; a subscription is stopped with status deactivated");
    if (d_.order.status == OrderStatus::deactivated && one_off)
      r_.error(e->pos, "status deactivated is for subscriptions; a one-off order is stopped with status cancelled");
  }

  std::optional<date::year_month_day> date_of(const char* key) {
    auto e = get(key);
    auto d = e ? r_.date(*e, key) : std::nullopt;
    if (d && *d < kEarliestDate) {
      r_.error(e->pos, std::string(key) + " " + format_date(*d) + " is before " + format_date(kEarliestDate) +
                           ", and FLIS holds no data from before 2000; is the year mistyped?");
      return std::nullopt;
    }
    return d;
  }

  // Roughly how many periods (runs) the order makes; exact enough for a warning.
  long period_count(date::year_month_day first, date::year_month_day last) const {
    long days = (date::local_days{last} - date::local_days{first}).count() + 1;
    long months = (last.year() - first.year()).count() * 12 +
                  (static_cast<long>(static_cast<unsigned>(last.month())) - static_cast<unsigned>(first.month())) + 1;
    const Order& o = d_.order;
    Chunk unit = o.type == OrderType::daily ? Chunk::day : o.type == OrderType::weekly ? Chunk::week
               : o.type == OrderType::monthly ? Chunk::month : o.chunk;
    switch (unit) {
      case Chunk::day: return days;
      case Chunk::week: return days / 7 + 1;
      case Chunk::month: return months;
      case Chunk::year: return (last.year() - first.year()).count() + 1;
      case Chunk::whole: return 1;
    }
    return 1;
  }

  void warn_many_periods(const char* key, date::year_month_day first, date::year_month_day last) {
    long n = period_count(first, last);
    if (n <= kManyPeriods) return;
    r_.warning(get(key)->pos, "this order makes about " + std::to_string(n) + " periods (" + format_date(first) +
                                  ".." + format_date(last) + "), more than " + std::to_string(kManyPeriods) +
                                  "; each is a run in the state database, planned on every refresh. Check the "
                                  "dates, or split the order");
  }

  void forbid(const char* key, const std::string& why) {
    if (auto e = get(key)) r_.error(r_.key_pos(*e), "'" + std::string(key) + "' " + why);
  }

  void read_dates(bool typed) {
    auto start = date_of("start"), end = date_of("end"), from = date_of("from"), to = date_of("to");
    std::optional<std::string> chunk;
    if (auto e = get("chunk")) chunk = r_.choice(*e, "chunk", {"day", "week", "month", "year", "whole"});
    if (!typed) return;
    if (d_.order.is_subscription()) {
      const char* why = "is only for one-off orders; a subscription has start and end";
      forbid("from", why), forbid("to", why), forbid("chunk", why);
      if (!get("start")) r_.error(root_pos_, "a subscription needs 'start', the first day delivered (YYYY-MM-DD)");
      if (!get("end"))
        r_.error(root_pos_, "a subscription needs 'end', its end date (slutdato, YYYY-MM-DD; rule 2)");
      if (start && end && *start > *end)
        r_.error(get("end")->pos, "end " + format_date(*end) + " is before start " + format_date(*start) +
                                      "; end must be on or after start");
      if (start && end && *start <= *end) warn_many_periods("start", *start, *end);
      d_.order.start = start;
      d_.order.end = end;
      if (auto e = get("start")) d_.start_pos = e->pos;
    } else {
      const char* why = "is only for subscriptions; a one-off order has from and to (its historical period)";
      forbid("start", why), forbid("end", why);
      if (!get("from")) r_.error(root_pos_, "a one-off order needs 'from', the first day of its period (YYYY-MM-DD)");
      if (!get("to")) r_.error(root_pos_, "a one-off order needs 'to', the last day of its period (YYYY-MM-DD)");
      if (from && to && *from > *to)
        r_.error(get("to")->pos, "to " + format_date(*to) + " is before from " + format_date(*from) +
                                     "; to must be on or after from");
      d_.order.from = from;
      d_.order.to = to;
      if (chunk) d_.order.chunk = *parse_chunk(*chunk);
      if (from && to && *from <= *to) warn_many_periods("from", *from, *to);
    }
  }

  void read_interfaces() {
    auto e = need("interfaces", "list the interfaces (snitflader) to deliver, e.g. [CPR_PERSON]");
    if (!e) return;
    d_.interfaces_pos = e->pos;
    auto items = r_.list(*e, "interfaces");
    if (!items) return;
    const Order& o = d_.order;
    std::vector<std::string_view> of_source;
    for (const auto& i : ctx_.catalogue.interfaces)
      if (i.source == o.source) of_source.push_back(i.name);
    std::map<std::string, std::vector<std::string>> by_system;  // rule 6
    for (const auto& [name, pos] : *items) {
      if (std::find(d_.order.interfaces.begin(), d_.order.interfaces.end(), name) != d_.order.interfaces.end()) {
        r_.error(pos, "interface " + name + " is listed twice; list each once");
        continue;
      }
      d_.order.interfaces.push_back(name);
      if (!ctx_.catalogue_ok) continue;
      const Interface* i = ctx_.catalogue.find(o.source, name);
      if (!i) {
        r_.error(pos, unknown_interface(name, of_source));
        continue;
      }
      if (!frequent_enough(o.type, i->frequency)) {
        r_.error(pos, "interface " + name + " is received " + std::string(to_string(i->frequency)) + ", so it cannot be in a " +
                          std::string(to_string(o.type)) + " order (rule 5); " + what_type_takes(o.type));
        continue;
      }
      by_system[i->system].push_back(name);
    }
    if (o.type == OrderType::one_off && o.from && o.to && ctx_.catalogue_ok) warn_partial_partitions();
    if (o.is_subscription() && by_system.size() > 1) {
      std::string mix;
      for (const auto& [system, names] : by_system) {
        if (!mix.empty()) mix += "; ";
        mix += system + ": ";
        for (size_t k = 0; k < names.size(); ++k) mix += (k ? ", " : "") + names[k];
      }
      r_.warning(e->pos, "this subscription mixes interfaces of different fagsystemer (" + mix +
                             "); it is delivered as one package only when the last of them is processed (rule 6); "
                             "order them separately to get each as soon as it is ready");
    }
  }

  // A weekly or monthly partition belongs to the package holding its Thursday or its first day
  // (config/period.h). A one-off period that starts or ends inside such a partition therefore
  // either delivers it whole (days outside from..to included) or leaves it out (days inside
  // from..to missing). Both are allowed; the sysadmin is told which, and the dates that avoid it.
  void warn_partial_partitions() {
    const Order& o = d_.order;
    const date::local_days from{*o.from}, to{*o.to};
    auto day = [](date::local_days d) { return format_date(date::year_month_day{d}); };
    for (const auto& name : o.interfaces) {
      const Interface* i = ctx_.catalogue.find(o.source, name);
      if (!i || i->frequency == Frequency::daily) continue;
      std::string previous;
      for (auto [end, d] : {std::pair{"from", from}, std::pair{"to", to}}) {
        // The partition holding d, and the day that places it in a package: Thursday or the 1st.
        Period part = partition_span(i->frequency, d);
        date::local_days first = part.first, last = part.last;
        date::local_days placed = placing_day(i->frequency, part);
        std::string partition = part.name();
        if ((first >= from && last <= to) || partition == previous) continue;
        previous = partition;
        std::string what = name + " comes in " + (i->frequency == Frequency::weekly ? "weekly" : "monthly") +
                           " partitions; " + partition + " (" + day(first) + ".." + day(last) + ") ";
        if (placed >= from && placed <= to)
          what += "is delivered whole, including days outside " + day(from) + ".." + day(to);
        else
          what += "is not delivered, though " + day(std::max(first, from)) + ".." + day(std::min(last, to)) +
                  " are in the order";
        r_.warning(get(end)->pos, what + "; from/to on the partition's bounds avoid this");
      }
    }
  }

  std::string unknown_interface(const std::string& name, const std::vector<std::string_view>& of_source) {
    std::string src(to_string(d_.order.source));
    for (const auto& i : ctx_.catalogue.interfaces)
      if (i.name == name)
        return "interface " + name + " belongs to source " + std::string(to_string(i.source)) + ", not " + src +
               "; an order's interfaces must all come from its source (rule 5)";
    std::string msg = "unknown interface '" + name + "' for source " + src + "; allowed (interfaces.yaml): " +
                      join(of_source);
    if (auto c = closest(name, of_source)) msg += " (did you mean '" + std::string(*c) + "'?)";
    return msg;
  }

  YamlReader& r_;
  const Context& ctx_;
  Entries fields_;
  OrderDraft d_;
  Position root_pos_;
};

}  // namespace

std::optional<OrderDraft> read_order(YamlReader& r, const YAML::Node& root, const Context& ctx) {
  return OrderReader(r, ctx).read(root);
}

}  // namespace flis::detail
