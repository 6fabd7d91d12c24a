// Alert delivery latency and cost.
//
//   bench_alerting [--trials N] [--skip-daemon]
//
// 1. Dispatcher path: AlertSink::send() of a newly firing alert to a loopback webhook having it
//    (decision, durable state write with fsync, HTTP POST), one alert at a time.
// 2. Fan-out: 1,000 alerts in one evaluation, each in its own group, until the webhook has them all.
// 3. State writes: an acknowledgement (which is durable on return) with 1,000 and 10,000 alerts held.
// 4. End to end through the real daemon (needs redis-server): with a 1 s collection and evaluation
//    interval, from the moment a Redis key count crosses the rule's threshold to the webhook
//    receiving the notification. The crossing is caused by the benchmark (DEBUG POPULATE), so its
//    moment is known exactly; each trial waits for the resolve before the next crossing.
// Prints the figures docs/performance.md records.

#include <prometheus/registry.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fixtures/http_client.hpp"
#include "fixtures/http_receiver.hpp"
#include "fixtures/process.hpp"
#include "fixtures/redis_server.hpp"
#include "tocsin/alerting/dispatcher.hpp"
#include "tocsin/config/config.hpp"

namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using tocsin::testing::HttpReceiver;
using tocsin::testing::TempDir;

double ms_since(Steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
}

struct Stats {
  double min, median, p95, max;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
  };
  return {v.front(), at(0.5), at(0.95), v.back()};
}
void print(const char* what, const Stats& s, const char* unit = "ms") {
  std::printf("%-58s min %8.2f  median %8.2f  p95 %8.2f  max %8.2f %s\n", what, s.min, s.median, s.p95, s.max,
              unit);
}

tocsin::config::AlertingConfig alerting_config(const std::string& yaml) {
  auto result =
      tocsin::config::parse_config(yaml, "bench.yaml", [](const std::string&) { return std::nullopt; });
  if (auto* d = std::get_if<tocsin::yaml::Diagnostics>(&result)) {
    std::fprintf(stderr, "%s", d->to_string().c_str());
    std::exit(2);
  }
  return std::get<tocsin::config::Config>(std::move(result)).alerting;
}

tocsin::alerting::Alert firing(const std::string& name, int i) {
  tocsin::alerting::Alert a;
  a.labels = tocsin::Labels{
      {"alertname", name}, {"severity", "critical"}, {"instance", "host-" + std::to_string(i)}};
  a.annotations = tocsin::Labels{{"summary", "benchmark alert"}};
  a.state = tocsin::alerting::AlertState::firing;
  a.fired_at = a.active_at = tocsin::SystemClock().now_ms();
  a.value = i;
  return a;
}

void dispatcher_benchmarks(int trials) {
  HttpReceiver hook;
  TempDir dir("tocsin-bench-alerting");
  tocsin::SystemClock clock;
  prometheus::Registry registry;
  auto log = std::make_shared<spdlog::logger>("bench", std::make_shared<spdlog::sinks::null_sink_mt>());
  tocsin::alerting::Dispatcher d(
      alerting_config("receivers:\n  hook: { type: webhook, url: \"" + hook.url("/hook") + "\" }\n" +
                      "routes:\n  - { notify: [hook], group_by: [instance] }\n"),
      {(dir.path() / "state").string(), "http://bench", 1000ms}, clock, registry, log);
  d.start();

  std::vector<double> latencies;
  for (int i = 0; i < trials * 10; ++i) {
    std::vector<tocsin::alerting::Alert> alerts{firing("Single" + std::to_string(i), i)};
    std::size_t before = hook.count();
    auto t0 = Steady::now();
    d.send("bench;single" + std::to_string(i), alerts, clock.now_ms());
    if (!hook.wait_for(before + 1, 10s)) {
      std::fprintf(stderr, "the webhook did not receive notification %d\n", i);
      std::exit(1);
    }
    latencies.push_back(ms_since(t0));
  }
  print("send() of one firing alert -> webhook has it", stats(latencies));

  std::vector<tocsin::alerting::Alert> many;
  for (int i = 0; i < 1000; ++i) many.push_back(firing("FanOut", i));
  std::size_t before = hook.count();
  auto t0 = Steady::now();
  d.send("bench;fanout", many, clock.now_ms());
  if (!hook.wait_for(before + 1000, 60s)) {
    std::fprintf(stderr, "fan-out incomplete\n");
    std::exit(1);
  }
  double fan = ms_since(t0);
  std::printf("%-58s %8.0f ms (%.0f notifications/s)\n", "1,000 alerts in 1,000 groups -> webhook has all",
              fan, 1000.0 / (fan / 1000.0));

  for (int held : {1000, 10000}) {
    std::vector<tocsin::alerting::Alert> bulk;
    for (int i = 0; i < held; ++i) bulk.push_back(firing("Held", i));
    // Logged rather than posted, so the outbox empties quickly; the state still holds every alert.
    prometheus::Registry own_registry;  // metric families register once per registry
    tocsin::alerting::Dispatcher quiet(
        alerting_config("routes:\n  - { notify: [log] }\n"),
        {(dir.path() / ("held" + std::to_string(held))).string(), "http://bench", 1000ms}, clock,
        own_registry, log);
    quiet.start();
    quiet.send("bench;held", bulk, clock.now_ms());
    quiet.flush(120s);
    std::vector<double> writes;
    for (int i = 0; i < trials; ++i) {
      auto ack_t0 = Steady::now();
      auto r = quiet.acknowledge(tocsin::alerting::fingerprint(bulk[static_cast<std::size_t>(i)].labels),
                                 {"bench", "", {}});
      writes.push_back(ms_since(ack_t0));
      if (!std::holds_alternative<tocsin::alerting::AlertView>(r)) std::exit(1);
    }
    auto size = std::filesystem::file_size(dir.path() / ("held" + std::to_string(held)) / "alerting.json");
    char label[100];
    std::snprintf(label, sizeof label, "ack (durable state write) with %d alerts, %.1f MB state", held,
                  static_cast<double>(size) / 1e6);
    print(label, stats(writes));
    quiet.stop();
  }
  d.stop();
}

// The real daemon, a throwaway Redis, and a rule on a key count.
void end_to_end(int trials) {
  auto redis_server = tocsin::testing::find_executable("redis-server");
  if (!redis_server) {
    std::printf("end to end: skipped (redis-server is not installed)\n");
    return;
  }
  tocsin::testing::RedisServer redis(tocsin::testing::RedisOptions{{"--enable-debug-command", "yes"}, ""});
  HttpReceiver hook;
  TempDir dir("tocsin-bench-e2e");
  int port = tocsin::testing::free_port();
  dir.write("rules.yaml", R"(groups:
  - name: keys
    interval: 1s
    rules:
      - alert: TooManyKeys
        expr: redis_db_keys{db="db0"} > 100
        labels: { severity: critical }
        annotations: { summary: "{{ $value }} keys" }
)");
  dir.write("tocsin.yaml",
            "listen: 127.0.0.1:" + std::to_string(port) + "\nstate_dir: " + (dir.path() / "state").string() +
                "\ninterval: 1s\nrule_files: [rules.yaml]\n" +
                "collectors:\n  redis:\n    - { name: bench, address: \"" + redis.address() + "\" }\n" +
                "receivers:\n  hook: { type: webhook, url: \"" + hook.url("/hook") + "\" }\n" +
                "routes:\n  - { notify: [hook] }\n" +
                // Every trial fires and resolves: flapping damping would hold the resolves back.
                "alerting:\n  flapping: { enabled: false }\n");
  tocsin::testing::ProcessOptions options;
  options.stderr_file = dir.path() / "tocsin.log";
  tocsin::testing::Process daemon(
      {TOCSIN_EXECUTABLE, "run", "--config", (dir.path() / "tocsin.yaml").string()}, options);
  if (!tocsin::testing::wait_until([&] { return tocsin::testing::http_get(port, "/-/ready").status == 200; },
                                   20s)) {
    throw std::runtime_error("tocsin did not start; see " + (dir.path() / "tocsin.log").string());
  }
  auto last_status = [&] {
    auto reqs = hook.requests();
    if (reqs.empty()) return std::string("none");
    return nlohmann::json::parse(reqs.back().body)["status"].get<std::string>();
  };
  std::vector<double> latencies;
  std::this_thread::sleep_for(2500ms);  // a few collections and evaluations below the threshold
  for (int i = 0; i < trials; ++i) {
    std::size_t before = hook.count();
    // Start at a random phase of the 1 s cycles, as a real crossing would.
    std::this_thread::sleep_for(std::chrono::milliseconds(137 * (i % 7) + 50));
    redis.cli({"DEBUG", "POPULATE", "200"});
    auto t0 = Steady::now();
    if (!hook.wait_for(before + 1, 20s) || last_status() != "firing") {
      throw std::runtime_error("trial " + std::to_string(i) + ": no firing notification; see " +
                               (dir.path() / "tocsin.log").string());
    }
    latencies.push_back(ms_since(t0));
    redis.cli({"FLUSHALL"});
    if (!hook.wait_for(before + 2, 20s) || last_status() != "resolved") {
      throw std::runtime_error("trial " + std::to_string(i) + ": no resolve notification");
    }
  }
  print("threshold crossed in Redis -> webhook has the notification", stats(latencies));
  std::printf("  (%d trials; 1 s collection interval, 1 s rule evaluation interval, no `for`)\n", trials);
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 20;
  bool skip_daemon = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--trials") == 0 && i + 1 < argc) {
      trials = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--skip-daemon") == 0) {
      skip_daemon = true;
    } else {
      std::fprintf(stderr, "usage: bench_alerting [--trials N] [--skip-daemon]\n");
      return 2;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // Exceptions unwind here so that the child processes (tocsin, redis-server) are stopped.
  try {
    dispatcher_benchmarks(trials);
    if (!skip_daemon) end_to_end(trials);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_alerting: %s\n", e.what());
    return 1;
  }
  return 0;
}
