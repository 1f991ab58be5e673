// SPDX-FileCopyrightText: 2026 The flisd authors
// SPDX-License-Identifier: MPL-2.0
// flisctl copy ID NEW-ID [--start D] [--end D] [--from D] [--to D] (the FLIS guide's "Kopier"):
// writes orders/NEW-ID.yaml with municipality, type, source, delivery, interfaces (and chunk) of
// ID, the dates given (the original's where not given) and status active.
//
// The new file is validated with the whole tree before anything is written, and is written under
// a hidden temporary name, then linked to its final name: link() refuses to replace a file, so a
// file that appeared meanwhile is never overwritten, and the loader never sees half a file.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "config/loader.h"
#include "config/yaml_reader.h"
#include "ctl/ctl_commands.h"

namespace flis {
namespace {

namespace fs = std::filesystem;

struct CopyArgs {
  std::string id, new_id;
  std::string start, end, from, to;  // empty = the original's
};

void print_diagnostics(const Diagnostics& diags, const std::string& dir) {
  for (Diagnostic d : diags.sorted()) {
    if (dir != "." && !d.pos.file.empty() && d.pos.file.front() != '/' && d.pos.file != dir)
      d.pos.file = (fs::path(dir) / d.pos.file).lexically_normal().string();
    std::fprintf(stderr, "%s\n", d.str().c_str());
  }
}

// A date option as written, or the original's; "" when neither.
std::string date_or(const std::string& given, const std::optional<date::year_month_day>& original) {
  if (!given.empty()) return given;
  return original ? format_date(*original) : "";
}

std::string order_yaml(const Order& o, const CopyArgs& a) {
  std::string y = "# Copied from " + o.id + " by flisctl copy.\n";
  y += "id: " + a.new_id + "\n";
  y += "municipality: " + std::to_string(o.municipality) + "\n";
  y += "type: " + std::string(to_string(o.type)) + "\n";
  y += "source: " + std::string(to_string(o.source)) + "\n";
  y += "delivery: " + o.delivery + "\n";
  y += "interfaces: [";
  for (size_t i = 0; i < o.interfaces.size(); ++i) y += (i ? ", " : "") + o.interfaces[i];
  y += "]\n";
  auto line = [&y](const char* key, const std::string& value) {
    if (!value.empty()) y += std::string(key) + ": " + value + "\n";
  };
  if (o.is_subscription()) {
    line("start", date_or(a.start, o.start));
    line("end", date_or(a.end, o.end));
    line("from", a.from);  // refused by validation, with its reason
    line("to", a.to);
  } else {
    line("from", date_or(a.from, o.from));
    line("to", date_or(a.to, o.to));
    line("chunk", std::string(to_string(o.chunk)));
    line("start", a.start);
    line("end", a.end);
  }
  y += "status: active\n";
  return y;
}

// Writes `text` to `final_path` only if no such file exists; see the file comment.
bool write_new_file(const fs::path& final_path, const std::string& text, std::string& error) {
  fs::path tmp = final_path.parent_path() / ("." + final_path.filename().string() + ".tmp");
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot create " + tmp.string() + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (ok && ::link(tmp.c_str(), final_path.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  ::unlink(tmp.c_str());
  if (!ok) error = "cannot write " + final_path.string() + ": " + std::strerror(saved);
  return ok;
}

int run_copy(const std::string& dir, const CopyArgs& a) {
  for (const auto& [name, value] : {std::pair{"--start", a.start}, {"--end", a.end}, {"--from", a.from}, {"--to", a.to}})
    if (!value.empty() && !parse_date(value)) {
      std::fprintf(stderr, "flisctl copy: %s '%s' is not a real date; write YYYY-MM-DD\n", name, value.c_str());
      return 2;
    }
  if (!is_safe_name(a.new_id)) {
    std::fprintf(stderr, "flisctl copy: '%s' is not allowed as an id; an id is 1-64 letters, digits, '.', '_' "
                         "and '-', starting with a letter or digit, never containing '..'\n", a.new_id.c_str());
    return 1;
  }
  LoadResult current = load_config(dir);
  if (!current.config) {
    print_diagnostics(current.diagnostics, dir);
    std::fprintf(stderr, "flisctl copy: the configuration in %s has errors; fix them first (flisctl validate)\n",
                 dir.c_str());
    return 1;
  }
  const Order* original = current.config->find_order(a.id);
  if (!original) {
    std::fprintf(stderr, "flisctl copy: no order '%s' in %s\n", a.id.c_str(), dir.c_str());
    return 1;
  }
  if (original->generated) {
    std::fprintf(stderr, "flisctl copy: %s is a datamart order that flisd generates from datamarts.entitlements in "
                         "flisd.yaml (rule 4); datamarts cannot be ordered, so it cannot be copied\n", a.id.c_str());
    return 1;
  }
  const std::string rel = "orders/" + a.new_id + ".yaml";
  if (const Order* taken = current.config->find_order(a.new_id)) {
    std::fprintf(stderr, "flisctl copy: order '%s' already exists (%s); choose a new id\n", a.new_id.c_str(),
                 taken->pos.file.c_str());
    return 1;
  }
  const fs::path target = fs::path(dir) / rel;
  std::error_code ec;
  if (fs::exists(target, ec)) {
    std::fprintf(stderr, "flisctl copy: %s already exists; choose a new id\n", target.c_str());
    return 1;
  }
  const std::string text = order_yaml(*original, a);
  Diagnostics read;
  ConfigFiles files = read_config_files(dir, read);
  files[rel] = text;
  LoadResult next = load_config_files(dir, files, nullptr, read);
  if (!next.config || next.diagnostics.has_errors()) {
    print_diagnostics(next.diagnostics, dir);
    std::fprintf(stderr, "flisctl copy: %s would not validate; nothing written\n", target.c_str());
    return 1;
  }
  Diagnostics mine;  // warnings about the new order (rule 6 carries over from the original)
  for (const auto& d : next.diagnostics.items())
    if (d.pos.file == rel) mine.add(d);
  print_diagnostics(mine, dir);
  fs::create_directories(target.parent_path(), ec);
  std::string error;
  if (!write_new_file(target, text, error)) {
    std::fprintf(stderr, "flisctl copy: %s\n", error.c_str());
    return 1;
  }
  std::printf("wrote %s (copy of %s)\n", target.c_str(), a.id.c_str());
  return 0;
}

}  // namespace

void register_copy(CLI::App& app, const CommonOptions& common, int& result) {
  auto args = std::make_shared<CopyArgs>();
  auto* cmd = app.add_subcommand("copy", "write orders/NEW-ID.yaml from an existing order (Kopier)");
  cmd->add_option("ID", args->id, "the order to copy")->required();
  cmd->add_option("NEW-ID", args->new_id, "the id of the new order")->required();
  cmd->add_option("--start", args->start, "subscription: first day delivered (YYYY-MM-DD)");
  cmd->add_option("--end", args->end, "subscription: end date (YYYY-MM-DD)");
  cmd->add_option("--from", args->from, "one-off: first day of the period (YYYY-MM-DD)");
  cmd->add_option("--to", args->to, "one-off: last day of the period (YYYY-MM-DD)");
  cmd->callback([&common, &result, args] { result = run_copy(common.config_dir, *args); });
}

}  // namespace flis
