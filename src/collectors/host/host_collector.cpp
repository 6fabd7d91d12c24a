#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "collectors/host/families.hpp"
#include "collectors/host/host.hpp"
#include "collectors/host/proc_parsers.hpp"
#include "tocsin/collectors/problem_log.hpp"

namespace tocsin::collectors {

namespace {

using host::CpuField;
using store::Batch;
using store::MetricType;

// A procfs file is a few KiB; this only stops a proc_path that points at something endless.
constexpr std::size_t kMaxFileBytes = 16u << 20;

struct ReadError {
  int code = 0;         // errno, or 0 on success
  std::string message;  // names the file
};

// Reads a whole file with one open/read/close into `buffer`, which is reused across cycles (so a warm
// cycle allocates nothing for reading). `text` views the content until the next call.
ReadError read_file(const std::string& path, std::string& buffer, std::string_view& text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int code = errno;
    return {code, path + ": " + std::strerror(code)};
  }
  if (buffer.size() < 4096) buffer.resize(4096);
  std::size_t used = 0;
  ReadError error;
  for (;;) {
    if (used == buffer.size()) {
      if (buffer.size() >= kMaxFileBytes) {
        error = {EFBIG, path + ": larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB"};
        break;
      }
      buffer.resize(buffer.size() * 2);
    }
    const ssize_t n = ::read(fd, buffer.data() + used, buffer.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      error.code = errno;
      error.message = path + ": " + std::strerror(error.code);
      break;
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text = std::string_view(buffer.data(), used);
  return error;
}

std::string where(const std::string& path, const host::ParseError& e) {
  std::string out = path;
  if (e.line() > 0) out += ":" + std::to_string(e.line());
  return out + ": " + e.what();
}

void append_error(std::string& errors, const std::string& error) {
  if (!errors.empty()) errors += "; ";
  errors += error;
}

// Label sets built in sorted order (`__name__` sorts first), skipping the sort of Labels' constructor.
Labels series(std::string_view name) {
  return Labels::from_sorted({{std::string(kMetricNameLabel), std::string(name)}});
}

class HostCollector final : public Collector {
 public:
  HostCollector(const config::HostCollectorConfig& config, std::shared_ptr<spdlog::logger> log)
      : name_(config.common.name),
        stat_path_(config.proc_path + "/stat"),
        meminfo_path_(config.proc_path + "/meminfo"),
        loadavg_path_(config.proc_path + "/loadavg"),
        pressure_dir_(config.proc_path + "/pressure"),
        mounts_path_(config.mounts_file.empty() ? config.proc_path + "/mounts" : config.mounts_file),
        pressure_(config.pressure),
        problems_(std::move(log), "host collector " + config.common.name) {
    const long hz = ::sysconf(_SC_CLK_TCK);
    user_hz_ = hz > 0 ? static_cast<double>(hz) : 100.0;
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
  }

  std::string_view kind() const override { return "host"; }
  const std::string& name() const override { return name_; }

  void collect(const CollectContext& ctx, Batch& out) override {
    std::string errors;
    collect_stat(out, errors);
    collect_meminfo(out, errors);
    collect_loadavg(out, errors);
    if (!errors.empty()) throw CollectError(errors);
    if (pressure_) collect_pressure(out);
    collect_filesystems(out);
    collect_uname(out);
    out.describe("node_time_seconds", MetricType::gauge, "System time in seconds since epoch (1970).");
    out.add(series("node_time_seconds"), static_cast<double>(ctx.timestamp) / 1000.0);
  }

 private:
  void collect_stat(Batch& out, std::string& errors) {
    std::string_view text;
    if (auto e = read_file(stat_path_, buffer_, text); e.code != 0) return append_error(errors, e.message);
    host::ProcStat stat;
    try {
      stat = host::parse_proc_stat(text);
    } catch (const host::ParseError& e) {
      return append_error(errors, where(stat_path_, e));
    }
    host::keep_cpu_counters_monotonic(previous_cpus_, stat.cpus, static_cast<std::uint64_t>(3 * user_hz_));
    previous_cpus_ = stat.cpus;

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
        out.add(Labels::from_sorted(
                    {{std::string(kMetricNameLabel), std::string(family)}, {"cpu", number}, {"mode", mode}}),
                static_cast<double>(cpu[field]) / user_hz_);
      };
      for (const auto& [field, mode] : kModes) add("node_cpu_seconds_total", field, mode);
      for (const auto& [field, mode] : kGuestModes) add("node_cpu_guest_seconds_total", field, mode);
    }

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
    if (auto e = read_file(meminfo_path_, buffer_, text); e.code != 0) return append_error(errors, e.message);
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
    if (auto e = read_file(loadavg_path_, buffer_, text); e.code != 0) return append_error(errors, e.message);
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
      if (auto e = read_file(path, buffer_, text); e.code != 0) {
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

  void collect_filesystems(Batch& out) {
    if (mountpoints_.empty()) return;
    std::string_view text;
    std::vector<host::MountEntry> mounts;
    if (auto e = read_file(mounts_path_, buffer_, text); e.code != 0) {
      problems_.report("mounts", spdlog::level::warn, e.message + "; node_filesystem_* left out");
      return;
    }
    try {
      mounts = host::parse_mounts(text);
    } catch (const host::ParseError& e) {
      problems_.report("mounts", spdlog::level::warn,
                       where(mounts_path_, e) + "; node_filesystem_* left out");
      return;
    }
    problems_.clear("mounts", [&] { return mounts_path_ + ": readable again"; });

    out.describe("node_filesystem_size_bytes", MetricType::gauge, "Filesystem size in bytes.");
    out.describe("node_filesystem_free_bytes", MetricType::gauge, "Filesystem free space in bytes.");
    out.describe("node_filesystem_avail_bytes", MetricType::gauge,
                 "Filesystem space available to non-root users in bytes.");
    out.describe("node_filesystem_files", MetricType::gauge, "Filesystem total file nodes.");
    out.describe("node_filesystem_files_free", MetricType::gauge, "Filesystem total free file nodes.");
    out.describe("node_filesystem_readonly", MetricType::gauge, "Filesystem read-only status.");
    out.describe("node_filesystem_device_error", MetricType::gauge,
                 "Whether an error occurred while getting statistics for the given device.");
    for (const std::string& mountpoint : mountpoints_) {
      const std::string_view subject = mountpoint;  // mount points are absolute: no clash with other subjects
      // Mounts stack: the last entry for a mount point is the one visible there.
      const host::MountEntry* entry = nullptr;
      for (const auto& m : mounts) {
        if (m.mountpoint == mountpoint) entry = &m;
      }
      if (entry == nullptr) {
        problems_.report(subject, spdlog::level::warn,
                         "mount point " + mountpoint + " is not in " + mounts_path_ + "; left out");
        continue;
      }
      auto add = [&](const char* name, double value) {
        out.add(Labels::from_sorted({{std::string(kMetricNameLabel), name},
                                     {"device", entry->device},
                                     {"fstype", entry->fstype},
                                     {"mountpoint", mountpoint}}),
                value);
      };
      struct statvfs st {};
      if (::statvfs(mountpoint.c_str(), &st) != 0) {
        const int code = errno;
        problems_.report(
            subject, spdlog::level::warn,
            "statvfs " + mountpoint + ": " + std::strerror(code) + "; node_filesystem_device_error 1");
        add("node_filesystem_device_error", 1);
        continue;
      }
      problems_.clear(subject, [&] { return "mount point " + mountpoint + " reported again"; });
      const auto block = static_cast<double>(st.f_frsize);
      add("node_filesystem_size_bytes", static_cast<double>(st.f_blocks) * block);
      add("node_filesystem_free_bytes", static_cast<double>(st.f_bfree) * block);
      add("node_filesystem_avail_bytes", static_cast<double>(st.f_bavail) * block);
      add("node_filesystem_files", static_cast<double>(st.f_files));
      add("node_filesystem_files_free", static_cast<double>(st.f_ffree));
      add("node_filesystem_readonly", (st.f_flag & ST_RDONLY) != 0 ? 1 : 0);
      add("node_filesystem_device_error", 0);
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
  bool pressure_;
  std::vector<std::string> mountpoints_;  // without trailing slashes, no repeats
  double user_hz_ = 100.0;
  ProblemLog problems_;
  std::string buffer_;                         // every file is read into it in turn
  std::vector<host::CpuTicks> previous_cpus_;  // for keep_cpu_counters_monotonic
};

}  // namespace

std::unique_ptr<Collector> make_host_collector(const config::HostCollectorConfig& config,
                                               std::shared_ptr<spdlog::logger> log) {
  if (!log) log = std::make_shared<spdlog::logger>("host");
  return std::make_unique<HostCollector>(config, std::move(log));
}

const Kind& host_kind() {
  static constexpr Kind kind =
      define_kind<config::HostCollectorConfig, make_host_collector>("host", false, host::kOwnLabels);
  return kind;
}

}  // namespace tocsin::collectors
