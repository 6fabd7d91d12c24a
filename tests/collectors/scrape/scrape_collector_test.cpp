// The scrape collector against real endpoints: the Python client app (OpenMetrics with _created),
// node_exporter and redis_exporter as third-party exporters, target files that change, and a server
// with every bad case: each must end in an error naming the target, up 0, and nothing stuck.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "collectors/scrape/scrape.hpp"
#include "fixtures/config.hpp"
#include "fixtures/http_receiver.hpp"
#include "fixtures/process.hpp"
#include "scrape_servers.hpp"
#include "tocsin/core/clock.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::collectors {
namespace {

using namespace std::chrono_literals;
using store::Batch;
using testing::CannedServer;
using testing::TempDir;

struct Cycle {
  Batch batch;
  std::string error;  // the CollectError, "" when the cycle succeeded
  Batch down;         // describe_down() after an error
  // Value of the sample with exactly these labels, nullopt when absent.
  std::optional<double> value(const Labels& labels) const {
    const Batch& b = error.empty() ? batch : down;
    for (const auto& s : b.samples()) {
      if (s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& s : batch.samples()) n += s.labels.metric_name() == name;
    return n;
  }
};

class ScrapeTest : public ::testing::Test {
 protected:
  std::unique_ptr<Collector> make(const config::ScrapeCollectorConfig& config) {
    return make_scrape_collector(
        config,
        std::make_shared<spdlog::logger>("scrape", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)));
  }
  static Cycle collect(Collector& c, std::chrono::milliseconds budget = 10s) {
    Cycle cycle;
    try {
      c.collect({.timestamp = 1'714'642'211'000, .deadline = std::chrono::steady_clock::now() + budget},
                cycle.batch);
    } catch (const CollectError& e) {
      cycle.error = e.what();
      c.describe_down(cycle.down);
    }
    return cycle;
  }
  static config::ScrapeCollectorConfig from_yaml(const std::string& block, const std::string& base = "/tmp") {
    auto config = testing::valid_config("collectors:\n  scrape:\n" + block, base + "/tocsin.yaml");
    auto all = testing::instances<config::ScrapeCollectorConfig>(config);
    if (all.empty()) return {};
    return all.front();
  }
  static config::ScrapeCollectorConfig direct(const std::string& address,
                                              const std::string& path = "/metrics") {
    config::ScrapeCollectorConfig c;
    c.common.name = c.job_name = "bad";
    c.static_configs.push_back({{address}, {}});
    c.metrics_path = path;
    c.effective_interval = 5s;
    c.effective_timeout = 2s;
    return c;
  }
  static Labels with(std::string name, std::vector<Label> labels, const std::string& job,
                     const std::string& instance) {
    labels.push_back({"__name__", std::move(name)});
    labels.push_back({"job", job});
    labels.push_back({"instance", instance});
    return Labels::from_unsorted(std::move(labels));
  }

  TempDir dir_{"tocsin-scrape"};
  std::ostringstream log_;
};

TEST_F(ScrapeTest, ThePythonClientInOpenMetrics) {
  if (!testing::python_client_installed()) GTEST_SKIP() << "python3-prometheus-client is not installed";
  auto app = testing::start_app(dir_, {"--prime", "20"});
  ASSERT_TRUE(app);
  auto config = from_yaml(
      "    - job_name: shop\n      scrape_interval: 5s\n      scrape_timeout: 3s\n"
      "      static_configs:\n        - targets: ['" +
      app->address() + "']\n          labels: {env: test}\n");
  auto collector = make(config);
  Cycle c = collect(*collector);
  ASSERT_EQ(c.error, "");
  const std::string inst = app->address();
  auto labels = [&](std::string name, std::vector<Label> l) {
    l.push_back({"env", "test"});
    return with(std::move(name), std::move(l), "shop", inst);
  };
  const std::vector<Label> login{
      {"endpoint_class", "auth"}, {"method", "POST"}, {"path", "/api/login"}, {"status", "200"}};
  EXPECT_EQ(c.value(labels("http_requests_total", login)), 18);
  EXPECT_TRUE(c.value(labels("http_requests_created", login)));
  auto bucket = login;
  bucket.push_back({"le", "+Inf"});
  EXPECT_EQ(c.value(labels("http_request_duration_seconds_bucket", bucket)), 18);
  bucket.back().value = "0.005";
  // prime(): i = 0..19, 500 for i = 9, 19; i % 7 in {0, 1} are under 5 ms: 0, 1, 7, 8, 14, 15.
  EXPECT_EQ(c.value(labels("http_request_duration_seconds_bucket", bucket)), 6);
  EXPECT_TRUE(c.value(labels("http_request_duration_seconds_created", login)));
  EXPECT_TRUE(c.value(labels("app_response_bytes_count", {{"endpoint_class", "auth"}})));
  EXPECT_EQ(c.value(labels("app_build_info", {{"revision", "abc\"def\\n"}, {"version", "1.2.3"}})), 1);
  EXPECT_TRUE(std::isnan(*c.value(labels("app_label_escapes", {{"text", "say \"hi\"\\ and\nbye"}}))));
  EXPECT_EQ(c.value(labels("app_label_escapes", {{"text", "minus inf"}})), -INFINITY);
  // The report series, as Prometheus writes them.
  EXPECT_EQ(c.value(labels("up", {})), 1);
  const double scraped = *c.value(labels("scrape_samples_scraped", {}));
  EXPECT_EQ(scraped, static_cast<double>(c.batch.size() - 5));
  EXPECT_EQ(c.value(labels("scrape_samples_post_metric_relabeling", {})), scraped);
  EXPECT_EQ(c.value(labels("scrape_series_added", {})), scraped);
  EXPECT_GT(*c.value(labels("scrape_duration_seconds", {})), 0);
  bool described = false;
  for (const auto& f : c.batch.families()) {
    if (f.name == "http_request_duration_seconds") {
      described = f.type == store::MetricType::histogram && f.help == "Time spent answering HTTP requests.";
    }
  }
  EXPECT_TRUE(described);
  // The second scrape adds no series.
  Cycle again = collect(*collector);
  EXPECT_EQ(again.value(labels("scrape_series_added", {})), 0);
  EXPECT_EQ(collector->details()["targets"][0]["health"], "up");
}

TEST_F(ScrapeTest, NodeExporterAndRedisExporterAsOneJob) {
  auto node = testing::find_executable("prometheus-node-exporter");
  auto redis_exporter = testing::find_executable("prometheus-redis-exporter");
  auto redis = testing::find_executable("redis-server");
  if (!node || !redis_exporter || !redis)
    GTEST_SKIP() << "node_exporter, redis_exporter or redis-server missing";
  auto ne = testing::start_listening({*node, "--web.listen-address=127.0.0.1:{port}"}, dir_, "node");
  ASSERT_TRUE(ne);
  auto rs = testing::start_listening({*redis, "--port", "{port}", "--bind", "127.0.0.1", "--save", ""}, dir_,
                                     "redis");
  ASSERT_TRUE(rs);
  auto re = testing::start_listening(
      {*redis_exporter, "-web.listen-address", "127.0.0.1:{port}", "-redis.addr", "redis://" + rs->address()},
      dir_, "redis_exporter");
  ASSERT_TRUE(re);
  auto config =
      from_yaml("    - job_name: exporters\n      targets: ['" + ne->address() + "', '" + re->address() +
                "']\n      metric_relabel_configs:\n        - source_labels: [__name__]\n"
                "          regex: 'go_.*'\n          action: drop\n");
  auto collector = make(config);
  Cycle c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.value(with("up", {}, "exporters", ne->address())), 1);
  EXPECT_EQ(c.value(with("up", {}, "exporters", re->address())), 1);
  EXPECT_EQ(c.value(with("redis_up", {}, "exporters", re->address())), 1);
  EXPECT_GT(c.count("node_cpu_seconds_total"), 0u);
  EXPECT_EQ(c.count("go_goroutines"), 0u);  // dropped by metric_relabel_configs
  const double scraped = *c.value(with("scrape_samples_scraped", {}, "exporters", ne->address()));
  const double kept = *c.value(with("scrape_samples_post_metric_relabeling", {}, "exporters", ne->address()));
  EXPECT_GT(scraped, kept);
  EXPECT_EQ(log_.str(), "");
}

TEST_F(ScrapeTest, RelabelConfigsShapeTheTargets) {
  CannedServer server([](const std::string& target) {
    return testing::http_response("m{exported=\"x\"} 1\n# target " + target + "\n");
  });
  auto config = from_yaml(
      "    - job_name: canned\n      params: {module: [a b]}\n      static_configs:\n"
      "        - targets: ['" +
      server.address() +
      "', 'drop.me:1']\n          labels: {team: web}\n"
      "      relabel_configs:\n"
      "        - {source_labels: [__address__], regex: 'drop\\..*', action: drop}\n"
      "        - {source_labels: [__address__], regex: '(.*):(\\d+)', target_label: port, "
      "replacement: '$2'}\n"
      "        - {target_label: __param_extra, replacement: yes}\n"
      "        - {source_labels: [team], target_label: team, action: uppercase}\n");
  auto collector = make(config);
  Cycle c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.value(with("m", {{"exported", "x"}, {"port", std::to_string(server.port())}, {"team", "WEB"}},
                         "canned", server.address())),
            1);
  EXPECT_EQ(server.requests(), 1);  // drop.me was dropped, never dialled
  const auto details = collector->details();
  EXPECT_EQ(details["targets"].size(), 1u);
  EXPECT_EQ(details["targets"][0]["url"], "http://" + server.address() + "/metrics?extra=yes&module=a+b");
}

TEST_F(ScrapeTest, TargetFilesAreReReadWhenTheyChange) {
  CannedServer a([](const std::string&) { return testing::http_response("a 1\n"); });
  CannedServer b([](const std::string&) { return testing::http_response("b 2\n"); });
  const auto file =
      dir_.write("targets.json", "[{\"targets\": [\"" + a.address() + "\"], \"labels\": {\"k\": \"1\"}}]");
  auto config = from_yaml("    - job_name: sd\n      file_sd_configs:\n        - files: ['targets/*.json']\n",
                          dir_.path().string());
  std::filesystem::create_directories(dir_ / "targets");
  std::filesystem::rename(file, dir_ / "targets" / "t.json");
  auto collector = make(config);
  Cycle c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.value(with("a", {{"k", "1"}}, "sd", a.address())), 1);
  // The file is rewritten with another target; a broken rewrite keeps the last good list.
  std::this_thread::sleep_for(20ms);  // a new mtime on file systems with coarse timestamps
  dir_.write("targets/t.json", "[{\"targets\": [\"" + b.address() + "\"]}]");
  c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_FALSE(c.value(with("a", {{"k", "1"}}, "sd", a.address())));
  EXPECT_EQ(c.value(with("b", {}, "sd", b.address())), 2);
  std::this_thread::sleep_for(20ms);
  dir_.write("targets/t.json", "[{\"targets\": ");
  c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.value(with("b", {}, "sd", b.address())), 2);
  EXPECT_NE(log_.str().find("targets/t.json:1:"), std::string::npos) << log_.str();
}

std::string gzip(const std::string& text) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, text.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

struct BadCase {
  std::string path;
  std::string expected;  // in the error
  std::function<void(config::ScrapeCollectorConfig&)> tune = nullptr;
};

TEST_F(ScrapeTest, BadEndpointsFailWithUpZero) {
  const std::string big(2u << 20, '#');
  CannedServer server([&](const std::string& target) -> std::string {
    if (target == "/garbage") return testing::http_response("<html><body>Not metrics</body></html>\n");
    if (target == "/truncated") {
      return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nm{a=\"1\"} 1\nm{a=";
    }
    if (target == "/truncated-om") {
      return testing::http_response("# TYPE m gauge\nm 1\n", "application/openmetrics-text; version=1.0.0");
    }
    if (target == "/big") return testing::http_response(big);
    if (target == "/slow") {
      std::this_thread::sleep_for(3s);
      return testing::http_response("m 1\n");
    }
    if (target == "/redirect")
      return "HTTP/1.1 302 Found\r\nLocation: /redirect\r\nContent-Length: 0\r\n\r\n";
    if (target == "/many") {
      std::string body;
      for (int i = 0; i < 100; ++i) body += "m{i=\"" + std::to_string(i) + "\"} 1\n";
      return testing::http_response(body);
    }
    if (target == "/badutf8") return testing::http_response("m{x=\"caf\xe9\"} 1\n");
    if (target == "/error") return "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops";
    if (target == "/badgzip")
      return testing::http_response("not gzip at all", "text/plain", "Content-Encoding: gzip\r\n");
    if (target == "/gzipbomb") {
      // 4 MiB of zeros in a few KiB: over the limit only once inflated.
      return testing::http_response(gzip("m 1\n" + std::string(4u << 20, '#')), "text/plain",
                                    "Content-Encoding: gzip\r\n");
    }
    return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  });
  const std::vector<BadCase> cases = {
      {"/garbage", "malformed exposition (text format) at line 1, column 1: expected a metric name"},
      {"/truncated", "GET http://" + server.address() + "/truncated: "},
      {"/truncated-om", "line 2, column 4: the body does not end with # EOF"},
      {"/big", "body size limit of 1048576 bytes exceeded", [](auto& c) { c.body_size_limit = 1u << 20; }},
      {"/slow", "no response within scrape_timeout (1s)", [](auto& c) { c.effective_timeout = 1s; }},
      {"/redirect", "stopped after 10 redirects"},
      {"/many", "sample_limit exceeded", [](auto& c) { c.sample_limit = 10; }},
      {"/badutf8", "line 1, column 6: invalid UTF-8 in a label value"},
      {"/error", "server returned HTTP status 500"},
      {"/badgzip", "invalid gzip body"},
      {"/gzipbomb", "body size limit of 1048576 bytes exceeded (after gzip decoding)",
       [](auto& c) { c.body_size_limit = 1u << 20; }},
  };
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.path);
    auto config = direct(server.address(), bad.path);
    if (bad.tune) bad.tune(config);
    auto collector = make(config);
    Cycle c = collect(*collector);
    EXPECT_NE(c.error.find(bad.expected), std::string::npos) << c.error;
    EXPECT_NE(c.error.find("GET http://" + server.address() + bad.path), std::string::npos) << c.error;
    EXPECT_EQ(c.value(with("up", {}, "bad", server.address())), 0);
    EXPECT_EQ(c.down.size(), 5u);  // up and the four other report series, nothing of the body
    EXPECT_EQ(collector->details()["targets"][0]["health"], "down");
  }
}

TEST_F(ScrapeTest, HttpsWithACaFileAndBasicAuthSendsPrometheusHeaders) {
  auto tls = testing::make_self_signed_certificate(dir_.path().string());
  if (!tls) GTEST_SKIP() << "openssl is not installed";
  testing::HttpReceiver server(0, *tls);
  server.respond(200, "# TYPE m gauge\nm 7\n");
  const std::string address = "127.0.0.1:" + std::to_string(server.port());
  dir_.write("password", "s3cret\n");
  auto config = from_yaml("    - job_name: tls\n      scheme: https\n      targets: ['" + address +
                              "']\n      tls_config: {ca_file: " + tls->certificate +
                              "}\n      basic_auth: {username: scraper, password_file: password}\n",
                          dir_.path().string());
  auto collector = make(config);
  Cycle c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.value(with("m", {}, "tls", address)), 7);
  auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/metrics");
  EXPECT_EQ(requests[0].headers["authorization"], "Basic c2NyYXBlcjpzM2NyZXQ=");  // scraper:s3cret
  EXPECT_EQ(requests[0].headers["accept"],
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
            "text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(requests[0].headers["accept-encoding"], "gzip");
  EXPECT_EQ(requests[0].headers["x-prometheus-scrape-timeout-seconds"], "10");
  // Without the CA the certificate is refused, and the error says what to set.
  auto untrusted =
      from_yaml("    - job_name: tls\n      scheme: https\n      targets: ['" + address + "']\n");
  Cycle refused = collect(*make(untrusted));
  EXPECT_NE(refused.error.find("certificate verification failed"), std::string::npos) << refused.error;
}

TEST_F(ScrapeTest, DuplicateSeriesAreDroppedAsPrometheusDrops) {
  CannedServer server([](const std::string&) { return testing::http_response("m 1\nm 2\nn 3\n"); });
  auto collector = make(direct(server.address()));
  Cycle c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.count("m"), 1u);
  EXPECT_EQ(c.value(with("m", {}, "bad", server.address())), 1);
  EXPECT_EQ(c.value(with("scrape_samples_scraped", {}, "bad", server.address())), 3);
  EXPECT_EQ(collector->details()["targets"][0]["duplicates_dropped"], 1);
  EXPECT_NE(log_.str().find("1 samples repeat a series"), std::string::npos) << log_.str();
}

TEST_F(ScrapeTest, OneTargetDownAmongOthersIsUpZeroWithoutFailingTheJob) {
  CannedServer good([](const std::string&) { return testing::http_response("m 1\n"); });
  const int closed = testing::free_port();
  auto config = direct(good.address());
  config.static_configs[0].targets.push_back("127.0.0.1:" + std::to_string(closed));
  auto collector = make(config);
  Cycle c = collect(*collector);
  ASSERT_EQ(c.error, "");
  EXPECT_EQ(c.value(with("up", {}, "bad", good.address())), 1);
  EXPECT_EQ(c.value(with("up", {}, "bad", "127.0.0.1:" + std::to_string(closed))), 0);
  const std::string logged = log_.str();
  collect(*collector);
  EXPECT_EQ(log_.str(), logged) << "a lasting problem is logged once";
}

TEST_F(ScrapeTest, InterruptEndsASlowScrape) {
  CannedServer server([](const std::string&) {
    std::this_thread::sleep_for(3s);
    return testing::http_response("m 1\n");
  });
  auto config = direct(server.address());
  config.effective_timeout = 30s;
  auto collector = make(config);
  std::thread interrupter([&] {
    std::this_thread::sleep_for(300ms);
    collector->interrupt();
  });
  Cycle c = collect(*collector, 60s);
  interrupter.join();
  EXPECT_NE(c.error.find("no response"), std::string::npos) << c.error;
}

TEST_F(ScrapeTest, SeriesTurnStaleWhenTheyDisappearAndWhenTheTargetGoesDown) {
  std::atomic<int> phase{0};
  CannedServer server([&](const std::string&) -> std::string {
    if (phase == 0) return testing::http_response("a 1\nb 2\n");
    if (phase == 1) return testing::http_response("a 1\n");
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
  });
  ManualClock clock(1'714'642'200'000);
  store::Store store({}, clock);
  const auto writer = store.register_writer("scrape/bad", 5s);
  auto collector = make(direct(server.address()));
  auto cycle = [&](Timestamp t) {
    Cycle c = collect(*collector);
    store.commit(writer, c.error.empty() ? c.batch : c.down, t);
  };
  auto newest = [&](const std::string& name) -> std::optional<double> {
    std::vector<store::Matcher> m = {store::Matcher(MatchType::equal, "__name__", name)};
    auto set = store.select(m, 0, INT64_MAX);
    if (set.empty() || set.points(0).empty()) return std::nullopt;
    return set.points(0).back().v;
  };
  cycle(1'714'642'200'000);
  EXPECT_EQ(newest("b"), 2);
  phase = 1;
  cycle(1'714'642'205'000);
  EXPECT_TRUE(is_stale_nan(*newest("b")));
  EXPECT_EQ(newest("a"), 1);
  phase = 2;
  cycle(1'714'642'210'000);
  EXPECT_TRUE(is_stale_nan(*newest("a")));
  EXPECT_EQ(newest("up"), 0);
  EXPECT_EQ(newest("scrape_samples_scraped"), 0);
}

TEST(ScrapeConfig, ErrorsAtTheirPositions) {
  const std::string errors = testing::config_errors(
      "collectors:\n"
      "  scrape:\n"
      "    - job_name: app\n"
      "      scrape_interval: 10s\n"
      "      scrape_timeout: 20s\n"
      "      scheme: ftp\n"
      "      targets: ['http://x:1/metrics']\n"
      "      body_size_limit: 10XB\n"
      "      relabel_configs:\n"
      "        - {action: rename}\n"
      "        - {source_labels: [a], regex: '(', target_label: b}\n"
      "        - {action: hashmod, target_label: h}\n"
      "      basic_auth: {username: u, password: p, password_file: /x}\n"
      "      bogus: 1\n",
      "/etc/tocsin/tocsin.yaml");
  EXPECT_EQ(errors.find("replace requires target_label"), std::string::npos)
      << "no second error for a bad action";
  for (const char* expected : {
           "tocsin.yaml:6:15: collectors.scrape[0].scheme: must be http or https, got \"ftp\"",
           "tocsin.yaml:7:17: collectors.scrape[0].targets[0]: target \"http://x:1/metrics\" has a scheme",
           "tocsin.yaml:8:24: collectors.scrape[0].body_size_limit: invalid size \"10XB\"",
           "tocsin.yaml:10:20: collectors.scrape[0].relabel_configs[0].action: unknown relabel action "
           "\"rename\"",
           "tocsin.yaml:11:11: collectors.scrape[0].relabel_configs[1]: invalid regex \"(\"",
           "tocsin.yaml:12:11: collectors.scrape[0].relabel_configs[2]: hashmod requires a non-zero modulus",
           "tocsin.yaml:13:61: collectors.scrape[0].basic_auth.password_file: give either password or "
           "password_file",
           "tocsin.yaml:14:7: collectors.scrape[0].bogus: unknown key",
           "tocsin.yaml:5:23: collectors.scrape[0].scrape_timeout: scrape_timeout (20s) is longer than "
           "scrape_interval "
           "(10s)",
       }) {
    EXPECT_NE(errors.find(expected), std::string::npos) << expected << "\nin:\n" << errors;
  }
}

TEST(ScrapeConfig, PrometheusDefaults) {
  auto config =
      testing::valid_config("collectors:\n  scrape:\n    - job_name: app\n      targets: [localhost:9100]\n",
                            "/etc/tocsin/tocsin.yaml");
  auto c = testing::instances<config::ScrapeCollectorConfig>(config).at(0);
  EXPECT_EQ(c.common.name, "app");
  EXPECT_EQ(c.metrics_path, "/metrics");
  EXPECT_EQ(c.scheme, "http");
  EXPECT_TRUE(c.honor_timestamps);
  EXPECT_FALSE(c.honor_labels);
  EXPECT_EQ(c.effective_timeout, std::min(c.effective_interval, config::kDefaultScrapeTimeout));
}

}  // namespace
}  // namespace tocsin::collectors

namespace tocsin::collectors {
namespace {

TEST(ScrapeConfig, TheExampleAndTheSampleLoad) {
  auto env = testing::env({{"APP_METRICS", "127.0.0.1:8000"}});
  for (const char* file : {"/config/examples/app.yaml", "/src/collectors/scrape/sample.yaml"}) {
    SCOPED_TRACE(file);
    auto result = config::load_config(std::string(TOCSIN_SOURCE_DIR) + file, env);
    ASSERT_TRUE(std::holds_alternative<config::Config>(result))
        << std::get<yaml::Diagnostics>(result).to_string();
    auto scrape = testing::instances<config::ScrapeCollectorConfig>(std::get<config::Config>(result));
    ASSERT_EQ(scrape.size(), 1u);
    EXPECT_EQ(scrape[0].job_name, "app");
    EXPECT_EQ(scrape[0].static_configs.at(0).targets.at(0), "127.0.0.1:8000");
  }
}

}  // namespace
}  // namespace tocsin::collectors
