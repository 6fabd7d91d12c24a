// The diskstats section of the host collector: node_disk_* from /proc/diskstats, with node_exporter
// 1.5's default device exclusion, and node_disk_info (plus the udev-only info families) from udev's
// database where it exists.
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "collectors/host/disk_parsers.hpp"
#include "collectors/host/section.hpp"
#include "collectors/host/text.hpp"

namespace tocsin::collectors::host {

namespace {

using store::MetricType;

struct DiskFamily {
  const char* name;
  const char* help;
  MetricType type;
  double factor;  // sectors to bytes, milliseconds to seconds
};

constexpr double kSector = 512.0;  // /proc/diskstats counts 512-byte sectors whatever the device's
constexpr double kMillis = 0.001;

// In /proc/diskstats's column order.
constexpr DiskFamily kDiskFamilies[kDiskStatColumns] = {
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.",
     MetricType::counter, 1},
    {"node_disk_reads_merged_total", "The total number of reads merged.", MetricType::counter, 1},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", MetricType::counter,
     kSector},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
     MetricType::counter, kMillis},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.",
     MetricType::counter, 1},
    {"node_disk_writes_merged_total", "The number of writes merged.", MetricType::counter, 1},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.", MetricType::counter,
     kSector},
    {"node_disk_write_time_seconds_total", "This is the total number of seconds spent by all writes.",
     MetricType::counter, kMillis},
    {"node_disk_io_now", "The number of I/Os currently in progress.", MetricType::gauge, 1},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", MetricType::counter, kMillis},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
     MetricType::counter, kMillis},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     MetricType::counter, 1},
    {"node_disk_discards_merged_total", "The total number of discards merged.", MetricType::counter, 1},
    // node_exporter exports discarded sectors as they are, not in bytes.
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
     MetricType::counter, 1},
    {"node_disk_discard_time_seconds_total", "This is the total number of seconds spent by all discards.",
     MetricType::counter, kMillis},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     MetricType::counter, 1},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", MetricType::counter, kMillis},
};

class DiskstatsSection final : public Section {
 public:
  explicit DiskstatsSection(const config::HostCollectorConfig& c)
      : path_(c.proc_path + "/diskstats"),
        udev_dir_(c.udev_data_path),
        filter_(c.diskstats),
        labels_("device", [] {
          std::vector<std::string> names;
          for (const auto& f : kDiskFamilies) names.emplace_back(f.name);
          return names;
        }()) {}
  std::string_view name() const override { return "diskstats"; }

  void collect(SectionContext& ctx) override {
    std::string_view text;
    if (!ctx.read_or_report(path_, text, "diskstats", "node_disk_*")) return;
    try {
      disks_ = parse_diskstats(text);
    } catch (const ParseError& e) {
      return ctx.problems.report("diskstats", spdlog::level::warn,
                                 where(path_, e) + "; node_disk_* left out");
    }
    ctx.problems.clear("diskstats", [&] { return path_ + ": readable again"; });
    // The names point into the reader's buffer, which reading udev files reuses: copy them first.
    kept_.clear();
    for (const DiskStats& d : disks_) {
      if (!filter_.ignored(d.device)) kept_.push_back({std::string(d.device), d});
    }
    // node_exporter looks for udev's database once at start and logs an error when it is missing;
    // here each cycle, so a udevd started later is seen.
    const bool udev = ::access(udev_dir_.c_str(), X_OK) == 0;
    if (!udev) {
      ctx.problems.report("udev", spdlog::level::info,
                          udev_dir_ + ": " + std::strerror(errno) +
                              "; node_disk_info has no model, serial, path, wwn and revision");
    } else {
      ctx.problems.clear("udev", [&] { return udev_dir_ + ": readable again"; });
    }

    ctx.out.describe("node_disk_info", MetricType::gauge, "Info of /sys/block/<block_device>.");
    for (const auto& f : kDiskFamilies) ctx.out.describe(f.name, f.type, f.help);
    for (const auto& [device, d] : kept_) {
      properties_.clear();
      if (udev) read_udev(ctx, d.major, d.minor);
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_disk_info"},
                         {"device", device},
                         {"major", std::to_string(d.major)},
                         {"minor", std::to_string(d.minor)},
                         {"path", property("ID_PATH")},
                         {"wwn", property("ID_WWN")},
                         {"model", property("ID_MODEL")},
                         {"serial", property("ID_SERIAL_SHORT")},
                         {"revision", property("ID_REVISION")}},
                  1);
      DeviceLabels::Row& row = labels_.row(device);
      for (std::size_t i = 0; i < d.columns; ++i) {
        ctx.out.add(row[i], static_cast<double>(d.values[i]) * kDiskFamilies[i].factor);
      }
      if (!properties_.empty()) add_udev_families(ctx, device);
    }
    labels_.end_cycle();
  }

 private:
  void read_udev(SectionContext& ctx, std::uint32_t major, std::uint32_t minor) {
    const std::string path = udev_dir_ + "/b" + std::to_string(major) + ":" + std::to_string(minor);
    std::string_view text;
    if (ctx.files.read(path, text)) return;  // node_exporter: debug log only
    properties_ = parse_udev_properties(text);
  }

  std::string property(std::string_view key) const {
    for (const auto& [k, v] : properties_) {
      if (k == key) return v;
    }
    return {};
  }

  void add_udev_families(SectionContext& ctx, const std::string& device) {
    if (auto type = property("ID_FS_TYPE"); !type.empty()) {
      ctx.out.describe("node_disk_filesystem_info", MetricType::gauge, "Info about disk filesystem.");
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_disk_filesystem_info"},
                         {"device", device},
                         {"type", type},
                         {"usage", property("ID_FS_USAGE")},
                         {"uuid", property("ID_FS_UUID")},
                         {"version", property("ID_FS_VERSION")}},
                  1);
    }
    if (auto name = property("DM_NAME"); !name.empty()) {
      ctx.out.describe("node_disk_device_mapper_info", MetricType::gauge, "Info about disk device mapper.");
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_disk_device_mapper_info"},
                         {"device", device},
                         {"name", name},
                         {"uuid", property("DM_UUID")},
                         {"vg_name", property("DM_VG_NAME")},
                         {"lv_name", property("DM_LV_NAME")},
                         {"lv_layer", property("DM_LV_LAYER")}},
                  1);
    }
    if (property("ID_ATA").empty()) return;
    static constexpr std::pair<const char*, std::pair<const char*, const char*>> kAta[] = {
        {"ID_ATA_WRITE_CACHE", {"node_disk_ata_write_cache", "ATA disk has a write cache."}},
        {"ID_ATA_WRITE_CACHE_ENABLED",
         {"node_disk_ata_write_cache_enabled", "ATA disk has its write cache enabled."}},
        {"ID_ATA_ROTATION_RATE_RPM",
         {"node_disk_ata_rotation_rate_rpm", "ATA disk rotation rate in RPMs (0 for SSDs)."}},
    };
    for (const auto& [key, family] : kAta) {
      const std::string value = property(key);
      double v = 0;
      if (value.empty() || !text::to_double(value, v)) continue;
      ctx.out.describe(family.first, MetricType::gauge, family.second);
      ctx.out.add(series(family.first, "device", device), v);
    }
  }

  std::string path_;
  std::string udev_dir_;
  DeviceFilter filter_;
  std::vector<DiskStats> disks_;
  std::vector<std::pair<std::string, DiskStats>> kept_;
  std::vector<std::pair<std::string, std::string>> properties_;
  DeviceLabels labels_;
};

}  // namespace

std::unique_ptr<Section> make_diskstats_section(const config::HostCollectorConfig& c) {
  return std::make_unique<DiskstatsSection>(c);
}

}  // namespace tocsin::collectors::host
