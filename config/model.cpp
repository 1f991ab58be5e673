// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
#include "config/model.h"

#include <algorithm>
#include <array>
#include <utility>

namespace flis {
namespace {

template <typename E, size_t N>
using Names = std::array<std::pair<E, std::string_view>, N>;

constexpr Names<Source, 3> kSources{{{Source::DSA, "DSA"}, {Source::legacy, "legacy"}, {Source::DM, "DM"}}};
constexpr Names<Frequency, 3> kFrequencies{
    {{Frequency::daily, "daily"}, {Frequency::weekly, "weekly"}, {Frequency::monthly, "monthly"}}};
constexpr Names<OrderType, 4> kOrderTypes{{{OrderType::one_off, "one-off"},
                                           {OrderType::daily, "daily"},
                                           {OrderType::weekly, "weekly"},
                                           {OrderType::monthly, "monthly"}}};
constexpr Names<OrderStatus, 3> kStatuses{{{OrderStatus::active, "active"},
                                           {OrderStatus::cancelled, "cancelled"},
                                           {OrderStatus::deactivated, "deactivated"}}};
constexpr Names<Chunk, 5> kChunks{{{Chunk::day, "day"},
                                   {Chunk::week, "week"},
                                   {Chunk::month, "month"},
                                   {Chunk::year, "year"},
                                   {Chunk::whole, "whole"}}};
constexpr Names<TargetType, 2> kTargetTypes{{{TargetType::sftp, "sftp"}, {TargetType::directory, "directory"}}};

template <typename E, size_t N>
std::string_view name_of(const Names<E, N>& names, E e) {
  for (const auto& [v, n] : names)
    if (v == e) return n;
  return "?";
}

template <typename E, size_t N>
std::optional<E> value_of(const Names<E, N>& names, std::string_view s) {
  for (const auto& [v, n] : names)
    if (n == s) return v;
  return std::nullopt;
}

}  // namespace

std::string_view to_string(Source e) { return name_of(kSources, e); }
std::string_view to_string(Frequency e) { return name_of(kFrequencies, e); }
std::string_view to_string(OrderType e) { return name_of(kOrderTypes, e); }
std::string_view to_string(OrderStatus e) { return name_of(kStatuses, e); }
std::string_view to_string(Chunk e) { return name_of(kChunks, e); }
std::string_view to_string(TargetType e) { return name_of(kTargetTypes, e); }
std::optional<Source> parse_source(std::string_view s) { return value_of(kSources, s); }
std::optional<Frequency> parse_frequency(std::string_view s) { return value_of(kFrequencies, s); }
std::optional<OrderType> parse_order_type(std::string_view s) { return value_of(kOrderTypes, s); }
std::optional<OrderStatus> parse_order_status(std::string_view s) { return value_of(kStatuses, s); }
std::optional<Chunk> parse_chunk(std::string_view s) { return value_of(kChunks, s); }
std::optional<TargetType> parse_target_type(std::string_view s) { return value_of(kTargetTypes, s); }

const Interface* Catalogue::find(Source source, std::string_view name) const {
  for (const auto& i : interfaces)
    if (i.source == source && i.name == name) return &i;
  return nullptr;
}

const Order* Config::find_order(std::string_view id) const {
  auto it = std::lower_bound(orders.begin(), orders.end(), id,
                             [](const Order& o, std::string_view v) { return o.id < v; });
  return it != orders.end() && it->id == id ? &*it : nullptr;
}

const Target* Config::target_for(const Order& order) const {
  auto it = settings.targets.find(order.delivery);
  return it == settings.targets.end() ? nullptr : &it->second;
}

std::string Partition::key() const {
  return std::string(to_string(source)) + "/" + interface + "/" + name;
}

}  // namespace flis
