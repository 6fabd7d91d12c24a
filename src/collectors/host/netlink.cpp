#include "collectors/host/netlink.hpp"

#include <linux/ethtool_netlink.h>
#include <linux/genetlink.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string_view>
#include <system_error>

namespace tocsin::collectors::host {

namespace {

constexpr std::size_t kReceiveBuffer = 64 * 1024;  // the kernel fills a dump's reads up to 32 KiB
constexpr int kAttempts = 3;                       // dumps interrupted by a change, asked again

template <typename T>
T read_as(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[noreturn]] void malformed(std::string_view what) {
  throw std::runtime_error("malformed rtnetlink answer: " + std::string(what));
}

std::string format_address(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i > 0) out += ':';
    const auto b = static_cast<unsigned char>(bytes[i]);
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

// A string attribute without its terminating NULs.
std::string_view attribute_string(const char* p, std::size_t n) {
  std::string_view s(p, n);
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

void parse_link(const char* p, std::size_t n, NetlinkLink& link) {
  if (n < sizeof(ifinfomsg)) malformed("an RTM_NEWLINK message shorter than its ifinfomsg");
  const auto info = read_as<ifinfomsg>(p);
  link.index = info.ifi_index;
  link.type = info.ifi_type;
  link.flags = info.ifi_flags;
  std::size_t at = NLMSG_ALIGN(sizeof(ifinfomsg));
  while (at + sizeof(rtattr) <= n) {
    const auto attr = read_as<rtattr>(p + at);
    if (attr.rta_len < sizeof(rtattr) || attr.rta_len > n - at) {
      malformed("an attribute of interface " + std::to_string(link.index) + " runs past its message");
    }
    const char* data = p + at + RTA_LENGTH(0);
    const std::size_t size = attr.rta_len - RTA_LENGTH(0);
    auto u8 = [&](std::optional<std::uint8_t>& field) {
      if (size < 1) malformed("a 1-byte attribute of interface " + std::to_string(link.index) + " is empty");
      field = read_as<std::uint8_t>(data);
    };
    auto u32 = [&](std::optional<std::uint32_t>& field) {
      if (size < 4) {
        malformed("attribute " + std::to_string(attr.rta_type) + " of interface " +
                  std::to_string(link.index) + " has " + std::to_string(size) + " bytes, not 4");
      }
      field = read_as<std::uint32_t>(data);
    };
    switch (attr.rta_type) {
      case IFLA_IFNAME: link.name = attribute_string(data, size); break;
      case IFLA_ADDRESS: link.address = format_address(std::string_view(data, size)); break;
      case IFLA_BROADCAST: link.broadcast = format_address(std::string_view(data, size)); break;
      case IFLA_LINK: u32(link.link); break;
      case IFLA_IFALIAS: link.alias = attribute_string(data, size); break;
      case IFLA_OPERSTATE: u8(link.operstate); break;
      case IFLA_LINKMODE: u8(link.link_mode); break;
      case IFLA_CARRIER: u8(link.carrier); break;
      case IFLA_MTU: u32(link.mtu); break;
      case IFLA_TXQLEN: u32(link.tx_queue_len); break;
      case IFLA_GROUP: u32(link.group); break;
      case IFLA_CARRIER_CHANGES: u32(link.carrier_changes); break;
      case IFLA_CARRIER_UP_COUNT: u32(link.carrier_up); break;
      case IFLA_CARRIER_DOWN_COUNT: u32(link.carrier_down); break;
      case IFLA_PROMISCUITY: u32(link.promiscuity); break;
      case IFLA_ALLMULTI: u32(link.allmulti); break;
      case IFLA_STATS64: {
        rtnl_link_stats64 stats{};
        std::memcpy(&stats, data, std::min(size, sizeof stats));
        link.stats = stats;
        link.has_rx_nohandler = size >= offsetof(rtnl_link_stats64, rx_nohandler) + sizeof stats.rx_nohandler;
        break;
      }
      default: break;
    }
    at += RTA_ALIGN(attr.rta_len);
  }
  if (link.name.empty()) malformed("interface " + std::to_string(link.index) + " has no IFLA_IFNAME");
}

}  // namespace

unsigned NetlinkLink::sysfs_flags() const {
  unsigned f =
      flags & ~static_cast<unsigned>(IFF_PROMISC | IFF_ALLMULTI | IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT);
  // dev->flags has promisc and allmulti while their counts are above zero; ifi_flags shows only what
  // the user asked for (gflags). Without the counts (an older kernel), the user's request is all there is.
  if (promiscuity ? *promiscuity > 0 : (flags & IFF_PROMISC) != 0) f |= IFF_PROMISC;
  if (allmulti ? *allmulti > 0 : (flags & IFF_ALLMULTI) != 0) f |= IFF_ALLMULTI;
  return f;
}

bool walk_netlink_messages(std::span<const char> data, std::uint32_t seq, bool dump,
                           const NetlinkMessageFn& on_message) {
  std::size_t at = 0;
  while (at + sizeof(nlmsghdr) <= data.size()) {
    const auto header = read_as<nlmsghdr>(data.data() + at);
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > data.size() - at) {
      malformed("a message of " + std::to_string(header.nlmsg_len) + " bytes where " +
                std::to_string(data.size() - at) + " are left");
    }
    if (header.nlmsg_seq != seq) {  // a late answer to an earlier request: not this one's
      at += NLMSG_ALIGN(header.nlmsg_len);
      continue;
    }
    if ((header.nlmsg_flags & NLM_F_DUMP_INTR) != 0) {
      throw NetlinkDumpInterrupted("the interfaces changed while the kernel listed them");
    }
    const char* payload = data.data() + at + NLMSG_HDRLEN;
    const std::size_t size = header.nlmsg_len - NLMSG_HDRLEN;
    if (header.nlmsg_type == NLMSG_DONE) return true;
    if (header.nlmsg_type == NLMSG_ERROR) {
      if (size < sizeof(int)) malformed("an NLMSG_ERROR without its error code");
      const int code = -read_as<int>(payload);
      if (code != 0) throw NetlinkRefused(code, std::generic_category(), "the kernel refused the request");
      if (!dump) return true;  // an acknowledgement
    } else {
      on_message(header.nlmsg_type, payload, size);
      if (!dump) return true;
    }
    at += NLMSG_ALIGN(header.nlmsg_len);
  }
  if (at < data.size()) malformed("a read ending inside a message header");
  return false;
}

bool parse_link_messages(std::span<const char> data, std::uint32_t seq, std::vector<NetlinkLink>& out) {
  return walk_netlink_messages(data, seq, true, [&](std::uint16_t type, const char* p, std::size_t n) {
    if (type == RTM_NEWLINK) parse_link(p, n, out.emplace_back());
  });
}

namespace {

// Calls fn(type, data, size) for each attribute in [p, p + n); `whose` names them in errors.
template <typename Fn>
void walk_attributes(const char* p, std::size_t n, const std::string& whose, Fn fn) {
  std::size_t at = 0;
  while (at + sizeof(nlattr) <= n) {
    const auto attr = read_as<nlattr>(p + at);
    if (attr.nla_len < sizeof(nlattr) || attr.nla_len > n - at)
      malformed("an attribute of " + whose + " runs past its message");
    fn(static_cast<std::uint16_t>(attr.nla_type & NLA_TYPE_MASK), p + at + NLA_HDRLEN,
       attr.nla_len - NLA_HDRLEN);
    at += NLA_ALIGN(attr.nla_len);
  }
}

void append_attribute(std::string& message, std::uint16_t type, const void* data, std::size_t size) {
  nlattr attr{};
  attr.nla_type = type;
  attr.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + size);
  message.append(reinterpret_cast<const char*>(&attr), sizeof attr);
  message.append(static_cast<const char*>(data), size);
  message.resize(NLA_ALIGN(message.size()));
}

// A request's header (its length set by finish()) and a fixed part.
template <typename Fixed>
std::string request(std::uint16_t type, std::uint16_t flags, const Fixed& fixed) {
  nlmsghdr header{};
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  std::string m(reinterpret_cast<const char*>(&header), sizeof header);
  m.append(reinterpret_cast<const char*>(&fixed), sizeof fixed);
  m.resize(NLMSG_ALIGN(m.size()));
  return m;
}

}  // namespace

namespace {

// One message of an ETHTOOL_MSG_LINKMODES_GET dump, appended to `out` when it is a reply.
void parse_linkmode(std::uint16_t type, const char* p, std::size_t n, std::uint16_t family,
                    std::vector<EthtoolLinkMode>& out) {
  if (type != family) return;
  if (n < GENL_HDRLEN) malformed("an ethtool message shorter than its genlmsghdr");
  if (read_as<genlmsghdr>(p).cmd != ETHTOOL_MSG_LINKMODES_GET_REPLY) return;
  EthtoolLinkMode mode;
  walk_attributes(p + GENL_HDRLEN, n - GENL_HDRLEN, "an ethtool reply",
                  [&](std::uint16_t a, const char* d, std::size_t size) {
                    if (a == ETHTOOL_A_LINKMODES_HEADER) {
                      walk_attributes(d, size, "an ethtool reply's header",
                                      [&](std::uint16_t h, const char* hd, std::size_t hs) {
                                        if (h == ETHTOOL_A_HEADER_DEV_INDEX && hs >= 4)
                                          mode.index = static_cast<int>(read_as<std::uint32_t>(hd));
                                      });
                    } else if (a == ETHTOOL_A_LINKMODES_SPEED && size >= 4) {
                      mode.speed = static_cast<std::int32_t>(read_as<std::uint32_t>(d));
                    } else if (a == ETHTOOL_A_LINKMODES_DUPLEX && size >= 1) {
                      mode.duplex = read_as<std::uint8_t>(d);
                    }
                  });
  if (mode.index <= 0) malformed("an ethtool reply without its device's index");
  out.push_back(mode);
}

}  // namespace

bool parse_linkmodes_messages(std::span<const char> data, std::uint32_t seq, std::uint16_t family,
                              std::vector<EthtoolLinkMode>& out) {
  return walk_netlink_messages(data, seq, true, [&](std::uint16_t type, const char* p, std::size_t n) {
    parse_linkmode(type, p, n, family, out);
  });
}

NetlinkSocket::~NetlinkSocket() {
  if (fd_ >= 0) ::close(fd_);
}

void NetlinkSocket::open() {
  fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol_);
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "socket(AF_NETLINK)");
  // The kernel answers at once; a second bounds a cycle against one that does not.
  const timeval timeout{.tv_sec = 1, .tv_usec = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const int strict = 1;  // the kernel checks the request (and honours its filters) strictly
  ::setsockopt(fd_, SOL_NETLINK, NETLINK_GET_STRICT_CHK, &strict, sizeof strict);
  buffer_.resize(kReceiveBuffer);
}

void NetlinkSocket::exchange(std::string message, const char* what, const NetlinkMessageFn& on_message,
                             const std::function<void()>& on_restart) {
  if (fd_ < 0) open();
  nlmsghdr header;
  std::memcpy(&header, message.data(), sizeof header);
  const bool dump = (header.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  header.nlmsg_len = static_cast<std::uint32_t>(message.size());
  for (int attempt = 1;; ++attempt) {
    header.nlmsg_seq = ++seq_;
    std::memcpy(message.data(), &header, sizeof header);
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_, message.data(), message.size(), 0, reinterpret_cast<const sockaddr*>(&kernel),
                 sizeof kernel) < 0) {
      throw std::system_error(errno, std::generic_category(), std::string("sending ") + what);
    }
    try {
      bool done = false;
      while (!done) {
        const ssize_t n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
        if (n < 0) {
          if (errno == EINTR) continue;
          const int code = errno == EAGAIN ? ETIMEDOUT : errno;
          ::close(fd_);  // what is still queued would answer the next request
          fd_ = -1;
          throw std::system_error(code, std::generic_category(),
                                  std::string("reading the answer to ") + what);
        }
        if (n == 0) malformed("the socket closed during the answer");
        done = walk_netlink_messages(std::span<const char>(buffer_.data(), static_cast<std::size_t>(n)), seq_,
                                     dump, on_message);
      }
      return;
    } catch (const NetlinkDumpInterrupted&) {
      // Asked again: what is left of the interrupted dump carries the old seq and is passed over.
      if (attempt == kAttempts) throw;
      if (on_restart) on_restart();
    } catch (const NetlinkRefused& e) {
      throw std::system_error(e.code(), what);
    }
  }
}

void dump_links(NetlinkSocket& route, std::vector<NetlinkLink>& out) {
  out.clear();
  ifinfomsg info{};
  info.ifi_family = AF_UNSPEC;
  std::string m = request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, info);
  const std::uint32_t mask = 0;  // with the statistics (netdev's counters)
  append_attribute(m, IFLA_EXT_MASK, &mask, sizeof mask);
  route.exchange(
      std::move(m), "RTM_GETLINK",
      [&](std::uint16_t type, const char* p, std::size_t n) {
        if (type == RTM_NEWLINK) parse_link(p, n, out.emplace_back());
      },
      [&] { out.clear(); });
}

void EthtoolLinkModes::dump(std::vector<EthtoolLinkMode>& out) {
  out.clear();
  if (family_ == 0) {
    genlmsghdr g{};
    g.cmd = CTRL_CMD_GETFAMILY;
    g.version = 1;
    std::string m = request(GENL_ID_CTRL, NLM_F_REQUEST, g);
    append_attribute(m, CTRL_ATTR_FAMILY_NAME, ETHTOOL_GENL_NAME, sizeof ETHTOOL_GENL_NAME);
    generic_.exchange(std::move(m), "CTRL_CMD_GETFAMILY ethtool",
                      [&](std::uint16_t, const char* p, std::size_t n) {
                        if (n < GENL_HDRLEN)
                          malformed("a generic netlink answer shorter than its genlmsghdr");
                        walk_attributes(p + GENL_HDRLEN, n - GENL_HDRLEN, "the family answer",
                                        [&](std::uint16_t a, const char* d, std::size_t size) {
                                          if (a == CTRL_ATTR_FAMILY_ID && size >= 2)
                                            family_ = read_as<std::uint16_t>(d);
                                        });
                      });
    if (family_ == 0) malformed("the family answer has no CTRL_ATTR_FAMILY_ID");
  }
  genlmsghdr g{};
  g.cmd = ETHTOOL_MSG_LINKMODES_GET;
  g.version = ETHTOOL_GENL_VERSION;
  std::string m = request(family_, NLM_F_REQUEST | NLM_F_DUMP, g);
  // A nested header asking for compact bitsets: the link modes' bit lists are not read.
  std::string header;
  const std::uint32_t flags = ETHTOOL_FLAG_COMPACT_BITSETS;
  append_attribute(header, ETHTOOL_A_HEADER_FLAGS, &flags, sizeof flags);
  append_attribute(m, ETHTOOL_A_LINKMODES_HEADER | NLA_F_NESTED, header.data(), header.size());
  generic_.exchange(
      std::move(m), "ETHTOOL_MSG_LINKMODES_GET",
      [&](std::uint16_t type, const char* p, std::size_t n) { parse_linkmode(type, p, n, family_, out); },
      [&] { out.clear(); });
  std::sort(out.begin(), out.end(),
            [](const EthtoolLinkMode& a, const EthtoolLinkMode& b) { return a.index < b.index; });
}

std::array<std::uint64_t, 16> net_dev_columns(const rtnl_link_stats64& s) {
  // As dev_seq_printf_stats() (net/core/net-procfs.c) prints them.
  return {s.rx_bytes,
          s.rx_packets,
          s.rx_errors,
          s.rx_dropped + s.rx_missed_errors,
          s.rx_fifo_errors,
          s.rx_length_errors + s.rx_over_errors + s.rx_crc_errors + s.rx_frame_errors,
          s.rx_compressed,
          s.multicast,
          s.tx_bytes,
          s.tx_packets,
          s.tx_errors,
          s.tx_dropped,
          s.tx_fifo_errors,
          s.collisions,
          s.tx_carrier_errors + s.tx_aborted_errors + s.tx_window_errors + s.tx_heartbeat_errors,
          s.tx_compressed};
}

const std::vector<NetlinkLink>* NetlinkLinks::get(ProblemLog& problems) {
  if (!enabled_) return nullptr;
  if (fresh_) return ok_ ? &links_ : nullptr;
  fresh_ = true;
  ok_ = false;
  constexpr const char* kFiles = "/proc/net/dev and /sys/class/net";
  try {
    dump_links(route_, links_);
  } catch (const std::system_error& e) {
    const int code = e.code().value();
    if (code == EAFNOSUPPORT || code == EPERM || code == EACCES || code == EPROTONOSUPPORT) {
      enabled_ = false;  // a sandbox without AF_NETLINK (RestrictAddressFamilies=)
      problems.report("netlink", spdlog::level::info,
                      std::string("netlink: ") + e.what() + "; reading " + kFiles + " instead");
      return nullptr;
    }
    problems.report("netlink", spdlog::level::warn,
                    std::string("netlink: ") + e.what() + "; reading " + kFiles + " this cycle");
    return nullptr;
  } catch (const std::runtime_error& e) {
    problems.report("netlink", spdlog::level::warn,
                    std::string("netlink: ") + e.what() + "; reading " + kFiles + " this cycle");
    return nullptr;
  }
  problems.clear("netlink", [] { return std::string("netlink: answering again"); });
  ok_ = true;
  modes_ok_ = false;
  if (modes_enabled_) {
    constexpr const char* kSpeed = "/sys/class/net/*/{speed,duplex}";
    try {
      ethtool_.dump(modes_);
      modes_ok_ = true;
      problems.clear("ethtool", [] { return std::string("ethtool netlink: answering again"); });
    } catch (const std::system_error& e) {
      const int code = e.code().value();
      if (code == ENOENT || code == EAFNOSUPPORT || code == EPERM || code == EACCES ||
          code == EPROTONOSUPPORT || code == EOPNOTSUPP) {
        modes_enabled_ = false;  // a kernel without ethtool's netlink family, or a sandbox
        problems.report("ethtool", spdlog::level::info,
                        std::string("ethtool netlink: ") + e.what() + "; reading " + kSpeed + " instead");
      } else {
        problems.report("ethtool", spdlog::level::warn,
                        std::string("ethtool netlink: ") + e.what() + "; reading " + kSpeed + " this cycle");
      }
    } catch (const std::runtime_error& e) {
      problems.report("ethtool", spdlog::level::warn,
                      std::string("ethtool netlink: ") + e.what() + "; reading " + kSpeed + " this cycle");
    }
  }
  return &links_;
}

}  // namespace tocsin::collectors::host
