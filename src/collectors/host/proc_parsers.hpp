#pragma once
// Pure parsers for the procfs files the host collector reads. No I/O: each takes the file's text and
// throws ParseError for malformed input; the caller adds the file name.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/collectors/parse_error.hpp"

namespace tocsin::collectors::host {

using collectors::ParseError;  // host::ParseError and cgroup::ParseError name the shared one

// The columns of a cpu line in /proc/stat, in the kernel's order.
enum class CpuField : std::size_t {
  user,
  nice,
  system,
  idle,
  iowait,
  irq,
  softirq,
  steal,
  guest,
  guest_nice
};
inline constexpr std::size_t kCpuFields = 10;

struct CpuTicks {
  unsigned cpu = 0;
  std::array<std::uint64_t, kCpuFields> ticks{};  // USER_HZ ticks
  std::size_t fields = 0;                         // columns present (kernels before 2.6.33 print fewer)
  std::uint64_t operator[](CpuField f) const { return ticks[static_cast<std::size_t>(f)]; }
  bool has(CpuField f) const { return static_cast<std::size_t>(f) < fields; }
};

struct ProcStat {
  std::vector<CpuTicks> cpus;  // the "cpuN" lines in file order; the aggregate "cpu" line is not kept
  std::optional<std::uint64_t> boot_time;         // btime, seconds since the epoch
  std::optional<std::uint64_t> context_switches;  // ctxt
  std::optional<std::uint64_t> forks;             // processes
  std::optional<std::uint64_t> interrupts;        // the first column of intr
  std::optional<std::uint64_t> procs_running;
  std::optional<std::uint64_t> procs_blocked;
};

// /proc/stat. Lines it does not know are skipped; at least one cpuN line is required, and cpu numbers
// must increase (the kernel prints online CPUs in order, so a repeat means a corrupt file).
ProcStat parse_proc_stat(std::string_view text);

// The kernel's cpu counters can step backwards (iowait by design, idle on some kernels, all of them
// when a CPU is unplugged and plugged back). Like node_exporter, keeps each column of `current` at
// least at its `previous` value, unless idle dropped by `reset_ticks` or more, which is taken as a
// hot-plug: then the CPU starts afresh. Both vectors are sorted by cpu (as parse_proc_stat gives them).
void keep_cpu_counters_monotonic(const std::vector<CpuTicks>& previous, std::vector<CpuTicks>& current,
                                 std::uint64_t reset_ticks);

struct MeminfoField {
  std::string_view name;  // as printed, without the colon ("Active(anon)"); points into the text
  std::uint64_t value = 0;
  bool kilobytes = false;  // printed with the "kB" unit (which means KiB)
};

// /proc/meminfo: "Name:   value [kB]" lines; blank lines are skipped; at least one field is required.
std::vector<MeminfoField> parse_meminfo(std::string_view text);

// node_exporter's name for a meminfo field: "Active(anon)" in kB -> node_memory_Active_anon_bytes,
// "HugePages_Total" (a count) -> node_memory_HugePages_Total.
std::string meminfo_metric_name(const MeminfoField& field);
// The value in the metric's unit (bytes for kB fields).
inline double meminfo_metric_value(const MeminfoField& field) {
  return field.kilobytes ? static_cast<double>(field.value) * 1024.0 : static_cast<double>(field.value);
}

struct LoadAverage {
  double load1 = 0;
  double load5 = 0;
  double load15 = 0;
};

// /proc/loadavg: "0.52 0.58 0.59 1/389 12345"; only the first three columns are read.
LoadAverage parse_loadavg(std::string_view text);

struct PressureTotals {
  std::optional<std::uint64_t> some_us;  // total= of the "some" line, microseconds
  std::optional<std::uint64_t> full_us;  // total= of the "full" line; cpu has none before Linux 5.13
};

// A file of /proc/pressure. The "some" line is required; lines other than some/full are skipped.
PressureTotals parse_pressure(std::string_view text);

struct MountEntry {
  std::string device;
  std::string mountpoint;
  std::string fstype;
  std::string options;
};

// /proc/mounts (fstab format): device, mount point, type, options, [dump, pass]; the kernel's octal
// escapes (\040 for a space) are decoded. An empty file gives no entries.
std::vector<MountEntry> parse_mounts(std::string_view text);

struct VmstatField {
  std::string_view name;  // points into the text
  double value = 0;
};

// /proc/vmstat: "name value" lines. A line without a value or with a value that is not a number is an
// error (node_exporter fails the collector then); blank lines are skipped.
std::vector<VmstatField> parse_vmstat(std::string_view text);

struct FileNr {
  double allocated = 0;
  double maximum = 0;
};

// /proc/sys/fs/file-nr: "allocated<TAB>unused<TAB>maximum".
FileNr parse_file_nr(std::string_view text);

// A file holding one unsigned decimal number (and a newline), like /proc/sys/kernel/random/poolsize.
std::uint64_t parse_uint_file(std::string_view text);

// os-release(5): KEY=value lines, values unquoted ("..." with \ \" \$ \` escapes, or '...'),
// comments and blank lines skipped. Returns the pairs in file order; a later key replaces an earlier
// one. A line that is not KEY=value is an error.
std::vector<std::pair<std::string, std::string>> parse_os_release(std::string_view text);

// node_exporter's node_os_version: the leading "major[.minor]" of VERSION_ID as a number, or 0.
double os_version_number(std::string_view version_id);

// Blank-separated words of a one-line file (available_clocksource).
std::vector<std::string> parse_words(std::string_view text);

}  // namespace tocsin::collectors::host
