// Alert delivery latency and cost.
//
//   bench_alerting [--trials N] [--skip-daemon] [--no-peer] [--slow] [--end-to-end-only]
//
// 1. Dispatcher path: AlertSink::send() of a newly firing alert to a loopback webhook having it
//    (decision, durable state write with fsync, HTTP POST), one alert at a time.
// 2. Fan-out: 1,000 alerts in one evaluation, each in its own group, until the webhook has them all.
// 3. State writes: an acknowledgement (which is durable on return) with 1,000 and 10,000 alerts held.
// 4. End to end through the real daemon (needs redis-server): with a 1 s collection and evaluation
//    interval, from the moment a Redis key count crosses the rule's threshold to the webhook
//    receiving the notification. The crossing is caused by the benchmark (DEBUG POPULATE), so its
//    moment is known exactly; each trial waits for the resolve before the next crossing. In the same
//    run, the peer on the same crossing: Prometheus 2.42 scraping Debian's redis exporter at 1 s,
//    evaluating at 1 s, Alertmanager 0.25 with group_wait 0 (--no-peer: not). --slow adds both at
//    15 s (the peer with Alertmanager's default group_wait).
// Prints the figures docs/performance.md records.

#include <prometheus/registry.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
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

// Wall-clock milliseconds of an RFC 3339 UTC time as tocsin and Alertmanager write it
// ("2026-01-02T03:04:05.678Z", any number of fraction digits); 0 when it is not one.
long long parse_utc_ms(const std::string& text) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  if (auto dot = text.find('.'); dot != std::string::npos) {
    int scale = 100;
    for (std::size_t i = dot + 1;
         i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && scale > 0;
         ++i, scale /= 10) {
      ms += (text[i] - '0') * scale;
    }
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<long long>(timegm(&tm)) * 1000 + ms;
}

long long wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The latencies of one system over the trials: from the crossing (DEBUG POPULATE returned) to the
// webhook having the firing notification, and from the notification's startsAt to then (for tocsin
// the sample's collection time: a triggered evaluation is at the commit's timestamp; for Prometheus
// the evaluation's).
struct Trials {
  std::vector<double> crossing;
  std::vector<double> since_starts_at;
};

// Crossings at varying phases of the cycles, each waiting for its resolve before the next (`resolve`
// false: only for the crossing to go away again, for peers whose resolve would take minutes).
// `population(i)` keys are created: a different count each trial gives each trial its own alert.
Trials run_trials(tocsin::testing::RedisServer& redis, HttpReceiver& hook, int trials,
                  std::chrono::milliseconds interval, bool wait_resolve, const std::string& log,
                  const std::function<int(int)>& population) {
  auto status_of = [&](std::size_t index) {
    auto reqs = hook.requests();
    if (reqs.size() <= index) return std::string("none");
    return nlohmann::json::parse(reqs[index].body)["status"].get<std::string>();
  };
  Trials out;
  for (int i = 0; i < trials; ++i) {
    std::size_t before = hook.count();
    // Start at a varying phase of the cycles, as a real crossing would: the golden-ratio sequence
    // spreads the trials evenly over the interval, whatever their number.
    const double phase = std::fmod(0.05 + 0.6180339887 * i, 1.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(
        static_cast<long long>(phase * static_cast<double>(std::chrono::milliseconds(interval).count()))));
    redis.cli({"DEBUG", "POPULATE", std::to_string(population(i))});
    auto t0 = Steady::now();
    if (!hook.wait_for(before + 1, interval * 4 + 90s) || status_of(before) != "firing") {
      throw std::runtime_error("trial " + std::to_string(i) + ": no firing notification; see " + log);
    }
    out.crossing.push_back(ms_since(t0));
    const long long received = wall_ms();
    auto body = nlohmann::json::parse(hook.requests()[before].body);
    out.since_starts_at.push_back(
        static_cast<double>(received - parse_utc_ms(body["alerts"][0]["startsAt"].get<std::string>())));
    redis.cli({"FLUSHALL"});
    if (wait_resolve) {
      if (!hook.wait_for(before + 2, interval * 4 + 20s) || status_of(before + 1) != "resolved") {
        throw std::runtime_error("trial " + std::to_string(i) + ": no resolve notification; see " + log);
      }
    } else {
      std::this_thread::sleep_for(interval * 3);  // the crossing is gone from the peer's view
    }
  }
  return out;
}

// The real daemon, a throwaway Redis, and a rule on a key count; collection and evaluation at
// `interval`.
Trials tocsin_end_to_end(int trials, std::chrono::seconds interval) {
  tocsin::testing::RedisServer redis(tocsin::testing::RedisOptions{{"--enable-debug-command", "yes"}, ""});
  HttpReceiver hook;
  TempDir dir("tocsin-bench-e2e");
  int port = tocsin::testing::free_port();
  const std::string every = std::to_string(interval.count()) + "s";
  dir.write("rules.yaml", R"(groups:
  - name: keys
    interval: )" + every + R"(
    rules:
      - alert: TooManyKeys
        expr: redis_db_keys{db="db0"} > 100
        labels: { severity: critical }
        annotations: { summary: "{{ $value }} keys" }
)");
  dir.write("tocsin.yaml",
            "listen: 127.0.0.1:" + std::to_string(port) + "\nstate_dir: " + (dir.path() / "state").string() +
                "\ninterval: " + every + "\nrule_files: [rules.yaml]\n" +
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
  std::this_thread::sleep_for(interval * 5 / 2);  // a few collections and evaluations below the threshold
  return run_trials(redis, hook, trials, interval, true, (dir.path() / "tocsin.log").string(),
                    [](int) { return 200; });
}

// Prometheus 2.42 scraping Debian's redis exporter, its rule sending to Alertmanager 0.25, which
// posts to the webhook. Each trial's alert has its own label (the key count), so each is a new
// Alertmanager group and goes out after group_wait (no group_interval in the way).
Trials prometheus_end_to_end(int trials, const std::string& scrape_interval,
                             const std::string& evaluation_interval, const std::string& group_wait,
                             std::chrono::seconds cycle) {
  const std::string prometheus = "/usr/bin/prometheus";
  const std::string alertmanager = "/usr/bin/prometheus-alertmanager";
  const std::string exporter = "/usr/bin/prometheus-redis-exporter";
  for (const auto& binary : {prometheus, alertmanager, exporter}) {
    if (!std::filesystem::exists(binary)) throw std::runtime_error(binary + " is not installed");
  }
  tocsin::testing::RedisServer redis(tocsin::testing::RedisOptions{{"--enable-debug-command", "yes"}, ""});
  HttpReceiver hook;
  TempDir dir("tocsin-bench-peer");
  const int exporter_port = tocsin::testing::free_port();
  const int am_port = tocsin::testing::free_port();
  const int prom_port = tocsin::testing::free_port();
  tocsin::testing::ProcessOptions exporter_options;
  exporter_options.stderr_file = dir.path() / "exporter.log";
  tocsin::testing::Process exporter_process(
      {exporter, "-redis.addr", "redis://" + redis.address(), "-web.listen-address",
       "127.0.0.1:" + std::to_string(exporter_port)},
      exporter_options);
  dir.write("am.yml", "route:\n  receiver: hook\n  group_by: ['...']\n  group_wait: " + group_wait +
                          "\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n"
                          "    webhook_configs: [{ url: \"" +
                          hook.url("/hook") + "\", send_resolved: true }]\n");
  tocsin::testing::ProcessOptions am_options;
  am_options.stderr_file = dir.path() / "alertmanager.log";
  tocsin::testing::Process am(
      {alertmanager, "--config.file=" + (dir.path() / "am.yml").string(),
       "--storage.path=" + (dir.path() / "am-data").string(),
       "--web.listen-address=127.0.0.1:" + std::to_string(am_port), "--cluster.listen-address="},
      am_options);
  dir.write("rules.yml", R"(groups:
  - name: keys
    rules:
      - alert: TooManyKeys
        expr: redis_db_keys{db="db0"} > 100
        labels: { severity: critical, keys: "{{ $value }}" }
        annotations: { summary: "{{ $value }} keys" }
)");
  std::string global = "global:\n";
  if (!scrape_interval.empty()) global += "  scrape_interval: " + scrape_interval + "\n";
  if (!evaluation_interval.empty()) global += "  evaluation_interval: " + evaluation_interval + "\n";
  if (global == "global:\n") global.clear();
  dir.write("prometheus.yml",
            global +
                "rule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs: [{ targets: "
                "['127.0.0.1:" +
                std::to_string(am_port) + "'] }]\nscrape_configs:\n  - job_name: redis\n" +
                "    static_configs: [{ targets: ['127.0.0.1:" + std::to_string(exporter_port) + "'] }]\n");
  tocsin::testing::ProcessOptions prom_options;
  prom_options.stderr_file = dir.path() / "prometheus.log";
  tocsin::testing::Process prom({prometheus, "--config.file=" + (dir.path() / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir.path() / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)},
                                prom_options);
  for (int port : {exporter_port, am_port, prom_port}) {
    if (!tocsin::testing::wait_until([&] { return tocsin::testing::port_open(port); }, 30s))
      throw std::runtime_error("a peer did not start; see " + dir.path().string());
  }
  if (!tocsin::testing::wait_until(
          [&] { return tocsin::testing::http_get(prom_port, "/-/ready").status == 200; }, 30s)) {
    throw std::runtime_error("prometheus did not become ready; see " +
                             (dir.path() / "prometheus.log").string());
  }
  std::this_thread::sleep_for(cycle * 5 / 2);
  // A trial's alert resolves after Alertmanager's group_interval at the earliest; each trial is its own
  // group, so only the crossing's end is waited for.
  return run_trials(redis, hook, trials, cycle, false, dir.path().string(), [](int i) { return 200 + i; });
}

void end_to_end(int trials, bool peer, bool slow) {
  if (!tocsin::testing::find_executable("redis-server")) {
    std::printf("end to end: skipped (redis-server is not installed)\n");
    return;
  }
  auto line = [](const char* who, const Trials& t) {
    const Stats c = stats(t.crossing);
    const Stats s = stats(t.since_starts_at);
    std::printf(
        "  %-40s crossing -> webhook median %7.0f ms (p95 %7.0f); startsAt -> webhook median %6.0f ms\n", who,
        c.median, c.p95, s.median);
    return c.median;
  };
  std::printf("threshold crossed in Redis -> webhook has the firing notification (%d trials)\n", trials);
  std::printf(" 1 s collection (scrape) and evaluation intervals, no `for`:\n");
  const double ours = line("tocsin", tocsin_end_to_end(trials, 1s));
  if (peer) {
    const double theirs = line("Prometheus 2.42 + Alertmanager 0.25 (group_wait 0s)",
                               prometheus_end_to_end(trials, "1s", "1s", "0s", 1s));
    std::printf("  tocsin / Prometheus + Alertmanager: %.2f\n", ours / theirs);
  }
  if (slow) {
    const int slow_trials = std::max(3, trials / 4);
    std::printf(" 15 s collection and evaluation intervals (%d trials):\n", slow_trials);
    line("tocsin", tocsin_end_to_end(slow_trials, 15s));
    if (peer) {
      // The example prometheus.yml's 15 s scrape and evaluation, with Alertmanager's default group_wait
      // (30 s); Prometheus's own defaults are 1 m for both intervals, which adds 0 to 2 m more.
      line("Prometheus + Alertmanager (15 s, group_wait 30s default)",
           prometheus_end_to_end(slow_trials, "15s", "15s", "30s", 15s));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 20;
  bool skip_daemon = false;
  bool peer = true;
  bool slow = false;
  bool dispatcher = true;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--trials") == 0 && i + 1 < argc) {
      trials = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--skip-daemon") == 0) {
      skip_daemon = true;
    } else if (std::strcmp(argv[i], "--no-peer") == 0) {
      peer = false;
    } else if (std::strcmp(argv[i], "--slow") == 0) {
      slow = true;
    } else if (std::strcmp(argv[i], "--end-to-end-only") == 0) {
      dispatcher = false;
    } else {
      std::fprintf(
          stderr,
          "usage: bench_alerting [--trials N] [--skip-daemon] [--no-peer] [--slow] [--end-to-end-only]\n");
      return 2;
    }
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  // Exceptions unwind here so that the child processes (tocsin, redis-server) are stopped.
  try {
    if (dispatcher) dispatcher_benchmarks(trials);
    if (!skip_daemon) end_to_end(trials, peer, slow);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_alerting: %s\n", e.what());
    return 1;
  }
  return 0;
}
