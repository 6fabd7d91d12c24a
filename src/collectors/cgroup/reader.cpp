#include "collectors/cgroup/reader.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <utility>

#include "tocsin/collectors/collector.hpp"

namespace tocsin::collectors::cgroup {

namespace {

using store::Batch;
using store::MetricType;

// A cgroupfs file is a few KiB (io.stat grows with devices); this only stops a root that points at
// something endless.
constexpr std::size_t kMaxFileBytes = 4u << 20;
// Deeper than any real tree (kubepods.slice/…/pod.slice/cri-containerd-….scope is 4); stops a loop.
constexpr int kMaxDepth = 32;
// The kernel's "no limit" on v1 is PAGE_COUNTER_MAX pages: 9223372036854771712 with 4 KiB pages,
// less with larger pages. No real limit comes near 2^62 bytes.
constexpr std::uint64_t kV1Unlimited = std::uint64_t{1} << 62;

enum F : std::size_t {
  cpu_usage,
  cpu_user,
  cpu_system,
  cfs_periods,
  cfs_throttled_periods,
  cfs_throttled_seconds,
  spec_cpu_quota,
  spec_cpu_period,
  mem_usage,
  mem_working_set,
  mem_rss,
  mem_cache,
  mem_swap,
  spec_mem_limit,
  spec_mem_high,
  oom_events,
  mem_high_events,
  mem_max_events,
  psi_cpu_waiting,
  psi_cpu_stalled,
  psi_memory_waiting,
  psi_memory_stalled,
  psi_io_waiting,
  psi_io_stalled,
  fs_reads_bytes,
  fs_writes_bytes,
  fs_reads,
  fs_writes,
  threads,
  threads_max,
  kFamilies
};

struct Family {
  const char* name;
  MetricType type;
  const char* help;
};

// cAdvisor's names, types and help texts (metrics/prometheus.go), except the three marked tocsin's own.
constexpr std::array<Family, kFamilies> kFamilyTable = {{
    {"container_cpu_usage_seconds_total", MetricType::counter, "Cumulative cpu time consumed in seconds."},
    {"container_cpu_user_seconds_total", MetricType::counter,
     "Cumulative user cpu time consumed in seconds."},
    {"container_cpu_system_seconds_total", MetricType::counter,
     "Cumulative system cpu time consumed in seconds."},
    {"container_cpu_cfs_periods_total", MetricType::counter,
     "Number of elapsed enforcement period intervals."},
    {"container_cpu_cfs_throttled_periods_total", MetricType::counter,
     "Number of throttled period intervals."},
    {"container_cpu_cfs_throttled_seconds_total", MetricType::counter,
     "Total time duration the container has been throttled."},
    {"container_spec_cpu_quota", MetricType::gauge, "CPU quota of the container."},
    {"container_spec_cpu_period", MetricType::gauge, "CPU period of the container."},
    {"container_memory_usage_bytes", MetricType::gauge,
     "Current memory usage in bytes, including all memory regardless of when it was accessed"},
    {"container_memory_working_set_bytes", MetricType::gauge, "Current working set in bytes."},
    {"container_memory_rss", MetricType::gauge, "Size of RSS in bytes."},
    {"container_memory_cache", MetricType::gauge, "Number of bytes of page cache memory."},
    {"container_memory_swap", MetricType::gauge, "Container swap usage in bytes."},
    {"container_spec_memory_limit_bytes", MetricType::gauge, "Memory limit for the container."},
    // tocsin's own: cAdvisor has no memory.high.
    {"container_spec_memory_high_bytes", MetricType::gauge,
     "Memory high threshold (memory.high) for the container, 0 if none."},
    {"container_oom_events_total", MetricType::counter,
     "Count of out of memory events observed for the container"},
    // tocsin's own: memory.events high and max.
    {"container_memory_high_events_total", MetricType::counter,
     "Number of times the container's memory usage went over memory.high and it was throttled."},
    {"container_memory_max_events_total", MetricType::counter,
     "Number of times the container's memory usage was about to go over memory.max."},
    {"container_pressure_cpu_waiting_seconds_total", MetricType::counter,
     "Total time duration tasks in the container have waited due to CPU congestion."},
    {"container_pressure_cpu_stalled_seconds_total", MetricType::counter,
     "Total time duration no tasks in the container could make progress due to CPU congestion."},
    {"container_pressure_memory_waiting_seconds_total", MetricType::counter,
     "Total time duration tasks in the container have waited due to memory congestion."},
    {"container_pressure_memory_stalled_seconds_total", MetricType::counter,
     "Total time duration no tasks in the container could make progress due to memory congestion."},
    {"container_pressure_io_waiting_seconds_total", MetricType::counter,
     "Total time duration tasks in the container have waited due to IO congestion."},
    {"container_pressure_io_stalled_seconds_total", MetricType::counter,
     "Total time duration no tasks in the container could make progress due to IO congestion."},
    {"container_fs_reads_bytes_total", MetricType::counter, "Cumulative count of bytes read"},
    {"container_fs_writes_bytes_total", MetricType::counter, "Cumulative count of bytes written"},
    {"container_fs_reads_total", MetricType::counter, "Cumulative count of reads completed"},
    {"container_fs_writes_total", MetricType::counter, "Cumulative count of writes completed"},
    {"container_threads", MetricType::gauge, "Number of threads running inside the container"},
    {"container_threads_max", MetricType::gauge,
     "Maximum number of threads allowed inside the container, infinity if value is zero"},
}};

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// cAdvisor's working set: usage less the inactive file cache, floored at 0 (the kernel's counters
// are not read atomically together).
double working_set(std::uint64_t usage, std::optional<std::uint64_t> inactive_file) {
  const std::uint64_t inactive = inactive_file.value_or(0);
  return inactive >= usage ? 0.0 : static_cast<double>(usage - inactive);
}

// The directory of `path` (absolute within the hierarchy) under `root`.
std::string join(const std::string& root, const std::string& path) {
  return path == "/" || path.empty() ? root : root + path;
}

std::string_view deepest(std::initializer_list<std::string_view> paths) {
  std::string_view out = "/";
  for (std::string_view p : paths) {
    if (p.size() > out.size()) out = p;
  }
  return out;
}

}  // namespace

// Adds samples of one cgroup, describing each family the first time the cycle uses it.
class Emitter {
 public:
  Emitter(Batch& out, std::vector<bool>& described, const std::string& id, Reader::CgroupLabels& cache)
      : out_(out), described_(described), cache_(cache), id_(id) {
    cache_.plain.resize(kFamilies);
  }

  void add(F family, double value) { add(family, value, nullptr, ""); }
  // `extra` is "cpu" or "device": both sort between __name__ and id.
  void add(F family, double value, const char* extra, std::string_view extra_value) {
    if (!described_[family]) {
      const Family& f = kFamilyTable[family];
      out_.describe(f.name, f.type, f.help);
      described_[family] = true;
    }
    Labels* labels = &cache_.plain[family];
    if (extra != nullptr) {
      auto it = std::find_if(cache_.extra.begin(), cache_.extra.end(), [&](const auto& e) {
        return e.family == family && std::strcmp(e.name, extra) == 0 && e.value == extra_value;
      });
      if (it == cache_.extra.end()) {
        it = cache_.extra.insert(cache_.extra.end(), {family, extra, std::string(extra_value), Labels()});
      }
      labels = &it->labels;
    }
    if (labels->empty()) *labels = build(family, extra, extra_value);
    out_.add(*labels, value);
  }
  // `value / divisor`: a division, so that 8013050913421 ns is exactly the double nearest 8013.050913421 s.
  void add(F family, std::optional<std::uint64_t> value, double divisor = 1.0, const char* extra = nullptr,
           std::string_view extra_value = "") {
    if (value) add(family, static_cast<double>(*value) / divisor, extra, extra_value);
  }

 private:
  // {__name__, family} per family, built once.
  static const std::array<Label, kFamilies>& name_labels() {
    static const std::array<Label, kFamilies> labels = [] {
      std::array<Label, kFamilies> out;
      for (std::size_t i = 0; i < kFamilies; ++i)
        out[i] = {std::string(kMetricNameLabel), kFamilyTable[i].name};
      return out;
    }();
    return labels;
  }

  // Built once per cgroup and family, then the same set every cycle.
  Labels build(F family, const char* extra, std::string_view extra_value) const {
    std::vector<Label> labels;
    labels.reserve(extra != nullptr ? 4 : 3);
    labels.push_back(name_labels()[family]);
    if (extra != nullptr) labels.push_back({extra, std::string(extra_value)});
    labels.push_back({"id", id_});
    labels.push_back({"name", std::string(cgroup_name(id_))});
    return Labels::from_sorted(std::move(labels));
  }

  Batch& out_;
  std::vector<bool>& described_;
  Reader::CgroupLabels& cache_;
  const std::string& id_;  // the labels' id and name, copied only when a set is built
};

Reader::Reader(const config::CgroupCollectorConfig& config, std::shared_ptr<spdlog::logger> log)
    : config_(config), problems_(std::move(log), "cgroup collector " + config.common.name) {
  while (config_.root.size() > 1 && config_.root.back() == '/') config_.root.pop_back();
  globs_ = config_.patterns;
  for (const std::string& unit : config_.units) globs_.push_back("**/" + unit);
  const long hz = ::sysconf(_SC_CLK_TCK);
  user_hz_ = hz > 0 ? static_cast<double>(hz) : 100.0;
  // Half the soft limit at most: the rest of tocsin (sockets, other collectors) needs descriptors too,
  // and running out would fail far more than this collector.
  budget_ = config_.max_open_files;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    budget_ = std::min<std::size_t>(budget_, static_cast<std::size_t>(limit.rlim_cur / 2));
  }
}

std::vector<Target> Reader::discover() {
  // Detected every cycle (a few stat calls): a root mounted after tocsin started is picked up.
  const std::string& root = config_.root;
  cpu_root_.clear();
  cpuacct_root_.clear();
  memory_root_.clear();
  pids_root_.clear();
  unified_root_.clear();
  if (::access((root + "/cgroup.controllers").c_str(), F_OK) == 0) {
    hierarchy_ = Hierarchy::unified;
    unified_root_ = root;
  } else {
    hierarchy_ = Hierarchy::v1;
    auto controller = [&](const char* name, std::string& out) {
      if (is_dir(root + "/" + name)) out = root + "/" + name;
    };
    controller("cpu", cpu_root_);
    controller("cpuacct", cpuacct_root_);
    controller("memory", memory_root_);
    controller("pids", pids_root_);
    if (::access((root + "/unified/cgroup.controllers").c_str(), F_OK) == 0)
      unified_root_ = root + "/unified";
    if (cpu_root_.empty() && cpuacct_root_.empty() && memory_root_.empty() && pids_root_.empty()) {
      const int code = errno;
      throw CollectError(root + " is not a cgroup mount: no cgroup.controllers (cgroup v2) and no cpu, " +
                         "cpuacct, memory or pids directory (cgroup v1)" +
                         (code == EACCES ? std::string(": ") + std::strerror(code) : std::string()));
    }
  }

  std::vector<Target> out;
  if (config_.self) {
    std::string_view text;
    Dir cwd;  // not cached: read once per cycle, as it changes when tocsin is moved
    cwd.dirfd = AT_FDCWD;
    if (read_file(cwd, "", config_.self_cgroup_file.c_str(), text)) {
      try {
        const ProcCgroup self = parse_proc_cgroup(text);
        Target t;
        if (hierarchy_ == Hierarchy::unified) {
          if (!self.unified) throw ParseError(0, "no \"0::/path\" line for the unified hierarchy");
          t.id = t.unified = *self.unified;
        } else {
          auto path = [&](const char* controller) {
            const std::string* p = self.v1_path(controller);
            return p != nullptr ? *p : std::string();
          };
          t.cpu = path("cpu");
          t.cpuacct = path("cpuacct");
          t.memory = path("memory");
          t.pids = path("pids");
          t.unified = self.unified.value_or("");
          t.id = std::string(deepest({t.cpu, t.cpuacct, t.memory, t.pids}));
        }
        out.push_back(std::move(t));
        problems_.clear("self", [&] { return config_.self_cgroup_file + ": readable again"; });
      } catch (const ParseError& e) {
        std::string where = config_.self_cgroup_file;
        if (e.line() > 0) where += ":" + std::to_string(e.line());
        problems_.report("self", spdlog::level::warn,
                         where + ": " + e.what() + "; tocsin's own cgroup left out");
      }
    }
  }

  std::set<std::string> found;
  if (!globs_.empty()) {
    if (hierarchy_ == Hierarchy::unified) {
      walk(root, "", 0, found);
    } else {
      // Each v1 controller is a tree of its own; a cgroup is reported when some tree has it. Trees
      // mounted together (cpu,cpuacct) are walked once.
      std::set<std::string> walked;
      for (const std::string* r : {&cpu_root_, &cpuacct_root_, &memory_root_, &pids_root_}) {
        if (r->empty()) continue;
        std::error_code ec;
        std::string canonical = std::filesystem::canonical(*r, ec).string();
        if (ec) canonical = *r;
        if (walked.insert(canonical).second) walk(*r, "", 0, found);
      }
    }
  }
  if (!out.empty()) found.erase(out.front().id);
  matched_ = found.size();
  std::size_t taken = 0;
  for (const std::string& id : found) {
    if (taken == config_.max_cgroups) break;
    Target t;
    t.id = id;
    t.unified = id;
    if (hierarchy_ == Hierarchy::v1) t.cpu = t.cpuacct = t.memory = t.pids = id;  // v2 reads only `unified`
    out.push_back(std::move(t));
    ++taken;
  }
  dropped_ = matched_ - taken;
  return out;
}

void Reader::walk(const std::string& dir, const std::string& rel, int depth, std::set<std::string>& found) {
  if (rel.empty()) {
    for (const std::string& g : globs_) {
      if (glob_match(g, "")) found.insert("/");
    }
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;  // removed while walking, or unreadable: nothing below it to report
  std::vector<std::pair<std::string, std::string>> children;  // directory, relative path
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    std::string path = dir + "/" + e->d_name;
    if (e->d_type == DT_UNKNOWN && !is_dir(path)) continue;
    std::string child = rel.empty() ? std::string(e->d_name) : rel + "/" + e->d_name;
    bool descend = false;
    for (const std::string& g : globs_) {
      if (glob_match(g, child)) found.insert("/" + child);
      descend = descend || glob_may_descend(g, child);
    }
    if (descend && depth + 1 < kMaxDepth) children.emplace_back(std::move(path), std::move(child));
  }
  ::closedir(d);
  for (const auto& [path, child] : children) walk(path, child, depth + 1, found);
}

int Reader::read_fd(int fd, std::size_t& used) {
  if (buffer_.size() < 16384) buffer_.resize(16384);
  used = 0;
  for (;;) {
    // From offset 0: kernfs regenerates the content then, so a descriptor kept open reads fresh values.
    const ssize_t n = ::pread(fd, buffer_.data() + used, buffer_.size() - used, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    used += static_cast<std::size_t>(n);
    // kernfs hands a whole file to one read that is large enough: a short read is the end. Only a
    // full buffer needs another read.
    if (n == 0 || used < buffer_.size()) return 0;
    if (buffer_.size() >= kMaxFileBytes) return EFBIG;
    buffer_.resize(buffer_.size() * 2);
  }
}

bool Reader::read_file(Dir& d, const std::string& dir, const char* file, std::string_view& text) {
  text = {};
  auto error = [&](int code) {
    if (code == ENOENT || code == ENODEV) return false;  // no such controller here, or the cgroup is gone
    const std::string path = dir.empty() ? std::string(file) : dir + "/" + file;
    if (code == EFBIG) {
      fail(file, path + ": larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
    } else {
      fail(file, path + ": " + std::strerror(code));
    }
    return false;
  };
  std::size_t used = 0;
  for (auto it = d.files.begin(); it != d.files.end(); ++it) {
    if (it->name != file && std::strcmp(it->name, file) != 0) continue;  // the same literal, mostly
    const int code = read_fd(it->fd, used);
    if (code == 0) {
      text = std::string_view(buffer_.data(), used);
      return true;
    }
    ::close(it->fd);
    d.files.erase(it);
    --open_files_;
    // The file went away under its descriptor (controller disabled, cgroup removed): open it anew,
    // which finds the new file or reports it missing. Any other error is the file's own.
    if (code != ENODEV && code != ENOENT && code != ESTALE) return error(code);
    break;
  }
  const int fd = ::openat(d.dirfd, file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return error(errno);
  const int code = read_fd(fd, used);
  if (code != 0) {
    ::close(fd);
    return error(code);
  }
  if (d.cached && open_files_ < budget_) {
    d.files.push_back({file, fd});
    ++open_files_;
  } else {
    ::close(fd);
  }
  text = std::string_view(buffer_.data(), used);
  return true;
}

Reader::Dir* Reader::enter(const std::string& path) {
  struct stat st {};
  auto it = dirs_.find(path);
  if (::stat(path.c_str(), &st) != 0) {
    const int code = errno;
    if (it != dirs_.end()) {  // removed: its descriptors go now, not at the end of the cycle
      close_dir(it->second);
      dirs_.erase(it);
    }
    if (code != ENOENT && code != ENOTDIR) fail("(directory)", path + ": " + std::strerror(code));
    return nullptr;  // removed since discover(): nothing to report
  }
  if (it != dirs_.end()) {
    if (it->second.dev == st.st_dev && it->second.ino == st.st_ino) {
      it->second.cycle = cycle_;
      return &it->second;
    }
    close_dir(it->second);  // removed and re-created: the old descriptors read the old files
    dirs_.erase(it);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno != ENOENT) fail("(directory)", path + ": " + std::strerror(errno));
    return nullptr;
  }
  Dir d;
  d.dirfd = fd;
  d.cycle = cycle_;
  if (::fstat(fd, &st) == 0) {  // the directory opened, which may be newer than the one stat() saw
    d.dev = st.st_dev;
    d.ino = st.st_ino;
  }
  if (open_files_ < budget_) {
    d.cached = true;
    ++open_files_;
    return &dirs_.insert_or_assign(path, std::move(d)).first->second;
  }
  scratch_ = std::move(d);
  return &scratch_;
}

void Reader::leave(Dir* d) {
  if (d == &scratch_) close_dir(scratch_);
}

void Reader::close_dir(Dir& d) {
  for (const Dir::File& f : d.files) ::close(f.fd);
  if (d.dirfd >= 0) ::close(d.dirfd);
  if (d.cached) open_files_ -= d.files.size() + 1;
  d.files.clear();
  d.dirfd = -1;
}

Reader::~Reader() {
  for (auto& [path, d] : dirs_) close_dir(d);
}

void Reader::fail(const char* file, const std::string& message) {
  ++read_errors_;
  if (!failing_now_.insert(file).second) return;  // one line per file per cycle
  problems_.report(file, spdlog::level::warn, message + "; its metrics are left out");
}

void Reader::read(const std::vector<Target>& targets, Batch& out) {
  failing_now_.clear();
  described_.assign(kFamilies, false);
  ++cycle_;
  out.samples().reserve(out.size() + last_samples_ + last_samples_ / 8);
  out.set_labels_cached(true);
  const std::size_t before = out.size();
  for (const Target& t : targets) {
    CgroupLabels& cache = labels_[t.id];
    cache.cycle = cycle_;
    Emitter emit(out, described_, t.id, cache);
    if (hierarchy_ == Hierarchy::unified) {
      read_v2(t, emit);
    } else {
      read_v1(t, emit);
    }
  }
  for (const std::string& file : failing_) {
    if (!failing_now_.contains(file)) problems_.clear(file, [&] { return file + ": readable again"; });
  }
  failing_ = failing_now_;
  last_samples_ = out.size() - before;
  std::erase_if(labels_, [&](const auto& kv) { return kv.second.cycle != cycle_; });
  // Cgroups that were not read in this cycle (removed, no longer matched, over the cap) give their
  // descriptors back.
  for (auto it = dirs_.begin(); it != dirs_.end();) {
    if (it->second.cycle == cycle_) {
      ++it;
    } else {
      close_dir(it->second);
      it = dirs_.erase(it);
    }
  }
}

void Reader::read_v2(const Target& t, Emitter& emit) {
  const std::string dir = join(unified_root_, t.unified);
  const Entered d(*this, enter(dir));
  if (d.dir == nullptr) return;  // removed since discover(): nothing to report
  std::string_view text;
  auto flat = [&](std::string_view s) -> const std::vector<KeyValue>& {
    parse_flat_keyed(s, keys_);
    return keys_;
  };
  auto parse = [&](const char* file, auto fn) {
    if (!read_file(*d.dir, dir, file, text)) return;
    try {
      fn(text);
    } catch (const ParseError& e) {
      fail(file, dir + "/" + file + (e.line() > 0 ? ":" + std::to_string(e.line()) : std::string()) + ": " +
                     e.what());
    }
  };

  parse("cpu.stat", [&](std::string_view s) {
    const auto keys = flat(s);
    emit.add(cpu_usage, find(keys, "usage_usec"), 1e6, "cpu", "total");
    emit.add(cpu_user, find(keys, "user_usec"), 1e6);
    emit.add(cpu_system, find(keys, "system_usec"), 1e6);
    emit.add(cfs_periods, find(keys, "nr_periods"));
    emit.add(cfs_throttled_periods, find(keys, "nr_throttled"));
    emit.add(cfs_throttled_seconds, find(keys, "throttled_usec"), 1e6);
  });
  parse("cpu.max", [&](std::string_view s) {
    const CpuMax max = parse_cpu_max(s);
    emit.add(spec_cpu_quota, max.quota_us);  // as cAdvisor: left out when there is no quota
    emit.add(spec_cpu_period, static_cast<double>(max.period_us));
  });
  std::optional<std::uint64_t> usage;
  parse("memory.current", [&](std::string_view s) {
    usage = parse_single_value(s);
    if (!usage) throw ParseError(1, "\"max\" is not a usage");
    emit.add(mem_usage, usage);
  });
  parse("memory.stat", [&](std::string_view s) {
    const auto keys = flat(s);
    emit.add(mem_rss, find(keys, "anon"));
    emit.add(mem_cache, find(keys, "file"));
    if (usage) emit.add(mem_working_set, working_set(*usage, find(keys, "inactive_file")));
  });
  parse("memory.swap.current", [&](std::string_view s) { emit.add(mem_swap, parse_single_value(s)); });
  parse("memory.max", [&](std::string_view s) {
    emit.add(spec_mem_limit, static_cast<double>(parse_single_value(s).value_or(0)));
  });
  parse("memory.high", [&](std::string_view s) {
    emit.add(spec_mem_high, static_cast<double>(parse_single_value(s).value_or(0)));
  });
  parse("memory.events", [&](std::string_view s) {
    const auto keys = flat(s);
    emit.add(oom_events, find(keys, "oom_kill"));
    emit.add(mem_high_events, find(keys, "high"));
    emit.add(mem_max_events, find(keys, "max"));
  });
  parse("pids.current", [&](std::string_view s) { emit.add(threads, parse_single_value(s)); });
  parse("pids.max", [&](std::string_view s) {
    emit.add(threads_max, static_cast<double>(parse_single_value(s).value_or(0)));
  });
  if (config_.pressure) read_pressure(*d.dir, dir, emit);
  if (config_.io) {
    parse("io.stat", [&](std::string_view s) {
      for (const IoDevice& dev : parse_io_stat(s)) {
        const std::string& device = device_name(dev.major, dev.minor);
        emit.add(fs_reads_bytes, dev.rbytes, 1.0, "device", device);
        emit.add(fs_writes_bytes, dev.wbytes, 1.0, "device", device);
        emit.add(fs_reads, dev.rios, 1.0, "device", device);
        emit.add(fs_writes, dev.wios, 1.0, "device", device);
      }
    });
  }
}

void Reader::read_pressure(Dir& d, const std::string& dir, Emitter& emit) {
  static constexpr std::tuple<const char*, F, F> kFiles[] = {
      {"cpu.pressure", psi_cpu_waiting, psi_cpu_stalled},
      {"memory.pressure", psi_memory_waiting, psi_memory_stalled},
      {"io.pressure", psi_io_waiting, psi_io_stalled},
  };
  for (const auto& [file, waiting, stalled] : kFiles) {
    std::string_view text;
    if (!read_file(d, dir, file, text)) continue;
    try {
      const PressureTotals totals = parse_pressure(text);
      emit.add(waiting, totals.some_us, 1e6);
      emit.add(stalled, totals.full_us, 1e6);
    } catch (const ParseError& e) {
      fail(file, dir + "/" + file + (e.line() > 0 ? ":" + std::to_string(e.line()) : std::string()) + ": " +
                     e.what());
    }
  }
}

void Reader::read_v1(const Target& t, Emitter& emit) {
  // Each controller in its own tree; a controller that is not mounted, or does not have this cgroup,
  // is skipped.
  std::string dir;
  std::string_view text;
  auto flat = [&](std::string_view s) -> const std::vector<KeyValue>& {
    parse_flat_keyed(s, keys_);
    return keys_;
  };
  auto open_dir = [&](const std::string& root, const std::string& path) -> Dir* {
    if (root.empty() || path.empty()) return nullptr;
    dir = join(root, path);
    return enter(dir);
  };
  auto parse = [&](Dir* d, const char* file, auto fn) {
    if (d == nullptr || !read_file(*d, dir, file, text)) return;
    try {
      fn(text);
    } catch (const ParseError& e) {
      fail(file, dir + "/" + file + (e.line() > 0 ? ":" + std::to_string(e.line()) : std::string()) + ": " +
                     e.what());
    }
  };

  {
    const Entered fd(*this, open_dir(cpuacct_root_, t.cpuacct));
    parse(fd.dir, "cpuacct.usage",
          [&](std::string_view s) { emit.add(cpu_usage, parse_single_value(s), 1e9, "cpu", "total"); });
    parse(fd.dir, "cpuacct.stat", [&](std::string_view s) {
      const auto keys = flat(s);  // USER_HZ ticks
      emit.add(cpu_user, find(keys, "user"), user_hz_);
      emit.add(cpu_system, find(keys, "system"), user_hz_);
    });
  }
  {
    const Entered fd(*this, open_dir(cpu_root_, t.cpu));
    parse(fd.dir, "cpu.stat", [&](std::string_view s) {
      const auto keys = flat(s);
      emit.add(cfs_periods, find(keys, "nr_periods"));
      emit.add(cfs_throttled_periods, find(keys, "nr_throttled"));
      emit.add(cfs_throttled_seconds, find(keys, "throttled_time"), 1e9);
    });
    parse(fd.dir, "cpu.cfs_quota_us", [&](std::string_view s) {
      const std::int64_t quota = parse_signed_value(s);
      if (quota > 0) emit.add(spec_cpu_quota, static_cast<double>(quota));  // -1: no quota
    });
    parse(fd.dir, "cpu.cfs_period_us",
          [&](std::string_view s) { emit.add(spec_cpu_period, parse_single_value(s)); });
  }
  {
    const Entered fd(*this, open_dir(memory_root_, t.memory));
    std::optional<std::uint64_t> usage;
    parse(fd.dir, "memory.usage_in_bytes", [&](std::string_view s) {
      usage = parse_single_value(s);
      emit.add(mem_usage, usage);
    });
    parse(fd.dir, "memory.stat", [&](std::string_view s) {
      const auto keys = flat(s);
      emit.add(mem_rss, find(keys, "total_rss"));
      emit.add(mem_cache, find(keys, "total_cache"));
      emit.add(mem_swap, find(keys, "total_swap"));
      if (usage) emit.add(mem_working_set, working_set(*usage, find(keys, "total_inactive_file")));
    });
    parse(fd.dir, "memory.limit_in_bytes", [&](std::string_view s) {
      const std::uint64_t limit = parse_single_value(s).value_or(0);
      emit.add(spec_mem_limit, limit >= kV1Unlimited ? 0.0 : static_cast<double>(limit));
    });
    parse(fd.dir, "memory.oom_control", [&](std::string_view s) {
      emit.add(oom_events, find(flat(s), "oom_kill"));  // Linux >= 4.13
    });
  }
  {
    const Entered fd(*this, open_dir(pids_root_, t.pids));
    parse(fd.dir, "pids.current", [&](std::string_view s) { emit.add(threads, parse_single_value(s)); });
    parse(fd.dir, "pids.max", [&](std::string_view s) {
      emit.add(threads_max, static_cast<double>(parse_single_value(s).value_or(0)));
    });
  }
  if (config_.pressure) {
    // The hybrid's unified tree has PSI for the same cgroup paths (systemd mirrors them there).
    const Entered fd(*this, open_dir(unified_root_, t.unified));
    if (fd.dir != nullptr) read_pressure(*fd.dir, dir, emit);
  }
}

const std::string& Reader::device_name(unsigned major, unsigned minor) {
  const std::uint64_t key = (std::uint64_t{major} << 32) | minor;
  auto it = devices_.find(key);
  if (it != devices_.end()) return it->second;
  const std::string number = std::to_string(major) + ":" + std::to_string(minor);
  // /sys/dev/block/8:0 -> ../../devices/.../block/sda; cAdvisor names devices /dev/<name>.
  std::string name = number;
  std::array<char, 4096> target{};
  const std::string link = config_.block_devices_dir + "/" + number;
  const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
  if (n > 0) {
    std::string_view t(target.data(), static_cast<std::size_t>(n));
    const std::size_t slash = t.rfind('/');
    if (slash != std::string_view::npos) t.remove_prefix(slash + 1);
    if (!t.empty()) name = "/dev/" + std::string(t);
  }
  if (devices_.size() >= 4096) devices_.clear();  // bounded: devices come and go with loop/dm devices
  return devices_.emplace(key, std::move(name)).first->second;
}

}  // namespace tocsin::collectors::cgroup
