// netdev and netclass from one rtnetlink dump: the parser on messages in the kernel's layout, good and
// broken, and the real kernel — interfaces made in a network namespace of the test's own (veth pairs up
// and down, promiscuous, aliased, with their MTU, group and queue length changed, carriers toggled,
// frames sent that nothing handles) read once through netlink and once through /proc/net/dev and
// sysfs, which must give the same series and values.
#include "collectors/host/netlink.hpp"

#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/host/config.hpp"
#include "collectors/host/families.hpp"
#include "collectors/host/host.hpp"
#include "fixtures/process.hpp"
// ip(8) makes the test's interfaces: Debian's iproute2, which scripts/install-deps.sh installs.

namespace tocsin::collectors::host {
namespace {

// --- messages built in the kernel's layout -------------------------------------------------------

class Message {
 public:
  Message(std::uint16_t type, std::uint32_t seq, std::uint16_t flags = NLM_F_MULTI) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_seq = seq;
    h.nlmsg_flags = flags;
    append(&h, sizeof h);
  }
  Message& info(int index, unsigned type, unsigned flags) {
    ifinfomsg i{};
    i.ifi_index = index;
    i.ifi_type = static_cast<unsigned short>(type);
    i.ifi_flags = flags;
    append(&i, sizeof i);
    return *this;
  }
  Message& attr(unsigned short type, const void* data, std::size_t size) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
    append(&a, sizeof a);
    append(data, size);
    bytes_.resize(NLMSG_ALIGN(bytes_.size()));
    return *this;
  }
  Message& u32(unsigned short type, std::uint32_t v) { return attr(type, &v, sizeof v); }
  Message& u8(unsigned short type, std::uint8_t v) { return attr(type, &v, sizeof v); }
  Message& str(unsigned short type, const std::string& s) { return attr(type, s.c_str(), s.size() + 1); }
  Message& raw(const std::string& bytes) {
    bytes_ += bytes;
    return *this;
  }
  std::string bytes() const {
    std::string b = bytes_;
    nlmsghdr h;
    std::memcpy(&h, b.data(), sizeof h);
    h.nlmsg_len = static_cast<std::uint32_t>(b.size());
    std::memcpy(b.data(), &h, sizeof h);
    return b;
  }
  // The header claims `len` bytes, whatever follows.
  std::string bytes_claiming(std::uint32_t len) const {
    std::string b = bytes();
    nlmsghdr h;
    std::memcpy(&h, b.data(), sizeof h);
    h.nlmsg_len = len;
    std::memcpy(b.data(), &h, sizeof h);
    return b;
  }

 private:
  void append(const void* p, std::size_t n) { bytes_.append(static_cast<const char*>(p), n); }
  std::string bytes_;
};

std::string done(std::uint32_t seq) {
  int zero = 0;
  return Message(NLMSG_DONE, seq).raw(std::string(reinterpret_cast<const char*>(&zero), sizeof zero)).bytes();
}

bool parse(const std::string& data, std::uint32_t seq, std::vector<NetlinkLink>& out) {
  return parse_link_messages(std::span<const char>(data.data(), data.size()), seq, out);
}

TEST(NetlinkParse, AnInterfaceWithEveryAttribute) {
  const unsigned char mac[] = {0x02, 0xfc, 0x00, 0x0a, 0xbc, 0x01};
  const unsigned char bcast[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  const std::string data =
      Message(RTM_NEWLINK, 7)
          .info(4, 1, IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_RUNNING | IFF_LOWER_UP)
          .str(IFLA_IFNAME, "eth0")
          .attr(IFLA_ADDRESS, mac, sizeof mac)
          .attr(IFLA_BROADCAST, bcast, sizeof bcast)
          .str(IFLA_IFALIAS, "uplink")
          .u8(IFLA_OPERSTATE, 6)
          .u8(IFLA_LINKMODE, 1)
          .u8(IFLA_CARRIER, 1)
          .u32(IFLA_MTU, 9000)
          .u32(IFLA_TXQLEN, 77)
          .u32(IFLA_GROUP, 5)
          .u32(IFLA_CARRIER_CHANGES, 4)
          .u32(IFLA_CARRIER_UP_COUNT, 2)
          .u32(IFLA_CARRIER_DOWN_COUNT, 2)
          .u32(IFLA_LINK, 9)
          .u32(IFLA_PROMISCUITY, 1)
          .u32(IFLA_ALLMULTI, 0)
          .u32(IFLA_NUM_TX_QUEUES, 8)  // not read
          .bytes() +
      done(7);
  std::vector<NetlinkLink> links;
  ASSERT_TRUE(parse(data, 7, links));
  ASSERT_EQ(links.size(), 1u);
  const NetlinkLink& l = links[0];
  EXPECT_EQ(l.index, 4);
  EXPECT_EQ(l.type, 1u);
  EXPECT_EQ(l.name, "eth0");
  EXPECT_EQ(l.address, "02:fc:00:0a:bc:01");
  EXPECT_EQ(l.broadcast, "ff:ff:ff:ff:ff:ff");
  EXPECT_EQ(l.alias, "uplink");
  EXPECT_EQ(l.operstate, 6);
  EXPECT_EQ(l.link_mode, 1);
  EXPECT_EQ(l.carrier, 1);
  EXPECT_EQ(l.mtu, 9000u);
  EXPECT_EQ(l.tx_queue_len, 77u);
  EXPECT_EQ(l.group, 5u);
  EXPECT_EQ(l.carrier_changes, 4u);
  EXPECT_EQ(l.carrier_up, 2u);
  EXPECT_EQ(l.carrier_down, 2u);
  EXPECT_EQ(l.link, 9u);
  // sysfs's flags: without the computed running and lower-up bits, with promisc from its count.
  EXPECT_EQ(l.sysfs_flags(), static_cast<unsigned>(IFF_UP | IFF_BROADCAST | IFF_MULTICAST | IFF_PROMISC));
}

TEST(NetlinkParse, AnOlderKernelLacksAttributes) {
  const std::string data = Message(RTM_NEWLINK, 3)
                               .info(1, 772, IFF_UP | IFF_LOOPBACK | IFF_ALLMULTI)
                               .str(IFLA_IFNAME, "lo")
                               .bytes();
  std::vector<NetlinkLink> links;
  EXPECT_FALSE(parse(data, 3, links));  // no NLMSG_DONE yet: the dump goes on in the next read
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].address, "");
  EXPECT_EQ(links[0].alias, "");
  EXPECT_FALSE(links[0].carrier_up);
  EXPECT_FALSE(links[0].mtu);
  // Without the counts, ifi_flags' promisc and allmulti are all there is.
  EXPECT_EQ(links[0].sysfs_flags(), static_cast<unsigned>(IFF_UP | IFF_LOOPBACK | IFF_ALLMULTI));
  EXPECT_TRUE(parse(done(3), 3, links));
  EXPECT_EQ(links.size(), 1u);
}

TEST(NetlinkParse, AnswersToAnEarlierRequestArePassedOver) {
  const std::string data = Message(RTM_NEWLINK, 1).info(2, 1, 0).str(IFLA_IFNAME, "old0").bytes() + done(1) +
                           Message(RTM_NEWLINK, 2).info(3, 1, 0).str(IFLA_IFNAME, "new0").bytes() + done(2);
  std::vector<NetlinkLink> links;
  ASSERT_TRUE(parse(data, 2, links));
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].name, "new0");
}

std::string parse_error(const std::string& data, std::uint32_t seq) {
  std::vector<NetlinkLink> links;
  try {
    parse(data, seq, links);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(NetlinkParse, BrokenMessagesAreClearErrors) {
  const Message good = Message(RTM_NEWLINK, 5).info(2, 1, 0).str(IFLA_IFNAME, "eth0");
  EXPECT_EQ(parse_error(good.bytes_claiming(4000), 5),
            "malformed rtnetlink answer: a message of 4000 bytes where 44 are left");
  EXPECT_EQ(parse_error(good.bytes_claiming(8), 5),
            "malformed rtnetlink answer: a message of 8 bytes where 44 are left");
  EXPECT_EQ(parse_error(good.bytes() + "abc", 5),
            "malformed rtnetlink answer: a read ending inside a message header");
  EXPECT_EQ(parse_error(Message(RTM_NEWLINK, 5).raw("xy").bytes(), 5),
            "malformed rtnetlink answer: an RTM_NEWLINK message shorter than its ifinfomsg");
  // An attribute whose length runs past its message.
  rtattr bad{};
  bad.rta_type = IFLA_MTU;
  bad.rta_len = 200;
  EXPECT_EQ(parse_error(Message(RTM_NEWLINK, 5)
                            .info(6, 1, 0)
                            .raw(std::string(reinterpret_cast<char*>(&bad), sizeof bad))
                            .bytes(),
                        5),
            "malformed rtnetlink answer: an attribute of interface 6 runs past its message");
  const std::uint16_t two = 2;
  EXPECT_EQ(parse_error(Message(RTM_NEWLINK, 5)
                            .info(6, 1, 0)
                            .str(IFLA_IFNAME, "eth0")
                            .attr(IFLA_MTU, &two, sizeof two)
                            .bytes(),
                        5),
            "malformed rtnetlink answer: attribute 4 of interface 6 has 2 bytes, not 4");
  EXPECT_EQ(parse_error(Message(RTM_NEWLINK, 5).info(6, 1, 0).u32(IFLA_MTU, 1500).bytes(), 5),
            "malformed rtnetlink answer: interface 6 has no IFLA_IFNAME");
  // The kernel's refusal, and a dump that an interface's change interrupted.
  nlmsgerr err{};
  err.error = -EPERM;
  EXPECT_EQ(
      parse_error(Message(NLMSG_ERROR, 5).raw(std::string(reinterpret_cast<char*>(&err), sizeof err)).bytes(),
                  5),
      "the kernel refused the request: Operation not permitted");
  EXPECT_EQ(parse_error(Message(RTM_NEWLINK, 5, NLM_F_MULTI | NLM_F_DUMP_INTR)
                            .info(2, 1, 0)
                            .str(IFLA_IFNAME, "eth0")
                            .bytes(),
                        5),
            "the interfaces changed while the kernel listed them");
}

// --- the real kernel -----------------------------------------------------------------------------

// The netdev and netclass series of one cycle, a line each, sorted: labels and value.
std::string network_lines(bool netlink) {
  config::HostCollectorConfig config;
  config.netlink = netlink;
  config.netdev.exclude = "";  // lo too
  for (std::string_view s : kSections) {
    if (s != "netclass" && s != "netdev") config.disable.emplace_back(s);
  }
  auto collector = make_host_collector(
      config,
      std::make_shared<spdlog::logger>("netlink-test", std::make_shared<spdlog::sinks::null_sink_mt>()));
  store::Batch batch;
  collector->collect({.timestamp = 1'700'000'000'000,
                      .deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5)},
                     batch);
  std::vector<std::string> lines;
  for (const auto& s : batch.samples()) {
    std::string line;
    for (const Label& l : s.labels) line += l.name + "=" + l.value + " ";
    char value[32];
    std::snprintf(value, sizeof value, "%.17g", s.value);
    lines.push_back(line + value);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Run in a child: its own network and mount namespaces, sysfs mounted anew so /sys/class/net shows the
// namespace's interfaces. Exit 0: both files written; 77: namespaces not allowed here.
[[noreturn]] void child(const std::string& dir) {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) ::_exit(77);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(77);
  if (::mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0) ::_exit(77);
  // No IPv6: no packets of the kernel's own (neighbour discovery) change the counters between the two
  // readings.
  for (const char* conf :
       {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
    std::ofstream(conf) << "1\n";
  }
  const char* setup =
      "ip link set lo up && "
      "ip link add a0 type veth peer name b0 && ip link add a1 type veth peer name b1 && "
      "ip link add a2 type veth peer name b2 && "
      "ip link set a0 mtu 9000 group 5 txqueuelen 77 alias uplink && ip link set a0 up && ip link set b0 up "
      "&& "
      "ip link set b0 down && ip link set b0 up && "        // a0's carrier: down at birth, up, down, up
      "ip link set a1 promisc on && ip link set a1 up && "  // b1 stays down: a1 has no carrier
      "ip link set a2 allmulticast on address 02:00:00:00:00:2a";  // down, not running
  if (std::system(setup) != 0) ::_exit(3);
  ::usleep(200'000);  // the veth carriers settle
  // Five broadcast frames of an EtherType nothing handles, out of a0: b0 drops them.
  const int sock = ::socket(AF_PACKET, SOCK_RAW, 0);
  if (sock < 0) ::_exit(4);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  std::ifstream("/sys/class/net/a0/ifindex") >> to.sll_ifindex;
  to.sll_halen = ETH_ALEN;
  std::memset(to.sll_addr, 0xff, ETH_ALEN);
  unsigned char frame[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
  for (int i = 0; i < 5; ++i) {
    if (::sendto(sock, frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) != sizeof frame)
      ::_exit(5);
  }
  ::close(sock);
  ::usleep(100'000);
  {
    // ethtool's own dump, which netclass's speed and duplex come from under netlink.
    std::ofstream out(dir + "/ethtool");
    try {
      std::vector<EthtoolLinkMode> modes;
      EthtoolLinkModes().dump(modes);
      for (const auto& m : modes)
        out << m.index << " " << m.speed.value_or(-2) << " " << int(m.duplex.value_or(9)) << "\n";
    } catch (const std::exception& e) {
      out << "error: " << e.what() << "\n";
    }
  }
  std::ofstream(dir + "/netlink") << network_lines(true);
  std::ofstream(dir + "/sysfs") << network_lines(false);
  ::_exit(0);
}

TEST(NetlinkKernel, TheDumpGivesWhatSysfsGivesForEveryInterface) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  tocsin::testing::TempDir dir("tocsin-netlink");
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) child(dir.path().string());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "this machine refuses a network namespace";
  ASSERT_EQ(WEXITSTATUS(status), 0) << "setting up the interfaces (3: ip(8), 4-5: sending frames) failed";
  auto slurp = [&](const char* name) {
    std::ifstream in(dir.path() / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string netlink = slurp("netlink");
  const std::string sysfs = slurp("sysfs");
  // Six veths, each with ethtool's link settings (lo has none): 10 Gbit/s full duplex.
  const std::string ethtool = slurp("ethtool");
  std::size_t veths = 0;
  for (std::size_t at = ethtool.find(" 10000 1\n"); at != std::string::npos;
       at = ethtool.find(" 10000 1\n", at + 1))
    ++veths;
  EXPECT_EQ(veths, 6u) << ethtool;
  EXPECT_EQ(netlink, sysfs);
  // And what the set-up did is there (so the comparison is of interfaces in those states).
  EXPECT_NE(netlink.find("__name__=node_network_mtu_bytes device=a0 9000"), std::string::npos) << netlink;
  EXPECT_NE(netlink.find("__name__=node_network_net_dev_group device=a0 5"), std::string::npos);
  EXPECT_NE(netlink.find("__name__=node_network_transmit_queue_length device=a0 77"), std::string::npos);
  EXPECT_NE(netlink.find("ifalias=uplink operstate=up"), std::string::npos);
  EXPECT_NE(netlink.find("__name__=node_network_carrier_changes_total device=a0 4"), std::string::npos);
  EXPECT_NE(netlink.find("__name__=node_network_flags device=a1 4355"),
            std::string::npos);  // 0x1103: promisc
  EXPECT_NE(netlink.find("__name__=node_network_flags device=a2 4610"),
            std::string::npos);  // 0x1202: allmulti, down
  EXPECT_NE(netlink.find("address=02:00:00:00:00:2a"), std::string::npos);
  EXPECT_EQ(netlink.find("__name__=node_network_carrier device=a2"), std::string::npos);  // down: none
  EXPECT_NE(netlink.find("__name__=node_network_carrier device=a1 0"), std::string::npos);
  EXPECT_NE(netlink.find("__name__=node_network_transmit_packets_total device=a0 5"), std::string::npos);
  EXPECT_NE(netlink.find("__name__=node_network_transmit_bytes_total device=a0 300"), std::string::npos);
  EXPECT_NE(netlink.find("__name__=node_network_receive_packets_total device=b0 5"), std::string::npos);
  // Frames no protocol takes are dropped (rx_nohandler counts only on bonding's and team's ports).
  EXPECT_NE(netlink.find("__name__=node_network_receive_drop_total device=b0 5"), std::string::npos);
  EXPECT_NE(netlink.find("__name__=node_network_receive_nohandler_total device=b0 0"), std::string::npos);
}

}  // namespace
}  // namespace tocsin::collectors::host
