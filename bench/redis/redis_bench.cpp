// The Redis collector's cost beside redis_exporter's, on the same throwaway Redis under
// redis-benchmark load: commands and round trips per cycle, the Redis CPU those commands take (from
// INFO commandstats deltas), new connections, and the wall and CPU time of one cycle.
//
//   bench_redis [--cycles N] [--no-load] [--exporter PATH]
//
// Needs redis-server (and redis-benchmark for the load) on PATH; redis_exporter
// (prometheus-redis-exporter, Debian 12) is measured when found. Prints the table docs/performance.md
// records.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "collectors/redis/connection.hpp"
#include "collectors/redis/parsers.hpp"
#include "collectors/redis/redis.hpp"

namespace {

using namespace std::chrono_literals;
using tocsin::collectors::redis::Connection;
using tocsin::collectors::redis::ConnectionOptions;
using Clock = std::chrono::steady_clock;

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A child process, killed on destruction.
class Child {
 public:
  explicit Child(std::vector<std::string> argv, bool quiet = true) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (quiet) {
        std::FILE* null = std::fopen("/dev/null", "w");
        ::dup2(fileno(null), 1);
        ::dup2(fileno(null), 2);
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

 private:
  pid_t pid_ = -1;
};

bool wait_for_port(int port) {
  for (int i = 0; i < 200; ++i) {
    if (port_open(port)) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// GET a path over HTTP/1.0; returns the body size, or nullopt on failure.
std::optional<std::size_t> http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return std::nullopt;
  }
  std::size_t total = 0;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) total += static_cast<std::size_t>(n);
  ::close(fd);
  return total;
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The commands a monitoring client issues, as INFO commandstats names them; redis-benchmark's load
// (get, set, lpush, ...) is not among them, so their deltas are the monitoring cost alone.
bool is_monitoring_command(const std::string& cmd) {
  static const std::vector<std::string> prefixes = {"info",    "config|", "slowlog|", "latency|",
                                                    "client|", "auth",    "select",   "ping",
                                                    "memory|", "scan",    "type",     "hello"};
  for (const auto& p : prefixes) {
    if (cmd == p || (p.back() == '|' && cmd.starts_with(p))) return true;
  }
  return false;
}

struct Snapshot {
  double calls = 0;
  double usec = 0;
  double connections = 0;
  std::map<std::string, double> by_command;
};

Snapshot snapshot(Connection& admin) {
  auto replies = admin.pipeline({{"INFO", "ALL"}}, Clock::now() + 5s);
  auto info = tocsin::collectors::redis::parse_info(replies.at(0).str);
  Snapshot s;
  for (const auto& c : info.commands) {
    if (!is_monitoring_command(c.command)) continue;
    s.calls += c.calls;
    s.usec += c.usec;
    s.by_command[c.command] = c.calls;
  }
  // The admin connection's own INFO is counted in `info`: subtract it below.
  s.connections = info.number("total_connections_received").value_or(0);
  return s;
}

struct Cost {
  double commands = 0;     // per cycle
  double round_trips = 0;  // per cycle
  double redis_usec = 0;   // per cycle
  double connections = 0;  // new connections per cycle
  double wall_median_ms = 0;
  double wall_p99_ms = 0;
  double cpu_ms = 0;  // tocsin's own CPU per cycle (thread CPU time)
  std::string commands_seen;
};

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

std::string command_deltas(const Snapshot& before, const Snapshot& after, int cycles) {
  std::string out;
  for (const auto& [cmd, calls] : after.by_command) {
    double d = calls - (before.by_command.contains(cmd) ? before.by_command.at(cmd) : 0);
    if (cmd == "info") d -= 1;  // the admin's own INFO ALL
    if (d <= 0) continue;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.3g", out.empty() ? "" : ", ", cmd.c_str(), d / cycles);
    out += buf;
  }
  return out;
}

Cost measure_tocsin(int port, int cycles, Connection& admin) {
  tocsin::config::RedisTargetConfig config;
  config.endpoint = {"127.0.0.1", port, ""};
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  auto collector = tocsin::collectors::make_redis_collector(config, log);
  auto cycle = [&] {
    tocsin::store::Batch batch;
    collector->collect({0, Clock::now() + 5s}, batch);
    return batch.size();
  };
  cycle();  // connect, handshake, first CONFIG GET
  cycle();
  Snapshot before = snapshot(admin);
  std::vector<double> wall;
  double cpu = 0;
  double commands = 0;
  double round_trips = 0;
  for (int i = 0; i < cycles; ++i) {
    const double cpu0 = thread_cpu_seconds();
    const auto t0 = Clock::now();
    cycle();
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    cpu += thread_cpu_seconds() - cpu0;
    auto details = collector->details();
    commands += details["commands_last_cycle"].get<double>();
    round_trips += details["round_trips_last_cycle"].get<double>();
  }
  Snapshot after = snapshot(admin);
  Cost c;
  c.commands = commands / cycles;
  c.round_trips = round_trips / cycles;
  c.redis_usec = (after.usec - before.usec) / cycles;
  c.connections = (after.connections - before.connections) / cycles;
  c.wall_median_ms = percentile(wall, 0.5);
  c.wall_p99_ms = percentile(wall, 0.99);
  c.cpu_ms = cpu / cycles * 1000;
  c.commands_seen = command_deltas(before, after, cycles);
  return c;
}

std::optional<Cost> measure_exporter(const std::string& exporter, int redis_port, int cycles,
                                     Connection& admin) {
  if (exporter.empty()) return std::nullopt;
  const int port = free_port();
  Child child({exporter, "--redis.addr=redis://127.0.0.1:" + std::to_string(redis_port),
               "--web.listen-address=127.0.0.1:" + std::to_string(port)});
  if (!wait_for_port(port)) return std::nullopt;
  if (!http_get(port, "/metrics")) return std::nullopt;  // warm-up scrape
  Snapshot before = snapshot(admin);
  std::vector<double> wall;
  for (int i = 0; i < cycles; ++i) {
    const auto t0 = Clock::now();
    if (!http_get(port, "/metrics")) return std::nullopt;
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  Snapshot after = snapshot(admin);
  Cost c;
  c.commands = (after.calls - before.calls - 1) / cycles;  // minus the admin's INFO
  c.round_trips = c.commands;                              // redigo's Do: one command per round trip
  c.redis_usec = (after.usec - before.usec) / cycles;
  c.connections = (after.connections - before.connections) / cycles;
  c.wall_median_ms = percentile(wall, 0.5);
  c.wall_p99_ms = percentile(wall, 0.99);
  c.commands_seen = command_deltas(before, after, cycles);
  return c;
}

void print_row(const char* who, const Cost& c, bool cpu) {
  char cpu_text[32] = "-";
  if (cpu) std::snprintf(cpu_text, sizeof cpu_text, "%.3f", c.cpu_ms);
  std::printf("%-34s %8.2f %8.2f %10.1f %8.2f %9.3f %9.3f %9s\n", who, c.commands, c.round_trips,
              c.redis_usec, c.connections, c.wall_median_ms, c.wall_p99_ms, cpu_text);
}

}  // namespace

int main(int argc, char** argv) {
  int cycles = 200;
  bool load = true;
  std::string exporter = "prometheus-redis-exporter";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--cycles" && i + 1 < argc) {
      cycles = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--no-load") {
      load = false;
    } else if (arg == "--exporter" && i + 1 < argc) {
      exporter = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_redis [--cycles N] [--no-load] [--exporter PATH]\n");
      return 2;
    }
  }
  auto on_path = [](const std::string& name) {
    if (name.find('/') != std::string::npos) return std::filesystem::exists(name);
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "";
    for (std::size_t start = 0; start <= p.size();) {
      std::size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      if (std::filesystem::exists(p.substr(start, end - start) + "/" + name)) return true;
      start = end + 1;
    }
    return false;
  };
  if (!on_path("redis-server")) {
    std::fprintf(stderr, "bench_redis: redis-server not found on PATH\n");
    return 1;
  }
  if (!on_path(exporter)) exporter.clear();

  const int port = free_port();
  const auto dir =
      std::filesystem::temp_directory_path() / ("tocsin-bench-redis-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  Child redis({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir.string()});
  if (!wait_for_port(port)) {
    std::fprintf(stderr, "bench_redis: redis-server did not start\n");
    return 1;
  }
  Connection admin(ConnectionOptions{{"127.0.0.1", port, ""}});
  admin.connect(Clock::now() + 5s);
  // A keyspace and a commandstats section of realistic size before measuring.
  admin.pipeline({{"DEBUG", "POPULATE", "10000", "key", "100"}}, Clock::now() + 10s);

  std::optional<Child> benchmark;
  if (load && on_path("redis-benchmark")) {
    benchmark.emplace(std::vector<std::string>{"redis-benchmark", "-p", std::to_string(port), "-q", "-l",
                                               "-c", "4", "-t", "get,set,lpush,incr,hset", "-r", "10000"});
    std::this_thread::sleep_for(500ms);
  } else {
    load = false;
  }

  std::printf(
      "Redis %s on loopback, %s, %d cycles each\n",
      tocsin::collectors::redis::parse_info(admin.pipeline({{"INFO", "server"}}, Clock::now() + 5s).at(0).str)
          .text("redis_version")
          .c_str(),
      load ? "under redis-benchmark load (4 clients, get/set/lpush/incr/hset)" : "idle", cycles);
  std::printf("%-34s %8s %8s %10s %8s %9s %9s %9s\n", "", "commands", "round", "Redis usec", "new conn",
              "wall p50", "wall p99", "CPU");
  std::printf("%-34s %8s %8s %10s %8s %9s %9s %9s\n", "per cycle", "", "trips", "(cmdstats)", "", "ms", "ms",
              "ms");
  Cost ours = measure_tocsin(port, cycles, admin);
  print_row("tocsin redis collector", ours, true);
  std::optional<Cost> theirs = measure_exporter(exporter, port, cycles, admin);
  if (theirs) {
    print_row("redis_exporter 1.45 (HTTP scrape)", *theirs, false);
  } else {
    std::printf("%-34s not measured (prometheus-redis-exporter not found or did not start)\n",
                "redis_exporter");
  }
  std::printf("\ntocsin commands:         %s\n", ours.commands_seen.c_str());
  if (theirs) std::printf("redis_exporter commands: %s\n", theirs->commands_seen.c_str());
  std::printf("\ntarget: commands per cycle <= redis_exporter's: %s; cycle p50 under 5 ms: %s\n",
              theirs ? (ours.commands <= theirs->commands ? "yes" : "NO") : "n/a",
              ours.wall_median_ms < 5 ? "yes" : "NO");
  benchmark.reset();
  std::filesystem::remove_all(dir);
  return 0;
}
