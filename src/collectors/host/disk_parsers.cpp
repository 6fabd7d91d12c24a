#include "collectors/host/disk_parsers.hpp"

#include "collectors/host/text.hpp"

namespace tocsin::collectors::host {

using text::Lines;
using text::next_field;
using text::quoted;
using text::to_u64;

std::vector<DiskStats> parse_diskstats(std::string_view text) {
  constexpr std::size_t kMinColumns = 11;
  std::vector<DiskStats> out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    std::string_view rest = line;
    const std::string_view major = next_field(rest);
    if (major.empty()) continue;
    const std::string_view minor = next_field(rest);
    DiskStats disk;
    disk.device = next_field(rest);
    std::uint64_t number = 0;
    if (!to_u64(major, number) || number > 0xffffffffu) {
      throw ParseError(lines.number(), "invalid major number " + quoted(major));
    }
    disk.major = static_cast<std::uint32_t>(number);
    if (!to_u64(minor, number) || number > 0xffffffffu) {
      throw ParseError(lines.number(), "invalid minor number " + quoted(minor));
    }
    disk.minor = static_cast<std::uint32_t>(number);
    if (disk.device.empty()) throw ParseError(lines.number(), "no device name");
    for (std::string_view field = next_field(rest); !field.empty(); field = next_field(rest)) {
      if (disk.columns == kDiskStatColumns) break;
      if (!to_u64(field, disk.values[disk.columns])) {
        throw ParseError(lines.number(), std::string(disk.device) + ": invalid number " + quoted(field) +
                                             " in column " + std::to_string(disk.columns + 4));
      }
      ++disk.columns;
    }
    if (disk.columns < kMinColumns) continue;
    out.push_back(disk);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_udev_properties(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  Lines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    if (!line.starts_with("E:")) continue;
    line.remove_prefix(2);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return out;
}

}  // namespace tocsin::collectors::host
