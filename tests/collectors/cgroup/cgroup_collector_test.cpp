// The cgroup collector over cgroup v2 and v1 (hybrid) trees built in a temp dir in the kernel's file
// formats: cAdvisor's names and units with exact values, "max" limits, missing controllers, a cgroup
// removed mid-cycle, unreadable and malformed files; then a smoke test on this machine's cgroupfs.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "collectors/cgroup/cgroup.hpp"
#include "collectors/cgroup/reader.hpp"
#include "fixtures/process.hpp"

namespace tocsin::collectors {
namespace {

using store::Batch;
using tocsin::testing::TempDir;
namespace fs = std::filesystem;

constexpr const char* kWeb = "/system.slice/app-web.service";

Labels series(std::string_view family, const std::string& id, std::vector<Label> extra = {}) {
  std::vector<Label> labels = {
      {"__name__", std::string(family)}, {"id", id}, {"name", std::string(cgroup::cgroup_name(id))}};
  for (auto& l : extra) labels.push_back(std::move(l));
  return Labels::from_unsorted(std::move(labels));
}

std::optional<double> value(const Batch& batch, const Labels& labels) {
  for (const auto& s : batch.samples()) {
    if (s.labels == labels) return s.value;
  }
  return std::nullopt;
}
std::size_t count_id(const Batch& batch, std::string_view id) {
  std::size_t n = 0;
  for (const auto& s : batch.samples()) n += s.labels.get("id") == id;
  return n;
}
std::optional<store::MetricType> type(const Batch& batch, std::string_view family) {
  for (const auto& f : batch.families()) {
    if (f.name == family) return f.type;
  }
  return std::nullopt;
}

class CgroupTest : public ::testing::Test {
 protected:
  CgroupTest()
      : log_(std::make_shared<spdlog::logger>("cgroup",
                                              std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines_))) {
    config_.root = (dir_ / "cgroup").string();
    config_.self_cgroup_file = (dir_ / "self-cgroup").string();
    config_.block_devices_dir = (dir_ / "dev-block").string();
    fs::create_directories(dir_ / "dev-block");
  }

  void write(const std::string& rel, const std::string& content) {
    const fs::path path = dir_ / ("cgroup/" + rel);
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
  }

  // A v2 cgroup with every file, values as the kernel prints them.
  void v2_cgroup(const std::string& id, const std::string& cpu_max, const std::string& memory_max) {
    const std::string d = id.substr(1) + "/";
    write(d + "cgroup.procs", "");
    write(d + "cpu.stat",
          "usage_usec 12500000\nuser_usec 10000000\nsystem_usec 2500000\nnice_usec 0\n"
          "core_sched.force_idle_usec 0\nnr_periods 1000\nnr_throttled 250\nthrottled_usec 3000000\n"
          "nr_bursts 0\nburst_usec 0\n");
    write(d + "cpu.max", cpu_max);
    write(d + "memory.current", "104857600\n");
    write(d + "memory.stat",
          "anon 62914560\nfile 31457280\nkernel 4194304\nshmem 0\nactive_anon 0\ninactive_anon 62914560\n"
          "active_file 10485760\ninactive_file 20971520\nunevictable 0\n");
    write(d + "memory.swap.current", "4096\n");
    write(d + "memory.max", memory_max);
    write(d + "memory.high", "max\n");
    write(d + "memory.events", "low 0\nhigh 7\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n");
    write(d + "pids.current", "12\n");
    write(d + "pids.max", "max\n");
    write(d + "cpu.pressure",
          "some avg10=1.00 avg60=0.50 avg300=0.10 total=2000000\nfull avg10=0.50 avg60=0.20 avg300=0.05 "
          "total=1000000\n");
    write(d + "memory.pressure",
          "some avg10=0.00 avg60=0.00 avg300=0.00 total=500000\nfull avg10=0.00 avg60=0.00 avg300=0.00 "
          "total=250000\n");
    write(d + "io.pressure",
          "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
    write(d + "io.stat", "259:0 rbytes=180224 wbytes=4096 rios=17 wios=1 dbytes=0 dios=0\n");
  }

  void v2_tree() {
    write("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    write("cpu.stat", "usage_usec 900000000\nuser_usec 600000000\nsystem_usec 300000000\n");
    v2_cgroup(kWeb, "50000 100000\n", "1073741824\n");
    v2_cgroup("/system.slice/tocsin.service", "max 100000\n", "max\n");
    // Only the cpu.stat every cgroup has: no controllers enabled for it.
    write("system.slice/bare.service/cpu.stat", "usage_usec 1000\nuser_usec 600\nsystem_usec 400\n");
    write("user.slice/user-1000.slice/cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
    std::ofstream(dir_ / "self-cgroup") << "0::/system.slice/tocsin.service\n";
    fs::create_directory_symlink("../../devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1",
                                 dir_ / "dev-block/259:0");
  }

  Batch collect(std::unique_ptr<Collector>& collector) {
    if (!collector) collector = make_cgroup_collector(config_, log_);
    Batch batch;
    collector->collect({.timestamp = 1'700'000'000'000,
                        .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)},
                       batch);
    return batch;
  }
  Batch collect() {
    std::unique_ptr<Collector> collector;
    return collect(collector);
  }

  TempDir dir_{"tocsin-cgroup"};
  config::CgroupCollectorConfig config_;
  std::ostringstream log_lines_;
  std::shared_ptr<spdlog::logger> log_;
};

TEST_F(CgroupTest, V2ReportsCadvisorFamiliesWithExactValues) {
  v2_tree();
  config_.patterns = {"system.slice/app-*.service"};
  const Batch b = collect();
  const std::string web = kWeb;
  EXPECT_EQ(value(b, series("container_cpu_usage_seconds_total", web, {{"cpu", "total"}})), 12.5);
  EXPECT_EQ(value(b, series("container_cpu_user_seconds_total", web)), 10.0);
  EXPECT_EQ(value(b, series("container_cpu_system_seconds_total", web)), 2.5);
  EXPECT_EQ(value(b, series("container_cpu_cfs_periods_total", web)), 1000);
  EXPECT_EQ(value(b, series("container_cpu_cfs_throttled_periods_total", web)), 250);
  EXPECT_EQ(value(b, series("container_cpu_cfs_throttled_seconds_total", web)), 3.0);
  EXPECT_EQ(value(b, series("container_spec_cpu_quota", web)), 50000);
  EXPECT_EQ(value(b, series("container_spec_cpu_period", web)), 100000);
  EXPECT_EQ(value(b, series("container_memory_usage_bytes", web)), 104857600);
  EXPECT_EQ(value(b, series("container_memory_working_set_bytes", web)), 104857600 - 20971520);
  EXPECT_EQ(value(b, series("container_memory_rss", web)), 62914560);
  EXPECT_EQ(value(b, series("container_memory_cache", web)), 31457280);
  EXPECT_EQ(value(b, series("container_memory_swap", web)), 4096);
  EXPECT_EQ(value(b, series("container_spec_memory_limit_bytes", web)), 1073741824);
  EXPECT_EQ(value(b, series("container_spec_memory_high_bytes", web)), 0);  // "max"
  EXPECT_EQ(value(b, series("container_oom_events_total", web)), 1);
  EXPECT_EQ(value(b, series("container_memory_high_events_total", web)), 7);
  EXPECT_EQ(value(b, series("container_memory_max_events_total", web)), 3);
  EXPECT_EQ(value(b, series("container_pressure_cpu_waiting_seconds_total", web)), 2.0);
  EXPECT_EQ(value(b, series("container_pressure_cpu_stalled_seconds_total", web)), 1.0);
  EXPECT_EQ(value(b, series("container_pressure_memory_waiting_seconds_total", web)), 0.5);
  EXPECT_EQ(value(b, series("container_pressure_memory_stalled_seconds_total", web)), 0.25);
  EXPECT_EQ(value(b, series("container_pressure_io_stalled_seconds_total", web)), 0);
  EXPECT_EQ(value(b, series("container_fs_reads_bytes_total", web, {{"device", "/dev/nvme0n1"}})), 180224);
  EXPECT_EQ(value(b, series("container_fs_writes_bytes_total", web, {{"device", "/dev/nvme0n1"}})), 4096);
  EXPECT_EQ(value(b, series("container_fs_reads_total", web, {{"device", "/dev/nvme0n1"}})), 17);
  EXPECT_EQ(value(b, series("container_fs_writes_total", web, {{"device", "/dev/nvme0n1"}})), 1);
  EXPECT_EQ(value(b, series("container_threads", web)), 12);
  EXPECT_EQ(value(b, series("container_threads_max", web)), 0);  // "max": unlimited
  EXPECT_EQ(type(b, "container_cpu_usage_seconds_total"), store::MetricType::counter);
  EXPECT_EQ(type(b, "container_memory_working_set_bytes"), store::MetricType::gauge);
  EXPECT_EQ(type(b, "container_oom_events_total"), store::MetricType::counter);
  for (const auto& s : b.samples()) EXPECT_TRUE(type(b, s.labels.metric_name())) << s.labels.to_string();
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_cgroups"}}), 2);  // app-web and tocsin itself
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_read_errors_total"}}), 0);
  EXPECT_EQ(count_id(b, "/system.slice/bare.service"), 0u);  // not matched
  EXPECT_EQ(log_lines_.str(), "");
}

TEST_F(CgroupTest, V2SelfWithMaxLimitsAndUnknownDevice) {
  v2_tree();
  fs::remove(dir_ / "dev-block/259:0");  // the device name is not known: MAJ:MIN
  const Batch b = collect();
  const std::string self = "/system.slice/tocsin.service";
  EXPECT_EQ(value(b, series("container_spec_memory_limit_bytes", self)), 0);    // "max"
  EXPECT_EQ(value(b, series("container_spec_cpu_quota", self)), std::nullopt);  // "max": as cAdvisor, none
  EXPECT_EQ(value(b, series("container_spec_cpu_period", self)), 100000);
  EXPECT_EQ(value(b, series("container_fs_reads_total", self, {{"device", "259:0"}})), 17);
  EXPECT_EQ(count_id(b, kWeb), 0u);  // no patterns: only tocsin itself
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_cgroups"}}), 1);
}

TEST_F(CgroupTest, MissingControllersLeaveTheirMetricsOut) {
  v2_tree();
  config_.patterns = {"system.slice/bare.service"};
  config_.self = false;
  const Batch b = collect();
  const std::string bare = "/system.slice/bare.service";
  EXPECT_EQ(value(b, series("container_cpu_usage_seconds_total", bare, {{"cpu", "total"}})), 0.001);
  EXPECT_EQ(value(b, series("container_cpu_cfs_periods_total", bare)), std::nullopt);
  EXPECT_EQ(value(b, series("container_memory_usage_bytes", bare)), std::nullopt);
  EXPECT_EQ(count_id(b, bare), 3u);
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_read_errors_total"}}), 0);
  EXPECT_EQ(log_lines_.str(), "");
}

TEST_F(CgroupTest, PatternsUnitsAndTheCap) {
  v2_tree();
  config_.self = false;
  config_.units = {"app-web.service"};
  config_.patterns = {"user.slice/**"};
  Batch b = collect();
  EXPECT_GT(count_id(b, kWeb), 0u);
  EXPECT_GT(count_id(b, "/user.slice/user-1000.slice"), 0u);
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_cgroups"}}), 3);  // and /user.slice: ** matches no segment

  // Sorted by path, the first max_cgroups are kept; the rest are counted as dropped.
  config_.max_cgroups = 1;
  b = collect();
  EXPECT_GT(count_id(b, kWeb), 0u);
  EXPECT_EQ(count_id(b, "/user.slice/user-1000.slice"), 0u);
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_cgroups"}}), 1);
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_cgroups_limit"}}), 1);
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_cgroups_dropped"}}), 2);
}

TEST_F(CgroupTest, CgroupRemovedMidCycleIsLeftOutQuietly) {
  v2_tree();
  config_.patterns = {"system.slice/*.service"};
  cgroup::Reader reader(config_, log_);
  const auto targets = reader.discover();
  ASSERT_EQ(targets.size(), 3u);  // tocsin.service (self), then app-web and bare
  fs::remove_all(dir_ / ("cgroup" + std::string(kWeb)));
  Batch b;
  reader.read(targets, b);
  EXPECT_EQ(count_id(b, kWeb), 0u);
  EXPECT_GT(count_id(b, "/system.slice/bare.service"), 0u);
  EXPECT_EQ(reader.read_errors(), 0u);
  EXPECT_EQ(log_lines_.str(), "");
}

TEST_F(CgroupTest, UnreadableAndMalformedFilesAreLoggedOnceAndCounted) {
  v2_tree();
  config_.self = false;
  config_.patterns = {"system.slice/app-web.service"};
  const fs::path stat = dir_ / ("cgroup" + std::string(kWeb) + "/memory.stat");
  fs::remove(stat);
  fs::create_directory(stat);  // read(2) fails with EISDIR, even for root
  write(std::string(kWeb).substr(1) + "/memory.events", "high 7\nmax three\n");
  std::unique_ptr<Collector> c;
  Batch b = collect(c);
  EXPECT_EQ(value(b, series("container_memory_rss", kWeb)), std::nullopt);
  EXPECT_EQ(value(b, series("container_oom_events_total", kWeb)), std::nullopt);
  EXPECT_EQ(value(b, series("container_memory_usage_bytes", kWeb)), 104857600);  // the rest is there
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_read_errors_total"}}), 2);
  const std::string log = log_lines_.str();
  EXPECT_NE(log.find(stat.string() + ": Is a directory; its metrics are left out"), std::string::npos) << log;
  EXPECT_NE(log.find(config_.root + kWeb + "/memory.events:2: max: invalid value \"three\""),
            std::string::npos)
      << log;
  // Same problems next cycle: counted again, not logged again.
  b = collect(c);
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_read_errors_total"}}), 4);
  EXPECT_EQ(log_lines_.str(), log);
  // Fixed: one line says so.
  fs::remove(stat);
  write(std::string(kWeb).substr(1) + "/memory.stat", "anon 1\nfile 2\ninactive_file 3\n");
  b = collect(c);
  EXPECT_EQ(value(b, series("container_memory_rss", kWeb)), 1);
  EXPECT_NE(log_lines_.str().find("memory.stat: readable again"), std::string::npos);
}

TEST_F(CgroupTest, OomKillAndThrottlingWrittenIntoTheFilesShowUp) {
  v2_tree();
  config_.patterns = {"system.slice/app-web.service"};
  const std::string d = std::string(kWeb).substr(1) + "/";
  std::unique_ptr<Collector> c;
  Batch b = collect(c);
  EXPECT_EQ(value(b, series("container_oom_events_total", kWeb)), 1);
  write(d + "memory.events", "low 0\nhigh 9\nmax 5\noom 2\noom_kill 2\noom_group_kill 0\n");
  write(d + "cpu.stat",
        "usage_usec 13500000\nuser_usec 11000000\nsystem_usec 2500000\nnr_periods 1600\nnr_throttled 550\n"
        "throttled_usec 9000000\n");
  b = collect(c);
  EXPECT_EQ(value(b, series("container_oom_events_total", kWeb)), 2);
  EXPECT_EQ(value(b, series("container_memory_max_events_total", kWeb)), 5);
  EXPECT_EQ(value(b, series("container_cpu_cfs_throttled_periods_total", kWeb)), 550);
  EXPECT_EQ(value(b, series("container_cpu_cfs_throttled_seconds_total", kWeb)), 9.0);
}

TEST_F(CgroupTest, WorkingSetIsFlooredAtZero) {
  v2_tree();
  config_.self = false;
  config_.patterns = {"system.slice/app-web.service"};
  write(std::string(kWeb).substr(1) + "/memory.stat", "anon 1\nfile 2\ninactive_file 204857600\n");
  const Batch b = collect();
  EXPECT_EQ(value(b, series("container_memory_working_set_bytes", kWeb)), 0);
}

// This machine's layout: v1 controllers beside an empty unified mount, tocsin's memory cgroup apart
// from its cpu one.
TEST_F(CgroupTest, V1HybridSameNamesAndPerControllerPaths) {
  const std::string mem = "/process_api/db3f";
  write("cpu/cpu.stat",
        "nr_periods 400\nnr_throttled 100\nthrottled_time 2500000000\nnr_bursts 0\nburst_time 0\n");
  write("cpu/cpu.cfs_quota_us", "-1\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  write("cpuacct/cpuacct.usage", "8013050913421\n");
  write("cpuacct/cpuacct.stat", "user 724429\nsystem 76877\n");
  write("memory" + mem + "/memory.usage_in_bytes", "3608576\n");
  write("memory" + mem + "/memory.limit_in_bytes", "9223372036854771712\n");
  write("memory" + mem + "/memory.stat",
        "cache 655360\nrss 1724416\nswap 0\ninactive_file 286720\ntotal_cache 655360\ntotal_rss 1724416\n"
        "total_swap 8192\ntotal_inactive_file 286720\ntotal_active_file 368640\n");
  write("memory" + mem + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  write("pids/cgroup.procs", "");
  write("unified/cgroup.controllers", "");
  write("unified/cpu.pressure",
        "some avg10=6.48 avg60=3.85 avg300=2.49 total=2314024452\nfull avg10=0.00 avg60=0.00 avg300=0.00 "
        "total=0\n");
  // A watched service with a quota and a memory limit, in every controller's tree.
  write("cpu/system.slice/app-web.service/cpu.cfs_quota_us", "50000\n");
  write("cpu/system.slice/app-web.service/cpu.stat", "nr_periods 10\nnr_throttled 5\nthrottled_time 1000\n");
  write("memory/system.slice/app-web.service/memory.limit_in_bytes", "536870912\n");
  std::ofstream(dir_ / "self-cgroup")
      << "9:name=systemd:/\n8:pids:/\n4:memory:" << mem << "\n2:cpuacct:/\n1:cpu:/\n0::/\n";
  config_.patterns = {"system.slice/*.service"};
  const Batch b = collect();
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_EQ(value(b, series("container_cpu_usage_seconds_total", mem, {{"cpu", "total"}})), 8013.050913421);
  EXPECT_DOUBLE_EQ(*value(b, series("container_cpu_user_seconds_total", mem)), 724429 / hz);
  EXPECT_DOUBLE_EQ(*value(b, series("container_cpu_system_seconds_total", mem)), 76877 / hz);
  EXPECT_EQ(value(b, series("container_cpu_cfs_periods_total", mem)), 400);
  EXPECT_EQ(value(b, series("container_cpu_cfs_throttled_periods_total", mem)), 100);
  EXPECT_EQ(value(b, series("container_cpu_cfs_throttled_seconds_total", mem)), 2.5);
  EXPECT_EQ(value(b, series("container_spec_cpu_quota", mem)), std::nullopt);  // -1
  EXPECT_EQ(value(b, series("container_spec_cpu_period", mem)), 100000);
  EXPECT_EQ(value(b, series("container_memory_usage_bytes", mem)), 3608576);
  EXPECT_EQ(value(b, series("container_memory_working_set_bytes", mem)), 3608576 - 286720);
  EXPECT_EQ(value(b, series("container_memory_rss", mem)), 1724416);
  EXPECT_EQ(value(b, series("container_memory_cache", mem)), 655360);
  EXPECT_EQ(value(b, series("container_memory_swap", mem)), 8192);
  EXPECT_EQ(value(b, series("container_spec_memory_limit_bytes", mem)), 0);  // the kernel's "unlimited"
  EXPECT_EQ(value(b, series("container_oom_events_total", mem)), 2);
  EXPECT_EQ(value(b, series("container_pressure_cpu_waiting_seconds_total", mem)), 2314.024452);
  EXPECT_EQ(value(b, series("container_threads", mem)), std::nullopt);  // pids.current absent at the root

  const std::string web = kWeb;
  EXPECT_EQ(value(b, series("container_spec_cpu_quota", web)), 50000);
  EXPECT_EQ(value(b, series("container_cpu_cfs_throttled_seconds_total", web)), 1e-6);
  EXPECT_EQ(value(b, series("container_spec_memory_limit_bytes", web)), 536870912);
  EXPECT_EQ(value(b, series("container_cpu_usage_seconds_total", web, {{"cpu", "total"}})), std::nullopt);
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_read_errors_total"}}), 0);
  EXPECT_EQ(log_lines_.str(), "");
}

TEST_F(CgroupTest, NotACgroupMountFailsTheCycle) {
  fs::create_directories(dir_ / "cgroup");
  std::unique_ptr<Collector> c;
  try {
    collect(c);
    FAIL() << "no error";
  } catch (const CollectError& e) {
    EXPECT_EQ(std::string(e.what()), config_.root +
                                         " is not a cgroup mount: no cgroup.controllers (cgroup v2) and no "
                                         "cpu, cpuacct, memory or pids directory (cgroup v1)");
  }
}

TEST_F(CgroupTest, BadSelfCgroupFileIsLoggedAndTheRestReported) {
  v2_tree();
  config_.patterns = {"system.slice/app-web.service"};
  std::ofstream(dir_ / "self-cgroup") << "4:memory:/x\n";  // v1 only, but the tree is v2
  const Batch b = collect();
  EXPECT_GT(count_id(b, kWeb), 0u);
  EXPECT_EQ(count_id(b, "/system.slice/tocsin.service"), 0u);
  EXPECT_NE(log_lines_.str().find("no \"0::/path\" line"), std::string::npos) << log_lines_.str();
}

// Descriptors open in this process, /proc/self/fd's own included (the same in every count).
std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

Batch read_cycle(cgroup::Reader& reader) {
  Batch b;
  reader.read(reader.discover(), b);
  return b;
}

// The descriptor cache: a cgroup removed and re-created under the same path (a restarted service) is
// read from its new files, not from the descriptors of the old ones, which still read the old content
// on a regular filesystem.
TEST_F(CgroupTest, RecreatedCgroupIsReadFromItsNewFiles) {
  v2_tree();
  config_.self = false;
  config_.patterns = {"system.slice/app-web.service"};
  cgroup::Reader reader(config_, log_);
  Batch b = read_cycle(reader);
  EXPECT_EQ(value(b, series("container_memory_usage_bytes", kWeb)), 104857600);
  EXPECT_EQ(reader.open_files(), 15u);  // the directory and the 14 files read
  b = read_cycle(reader);               // from the kept descriptors
  EXPECT_EQ(value(b, series("container_memory_usage_bytes", kWeb)), 104857600);

  fs::remove_all(dir_ / ("cgroup" + std::string(kWeb)));
  v2_cgroup(kWeb, "20000 100000\n", "max\n");
  write(std::string(kWeb).substr(1) + "/memory.current", "5\n");
  b = read_cycle(reader);
  EXPECT_EQ(value(b, series("container_memory_usage_bytes", kWeb)), 5);
  EXPECT_EQ(value(b, series("container_spec_cpu_quota", kWeb)), 20000);
  EXPECT_EQ(value(b, series("container_spec_memory_limit_bytes", kWeb)), 0);
  EXPECT_EQ(reader.open_files(), 15u);  // the old ones closed
  EXPECT_EQ(reader.read_errors(), 0u);
  EXPECT_EQ(log_lines_.str(), "");
}

TEST_F(CgroupTest, RemovedCgroupsDescriptorsAreClosed) {
  v2_tree();
  config_.self = false;
  config_.patterns = {"system.slice/app-web.service", "system.slice/bare.service"};
  const std::size_t before = open_fds();
  {
    cgroup::Reader reader(config_, log_);
    read_cycle(reader);
    read_cycle(reader);
    EXPECT_EQ(open_fds(), before + 15 + 2);  // app-web: directory + 14 files; bare: directory + cpu.stat
    EXPECT_EQ(reader.open_files(), 17u);

    fs::remove_all(dir_ / ("cgroup" + std::string(kWeb)));
    const Batch b = read_cycle(reader);
    EXPECT_EQ(count_id(b, kWeb), 0u);
    EXPECT_GT(count_id(b, "/system.slice/bare.service"), 0u);
    EXPECT_EQ(open_fds(), before + 2);
    EXPECT_EQ(reader.open_files(), 2u);

    // Not read in a cycle (no longer matched, or over the cap) while still there: closed too.
    auto targets = reader.discover();
    ASSERT_EQ(targets.size(), 1u);
    Batch b2;
    reader.read({}, b2);
    EXPECT_EQ(open_fds(), before);
    reader.read(targets, b2);
    EXPECT_EQ(open_fds(), before + 2);
  }
  EXPECT_EQ(open_fds(), before);  // and all of them with the reader
}

TEST_F(CgroupTest, DescriptorBudgetIsHonoured) {
  v2_tree();
  config_.patterns = {"system.slice/*.service"};  // tocsin.service (self), app-web, bare: 32 descriptors
  Batch all;
  {
    cgroup::Reader unlimited(config_, log_);
    all = read_cycle(unlimited);
    EXPECT_EQ(unlimited.open_files(), 32u);
  }
  for (const std::size_t budget : {std::size_t{0}, std::size_t{5}, std::size_t{17}}) {
    config_.max_open_files = budget;
    const std::size_t before = open_fds();
    cgroup::Reader reader(config_, log_);
    EXPECT_EQ(reader.open_files_budget(), budget);
    for (int cycle = 0; cycle < 3; ++cycle) {
      const Batch b = read_cycle(reader);
      EXPECT_EQ(reader.open_files(), budget);
      EXPECT_EQ(open_fds(), before + budget);
      // Past the budget files are opened per cycle: the same samples.
      ASSERT_EQ(b.size(), all.size()) << budget;
      for (std::size_t i = 0; i < b.size(); ++i) {
        EXPECT_EQ(b.samples()[i].labels, all.samples()[i].labels);
        EXPECT_EQ(b.samples()[i].value, all.samples()[i].value);
      }
    }
  }
  EXPECT_EQ(log_lines_.str(), "");
}

std::string decode_errors(const std::string& text, std::size_t* max_open_files = nullptr) {
  yaml::Diagnostics diagnostics;
  YAML::Node doc = yaml::parse_yaml_string(text, "t.yaml", diagnostics);
  yaml::DecodeContext ctx{"t.yaml", "", &diagnostics, yaml::process_environment()};
  auto instances = decode_instances(cgroup_kind(), yaml::Node(doc, "cgroup", &ctx), std::chrono::seconds(15));
  if (max_open_files != nullptr && instances.size() == 1) {
    *max_open_files = instances[0].settings_as<config::CgroupCollectorConfig>().max_open_files;
  }
  return diagnostics.to_string();
}

TEST(CgroupConfig, MaxOpenFiles) {
  std::size_t n = 1;
  EXPECT_EQ(decode_errors("- {}\n", &n), "");
  EXPECT_EQ(n, 10000u);
  EXPECT_EQ(decode_errors("- {max_open_files: 0}\n", &n), "");
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(decode_errors("- {max_open_files: 2000000}\n"),
            "t.yaml:1:20: cgroup[0].max_open_files: must be between 0 and 1000000\n");
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// This machine's real cgroupfs: tocsin's own cgroup is there, with the values of the kernel's files
// for what does not change between two reads (limits, periods).
TEST(CgroupSmoke, RealSysFsCgroup) {
  if (!fs::exists("/sys/fs/cgroup/cgroup.controllers") && !fs::exists("/sys/fs/cgroup/memory")) {
    GTEST_SKIP() << "no cgroupfs at /sys/fs/cgroup";
  }
  config::CgroupCollectorConfig config;
  auto collector = make_cgroup_collector(config, nullptr);
  Batch b;
  collector->collect({.timestamp = 0, .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)},
                     b);
  const cgroup::ProcCgroup self = cgroup::parse_proc_cgroup(read_text("/proc/self/cgroup"));
  if (fs::exists("/sys/fs/cgroup/cgroup.controllers")) {
    const std::string id = *self.unified;
    const auto usage = value(b, series("container_cpu_usage_seconds_total", id, {{"cpu", "total"}}));
    ASSERT_TRUE(usage) << "no cpu usage for " << id;
    EXPECT_GT(*usage, 0);
    const std::string dir = "/sys/fs/cgroup" + (id == "/" ? std::string() : id);
    if (fs::exists(dir + "/memory.max")) {
      const auto max = cgroup::parse_single_value(read_text(dir + "/memory.max"));
      EXPECT_EQ(value(b, series("container_spec_memory_limit_bytes", id)),
                static_cast<double>(max.value_or(0)));
    }
  } else {
    const std::string memory = *self.v1_path("memory");
    const std::string cpu = *self.v1_path("cpu");
    const std::string id = memory.size() > cpu.size() ? memory : cpu;
    const auto usage = value(b, series("container_memory_usage_bytes", id));
    ASSERT_TRUE(usage) << "no memory usage for " << id;
    EXPECT_GT(*usage, 0);
    const auto limit =
        *cgroup::parse_single_value(read_text("/sys/fs/cgroup/memory" + memory + "/memory.limit_in_bytes"));
    EXPECT_EQ(value(b, series("container_spec_memory_limit_bytes", id)),
              limit >= (std::uint64_t{1} << 62) ? 0.0 : static_cast<double>(limit));
    const auto period = cgroup::parse_single_value(
        read_text("/sys/fs/cgroup/cpu" + (cpu == "/" ? std::string() : cpu) + "/cpu.cfs_period_us"));
    EXPECT_EQ(value(b, series("container_spec_cpu_period", id)), static_cast<double>(*period));
    EXPECT_GT(*value(b, series("container_cpu_usage_seconds_total", id, {{"cpu", "total"}})), 0);
  }
  EXPECT_EQ(value(b, {{"__name__", "tocsin_cgroup_read_errors_total"}}), 0);
}

}  // namespace
}  // namespace tocsin::collectors
