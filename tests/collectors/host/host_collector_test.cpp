// The host collector over a proc tree in a temp dir, filled with files captured from a real host:
// node_exporter's names, labels and units, and what happens when files are missing or broken.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "collectors/host/host.hpp"
#include "fixtures/process.hpp"
#include "real_file.hpp"

namespace tocsin::collectors {
namespace {

using store::Batch;
using tocsin::testing::TempDir;

using tocsin::collectors::host::captured::real;

class HostCollectorTest : public ::testing::Test {
 protected:
  HostCollectorTest()
      : log_(std::make_shared<spdlog::logger>("host",
                                              std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines_))) {
    for (const char* file :
         {"stat", "meminfo", "loadavg", "mounts", "pressure/cpu", "pressure/io", "pressure/memory"}) {
      std::filesystem::create_directories(dir_ / "pressure");
      dir_.write(file, real(file));
    }
    config_.proc_path = dir_.path().string();
  }

  Batch collect(std::unique_ptr<Collector>& collector) {
    if (!collector) collector = make_host_collector(config_, log_);
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

  static std::optional<double> value(const Batch& batch, const Labels& labels) {
    for (const auto& s : batch.samples()) {
      if (s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  static std::size_t count(const Batch& batch, std::string_view name) {
    std::size_t n = 0;
    for (const auto& s : batch.samples()) n += s.labels.metric_name() == name;
    return n;
  }
  static std::optional<store::MetricType> type(const Batch& batch, std::string_view family) {
    for (const auto& f : batch.families()) {
      if (f.name == family) return f.type;
    }
    return std::nullopt;
  }
  std::string collect_error() {
    try {
      collect();
    } catch (const CollectError& e) {
      return e.what();
    }
    return "no error";
  }

  TempDir dir_{"tocsin-host"};
  config::HostCollectorConfig config_;
  std::ostringstream log_lines_;
  std::shared_ptr<spdlog::logger> log_;
};

TEST_F(HostCollectorTest, ReportsNodeExporterFamilies) {
  Batch batch = collect();
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "user"}}),
                   25014 / hz);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_cpu_seconds_total"}, {"cpu", "1"}, {"mode", "iowait"}}),
                   8549 / hz);
  EXPECT_EQ(count(batch, "node_cpu_seconds_total"), 2u * 8u);
  EXPECT_EQ(count(batch, "node_cpu_guest_seconds_total"), 2u * 2u);
  EXPECT_EQ(type(batch, "node_cpu_seconds_total"), store::MetricType::counter);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_load1"}}), 1.71);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_load15"}}), 0.55);
  EXPECT_EQ(type(batch, "node_load1"), store::MetricType::gauge);
  ASSERT_TRUE(value(batch, {{"__name__", "node_memory_MemTotal_bytes"}}));
  EXPECT_GT(*value(batch, {{"__name__", "node_memory_MemTotal_bytes"}}), 1e9);
  EXPECT_TRUE(value(batch, {{"__name__", "node_memory_MemAvailable_bytes"}}));
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_pressure_cpu_waiting_seconds_total"}}), 45.9079);
  EXPECT_TRUE(value(batch, {{"__name__", "node_pressure_memory_stalled_seconds_total"}}));
  EXPECT_TRUE(value(batch, {{"__name__", "node_context_switches_total"}}));
  EXPECT_TRUE(value(batch, {{"__name__", "node_boot_time_seconds"}}));
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_time_seconds"}}), 1'700'000'000.0);
  EXPECT_EQ(count(batch, "node_uname_info"), 1u);
  // Every sample has its family described, with a type.
  for (const auto& s : batch.samples()) {
    EXPECT_TRUE(type(batch, s.labels.metric_name())) << s.labels.to_string();
  }
}

TEST_F(HostCollectorTest, FilesystemsOfConfiguredMountPoints) {
  // The real "/" is statvfs'd; its device and type come from the captured mounts file.
  dir_.write("mounts", "overlay / overlay rw,relatime 0 0\n/dev/sdb1 /data ext4 rw 0 0\n");
  config_.mountpoints = {"/", "/data/", "/not-mounted"};
  Batch batch = collect();
  Labels root{{"__name__", "node_filesystem_size_bytes"},
              {"device", "overlay"},
              {"fstype", "overlay"},
              {"mountpoint", "/"}};
  ASSERT_TRUE(value(batch, root)) << log_lines_.str();
  EXPECT_GT(*value(batch, root), 0);
  EXPECT_EQ(*value(batch, {{"__name__", "node_filesystem_device_error"},
                           {"device", "overlay"},
                           {"fstype", "overlay"},
                           {"mountpoint", "/"}}),
            0);
  // /data is in the mounts file but not on this machine: statvfs fails, device_error says so.
  if (!std::filesystem::exists("/data")) {
    EXPECT_EQ(*value(batch, {{"__name__", "node_filesystem_device_error"},
                             {"device", "/dev/sdb1"},
                             {"fstype", "ext4"},
                             {"mountpoint", "/data"}}),
              1);
  }
  EXPECT_NE(log_lines_.str().find("mount point /not-mounted is not in " + (dir_ / "mounts").string()),
            std::string::npos)
      << log_lines_.str();
  EXPECT_EQ(count(batch, "node_filesystem_avail_bytes"), 1u);
}

TEST_F(HostCollectorTest, MissingPressureIsLeftOutAndLoggedOnce) {
  std::filesystem::remove_all(dir_ / "pressure");
  std::unique_ptr<Collector> collector;
  Batch first = collect(collector);
  Batch second = collect(collector);
  EXPECT_EQ(count(second, "node_pressure_cpu_waiting_seconds_total"), 0u);
  EXPECT_TRUE(value(second, {{"__name__", "node_load1"}}));
  std::string log = log_lines_.str();
  const std::string line = "pressure stall information not available";
  ASSERT_NE(log.find(line), std::string::npos) << log;
  EXPECT_EQ(log.find(line, log.find(line) + 1), std::string::npos) << "logged every cycle:\n" << log;

  std::filesystem::create_directories(dir_ / "pressure");
  for (const char* file : {"pressure/cpu", "pressure/io", "pressure/memory"}) dir_.write(file, real(file));
  Batch third = collect(collector);
  EXPECT_EQ(count(third, "node_pressure_cpu_waiting_seconds_total"), 1u);
  EXPECT_NE(log_lines_.str().find("pressure stall information available again"), std::string::npos);
}

TEST_F(HostCollectorTest, BrokenCoreFilesFailTheCycleNamingFileAndLine) {
  dir_.write("meminfo", "MemTotal: 100 kB\nMemFree: lots kB\n");
  std::filesystem::remove(dir_ / "loadavg");
  std::string error = collect_error();
  EXPECT_NE(error.find((dir_ / "meminfo").string() + ":2: MemFree: invalid value \"lots\""),
            std::string::npos)
      << error;
  EXPECT_NE(error.find((dir_ / "loadavg").string() + ": No such file or directory"), std::string::npos)
      << error;
}

TEST_F(HostCollectorTest, CpuCountersStayMonotonicAcrossCycles) {
  std::unique_ptr<Collector> collector;
  dir_.write("stat", "cpu0 100 0 50 100000 30 0 0 0 0 0\n");
  collect(collector);
  dir_.write("stat", "cpu0 110 0 55 100010 20 0 0 0 0 0\n");  // iowait stepped back, as the kernel allows
  Batch batch = collect(collector);
  const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "iowait"}}),
                   30 / hz);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_cpu_seconds_total"}, {"cpu", "0"}, {"mode", "user"}}),
                   110 / hz);
}

}  // namespace
}  // namespace tocsin::collectors
