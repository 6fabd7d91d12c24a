#pragma once
// The network interfaces as the kernel's rtnetlink gives them: one RTM_GETLINK dump carries, for
// every interface of the daemon's network namespace, the counters netdev would otherwise parse out of
// /proc/net/dev (and rx_nohandler, a sysfs file each) and what netclass would read from some fifteen
// sysfs files each. The parsing is apart from the socket so that the tests can feed it the kernel's
// own bytes and bytes no kernel sends.

#include <linux/if_link.h>
#include <linux/netlink.h>

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "tocsin/collectors/problem_log.hpp"

namespace tocsin::collectors::host {

// One interface of the dump. Optional fields are attributes a kernel may leave out (an older one, or
// an interface without them).
struct NetlinkLink {
  int index = 0;          // ifi_index
  unsigned type = 0;      // ifi_type (ARPHRD_*)
  unsigned flags = 0;     // ifi_flags, as dev_get_flags() computes them
  std::string name;       // IFLA_IFNAME
  std::string address;    // IFLA_ADDRESS, formatted as sysfs prints it ("aa:bb:..."); "" without one
  std::string broadcast;  // IFLA_BROADCAST, formatted the same way
  std::string alias;      // IFLA_IFALIAS; "" when unset, as sysfs's ifalias
  std::optional<std::uint32_t> link;          // IFLA_LINK, which the kernel leaves out when it is the index
  std::optional<std::uint8_t> operstate;      // IFLA_OPERSTATE (IF_OPER_*)
  std::optional<std::uint8_t> link_mode;      // IFLA_LINKMODE
  std::optional<std::uint8_t> carrier;        // IFLA_CARRIER
  std::optional<std::uint32_t> mtu;           // IFLA_MTU
  std::optional<std::uint32_t> tx_queue_len;  // IFLA_TXQLEN
  std::optional<std::uint32_t> group;         // IFLA_GROUP
  std::optional<std::uint32_t> carrier_changes;  // IFLA_CARRIER_CHANGES
  std::optional<std::uint32_t> carrier_up;       // IFLA_CARRIER_UP_COUNT (Linux 4.19)
  std::optional<std::uint32_t> carrier_down;     // IFLA_CARRIER_DOWN_COUNT (Linux 4.19)
  std::optional<std::uint32_t> promiscuity;      // IFLA_PROMISCUITY
  std::optional<std::uint32_t> allmulti;         // IFLA_ALLMULTI (Linux 6.6)
  // IFLA_STATS64: the counters of dev_get_stats(), zero past what the kernel sent (rx_nohandler came
  // in Linux 4.6).
  std::optional<rtnl_link_stats64> stats;
  bool has_rx_nohandler = false;

  // The value sysfs's `flags` file prints: the device's own dev->flags, which differ from ifi_flags
  // in the bits dev_get_flags() computes (running, lower-up, dormant) and in promisc and allmulti,
  // which dev->flags holds while any user (a bridge, tcpdump) asks for them.
  unsigned sysfs_flags() const;
};

// One read's worth of a dump's messages: checks each header and hands the messages answering `seq`
// to `on_message` (type, payload, payload size). Returns true once the dump's NLMSG_DONE is seen (or,
// when `dump` is false, the first answer). Throws std::runtime_error naming what is wrong for a
// malformed message, NetlinkRefused for an NLMSG_ERROR (with the kernel's errno), and
// NetlinkDumpInterrupted for a message flagged NLM_F_DUMP_INTR (an interface changed while the dump
// ran: the caller asks again). Answers to an earlier request (another seq) are passed over.
struct NetlinkDumpInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct NetlinkRefused : std::system_error {
  using std::system_error::system_error;
};
using NetlinkMessageFn = std::function<void(std::uint16_t type, const char* payload, std::size_t size)>;
bool walk_netlink_messages(std::span<const char> data, std::uint32_t seq, bool dump,
                           const NetlinkMessageFn& on_message);

// The RTM_NEWLINK messages of a read appended to `out`, as walk_netlink_messages.
bool parse_link_messages(std::span<const char> data, std::uint32_t seq, std::vector<NetlinkLink>& out);

// What ethtool's netlink family says of a device's link: what sysfs's speed and duplex print.
struct EthtoolLinkMode {
  int index = 0;
  std::optional<std::int32_t> speed;   // Mbit/s; -1 unknown (SPEED_UNKNOWN), as sysfs prints it
  std::optional<std::uint8_t> duplex;  // DUPLEX_HALF 0, DUPLEX_FULL 1, else unknown
};
// The ETHTOOL_MSG_LINKMODES_GET_REPLY messages (of generic netlink family `family`) of a read.
bool parse_linkmodes_messages(std::span<const char> data, std::uint32_t seq, std::uint16_t family,
                              std::vector<EthtoolLinkMode>& out);

// /proc/net/dev's sixteen columns, computed from the counters as the kernel prints them there.
std::array<std::uint64_t, 16> net_dev_columns(const rtnl_link_stats64& s);

// A netlink socket of one protocol, kept open across cycles. Not thread-safe (one cycle at a time).
class NetlinkSocket {
 public:
  explicit NetlinkSocket(int protocol) : protocol_(protocol) {}
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Sends `request` (a whole message; its seq is set here) and feeds the answer's messages to
  // `on_message` until the dump is done (or the one answer of a request that is not a dump). An
  // interrupted dump is asked again (at most three times; `on_restart` clears what the last try gave).
  // Throws std::system_error when the socket cannot be had or the kernel does not answer within a
  // second; what walk_netlink_messages throws otherwise.
  void exchange(std::string request, const char* what, const NetlinkMessageFn& on_message,
                const std::function<void()>& on_restart = {});

 private:
  void open();
  int protocol_;
  int fd_ = -1;
  std::uint32_t seq_ = 0;
  std::vector<char> buffer_;
};

// RTM_GETLINK with the statistics: every interface, in the kernel's order.
void dump_links(NetlinkSocket& route, std::vector<NetlinkLink>& out);

// ETHTOOL_MSG_LINKMODES_GET for every device that has link settings. Resolves ethtool's generic
// netlink family on its first call; throws std::system_error ENOENT when the kernel has none (before
// Linux 5.6, or built without ETHTOOL_NETLINK).
class EthtoolLinkModes {
 public:
  void dump(std::vector<EthtoolLinkMode>& out);

 private:
  NetlinkSocket generic_{NETLINK_GENERIC};
  std::uint16_t family_ = 0;
};

// The host collector's one dump per cycle, which netdev and netclass share. After a dump fails, the
// sections read their files for the cycle; when the socket cannot be had at all (a sandbox without
// AF_NETLINK), for good. Each is said once, through the collector's problem log.
class NetlinkLinks {
 public:
  void begin_cycle() { fresh_ = false; }
  // This cycle's interfaces (dumped on the first call of the cycle), or nullptr when the sections
  // should read their files.
  const std::vector<NetlinkLink>* get(ProblemLog& problems);
  // The cycle's ethtool link modes, sorted by index, or nullptr when ethtool's netlink cannot answer
  // (netclass then reads speed and duplex from sysfs). Only after get() gave the interfaces.
  const std::vector<EthtoolLinkMode>* link_modes() const { return modes_ok_ ? &modes_ : nullptr; }

 private:
  bool enabled_ = true;
  bool modes_enabled_ = true;
  bool fresh_ = false;
  bool ok_ = false;
  bool modes_ok_ = false;
  NetlinkSocket route_{NETLINK_ROUTE};
  EthtoolLinkModes ethtool_;
  std::vector<NetlinkLink> links_;
  std::vector<EthtoolLinkMode> modes_;
};

}  // namespace tocsin::collectors::host
