#include "collectors/cgroup/parsers.hpp"

#include <fnmatch.h>

#include <charconv>

namespace tocsin::collectors::cgroup {

namespace {

std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 64;  // a huge or binary field must not make a huge message
  std::string out = "\"";
  out += s.substr(0, kMax);
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool to_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Calls `fn(line_number, line)` for each line of `text`, the last one with or without a newline.
template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    fn(++number, line);
  }
}

// Splits at the first run of spaces: "key value" -> key, value.
bool split_pair(std::string_view line, std::string_view& key, std::string_view& value) {
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return false;
  key = line.substr(0, space);
  value = trim(line.substr(space + 1));
  return !key.empty();
}

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool segment_match(std::string_view glob, std::string_view name) {
  // fnmatch wants NUL-terminated strings; segments are short, so the copies are cheap.
  const std::string g(glob);
  const std::string n(name);
  return ::fnmatch(g.c_str(), n.c_str(), FNM_PERIOD) == 0;
}

using Segments = std::vector<std::string_view>;

bool match_from(const Segments& g, std::size_t gi, const Segments& p, std::size_t pi) {
  if (gi == g.size()) return pi == p.size();
  if (g[gi] == "**") {
    for (std::size_t k = pi; k <= p.size(); ++k) {
      if (match_from(g, gi + 1, p, k)) return true;
    }
    return false;
  }
  return pi < p.size() && segment_match(g[gi], p[pi]) && match_from(g, gi + 1, p, pi + 1);
}

// Whether p (a directory's segments) can be extended by one or more segments to match g[gi..].
bool descend_from(const Segments& g, std::size_t gi, const Segments& p, std::size_t pi) {
  if (gi == g.size()) return false;
  if (pi == p.size()) return true;
  if (g[gi] == "**") return descend_from(g, gi + 1, p, pi) || descend_from(g, gi, p, pi + 1);
  return segment_match(g[gi], p[pi]) && descend_from(g, gi + 1, p, pi + 1);
}

}  // namespace

std::vector<KeyValue> parse_flat_keyed(std::string_view text) {
  std::vector<KeyValue> out;
  parse_flat_keyed(text, out);
  return out;
}

void parse_flat_keyed(std::string_view text, std::vector<KeyValue>& out) {
  out.clear();
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    if (trim(line).empty()) return;
    KeyValue kv;
    std::string_view value;
    if (!split_pair(line, kv.key, value)) {
      throw ParseError(number, "expected \"key value\", got " + quoted(line));
    }
    if (!to_u64(value, kv.value)) {
      throw ParseError(number, std::string(kv.key.substr(0, 64)) + ": invalid value " + quoted(value));
    }
    out.push_back(kv);
  });
}

std::optional<std::uint64_t> find(const std::vector<KeyValue>& keys, std::string_view key) {
  for (const KeyValue& kv : keys) {
    if (kv.key == key) return kv.value;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_single_value(std::string_view text) {
  const std::string_view value = trim(text);
  if (value.empty()) throw ParseError(0, "empty file");
  if (value == "max") return std::nullopt;
  std::uint64_t out = 0;
  if (!to_u64(value, out)) throw ParseError(1, "expected a number or \"max\", got " + quoted(value));
  return out;
}

std::int64_t parse_signed_value(std::string_view text) {
  const std::string_view value = trim(text);
  if (value.empty()) throw ParseError(0, "empty file");
  std::int64_t out = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size()) {
    throw ParseError(1, "expected a number, got " + quoted(value));
  }
  return out;
}

CpuMax parse_cpu_max(std::string_view text) {
  const std::string_view line = trim(text);
  if (line.empty()) throw ParseError(0, "empty file");
  std::string_view quota;
  std::string_view period;
  CpuMax out;
  if (!split_pair(line, quota, period) || !to_u64(period, out.period_us)) {
    throw ParseError(1, "expected \"$MAX $PERIOD\", got " + quoted(line));
  }
  if (quota != "max") {
    std::uint64_t q = 0;
    if (!to_u64(quota, q)) throw ParseError(1, "invalid quota " + quoted(quota));
    out.quota_us = q;
  }
  return out;
}

PressureTotals parse_pressure(std::string_view text) {
  PressureTotals out;
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    std::optional<std::uint64_t>* target = nullptr;
    if (line.starts_with("some ")) {
      target = &out.some_us;
    } else if (line.starts_with("full ")) {
      target = &out.full_us;
    } else {
      return;
    }
    const std::size_t at = line.find(" total=");
    if (at == std::string_view::npos) throw ParseError(number, "no total= in " + quoted(line));
    std::string_view value = line.substr(at + 7);
    value = value.substr(0, value.find(' '));
    std::uint64_t total = 0;
    if (!to_u64(trim(value), total)) throw ParseError(number, "invalid total " + quoted(value));
    *target = total;
  });
  if (!out.some_us) throw ParseError(0, "no \"some\" line");
  return out;
}

std::vector<IoDevice> parse_io_stat(std::string_view text) {
  std::vector<IoDevice> out;
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    line = trim(line);
    if (line.empty()) return;
    const std::size_t space = line.find(' ');
    const std::string_view device = line.substr(0, space);
    const std::size_t colon = device.find(':');
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    if (colon == std::string_view::npos || !to_u64(device.substr(0, colon), major) ||
        !to_u64(device.substr(colon + 1), minor) || major > 0xffffffffu || minor > 0xffffffffu) {
      throw ParseError(number, "expected a MAJ:MIN device, got " + quoted(device));
    }
    IoDevice dev;
    dev.major = static_cast<unsigned>(major);
    dev.minor = static_cast<unsigned>(minor);
    std::string_view rest = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    while (!rest.empty()) {
      const std::size_t end = rest.find(' ');
      const std::string_view field = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      if (field.empty()) continue;
      const std::size_t eq = field.find('=');
      if (eq == std::string_view::npos) throw ParseError(number, "expected key=value, got " + quoted(field));
      const std::string_view key = field.substr(0, eq);
      std::optional<std::uint64_t>* target = key == "rbytes"   ? &dev.rbytes
                                             : key == "wbytes" ? &dev.wbytes
                                             : key == "rios"   ? &dev.rios
                                             : key == "wios"   ? &dev.wios
                                                               : nullptr;
      if (target == nullptr) continue;  // dbytes, dios, io.cost's "cost.vrate=100.00", ...
      std::uint64_t value = 0;
      if (!to_u64(field.substr(eq + 1), value)) {
        throw ParseError(number, std::string(key) + ": invalid value " + quoted(field.substr(eq + 1)));
      }
      *target = value;
    }
    out.push_back(dev);
  });
  return out;
}

const std::string* ProcCgroup::v1_path(std::string_view controller) const {
  for (const V1& entry : v1) {
    if (entry.controller == controller) return &entry.path;
  }
  return nullptr;
}

ProcCgroup parse_proc_cgroup(std::string_view text) {
  ProcCgroup out;
  for_each_line(text, [&](std::size_t number, std::string_view line) {
    if (trim(line).empty()) return;
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) {
      throw ParseError(number, "expected \"hierarchy-ID:controllers:path\", got " + quoted(line));
    }
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (path.empty() || path.front() != '/')
      throw ParseError(number, "not an absolute path: " + quoted(path));
    if (line.substr(0, first) == "0" && controllers.empty()) {
      out.unified = std::string(path);
      return;
    }
    std::string_view rest = controllers;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      out.v1.push_back({std::string(rest.substr(0, comma)), std::string(path)});
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  });
  if (!out.unified && out.v1.empty()) throw ParseError(0, "no cgroup lines");
  return out;
}

std::optional<std::string> check_glob(std::string_view glob) {
  if (glob.empty()) return "an empty pattern (the root cgroup is reported with self: true)";
  for (std::string_view segment : segments(glob)) {
    if (segment.empty()) return "an empty path segment in \"" + std::string(glob) + "\"";
    if (segment == "..") return "\"..\" would leave the cgroup tree: \"" + std::string(glob) + "\"";
    const std::size_t open = segment.find('[');
    if (open != std::string_view::npos && segment.find(']', open + 1) == std::string_view::npos) {
      return "an unterminated \"[\" in \"" + std::string(glob) + "\"";
    }
  }
  return std::nullopt;
}

bool glob_match(std::string_view glob, std::string_view path) {
  return match_from(segments(glob), 0, segments(path), 0);
}

bool glob_may_descend(std::string_view glob, std::string_view prefix) {
  return descend_from(segments(glob), 0, segments(prefix), 0);
}

std::string_view cgroup_name(std::string_view id) {
  while (id.size() > 1 && id.back() == '/') id.remove_suffix(1);
  if (id.empty() || id == "/") return "/";
  const std::size_t slash = id.rfind('/');
  return slash == std::string_view::npos ? id : id.substr(slash + 1);
}

}  // namespace tocsin::collectors::cgroup
