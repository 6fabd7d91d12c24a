#include "collectors/host/proc_parsers.hpp"

#include <charconv>
#include <cmath>

#include "collectors/host/text.hpp"
#include "tocsin/core/labels.hpp"

namespace tocsin::collectors::host {

namespace {

using text::Lines;
using text::next_field;
using text::quoted;
using text::to_double;
using text::to_u64;

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

std::vector<VmstatField> parse_vmstat(std::string_view text) {
  std::vector<VmstatField> out;
  out.reserve(192);
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view name = next_field(rest);
    if (name.empty()) continue;
    const std::string_view value = next_field(rest);
    if (value.empty()) throw ParseError(lines.number(), std::string(name) + ": missing value");
    VmstatField field{name, 0};
    if (!to_double(value, field.value)) {
      throw ParseError(lines.number(), std::string(name) + ": invalid number " + quoted(value));
    }
    out.push_back(field);
  }
  if (out.empty()) throw ParseError(0, "no fields");
  return out;
}

FileNr parse_file_nr(std::string_view text) {
  std::string_view rest = text::trim(text);
  std::string_view parts[3];
  for (auto& part : parts) {
    part = next_field(rest);
    if (part.empty()) {
      throw ParseError(1, "expected \"allocated unused maximum\", got " + quoted(text::trim(text)));
    }
  }
  FileNr out;
  if (!to_double(parts[0], out.allocated)) throw ParseError(1, "invalid allocated count " + quoted(parts[0]));
  if (!to_double(parts[2], out.maximum)) throw ParseError(1, "invalid maximum " + quoted(parts[2]));
  return out;
}

std::uint64_t parse_uint_file(std::string_view text) {
  const std::string_view value = text::trim(text);
  std::uint64_t out = 0;
  if (value.empty()) throw ParseError(0, "empty");
  if (!to_u64(value, out)) throw ParseError(1, "invalid number " + quoted(value));
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_os_release(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    line = text::trim(line);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      throw ParseError(lines.number(), "expected KEY=value, got " + quoted(line));
    }
    const std::string_view key = line.substr(0, eq);
    for (const char c : key) {
      if (!(c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
        throw ParseError(lines.number(), "invalid key " + quoted(key));
      }
    }
    std::string_view raw = line.substr(eq + 1);
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char quote = raw.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < raw.size()) {
          const char n = raw[i + 1];
          if (n == '\\' || n == '"' || n == '$' || n == '`') {
            value += n;
            ++i;
            continue;
          }
        }
        value += c;
      }
      if (!closed) throw ParseError(lines.number(), std::string(key) + ": unterminated quote");
      if (!text::trim(raw.substr(i + 1)).empty()) {
        throw ParseError(lines.number(), std::string(key) + ": text after the closing quote");
      }
    } else {
      value = std::string(raw);
    }
    bool replaced = false;
    for (auto& [k, v] : out) {
      if (k == key) {
        v = value;
        replaced = true;
      }
    }
    if (!replaced) out.emplace_back(std::string(key), std::move(value));
  }
  return out;
}

double os_version_number(std::string_view version_id) {
  // node_exporter: the match of ^[0-9]+\.?[0-9]* parsed as a float.
  std::size_t end = 0;
  while (end < version_id.size() && version_id[end] >= '0' && version_id[end] <= '9') ++end;
  if (end == 0) return 0;
  if (end < version_id.size() && version_id[end] == '.') {
    ++end;
    while (end < version_id.size() && version_id[end] >= '0' && version_id[end] <= '9') ++end;
  }
  std::string_view number = version_id.substr(0, end);
  if (number.back() == '.') number.remove_suffix(1);
  double out = 0;
  return to_double(number, out) ? out : 0;
}

std::vector<std::string> parse_words(std::string_view text) {
  std::vector<std::string> out;
  std::string_view rest = text;
  for (std::string_view word = next_field(rest); !word.empty(); word = next_field(rest)) {
    while (!word.empty() && word.back() == '\n') word.remove_suffix(1);
    std::size_t nl = word.find('\n');
    while (nl != std::string_view::npos) {  // words split across lines
      if (nl > 0) out.emplace_back(word.substr(0, nl));
      word.remove_prefix(nl + 1);
      nl = word.find('\n');
    }
    if (!word.empty()) out.emplace_back(word);
  }
  return out;
}

}  // namespace tocsin::collectors::host
