// The cgroup collector's cycle over 500 cgroups: a cgroup v2 tree built in a temp dir with every file
// the collector reads (in the kernel's formats), then this machine's real cgroupfs (`**`, capped at
// 500) for comparison. One cycle = discover (walk + glob) + read every file + build the batch.
//
//   bench_cgroup [--cgroups N] [--cycles N]
//
// Prints the median and p90 wall time of a cycle, and samples per cycle. No peer (cAdvisor) runs on
// this machine, so none is measured beside it.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "collectors/cgroup/cgroup.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

void write(const fs::path& path, const std::string& content) { std::ofstream(path) << content; }

void make_cgroup(const fs::path& d) {
  fs::create_directories(d);
  write(d / "cgroup.procs", "");
  write(d / "cpu.stat",
        "usage_usec 12500000\nuser_usec 10000000\nsystem_usec 2500000\nnice_usec 0\n"
        "core_sched.force_idle_usec 0\nnr_periods 1000\nnr_throttled 250\nthrottled_usec 3000000\n"
        "nr_bursts 0\nburst_usec 0\n");
  write(d / "cpu.max", "50000 100000\n");
  write(d / "memory.current", "104857600\n");
  // memory.stat as Linux 6.x prints it: about 50 keys.
  std::string stat;
  for (const char* key : {"anon",
                          "file",
                          "kernel",
                          "kernel_stack",
                          "pagetables",
                          "sec_pagetables",
                          "percpu",
                          "sock",
                          "vmalloc",
                          "shmem",
                          "zswap",
                          "zswapped",
                          "file_mapped",
                          "file_dirty",
                          "file_writeback",
                          "swapcached",
                          "anon_thp",
                          "file_thp",
                          "shmem_thp",
                          "inactive_anon",
                          "active_anon",
                          "inactive_file",
                          "active_file",
                          "unevictable",
                          "slab_reclaimable",
                          "slab_unreclaimable",
                          "slab",
                          "workingset_refault_anon",
                          "workingset_refault_file",
                          "workingset_activate_anon",
                          "workingset_activate_file",
                          "workingset_restore_anon",
                          "workingset_restore_file",
                          "workingset_nodereclaim",
                          "pgscan",
                          "pgsteal",
                          "pgscan_kswapd",
                          "pgscan_direct",
                          "pgsteal_kswapd",
                          "pgsteal_direct",
                          "pgfault",
                          "pgmajfault",
                          "pgrefill",
                          "pgactivate",
                          "pgdeactivate",
                          "pglazyfree",
                          "pglazyfreed",
                          "zswpin",
                          "zswpout",
                          "thp_fault_alloc"}) {
    stat += std::string(key) + " 1234567\n";
  }
  write(d / "memory.stat", stat);
  write(d / "memory.swap.current", "0\n");
  write(d / "memory.max", "1073741824\n");
  write(d / "memory.high", "max\n");
  write(d / "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n");
  write(d / "pids.current", "12\n");
  write(d / "pids.max", "max\n");
  const std::string psi =
      "some avg10=0.00 avg60=0.00 avg300=0.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 "
      "total=654\n";
  write(d / "cpu.pressure", psi);
  write(d / "memory.pressure", psi);
  write(d / "io.pressure", psi);
  write(d / "io.stat", "259:0 rbytes=180224 wbytes=4096 rios=17 wios=1 dbytes=0 dios=0\n");
}

double cpu_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Figures {
  double median_ms = 0;
  double p90_ms = 0;
  double cpu_median_ms = 0;  // user + system CPU time of the cycle: what the machine's load does not inflate
  std::size_t samples = 0;
  double cgroups = 0;
};

Figures measure(const tocsin::config::CgroupCollectorConfig& config, int cycles) {
  auto log = std::make_shared<spdlog::logger>("cgroup", std::make_shared<spdlog::sinks::null_sink_mt>());
  auto collector = tocsin::collectors::make_cgroup_collector(config, log);
  std::vector<double> ms;
  std::vector<double> cpu;
  Figures f;
  for (int i = 0; i < cycles + 1; ++i) {
    tocsin::store::Batch batch;
    const auto start = Clock::now();
    const double cpu_start = cpu_ms();
    collector->collect({.timestamp = 0, .deadline = Clock::now() + std::chrono::seconds(10)}, batch);
    const double elapsed = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    const double cpu_elapsed = cpu_ms() - cpu_start;
    if (i == 0) continue;  // warm-up: first allocation of buffers, cold dentry cache
    ms.push_back(elapsed);
    cpu.push_back(cpu_elapsed);
    f.samples = batch.size();
    for (const auto& s : batch.samples()) {
      if (s.labels.metric_name() == "tocsin_cgroup_cgroups") f.cgroups = s.value;
    }
  }
  std::sort(ms.begin(), ms.end());
  f.median_ms = ms[ms.size() / 2];
  f.p90_ms = ms[ms.size() * 9 / 10];
  std::sort(cpu.begin(), cpu.end());
  f.cpu_median_ms = cpu[cpu.size() / 2];
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 500;
  int cycles = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--cgroups") == 0) n = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--cycles") == 0) cycles = std::atoi(argv[i + 1]);
  }
  if (n < 1 || cycles < 1) {
    std::fprintf(stderr, "usage: bench_cgroup [--cgroups N] [--cycles N]\n");
    return 2;
  }
  // In memory, as cgroupfs (kernfs) is: /dev/shm when it is a tmpfs, else the temp directory.
  const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const fs::path root = base / ("tocsin-bench-cgroup-" + std::to_string(::getpid()));
  fs::create_directories(root);
  write(root / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  write(root / "cpu.stat", "usage_usec 1\nuser_usec 1\nsystem_usec 0\n");
  // 500 services in system.slice, and tocsin itself among them.
  for (int i = 0; i < n; ++i) make_cgroup(root / "system.slice" / ("app-" + std::to_string(i) + ".service"));
  write(root / "self-cgroup", "0::/system.slice/app-0.service\n");

  tocsin::config::CgroupCollectorConfig config;
  config.root = root.string();
  config.self_cgroup_file = (root / "self-cgroup").string();
  config.patterns = {"system.slice/*.service"};
  config.max_cgroups = static_cast<std::size_t>(n);
  const Figures fake = measure(config, cycles);

  std::printf("cgroup collector, one cycle (discover + read + batch), %d cycles, median / p90:\n", cycles);
  std::printf(
      "  fake v2 tree in %s, %.0f cgroups x 15 files, %zu samples: %.2f ms / %.2f ms wall, "
      "%.2f ms CPU\n",
      base.c_str(), fake.cgroups, fake.samples, fake.median_ms, fake.p90_ms, fake.cpu_median_ms);
  // What the four optional files per cgroup (three PSI files and io.stat) cost.
  config.pressure = false;
  config.io = false;
  const Figures lean = measure(config, cycles);
  std::printf(
      "  the same with pressure: false, io: false (11 files), %zu samples: %.2f ms / %.2f ms wall, "
      "%.2f ms CPU\n",
      lean.samples, lean.median_ms, lean.p90_ms, lean.cpu_median_ms);

  tocsin::config::CgroupCollectorConfig real;
  real.patterns = {"**"};
  real.max_cgroups = static_cast<std::size_t>(n);
  try {
    const Figures r = measure(real, cycles);
    std::printf(
        "  this machine's /sys/fs/cgroup (kernfs), pattern \"**\", %.0f cgroups, %zu samples: %.2f ms / %.2f "
        "ms wall, %.2f ms CPU\n",
        r.cgroups, r.samples, r.median_ms, r.p90_ms, r.cpu_median_ms);
  } catch (const std::exception& e) {
    std::printf("  this machine's /sys/fs/cgroup: not measured (%s)\n", e.what());
  }
  std::printf(
      "  target: under 20 ms for 500 cgroups. No peer (cAdvisor) runs on this machine, so none is\n"
      "  measured beside it.\n");
  fs::remove_all(root);
  return 0;
}
