#pragma once
// The host collector is a list of sections, one per node_exporter collector it implements (netstat,
// diskstats, ...). Each section reads its files through the shared FileReader and adds to the batch;
// a section whose files are missing or malformed is left out for the cycle with one log line (the
// ProblemLog repeats nothing until the problem changes or ends), as node_exporter fails only that
// collector. Internal to the collector; not thread-safe (one cycle at a time).

#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collectors/host/config.hpp"
#include "tocsin/collectors/parse_error.hpp"
#include "tocsin/collectors/problem_log.hpp"
#include "tocsin/store/batch.hpp"

namespace re2 {
class RE2;
}

namespace tocsin::collectors::host {

struct ReadError {
  int code = 0;         // errno, or 0 on success
  std::string message;  // names the file
  explicit operator bool() const { return code != 0; }
};

// Reads whole files with one open/read/close into a buffer reused across cycles (so a warm cycle
// allocates nothing for reading). A returned view is valid until the next read.
class FileReader {
 public:
  FileReader();
  ReadError read(const std::string& path, std::string_view& text);
  // A small attribute file `name` in the directory open as `dir_fd` (sysfs), read with one read(2)
  // of at most 4 KiB like procfs's SysReadFile; `shown` names the directory in messages.
  ReadError read_at(int dir_fd, const char* name, std::string_view shown, std::string_view& text);

  // Files kept open and re-read with pread(2) at offset 0, which makes sysfs and procfs produce the
  // value again: one system call instead of three, the difference between 7 and 1.3 us a file on a
  // VM (a 200-interface netclass is 4,600 files a cycle). The section that keeps a file open asks for
  // a descriptor first; the budget is a quarter of RLIMIT_NOFILE's soft limit when the collector is
  // made (16,384 under the packaged unit's LimitNOFILE=65536), and past it files are opened per read.
  bool take_descriptor();
  void give_descriptor() { --open_; }
  // pread(2) of a file kept open, like read_at otherwise.
  ReadError pread_kept(int fd, std::string_view shown, std::string_view& text);

 private:
  std::string buffer_;
  std::string small_;
  std::size_t budget_ = 0;
  std::size_t open_ = 0;
};

// An RE2 regex matched anywhere in a name (Go's MatchString), with the answers cached per name (names
// repeat every cycle: devices, netstat and vmstat fields). An empty pattern is "no regex".
class NameRegex {
 public:
  explicit NameRegex(const std::string& pattern);
  ~NameRegex();
  NameRegex(NameRegex&&) noexcept;
  bool empty() const { return !regex_; }
  bool matches(std::string_view name);

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unique_ptr<re2::RE2> regex_;
  std::unordered_map<std::string, bool, Hash, std::equal_to<>> cache_;
};

// node_exporter's deviceFilter.
class DeviceFilter {
 public:
  explicit DeviceFilter(const config::HostDeviceFilterConfig& config)
      : exclude_(config.exclude), include_(config.include) {}
  bool ignored(std::string_view device) {
    return (!exclude_.empty() && exclude_.matches(device)) ||
           (!include_.empty() && !include_.matches(device));
  }

 private:
  NameRegex exclude_;
  NameRegex include_;
};

class NetlinkLinks;

struct SectionContext {
  store::Batch& out;
  FileReader& files;
  ProblemLog& problems;
  std::int64_t timestamp_ms;
  // The cycle's rtnetlink dump that netdev and netclass share; nullptr when the collector reads files
  // only (the `netlink` key).
  NetlinkLinks* links = nullptr;

  // Reads `path` into `text`. When it cannot, reports "<why>; <left_out> left out" under `key` (once,
  // as ProblemLog does) and returns false: the section leaves its families out of this cycle.
  bool read_or_report(const std::string& path, std::string_view& text, const std::string& key,
                      std::string_view left_out);
};

class Section {
 public:
  virtual ~Section() = default;
  virtual std::string_view name() const = 0;  // node_exporter's collector name
  virtual void collect(SectionContext& ctx) = 0;
};

// "path:line: message" for a parse error of a file.
std::string where(std::string_view path, const ParseError& e);

// A series of `name` with labels given in sorted order (`__name__` sorts before lowercase names).
Labels series(std::string_view name);
Labels series(std::string_view name, std::string_view label, std::string_view value);

// The label sets {__name__=<family>, <label>=<device>} of a section's per-device families, made once
// per device and family and kept while the device is seen, so that a warm cycle makes none (making
// them was a third of a cycle on a machine with a few hundred devices).
class DeviceLabels {
 public:
  DeviceLabels(std::string label, const std::vector<std::string>& families);

  class Row {
   public:
    // The label set of family `i` (an index into the constructor's list).
    const Labels& operator[](std::size_t i);

   private:
    friend class DeviceLabels;
    const DeviceLabels* owner_ = nullptr;
    std::string device_;
    std::vector<Labels> labels_;
    std::uint64_t cycle_ = 0;
  };
  // The row of `device`, marked as seen in this cycle.
  Row& row(std::string_view device);
  // Forgets the devices not seen since the last call.
  void end_cycle();

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::string label_;
  std::vector<std::string> families_;
  std::unordered_map<std::string, Row, Hash, std::equal_to<>> rows_;
  std::uint64_t cycle_ = 1;
};

// The sections defined apart from host_collector.cpp.
std::unique_ptr<Section> make_netstat_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_netdev_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_netclass_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_sockstat_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_softnet_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_arp_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_udp_queues_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_conntrack_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_diskstats_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_vmstat_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_filefd_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_entropy_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_timex_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_time_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_os_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_selinux_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_thermal_zone_section(const config::HostCollectorConfig& config);
std::unique_ptr<Section> make_hwmon_section(const config::HostCollectorConfig& config);

}  // namespace tocsin::collectors::host
