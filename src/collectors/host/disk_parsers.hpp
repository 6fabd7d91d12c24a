#pragma once
// Pure parsers for block device statistics: /proc/diskstats and udev's database files
// (/run/udev/data/b<major>:<minor>). No I/O; ParseError names the 1-based line.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/collectors/parse_error.hpp"

namespace tocsin::collectors::host {

using collectors::ParseError;

// The statistics columns after major, minor and name, in the kernel's order (Documentation/admin-guide/
// iostats.rst): 11 up to Linux 4.17, 15 with discards (4.18), 17 with flushes (5.5).
inline constexpr std::size_t kDiskStatColumns = 17;

struct DiskStats {
  std::uint32_t major = 0;
  std::uint32_t minor = 0;
  std::string_view device;  // points into the text
  std::array<std::uint64_t, kDiskStatColumns> values{};
  std::size_t columns = 0;  // statistics columns present: 11, 15 or 17
};

// /proc/diskstats. Lines of fewer than 11 statistics columns are skipped, as procfs skips them (the
// partition lines of Linux 2.6 have 4); a column that is not a number is an error. Columns past 17
// (newer kernels) are ignored.
std::vector<DiskStats> parse_diskstats(std::string_view text);

// The "E:KEY=value" properties of a udev database file, in file order; other lines are skipped.
std::vector<std::pair<std::string, std::string>> parse_udev_properties(std::string_view text);

}  // namespace tocsin::collectors::host
