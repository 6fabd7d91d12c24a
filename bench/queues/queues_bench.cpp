// The queues collector's cost beside redis_exporter's `-check-keys` on the same throwaway Redis holding
// Sidekiq's layout: 100 queues of 10,000 jobs each (the `queues` set, `queue:NAME` lists of job JSON as
// Sidekiq's client writes it), a retry set and a processes set. Per cycle: commands, round trips, and
// the Redis time those commands took (INFO commandstats before and after, the bench's own INFO calls
// taken out), and the collector's wall time.
//
//   bench_queues [--cycles N] [--queues N] [--jobs N] [--exporter PATH]
//
// Needs redis-server on PATH; redis_exporter (prometheus-redis-exporter, Debian 12) is measured when found.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collectors/queues/queues.hpp"
#include "collectors/redis/connection.hpp"
#include "fixtures/process.hpp"

namespace {

using namespace std::chrono_literals;
using tocsin::collectors::redis::Connection;
using tocsin::collectors::redis::ConnectionOptions;
using Clock = std::chrono::steady_clock;

using tocsin::testing::free_port;
using tocsin::testing::port_open;
using tocsin::testing::Process;
using tocsin::testing::ProcessOptions;

// A child with its output discarded, stopped (SIGTERM) when it goes out of scope.
ProcessOptions quiet() {
  ProcessOptions options;
  options.stdout_file = "/dev/null";
  options.stderr_file = "/dev/null";
  return options;
}

bool wait_port(int port) {
  return tocsin::testing::wait_until([port] { return port_open(port); }, 10s);
}

bool http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  bool ok = ::write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size());
  char buf[65536];
  std::size_t total = 0;
  for (ssize_t n; ok && (n = ::read(fd, buf, sizeof buf)) > 0;) total += static_cast<std::size_t>(n);
  ::close(fd);
  return ok && total > 0;
}

bool on_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return std::filesystem::exists(name);
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "";
  for (std::size_t start = 0; start <= p.size();) {
    std::size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    if (std::filesystem::exists(std::filesystem::path(p.substr(start, end - start)) / name)) return true;
    start = end + 1;
  }
  return false;
}

// Every command's calls and microseconds from INFO commandstats.
struct Stats {
  double calls = 0;
  double usec = 0;
  double key_calls = 0;  // the per-key commands alone (SCAN, SELECT, TYPE, LLEN, LINDEX)
  double key_usec = 0;
  std::map<std::string, double> calls_by_command;
};

Stats command_stats(Connection& admin) {
  auto replies = admin.pipeline({{"INFO", "commandstats"}}, Clock::now() + 5s);
  Stats s;
  static const std::vector<std::string> key_checks = {"scan", "select", "type", "llen", "lindex"};
  const std::string& text = replies.at(0).str;
  std::size_t pos = 0;
  while ((pos = text.find("cmdstat_", pos)) != std::string::npos) {
    std::size_t colon = text.find(':', pos);
    std::string cmd = text.substr(pos + 8, colon - pos - 8);
    std::size_t eol = text.find('\n', colon);
    std::string fields = text.substr(colon + 1, eol - colon - 1);
    auto field = [&](const std::string& name) {
      std::size_t at = fields.find(name + "=");
      return at == std::string::npos ? 0.0 : std::atof(fields.c_str() + at + name.size() + 1);
    };
    // The bench's own CONFIG RESETSTAT is not the measured client's; its INFO is not counted in its
    // own reply (Redis updates a command's stats after it ran), so every INFO seen is the client's.
    if (cmd != "config|resetstat") {
      s.calls += field("calls");
      s.usec += field("usec");
      s.calls_by_command[cmd] = field("calls");
      if (std::find(key_checks.begin(), key_checks.end(), cmd) != key_checks.end()) {
        s.key_calls += field("calls");
        s.key_usec += field("usec");
      }
    }
    pos = eol;
  }
  return s;
}

struct Cost {
  double commands = 0;
  double round_trips = 0;  // negative: not measured
  double redis_usec = 0;
  double key_commands = 0;
  double key_usec = 0;
  double wall_median_ms = 0;
  std::string breakdown;
};

std::string breakdown(const Stats& s, int cycles) {
  std::string out;
  for (const auto& [cmd, calls] : s.calls_by_command) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.4g", out.empty() ? "" : ", ", cmd.c_str(), calls / cycles);
    out += buf;
  }
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

Cost measure_tocsin(int port, int cycles, Connection& admin) {
  tocsin::config::QueuesTargetConfig config;
  config.endpoint = {"127.0.0.1", port, ""};
  config.sidekiq.enabled = true;
  auto collector = tocsin::collectors::make_queues_collector(
      config, std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>()));
  auto cycle = [&] {
    tocsin::store::Batch batch;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    collector->collect({now, Clock::now() + 10s}, batch);
    double trips = 0;
    for (const auto& s : batch.samples()) {
      if (s.labels.metric_name() == "tocsin_queue_round_trips") trips = s.value;
    }
    return trips;
  };
  cycle();  // connects (the handshake is not a cycle's cost)
  admin.pipeline({{"CONFIG", "RESETSTAT"}}, Clock::now() + 5s);
  Cost cost;
  std::vector<double> wall;
  for (int i = 0; i < cycles; ++i) {
    auto start = Clock::now();
    cost.round_trips += cycle();
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  Stats s = command_stats(admin);
  cost.commands = s.calls / cycles;
  cost.redis_usec = s.usec / cycles;
  cost.key_commands = s.key_calls / cycles;
  cost.key_usec = s.key_usec / cycles;
  cost.round_trips /= cycles;
  cost.wall_median_ms = median(wall);
  cost.breakdown = breakdown(s, cycles);
  return cost;
}

std::optional<Cost> measure_exporter(const std::string& exporter, int redis_port, int cycles,
                                     Connection& admin) {
  if (exporter.empty()) return std::nullopt;
  const int port = free_port();
  Process child({exporter, "-redis.addr=redis://127.0.0.1:" + std::to_string(redis_port),
                 "-web.listen-address=127.0.0.1:" + std::to_string(port), "-check-keys=queue:*"},
                quiet());
  if (!wait_port(port) || !http_get(port, "/metrics")) return std::nullopt;  // warm-up scrape
  admin.pipeline({{"CONFIG", "RESETSTAT"}}, Clock::now() + 5s);
  Cost cost;
  std::vector<double> wall;
  for (int i = 0; i < cycles; ++i) {
    auto start = Clock::now();
    if (!http_get(port, "/metrics")) return std::nullopt;
    wall.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  Stats s = command_stats(admin);
  cost.commands = s.calls / cycles;
  cost.redis_usec = s.usec / cycles;
  cost.key_commands = s.key_calls / cycles;
  cost.key_usec = s.key_usec / cycles;
  cost.round_trips = -1;
  cost.wall_median_ms = median(wall);
  cost.breakdown = breakdown(s, cycles);
  return cost;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  int cycles = 20;
  int queues = 100;
  int jobs = 10000;
  std::string exporter = "prometheus-redis-exporter";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--cycles" && i + 1 < argc) {
      cycles = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--queues" && i + 1 < argc) {
      queues = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--jobs" && i + 1 < argc) {
      jobs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--exporter" && i + 1 < argc) {
      exporter = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_queues [--cycles N] [--queues N] [--jobs N] [--exporter PATH]\n");
      return 2;
    }
  }
  if (!on_path("redis-server")) {
    std::fprintf(stderr, "bench_queues: redis-server not found\n");
    return 1;
  }
  if (!on_path(exporter)) exporter.clear();
  const int port = free_port();
  const std::string dir =
      std::filesystem::temp_directory_path() / ("tocsin-bench-queues-" + std::to_string(port));
  std::filesystem::create_directories(dir);
  Process redis({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", dir},
                quiet());
  if (!wait_port(port)) {
    std::fprintf(stderr, "bench_queues: redis-server did not start\n");
    return 1;
  }
  Connection admin(ConnectionOptions{{"127.0.0.1", port, ""}, 2000ms, 60000ms, 60000ms});
  admin.connect(Clock::now() + 5s);
  // Sidekiq's layout, written by Redis itself: jobs as Sidekiq 6's client writes them.
  const std::string fill =
      "local now = tonumber(ARGV[2])\n"
      "for q = 1, tonumber(ARGV[1]) do\n"
      "  local name = 'q' .. q\n"
      "  redis.call('SADD', 'queues', name)\n"
      "  for j = 1, tonumber(ARGV[3]) do\n"
      "    redis.call('LPUSH', 'queue:' .. name, '{\"retry\":true,\"queue\":\"' .. name .. "
      "'\",\"class\":\"HardJob\",\"args\":[' .. j .. '],\"jid\":\"' .. string.format('%024x', q * 1000000 + "
      "j) .. "
      "'\",\"created_at\":' .. (now - j) .. ',\"enqueued_at\":' .. (now - j) .. '}')\n"
      "  end\n"
      "end\n"
      "for r = 1, 500 do redis.call('ZADD', 'retry', now + r, '{\"retry_count\":' .. (r % 7) .. "
      "',\"failed_at\":' .. "
      "now .. ',\"jid\":\"r' .. r .. '\"}') end\n"
      "return 1\n";
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  auto filled = admin.pipeline(
      {{"EVAL", fill, "0", std::to_string(queues), std::to_string(now), std::to_string(jobs)}, {"DBSIZE"}},
      Clock::now() + 600s);
  if (filled.at(0).is_error()) {
    std::fprintf(stderr, "bench_queues: filling failed: %s\n", filled.at(0).str.c_str());
    return 1;
  }
  std::printf("Redis: %d Sidekiq queues of %d jobs each (%lld keys), %d cycles per side\n\n", queues, jobs,
              filled.at(1).integer, cycles);
  Cost ours = measure_tocsin(port, cycles, admin);
  std::optional<Cost> theirs = measure_exporter(exporter, port, cycles, admin);
  std::printf("%-44s %9s %12s %16s %10s\n", "per cycle", "commands", "round trips", "Redis time (us)",
              "wall (ms)");
  std::printf("%-44s %9.1f %12.1f %16.0f %10.2f\n", "tocsin queues collector (sidekiq)", ours.commands,
              ours.round_trips, ours.redis_usec, ours.wall_median_ms);
  if (theirs) {
    std::printf("%-44s %9.1f %12s %16.0f %10.2f\n", "redis_exporter 1.45 -check-keys=queue:* (scrape)",
                theirs->commands, "n/a", theirs->redis_usec, theirs->wall_median_ms);
    std::printf("%-44s %9.1f %12s %16.0f\n", "  of which key checks (scan/select/type/llen)",
                theirs->key_commands, "", theirs->key_usec);
  } else {
    std::printf("%-44s not measured (prometheus-redis-exporter not found or did not start)\n",
                "redis_exporter");
  }
  std::printf("\ntocsin commands: %s\n", ours.breakdown.c_str());
  if (theirs) std::printf("redis_exporter commands: %s\n", theirs->breakdown.c_str());
  std::printf("\ntarget: <= 3 round trips for %d queues: %s; less Redis time than redis_exporter: %s\n",
              queues, ours.round_trips <= 3 ? "met" : "NOT met",
              theirs ? (ours.redis_usec < theirs->redis_usec ? "met" : "NOT met") : "not measured");
  std::filesystem::remove_all(dir);
  return 0;
}
