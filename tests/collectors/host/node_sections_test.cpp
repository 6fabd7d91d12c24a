// The node_exporter sections of the host collector over a copy of the tree captured on a real host
// (tests/data/host/real: proc root, sysfs/ and rootfs/), then with files removed, truncated or
// broken: a broken section is left out with one log line naming the file and line, the rest of the
// cycle goes on. And the config block's keys and errors.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "collectors/host/config.hpp"
#include "collectors/host/host.hpp"
#include "fixtures/config.hpp"
#include "fixtures/process.hpp"
#include "tocsin/config/config.hpp"

namespace tocsin::collectors {
namespace {

namespace fs = std::filesystem;
using store::Batch;
using tocsin::testing::TempDir;

class NodeSectionsTest : public ::testing::Test {
 protected:
  NodeSectionsTest()
      : log_(std::make_shared<spdlog::logger>("host",
                                              std::make_shared<spdlog::sinks::ostream_sink_mt>(log_lines_))) {
    fs::copy(fs::path(TOCSIN_SOURCE_DIR) / "tests/data/host/real", dir_.path(), fs::copy_options::recursive);
    config_.proc_path = dir_.path().string();
    config_.sys_path = (dir_ / "sysfs").string();
    config_.rootfs_path = (dir_ / "rootfs").string();
    config_.udev_data_path = (dir_ / "udev").string();
    // One filesystem: the temp dir itself, as if mounted there (statfs works on any directory).
    config_.mounts_file = dir_.write("test-mounts", "/dev/vdb " + (dir_ / "rootfs").string() +
                                                        "/srv ext4 ro,relatime 0 0\nproc " +
                                                        (dir_ / "rootfs").string() + "/proc proc rw 0 0\n")
                              .string();
    fs::create_directories(dir_ / "rootfs/srv");
  }

  Batch collect() {
    auto collector = make_host_collector(config_, log_);
    Batch batch;
    collector->collect({.timestamp = 1'700'000'000'000,
                        .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)},
                       batch);
    return batch;
  }

  static std::optional<double> value(const Batch& batch, const Labels& labels) {
    for (const auto& s : batch.samples()) {
      if (s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  static std::optional<double> value(const Batch& batch, const std::string& name, const std::string& device) {
    return value(batch, {{"__name__", name}, {"device", device}});
  }
  static std::size_t count(const Batch& batch, std::string_view prefix) {
    std::size_t n = 0;
    for (const auto& s : batch.samples()) n += s.labels.metric_name().starts_with(prefix);
    return n;
  }
  static std::optional<store::MetricType> type(const Batch& batch, std::string_view family) {
    for (const auto& f : batch.families()) {
      if (f.name == family) return f.type;
    }
    return std::nullopt;
  }
  std::size_t logged(const std::string& text) const {
    const std::string all = log_lines_.str();
    std::size_t n = 0;
    for (std::size_t at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) ++n;
    return n;
  }

  TempDir dir_{"tocsin-host-node"};
  config::HostCollectorConfig config_;
  std::ostringstream log_lines_;
  std::shared_ptr<spdlog::logger> log_;
};

TEST_F(NodeSectionsTest, TheCapturedTreeGivesNodeExporterFamilies) {
  const Batch batch = collect();
  // netdev: lo excluded (Debian's default), eth0's counters; nohandler from sysfs.
  EXPECT_FALSE(value(batch, "node_network_receive_bytes_total", "lo"));
  EXPECT_EQ(value(batch, "node_network_receive_bytes_total", "eth0"), 194491966);
  EXPECT_EQ(value(batch, "node_network_transmit_packets_total", "eth0"), 2837);
  EXPECT_EQ(value(batch, "node_network_receive_nohandler_total", "eth0"), 0);
  EXPECT_EQ(type(batch, "node_network_receive_bytes_total"), store::MetricType::counter);
  // netclass: every device, lo included (its own filter is ^$).
  EXPECT_EQ(value(batch, "node_network_mtu_bytes", "eth0"), 1400);
  EXPECT_EQ(value(batch, "node_network_mtu_bytes", "lo"), 65536);
  EXPECT_EQ(value(batch, "node_network_speed_bytes", "eth0"), -125000);  // -1 Mbit/s, as node_exporter
  EXPECT_EQ(value(batch, "node_network_flags", "eth0"), 0x1003);         // hex in sysfs
  EXPECT_EQ(value(batch, "node_network_up", "eth0"), 1);
  EXPECT_EQ(value(batch, {{"__name__", "node_network_info"},
                          {"address", "02:fc:00:00:00:01"},
                          {"broadcast", "ff:ff:ff:ff:ff:ff"},
                          {"device", "eth0"},
                          {"duplex", "unknown"},
                          {"operstate", "up"}}),
            1);
  EXPECT_FALSE(value(batch, "node_network_speed_bytes", "lo"));  // the kernel refuses to read it
  EXPECT_EQ(type(batch, "node_network_carrier_changes_total"), store::MetricType::counter);
  // diskstats: loop devices excluded, vda in bytes and seconds, zram0 kept.
  EXPECT_FALSE(value(batch, "node_disk_reads_completed_total", "loop0"));
  EXPECT_EQ(value(batch, "node_disk_read_bytes_total", "vda"), 28901762.0 * 512);
  EXPECT_DOUBLE_EQ(*value(batch, "node_disk_read_time_seconds_total", "vda"), 6723.315);
  EXPECT_EQ(value(batch, "node_disk_discarded_sectors_total", "vda"), 210154128);
  EXPECT_EQ(value(batch, "node_disk_flush_requests_total", "vda"), 16993);
  EXPECT_EQ(value(batch, "node_disk_io_now", "vda"), 0);
  EXPECT_EQ(type(batch, "node_disk_io_now"), store::MetricType::gauge);
  EXPECT_TRUE(value(batch, "node_disk_reads_completed_total", "zram0"));
  EXPECT_EQ(
      value(batch, {{"__name__", "node_disk_info"}, {"device", "vda"}, {"major", "254"}, {"minor", "0"}}), 1);
  // netstat: the default fields only, untyped.
  EXPECT_EQ(value(batch, {{"__name__", "node_netstat_IpExt_InOctets"}}), 2425561567.0);
  EXPECT_EQ(value(batch, {{"__name__", "node_netstat_Ip_Forwarding"}}), 2);
  EXPECT_TRUE(value(batch, {{"__name__", "node_netstat_Ip6_InOctets"}}));
  EXPECT_FALSE(value(batch, {{"__name__", "node_netstat_Tcp_MaxConn"}}));
  EXPECT_EQ(type(batch, "node_netstat_Tcp_InSegs"), store::MetricType::untyped);
  // sockstat, softnet, arp, udp, conntrack, vmstat, filefd, entropy.
  EXPECT_EQ(value(batch, {{"__name__", "node_sockstat_sockets_used"}}), 11);
  EXPECT_EQ(value(batch, {{"__name__", "node_sockstat_TCP_mem_bytes"}}),
            245.0 * static_cast<double>(::getpagesize()));
  EXPECT_EQ(value(batch, {{"__name__", "node_sockstat_FRAG6_memory"}}), 0);
  EXPECT_EQ(value(batch, {{"__name__", "node_softnet_processed_total"}, {"cpu", "1"}}), 0x20626d);
  EXPECT_EQ(value(batch, "node_arp_entries", "eth0"), 1);
  EXPECT_EQ(value(batch, {{"__name__", "node_udp_queues"}, {"ip", "v6"}, {"queue", "rx"}}), 0);
  EXPECT_EQ(value(batch, {{"__name__", "node_nf_conntrack_entries_limit"}}), 262144);
  EXPECT_EQ(value(batch, {{"__name__", "node_nf_conntrack_stat_found"}}), 0);
  EXPECT_EQ(value(batch, {{"__name__", "node_vmstat_pgmajfault"}}), 25012);
  EXPECT_EQ(value(batch, {{"__name__", "node_vmstat_oom_kill"}}), 0);
  EXPECT_FALSE(value(batch, {{"__name__", "node_vmstat_nr_free_pages"}}));
  EXPECT_EQ(value(batch, {{"__name__", "node_filefd_maximum"}}), 2466126);
  EXPECT_EQ(value(batch, {{"__name__", "node_entropy_pool_size_bits"}}), 256);
  // os-release, clocksources, filesystem (ro from the mount options), the timex call.
  EXPECT_EQ(value(batch, {{"__name__", "node_os_version"}, {"id", "debian"}, {"name", "Debian GNU/Linux"}}),
            12);
  EXPECT_EQ(count(batch, "node_os_info"), 1u);
  EXPECT_EQ(
      value(batch,
            {{"__name__", "node_time_clocksource_current_info"}, {"clocksource", "tsc"}, {"device", "0"}}),
      1);
  EXPECT_EQ(count(batch, "node_time_clocksource_available_info"), 2u);
  const Labels srv{{"__name__", "node_filesystem_readonly"},
                   {"device", "/dev/vdb"},
                   {"fstype", "ext4"},
                   {"mountpoint", "/srv"}};  // rootfs_path stripped, as node_exporter does
  EXPECT_EQ(value(batch, srv), 1) << log_lines_.str();
  EXPECT_EQ(count(batch, "node_filesystem_size_bytes"), 1u);  // proc is an excluded type
  EXPECT_TRUE(value(batch, {{"__name__", "node_timex_sync_status"}}));
  EXPECT_EQ(value(batch, {{"__name__", "node_selinux_enabled"}}), 0);
  for (const auto& s : batch.samples())
    EXPECT_TRUE(type(batch, s.labels.metric_name())) << s.labels.to_string();
}

TEST_F(NodeSectionsTest, MissingFilesLeaveTheirFamiliesOutOnce) {
  fs::remove(dir_ / "net/snmp6");              // a kernel without IPv6: netstat goes on without Ip6
  fs::remove(dir_ / "net/stat/nf_conntrack");  // count and max still come
  fs::remove_all(dir_ / "sysfs/class/net");    // no netclass
  fs::remove(dir_ / "diskstats");
  fs::remove(dir_ / "net/sockstat6");
  Batch batch = collect();
  EXPECT_TRUE(value(batch, {{"__name__", "node_netstat_Tcp_InSegs"}}));
  EXPECT_FALSE(value(batch, {{"__name__", "node_netstat_Ip6_InOctets"}}));
  EXPECT_TRUE(value(batch, {{"__name__", "node_nf_conntrack_entries"}}));
  EXPECT_FALSE(value(batch, {{"__name__", "node_nf_conntrack_stat_found"}}));
  EXPECT_EQ(count(batch, "node_network_up"), 0u);
  EXPECT_EQ(count(batch, "node_disk_"), 0u);
  EXPECT_TRUE(value(batch, {{"__name__", "node_sockstat_TCP_inuse"}}));
  EXPECT_FALSE(value(batch, {{"__name__", "node_sockstat_TCP6_inuse"}}));
  // The core families are still there; each missing file logged once, naming it.
  EXPECT_TRUE(value(batch, {{"__name__", "node_load1"}}));
  EXPECT_EQ(logged((dir_ / "diskstats").string() + ": No such file or directory; node_disk_* left out"), 1u)
      << log_lines_.str();
  EXPECT_EQ(logged((dir_ / "sysfs/class/net").string() + ": No such file or directory"), 1u);
  EXPECT_EQ(logged((dir_ / "net/stat/nf_conntrack").string() + ": No such file or directory"), 1u);
  // And rx_nohandler (read from the missing sysfs) is left out, not an error.
  EXPECT_TRUE(value(batch, "node_network_receive_bytes_total", "eth0"));
  EXPECT_FALSE(value(batch, "node_network_receive_nohandler_total", "eth0"));
}

TEST_F(NodeSectionsTest, TruncatedAndMalformedFilesNameFileAndLine) {
  dir_.write("net/dev", "Inter-|   Receive\n face |bytes\n  eth0: 1 2 3\n");
  dir_.write("net/snmp", "Ip: Forwarding DefaultTTL\n");
  dir_.write("vmstat", "pgfault 1\npgmajfault lots\n");
  dir_.write("net/softnet_stat", "00000001 00000002\n");
  dir_.write("sysfs/class/net/eth0/mtu", "big\n");
  auto collector = make_host_collector(config_, log_);
  Batch batch;
  for (int cycle = 0; cycle < 3; ++cycle) {
    batch.clear();
    collector->collect({.timestamp = 1'700'000'000'000 + cycle * 15'000,
                        .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)},
                       batch);
  }
  EXPECT_EQ(logged((dir_ / "net/dev").string() + ":3: eth0: expected 16 counters, got 3"), 1u)
      << log_lines_.str();
  EXPECT_EQ(logged((dir_ / "net/snmp").string() + ":1: Ip: header without its line of values"), 1u);
  EXPECT_EQ(logged((dir_ / "vmstat").string() + ":2: pgmajfault: invalid number \"lots\""), 1u);
  EXPECT_EQ(logged((dir_ / "net/softnet_stat").string() + ":1: expected at least 9 columns, got 2"), 1u);
  EXPECT_EQ(logged("/sysfs/class/net/eth0/mtu: not a number: \"big\"; node_network_mtu_bytes left out"), 1u);
  EXPECT_EQ(count(batch, "node_network_receive_"), 0u);
  EXPECT_EQ(count(batch, "node_netstat_"), 0u);
  EXPECT_EQ(count(batch, "node_vmstat_"), 0u);
  EXPECT_FALSE(value(batch, "node_network_mtu_bytes", "eth0"));
  EXPECT_EQ(value(batch, "node_network_mtu_bytes", "lo"), 65536);
  EXPECT_TRUE(value(batch, "node_disk_io_now", "vda"));
  // Repaired: the families come back, and it is said once.
  fs::copy_file(fs::path(TOCSIN_SOURCE_DIR) / "tests/data/host/real/vmstat", dir_ / "vmstat",
                fs::copy_options::overwrite_existing);
  batch.clear();
  collector->collect({.timestamp = 1'700'000'060'000,
                      .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)},
                     batch);
  EXPECT_TRUE(value(batch, {{"__name__", "node_vmstat_oom_kill"}}));
  EXPECT_EQ(logged((dir_ / "vmstat").string() + ": readable again"), 1u);
}

// Netclass keeps its attribute files open between cycles (pread at offset 0): a value written since
// is seen, a device that went away is dropped (its files closed), a new one is read.
TEST_F(NodeSectionsTest, NetclassSeesChangesAcrossCycles) {
  auto collector = make_host_collector(config_, log_);
  auto cycle = [&] {
    Batch batch;
    collector->collect({.timestamp = 1'700'000'000'000,
                        .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)},
                       batch);
    return batch;
  };
  Batch first = cycle();
  EXPECT_EQ(value(first, "node_network_mtu_bytes", "eth0"), 1400);
  EXPECT_TRUE(value(first, "node_network_mtu_bytes", "ifb1"));
  dir_.write("sysfs/class/net/eth0/mtu", "9000\n");
  dir_.write("sysfs/class/net/eth0/operstate", "down\n");
  dir_.write("sysfs/class/net/eth0/statistics/rx_nohandler", "7\n");
  fs::remove_all(dir_ / "sysfs/class/net/ifb1");
  fs::copy(dir_ / "sysfs/class/net/eth0", dir_ / "sysfs/class/net/veth0", fs::copy_options::recursive);
  Batch second = cycle();
  EXPECT_EQ(value(second, "node_network_mtu_bytes", "eth0"), 9000);
  EXPECT_EQ(value(second, "node_network_up", "eth0"), 0);
  EXPECT_EQ(value(second, "node_network_receive_nohandler_total", "eth0"), 7);
  EXPECT_FALSE(value(second, "node_network_mtu_bytes", "ifb1"));
  EXPECT_EQ(value(second, "node_network_mtu_bytes", "veth0"), 9000);
  EXPECT_EQ(log_lines_.str().find("warn"), std::string::npos) << log_lines_.str();
}

// thermal_zone where the machine has zones (this VM has none: the captured sysfs has no class/thermal).
TEST_F(NodeSectionsTest, ThermalZonesAndCoolingDevicesWherePresent) {
  EXPECT_EQ(count(collect(), "node_thermal_zone_"), 0u);
  dir_.write("sysfs/class/thermal/thermal_zone0/type", "x86_pkg_temp\n");
  dir_.write("sysfs/class/thermal/thermal_zone0/policy", "step_wise\n");
  dir_.write("sysfs/class/thermal/thermal_zone0/temp", "47000\n");
  dir_.write("sysfs/class/thermal/thermal_zone1/type", "acpitz\n");
  dir_.write("sysfs/class/thermal/thermal_zone1/policy", "step_wise\n");
  dir_.write("sysfs/class/thermal/thermal_zone1/temp", "hot\n");
  dir_.write("sysfs/class/thermal/cooling_device0/type", "Processor\n");
  dir_.write("sysfs/class/thermal/cooling_device0/max_state", "10\n");
  dir_.write("sysfs/class/thermal/cooling_device0/cur_state", "3\n");
  const Batch batch = collect();
  EXPECT_EQ(value(batch, {{"__name__", "node_thermal_zone_temp"}, {"type", "x86_pkg_temp"}, {"zone", "0"}}),
            47);
  EXPECT_EQ(count(batch, "node_thermal_zone_temp"), 1u);
  EXPECT_EQ(logged("/sysfs/class/thermal/thermal_zone1/temp: not a number: \"hot\"; zone left out"), 1u)
      << log_lines_.str();
  EXPECT_EQ(
      value(batch, {{"__name__", "node_cooling_device_cur_state"}, {"name", "0"}, {"type", "Processor"}}), 3);
  EXPECT_EQ(
      value(batch, {{"__name__", "node_cooling_device_max_state"}, {"name", "0"}, {"type", "Processor"}}),
      10);
}

// hwmon where the machine has chips (this VM has none), named as node_exporter names them.
TEST_F(NodeSectionsTest, HwmonChipsWherePresent) {
  EXPECT_EQ(count(collect(), "node_hwmon_"), 0u);
  fs::create_directories(dir_ / "sysfs/devices/platform/coretemp.0/hwmon/hwmon0");
  fs::create_directories(dir_ / "sysfs/class/hwmon");
  fs::create_directory_symlink("../../devices/platform/coretemp.0/hwmon/hwmon0",
                               dir_ / "sysfs/class/hwmon/hwmon0");
  fs::create_directory_symlink("../../../coretemp.0",
                               dir_ / "sysfs/devices/platform/coretemp.0/hwmon/hwmon0/device");
  const std::string chip = "sysfs/devices/platform/coretemp.0/hwmon/hwmon0/";
  for (const auto& [file, content] :
       std::vector<std::pair<std::string, std::string>>{{"name", "coretemp\n"},
                                                        {"temp1_input", "45000\n"},
                                                        {"temp1_label", "Package id 0\n"},
                                                        {"temp1_crit", "100000\n"},
                                                        {"temp1_crit_alarm", "0\n"},
                                                        {"fan1_input", "1200\n"},
                                                        {"in0_input", "1000\n"},
                                                        {"pwm1", "128\n"},
                                                        {"pwm1_enable", "2\n"},
                                                        {"beep_enable", "1\n"},
                                                        {"uevent", "DRIVER=coretemp\n"}}) {
    dir_.write(chip + file, content);
  }
  const Batch batch = collect();
  auto hw = [&](const std::string& name, const std::string& sensor) {
    return value(batch, {{"__name__", name}, {"chip", "platform_coretemp_0"}, {"sensor", sensor}});
  };
  EXPECT_EQ(value(batch, {{"__name__", "node_hwmon_chip_names"},
                          {"chip", "platform_coretemp_0"},
                          {"chip_name", "coretemp"}}),
            1);
  EXPECT_EQ(hw("node_hwmon_temp_celsius", "temp1"), 45);
  EXPECT_EQ(hw("node_hwmon_temp_crit_celsius", "temp1"), 100);
  EXPECT_EQ(hw("node_hwmon_temp_crit_alarm_celsius", "temp1"), 0);  // node_exporter's name for it
  EXPECT_EQ(value(batch, {{"__name__", "node_hwmon_sensor_label"},
                          {"chip", "platform_coretemp_0"},
                          {"label", "Package id 0"},
                          {"sensor", "temp1"}}),
            1);
  EXPECT_EQ(hw("node_hwmon_fan_rpm", "fan1"), 1200);
  EXPECT_EQ(hw("node_hwmon_in_volts", "in0"), 1);
  EXPECT_EQ(hw("node_hwmon_pwm", "pwm1"), 128);
  EXPECT_EQ(hw("node_hwmon_pwm_enable", "pwm1"), 2);
  EXPECT_EQ(hw("node_hwmon_beep_enabled", "beep_enable0"), 1);
}

TEST_F(NodeSectionsTest, FiltersAndDisabledCollectorsFromTheConfig) {
  config_.diskstats = {.exclude = "", .include = "^vda$"};
  config_.netdev = {.exclude = "", .include = ""};
  config_.netclass_ignored_devices = "^ifb";
  config_.netclass_ignore_invalid_speed = true;
  config_.vmstat_fields = "^nr_free_pages$";
  config_.disable = {"arp", "timex", "netstat"};
  Batch batch = collect();
  EXPECT_TRUE(value(batch, "node_disk_io_now", "vda"));
  EXPECT_FALSE(value(batch, "node_disk_io_now", "zram0"));
  EXPECT_TRUE(value(batch, "node_disk_io_now", "vda"));
  EXPECT_TRUE(value(batch, "node_network_receive_bytes_total", "lo"));
  EXPECT_FALSE(value(batch, "node_network_up", "ifb0"));
  EXPECT_FALSE(value(batch, "node_network_speed_bytes", "eth0"));
  EXPECT_TRUE(value(batch, {{"__name__", "node_vmstat_nr_free_pages"}}));
  EXPECT_FALSE(value(batch, {{"__name__", "node_vmstat_oom_kill"}}));
  EXPECT_EQ(count(batch, "node_arp_"), 0u);
  EXPECT_EQ(count(batch, "node_timex_"), 0u);
  EXPECT_EQ(count(batch, "node_netstat_"), 0u);
}

std::string config_errors(const std::string& block) {
  auto result =
      config::parse_config("collectors:\n  host:\n" + block, "tocsin.yaml",
                           [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  if (auto* d = std::get_if<yaml::Diagnostics>(&result)) return d->to_string();
  return "";
}

TEST(HostConfig, NodeExporterFlagsAsKeys) {
  auto result = config::parse_config(
      "collectors:\n  host:\n    - sys_path: /host/sys\n      rootfs_path: /host\n"
      "      diskstats: {device_include: '^nvme0n1$'}\n      netdev: {device_exclude: '^(lo|veth.*)$'}\n"
      "      netclass: {ignored_devices: '^veth', ignore_invalid_speed: true}\n"
      "      netstat: {fields: '^Tcp_.*'}\n      vmstat: {fields: '^oom_kill$'}\n"
      "      filesystem: {mount_points_exclude: '^/boot($|/)', fs_types_exclude: '^tmpfs$'}\n"
      "      disable: [arp, selinux]\n",
      "tocsin.yaml", [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  ASSERT_TRUE(std::holds_alternative<config::Config>(result))
      << std::get<yaml::Diagnostics>(result).to_string();
  const auto host = testing::instances<config::HostCollectorConfig>(std::get<config::Config>(result)).at(0);
  EXPECT_EQ(host.sys_path, "/host/sys");
  EXPECT_EQ(host.diskstats.include, "^nvme0n1$");
  EXPECT_EQ(host.diskstats.exclude, "");  // an include alone replaces the default exclude
  EXPECT_EQ(host.netdev.exclude, "^(lo|veth.*)$");
  EXPECT_TRUE(host.netclass_ignore_invalid_speed);
  EXPECT_EQ(host.filesystem_mount_points_exclude, "^/boot($|/)");  // `$` is not an environment variable
  EXPECT_EQ(host.disable, (std::vector<std::string>{"arp", "selinux"}));
  EXPECT_TRUE(host.mountpoints.empty());  // all mounts by default
}

TEST(HostConfig, BadRegexesAndUnknownCollectorsAreReportedAtTheirKeys) {
  const std::string errors = config_errors(
      "    - netstat: {fields: '^(Tcp'}\n      diskstats: {device_exclude: a, device_include: b}\n"
      "      disable: [arp, nfs]\n      netclass: {ignored: x}\n");
  EXPECT_NE(
      errors.find("tocsin.yaml:3:25: collectors.host[0].netstat.fields: invalid regex: missing ): ^(Tcp"),
      std::string::npos)
      << errors;
  EXPECT_NE(errors.find("device_exclude and device_include are mutually exclusive"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("unknown collector \"nfs\""), std::string::npos) << errors;
  EXPECT_NE(errors.find("ignored"), std::string::npos) << errors;
}

}  // namespace
}  // namespace tocsin::collectors
