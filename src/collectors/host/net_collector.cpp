// The network sections of the host collector: netstat, netdev, netclass, sockstat, softnet, arp,
// udp_queues and conntrack, under node_exporter 1.5's names, types and labels.
#include <dirent.h>
#include <fcntl.h>
#include <linux/if.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <system_error>
#include <unordered_set>

#include "collectors/host/net_parsers.hpp"
#include "collectors/host/netlink.hpp"
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
      if (!ctx.read_or_report(*path, text, "netstat", "node_netstat_*")) return;
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
      : path_(c.proc_path + "/net/dev"),
        class_net_(c.sys_path + "/class/net/"),
        filter_(c.netdev),
        names_(family_names()),
        labels_("device", names_) {
    for (std::string_view key : kNetDevNames)
      helps_.push_back("Network device statistic " + std::string(key) + ".");
  }
  std::string_view name() const override { return "netdev"; }

  void collect(SectionContext& ctx) override {
    if (const std::vector<NetlinkLink>* links =
            ctx.links != nullptr ? ctx.links->get(ctx.problems) : nullptr) {
      return collect_netlink(ctx, *links);
    }
    std::string_view text;
    if (!ctx.read_or_report(path_, text, "netdev", "node_network_*_total")) return;
    std::vector<NetDevLine> devices;
    try {
      devices = parse_net_dev(text);
    } catch (const ParseError& e) {
      return ctx.problems.report("netdev", spdlog::level::warn,
                                 where(path_, e) + "; node_network_*_total left out");
    }
    ctx.problems.clear("netdev", [&] { return path_ + ": readable again"; });
    // Copy the names out of the reader's buffer: reading rx_nohandler reuses it.
    describe(ctx);
    std::vector<std::pair<std::string, std::array<std::uint64_t, kNetDevColumns>>> kept;
    kept.reserve(devices.size());
    for (const NetDevLine& dev : devices) {
      if (!filter_.ignored(dev.device)) kept.emplace_back(std::string(dev.device), dev.values);
    }
    for (const auto& [device, values] : kept) {
      DeviceLabels::Row& row = labels_.row(device);
      for (std::size_t i = 0; i < kNetDevColumns; ++i) ctx.out.add(row[i], static_cast<double>(values[i]));
      // node_exporter 1.5 reads these counters over netlink, which also has rx_nohandler; /proc/net/dev
      // does not print it, sysfs does (the same counter of dev_get_stats).
      std::string_view nohandler;
      if (!read_nohandler(ctx, device, nohandler)) continue;
      std::uint64_t value = 0;
      if (!text::to_u64(text::trim(nohandler), value)) continue;
      ctx.out.add(row[kNetDevColumns], static_cast<double>(value));
    }
    labels_.end_cycle();
    present_.clear();
    for (const auto& [device, values] : kept) present_.push_back(device);
    std::sort(present_.begin(), present_.end());
    forget_devices(ctx, present_);
  }

 private:
  void describe(SectionContext& ctx) {
    for (std::size_t i = 0; i < kNetDevColumns; ++i)
      ctx.out.describe(names_[i], MetricType::counter, helps_[i]);
    ctx.out.describe("node_network_receive_nohandler_total", MetricType::counter,
                     "Network device statistic receive_nohandler.");
  }

  // The same counters from the dump's statistics, computed as /proc/net/dev prints them (as
  // node_exporter 1.5's netlink netdev does without --collector.netdev.enable-detailed-metrics).
  void collect_netlink(SectionContext& ctx, const std::vector<NetlinkLink>& links) {
    describe(ctx);
    for (const NetlinkLink& link : links) {
      if (!link.stats || filter_.ignored(link.name)) continue;
      DeviceLabels::Row& row = labels_.row(link.name);
      const auto values = net_dev_columns(*link.stats);
      for (std::size_t i = 0; i < kNetDevColumns; ++i) ctx.out.add(row[i], static_cast<double>(values[i]));
      if (link.has_rx_nohandler)
        ctx.out.add(row[kNetDevColumns], static_cast<double>(link.stats->rx_nohandler));
    }
    labels_.end_cycle();
    present_.clear();
    forget_devices(ctx, present_);  // the sysfs files of an earlier cycle's reading
  }

  // statistics/rx_nohandler of a device, kept open between cycles (see FileReader::take_descriptor).
  bool read_nohandler(SectionContext& ctx, const std::string& device, std::string_view& text) {
    auto it = nohandler_fds_.find(device);
    if (it == nohandler_fds_.end()) {
      int fd = -1;
      if (ctx.files.take_descriptor()) {
        fd = ::open((class_net_ + device + "/statistics/rx_nohandler").c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) ctx.files.give_descriptor();
      }
      if (fd < 0) return !ctx.files.read(class_net_ + device + "/statistics/rx_nohandler", text);
      it = nohandler_fds_.emplace(device, fd).first;
    }
    if (ctx.files.pread_kept(it->second, "", text)) {  // the device is gone (ENODEV): open afresh next time
      ::close(it->second);
      ctx.files.give_descriptor();
      nohandler_fds_.erase(it);
      return false;
    }
    return true;
  }

  // Closes the files of devices no longer in /proc/net/dev.
  void forget_devices(SectionContext& ctx, const std::vector<std::string>& present) {
    for (auto it = nohandler_fds_.begin(); it != nohandler_fds_.end();) {
      if (std::binary_search(present.begin(), present.end(), it->first)) {
        ++it;
        continue;
      }
      ::close(it->second);
      ctx.files.give_descriptor();
      it = nohandler_fds_.erase(it);
    }
  }

  // node_network_<column>_total, then node_network_receive_nohandler_total.
  static std::vector<std::string> family_names() {
    std::vector<std::string> names;
    for (std::string_view key : kNetDevNames) names.push_back("node_network_" + std::string(key) + "_total");
    names.emplace_back("node_network_receive_nohandler_total");
    return names;
  }

  std::string path_;
  std::string class_net_;
  DeviceFilter filter_;
  std::vector<std::string> names_, helps_;
  DeviceLabels labels_;
  std::map<std::string, int, std::less<>> nohandler_fds_;
  std::vector<std::string> present_;

 public:
  ~NetdevSection() override {
    for (const auto& [device, fd] : nohandler_fds_) ::close(fd);
  }
};

// --- netclass ------------------------------------------------------------------------------------

struct NetClassAttribute {
  const char* file;
  const char* family;  // nullptr: a label of node_network_info only
  const char* help;
  MetricType type;
  // Fixed while the device exists (read once per device; a device removed and created again under the
  // same name is read afresh, as its old files fail with ENODEV).
  bool identity;
};

// The string attributes first (node_network_info's labels), in this order.
enum : std::size_t { kOperstate, kAddress, kBroadcast, kDuplex, kIfalias, kFirstNumeric };

constexpr NetClassAttribute kNetClassAttributes[] = {
    {"operstate", nullptr, nullptr, MetricType::gauge, false},
    {"address", nullptr, nullptr, MetricType::gauge, false},
    {"broadcast", nullptr, nullptr, MetricType::gauge, true},
    {"duplex", nullptr, nullptr, MetricType::gauge, false},
    {"ifalias", nullptr, nullptr, MetricType::gauge, false},
    {"addr_assign_type", "node_network_address_assign_type", "Network device property: address_assign_type",
     MetricType::gauge, true},
    {"carrier", "node_network_carrier", "Network device property: carrier", MetricType::gauge, false},
    {"carrier_changes", "node_network_carrier_changes_total",
     "Network device property: carrier_changes_total", MetricType::counter, false},
    {"carrier_up_count", "node_network_carrier_up_changes_total",
     "Network device property: carrier_up_changes_total", MetricType::counter, false},
    {"carrier_down_count", "node_network_carrier_down_changes_total",
     "Network device property: carrier_down_changes_total", MetricType::counter, false},
    {"dev_id", "node_network_device_id", "Network device property: device_id", MetricType::gauge, true},
    {"dormant", "node_network_dormant", "Network device property: dormant", MetricType::gauge, false},
    {"flags", "node_network_flags", "Network device property: flags", MetricType::gauge, false},
    {"ifindex", "node_network_iface_id", "Network device property: iface_id", MetricType::gauge, true},
    {"iflink", "node_network_iface_link", "Network device property: iface_link", MetricType::gauge, true},
    {"link_mode", "node_network_iface_link_mode", "Network device property: iface_link_mode",
     MetricType::gauge, false},
    {"mtu", "node_network_mtu_bytes", "Network device property: mtu_bytes", MetricType::gauge, false},
    {"name_assign_type", "node_network_name_assign_type", "Network device property: name_assign_type",
     MetricType::gauge, true},
    {"netdev_group", "node_network_net_dev_group", "Network device property: net_dev_group",
     MetricType::gauge, false},
    {"speed", "node_network_speed_bytes", "Network device property: speed_bytes", MetricType::gauge, false},
    {"tx_queue_len", "node_network_transmit_queue_length", "Network device property: transmit_queue_length",
     MetricType::gauge, false},
    {"type", "node_network_protocol_type", "Network device property: protocol_type", MetricType::gauge, true},
};
constexpr std::size_t kNetClassCount = std::size(kNetClassAttributes);

// The read errors with which procfs's netclass skips an attribute (a virtual device has no speed).
bool skipped_attribute_error(int code) {
  return code == ENOENT || code == EACCES || code == EPERM || code == EINVAL || code == EOPNOTSUPP ||
         code == ENODATA || code == ENOTSUP;
}

constexpr std::size_t netclass_index(std::string_view file) {
  for (std::size_t i = 0; i < kNetClassCount; ++i) {
    if (std::string_view(kNetClassAttributes[i].file) == file) return i;
  }
  throw "not a netclass attribute";
}

constexpr std::size_t kCarrier = netclass_index("carrier");
constexpr std::size_t kCarrierChanges = netclass_index("carrier_changes");
constexpr std::size_t kCarrierUpCount = netclass_index("carrier_up_count");
constexpr std::size_t kCarrierDownCount = netclass_index("carrier_down_count");
constexpr std::size_t kDormant = netclass_index("dormant");
constexpr std::size_t kFlags = netclass_index("flags");
constexpr std::size_t kIfindex = netclass_index("ifindex");
constexpr std::size_t kIflink = netclass_index("iflink");
constexpr std::size_t kLinkMode = netclass_index("link_mode");
constexpr std::size_t kMtu = netclass_index("mtu");
constexpr std::size_t kNetdevGroup = netclass_index("netdev_group");
constexpr std::size_t kTxQueueLen = netclass_index("tx_queue_len");
constexpr std::size_t kType = netclass_index("type");

// IF_OPER_* as sysfs's operstate prints them.
constexpr const char* kOperstates[] = {"unknown", "notpresent", "down", "lowerlayerdown",
                                       "testing", "dormant",    "up"};

// What one device gives in a cycle, from sysfs or from netlink.
struct NetclassValues {
  std::array<std::string, kFirstNumeric> strings;
  std::array<std::optional<std::int64_t>, kNetClassCount> numbers;
};

class NetclassSection final : public Section {
 public:
  explicit NetclassSection(const config::HostCollectorConfig& c)
      : dir_(c.sys_path + "/class/net"),
        ignored_(c.netclass_ignored_devices),
        ignore_invalid_speed_(c.netclass_ignore_invalid_speed) {}
  ~NetclassSection() override {
    for (auto& [name, device] : devices_) close_device(nullptr, device);
    if (class_fd_ >= 0) ::close(class_fd_);
  }
  std::string_view name() const override { return "netclass"; }

  void collect(SectionContext& ctx) override {
    ++cycle_;
    const std::vector<NetlinkLink>* links = ctx.links != nullptr ? ctx.links->get(ctx.problems) : nullptr;
    if (links != nullptr) {
      collect_netlink(ctx, *links);
    } else {
      collect_sysfs(ctx);
    }
    for (auto it = devices_.begin(); it != devices_.end();) {
      if (it->second.cycle == cycle_) {
        ++it;
        continue;
      }
      close_device(&ctx.files, it->second);
      it = devices_.erase(it);
    }
  }

 private:
  static constexpr int kUnopened = -1;
  static constexpr int kAbsent = -2;

  struct Device {
    int dir = -1;
    bool dir_missing = false;  // netlink: no sysfs directory of that name (another namespace's sysfs)
    int ifindex = 0;           // netlink: a device re-created under the same name has a new index
    std::array<int, kNetClassCount> fds = [] {
      std::array<int, kNetClassCount> a{};
      a.fill(kUnopened);
      return a;
    }();
    std::array<std::optional<std::string>, kNetClassCount> identity;
    bool identity_read = false;
    std::uint64_t cycle = 0;
    // The label sets of its series, made once (node_network_info's again when a label value changes).
    Labels up;
    Labels info;
    std::array<std::string, kFirstNumeric> info_strings;
    std::array<Labels, kNetClassCount> families;
  };

  void describe(SectionContext& ctx) {
    ctx.out.describe("node_network_up", MetricType::gauge, "Value is 1 if operstate is 'up', 0 otherwise.");
    ctx.out.describe("node_network_info", MetricType::gauge,
                     "Non-numeric data from /sys/class/net/<iface>, value is always 1.");
    for (std::size_t i = kFirstNumeric; i < kNetClassCount; ++i) {
      ctx.out.describe(kNetClassAttributes[i].family, kNetClassAttributes[i].type,
                       kNetClassAttributes[i].help);
    }
  }

  // --- from sysfs: every attribute a file -------------------------------------------------------

  void collect_sysfs(SectionContext& ctx) {
    DIR* dir = ::opendir(dir_.c_str());
    if (dir == nullptr) {
      const int code = errno;
      // node_exporter: no data (not an error) when the directory is missing or not readable.
      const auto level = code == ENOENT || code == EACCES ? spdlog::level::info : spdlog::level::warn;
      return ctx.problems.report("netclass", level,
                                 dir_ + ": " + std::strerror(code) + "; node_network_{up,info,...} left out");
    }
    ctx.problems.clear("netclass", [&] { return dir_ + ": readable again"; });
    names_.clear();
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
      names_.emplace_back(name);
    }
    std::sort(names_.begin(), names_.end());

    describe(ctx);
    for (const std::string& name : names_) {
      auto [it, created] = devices_.try_emplace(name);
      Device& device = it->second;
      device.cycle = cycle_;
      if (device.dir < 0) {
        device.dir = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (device.dir < 0) continue;  // removed since readdir
      }
      read_identity(ctx, name, device);
      NetclassValues values;
      if (!read_sysfs(ctx, name, device, values)) {  // the device went away under us (ENODEV)
        close_device(&ctx.files, device);
        devices_.erase(it);
        continue;
      }
      emit(ctx, name, device, values);
    }
    ::closedir(dir);
  }

  // False when the device disappeared while being read.
  bool read_sysfs(SectionContext& ctx, const std::string& name, Device& device, NetclassValues& values) {
    bool gone = false;
    for (std::size_t i = 0; i < kNetClassCount; ++i) {
      const NetClassAttribute& a = kNetClassAttributes[i];
      std::optional<std::string_view> text;
      if (a.identity) {
        if (device.identity[i]) text = *device.identity[i];
      } else {
        text = attribute(ctx, name, device, i, gone);
      }
      if (gone) return false;
      if (!text) continue;
      if (i < kFirstNumeric) {
        values.strings[i] = std::string(*text);  // copied: the reader's buffer is reused by the next read
      } else {
        values.numbers[i] = number(ctx, name, i, *text);
      }
    }
    return true;
  }

  // --- from netlink: one dump for every device, sysfs for what it lacks -------------------------

  void collect_netlink(SectionContext& ctx, const std::vector<NetlinkLink>& links) {
    if (class_fd_ < 0) class_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    order_.clear();
    for (const NetlinkLink& link : links) order_.push_back(&link);
    std::sort(order_.begin(), order_.end(),
              [](const NetlinkLink* a, const NetlinkLink* b) { return a->name < b->name; });
    describe(ctx);
    for (const NetlinkLink* l : order_) {
      const NetlinkLink& link = *l;
      if (ignored_.matches(link.name)) continue;
      auto [it, created] = devices_.try_emplace(link.name);
      Device& device = it->second;
      if (device.ifindex != link.index) {  // new, or re-created under the same name
        close_device(&ctx.files, device);
        device = Device{};
        device.ifindex = link.index;
      }
      device.cycle = cycle_;
      if (device.dir < 0 && !device.dir_missing) {
        device.dir =
            class_fd_ < 0 ? -1 : ::openat(class_fd_, link.name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        device.dir_missing = device.dir < 0;
        if (device.dir_missing) device.identity_read = true;  // nothing to read them from
      }
      read_identity(ctx, link.name, device);
      NetclassValues values;
      if (!from_netlink(ctx, link, device, values)) {  // removed since the dump: next cycle's dump says so
        close_device(&ctx.files, device);
        device.dir_missing = true;
      }
      emit(ctx, link.name, device, values);
    }
  }

  // The values sysfs would print, from the dump; speed and duplex (ethtool's, not in the dump) from
  // sysfs. False when the device's sysfs files went away (ENODEV).
  bool from_netlink(SectionContext& ctx, const NetlinkLink& link, Device& device, NetclassValues& v) {
    // sysfs refuses carrier, dormant, speed and duplex (EINVAL) while the device is not up.
    const bool running = (link.flags & IFF_UP) != 0;
    if (link.operstate && *link.operstate < std::size(kOperstates))
      v.strings[kOperstate] = kOperstates[*link.operstate];
    v.strings[kAddress] = link.address;
    v.strings[kBroadcast] = link.broadcast;
    v.strings[kIfalias] = link.alias;
    auto opt = [](const auto& field) -> std::optional<std::int64_t> {
      if (!field) return std::nullopt;
      return static_cast<std::int64_t>(*field);
    };
    for (std::size_t i = kFirstNumeric; i < kNetClassCount; ++i) {
      if (kNetClassAttributes[i].identity && device.identity[i])
        v.numbers[i] = number(ctx, link.name, i, *device.identity[i]);
    }
    if (running) v.numbers[kCarrier] = opt(link.carrier);
    v.numbers[kCarrierChanges] = opt(link.carrier_changes);
    v.numbers[kCarrierUpCount] = opt(link.carrier_up);
    v.numbers[kCarrierDownCount] = opt(link.carrier_down);
    if (running) v.numbers[kDormant] = (link.flags & IFF_DORMANT) != 0 ? 1 : 0;
    v.numbers[kFlags] = link.sysfs_flags();
    v.numbers[kIfindex] = link.index;
    v.numbers[kIflink] = link.link.value_or(static_cast<std::uint32_t>(link.index));
    v.numbers[kLinkMode] = opt(link.link_mode);
    v.numbers[kMtu] = opt(link.mtu);
    v.numbers[kNetdevGroup] = opt(link.group);
    v.numbers[kTxQueueLen] = opt(link.tx_queue_len);
    v.numbers[kType] = link.type;
    if (!running) return true;
    if (const std::vector<EthtoolLinkMode>* modes = ctx.links->link_modes()) {
      // sysfs prints what ethtool's get_link_ksettings gives; a device without them has neither file.
      auto it = std::lower_bound(modes->begin(), modes->end(), link.index,
                                 [](const EthtoolLinkMode& m, int index) { return m.index < index; });
      if (it != modes->end() && it->index == link.index) {
        if (it->duplex)
          v.strings[kDuplex] = *it->duplex == 0 ? "half" : *it->duplex == 1 ? "full" : "unknown";
        if (it->speed) v.numbers[kSpeed] = *it->speed;
      }
      return true;
    }
    if (device.dir >= 0) {
      bool gone = false;
      if (auto duplex = attribute(ctx, link.name, device, kDuplex, gone))
        v.strings[kDuplex] = std::string(*duplex);
      if (auto speed = attribute(ctx, link.name, device, kSpeed, gone))
        v.numbers[kSpeed] = number(ctx, link.name, kSpeed, *speed);
      if (gone) return false;
    }
    return true;
  }

  // --- both -------------------------------------------------------------------------------------

  // The attributes fixed for the device's life, once.
  void read_identity(SectionContext& ctx, const std::string& name, Device& device) {
    if (device.identity_read) return;
    for (std::size_t i = 0; i < kNetClassCount; ++i) {
      if (!kNetClassAttributes[i].identity) continue;
      std::string_view text;
      if (auto e = ctx.files.read_at(device.dir, kNetClassAttributes[i].file, "", text); !e) {
        device.identity[i] = std::string(text::trim(text));
      } else if (!skipped_attribute_error(e.code)) {
        ctx.problems.report(dir_ + "/" + name + "/" + kNetClassAttributes[i].file, spdlog::level::warn,
                            dir_ + "/" + name + "/" + kNetClassAttributes[i].file + ":" +
                                e.message.substr(e.message.find(':') + 1) + "; left out");
      }
    }
    device.identity_read = true;
  }

  // A numeric attribute's text as a number, or nullopt (with a warning) when it is not one.
  std::optional<std::int64_t> number(SectionContext& ctx, const std::string& name, std::size_t i,
                                     std::string_view text) {
    std::int64_t number = 0;
    if (text::to_i64_any_base(text, number)) return number;
    const std::string shown = dir_ + "/" + name + "/" + kNetClassAttributes[i].file;
    ctx.problems.report(
        shown, spdlog::level::warn,
        shown + ": not a number: " + text::quoted(text) + "; " + kNetClassAttributes[i].family + " left out");
    return std::nullopt;
  }

  void emit(SectionContext& ctx, const std::string& name, Device& device, const NetclassValues& v) {
    if (device.up.empty()) device.up = series("node_network_up", "device", name);
    ctx.out.add(device.up, v.strings[kOperstate] == "up" ? 1 : 0);
    if (device.info.empty() || device.info_strings != v.strings) {
      device.info_strings = v.strings;
      device.info = Labels{{std::string(kMetricNameLabel), "node_network_info"},
                           {"address", v.strings[kAddress]},
                           {"broadcast", v.strings[kBroadcast]},
                           {"device", name},
                           {"duplex", v.strings[kDuplex]},
                           {"ifalias", v.strings[kIfalias]},
                           {"operstate", v.strings[kOperstate]}};
    }
    ctx.out.add(device.info, 1);
    for (std::size_t i = kFirstNumeric; i < kNetClassCount; ++i) {
      if (!v.numbers[i]) continue;
      const std::int64_t number = *v.numbers[i];
      double value = static_cast<double>(number);
      if (i == kSpeed) {
        // Mbit/s to bytes/s; -1 (unknown) is exported as -125000 unless ignore_invalid_speed.
        if (number < 0 && ignore_invalid_speed_) continue;
        value = static_cast<double>(number * 1000 * 1000 / 8);
      }
      Labels& labels = device.families[i];
      if (labels.empty()) labels = series(kNetClassAttributes[i].family, "device", name);
      ctx.out.add(labels, value);
    }
  }

  void close_device(FileReader* files, Device& device) {
    for (int& fd : device.fds) {
      if (fd >= 0) {
        ::close(fd);
        if (files != nullptr) files->give_descriptor();
      }
      fd = kUnopened;
    }
    if (device.dir >= 0) ::close(device.dir);
    device.dir = -1;
  }

  // One attribute as procfs's SysReadFile gives it (trimmed), or nullopt when the kernel refuses it.
  // Sets `gone` when the device was removed (ENODEV).
  std::optional<std::string_view> attribute(SectionContext& ctx, const std::string& device_name,
                                            Device& device, std::size_t i, bool& gone) {
    const char* file = kNetClassAttributes[i].file;
    auto shown = [&] { return dir_ + "/" + device_name + "/" + file; };
    std::string_view text;
    ReadError e;
    int& fd = device.fds[i];
    if (fd == kAbsent) return std::nullopt;
    if (fd == kUnopened && ctx.files.take_descriptor()) {
      fd = ::openat(device.dir, file, O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        const int code = errno;
        ctx.files.give_descriptor();
        fd = skipped_attribute_error(code) ? kAbsent : kUnopened;
        if (!skipped_attribute_error(code)) {
          ctx.problems.report(shown(), spdlog::level::warn,
                              shown() + ": " + std::strerror(code) + "; left out");
        }
        return std::nullopt;
      }
    }
    e = fd >= 0 ? ctx.files.pread_kept(fd, "", text) : ctx.files.read_at(device.dir, file, "", text);
    if (e) {
      if (e.code == ENODEV) gone = true;
      if (!skipped_attribute_error(e.code) && e.code != ENODEV) {
        ctx.problems.report(shown(), spdlog::level::warn,
                            shown() + ": " + std::strerror(e.code) + "; left out");
      }
      return std::nullopt;
    }
    return text::trim(text);
  }

  static constexpr std::size_t kSpeed = netclass_index("speed");

  std::string dir_;
  NameRegex ignored_;
  bool ignore_invalid_speed_;
  std::vector<const NetlinkLink*> order_;
  int class_fd_ = -1;
  std::vector<std::string> names_;
  std::map<std::string, Device, std::less<>> devices_;
  std::uint64_t cycle_ = 0;
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
    if (!ctx.read_or_report(path_, text, "softnet", "node_softnet_*")) return;
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
    if (!ctx.read_or_report(path_, text, "arp", "node_arp_entries")) return;
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
