#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "collectors/host/families.hpp"
#include "collectors/host/host.hpp"
#include "collectors/host/netlink.hpp"
#include "collectors/host/proc_parsers.hpp"
#include "collectors/host/section.hpp"
#include "tocsin/collectors/problem_log.hpp"

namespace tocsin::collectors {

namespace {

using host::CpuField;
using store::Batch;
using store::MetricType;

using host::FileReader;
using host::series;
using host::where;

void append_error(std::string& errors, const std::string& error) {
  if (!errors.empty()) errors += "; ";
  errors += error;
}

bool disabled(const config::HostCollectorConfig& config, std::string_view section) {
  for (const auto& name : config.disable) {
    if (name == section) return true;
  }
  return false;
}

class HostCollector final : public Collector {
 public:
  HostCollector(const config::HostCollectorConfig& config, std::shared_ptr<spdlog::logger> log)
      : name_(config.common.name),
        stat_path_(config.proc_path + "/stat"),
        meminfo_path_(config.proc_path + "/meminfo"),
        loadavg_path_(config.proc_path + "/loadavg"),
        pressure_dir_(config.proc_path + "/pressure"),
        mounts_path_(config.mounts_file.empty() ? config.proc_path + "/1/mounts" : config.mounts_file),
        mounts_fallback_(config.mounts_file.empty() ? config.proc_path + "/mounts" : ""),
        rootfs_(config.rootfs_path),
        cpu_(!disabled(config, "cpu")),
        stat_(!disabled(config, "stat")),
        meminfo_(!disabled(config, "meminfo")),
        loadavg_(!disabled(config, "loadavg")),
        pressure_(config.pressure && !disabled(config, "pressure")),
        filesystem_(!disabled(config, "filesystem")),
        uname_(!disabled(config, "uname")),
        mount_points_exclude_(config.filesystem_mount_points_exclude),
        fs_types_exclude_(config.filesystem_fs_types_exclude),
        problems_(std::move(log), "host collector " + config.common.name) {
    const long hz = ::sysconf(_SC_CLK_TCK);
    user_hz_ = hz > 0 ? static_cast<double>(hz) : 100.0;
    while (rootfs_.size() > 1 && rootfs_.back() == '/') rootfs_.pop_back();
    if (rootfs_ == "/") rootfs_.clear();
    for (std::string mountpoint : config.mountpoints) {
      while (mountpoint.size() > 1 && mountpoint.back() == '/') mountpoint.pop_back();
      bool seen = false;
      for (const auto& m : mountpoints_) seen = seen || m == mountpoint;
      if (!seen && !mountpoint.empty()) mountpoints_.push_back(std::move(mountpoint));
    }
    for (const char* resource : {"cpu", "io", "memory"}) {
      pressure_paths_.push_back(pressure_dir_ + "/" + resource);
      pressure_subjects_.push_back(std::string("pressure ") + resource);
    }
    using Factory = std::unique_ptr<host::Section> (*)(const config::HostCollectorConfig&);
    static constexpr std::pair<std::string_view, Factory> kSections[] = {
        {"arp", host::make_arp_section},
        {"conntrack", host::make_conntrack_section},
        {"diskstats", host::make_diskstats_section},
        {"entropy", host::make_entropy_section},
        {"filefd", host::make_filefd_section},
        {"hwmon", host::make_hwmon_section},
        {"netclass", host::make_netclass_section},
        {"netdev", host::make_netdev_section},
        {"netstat", host::make_netstat_section},
        {"os", host::make_os_section},
        {"selinux", host::make_selinux_section},
        {"sockstat", host::make_sockstat_section},
        {"softnet", host::make_softnet_section},
        {"thermal_zone", host::make_thermal_zone_section},
        {"time", host::make_time_section},
        {"timex", host::make_timex_section},
        {"udp_queues", host::make_udp_queues_section},
        {"vmstat", host::make_vmstat_section},
    };
    for (const auto& [section, make] : kSections) {
      if (!disabled(config, section)) sections_.push_back(make(config));
    }
    if (config.netlink.value_or(config.proc_path == "/proc" && config.sys_path == "/sys") &&
        !(disabled(config, "netdev") && disabled(config, "netclass"))) {
      netlink_.emplace();
    }
  }

  std::string_view kind() const override { return "host"; }
  const std::string& name() const override { return name_; }

  void collect(const CollectContext& ctx, Batch& out) override {
    std::string errors;
    if (cpu_ || stat_) collect_stat(out, errors);
    if (meminfo_) collect_meminfo(out, errors);
    if (loadavg_) collect_loadavg(out, errors);
    if (!errors.empty()) throw CollectError(errors);
    if (pressure_) collect_pressure(out);
    if (filesystem_) collect_filesystems(out);
    if (uname_) collect_uname(out);
    if (netlink_) netlink_->begin_cycle();
    host::SectionContext section_ctx{out, files_, problems_, ctx.timestamp, netlink_ ? &*netlink_ : nullptr};
    for (const auto& section : sections_) section->collect(section_ctx);
  }

 private:
  void collect_stat(Batch& out, std::string& errors) {
    std::string_view text;
    if (auto e = files_.read(stat_path_, text); e) return append_error(errors, e.message);
    host::ProcStat stat;
    try {
      stat = host::parse_proc_stat(text);
    } catch (const host::ParseError& e) {
      return append_error(errors, where(stat_path_, e));
    }
    host::keep_cpu_counters_monotonic(previous_cpus_, stat.cpus, static_cast<std::uint64_t>(3 * user_hz_));
    previous_cpus_ = stat.cpus;
    if (cpu_) add_cpus(out, stat);
    if (stat_) add_stat(out, stat);
  }

  void add_cpus(Batch& out, const host::ProcStat& stat) const {
    static constexpr std::pair<CpuField, const char*> kModes[] = {
        {CpuField::user, "user"},       {CpuField::nice, "nice"},     {CpuField::system, "system"},
        {CpuField::idle, "idle"},       {CpuField::iowait, "iowait"}, {CpuField::irq, "irq"},
        {CpuField::softirq, "softirq"}, {CpuField::steal, "steal"}};
    static constexpr std::pair<CpuField, const char*> kGuestModes[] = {{CpuField::guest, "user"},
                                                                       {CpuField::guest_nice, "nice"}};
    out.describe("node_cpu_seconds_total", MetricType::counter, "Seconds the CPUs spent in each mode.");
    out.describe("node_cpu_guest_seconds_total", MetricType::counter,
                 "Seconds the CPUs spent in guests (VMs) for each mode.");
    for (const host::CpuTicks& cpu : stat.cpus) {
      const std::string number = std::to_string(cpu.cpu);
      auto add = [&](std::string_view family, CpuField field, const char* mode) {
        if (!cpu.has(field)) return;
        std::vector<Label> labels;
        labels.reserve(3);
        labels.push_back({std::string(kMetricNameLabel), std::string(family)});
        labels.push_back({"cpu", number});
        labels.push_back({"mode", mode});
        out.add(Labels::from_sorted(std::move(labels)), static_cast<double>(cpu[field]) / user_hz_);
      };
      for (const auto& [field, mode] : kModes) add("node_cpu_seconds_total", field, mode);
      for (const auto& [field, mode] : kGuestModes) add("node_cpu_guest_seconds_total", field, mode);
    }
  }

  static void add_stat(Batch& out, const host::ProcStat& stat) {
    auto add_scalar = [&](const char* name, MetricType type, const char* help,
                          std::optional<std::uint64_t> v) {
      if (!v) return;
      out.describe(name, type, help);
      out.add(series(name), static_cast<double>(*v));
    };
    add_scalar("node_boot_time_seconds", MetricType::gauge, "Node boot time, in unixtime.", stat.boot_time);
    add_scalar("node_context_switches_total", MetricType::counter, "Total number of context switches.",
               stat.context_switches);
    add_scalar("node_forks_total", MetricType::counter, "Total number of forks.", stat.forks);
    add_scalar("node_intr_total", MetricType::counter, "Total number of interrupts serviced.",
               stat.interrupts);
    add_scalar("node_procs_running", MetricType::gauge, "Number of processes in runnable state.",
               stat.procs_running);
    add_scalar("node_procs_blocked", MetricType::gauge,
               "Number of processes blocked waiting for I/O to complete.", stat.procs_blocked);
  }

  void collect_meminfo(Batch& out, std::string& errors) {
    std::string_view text;
    if (auto e = files_.read(meminfo_path_, text); e) return append_error(errors, e.message);
    try {
      for (const host::MeminfoField& field : host::parse_meminfo(text)) {
        std::string name = host::meminfo_metric_name(field);
        constexpr std::size_t kPrefix = std::string_view("node_memory_").size();
        out.describe(name, MetricType::gauge, "Memory information field " + name.substr(kPrefix) + ".");
        out.add(series(name), host::meminfo_metric_value(field));
      }
    } catch (const host::ParseError& e) {
      append_error(errors, where(meminfo_path_, e));
    }
  }

  void collect_loadavg(Batch& out, std::string& errors) {
    std::string_view text;
    if (auto e = files_.read(loadavg_path_, text); e) return append_error(errors, e.message);
    host::LoadAverage load;
    try {
      load = host::parse_loadavg(text);
    } catch (const host::ParseError& e) {
      return append_error(errors, where(loadavg_path_, e));
    }
    out.describe("node_load1", MetricType::gauge, "1m load average.");
    out.describe("node_load5", MetricType::gauge, "5m load average.");
    out.describe("node_load15", MetricType::gauge, "15m load average.");
    out.add(series("node_load1"), load.load1);
    out.add(series("node_load5"), load.load5);
    out.add(series("node_load15"), load.load15);
  }

  void collect_pressure(Batch& out) {
    struct Resource {
      const char* name;
      const char* waiting;
      const char* waiting_help;
      const char* stalled;
      const char* stalled_help;
    };
    static constexpr Resource kResources[] = {
        {"cpu", "node_pressure_cpu_waiting_seconds_total",
         "Total time in seconds that processes have waited for CPU time",
         "node_pressure_cpu_stalled_seconds_total",
         "Total time in seconds no process could make progress due to CPU congestion"},
        {"io", "node_pressure_io_waiting_seconds_total",
         "Total time in seconds that processes have waited due to IO congestion",
         "node_pressure_io_stalled_seconds_total",
         "Total time in seconds no process could make progress due to IO congestion"},
        {"memory", "node_pressure_memory_waiting_seconds_total",
         "Total time in seconds that processes have waited for memory",
         "node_pressure_memory_stalled_seconds_total",
         "Total time in seconds no process could make progress due to memory congestion"},
    };
    for (std::size_t i = 0; i < std::size(kResources); ++i) {
      const Resource& r = kResources[i];
      const std::string& path = pressure_paths_[i];
      const std::string& subject = pressure_subjects_[i];
      std::string_view text;
      if (auto e = files_.read(path, text); e) {
        // No PSI in this kernel (or booted with psi=0): the first file tells, and nothing else is tried.
        if (i == 0 && (e.code == ENOENT || e.code == EOPNOTSUPP)) {
          problems_.report(
              "pressure", spdlog::level::info,
              "pressure stall information not available (" + e.message + "); node_pressure_* left out");
          return;
        }
        problems_.report(subject, spdlog::level::warn,
                         e.message + "; node_pressure_" + r.name + "_* left out");
        continue;
      }
      if (i == 0) problems_.clear("pressure", [] { return "pressure stall information available again"; });
      host::PressureTotals totals;
      try {
        totals = host::parse_pressure(text);
      } catch (const host::ParseError& e) {
        problems_.report(subject, spdlog::level::warn,
                         where(path, e) + "; node_pressure_" + r.name + "_* left out");
        continue;
      }
      problems_.clear(subject, [&] { return path + ": readable again"; });
      out.describe(r.waiting, MetricType::counter, r.waiting_help);
      out.add(series(r.waiting), static_cast<double>(*totals.some_us) / 1e6);
      if (totals.full_us) {
        out.describe(r.stalled, MetricType::counter, r.stalled_help);
        out.add(series(r.stalled), static_cast<double>(*totals.full_us) / 1e6);
      }
    }
  }

  // node_exporter's filesystem collector: every mount of <proc>/1/mounts (else <proc>/mounts) whose
  // mount point and type are not excluded (or, when `mountpoints` is set, just those), statfs'd
  // under rootfs_path. A failing statfs gives node_filesystem_device_error 1 and nothing else.
  void collect_filesystems(Batch& out) {
    std::string_view text;
    std::vector<host::MountEntry> mounts;
    const std::string* path = &mounts_path_;
    auto e = files_.read(*path, text);
    if (e && e.code == ENOENT && !mounts_fallback_.empty()) {
      path = &mounts_fallback_;
      e = files_.read(*path, text);
    }
    if (e) {
      problems_.report("mounts", spdlog::level::warn, e.message + "; node_filesystem_* left out");
      return;
    }
    try {
      mounts = host::parse_mounts(text);
    } catch (const host::ParseError& e) {
      problems_.report("mounts", spdlog::level::warn, where(*path, e) + "; node_filesystem_* left out");
      return;
    }
    problems_.clear("mounts", [&] { return *path + ": readable again"; });

    out.describe("node_filesystem_size_bytes", MetricType::gauge, "Filesystem size in bytes.");
    out.describe("node_filesystem_free_bytes", MetricType::gauge, "Filesystem free space in bytes.");
    out.describe("node_filesystem_avail_bytes", MetricType::gauge,
                 "Filesystem space available to non-root users in bytes.");
    out.describe("node_filesystem_files", MetricType::gauge, "Filesystem total file nodes.");
    out.describe("node_filesystem_files_free", MetricType::gauge, "Filesystem total free file nodes.");
    out.describe("node_filesystem_readonly", MetricType::gauge, "Filesystem read-only status.");
    out.describe("node_filesystem_device_error", MetricType::gauge,
                 "Whether an error occurred while getting statistics for the given device.");
    std::vector<const host::MountEntry*> seen;
    for (std::string& mountpoint : missing_mountpoints_) mountpoint.clear();
    for (host::MountEntry& m : mounts) {
      if (!rootfs_.empty() && m.mountpoint.starts_with(rootfs_)) {  // node_exporter's rootfsStripPrefix
        m.mountpoint.erase(0, rootfs_.size());
        if (m.mountpoint.empty()) m.mountpoint = "/";
      }
    }
    for (const host::MountEntry& m : mounts) {
      if (!mountpoints_.empty()) {
        if (std::find(mountpoints_.begin(), mountpoints_.end(), m.mountpoint) == mountpoints_.end()) continue;
      } else if (mount_points_exclude_.matches(m.mountpoint) || fs_types_exclude_.matches(m.fstype)) {
        continue;
      }
      bool duplicate = false;
      for (const host::MountEntry* other : seen) {
        duplicate = duplicate || (other->device == m.device && other->mountpoint == m.mountpoint &&
                                  other->fstype == m.fstype);
      }
      if (duplicate) continue;
      seen.push_back(&m);
      auto add = [&](const char* name, double value) {
        out.add(Labels::from_sorted({{std::string(kMetricNameLabel), name},
                                     {"device", m.device},
                                     {"fstype", m.fstype},
                                     {"mountpoint", m.mountpoint}}),
                value);
      };
      const std::string subject = "statfs " + m.mountpoint;
      struct statfs st {};
      if (::statfs((rootfs_ + m.mountpoint).c_str(), &st) != 0) {
        const int code = errno;
        problems_.report(subject, spdlog::level::warn,
                         "statfs " + rootfs_ + m.mountpoint + ": " + std::strerror(code) +
                             "; node_filesystem_device_error 1");
        add("node_filesystem_device_error", 1);
        continue;
      }
      problems_.clear(subject, [&] { return "mount point " + m.mountpoint + " reported again"; });
      const auto block = static_cast<double>(st.f_bsize);
      bool readonly = false;
      for (std::string_view options = m.options; !options.empty();) {
        const std::size_t comma = options.find(',');
        readonly = readonly || options.substr(0, comma) == "ro";
        options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
      }
      add("node_filesystem_device_error", 0);
      add("node_filesystem_size_bytes", static_cast<double>(st.f_blocks) * block);
      add("node_filesystem_free_bytes", static_cast<double>(st.f_bfree) * block);
      add("node_filesystem_avail_bytes", static_cast<double>(st.f_bavail) * block);
      add("node_filesystem_files", static_cast<double>(st.f_files));
      add("node_filesystem_files_free", static_cast<double>(st.f_ffree));
      add("node_filesystem_readonly", readonly ? 1 : 0);
    }
    for (const std::string& mountpoint : mountpoints_) {
      bool found = false;
      for (const host::MountEntry* m : seen) found = found || m->mountpoint == mountpoint;
      if (!found) {
        problems_.report(mountpoint, spdlog::level::warn,
                         "mount point " + mountpoint + " is not in " + *path + "; left out");
      } else {
        problems_.clear(mountpoint, [&] { return "mount point " + mountpoint + " reported again"; });
      }
    }
  }

  static void collect_uname(Batch& out) {
    struct utsname u {};
    if (::uname(&u) != 0) return;  // cannot fail on Linux with a valid buffer
    out.describe("node_uname_info", MetricType::gauge,
                 "Labeled system information as provided by the uname system call.");
    out.add(Labels{{std::string(kMetricNameLabel), "node_uname_info"},
                   {"domainname", u.domainname},
                   {"machine", u.machine},
                   {"nodename", u.nodename},
                   {"release", u.release},
                   {"sysname", u.sysname},
                   {"version", u.version}},
            1);
  }

  std::string name_;
  std::string stat_path_;
  std::string meminfo_path_;
  std::string loadavg_path_;
  std::string pressure_dir_;
  std::vector<std::string> pressure_paths_;     // cpu, io, memory
  std::vector<std::string> pressure_subjects_;  // for problems_, in the same order
  std::string mounts_path_;
  std::string mounts_fallback_;  // <proc>/mounts when <proc>/1/mounts is missing; empty if mounts_file is set
  std::string rootfs_;           // without a trailing slash; empty for "/"
  bool cpu_, stat_, meminfo_, loadavg_, pressure_, filesystem_, uname_;
  std::vector<std::string> mountpoints_;  // without trailing slashes, no repeats; empty: all
  std::vector<std::string> missing_mountpoints_;
  host::NameRegex mount_points_exclude_;
  host::NameRegex fs_types_exclude_;
  double user_hz_ = 100.0;
  ProblemLog problems_;
  FileReader files_;                           // every file is read into its buffer in turn
  std::vector<host::CpuTicks> previous_cpus_;  // for keep_cpu_counters_monotonic
  std::vector<std::unique_ptr<host::Section>> sections_;
  std::optional<host::NetlinkLinks> netlink_;
};

}  // namespace

std::unique_ptr<Collector> make_host_collector(const config::HostCollectorConfig& config,
                                               std::shared_ptr<spdlog::logger> log) {
  if (!log) log = std::make_shared<spdlog::logger>("host");
  return std::make_unique<HostCollector>(config, std::move(log));
}

const Kind& host_kind() {
  static constexpr Kind kind = define_kind<config::HostCollectorConfig, make_host_collector>(
      "host", false, host::kOwnLabels, host::kFamilies);
  return kind;
}

}  // namespace tocsin::collectors
