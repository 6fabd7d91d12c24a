// The host collector's cycle on a large machine, made up: a proc and a sys tree in a temp dir, in the
// kernel's formats, with 64 CPUs, 100 disks (each with a partition, which the default filter drops)
// and 200 network interfaces (every sysfs attribute node_exporter reads), beside node_exporter 1.5
// (prometheus-node-exporter, Debian 12) scraping the same tree (--path.procfs, --path.sysfs) in the
// same run: its process CPU per scrape, from /proc/<pid>/stat, with its default collectors and with
// only the collectors tocsin has.
//
//   bench_host [--cycles N] [--exporter PATH] [--keep DIR] [--disable netclass,...] [--fake-interfaces]
//
// Run as root, the 200 interfaces are real: 100 veth pairs named eth0..eth199, up, in a network
// namespace of the bench's own with sysfs mounted anew, and the tree's sys/class/net links to that
// /sys/class/net; tocsin reads them with one rtnetlink dump (and, in a second row, sysfs alone, as
// node_exporter 1.5 does). Otherwise (--fake-interfaces, or no namespace allowed) they are made-up
// sysfs files, which only the sysfs reading can use.
//
// Prints tocsin's thread CPU time per cycle (median, p90), wall time and samples per cycle, and
// node_exporter's CPU per scrape. The target (issue 14) is under 5 ms per cycle.
#include <sched.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/host/host.hpp"
#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"
#include "tocsin/core/labels.hpp"
#include "tocsin/store/batch.hpp"

namespace {

namespace fs = std::filesystem;
using tocsin::testing::process_cpu_seconds;
using tocsin::testing::thread_cpu_seconds;
using Clock = std::chrono::steady_clock;

constexpr int kCpus = 64;
constexpr int kDisks = 100;
constexpr int kInterfaces = 200;

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << content;
}

std::string real_file(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string hex8(unsigned long v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08lx", v);
  return buf;
}

// The bench's own network namespace with kInterfaces real interfaces (veth pairs, up), and sysfs
// mounted anew in a mount namespace of its own so that /sys/class/net shows them. False when this
// machine does not allow it (not root, or a sandbox): the interfaces are then made-up files.
bool real_interfaces() {
  if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return false;
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("sysfs", "/sys", "sysfs", 0, nullptr) != 0) {
    std::fprintf(stderr, "bench_host: cannot mount sysfs in the namespace: %s\n", std::strerror(errno));
    std::exit(1);
  }
  std::string batch;
  for (int i = 0; i < kInterfaces; i += 2) {
    batch += "link add eth" + std::to_string(i) + " type veth peer name eth" + std::to_string(i + 1) + "\n";
  }
  batch += "link set lo up\n";  // node_exporter listens on loopback
  for (int i = 0; i < kInterfaces; ++i) batch += "link set eth" + std::to_string(i) + " up\n";
  FILE* ip = ::popen("ip -batch -", "w");
  if (ip == nullptr || std::fputs(batch.c_str(), ip) < 0 || ::pclose(ip) != 0) {
    std::fprintf(stderr, "bench_host: ip -batch failed to make the interfaces\n");
    std::exit(1);
  }
  return true;
}

// The proc and sys trees of the made-up machine under `root`.
void make_tree(const fs::path& root, bool real_net) {
  const fs::path proc = root / "proc";
  const fs::path sys = root / "sys";
  // /proc/stat: the aggregate line, 64 CPUs, and the other lines of Linux 6.x.
  std::string stat = "cpu  4705 356 584 3699176 23060 0 277 0 0 0\n";
  for (int i = 0; i < kCpus; ++i) {
    stat += "cpu" + std::to_string(i) + " " + std::to_string(1393280 + i) +
            " 32966 572056 13343292 6130 0 17875 0 0 0\n";
  }
  stat += "intr 8885917";
  for (int i = 0; i < 200; ++i) stat += " " + std::to_string(i * 7);
  stat +=
      "\nctxt 38014093\nbtime 1700000000\nprocesses 26442\nprocs_running 3\nprocs_blocked 0\n"
      "softirq 5057579 250191 1481983 1647 211099 186066 0 1783454 622196 12499 508444\n";
  write(proc / "stat", stat);
  write(proc / "meminfo", real_file("/proc/meminfo"));
  write(proc / "loadavg", "1.71 0.94 0.55 3/612 41522\n");
  for (const char* r : {"cpu", "io", "memory"}) {
    write(proc / "pressure" / r,
          "some avg10=0.00 avg60=0.00 avg300=0.00 total=45907900\n"
          "full avg10=0.00 avg60=0.00 avg300=0.00 total=12345678\n");
  }
  write(proc / "vmstat", real_file("/proc/vmstat"));
  write(proc / "net/netstat", real_file("/proc/net/netstat"));
  write(proc / "net/snmp", real_file("/proc/net/snmp"));
  write(proc / "net/snmp6", real_file("/proc/net/snmp6"));
  write(proc / "net/sockstat", real_file("/proc/net/sockstat"));
  write(proc / "net/sockstat6", real_file("/proc/net/sockstat6"));
  write(proc / "sys/fs/file-nr", "4192\t0\t9223372036854775807\n");
  write(proc / "sys/kernel/random/entropy_avail", "256\n");
  write(proc / "sys/kernel/random/poolsize", "256\n");
  write(proc / "sys/net/netfilter/nf_conntrack_count", "1843\n");
  write(proc / "sys/net/netfilter/nf_conntrack_max", "262144\n");
  // Per-CPU files: softnet_stat (Linux 6.x, 15 columns) and nf_conntrack's statistics.
  std::string softnet;
  std::string conntrack =
      "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
      "early_drop icmp_error  expect_new expect_create expect_delete search_restart\n";
  for (int i = 0; i < kCpus; ++i) {
    softnet += hex8(2250000 + i) +
               " 00000000 00000004 00000000 00000000 00000000 00000000 00000000 00000000 "
               "00000000 00000000 " +
               hex8(i) + " 00000000 00000000 00000000\n";
    conntrack +=
        hex8(1843) + "  00000000 " + hex8(i * 3) +
        " 00000000 00000002 00000000 00000000 00000000 00000009 00000000 00000000 00000000 00000000  "
        "00000000 00000000 00000000 00000001\n";
  }
  write(proc / "net/softnet_stat", softnet);
  write(proc / "net/stat/nf_conntrack", conntrack);
  // 100 NVMe disks with one partition each (excluded by node_exporter's default filter).
  std::string diskstats;
  for (int i = 0; i < kDisks; ++i) {
    const std::string n = "nvme" + std::to_string(i) + "n1";
    diskstats += " 259 " + std::to_string(i * 2) + " " + n +
                 " 852863 20277 28526634 6568981 236507 115041 227027280 1104132 0 294244 7719777 92039 67 "
                 "210002464 44027 16990 2636\n";
    diskstats += " 259 " + std::to_string(i * 2 + 1) + " " + n +
                 "p1 852000 20000 28500000 6560000 236000 115000 227000000 1104000 0 294000 7719000 92000 67 "
                 "210000000 44000 0 0\n";
  }
  write(proc / "diskstats", diskstats);
  // 200 interfaces: /proc/net/dev, /proc/net/arp and sysfs.
  std::string dev =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop "
      "fifo colls carrier compressed\n";
  std::string arp = "IP address       HW type     Flags       HW address            Mask     Device\n";
  for (int i = 0; i < kInterfaces; ++i) {
    const std::string name = "eth" + std::to_string(i);
    dev += "  " + name +
           ": 194491966    4450    0    0    0     0          0         0   213936    2837    0    0    "
           "0     0       0          0\n";
    arp += "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) +
           "        0x1         0x2         02:fc:00:00:00:05     *        " + name + "\n";
    if (real_net) continue;
    const fs::path d = sys / "class/net" / name;
    char mac[32];
    std::snprintf(mac, sizeof mac, "02:fc:00:00:%02x:%02x", i / 256, i % 256);
    const std::pair<const char*, std::string> attributes[] = {
        {"addr_assign_type", "0"},
        {"addr_len", "6"},
        {"address", mac},
        {"broadcast", "ff:ff:ff:ff:ff:ff"},
        {"carrier", "1"},
        {"carrier_changes", "2"},
        {"carrier_up_count", "1"},
        {"carrier_down_count", "1"},
        {"dev_id", "0x0"},
        {"dormant", "0"},
        {"duplex", "full"},
        {"flags", "0x1003"},
        {"ifalias", ""},
        {"ifindex", std::to_string(i + 2)},
        {"iflink", std::to_string(i + 2)},
        {"link_mode", "0"},
        {"mtu", "1500"},
        {"name_assign_type", "4"},
        {"netdev_group", "0"},
        {"operstate", "up"},
        {"speed", "10000"},
        {"tx_queue_len", "1000"},
        {"type", "1"},
    };
    for (const auto& [file, value] : attributes) write(d / file, value + "\n");
    write(d / "statistics/rx_nohandler", "0\n");
  }
  if (real_net) {
    fs::create_directories(sys / "class");
    fs::create_directory_symlink("/sys/class/net", sys / "class/net");
  }
  write(proc / "net/dev", dev);
  write(proc / "net/arp", arp);
  write(proc / "net/udp", real_file("/proc/net/udp"));
  write(proc / "net/udp6", real_file("/proc/net/udp6"));
  // The root filesystem only (statfs hits the real one).
  write(proc / "1/mounts", "/dev/vda / ext4 rw,relatime 0 0\n");
  write(proc / "mounts", "/dev/vda / ext4 rw,relatime 0 0\n");
  write(sys / "devices/system/clocksource/clocksource0/available_clocksource", "tsc kvm-clock \n");
  write(sys / "devices/system/clocksource/clocksource0/current_clocksource", "tsc\n");
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

struct Exporter {
  double cpu_ms = 0;  // per scrape
  double wall_ms = 0;
  std::size_t bytes = 0;
};

std::optional<Exporter> measure_exporter(const std::string& binary, const fs::path& root, int scrapes,
                                         bool same_collectors, bool real_net) {
  const int port = tocsin::testing::free_port();
  std::vector<std::string> argv = {binary, "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                   "--path.procfs=" + (root / "proc").string(),
                                   "--path.sysfs=" + (root / "sys").string(), "--log.level=error"};
  if (!real_net) argv.push_back("--no-collector.netdev.netlink");  // read the made-up /proc/net/dev
  if (same_collectors) {
    argv.push_back("--collector.disable-defaults");
    for (const char* c :
         {"arp",     "conntrack", "cpu",    "diskstats", "entropy",    "filefd",   "filesystem", "loadavg",
          "meminfo", "netclass",  "netdev", "netstat",   "os",         "pressure", "selinux",    "sockstat",
          "softnet", "stat",      "time",   "timex",     "udp_queues", "uname",    "vmstat"}) {
      argv.push_back(std::string("--collector.") + c);
    }
  }
  tocsin::testing::ProcessOptions options;
  options.stderr_file = root / (same_collectors ? "exporter-same.log" : "exporter-defaults.log");
  tocsin::testing::Process exporter(argv, options);
  if (!tocsin::testing::wait_until([&] { return tocsin::testing::port_open(port); },
                                   std::chrono::seconds(20))) {
    return std::nullopt;
  }
  for (int i = 0; i < 3; ++i) tocsin::testing::http_get(port, "/metrics");  // warm up
  const double cpu0 = process_cpu_seconds(exporter.pid());
  std::vector<double> wall;
  Exporter out;
  for (int i = 0; i < scrapes; ++i) {
    const auto t0 = Clock::now();
    const auto reply = tocsin::testing::http_get(port, "/metrics");
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (reply.status != 200) return std::nullopt;
    out.bytes = reply.body.size();
  }
  out.cpu_ms = (process_cpu_seconds(exporter.pid()) - cpu0) / scrapes * 1000;
  out.wall_ms = percentile(wall, 0.5);
  return out;
}

struct Cycles {
  double cpu_p50 = 0;
  double cpu_p90 = 0;
  double wall_p50 = 0;
  std::size_t samples = 0;
};

Cycles measure_tocsin(const tocsin::config::HostCollectorConfig& config, int cycles) {
  auto collector = tocsin::collectors::make_host_collector(
      config, std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()));
  Cycles out;
  auto cycle = [&] {
    tocsin::store::Batch batch;
    collector->collect({.timestamp = 1'700'000'000'000, .deadline = Clock::now() + std::chrono::seconds(5)},
                       batch);
    out.samples = batch.size();
  };
  for (int i = 0; i < 5; ++i) cycle();  // warm: regex caches, buffers, descriptors kept open
  std::vector<double> cpu;
  std::vector<double> wall;
  for (int i = 0; i < cycles; ++i) {
    const double c0 = thread_cpu_seconds();
    const auto t0 = Clock::now();
    cycle();
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    cpu.push_back((thread_cpu_seconds() - c0) * 1000);
  }
  out.cpu_p50 = percentile(cpu, 0.5);
  out.cpu_p90 = percentile(cpu, 0.9);
  out.wall_p50 = percentile(wall, 0.5);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int cycles = 200;
  std::string exporter = "/usr/bin/prometheus-node-exporter";
  std::optional<fs::path> keep;
  std::vector<std::string> disable;
  bool fake_interfaces = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--cycles" && i + 1 < argc) {
      cycles = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--exporter" && i + 1 < argc) {
      exporter = argv[++i];
    } else if (arg == "--disable" && i + 1 < argc) {
      std::stringstream names(argv[++i]);
      for (std::string name; std::getline(names, name, ',');) disable.push_back(name);
    } else if (arg == "--keep" && i + 1 < argc) {
      keep = argv[++i];
    } else if (arg == "--fake-interfaces") {
      fake_interfaces = true;
    } else {
      std::fprintf(stderr,
                   "usage: bench_host [--cycles N] [--exporter PATH] [--keep DIR] [--disable a,b] "
                   "[--fake-interfaces]\n");
      return 2;
    }
  }
  // Before any thread starts: a mount namespace needs a single-threaded process.
  const bool real_net = !fake_interfaces && real_interfaces();
  tocsin::testing::TempDir dir("tocsin-bench-host");
  const fs::path root = keep ? *keep : dir.path();
  if (!keep || !fs::exists(root / "proc/stat"))
    make_tree(root, real_net);  // --keep: a tree made before is reused

  tocsin::config::HostCollectorConfig config;
  config.proc_path = (root / "proc").string();
  config.sys_path = (root / "sys").string();
  config.disable = disable;
  config.netlink = real_net;
  const Cycles tocsin = measure_tocsin(config, cycles);
  const std::size_t samples = tocsin.samples;
  std::printf("host cycle on %d CPUs, %d disks (+%d partitions), %d %s interfaces: %zu samples\n\n", kCpus,
              kDisks, kDisks, kInterfaces, real_net ? "real (veth)" : "made-up", samples);
  std::printf("%-52s %12s %12s %12s\n", "", "CPU ms p50", "CPU ms p90", "wall ms p50");
  auto row = [](const char* label, const Cycles& c) {
    std::printf("%-52s %12.3f %12.3f %12.3f\n", label, c.cpu_p50, c.cpu_p90, c.wall_p50);
  };
  row(real_net ? "tocsin host collector, netdev+netclass by netlink"
               : "tocsin host collector (one cycle, into a batch)",
      tocsin);
  if (real_net) {
    config.netlink = false;
    row("tocsin host collector, reading /proc and sysfs", measure_tocsin(config, cycles));
  }
  const int scrapes = std::max(20, cycles / 4);
  for (const bool same : {true, false}) {
    const char* label = same ? "node_exporter 1.5, the same collectors (per scrape)"
                             : "node_exporter 1.5, default collectors (per scrape)";
    if (auto e =
            fs::exists(exporter) ? measure_exporter(exporter, root, scrapes, same, real_net) : std::nullopt) {
      std::printf("%-52s %12.3f %12s %12.3f   (%zu bytes)\n", label, e->cpu_ms, "-", e->wall_ms, e->bytes);
    } else {
      std::printf("%-52s not measured (%s not found or did not start)\n", label, exporter.c_str());
    }
  }
  // The floor: the same number of series (a name and a device label) put into a batch, no I/O.
  std::vector<double> floor_ms;
  for (int i = 0; i < std::max(10, cycles / 4); ++i) {
    const double c0 = thread_cpu_seconds();
    tocsin::store::Batch batch;
    for (std::size_t k = 0; k < samples; ++k) {
      std::vector<tocsin::Label> labels;
      labels.reserve(2);
      labels.push_back({"__name__", "node_network_receive_packets_total"});
      labels.push_back({"device", "eth" + std::to_string(k % kInterfaces)});
      batch.add(tocsin::Labels::from_sorted(std::move(labels)), static_cast<double>(k));
    }
    floor_ms.push_back((thread_cpu_seconds() - c0) * 1000);
  }
  std::printf("%-52s %12.3f\n", "(the same number of series into a batch, no I/O)",
              percentile(floor_ms, 0.5));
  std::printf("\ntarget (issue 14): a host cycle under 5 ms: %s\n", tocsin.cpu_p50 < 5 ? "yes" : "NO");
  return 0;
}
