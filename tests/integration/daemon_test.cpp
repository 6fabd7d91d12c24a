// The real daemon end to end: start, scrape, reload (good and broken), systemd notify, stop.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "fixtures/redis_server.hpp"
#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

const char* kHostConfig = R"(interval: 1s
collectors:
  host:
    - name: host
      mountpoints: ["/"]
)";

// Families must be announced once each: a second # TYPE for a name breaks Prometheus's parser.
void expect_families_unique(const std::string& exposition) {
  std::set<std::string> seen;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::string name = line.substr(7, line.find(' ', 7) - 7);
    EXPECT_TRUE(seen.insert(name).second) << "family announced twice: " << name;
  }
}

TEST(Daemon, ServesMetricsThatPassPromtool) {
  Daemon d(kHostConfig);
  ASSERT_TRUE(d.wait_ready()) << d.log();
  ASSERT_TRUE(
      wait_until([&] { return d.get("/metrics").body.find("node_load1 ") != std::string::npos; }, 10s))
      << d.log();
  HttpResult r = d.get("/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  for (const char* expected :
       {"# TYPE node_cpu_seconds_total counter", "node_memory_MemAvailable_bytes ", "tocsin_build_info{",
        "tocsin_collector_up{collector=\"host\",target=\"host\"} 1", "tocsin_collector_duration_seconds{",
        "tocsin_collector_errors_total{", "tocsin_store_series ", "tocsin_store_bytes ",
        "tocsin_config_last_reload_successful 1", "process_cpu_seconds_total ",
        "process_resident_memory_bytes ", "process_open_fds ", "process_start_time_seconds "}) {
    EXPECT_NE(r.body.find(expected), std::string::npos) << "missing " << expected;
  }
  expect_families_unique(r.body);
  EXPECT_EQ(d.get("/-/healthy").status, 200);

  // Grafana reads metric help and the server's version from these.
  HttpResult metadata = d.get("/api/v1/metadata?metric=node_load1");
  ASSERT_EQ(metadata.status, 200) << metadata.body;
  auto node_load1 = nlohmann::json::parse(metadata.body)["data"]["node_load1"];
  ASSERT_EQ(node_load1.size(), 1u) << metadata.body;
  EXPECT_EQ(node_load1[0]["type"], "gauge");
  EXPECT_FALSE(node_load1[0]["help"].get<std::string>().empty());
  HttpResult build = d.get("/api/v1/status/buildinfo");
  ASSERT_EQ(build.status, 200) << build.body;
  EXPECT_FALSE(nlohmann::json::parse(build.body)["data"]["version"].get<std::string>().empty());

  if (auto promtool = find_executable("promtool")) {
    auto file = d.dir().write("metrics.txt", r.body);
    CommandResult check = run_command({"sh", "-c", *promtool + " check metrics < " + file.string()});
    // Exit 1 is an exposition error, 3 lint findings. node_exporter's own names are kept where promtool's
    // lint flags them: the kernel's field names for meminfo and netstat/snmp (node_memory_MemAvailable_bytes,
    // node_netstat_Tcp_InSegs: camelCase) and the entropy pool in bits. Nothing else may be flagged.
    EXPECT_TRUE(check.status == 0 || check.status == 3) << check.output;
    const std::vector<std::pair<std::string_view, std::string_view>> node_exporters_names = {
        {"node_memory_", "camelCase"}, {"node_netstat_", "camelCase"}, {"node_entropy_", "base unit"}};
    std::istringstream findings(check.output);
    for (std::string finding; std::getline(findings, finding);) {
      const bool as_node_exporter =
          std::any_of(node_exporters_names.begin(), node_exporters_names.end(), [&](const auto& allowed) {
            return finding.starts_with(allowed.first) && finding.find(allowed.second) != std::string::npos;
          });
      EXPECT_TRUE(as_node_exporter) << finding;
    }
  } else {
    std::cerr << "promtool not installed: exposition lint skipped\n";
  }
  EXPECT_EQ(d.process().stop(), 0) << d.log();
}

// Every histogram on /metrics: each series' buckets in increasing `le`, +Inf last, counts never falling
// (Prometheus's text format and OpenMetrics require the order; promtool and some parsers reject others).
// Returns the number of histogram series checked.
std::size_t expect_buckets_in_le_order(const std::string& exposition) {
  std::set<std::string> histograms;
  std::map<std::string, std::vector<std::pair<std::string, double>>>
      buckets;  // series without le -> (le, count)
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("# TYPE ", 0) == 0 && line.ends_with(" histogram")) {
      histograms.insert(line.substr(7, line.size() - 7 - std::strlen(" histogram")));
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const std::size_t brace = line.find('{');
    const std::string name = line.substr(0, std::min(brace, line.find(' ')));
    if (!name.ends_with("_bucket") || !histograms.contains(name.substr(0, name.size() - 7))) continue;
    const std::size_t close = line.rfind('}');
    if (brace == std::string::npos) {
      ADD_FAILURE() << "a bucket without labels: " << line;
      continue;
    }
    std::string labels = line.substr(brace + 1, close - brace - 1);
    const std::size_t le_at = labels.find("le=\"");
    if (le_at == std::string::npos) {
      ADD_FAILURE() << "a bucket without le: " << line;
      continue;
    }
    const std::size_t le_end = labels.find('"', le_at + 4);
    const std::string le = labels.substr(le_at + 4, le_end - le_at - 4);
    labels.erase(le_at, le_end + 1 - le_at);
    buckets[name + "{" + labels + "}"].emplace_back(le, std::stod(line.substr(close + 2)));
  }
  for (const auto& [series, list] : buckets) {
    EXPECT_EQ(list.back().first, "+Inf") << series;
    for (std::size_t i = 1; i < list.size(); ++i) {
      const double before = list[i - 1].first == "+Inf" ? INFINITY : std::stod(list[i - 1].first);
      const double now = list[i].first == "+Inf" ? INFINITY : std::stod(list[i].first);
      EXPECT_LT(before, now) << series << ": le=\"" << list[i - 1].first << "\" before le=\"" << list[i].first
                             << "\"";
      EXPECT_LE(list[i - 1].second, list[i].second) << series << " at le=\"" << list[i].first << "\"";
    }
  }
  return buckets.size();
}

TEST(Daemon, HistogramBucketsAreServedInLeOrder) {
  RedisServer redis;
  Daemon d(std::string(kHostConfig) + "  redis:\n    - name: cache\n      address: " + redis.address() +
           "\n");
  ASSERT_TRUE(d.wait_ready()) << d.log();
  ASSERT_TRUE(wait_until(
      [&] {
        return d.get("/metrics").body.find("redis_slowlog_entry_duration_seconds_bucket") !=
               std::string::npos;
      },
      10s))
      << d.log();
  const std::size_t checked = expect_buckets_in_le_order(d.get("/metrics").body);
  EXPECT_GE(checked, 1u);  // the Redis slow log's, at least
  EXPECT_EQ(d.process().stop(), 0) << d.log();
}

// The shape of Prometheus's answer (`theirs`) found in tocsin's (`ours`): every key Prometheus has, with a
// value of the same JSON type, recursively (arrays by their first elements); the maps whose keys are data
// (flags, labels) only as maps of strings. Extra keys on tocsin's side are allowed.
void expect_shape(const nlohmann::json& theirs, const nlohmann::json& ours, const std::string& where) {
  ASSERT_EQ(theirs.type_name(), std::string(ours.type_name())) << where << ": " << ours.dump().substr(0, 300);
  static const std::set<std::string> maps = {"labels", "discoveredLabels", "flags"};
  const std::string key = where.substr(where.rfind('.') + 1);
  if (theirs.is_object() && (maps.contains(key) || where.ends_with("status/flags.data"))) {
    for (const auto& [k, v] : ours.items()) EXPECT_TRUE(v.is_string()) << where << "." << k;
    return;
  }
  if (theirs.is_object()) {
    for (const auto& [k, v] : theirs.items()) {
      if (!ours.contains(k)) {
        ADD_FAILURE() << where << ": no \"" << k << "\" in " << ours.dump().substr(0, 300);
        continue;
      }
      expect_shape(v, ours[k], where + "." + k);
    }
  } else if (theirs.is_array() && !theirs.empty()) {
    ASSERT_FALSE(ours.empty()) << where << ": empty where Prometheus has " << theirs[0].dump().substr(0, 200);
    expect_shape(theirs[0], ours[0], where + "[0]");
  }
}

// Grafana's Prometheus data source calls these beside the queries; each answer has Prometheus 2.42's
// shape, compared with a real Prometheus's in the same run (which scrapes tocsin, so both have a target).
TEST(Daemon, GrafanaEndpointsHaveTheShapesOfPrometheus242) {
  auto prometheus = find_executable("prometheus");
  if (!prometheus) GTEST_SKIP() << "prometheus is not installed";
  Daemon d(kHostConfig);
  ASSERT_TRUE(d.wait_ready()) << d.log();
  d.dir().write("prometheus.yml",
                "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
                "  - job_name: tocsin\n    static_configs: [{targets: ['127.0.0.1:" +
                    std::to_string(d.port()) + "']}]\n");
  const int port = free_port();
  ProcessOptions options;
  options.stderr_file = d.dir() / "prometheus.log";
  Process server({*prometheus, "--config.file=" + (d.dir() / "prometheus.yml").string(),
                  "--storage.tsdb.path=" + (d.dir() / "prometheus-data").string(),
                  "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                 options);
  auto prom = [&](const std::string& target) {
    HttpResult r = http_get(port, target);
    return nlohmann::json::parse(decoded_body(r), nullptr, false);
  };
  // Both have scraped (collected) at least once.
  ASSERT_TRUE(wait_until(
      [&] {
        auto t = prom("/api/v1/targets");
        return !t.is_discarded() && t["data"]["activeTargets"].size() == 1 &&
               t["data"]["activeTargets"][0]["health"] == "up";
      },
      30s));
  ASSERT_TRUE(wait_until(
      [&] {
        return nlohmann::json::parse(d.get("/api/v1/targets").body)["data"]["activeTargets"][0]["health"] ==
               "up";
      },
      10s));
  for (const char* target :
       {"/api/v1/status/buildinfo", "/api/v1/status/flags", "/api/v1/status/runtimeinfo", "/api/v1/targets",
        "/api/v1/targets?state=active", "/api/v1/targets?state=dropped", "/api/v1/targets?scrapePool=tocsin",
        "/api/v1/query_exemplars?query=up&start=0&end=100", "/api/v1/format_query?query=sum%20by(job)(up)",
        "/api/v1/format_query?query=sum(up", "/api/v1/query_exemplars?query=sum(up"}) {
    SCOPED_TRACE(target);
    const nlohmann::json theirs = prom(target);
    ASSERT_FALSE(theirs.is_discarded());
    std::string ours_target = target;
    if (ours_target.find("scrapePool=tocsin") != std::string::npos)
      ours_target.replace(ours_target.find("tocsin"), 6, "host");
    HttpResult ours = d.get(ours_target);
    const nlohmann::json mine = nlohmann::json::parse(ours.body, nullptr, false);
    ASSERT_FALSE(mine.is_discarded()) << ours.body;
    EXPECT_EQ(ours.status, theirs["status"] == "success" ? 200 : 400) << ours.body;
    expect_shape(theirs, mine, target);
  }
  const nlohmann::json targets =
      nlohmann::json::parse(d.get("/api/v1/targets").body)["data"]["activeTargets"];
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0]["labels"], nlohmann::json({{"collector", "host"}, {"target", "host"}}));
  EXPECT_EQ(targets[0]["scrapeInterval"], "1s");
  EXPECT_EQ(nlohmann::json::parse(d.get("/api/v1/format_query?query=sum%20by(job)(up)").body)["data"],
            prom("/api/v1/format_query?query=sum%20by(job)(up)")["data"]);
  EXPECT_EQ(d.get("/api/v1/targets?state=bogus").status, 400);
  EXPECT_EQ(d.process().stop(), 0) << d.log();
}

TEST(Daemon, ABrokenReloadKeepsTheRunningConfig) {
  Daemon d(kHostConfig);
  ASSERT_TRUE(d.wait_ready()) << d.log();

  d.write_config("interval: 1s\ncollectors:\n  host:\n    - name: host\n      interval: 15x\n");
  d.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] {
        return d.get("/metrics").body.find("tocsin_config_last_reload_successful 0") != std::string::npos;
      },
      10s));
  EXPECT_NE(d.log().find("tocsin.yaml:7:17: collectors.host[0].interval: invalid duration \"15x\""),
            std::string::npos)
      << d.log();
  HttpResult via_api = d.reload();
  EXPECT_EQ(via_api.status, 500);
  EXPECT_NE(via_api.body.find("invalid duration \"15x\""), std::string::npos) << via_api.body;
  // Still collecting with the old config.
  EXPECT_NE(d.get("/metrics").body.find("tocsin_collector_up{collector=\"host\",target=\"host\"} 1"),
            std::string::npos);

  // A good reload adds the second instance.
  d.write_config(std::string(kHostConfig) + "    - name: second\n      mountpoints: [\"/\"]\n");
  HttpResult ok = d.reload();
  EXPECT_EQ(ok.status, 200) << ok.body;
  ASSERT_TRUE(wait_until(
      [&] { return d.get("/metrics").body.find("target=\"second\"} 1") != std::string::npos; }, 10s));
  EXPECT_NE(d.get("/metrics").body.find("tocsin_config_last_reload_successful 1"), std::string::npos);
  EXPECT_EQ(d.process().stop(), 0);
}

TEST(Daemon, StopsGracefullyOnSigtermAndSigint) {
  for (int signo : {SIGTERM, SIGINT}) {
    Daemon d(kHostConfig);
    ASSERT_TRUE(d.wait_ready()) << d.log();
    auto started = std::chrono::steady_clock::now();
    d.process().signal(signo);
    auto status = d.process().wait(5s);
    ASSERT_TRUE(status.has_value()) << "still running 5 s after signal " << signo;
    EXPECT_EQ(*status, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_NE(d.log().find("stopping"), std::string::npos);
  }
}

TEST(Daemon, SpeaksTheSystemdNotifyProtocol) {
  TempDir dir("tocsin-notify");
  std::string path = (dir / "notify.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto receive = [&] {
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  };

  Daemon d(kHostConfig, {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=2000000"});
  std::set<std::string> got;
  for (int i = 0; i < 6 && !(got.count("READY=1\nST") && got.count("WATCHDOG=1")); ++i)
    got.insert(receive().substr(0, 10));
  EXPECT_TRUE(got.count("READY=1\nST")) << "no READY=1";
  EXPECT_TRUE(got.count("WATCHDOG=1")) << "no WATCHDOG=1";
  d.process().signal(SIGHUP);
  std::string msg;
  for (int i = 0; i < 6 && msg != "RELOADING=1"; ++i) msg = receive();
  EXPECT_EQ(msg, "RELOADING=1");
  d.process().signal(SIGTERM);
  for (int i = 0; i < 6 && msg != "STOPPING=1"; ++i) msg = receive();
  EXPECT_EQ(msg, "STOPPING=1");
  ::close(fd);
}

TEST(Daemon, JsonLogFormat) {
  Daemon d(kHostConfig, {}, {"--log-format", "json"});
  ASSERT_TRUE(d.wait_ready()) << d.log();
  d.process().stop();
  std::istringstream lines(d.log());
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    EXPECT_TRUE(std::regex_match(
        line, std::regex(R"(\{"ts":"[0-9T:.\-]+Z","level":"[a-z]+","logger":"tocsin","msg":".*"\})")))
        << line;
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
  EXPECT_GT(count, 0);
}

TEST(Daemon, ListenAddressInUseIsARuntimeFailure) {
  Daemon first(kHostConfig);
  ASSERT_TRUE(first.wait_ready());
  TempDir dir;
  dir.write("c.yaml", "listen: 127.0.0.1:" + std::to_string(first.port()) +
                          "\nstate_dir: " + (dir / "state").string() + "\n" + kHostConfig);
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "run", "--config", (dir / "c.yaml").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << r.output;
}

// One daemon per state_dir: a second one on the same directory refuses to start, naming the first;
// once the first has stopped, the directory is free again (the lock goes with the process).
TEST(Daemon, ASecondDaemonOnTheSameStateDirRefusesToStart) {
  Daemon first(kHostConfig);
  ASSERT_TRUE(first.wait_ready()) << first.log();
  const std::string state = (first.dir() / "state").string();
  TempDir dir;
  const int port = free_port();
  auto config = dir.write(
      "c.yaml", "listen: 127.0.0.1:" + std::to_string(port) + "\nstate_dir: " + state + "\n" + kHostConfig);
  CommandResult r = run_command({TOCSIN_EXECUTABLE, "run", "--config", config.string()});
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("state_dir " + state + " is in use by another tocsin (pid " +
                          std::to_string(first.process().pid()) + ")"),
            std::string::npos)
      << r.output;

  first.process().stop();
  Process second({TOCSIN_EXECUTABLE, "run", "--config", config.string()});
  EXPECT_TRUE(
      wait_until([&] { return !second.running() || http_get(port, "/-/ready").status == 200; }, 20s) &&
      second.running());
}

}  // namespace
}  // namespace tocsin::testing
