// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// The configuration model: plain, immutable structs for what the sysadmin wrote in /etc/flisd
// Built once by the loader (config/loader.h), then shared read-only as a
// std::shared_ptr<const Config>; a reload builds a new one. No behaviour lives here beyond
// look-ups and the names of enum values.
#pragma once

#include <date/date.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flis {

// Where in which file a value was written; every diagnostic points here.
struct Position {
  std::string file;  // path as shown to the user (relative to the config dir when inside it)
  int line = 0;      // 1-based; 0 = whole file
  int col = 0;       // 1-based
};

// FLIS began in 2000: no order or datamart date is earlier. A typo such as 1026-11-01 would
// otherwise make hundreds of thousands of periods, planned again on every refresh.
inline constexpr date::year_month_day kEarliestDate{date::year{2000}, date::month{1}, date::day{1}};
// More periods than this in one order is almost surely a mistake (27 years of days, 96 of weeks);
// the loader warns. Each period becomes a run in the state database.
inline constexpr long kManyPeriods = 5000;

// datakilde
enum class Source { DSA, legacy, DM };
// How often FLIS receives an interface; also the warehouse partition granularity.
enum class Frequency { daily, weekly, monthly };
// engangsbestilling (one_off) or abonnement (daily / weekly / monthly)
enum class OrderType { one_off, daily, weekly, monthly };
// Annuller (cancelled, one-off) / Deaktiver (deactivated, subscription)
enum class OrderStatus { active, cancelled, deactivated };
// How a one-off order's historical period is cut into packages.
enum class Chunk { day, week, month, year, whole };
enum class TargetType { sftp, directory };

// Names exactly as written in YAML ("one-off", "DSA", "monthly", ...).
std::string_view to_string(Source);
std::string_view to_string(Frequency);
std::string_view to_string(OrderType);
std::string_view to_string(OrderStatus);
std::string_view to_string(Chunk);
std::string_view to_string(TargetType);
std::optional<Source> parse_source(std::string_view);
std::optional<Frequency> parse_frequency(std::string_view);
std::optional<OrderType> parse_order_type(std::string_view);
std::optional<OrderStatus> parse_order_status(std::string_view);
std::optional<Chunk> parse_chunk(std::string_view);
std::optional<TargetType> parse_target_type(std::string_view);

// snitflade: one data feed of the catalogue (interfaces.yaml).
struct Interface {
  std::string name;    // e.g. CPR_PERSON; safe as a path component
  Source source;
  std::string system;  // fagsystem, e.g. CPR, OPUS, FLIS
  Frequency frequency;
  Position pos;
};

struct Catalogue {
  std::vector<Interface> interfaces;
  // nullptr when the source has no such interface.
  const Interface* find(Source source, std::string_view name) const;
};

// Local wall-clock time of day, minutes since midnight ("06:00" = 360).
using TimeOfDay = std::chrono::minutes;

// datakalender (calendar/*.yaml, merged).
struct Calendar {
  struct Daily {
    TimeOfDay ready{6 * 60};
    int lag_days = 1;  // day D is expected at D + lag_days, at `ready`
  } daily;
  struct Weekly {
    TimeOfDay ready{6 * 60};
    date::weekday weekday = date::Tuesday;  // the first such weekday after the ISO week
  } weekly;
  struct Month {
    date::local_seconds ready;                           // local time
    std::map<std::string, date::local_seconds> systems;  // fagsystem -> override
    Position pos;
  };
  std::map<date::year_month, Month> monthly;
};

struct Target {
  std::string name;  // the delivery it serves: "flis" or "serviceplatformen"
  TargetType type = TargetType::directory;
  // sftp
  std::string host;
  int port = 22;
  std::string user;
  std::filesystem::path identity;     // private key file (absolute after loading)
  std::filesystem::path known_hosts;  // absolute after loading
  // The longest any step (connecting, a reply, the server's window) may wait without progress:
  // a stalled server fails the run instead of holding a worker.
  std::chrono::seconds timeout{30};
  // SSH sessions flisd keeps open to this target at most, shared by every run that delivers there
  // (jobs/session_pool.h): the bound on connections a municipality's server sees.
  int max_sessions = 4;
  int uploads_per_session = 8;  // runs at once on one SSH session, each on its own SFTP channel
  // sftp and directory: folder template with {municipality} and {order}
  std::string path;
  // sftp and directory: the permissions of the packages and .sha256 files flisd creates, and of
  // the folders it makes (set exactly, whatever the umask). Owner read/write (file) and
  // read/write/search (folder) are always there; nothing is ever writable by others.
  uint32_t file_mode = 0640;
  uint32_t dir_mode = 0750;
  Position pos;
};

struct RetryPolicy {
  int attempts = 8;  // total attempts, the first included
  std::chrono::seconds initial{60};
  std::chrono::seconds max{6 * 3600};
};

struct Compression {
  int level = 3;
  int threads = 0;  // 0 = all cores
};

// metrics: where /metrics is served (Prometheus text format). Absent: no listener.
struct MetricsSettings {
  std::string listen;  // "127.0.0.1:9469": an IPv4 address and a port, never a bare port
};

// Rule 4: flisd generates one monthly DM order per entitled municipality.
struct Datamarts {
  date::year_month start{date::year{2026}, date::January};
  std::string delivery = "flis";
  std::map<int, std::vector<std::string>> entitlements;  // kommunekode -> DM interfaces
  Position pos;
  std::map<int, Position> entitlement_pos;  // where each municipality's entitlement is written
};

// flisd.yaml
struct Settings {
  std::string timezone = "Europe/Copenhagen";
  std::filesystem::path warehouse = "/var/lib/flis/warehouse";  // absolute after loading
  std::filesystem::path state = "/var/lib/flisd/state.db";      // absolute after loading
  int workers = 2;
  int backfill_workers = 1;
  RetryPolicy retry;
  Compression compression;
  std::map<std::string, Target> targets;  // by delivery name
  std::optional<Datamarts> datamarts;
  std::optional<MetricsSettings> metrics;
};

// bestilling: one file under orders/ (or generated for datamarts).
struct Order {
  std::string id;
  int municipality = 0;  // kommunekode
  OrderType type = OrderType::monthly;
  Source source = Source::DSA;
  std::string delivery = "flis";
  std::vector<std::string> interfaces;
  // Subscriptions: first and last day delivered (inclusive). end is absent only for generated
  // datamart orders, which run until their entitlement is removed.
  std::optional<date::year_month_day> start, end;
  // One-off: the historical period (inclusive) and how it is chunked.
  std::optional<date::year_month_day> from, to;
  Chunk chunk = Chunk::month;
  OrderStatus status = OrderStatus::active;
  bool generated = false;  // a datamart order made from the entitlements (rule 4)
  Position pos;            // the order file; line 0

  bool is_subscription() const { return type != OrderType::one_off; }
  bool active() const { return status == OrderStatus::active; }
};

struct Config {
  std::filesystem::path dir;  // the configuration folder
  Settings settings;
  Catalogue catalogue;
  Calendar calendar;
  std::vector<Order> orders;  // sorted by id; includes the generated datamart orders
  std::string version;        // short content hash of every file read; stored with each run

  const Order* find_order(std::string_view id) const;
  const Target* target_for(const Order& order) const;
};

// One warehouse partition an order's period needs: <warehouse>/<source>/<interface>/<name>/.
struct Partition {
  Source source;
  std::string interface;
  std::string name;  // "2026-11-25", "2026-W48" or "2026-11"
  // SOURCE/INTERFACE/partition, as shown in `flisctl plan`'s "missing".
  std::string key() const;
};

}  // namespace flis
