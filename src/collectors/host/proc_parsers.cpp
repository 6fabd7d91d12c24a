#include "collectors/host/proc_parsers.hpp"

#include <charconv>
#include <cmath>

#include "tocsin/core/labels.hpp"

namespace tocsin::collectors::host {

namespace {

// Iterates over the lines of a text with their 1-based numbers.
class Lines {
 public:
  explicit Lines(std::string_view text) : rest_(text) {}
  bool next(std::string_view& line) {
    if (rest_.empty()) return false;
    const std::size_t end = rest_.find('\n');
    line = rest_.substr(0, end);
    rest_ = end == std::string_view::npos ? std::string_view() : rest_.substr(end + 1);
    ++number_;
    return true;
  }
  std::size_t number() const { return number_; }

 private:
  std::string_view rest_;
  std::size_t number_ = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// The next whitespace-separated field of `rest` (empty at the end), consumed.
std::string_view next_field(std::string_view& rest) {
  std::size_t begin = 0;
  while (begin < rest.size() && is_space(rest[begin])) ++begin;
  std::size_t end = begin;
  while (end < rest.size() && !is_space(rest[end])) ++end;
  std::string_view field = rest.substr(begin, end - begin);
  rest.remove_prefix(end);
  return field;
}

// The text quoted for a message, cut short and with control characters shown as '?'.
std::string quoted(std::string_view text) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    out += (c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c);
  }
  if (text.size() > kMax) out += "...";
  out += '"';
  return out;
}

bool to_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

bool to_double(std::string_view text, double& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && std::isfinite(out);
}

std::uint64_t number_field(std::string_view& rest, const Lines& lines, std::string_view key) {
  const std::string_view field = next_field(rest);
  std::uint64_t value = 0;
  if (field.empty()) throw ParseError(lines.number(), std::string(key) + ": missing value");
  if (!to_u64(field, value))
    throw ParseError(lines.number(), std::string(key) + ": invalid number " + quoted(field));
  return value;
}

// Far above any real CPU number (Linux's NR_CPUS tops out at 8192); guards the cast to unsigned.
constexpr std::uint64_t kMaxCpu = 1u << 20;

}  // namespace

ProcStat parse_proc_stat(std::string_view text) {
  ProcStat out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view key = next_field(rest);
    if (key.size() > 3 && key.starts_with("cpu")) {
      std::uint64_t number = 0;
      if (!to_u64(key.substr(3), number) || number > kMaxCpu) {
        throw ParseError(lines.number(), "invalid CPU line " + quoted(key));
      }
      CpuTicks cpu;
      cpu.cpu = static_cast<unsigned>(number);
      if (!out.cpus.empty() && cpu.cpu <= out.cpus.back().cpu) {
        throw ParseError(lines.number(), std::string(key) + " after cpu" +
                                             std::to_string(out.cpus.back().cpu) +
                                             ": CPU lines repeated or out of order");
      }
      for (std::string_view field = next_field(rest); !field.empty(); field = next_field(rest)) {
        if (cpu.fields == kCpuFields) break;  // columns added by kernels newer than this parser
        if (!to_u64(field, cpu.ticks[cpu.fields])) {
          throw ParseError(lines.number(), std::string(key) + ": invalid number " + quoted(field));
        }
        ++cpu.fields;
      }
      if (cpu.fields < 4) {
        throw ParseError(lines.number(), std::string(key) +
                                             ": expected at least 4 columns (user nice system idle), got " +
                                             std::to_string(cpu.fields));
      }
      out.cpus.push_back(cpu);
    } else if (key == "btime") {
      out.boot_time = number_field(rest, lines, key);
    } else if (key == "ctxt") {
      out.context_switches = number_field(rest, lines, key);
    } else if (key == "processes") {
      out.forks = number_field(rest, lines, key);
    } else if (key == "intr") {
      out.interrupts = number_field(rest, lines, key);
    } else if (key == "procs_running") {
      out.procs_running = number_field(rest, lines, key);
    } else if (key == "procs_blocked") {
      out.procs_blocked = number_field(rest, lines, key);
    }
  }
  if (out.cpus.empty()) throw ParseError(0, "no per-CPU lines (cpu0, cpu1, ...)");
  return out;
}

void keep_cpu_counters_monotonic(const std::vector<CpuTicks>& previous, std::vector<CpuTicks>& current,
                                 std::uint64_t reset_ticks) {
  std::size_t j = 0;
  for (CpuTicks& now : current) {
    while (j < previous.size() && previous[j].cpu < now.cpu) ++j;
    if (j == previous.size()) return;
    const CpuTicks& before = previous[j];
    if (before.cpu != now.cpu || before.fields != now.fields) continue;
    const std::uint64_t idle_before = before[CpuField::idle];
    const std::uint64_t idle_now = now[CpuField::idle];
    if (idle_before > idle_now && idle_before - idle_now >= reset_ticks) continue;
    for (std::size_t k = 0; k < now.fields; ++k) {
      if (now.ticks[k] < before.ticks[k]) now.ticks[k] = before.ticks[k];
    }
  }
}

std::vector<MeminfoField> parse_meminfo(std::string_view text) {
  std::vector<MeminfoField> out;
  out.reserve(64);
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view key = next_field(rest);
    if (key.empty()) continue;
    if (key.size() < 2 || key.back() != ':') {
      throw ParseError(lines.number(), "expected \"Name: value [kB]\", got " + quoted(line));
    }
    MeminfoField field;
    field.name = key.substr(0, key.size() - 1);
    const std::string_view value = next_field(rest);
    if (!to_u64(value, field.value)) {
      throw ParseError(lines.number(), std::string(field.name) + ": invalid value " + quoted(value));
    }
    const std::string_view unit = next_field(rest);
    if (unit == "kB") {
      field.kilobytes = true;
    } else if (!unit.empty()) {
      throw ParseError(lines.number(), std::string(field.name) + ": unknown unit " + quoted(unit));
    }
    if (!next_field(rest).empty()) {
      throw ParseError(lines.number(), "expected \"Name: value [kB]\", got " + quoted(line));
    }
    out.push_back(field);
  }
  if (out.empty()) throw ParseError(0, "no fields");
  return out;
}

std::string meminfo_metric_name(const MeminfoField& field) {
  // node_exporter turns "Active(anon)" into "Active_anon"; anything else not allowed in a metric name
  // is replaced by sanitize_metric_name.
  std::string name = "node_memory_";
  for (const char c : field.name) {
    if (c == '(') {
      name += '_';
    } else if (c != ')') {
      name += c;
    }
  }
  if (field.kilobytes) name += "_bytes";
  return sanitize_metric_name(name);
}

LoadAverage parse_loadavg(std::string_view text) {
  const std::string_view line = text.substr(0, text.find('\n'));
  std::string_view rest = line;
  if (next_field(rest).empty()) throw ParseError(0, "empty");
  rest = line;
  LoadAverage out;
  double* targets[] = {&out.load1, &out.load5, &out.load15};
  for (double* target : targets) {
    const std::string_view field = next_field(rest);
    if (field.empty()) throw ParseError(1, "expected 3 load averages, got " + quoted(line));
    if (!to_double(field, *target) || *target < 0) {
      throw ParseError(1, "invalid load average " + quoted(field));
    }
  }
  return out;
}

PressureTotals parse_pressure(std::string_view text) {
  PressureTotals out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view kind = next_field(rest);
    if (kind != "some" && kind != "full") continue;
    std::optional<std::uint64_t> total;
    for (std::string_view field = next_field(rest); !field.empty(); field = next_field(rest)) {
      if (!field.starts_with("total=")) continue;
      std::uint64_t value = 0;
      if (!to_u64(field.substr(6), value)) {
        throw ParseError(lines.number(), std::string(kind) + ": invalid total " + quoted(field));
      }
      total = value;
    }
    if (!total) throw ParseError(lines.number(), std::string(kind) + ": no total= in " + quoted(line));
    (kind == "some" ? out.some_us : out.full_us) = total;
  }
  if (!out.some_us) throw ParseError(0, "no \"some\" line");
  return out;
}

namespace {

bool octal(char c) { return c >= '0' && c <= '7'; }

// Decodes the kernel's \ooo escapes (space, tab, newline and backslash in mount fields).
std::string unescape_mount_field(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && octal(field[i + 1]) && octal(field[i + 2]) &&
        octal(field[i + 3])) {
      out +=
          static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

std::vector<MountEntry> parse_mounts(std::string_view text) {
  std::vector<MountEntry> out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    std::string_view fields[4];
    std::size_t count = 0;
    for (; count < 4; ++count) {
      fields[count] = next_field(rest);
      if (fields[count].empty()) break;
    }
    if (count == 0) continue;
    if (count < 4) {
      throw ParseError(
          lines.number(),
          "expected at least 4 fields (device, mount point, type, options), got " + quoted(line));
    }
    out.push_back({unescape_mount_field(fields[0]), unescape_mount_field(fields[1]),
                   unescape_mount_field(fields[2]), unescape_mount_field(fields[3])});
  }
  return out;
}

}  // namespace tocsin::collectors::host
