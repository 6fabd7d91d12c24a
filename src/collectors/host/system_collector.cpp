// The smaller sections of the host collector: vmstat, filefd, entropy, timex, time (zone and
// clocksources), os (os-release) and selinux, under node_exporter 1.5's names, types and labels.
#include <sys/stat.h>
#include <sys/timex.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "collectors/host/proc_parsers.hpp"
#include "collectors/host/section.hpp"
#include "collectors/host/text.hpp"

namespace tocsin::collectors::host {

namespace {

using store::MetricType;

void add_gauge(SectionContext& ctx, const char* name, const char* help, double value) {
  ctx.out.describe(name, MetricType::gauge, help);
  ctx.out.add(series(name), value);
}

// --- vmstat --------------------------------------------------------------------------------------

class VmstatSection final : public Section {
 public:
  explicit VmstatSection(const config::HostCollectorConfig& c)
      : path_(c.proc_path + "/vmstat"), fields_(c.vmstat_fields) {}
  std::string_view name() const override { return "vmstat"; }

  void collect(SectionContext& ctx) override {
    std::string_view text;
    if (!ctx.read_or_report(path_, text, "vmstat", "node_vmstat_*")) return;
    std::vector<VmstatField> fields;
    try {
      fields = parse_vmstat(text);
    } catch (const ParseError& e) {
      return ctx.problems.report("vmstat", spdlog::level::warn, where(path_, e) + "; node_vmstat_* left out");
    }
    ctx.problems.clear("vmstat", [&] { return path_ + ": readable again"; });
    for (const VmstatField& f : fields) {
      if (!fields_.matches(f.name)) continue;
      std::string name = "node_vmstat_" + std::string(f.name);
      ctx.out.describe(name, MetricType::untyped,
                       "/proc/vmstat information field " + std::string(f.name) + ".");
      ctx.out.add(series(name), f.value);
    }
  }

 private:
  std::string path_;
  NameRegex fields_;
};

// --- filefd --------------------------------------------------------------------------------------

class FilefdSection final : public Section {
 public:
  explicit FilefdSection(const config::HostCollectorConfig& c) : path_(c.proc_path + "/sys/fs/file-nr") {}
  std::string_view name() const override { return "filefd"; }

  void collect(SectionContext& ctx) override {
    std::string_view text;
    if (!ctx.read_or_report(path_, text, "filefd", "node_filefd_*")) return;
    FileNr nr;
    try {
      nr = parse_file_nr(text);
    } catch (const ParseError& e) {
      return ctx.problems.report("filefd", spdlog::level::warn, where(path_, e) + "; node_filefd_* left out");
    }
    ctx.problems.clear("filefd", [&] { return path_ + ": readable again"; });
    add_gauge(ctx, "node_filefd_allocated", "File descriptor statistics: allocated.", nr.allocated);
    add_gauge(ctx, "node_filefd_maximum", "File descriptor statistics: maximum.", nr.maximum);
  }

 private:
  std::string path_;
};

// --- entropy -------------------------------------------------------------------------------------

class EntropySection final : public Section {
 public:
  explicit EntropySection(const config::HostCollectorConfig& c)
      : avail_(c.proc_path + "/sys/kernel/random/entropy_avail"),
        pool_(c.proc_path + "/sys/kernel/random/poolsize") {}
  std::string_view name() const override { return "entropy"; }

  void collect(SectionContext& ctx) override {
    // node_exporter fails the collector without entropy_avail, and exports entropy_avail alone when
    // poolsize is missing.
    struct Item {
      const std::string* path;
      const char* name;
      const char* help;
    };
    const Item items[] = {{&avail_, "node_entropy_available_bits", "Bits of available entropy."},
                          {&pool_, "node_entropy_pool_size_bits", "Bits of entropy pool."}};
    for (const Item& item : items) {
      std::string_view text;
      if (auto e = ctx.files.read(*item.path, text)) {
        return ctx.problems.report("entropy", spdlog::level::warn,
                                   e.message + "; " + item.name + " left out");
      }
      std::uint64_t value = 0;
      try {
        value = parse_uint_file(text);
      } catch (const ParseError& e) {
        return ctx.problems.report("entropy", spdlog::level::warn,
                                   where(*item.path, e) + "; " + item.name + " left out");
      }
      add_gauge(ctx, item.name, item.help, static_cast<double>(value));
    }
    ctx.problems.clear("entropy", [] { return "entropy files readable again"; });
  }

 private:
  std::string avail_, pool_;
};

// --- timex ---------------------------------------------------------------------------------------

class TimexSection final : public Section {
 public:
  explicit TimexSection(const config::HostCollectorConfig&) {}
  std::string_view name() const override { return "timex"; }

  void collect(SectionContext& ctx) override {
    struct timex tx {};
    const int status = ::adjtimex(&tx);  // modes 0: reads only, needs no privilege
    if (status < 0) {
      return ctx.problems.report(
          "timex", spdlog::level::warn,
          std::string("adjtimex: ") + std::strerror(errno) + "; node_timex_* left out");
    }
    ctx.problems.clear("timex", [] { return "adjtimex works again"; });
    constexpr int kStaNano = 0x2000;
    const double divisor = (tx.status & kStaNano) != 0 ? 1e9 : 1e6;
    constexpr double kPpm16 = 1000000.0 * 65536.0;
    add_gauge(ctx, "node_timex_sync_status", "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
              status == TIME_ERROR ? 0 : 1);
    add_gauge(ctx, "node_timex_offset_seconds", "Time offset in between local system and reference clock.",
              static_cast<double>(tx.offset) / divisor);
    add_gauge(ctx, "node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.",
              1 + static_cast<double>(tx.freq) / kPpm16);
    add_gauge(ctx, "node_timex_maxerror_seconds", "Maximum error in seconds.",
              static_cast<double>(tx.maxerror) / 1e6);
    add_gauge(ctx, "node_timex_estimated_error_seconds", "Estimated error in seconds.",
              static_cast<double>(tx.esterror) / 1e6);
    add_gauge(ctx, "node_timex_status", "Value of the status array bits.", static_cast<double>(tx.status));
    add_gauge(ctx, "node_timex_loop_time_constant", "Phase-locked loop time constant.",
              static_cast<double>(tx.constant));
    add_gauge(ctx, "node_timex_tick_seconds", "Seconds between clock ticks.",
              static_cast<double>(tx.tick) / 1e6);
    add_gauge(ctx, "node_timex_pps_frequency_hertz", "Pulse per second frequency.",
              static_cast<double>(tx.ppsfreq) / kPpm16);
    add_gauge(ctx, "node_timex_pps_jitter_seconds", "Pulse per second jitter.",
              static_cast<double>(tx.jitter) / divisor);
    add_gauge(ctx, "node_timex_pps_shift_seconds", "Pulse per second interval duration.",
              static_cast<double>(tx.shift));
    add_gauge(ctx, "node_timex_pps_stability_hertz",
              "Pulse per second stability, average of recent frequency changes.",
              static_cast<double>(tx.stabil) / kPpm16);
    auto counter = [&](const char* name, const char* help, long value) {
      ctx.out.describe(name, MetricType::counter, help);
      ctx.out.add(series(name), static_cast<double>(value));
    };
    counter("node_timex_pps_jitter_total", "Pulse per second count of jitter limit exceeded events.",
            tx.jitcnt);
    counter("node_timex_pps_calibration_total", "Pulse per second count of calibration intervals.",
            tx.calcnt);
    counter("node_timex_pps_error_total", "Pulse per second count of calibration errors.", tx.errcnt);
    counter("node_timex_pps_stability_exceeded_total",
            "Pulse per second count of stability limit exceeded events.", tx.stbcnt);
    add_gauge(ctx, "node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.",
              static_cast<double>(tx.tai));
  }
};

// --- time ----------------------------------------------------------------------------------------

class TimeSection final : public Section {
 public:
  explicit TimeSection(const config::HostCollectorConfig& c)
      : clocksource_dir_(c.sys_path + "/devices/system/clocksource") {}
  std::string_view name() const override { return "time"; }

  void collect(SectionContext& ctx) override {
    add_gauge(ctx, "node_time_seconds", "System time in seconds since epoch (1970).",
              static_cast<double>(ctx.timestamp_ms) / 1000.0);
    const std::time_t now = static_cast<std::time_t>(ctx.timestamp_ms / 1000);
    std::tm local{};
    if (::localtime_r(&now, &local) != nullptr) {
      ctx.out.describe("node_time_zone_offset_seconds", MetricType::gauge,
                       "System time zone offset in seconds.");
      ctx.out.add(
          series("node_time_zone_offset_seconds", "time_zone", local.tm_zone != nullptr ? local.tm_zone : ""),
          static_cast<double>(local.tm_gmtoff));
    }
    collect_clocksources(ctx);
  }

 private:
  void collect_clocksources(SectionContext& ctx) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(clocksource_dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 11 && name.starts_with("clocksource") && name[11] >= '0' && name[11] <= '9') {
        names.push_back(name);
      }
    }
    if (ec) {
      return ctx.problems.report(
          "clocksource", spdlog::level::warn,
          clocksource_dir_ + ": " + ec.message() + "; node_time_clocksource_* left out");
    }
    std::sort(names.begin(), names.end());  // Go's filepath.Glob order
    ctx.out.describe("node_time_clocksource_available_info", MetricType::gauge,
                     "Available clocksources read from '/sys/devices/system/clocksource'.");
    ctx.out.describe("node_time_clocksource_current_info", MetricType::gauge,
                     "Current clocksource read from '/sys/devices/system/clocksource'.");
    for (std::size_t i = 0; i < names.size(); ++i) {
      const std::string base = clocksource_dir_ + "/" + names[i];
      std::string_view text;
      if (!ctx.read_or_report(base + "/available_clocksource", text, "clocksource",
                              "node_time_clocksource_*"))
        return;
      const std::vector<std::string> available = parse_words(text);
      if (!ctx.read_or_report(base + "/current_clocksource", text, "clocksource", "node_time_clocksource_*"))
        return;
      const std::string current(text::trim(text));
      const std::string device = std::to_string(i);
      for (const std::string& cs : available) {
        ctx.out.add(
            Labels::from_sorted({{std::string(kMetricNameLabel), "node_time_clocksource_available_info"},
                                 {"clocksource", cs},
                                 {"device", device}}),
            1);
      }
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_time_clocksource_current_info"},
                         {"clocksource", current},
                         {"device", device}},
                  1);
    }
    ctx.problems.clear("clocksource", [&] { return clocksource_dir_ + ": readable again"; });
  }

  std::string clocksource_dir_;
};

// --- os ------------------------------------------------------------------------------------------

class OsSection final : public Section {
 public:
  explicit OsSection(const config::HostCollectorConfig& c) {
    std::string root = c.rootfs_path;
    while (!root.empty() && root.back() == '/') root.pop_back();
    paths_ = {root + "/etc/os-release", root + "/usr/lib/os-release"};
  }
  std::string_view name() const override { return "os"; }

  void collect(SectionContext& ctx) override {
    // Read again only when the file (or which file) changed, as node_exporter does.
    const std::string* found = nullptr;
    struct stat st {};
    for (const std::string& path : paths_) {
      if (::stat(path.c_str(), &st) == 0) {
        found = &path;
        break;
      }
    }
    if (found == nullptr) {
      return ctx.problems.report(
          "os", spdlog::level::info,
          "no os-release file (" + paths_[0] + ", " + paths_[1] + "); node_os_* left out");
    }
    if (*found != cached_path_ || st.st_mtim.tv_sec != mtime_.tv_sec ||
        st.st_mtim.tv_nsec != mtime_.tv_nsec) {
      std::string_view text;
      if (!ctx.read_or_report(*found, text, "os", "node_os_*")) return;
      try {
        fields_ = parse_os_release(text);
      } catch (const ParseError& e) {
        return ctx.problems.report("os", spdlog::level::warn, where(*found, e) + "; node_os_* left out");
      }
      cached_path_ = *found;
      mtime_ = st.st_mtim;
    }
    ctx.problems.clear("os", [&] { return *found + ": readable again"; });
    auto get = [&](std::string_view key) -> std::string {
      for (const auto& [k, v] : fields_) {
        if (k == key) return v;
      }
      return {};
    };
    ctx.out.describe(
        "node_os_info", MetricType::gauge,
        "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, "
        "name, pretty_name, variant, variant_id, version, version_codename, version_id.");
    ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_os_info"},
                       {"build_id", get("BUILD_ID")},
                       {"id", get("ID")},
                       {"id_like", get("ID_LIKE")},
                       {"image_id", get("IMAGE_ID")},
                       {"image_version", get("IMAGE_VERSION")},
                       {"name", get("NAME")},
                       {"pretty_name", get("PRETTY_NAME")},
                       {"variant", get("VARIANT")},
                       {"variant_id", get("VARIANT_ID")},
                       {"version", get("VERSION")},
                       {"version_codename", get("VERSION_CODENAME")},
                       {"version_id", get("VERSION_ID")}},
                1);
    if (const double version = os_version_number(get("VERSION_ID")); version > 0) {
      ctx.out.describe("node_os_version", MetricType::gauge,
                       "Metric containing the major.minor part of the OS version.");
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_os_version"},
                         {"id", get("ID")},
                         {"id_like", get("ID_LIKE")},
                         {"name", get("NAME")}},
                  version);
    }
  }

 private:
  std::vector<std::string> paths_;
  std::string cached_path_;
  timespec mtime_{};
  std::vector<std::pair<std::string, std::string>> fields_;
};

// --- selinux -------------------------------------------------------------------------------------

class SelinuxSection final : public Section {
 public:
  explicit SelinuxSection(const config::HostCollectorConfig& c)
      : enforce_(c.sys_path + "/fs/selinux/enforce"),
        config_((c.rootfs_path.ends_with('/') ? c.rootfs_path.substr(0, c.rootfs_path.size() - 1)
                                              : c.rootfs_path) +
                "/etc/selinux/config") {}
  std::string_view name() const override { return "selinux"; }

  void collect(SectionContext& ctx) override {
    // go-selinux: enabled when selinuxfs is mounted (at /sys/fs/selinux). Its enforce file holds the
    // current mode; /etc/selinux/config's SELINUX= the configured one.
    std::string_view text;
    std::int64_t current = 0;
    if (ctx.files.read(enforce_, text) || !text::to_i64(text::trim(text), current)) {
      add_gauge(ctx, "node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false", 0);
      return;
    }
    add_gauge(ctx, "node_selinux_enabled", "SELinux is enabled, 1 is true, 0 is false", 1);
    double configured = -1;  // disabled
    if (!ctx.files.read(config_, text)) {
      text::Lines lines(text);
      std::string_view line;
      while (lines.next(line)) {
        line = text::trim(line);
        if (!line.starts_with("SELINUX=")) continue;
        const std::string_view mode = text::trim(line.substr(8));
        configured = mode == "enforcing" ? 1 : mode == "permissive" ? 0 : -1;
      }
    }
    add_gauge(ctx, "node_selinux_config_mode", "Configured SELinux enforcement mode", configured);
    add_gauge(ctx, "node_selinux_current_mode", "Current SELinux enforcement mode",
              static_cast<double>(current));
  }

 private:
  std::string enforce_;
  std::string config_;
};

// --- thermal_zone --------------------------------------------------------------------------------

class ThermalZoneSection final : public Section {
 public:
  explicit ThermalZoneSection(const config::HostCollectorConfig& c) : dir_(c.sys_path + "/class/thermal") {}
  std::string_view name() const override { return "thermal_zone"; }

  void collect(SectionContext& ctx) override {
    // procfs's Glob of thermal_zone[0-9]* and cooling_device[0-9]*, in lexical order; a VM has none.
    std::vector<std::string> zones;
    std::vector<std::string> coolers;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (numbered(name, "thermal_zone")) zones.push_back(name);
      if (numbered(name, "cooling_device")) coolers.push_back(name);
    }
    std::sort(zones.begin(), zones.end());
    std::sort(coolers.begin(), coolers.end());
    if (!zones.empty()) {
      ctx.out.describe("node_thermal_zone_temp", MetricType::gauge, "Zone temperature in Celsius");
    }
    for (const std::string& zone : zones) {
      const std::string base = dir_ + "/" + zone;
      std::string type;
      std::int64_t temp = 0;
      std::string_view text;
      if (!read_text(ctx, base + "/type", type) || !read_text(ctx, base + "/policy", text_)) continue;
      if (auto e = ctx.files.read(base + "/temp", text)) {
        // ENODATA: a zone without a sensor reading (procfs skips it); other errors are reported.
        if (e.code != ENODATA) ctx.problems.report(base, spdlog::level::warn, e.message + "; zone left out");
        continue;
      }
      if (!text::to_i64(text::trim(text), temp)) {
        ctx.problems.report(
            base, spdlog::level::warn,
            base + "/temp: not a number: " + text::quoted(text::trim(text)) + "; zone left out");
        continue;
      }
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_thermal_zone_temp"},
                         {"type", type},
                         {"zone", zone.substr(std::string_view("thermal_zone").size())}},
                  static_cast<double>(temp) / 1000.0);
    }
    if (!coolers.empty()) {
      ctx.out.describe("node_cooling_device_cur_state", MetricType::gauge,
                       "Current throttle state of the cooling device");
      ctx.out.describe("node_cooling_device_max_state", MetricType::gauge,
                       "Maximum throttle state of the cooling device");
    }
    for (const std::string& cooler : coolers) {
      const std::string base = dir_ + "/" + cooler;
      std::string type, max_state, cur_state;
      std::int64_t max = 0, cur = 0;
      if (!read_text(ctx, base + "/type", type) || !read_text(ctx, base + "/max_state", max_state) ||
          !read_text(ctx, base + "/cur_state", cur_state)) {
        continue;
      }
      if (!text::to_i64(max_state, max) || !text::to_i64(cur_state, cur)) {
        ctx.problems.report(base, spdlog::level::warn,
                            base + ": max_state or cur_state not a number; left out");
        continue;
      }
      const std::string name = cooler.substr(std::string_view("cooling_device").size());
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_cooling_device_cur_state"},
                         {"name", name},
                         {"type", type}},
                  static_cast<double>(cur));
      ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_cooling_device_max_state"},
                         {"name", name},
                         {"type", type}},
                  static_cast<double>(max));
    }
  }

 private:
  static bool numbered(std::string_view name, std::string_view prefix) {
    return name.size() > prefix.size() && name.starts_with(prefix) && name[prefix.size()] >= '0' &&
           name[prefix.size()] <= '9';
  }
  // A whole small file, trimmed; false (reported once) when it cannot be read.
  static bool read_text(SectionContext& ctx, const std::string& path, std::string& out) {
    std::string_view text;
    if (auto e = ctx.files.read(path, text)) {
      ctx.problems.report(path, spdlog::level::warn, e.message + "; left out");
      return false;
    }
    ctx.problems.clear(path, [&] { return path + ": readable again"; });
    out = std::string(text::trim(text));
    return true;
  }

  std::string dir_;
  std::string text_;
};

}  // namespace

std::unique_ptr<Section> make_vmstat_section(const config::HostCollectorConfig& c) {
  return std::make_unique<VmstatSection>(c);
}
std::unique_ptr<Section> make_filefd_section(const config::HostCollectorConfig& c) {
  return std::make_unique<FilefdSection>(c);
}
std::unique_ptr<Section> make_entropy_section(const config::HostCollectorConfig& c) {
  return std::make_unique<EntropySection>(c);
}
std::unique_ptr<Section> make_timex_section(const config::HostCollectorConfig& c) {
  return std::make_unique<TimexSection>(c);
}
std::unique_ptr<Section> make_time_section(const config::HostCollectorConfig& c) {
  return std::make_unique<TimeSection>(c);
}
std::unique_ptr<Section> make_os_section(const config::HostCollectorConfig& c) {
  return std::make_unique<OsSection>(c);
}
std::unique_ptr<Section> make_selinux_section(const config::HostCollectorConfig& c) {
  return std::make_unique<SelinuxSection>(c);
}
std::unique_ptr<Section> make_thermal_zone_section(const config::HostCollectorConfig& c) {
  return std::make_unique<ThermalZoneSection>(c);
}

}  // namespace tocsin::collectors::host
