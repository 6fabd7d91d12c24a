#pragma once
// Pure parsers for the network files of procfs: /proc/net/{netstat,snmp,snmp6,dev,sockstat,sockstat6,
// softnet_stat,arp,udp,udp6} and /proc/net/stat/nf_conntrack. No I/O: each takes the file's text and
// throws ParseError (with the 1-based line, or 0 for the file as a whole) for malformed input.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tocsin/collectors/parse_error.hpp"

namespace tocsin::collectors::host {

using collectors::ParseError;

struct NetstatField {
  std::string key;  // "<Protocol>_<Name>" as node_exporter names it: "Tcp_ActiveOpens", "Ip6_InOctets"
  double value = 0;
};

// /proc/net/netstat and /proc/net/snmp: pairs of lines "Proto: Name1 Name2 ..." / "Proto: v1 v2 ...".
// Appends to `out`. A header without its value line (a truncated file), a value line of another
// protocol, a different number of names and values, or a value that is not a number are errors.
void parse_netstat(std::string_view text, std::vector<NetstatField>& out);

// /proc/net/snmp6: "Ip6InReceives   123" lines; the protocol is the name up to its first '6'
// ("Icmp6", "Udp6", "UdpLite6"). Lines of fewer than two fields and names without a '6' are skipped.
void parse_snmp6(std::string_view text, std::vector<NetstatField>& out);

// The 16 columns of /proc/net/dev, in the kernel's order.
inline constexpr std::size_t kNetDevColumns = 16;
inline constexpr std::array<std::string_view, kNetDevColumns> kNetDevNames = {
    "receive_bytes",  "receive_packets",  "receive_errs",       "receive_drop",
    "receive_fifo",   "receive_frame",    "receive_compressed", "receive_multicast",
    "transmit_bytes", "transmit_packets", "transmit_errs",      "transmit_drop",
    "transmit_fifo",  "transmit_colls",   "transmit_carrier",   "transmit_compressed"};

struct NetDevLine {
  std::string_view device;  // points into the text
  std::array<std::uint64_t, kNetDevColumns> values{};
};

// /proc/net/dev: two header lines, then "  name: 16 numbers". A line without the colon or with fewer
// than 16 numbers is an error naming the line.
std::vector<NetDevLine> parse_net_dev(std::string_view text);

struct SockstatProtocol {
  std::string protocol;                                      // "TCP", "UDP6", ...
  std::vector<std::pair<std::string, std::int64_t>> values;  // in file order: inuse, orphan, tw, ...
};

struct Sockstat {
  std::optional<std::int64_t> sockets_used;  // "sockets: used N" (only in the IPv4 file)
  std::vector<SockstatProtocol> protocols;
};

// /proc/net/sockstat and sockstat6: "PROTO: key value key value ...". An odd number of key/value
// fields or a value that is not an integer is an error.
Sockstat parse_sockstat(std::string_view text);

struct SoftnetLine {
  std::uint32_t processed = 0;
  std::uint32_t dropped = 0;
  std::uint32_t time_squeezed = 0;
};

// /proc/net/softnet_stat: one line of hex columns per CPU; at least 9 columns (Linux 2.6.x prints 9,
// newer kernels 11 to 15), as procfs requires.
std::vector<SoftnetLine> parse_softnet(std::string_view text);

// /proc/net/arp: the entries per device (the last column), in the order devices first appear. The
// header ("IP address ...") is skipped; a line of fewer than 6 columns is an error.
std::vector<std::pair<std::string, std::uint64_t>> parse_arp(std::string_view text);

struct UdpQueues {
  std::uint64_t tx = 0;  // bytes, summed over the sockets
  std::uint64_t rx = 0;
};

// /proc/net/udp and udp6: the header, then one line per socket with "tx_queue:rx_queue" in hex in
// the fifth column; a line of fewer than 10 columns or a bad queue field is an error.
UdpQueues parse_udp_queues(std::string_view text);

struct ConntrackStat {
  std::uint64_t found = 0;
  std::uint64_t invalid = 0;
  std::uint64_t ignore = 0;
  std::uint64_t insert = 0;
  std::uint64_t insert_failed = 0;
  std::uint64_t drop = 0;
  std::uint64_t early_drop = 0;
  std::uint64_t search_restart = 0;
};

// /proc/net/stat/nf_conntrack: a header, then one line of 17 hex columns per CPU, summed as procfs
// does (by position: the column names changed across kernels, the positions did not).
ConntrackStat parse_conntrack_stat(std::string_view text);

}  // namespace tocsin::collectors::host
