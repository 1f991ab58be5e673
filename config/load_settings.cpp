// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisd.yaml (the daemon's settings) and interfaces.yaml (the interface catalogue).
#include <arpa/inet.h>
#include <date/tz.h>

#include <algorithm>
#include <tuple>

#include "config/kommuner.h"
#include "config/load_parts.h"
#include "config/schema.h"

namespace flis::detail {
namespace {

std::vector<std::string_view> names_of_sources() { return {"DSA", "legacy", "DM"}; }

std::filesystem::path resolve(const std::filesystem::path& dir, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_relative()) path = dir / path;
  return std::filesystem::absolute(path).lexically_normal();
}

bool is_postgres_uri(const std::string& s) {
  return s.rfind("postgresql://", 0) == 0 || s.rfind("postgres://", 0) == 0;
}

// user:secret@ before the host, or a password= parameter.
bool uri_has_password(const std::string& uri) {
  size_t start = uri.find("://") + 3;
  size_t end = uri.find_first_of("/?", start);
  std::string authority = uri.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos) return true;
  size_t query = uri.find('?');
  if (query == std::string::npos) return false;
  std::string params = "&" + uri.substr(query + 1);
  return params.find("&password=") != std::string::npos;
}

// A folder template must use {municipality} and may use {order}; any other {...} is a typo that
// would put packages in a wrong folder.
void check_template(YamlReader& r, const Entry& e, const std::string& path) {
  // '..' would let {municipality} or {order} lead out of the folder (and would be resolved away
  // before the targets could see it): never allowed, write the folder as it is meant.
  for (const auto& part : std::filesystem::path(path)) {
    if (part == "..") {
      r.error(e.pos, "path template '" + path + "' has a '..' component; write the folder without '..' "
                     "(an absolute path, or one relative to the configuration folder)");
      return;
    }
  }
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '}') {
      r.error(e.pos, "path template has a '}' without '{'; placeholders are {municipality} and {order}");
      return;
    }
    if (path[i] != '{') continue;
    size_t close = path.find('}', i);
    if (close == std::string::npos) {
      r.error(e.pos, "path template has a '{' without '}'; placeholders are {municipality} and {order}");
      return;
    }
    std::string name = path.substr(i + 1, close - i - 1);
    if (name != "municipality" && name != "order") {
      std::string msg = "unknown placeholder '{" + name + "}' in path; allowed: {municipality}, {order}";
      if (auto c = closest(name, {"municipality", "order"})) msg += " (did you mean '{" + std::string(*c) + "}'?)";
      r.error(e.pos, msg);
    }
    i = close;
  }
  // Without {municipality} every municipality's packages land in one folder; {order} does not
  // separate them, since an order id is not tied to its municipality (K751-X may serve 101).
  if (path.find("{municipality}") == std::string::npos)
    r.error(e.pos, "path template '" + path + "' has no {municipality}; every municipality's packages would "
                   "land in one folder, where each could read the others' data. Put {municipality} in the "
                   "path, e.g. /kommuner/{municipality}/datapakker ({order} alone does not separate them)");
}

// file_mode / dir_mode: an octal string such as "0644". The owner keeps what flisd needs
// (`needed`), and nothing may be writable by others: a package is not for anyone to change.
std::optional<uint32_t> read_mode(YamlReader& r, const Entry& e, std::string_view key, uint32_t needed) {
  auto text = r.scalar(e, key);
  if (!text) return std::nullopt;
  std::string what = "'" + std::string(key) + "' must be an octal mode such as " + (needed == 0600 ? "\"0644\"" : "\"0755\"");
  bool octal = !text->empty() && text->size() <= 4 &&
               text->find_first_not_of("01234567") == std::string::npos;
  if (!octal) {
    r.error(e.pos, what + ", not '" + *text + "'");
    return std::nullopt;
  }
  uint32_t mode = static_cast<uint32_t>(std::stoul(*text, nullptr, 8));
  if (mode > 0777) {
    r.error(e.pos, what + "; setuid, setgid and sticky bits are not allowed");
    return std::nullopt;
  }
  if ((mode & needed) != needed) {
    r.error(e.pos, what + "; the owner (flisd) needs " + (needed == 0600 ? "read and write (0600)" : "read, write and search (0700)"));
    return std::nullopt;
  }
  if (mode & 0002) {
    r.error(e.pos, what + "; writable by others is not allowed");
    return std::nullopt;
  }
  return mode;
}

std::optional<Target> read_target(YamlReader& r, const Entry& te, const std::string& name,
                                  const std::filesystem::path& dir) {
  auto fields = r.mapping(te.value, te.pos, "targets." + name, schema::kTarget);
  if (!fields) return std::nullopt;
  Target t;
  t.name = name;
  t.pos = r.key_pos(te);
  auto type_it = fields->find("type");
  if (type_it == fields->end()) {
    r.error(t.pos, "target '" + name + "' has no type; allowed: sftp, directory");
    return std::nullopt;
  }
  auto type = r.choice(type_it->second, "target type", {"sftp", "directory"});
  if (!type) return std::nullopt;
  t.type = *parse_target_type(*type);
  bool ok = true;
  auto need = [&](std::string_view key) -> const Entry* {
    auto it = fields->find(std::string(key));
    if (it != fields->end()) return &it->second;
    r.error(t.pos, "target '" + name + "' (" + *type + ") needs '" + std::string(key) + "'");
    ok = false;
    return nullptr;
  };
  if (t.type == TargetType::directory) {
    for (auto key : schema::kSftpOnly)
      if (auto it = fields->find(std::string(key)); it != fields->end()) {
        r.error(r.key_pos(it->second), "'" + std::string(key) +
                                           "' is only for sftp targets; a directory target takes type, path, file_mode and dir_mode");
        ok = false;
      }
  } else {
    auto text = [&](std::string_view key) -> std::optional<std::string> {
      const Entry* e = need(key);
      auto v = e ? r.scalar(*e, key) : std::nullopt;
      if (!v) ok = false;
      return v;
    };
    if (auto v = text("host")) t.host = *v;
    if (auto v = text("user")) t.user = *v;
    if (auto v = text("identity")) t.identity = resolve(dir, *v);
    if (auto v = text("known_hosts")) t.known_hosts = resolve(dir, *v);
    if (auto it = fields->find("port"); it != fields->end()) {
      auto port = r.integer(it->second, "port", 1, 65535);
      ok &= port.has_value();
      if (port) t.port = static_cast<int>(*port);
    }
    if (auto it = fields->find("timeout"); it != fields->end()) {
      auto d = r.duration(it->second, "timeout");
      if (d && (d->count() <= 0 || *d > std::chrono::hours(1))) {
        r.error(it->second.pos, "timeout must be between 1s and 1h, e.g. 30s");
        d.reset();
      }
      ok &= d.has_value();
      if (d) t.timeout = *d;
    }
    if (auto it = fields->find("max_sessions"); it != fields->end()) {
      auto n = r.integer(it->second, "max_sessions", 1, 64);
      ok &= n.has_value();
      if (n) t.max_sessions = static_cast<int>(*n);
    }
    if (auto it = fields->find("uploads_per_session"); it != fields->end()) {
      // OpenSSH allows 10 channels per connection unless told otherwise (MaxSessions).
      auto n = r.integer(it->second, "uploads_per_session", 1, 10);
      ok &= n.has_value();
      if (n) t.uploads_per_session = static_cast<int>(*n);
    }
  }
  for (auto [key, needed, field] : {std::tuple{"file_mode", 0600u, &t.file_mode}, {"dir_mode", 0700u, &t.dir_mode}}) {
    auto it = fields->find(key);
    if (it == fields->end()) continue;
    auto mode = read_mode(r, it->second, key, needed);
    ok &= mode.has_value();
    if (mode) *field = *mode;
  }
  if (auto e = need("path")) {
    if (auto p = r.scalar(*e, "path")) {
      check_template(r, *e, *p);
      // A remote path is the server's business; a local one resolves against the config folder.
      t.path = t.type == TargetType::directory ? resolve(dir, *p).string() : *p;
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return t;
}

void read_targets(YamlReader& r, const Entry& e, const std::filesystem::path& dir, Settings& out) {
  auto targets = r.mapping(e.value, e.pos, "targets", {});
  if (!targets) return;
  for (const auto& [name, te] : *targets) {
    if (std::find(schema::kDeliveries.begin(), schema::kDeliveries.end(), name) == schema::kDeliveries.end()) {
      std::string msg = "unknown delivery '" + name + "' under targets; allowed: " + join(schema::kDeliveries);
      if (auto c = closest(name, schema::kDeliveries)) msg += " (did you mean '" + std::string(*c) + "'?)";
      r.error(r.key_pos(te), msg);
      continue;
    }
    if (auto t = read_target(r, te, name, dir)) out.targets[name] = *t;
  }
}

void read_entitlements(YamlReader& r, const Entry& e, const Catalogue& catalogue, bool catalogue_ok,
                       Datamarts& dm) {
  auto codes = r.mapping(e.value, e.pos, "datamarts.entitlements", {});
  if (!codes) return;
  std::vector<std::string_view> datamarts;
  for (const auto& i : catalogue.interfaces)
    if (i.source == Source::DM) datamarts.push_back(i.name);
  for (const auto& [key, ce] : *codes) {
    auto code = r.integer(Entry{ce.key, ce.key, r.key_pos(ce)}, "a kommunekode", 101, 999);
    if (!code) continue;
    if (!kommune_name(static_cast<int>(*code))) {
      r.error(r.key_pos(ce), "'" + key + "' is not a kommunekode; entitlements are keyed by one of the 98 "
                             "municipality codes (e.g. 101 København, 751 Aarhus, 851 Aalborg)");
      continue;
    }
    auto items = r.list(ce, "entitlements." + key);
    if (!items) continue;
    std::vector<std::string> names;
    bool ok = true;
    for (const auto& [name, pos] : *items) {
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        r.error(pos, "datamart '" + name + "' listed twice for " + key + "; list each once");
        ok = false;
      } else if (catalogue_ok && !catalogue.find(Source::DM, name)) {
        std::string msg = "'" + name + "' is not a datamart of the catalogue; allowed: the DM interfaces of "
                          "interfaces.yaml: " + join(datamarts);
        if (auto c = closest(name, datamarts)) msg += " (did you mean '" + std::string(*c) + "'?)";
        r.error(pos, msg);
        ok = false;
      }
      names.push_back(name);
    }
    if (!ok) continue;
    dm.entitlements[static_cast<int>(*code)] = names;
    dm.entitlement_pos[static_cast<int>(*code)] = r.key_pos(ce);
  }
}

// metrics.listen: "ADDRESS:PORT" with an IPv4 address or localhost. A bare port would make the
// HTTP server listen on every interface; that must be written out (0.0.0.0). IPv6 is refused:
// Debian's civetweb, which serves /metrics, is built without it. Port 0 takes a free port, named
// in the log (for tests). Returns what is wrong, empty if nothing.
std::string listen_problem(const std::string& listen) {
  const std::string example = "; write ADDRESS:PORT, e.g. 127.0.0.1:9469 (0.0.0.0:9469 for every interface)";
  if (!listen.empty() && listen.front() == '[')
    return "metrics.listen '" + listen + "': IPv6 addresses cannot be served (the HTTP server flisd uses is built "
           "without IPv6)" + example;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return "metrics.listen '" + listen + "' names no address" + example;
  std::string host = listen.substr(0, colon), port = listen.substr(colon + 1);
  in_addr a4{};
  if (host != "localhost" && inet_pton(AF_INET, host.c_str(), &a4) != 1)
    return "metrics.listen: '" + host + "' is not an IPv4 address (host names are not looked up)" + example;
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    return "metrics.listen: '" + port + "' is not a port (0 to 65535)" + example;
  return {};
}

void read_metrics(YamlReader& r, const Entry& e, Settings& out) {
  auto fields = r.mapping(e.value, e.pos, "metrics", schema::kMetrics);
  if (!fields) return;
  auto it = fields->find("listen");
  if (it == fields->end()) {
    r.error(e.pos, "metrics needs 'listen', the address and port of /metrics, e.g. 127.0.0.1:9469");
    return;
  }
  auto listen = r.scalar(it->second, "metrics.listen");
  if (!listen) return;
  if (std::string problem = listen_problem(*listen); !problem.empty()) {
    r.error(it->second.pos, problem);
    return;
  }
  // civetweb takes IP addresses only.
  out.metrics = MetricsSettings{listen->rfind("localhost:", 0) == 0 ? "127.0.0.1" + listen->substr(9) : *listen};
}

void read_datamarts(YamlReader& r, const Entry& e, const Catalogue& catalogue, bool catalogue_ok, Settings& out) {
  auto fields = r.mapping(e.value, e.pos, "datamarts", schema::kDatamarts);
  if (!fields) return;
  Datamarts dm;
  dm.pos = r.key_pos(e);
  if (auto it = fields->find("start"); it == fields->end())
    r.error(dm.pos, "datamarts needs 'start', the first data month delivered (YYYY-MM)");
  else if (auto m = r.month(it->second, "datamarts.start"); m && *m < kEarliestDate.year() / kEarliestDate.month())
    r.error(it->second.pos, "datamarts.start " + format_month(*m) + " is before " + format_month(kEarliestDate.year() / kEarliestDate.month()) +
                                ", and FLIS holds no data from before 2000; is the year mistyped?");
  else if (m)
    dm.start = *m;
  if (auto it = fields->find("delivery"); it != fields->end()) {
    if (auto d = r.choice(it->second, "delivery", schema::kDeliveries)) {
      dm.delivery = *d;
      if (!out.targets.count(*d))
        r.error(it->second.pos, "no target for delivery '" + *d + "'; add targets." + *d + " to flisd.yaml");
    }
  } else if (!out.targets.count(dm.delivery)) {
    r.error(dm.pos, "no target for the datamarts' delivery 'flis'; add targets.flis or set datamarts.delivery");
  }
  if (auto it = fields->find("entitlements"); it == fields->end())
    r.error(dm.pos, "datamarts needs 'entitlements': kommunekode -> list of DM interfaces");
  else
    read_entitlements(r, it->second, catalogue, catalogue_ok, dm);
  out.datamarts = dm;
}

}  // namespace

void read_catalogue(YamlReader& r, const YAML::Node& root, Catalogue& out) {
  auto top = r.mapping(root, r.whole_file(), "interfaces.yaml", schema::kCatalogue);
  if (!top) return;
  auto sources_it = top->find("sources");
  if (sources_it == top->end()) {
    r.error(r.at(root), "interfaces.yaml needs 'sources': per source (DSA, legacy, DM) its interfaces");
    return;
  }
  auto sources = r.mapping(sources_it->second.value, sources_it->second.pos, "sources", {});
  if (!sources) return;
  for (const auto& [source_name, se] : *sources) {
    auto source = parse_source(source_name);
    if (!source) {
      std::string msg = "unknown source '" + source_name + "'; allowed: DSA, legacy, DM";
      if (auto c = closest(source_name, names_of_sources())) msg += " (did you mean '" + std::string(*c) + "'?)";
      r.error(r.key_pos(se), msg);
      continue;
    }
    auto interfaces = r.mapping(se.value, se.pos, "sources." + source_name, {});
    if (!interfaces) continue;
    for (const auto& [name, ie] : *interfaces) {
      if (!is_safe_name(name)) {
        r.error(r.key_pos(ie), "interface name '" + name + "' is not allowed; names are letters, digits, '.', "
                               "'_' and '-' (starting with a letter or digit, at most 64, no '..')");
        continue;
      }
      auto fields = r.mapping(ie.value, ie.pos, "interface " + name, schema::kInterface);
      if (!fields) continue;
      Interface i;
      i.name = name;
      i.source = *source;
      i.pos = r.key_pos(ie);
      auto sys = fields->find("system");
      auto freq = fields->find("frequency");
      if (sys == fields->end()) r.error(i.pos, "interface " + name + " needs 'system', its fagsystem (e.g. CPR)");
      if (freq == fields->end())
        r.error(i.pos, "interface " + name + " needs 'frequency'; allowed: daily, weekly, monthly");
      if (sys == fields->end() || freq == fields->end()) continue;
      auto system = r.scalar(sys->second, "system");
      auto f = r.choice(freq->second, "frequency", {"daily", "weekly", "monthly"});
      if (!system || !f) continue;
      if (!is_safe_name(*system)) {
        r.error(sys->second.pos, "fagsystem name '" + *system + "' is not allowed; use letters, digits, '.', '_', '-'");
        continue;
      }
      i.system = *system;
      i.frequency = *parse_frequency(*f);
      if (i.source == Source::DM && i.frequency != Frequency::monthly) {
        r.error(freq->second.pos, "datamart " + name + " has frequency " + *f +
                                      "; datamarts are made once a month, so DM interfaces must be monthly");
        continue;
      }
      out.interfaces.push_back(i);
    }
  }
}

void read_settings(YamlReader& r, const YAML::Node& root, const std::filesystem::path& dir,
                   const Catalogue& catalogue, bool catalogue_ok, Settings& out) {
  auto f = r.mapping(root, r.whole_file(), "flisd.yaml", schema::kSettings);
  if (!f) return;
  auto get = [&](const char* key) -> const Entry* {
    auto it = f->find(key);
    return it == f->end() ? nullptr : &it->second;
  };
  if (auto e = get("timezone")) {
    if (auto tz = r.scalar(*e, "timezone")) {
      try {
        date::locate_zone(*tz);
        out.timezone = *tz;
      } catch (const std::exception&) {
        r.error(e->pos, "unknown time zone '" + *tz + "'; use a name of the tz database, e.g. Europe/Copenhagen");
      }
    }
  }
  if (auto e = get("warehouse"); e && r.scalar(*e, "warehouse")) out.warehouse = resolve(dir, e->value.Scalar());
  else out.warehouse = resolve(dir, out.warehouse.string());
  if (auto e = get("state"); e && r.scalar(*e, "state")) {
    std::string state = e->value.Scalar();
    if (is_postgres_uri(state)) {
      // A PostgreSQL database shared by several hosts: kept as written, but never with a secret
      // in a file that is deployed from git to every node.
      if (uri_has_password(state))
        r.error(e->pos, "the state URI holds a password; leave it out and use peer authentication over the unix "
                        "socket, a PGPASSFILE, or a systemd credential (LoadCredential=) that sets PGPASSFILE");
      out.state = state;
    } else {
      out.state = resolve(dir, state);
    }
  } else {
    out.state = resolve(dir, out.state.string());
  }
  if (auto e = get("workers"))
    if (auto v = r.integer(*e, "workers", 1, 64)) out.workers = static_cast<int>(*v);
  if (auto e = get("backfill_workers")) {
    if (auto v = r.integer(*e, "backfill_workers", 0, 64)) {
      out.backfill_workers = static_cast<int>(*v);
      if (*v > out.workers)
        r.error(e->pos, "backfill_workers is " + std::to_string(*v) + " but workers is " +
                            std::to_string(out.workers) + "; allowed: 0 to workers (one-off chunks share the workers)");
    }
  } else if (out.backfill_workers > out.workers) {
    out.backfill_workers = out.workers;
  }
  if (auto e = get("retry")) {
    if (auto rf = r.mapping(e->value, e->pos, "retry", schema::kRetry)) {
      if (auto it = rf->find("attempts"); it != rf->end())
        if (auto v = r.integer(it->second, "retry.attempts", 1, 1000)) out.retry.attempts = static_cast<int>(*v);
      const Entry* initial = nullptr;
      if (auto it = rf->find("initial"); it != rf->end()) {
        initial = &it->second;
        if (auto d = r.duration(it->second, "retry.initial")) {
          if (d->count() <= 0) r.error(it->second.pos, "retry.initial is 0; it must be more than 0, e.g. 60s");
          else out.retry.initial = *d;
        }
      }
      if (auto it = rf->find("max"); it != rf->end())
        if (auto d = r.duration(it->second, "retry.max")) out.retry.max = *d;
      if (out.retry.initial > out.retry.max)
        r.error(initial ? initial->pos : e->pos,
                "retry.initial is longer than retry.max; the first wait must be at most the longest wait");
    }
  }
  if (auto e = get("compression")) {
    if (auto cf = r.mapping(e->value, e->pos, "compression", schema::kCompression)) {
      if (auto it = cf->find("level"); it != cf->end())
        if (auto v = r.integer(it->second, "compression.level", 1, 19)) out.compression.level = static_cast<int>(*v);
      if (auto it = cf->find("threads"); it != cf->end())
        if (auto v = r.integer(it->second, "compression.threads", 0, 256))
          out.compression.threads = static_cast<int>(*v);
    }
  }
  if (auto e = get("targets")) read_targets(r, *e, dir, out);
  else r.error(r.at(root), "flisd.yaml needs 'targets': one per delivery (flis, serviceplatformen) that is used");
  if (auto e = get("datamarts")) read_datamarts(r, *e, catalogue, catalogue_ok, out);
  if (auto e = get("metrics")) read_metrics(r, *e, out);
}

}  // namespace flis::detail
