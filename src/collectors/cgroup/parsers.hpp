#pragma once
// Pure parsers for the cgroupfs files the cgroup collector reads, in the kernel's formats
// (Documentation/admin-guide/cgroup-v2.rst, "Interface Files"; cgroup-v1/*.rst), and the glob matcher
// for cgroup paths. No I/O: each takes the file's text and throws ParseError for malformed input; the
// caller adds the file name.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/collectors/parse_error.hpp"

namespace tocsin::collectors::cgroup {

using collectors::ParseError;  // host::ParseError and cgroup::ParseError name the shared one

struct KeyValue {
  std::string_view key;  // points into the text
  std::uint64_t value = 0;
};

// A flat keyed file: "key value" lines (cpu.stat, memory.stat, memory.events, cpuacct.stat,
// memory.oom_control). Blank lines are skipped; values must be unsigned integers. An empty file is
// valid (no keys): the kernel prints nothing for some of them in the root cgroup.
std::vector<KeyValue> parse_flat_keyed(std::string_view text);
// The same into `out` (cleared first), whose storage a caller reading many files reuses.
void parse_flat_keyed(std::string_view text, std::vector<KeyValue>& out);
// The value of `key` in a parsed flat keyed file.
std::optional<std::uint64_t> find(const std::vector<KeyValue>& keys, std::string_view key);

// A single value (memory.current, memory.max, pids.max, memory.limit_in_bytes, cpuacct.usage, ...):
// an unsigned integer, or "max" (returned as nullopt: no limit). A trailing newline is allowed.
std::optional<std::uint64_t> parse_single_value(std::string_view text);
// A signed single value (v1's cpu.cfs_quota_us, -1 for no quota).
std::int64_t parse_signed_value(std::string_view text);

struct CpuMax {
  std::optional<std::uint64_t> quota_us;  // nullopt: "max", no quota
  std::uint64_t period_us = 0;
};
// cpu.max: "$MAX $PERIOD", e.g. "max 100000" or "50000 100000".
CpuMax parse_cpu_max(std::string_view text);

struct PressureTotals {
  std::optional<std::uint64_t> some_us;  // total= of the "some" line, microseconds
  std::optional<std::uint64_t> full_us;  // total= of the "full" line
};
// A PSI file ({cpu,memory,io}.pressure): "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and the
// same for "full". The "some" line is required.
PressureTotals parse_pressure(std::string_view text);

struct IoDevice {
  unsigned major = 0;
  unsigned minor = 0;
  std::optional<std::uint64_t> rbytes, wbytes, rios, wios;  // absent keys stay empty
};
// io.stat: one line per device, "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0". Keys it does
// not know are skipped. An empty file (no I/O yet) gives no devices.
std::vector<IoDevice> parse_io_stat(std::string_view text);

struct ProcCgroup {
  std::optional<std::string> unified;  // the "0::/path" line (cgroup v2 or the hybrid's unified part)
  struct V1 {
    std::string controller;  // one per controller of a line: "cpu,cpuacct" gives two entries
    std::string path;
  };
  std::vector<V1> v1;  // named hierarchies keep their "name=" prefix ("name=systemd")
  const std::string* v1_path(std::string_view controller) const;
};
// /proc/<pid>/cgroup: "hierarchy-ID:controller-list:cgroup-path" lines.
ProcCgroup parse_proc_cgroup(std::string_view text);

// Why a glob pattern cannot be used (an empty pattern, an empty segment, a ".." segment, an
// unterminated "["), or nullopt when it is fine.
std::optional<std::string> check_glob(std::string_view glob);

// Whether the relative path `path` ("system.slice/nginx.service", "" for the root) matches `glob`
// segment by segment: `*`, `?` and `[...]` match within a segment (fnmatch(3) rules), a `**` segment
// matches any number of segments, including none.
bool glob_match(std::string_view glob, std::string_view path);
// Whether some path below `prefix` (a directory's relative path) might match `glob`: lets the walk
// skip subtrees that cannot match.
bool glob_may_descend(std::string_view glob, std::string_view prefix);

// The `name` label of a cgroup: its last path segment (the systemd unit for system.slice/nginx.service,
// the scope for docker-<id>.scope), "/" for the root.
std::string_view cgroup_name(std::string_view id);

}  // namespace tocsin::collectors::cgroup
