// The parsers of the node_exporter families added for issue 14, against files captured on a real
// host (tests/data/host/real, by tests/data/host/capture.sh), and against missing, truncated and
// malformed variants, including kernels that print fewer columns.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "collectors/host/disk_parsers.hpp"
#include "collectors/host/hwmon_names.hpp"
#include "collectors/host/net_parsers.hpp"
#include "collectors/host/proc_parsers.hpp"
#include "real_file.hpp"

namespace tocsin::collectors::host {
namespace {

using tocsin::collectors::host::captured::real;

// The message of the ParseError `f` throws, with its line as "line: message".
template <typename F>
std::string error_of(F f) {
  try {
    f();
  } catch (const ParseError& e) {
    return std::to_string(e.line()) + ": " + e.what();
  }
  return "no error";
}

const NetstatField* find(const std::vector<NetstatField>& fields, std::string_view key) {
  for (const auto& f : fields) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

TEST(Netstat, RealNetstatSnmpAndSnmp6) {
  std::vector<NetstatField> fields;
  parse_netstat(real("net/netstat"), fields);
  parse_netstat(real("net/snmp"), fields);
  parse_snmp6(real("net/snmp6"), fields);
  ASSERT_NE(find(fields, "TcpExt_SyncookiesSent"), nullptr);
  ASSERT_NE(find(fields, "IpExt_InOctets"), nullptr);
  EXPECT_EQ(find(fields, "IpExt_InOctets")->value, 2425561567.0);
  ASSERT_NE(find(fields, "Ip_Forwarding"), nullptr);
  EXPECT_EQ(find(fields, "Ip_Forwarding")->value, 2);
  ASSERT_NE(find(fields, "Tcp_MaxConn"), nullptr);
  EXPECT_EQ(find(fields, "Tcp_MaxConn")->value, -1);  // the kernel prints -1: not a counter
  ASSERT_NE(find(fields, "Ip6_InReceives"), nullptr);
  ASSERT_NE(find(fields, "UdpLite6_InErrors"), nullptr);  // split at the first '6'
  ASSERT_NE(find(fields, "Icmp6_InMsgs"), nullptr);
}

TEST(Netstat, TruncatedAndMismatchedFiles) {
  std::vector<NetstatField> fields;
  EXPECT_EQ(error_of([&] { parse_netstat("Tcp: A B\nTcp: 1 2\nUdp: InErrors\n", fields); }),
            "3: Udp: header without its line of values");
  EXPECT_EQ(error_of([&] { parse_netstat("Tcp: A B\nTcp: 1\n", fields); }), "2: Tcp: more names than values");
  EXPECT_EQ(error_of([&] { parse_netstat("Tcp: A\nTcp: 1 2\n", fields); }), "2: Tcp: more values than names");
  EXPECT_EQ(error_of([&] { parse_netstat("Tcp: A\nUdp: 1\n", fields); }),
            "2: expected the values of Tcp, got \"Udp: 1\"");
  EXPECT_EQ(error_of([&] { parse_netstat("Tcp: A\nTcp: x\n", fields); }), "2: Tcp A: invalid number \"x\"");
  EXPECT_EQ(error_of([&] { parse_netstat("garbage\n", fields); }),
            "1: expected \"Protocol: names...\", got \"garbage\"");
  // A kernel that lacks a field simply has no such key.
  fields.clear();
  parse_netstat("Tcp: ActiveOpens\nTcp: 5\n", fields);
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(find(fields, "Tcp_InErrs"), nullptr);
  EXPECT_EQ(error_of([&] { parse_snmp6("Ip6InReceives x\n", fields); }),
            "1: Ip6InReceives: invalid number \"x\"");
}

TEST(NetDev, RealFileAndTruncatedLine) {
  const auto devices = parse_net_dev(real("net/dev"));
  ASSERT_EQ(devices.size(), 4u);
  EXPECT_EQ(devices[0].device, "lo");
  EXPECT_EQ(devices[3].device, "eth0");
  EXPECT_EQ(devices[3].values[0], 194491966u);  // receive_bytes
  EXPECT_EQ(devices[3].values[9], 2837u);       // transmit_packets
  const std::string header = "Inter-|   Receive\n face |bytes\n";
  EXPECT_EQ(error_of([&] { parse_net_dev(header + "  eth0: 1 2 3\n"); }),
            "3: eth0: expected 16 counters, got 3");
  EXPECT_EQ(error_of([&] { parse_net_dev(header + "  eth0 1 2 3\n"); }),
            "3: expected \"device: counters...\", got \"  eth0 1 2 3\"");
  EXPECT_EQ(error_of([&] { parse_net_dev(header + "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1\n"); }),
            "3: eth0: invalid transmit_compressed \"-1\"");
  EXPECT_TRUE(parse_net_dev(header).empty());
}

TEST(Sockstat, RealFilesAndMalformedLines) {
  const Sockstat v4 = parse_sockstat(real("net/sockstat"));
  ASSERT_TRUE(v4.sockets_used);
  EXPECT_EQ(*v4.sockets_used, 11);
  ASSERT_GE(v4.protocols.size(), 5u);
  EXPECT_EQ(v4.protocols[0].protocol, "TCP");
  EXPECT_EQ(v4.protocols[0].values[4], (std::pair<std::string, std::int64_t>("mem", 245)));
  const Sockstat v6 = parse_sockstat(real("net/sockstat6"));
  EXPECT_FALSE(v6.sockets_used);
  EXPECT_EQ(v6.protocols[0].protocol, "TCP6");
  EXPECT_EQ(error_of([] { parse_sockstat("TCP: inuse\n"); }), "1: TCP: inuse without a value");
  EXPECT_EQ(error_of([] { parse_sockstat("TCP: inuse x\n"); }), "1: TCP inuse: invalid number \"x\"");
  EXPECT_EQ(error_of([] { parse_sockstat("TCP:\n"); }), "1: TCP: no values");
}

TEST(Softnet, RealFileAndOldKernels) {
  const auto lines = parse_softnet(real("net/softnet_stat"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].processed, 0x225941u);
  EXPECT_EQ(lines[1].processed, 0x20626du);
  // Linux 2.6 prints 9 columns: still read; fewer is a truncated line.
  EXPECT_EQ(parse_softnet("0000000a 00000001 00000002 0 0 0 0 0 0\n")[0].processed, 10u);
  EXPECT_EQ(error_of([] { parse_softnet("0000000a 00000001 00000002\n"); }),
            "1: expected at least 9 columns, got 3");
  EXPECT_EQ(error_of([] { parse_softnet("zz 0 0 0 0 0 0 0 0\n"); }), "1: invalid hex counter \"zz\"");
}

TEST(Arp, RealFileCountsPerDevice) {
  const auto entries = parse_arp(real("net/arp"));
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0], (std::pair<std::string, std::uint64_t>("eth0", 1)));
  EXPECT_EQ(error_of([] { parse_arp("192.0.2.1 0x1 0x2\n"); }),
            "1: expected 6 columns, got \"192.0.2.1 0x1 0x2\"");
}

TEST(UdpQueues, SumsTheQueuesOfEverySocket) {
  EXPECT_EQ(parse_udp_queues(real("net/udp")).tx, 0u);  // this host has no UDP sockets
  const std::string header =
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n";
  const auto q = parse_udp_queues(
      header +
      "  1: 0100007F:0035 00000000:0000 07 00000010:00000200 00:00000000 00000000 0 0 1 2\n"
      "  2: 0100007F:0036 00000000:0000 07 00000001:00000001 00:00000000 00000000 0 0 1 2\n");
  EXPECT_EQ(q.tx, 0x11u);
  EXPECT_EQ(q.rx, 0x201u);
  EXPECT_EQ(error_of([&] { parse_udp_queues(header + "  1: 0100007F:0035\n"); }),
            "2: expected at least 10 columns, got 2");
  EXPECT_EQ(error_of([&] { parse_udp_queues(header + "  1: a b 07 0010 0 0 0 0 0\n"); }),
            "2: invalid tx_queue:rx_queue \"0010\"");
}

TEST(Conntrack, RealStatFileSumsTheCpus) {
  const ConntrackStat s = parse_conntrack_stat(real("net/stat/nf_conntrack"));
  EXPECT_EQ(s.found, 0u);
  const std::string header =
      "entries clashres found new invalid ignore delete chainlength insert insert_failed drop "
      "early_drop icmp_error expect_new expect_create expect_delete search_restart\n";
  const std::string cpu =
      "00000001 00000000 0000000a 00000000 00000002 00000003 0 0 00000004 00000005 00000006 "
      "00000007 0 0 0 0 00000008\n";
  const ConntrackStat two = parse_conntrack_stat(header + cpu + cpu);
  EXPECT_EQ(two.found, 20u);
  EXPECT_EQ(two.invalid, 4u);
  EXPECT_EQ(two.ignore, 6u);
  EXPECT_EQ(two.insert, 8u);
  EXPECT_EQ(two.insert_failed, 10u);
  EXPECT_EQ(two.drop, 12u);
  EXPECT_EQ(two.early_drop, 14u);
  EXPECT_EQ(two.search_restart, 16u);
  EXPECT_EQ(error_of([&] { parse_conntrack_stat(header + "00000001 00000000\n"); }),
            "2: expected 17 columns, got 2");
  EXPECT_EQ(error_of([] { parse_conntrack_stat(""); }), "0: empty");
}

TEST(Diskstats, RealFileAndEveryKernelGeneration) {
  const auto disks = parse_diskstats(real("diskstats"));
  ASSERT_GE(disks.size(), 2u);
  const DiskStats* vda = nullptr;
  for (const auto& d : disks) {
    if (d.device == "vda") vda = &d;
  }
  ASSERT_NE(vda, nullptr);
  EXPECT_EQ(vda->major, 254u);
  EXPECT_EQ(vda->columns, 17u);  // Linux >= 5.5: discards and flushes
  EXPECT_EQ(vda->values[0], 869472u);
  EXPECT_EQ(vda->values[16], 2636u);
  // Linux 4.17 (11 columns), 4.18 (15), and a 2.6 partition line (4 columns, skipped).
  const auto old = parse_diskstats(
      "   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n   8 1 sda1 1 2 3 4\n"
      "   8 16 sdb 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n");
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[0].columns, 11u);
  EXPECT_EQ(old[1].columns, 15u);
  EXPECT_EQ(error_of([] { parse_diskstats("   8 0 sda 1 2 x\n"); }),
            "1: sda: invalid number \"x\" in column 6");
  EXPECT_EQ(error_of([] { parse_diskstats("   x 0 sda 1\n"); }), "1: invalid major number \"x\"");
  EXPECT_EQ(error_of([] { parse_diskstats("   8 0\n"); }), "1: no device name");
}

TEST(Udev, PropertiesOfADatabaseFile) {
  const auto props =
      parse_udev_properties("S:disk/by-id/x\nE:ID_MODEL=Samsung_SSD\nE:ID_SERIAL_SHORT=S1\nG:systemd\n");
  ASSERT_EQ(props.size(), 2u);
  EXPECT_EQ(props[0], (std::pair<std::string, std::string>("ID_MODEL", "Samsung_SSD")));
}

TEST(Vmstat, RealFileAndMalformedLines) {
  const auto fields = parse_vmstat(real("vmstat"));
  bool oom = false;
  for (const auto& f : fields) oom = oom || f.name == "oom_kill";
  EXPECT_TRUE(oom);
  EXPECT_EQ(error_of([] { parse_vmstat("pgfault\n"); }), "1: pgfault: missing value");
  EXPECT_EQ(error_of([] { parse_vmstat("pgfault 12\npgmajfault many\n"); }),
            "2: pgmajfault: invalid number \"many\"");
  EXPECT_EQ(error_of([] { parse_vmstat(""); }), "0: no fields");
}

TEST(SmallFiles, FileNrEntropyOsRelease) {
  const FileNr nr = parse_file_nr(real("sys/fs/file-nr"));
  EXPECT_EQ(nr.allocated, 579);
  EXPECT_EQ(nr.maximum, 2466126);
  EXPECT_EQ(error_of([] { parse_file_nr("579\t0\n"); }),
            "1: expected \"allocated unused maximum\", got \"579?0\"");
  EXPECT_EQ(parse_uint_file(real("sys/kernel/random/poolsize")), 256u);
  EXPECT_EQ(error_of([] { parse_uint_file("\n"); }), "0: empty");
  EXPECT_EQ(error_of([] { parse_uint_file("12a\n"); }), "1: invalid number \"12a\"");

  const auto os = parse_os_release(real("rootfs/etc/os-release"));
  auto get = [&](std::string_view key) {
    for (const auto& [k, v] : os) {
      if (k == key) return v;
    }
    return std::string();
  };
  EXPECT_EQ(get("PRETTY_NAME"), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(get("VERSION_CODENAME"), "bookworm");
  EXPECT_EQ(os_version_number(get("VERSION_ID")), 12);
  EXPECT_EQ(os_version_number("22.04"), 22.04);
  EXPECT_EQ(os_version_number("rolling"), 0);
  EXPECT_EQ(parse_os_release("A='x y'\nB=\"q\\\"uote\"\n# c\n")[1].second, "q\"uote");
  EXPECT_EQ(error_of([] { parse_os_release("NAME=\"Debian\nID=debian\n"); }), "1: NAME: unterminated quote");
  EXPECT_EQ(error_of([] { parse_os_release("just text\n"); }), "1: expected KEY=value, got \"just text\"");
  EXPECT_EQ(parse_words("tsc kvm-clock \n"), (std::vector<std::string>{"tsc", "kvm-clock"}));
}

TEST(Hwmon, SensorFileNamesAsNodeExporterSplitsThem) {
  auto split = [](std::string_view name) {
    auto s = explode_sensor_filename(name);
    return s ? s->type + "|" + std::to_string(s->number) + "|" + s->property : std::string("no match");
  };
  EXPECT_EQ(split("temp1_crit_alarm"), "temp|1|crit_alarm");
  EXPECT_EQ(split("in0_input"), "in|0|input");
  EXPECT_EQ(split("pwm1"), "pwm|1|");
  EXPECT_EQ(split("beep_enable"), "beep_enable|0|");
  EXPECT_EQ(split("update_interval"), "update_interval|0|");
  EXPECT_EQ(split("1temp"), "no match");
  EXPECT_EQ(split("temp1x"), "no match");
  EXPECT_EQ(split("temp99999999999999999999_input"), "no match");
  EXPECT_EQ(clean_hwmon_name("Package id 0\n"), "package_id_0");
  EXPECT_EQ(clean_hwmon_name("0000:00:18.3"), "0000:00:18_3");
  EXPECT_EQ(clean_hwmon_name("__"), "");
}

// Every parser on the captured files cut at random places and with random bytes changed: each either
// parses or throws ParseError (never anything else, never a crash; run under the sanitizers in CI).
TEST(HostParsers, TruncatedAndCorruptedRealFilesOnlyEverThrowParseError) {
  const std::pair<const char*, void (*)(std::string_view)> files[] = {
      {"net/netstat",
       [](std::string_view t) {
         std::vector<NetstatField> f;
         parse_netstat(t, f);
       }},
      {"net/snmp",
       [](std::string_view t) {
         std::vector<NetstatField> f;
         parse_netstat(t, f);
       }},
      {"net/snmp6",
       [](std::string_view t) {
         std::vector<NetstatField> f;
         parse_snmp6(t, f);
       }},
      {"net/dev", [](std::string_view t) { parse_net_dev(t); }},
      {"net/sockstat", [](std::string_view t) { parse_sockstat(t); }},
      {"net/softnet_stat", [](std::string_view t) { parse_softnet(t); }},
      {"net/arp", [](std::string_view t) { parse_arp(t); }},
      {"net/udp", [](std::string_view t) { parse_udp_queues(t); }},
      {"net/stat/nf_conntrack", [](std::string_view t) { parse_conntrack_stat(t); }},
      {"diskstats", [](std::string_view t) { parse_diskstats(t); }},
      {"vmstat", [](std::string_view t) { parse_vmstat(t); }},
      {"sys/fs/file-nr", [](std::string_view t) { parse_file_nr(t); }},
      {"sys/kernel/random/poolsize", [](std::string_view t) { parse_uint_file(t); }},
      {"rootfs/etc/os-release", [](std::string_view t) { parse_os_release(t); }},
  };
  std::mt19937 random(14);
  for (const auto& [name, parse] : files) {
    const std::string text = real(name);
    for (int round = 0; round < 300; ++round) {
      std::string input = text.substr(0, random() % (text.size() + 1));
      for (int k = 0; k < 3 && !input.empty(); ++k)
        input[random() % input.size()] = static_cast<char>(random() % 256);
      try {
        parse(input);
      } catch (const ParseError&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << ": " << e.what();
      }
    }
  }
}

}  // namespace
}  // namespace tocsin::collectors::host
