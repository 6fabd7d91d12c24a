// The network sections of the host collector: netstat, netdev, netclass, sockstat, softnet, arp,
// udp_queues and conntrack, under node_exporter 1.5's names, types and labels.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "collectors/host/net_parsers.hpp"
#include "collectors/host/proc_parsers.hpp"
#include "collectors/host/section.hpp"
#include "collectors/host/text.hpp"

namespace tocsin::collectors::host {

namespace {

using store::MetricType;

bool missing(const ReadError& e) { return e.code == ENOENT || e.code == ENOTDIR; }

// --- netstat -------------------------------------------------------------------------------------

class NetstatSection final : public Section {
 public:
  explicit NetstatSection(const config::HostCollectorConfig& c)
      : netstat_(c.proc_path + "/net/netstat"),
        snmp_(c.proc_path + "/net/snmp"),
        snmp6_(c.proc_path + "/net/snmp6"),
        fields_(c.netstat_fields) {}
  std::string_view name() const override { return "netstat"; }

  void collect(SectionContext& ctx) override {
    fields_buffer_.clear();
    // node_exporter needs netstat and snmp (the collector fails without either); snmp6 is optional
    // (a kernel without IPv6).
    for (const std::string* path : {&netstat_, &snmp_}) {
      std::string_view text;
      if (auto e = ctx.files.read(*path, text)) {
        return ctx.problems.report("netstat", spdlog::level::warn, e.message + "; node_netstat_* left out");
      }
      try {
        parse_netstat(text, fields_buffer_);
      } catch (const ParseError& e) {
        return ctx.problems.report("netstat", spdlog::level::warn,
                                   where(*path, e) + "; node_netstat_* left out");
      }
    }
    std::string_view text;
    if (auto e = ctx.files.read(snmp6_, text); e && !missing(e)) {
      return ctx.problems.report("netstat", spdlog::level::warn, e.message + "; node_netstat_* left out");
    } else if (!e) {
      try {
        parse_snmp6(text, fields_buffer_);
      } catch (const ParseError& e) {
        return ctx.problems.report("netstat", spdlog::level::warn,
                                   where(snmp6_, e) + "; node_netstat_* left out");
      }
    }
    ctx.problems.clear("netstat", [] { return "netstat and snmp readable again"; });
    // A protocol in two files: the later file wins, as node_exporter merges them.
    std::unordered_set<std::string_view> seen;
    for (auto it = fields_buffer_.rbegin(); it != fields_buffer_.rend(); ++it) {
      if (!fields_.matches(it->key) || !seen.insert(it->key).second) continue;
      const std::string name = "node_netstat_" + it->key;
      std::string help = "Statistic " + it->key + ".";
      help.erase(help.find('_'), 1);
      ctx.out.describe(name, MetricType::untyped, std::move(help));
      ctx.out.add(series(name), it->value);
    }
  }

 private:
  std::string netstat_, snmp_, snmp6_;
  NameRegex fields_;
  std::vector<NetstatField> fields_buffer_;
};

// --- netdev --------------------------------------------------------------------------------------

class NetdevSection final : public Section {
 public:
  explicit NetdevSection(const config::HostCollectorConfig& c)
      : path_(c.proc_path + "/net/dev"), class_net_(c.sys_path + "/class/net/"), filter_(c.netdev) {
    for (std::string_view key : kNetDevNames) {
      names_.push_back("node_network_" + std::string(key) + "_total");
      helps_.push_back("Network device statistic " + std::string(key) + ".");
    }
  }
  std::string_view name() const override { return "netdev"; }

  void collect(SectionContext& ctx) override {
    std::string_view text;
    if (auto e = ctx.files.read(path_, text)) {
      return ctx.problems.report("netdev", spdlog::level::warn,
                                 e.message + "; node_network_*_total left out");
    }
    std::vector<NetDevLine> devices;
    try {
      devices = parse_net_dev(text);
    } catch (const ParseError& e) {
      return ctx.problems.report("netdev", spdlog::level::warn,
                                 where(path_, e) + "; node_network_*_total left out");
    }
    ctx.problems.clear("netdev", [&] { return path_ + ": readable again"; });
    // Copy the names out of the reader's buffer: reading rx_nohandler reuses it.
    for (std::size_t i = 0; i < kNetDevColumns; ++i)
      ctx.out.describe(names_[i], MetricType::counter, helps_[i]);
    ctx.out.describe("node_network_receive_nohandler_total", MetricType::counter,
                     "Network device statistic receive_nohandler.");
    std::vector<std::pair<std::string, std::array<std::uint64_t, kNetDevColumns>>> kept;
    kept.reserve(devices.size());
    for (const NetDevLine& dev : devices) {
      if (!filter_.ignored(dev.device)) kept.emplace_back(std::string(dev.device), dev.values);
    }
    for (const auto& [device, values] : kept) {
      for (std::size_t i = 0; i < kNetDevColumns; ++i) {
        ctx.out.add(series(names_[i], "device", device), static_cast<double>(values[i]));
      }
      // node_exporter 1.5 reads these counters over netlink, which also has rx_nohandler; /proc/net/dev
      // does not print it, sysfs does (the same counter of dev_get_stats).
      std::string_view nohandler;
      const std::string path = class_net_ + device + "/statistics/rx_nohandler";
      if (ctx.files.read(path, nohandler)) continue;
      std::uint64_t value = 0;
      if (!text::to_u64(text::trim(nohandler), value)) continue;
      ctx.out.add(series("node_network_receive_nohandler_total", "device", device),
                  static_cast<double>(value));
    }
  }

 private:
  std::string path_;
  std::string class_net_;
  DeviceFilter filter_;
  std::vector<std::string> names_, helps_;
};

// --- netclass ------------------------------------------------------------------------------------

struct NetClassAttribute {
  const char* file;
  const char* family;
  const char* help;
  MetricType type;
};

constexpr NetClassAttribute kNetClassAttributes[] = {
    {"addr_assign_type", "node_network_address_assign_type", "Network device property: address_assign_type",
     MetricType::gauge},
    {"carrier", "node_network_carrier", "Network device property: carrier", MetricType::gauge},
    {"carrier_changes", "node_network_carrier_changes_total",
     "Network device property: carrier_changes_total", MetricType::counter},
    {"carrier_up_count", "node_network_carrier_up_changes_total",
     "Network device property: carrier_up_changes_total", MetricType::counter},
    {"carrier_down_count", "node_network_carrier_down_changes_total",
     "Network device property: carrier_down_changes_total", MetricType::counter},
    {"dev_id", "node_network_device_id", "Network device property: device_id", MetricType::gauge},
    {"dormant", "node_network_dormant", "Network device property: dormant", MetricType::gauge},
    {"flags", "node_network_flags", "Network device property: flags", MetricType::gauge},
    {"ifindex", "node_network_iface_id", "Network device property: iface_id", MetricType::gauge},
    {"iflink", "node_network_iface_link", "Network device property: iface_link", MetricType::gauge},
    {"link_mode", "node_network_iface_link_mode", "Network device property: iface_link_mode",
     MetricType::gauge},
    {"mtu", "node_network_mtu_bytes", "Network device property: mtu_bytes", MetricType::gauge},
    {"name_assign_type", "node_network_name_assign_type", "Network device property: name_assign_type",
     MetricType::gauge},
    {"netdev_group", "node_network_net_dev_group", "Network device property: net_dev_group",
     MetricType::gauge},
    {"speed", "node_network_speed_bytes", "Network device property: speed_bytes", MetricType::gauge},
    {"tx_queue_len", "node_network_transmit_queue_length", "Network device property: transmit_queue_length",
     MetricType::gauge},
    {"type", "node_network_protocol_type", "Network device property: protocol_type", MetricType::gauge},
};

class NetclassSection final : public Section {
 public:
  explicit NetclassSection(const config::HostCollectorConfig& c)
      : dir_(c.sys_path + "/class/net"),
        ignored_(c.netclass_ignored_devices),
        ignore_invalid_speed_(c.netclass_ignore_invalid_speed) {}
  std::string_view name() const override { return "netclass"; }

  void collect(SectionContext& ctx) override {
    DIR* dir = ::opendir(dir_.c_str());
    if (dir == nullptr) {
      const int code = errno;
      // node_exporter: no data (not an error) when the directory is missing or not readable.
      const auto level = code == ENOENT || code == EACCES ? spdlog::level::info : spdlog::level::warn;
      return ctx.problems.report("netclass", level,
                                 dir_ + ": " + std::strerror(code) + "; node_network_{up,info,...} left out");
    }
    ctx.problems.clear("netclass", [&] { return dir_ + ": readable again"; });
    devices_.clear();
    const int dir_fd = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      bool regular = entry->d_type == DT_REG;
      if (entry->d_type == DT_UNKNOWN) {
        struct stat st {};
        regular = ::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
      }
      if (regular) continue;  // bonding_masters
      if (ignored_.matches(name)) continue;
      devices_.emplace_back(name);
    }
    std::sort(devices_.begin(), devices_.end());

    ctx.out.describe("node_network_up", MetricType::gauge, "Value is 1 if operstate is 'up', 0 otherwise.");
    ctx.out.describe("node_network_info", MetricType::gauge,
                     "Non-numeric data from /sys/class/net/<iface>, value is always 1.");
    for (const auto& a : kNetClassAttributes) ctx.out.describe(a.family, a.type, a.help);
    for (const std::string& device : devices_) collect_device(ctx, dir_fd, device);
    ::closedir(dir);
  }

 private:
  // One attribute as procfs's SysReadFile gives it: trimmed; nullopt when the kernel refuses to read
  // it (EINVAL for the speed of a virtual device, EOPNOTSUPP, ENOENT, EACCES), as procfs skips those.
  std::optional<std::string> attribute(SectionContext& ctx, int fd, const std::string& shown,
                                       const char* file) {
    std::string_view text;
    if (auto e = ctx.files.read_at(fd, file, shown, text)) {
      if (e.code != ENOENT && e.code != EACCES && e.code != EINVAL && e.code != EOPNOTSUPP &&
          e.code != ENODEV && e.code != EPERM) {
        ctx.problems.report(shown + "/" + file, spdlog::level::warn, e.message + "; left out");
      }
      return std::nullopt;
    }
    return std::string(text::trim(text));
  }

  void collect_device(SectionContext& ctx, int dir_fd, const std::string& device) {
    const int fd = ::openat(dir_fd, device.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const std::string shown = dir_ + "/" + device;
    if (fd < 0) return;  // removed since readdir
    const std::string operstate = attribute(ctx, fd, shown, "operstate").value_or("");
    ctx.out.add(series("node_network_up", "device", device), operstate == "up" ? 1 : 0);
    ctx.out.add(Labels{{std::string(kMetricNameLabel), "node_network_info"},
                       {"address", attribute(ctx, fd, shown, "address").value_or("")},
                       {"broadcast", attribute(ctx, fd, shown, "broadcast").value_or("")},
                       {"device", device},
                       {"duplex", attribute(ctx, fd, shown, "duplex").value_or("")},
                       {"ifalias", attribute(ctx, fd, shown, "ifalias").value_or("")},
                       {"operstate", operstate}},
                1);
    for (const auto& a : kNetClassAttributes) {
      auto value = attribute(ctx, fd, shown, a.file);
      if (!value) continue;
      std::int64_t number = 0;
      if (!text::to_i64_any_base(*value, number)) {
        ctx.problems.report(
            shown + "/" + a.file, spdlog::level::warn,
            shown + "/" + a.file + ": not a number: " + text::quoted(*value) + "; " + a.family + " left out");
        continue;
      }
      double v = static_cast<double>(number);
      if (std::string_view(a.file) == "speed") {
        // Mbit/s to bytes/s; -1 (unknown) is exported as -125000 unless ignore_invalid_speed.
        if (number < 0 && ignore_invalid_speed_) continue;
        v = static_cast<double>(number * 1000 * 1000 / 8);
      }
      ctx.out.add(series(a.family, "device", device), v);
    }
    ::close(fd);
  }

  std::string dir_;
  NameRegex ignored_;
  bool ignore_invalid_speed_;
  std::vector<std::string> devices_;
};

// --- sockstat ------------------------------------------------------------------------------------

class SockstatSection final : public Section {
 public:
  explicit SockstatSection(const config::HostCollectorConfig& c)
      : v4_(c.proc_path + "/net/sockstat"),
        v6_(c.proc_path + "/net/sockstat6"),
        page_size_(static_cast<double>(::sysconf(_SC_PAGESIZE))) {}
  std::string_view name() const override { return "sockstat"; }

  void collect(SectionContext& ctx) override {
    for (const std::string* path : {&v4_, &v6_}) {
      std::string_view text;
      if (auto e = ctx.files.read(*path, text)) {
        // Missing: no IPv6 (or no procfs net), node_exporter skips it quietly.
        ctx.problems.report(*path, missing(e) ? spdlog::level::info : spdlog::level::warn,
                            e.message + "; its node_sockstat_* left out");
        continue;
      }
      Sockstat stat;
      try {
        stat = parse_sockstat(text);
      } catch (const ParseError& e) {
        ctx.problems.report(*path, spdlog::level::warn, where(*path, e) + "; its node_sockstat_* left out");
        continue;
      }
      ctx.problems.clear(*path, [&] { return *path + ": readable again"; });
      if (path == &v4_ && stat.sockets_used) {
        add(ctx, "node_sockstat_sockets_used", "Number of IPv4 sockets in use.",
            static_cast<double>(*stat.sockets_used));
      }
      static constexpr std::string_view kStates[] = {"inuse", "orphan", "tw", "alloc", "mem", "memory"};
      for (const SockstatProtocol& p : stat.protocols) {
        auto find = [&](std::string_view key) -> std::optional<std::int64_t> {
          for (const auto& [k, v] : p.values) {
            if (k == key) return v;
          }
          return std::nullopt;
        };
        for (std::string_view state : kStates) {
          auto v = find(state);
          if (!v && state == "inuse") v = 0;  // procfs always has InUse
          if (!v) continue;
          add(ctx, "node_sockstat_" + p.protocol + "_" + std::string(state),
              "Number of " + p.protocol + " sockets in state " + std::string(state) + ".",
              static_cast<double>(*v));
        }
        if (auto mem = find("mem")) {
          add(ctx, "node_sockstat_" + p.protocol + "_mem_bytes",
              "Number of " + p.protocol + " sockets in state mem_bytes.",
              static_cast<double>(*mem) * page_size_);
        }
      }
    }
  }

 private:
  static void add(SectionContext& ctx, const std::string& name, std::string help, double value) {
    ctx.out.describe(name, MetricType::gauge, std::move(help));
    ctx.out.add(series(name), value);
  }
  std::string v4_, v6_;
  double page_size_;
};

// --- softnet -------------------------------------------------------------------------------------

class SoftnetSection final : public Section {
 public:
  explicit SoftnetSection(const config::HostCollectorConfig& c) : path_(c.proc_path + "/net/softnet_stat") {}
  std::string_view name() const override { return "softnet"; }

  void collect(SectionContext& ctx) override {
    std::string_view text;
    if (auto e = ctx.files.read(path_, text)) {
      return ctx.problems.report("softnet", spdlog::level::warn, e.message + "; node_softnet_* left out");
    }
    std::vector<SoftnetLine> lines;
    try {
      lines = parse_softnet(text);
    } catch (const ParseError& e) {
      return ctx.problems.report("softnet", spdlog::level::warn,
                                 where(path_, e) + "; node_softnet_* left out");
    }
    ctx.problems.clear("softnet", [&] { return path_ + ": readable again"; });
    ctx.out.describe("node_softnet_processed_total", MetricType::counter, "Number of processed packets");
    ctx.out.describe("node_softnet_dropped_total", MetricType::counter, "Number of dropped packets");
    ctx.out.describe("node_softnet_times_squeezed_total", MetricType::counter,
                     "Number of times processing packets ran out of quota");
    // node_exporter 1.5 numbers the CPUs by line (offline CPUs have no line, so on a machine with CPUs
    // offline this is not the CPU's id, exactly as in node_exporter 1.5).
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string cpu = std::to_string(i);
      ctx.out.add(series("node_softnet_processed_total", "cpu", cpu), lines[i].processed);
      ctx.out.add(series("node_softnet_dropped_total", "cpu", cpu), lines[i].dropped);
      ctx.out.add(series("node_softnet_times_squeezed_total", "cpu", cpu), lines[i].time_squeezed);
    }
  }

 private:
  std::string path_;
};

// --- arp -----------------------------------------------------------------------------------------

class ArpSection final : public Section {
 public:
  explicit ArpSection(const config::HostCollectorConfig& c)
      : path_(c.proc_path + "/net/arp"), filter_(c.arp) {}
  std::string_view name() const override { return "arp"; }

  void collect(SectionContext& ctx) override {
    std::string_view text;
    if (auto e = ctx.files.read(path_, text)) {
      return ctx.problems.report("arp", spdlog::level::warn, e.message + "; node_arp_entries left out");
    }
    std::vector<std::pair<std::string, std::uint64_t>> entries;
    try {
      entries = parse_arp(text);
    } catch (const ParseError& e) {
      return ctx.problems.report("arp", spdlog::level::warn, where(path_, e) + "; node_arp_entries left out");
    }
    ctx.problems.clear("arp", [&] { return path_ + ": readable again"; });
    ctx.out.describe("node_arp_entries", MetricType::gauge, "ARP entries by device");
    for (const auto& [device, count] : entries) {
      if (filter_.ignored(device)) continue;
      ctx.out.add(series("node_arp_entries", "device", device), static_cast<double>(count));
    }
  }

 private:
  std::string path_;
  DeviceFilter filter_;
};

// --- udp_queues ----------------------------------------------------------------------------------

class UdpQueuesSection final : public Section {
 public:
  explicit UdpQueuesSection(const config::HostCollectorConfig& c)
      : v4_(c.proc_path + "/net/udp"), v6_(c.proc_path + "/net/udp6") {}
  std::string_view name() const override { return "udp_queues"; }

  void collect(SectionContext& ctx) override {
    ctx.out.describe("node_udp_queues", MetricType::gauge,
                     "Number of allocated memory in the kernel for UDP datagrams in bytes.");
    for (const std::string* path : {&v4_, &v6_}) {
      const char* ip = path == &v4_ ? "v4" : "v6";
      std::string_view text;
      if (auto e = ctx.files.read(*path, text)) {
        ctx.problems.report(*path, missing(e) ? spdlog::level::info : spdlog::level::warn,
                            e.message + "; node_udp_queues{ip=\"" + ip + "\"} left out");
        continue;
      }
      UdpQueues queues;
      try {
        queues = parse_udp_queues(text);
      } catch (const ParseError& e) {
        ctx.problems.report(*path, spdlog::level::warn,
                            where(*path, e) + "; node_udp_queues{ip=\"" + ip + "\"} left out");
        continue;
      }
      ctx.problems.clear(*path, [&] { return *path + ": readable again"; });
      ctx.out.add(Labels::from_sorted(
                      {{std::string(kMetricNameLabel), "node_udp_queues"}, {"ip", ip}, {"queue", "tx"}}),
                  static_cast<double>(queues.tx));
      ctx.out.add(Labels::from_sorted(
                      {{std::string(kMetricNameLabel), "node_udp_queues"}, {"ip", ip}, {"queue", "rx"}}),
                  static_cast<double>(queues.rx));
    }
  }

 private:
  std::string v4_, v6_;
};

// --- conntrack -----------------------------------------------------------------------------------

class ConntrackSection final : public Section {
 public:
  explicit ConntrackSection(const config::HostCollectorConfig& c)
      : count_(c.proc_path + "/sys/net/netfilter/nf_conntrack_count"),
        max_(c.proc_path + "/sys/net/netfilter/nf_conntrack_max"),
        stat_(c.proc_path + "/net/stat/nf_conntrack") {}
  std::string_view name() const override { return "conntrack"; }

  void collect(SectionContext& ctx) override {
    std::uint64_t values[2] = {};
    const std::string* paths[2] = {&count_, &max_};
    for (int i = 0; i < 2; ++i) {
      std::string_view text;
      if (auto e = ctx.files.read(*paths[i], text)) {
        // No nf_conntrack module: node_exporter reports no data.
        return ctx.problems.report("conntrack", missing(e) ? spdlog::level::info : spdlog::level::warn,
                                   e.message + "; node_nf_conntrack_* left out");
      }
      try {
        values[i] = parse_uint_file(text);
      } catch (const ParseError& e) {
        return ctx.problems.report("conntrack", spdlog::level::warn,
                                   where(*paths[i], e) + "; node_nf_conntrack_* left out");
      }
    }
    ctx.problems.clear("conntrack", [] { return "nf_conntrack counts readable again"; });
    add(ctx, "node_nf_conntrack_entries",
        "Number of currently allocated flow entries for connection tracking.", values[0]);
    add(ctx, "node_nf_conntrack_entries_limit", "Maximum size of connection tracking table.", values[1]);
    std::string_view text;
    if (auto e = ctx.files.read(stat_, text)) {
      return ctx.problems.report(stat_, missing(e) ? spdlog::level::info : spdlog::level::warn,
                                 e.message + "; node_nf_conntrack_stat_* left out");
    }
    ConntrackStat s;
    try {
      s = parse_conntrack_stat(text);
    } catch (const ParseError& e) {
      return ctx.problems.report(stat_, spdlog::level::warn,
                                 where(stat_, e) + "; node_nf_conntrack_stat_* left out");
    }
    ctx.problems.clear(stat_, [&] { return stat_ + ": readable again"; });
    add(ctx, "node_nf_conntrack_stat_found", "Number of searched entries which were successful.", s.found);
    add(ctx, "node_nf_conntrack_stat_invalid", "Number of packets seen which can not be tracked.", s.invalid);
    add(ctx, "node_nf_conntrack_stat_ignore",
        "Number of packets seen which are already connected to a conntrack entry.", s.ignore);
    add(ctx, "node_nf_conntrack_stat_insert", "Number of entries inserted into the list.", s.insert);
    add(ctx, "node_nf_conntrack_stat_insert_failed",
        "Number of entries for which list insertion was attempted but failed.", s.insert_failed);
    add(ctx, "node_nf_conntrack_stat_drop", "Number of packets dropped due to conntrack failure.", s.drop);
    add(ctx, "node_nf_conntrack_stat_early_drop",
        "Number of dropped conntrack entries to make room for new ones, if maximum table size was reached.",
        s.early_drop);
    add(ctx, "node_nf_conntrack_stat_search_restart",
        "Number of conntrack table lookups which had to be restarted due to hashtable resizes.",
        s.search_restart);
  }

 private:
  static void add(SectionContext& ctx, const char* name, const char* help, std::uint64_t value) {
    ctx.out.describe(name, MetricType::gauge, help);
    ctx.out.add(series(name), static_cast<double>(value));
  }
  std::string count_, max_, stat_;
};

}  // namespace

std::unique_ptr<Section> make_netstat_section(const config::HostCollectorConfig& c) {
  return std::make_unique<NetstatSection>(c);
}
std::unique_ptr<Section> make_netdev_section(const config::HostCollectorConfig& c) {
  return std::make_unique<NetdevSection>(c);
}
std::unique_ptr<Section> make_netclass_section(const config::HostCollectorConfig& c) {
  return std::make_unique<NetclassSection>(c);
}
std::unique_ptr<Section> make_sockstat_section(const config::HostCollectorConfig& c) {
  return std::make_unique<SockstatSection>(c);
}
std::unique_ptr<Section> make_softnet_section(const config::HostCollectorConfig& c) {
  return std::make_unique<SoftnetSection>(c);
}
std::unique_ptr<Section> make_arp_section(const config::HostCollectorConfig& c) {
  return std::make_unique<ArpSection>(c);
}
std::unique_ptr<Section> make_udp_queues_section(const config::HostCollectorConfig& c) {
  return std::make_unique<UdpQueuesSection>(c);
}
std::unique_ptr<Section> make_conntrack_section(const config::HostCollectorConfig& c) {
  return std::make_unique<ConntrackSection>(c);
}

}  // namespace tocsin::collectors::host
