// What tocsin stores against what a real Prometheus 2.42 stores, scraping the same endpoint (the
// Python client app, OpenMetrics with _created series) with the same scrape config, pasted into
// both: the same series, the same values, after relabel_configs and metric_relabel_configs.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "collectors/scrape/scrape.hpp"
#include "fixtures/config.hpp"
#include "fixtures/process.hpp"
#include "scrape_servers.hpp"
#include "tocsin/net/http_client.hpp"

namespace tocsin::collectors {
namespace {

using namespace std::chrono_literals;

// The job, in prometheus.yml's words, indented for a list item at four spaces.
std::string job_block(const std::string& target) {
  return "    - job_name: app\n"
         "      scrape_interval: 1s\n"
         "      scrape_timeout: 1s\n"
         "      static_configs:\n"
         "        - targets: ['" +
         target +
         "']\n"
         "          labels: {env: test}\n"
         "      relabel_configs:\n"
         "        - source_labels: [__address__]\n"
         "          regex: '(.*):\\d+'\n"
         "          target_label: host\n"
         "      metric_relabel_configs:\n"
         "        - source_labels: [__name__]\n"
         "          regex: 'app_response_bytes_.*'\n"
         "          action: drop\n"
         "        - source_labels: [endpoint_class]\n"
         "          target_label: class\n"
         "          action: uppercase\n"
         "        - regex: 'endpoint_(.*)'\n"
         "          replacement: 'ep_$1'\n"
         "          action: labelmap\n";
}

std::string key_of(const std::map<std::string, std::string>& labels) {
  std::string k;
  for (const auto& [n, v] : labels) k += n + "=" + v + "\x1f";
  return k;
}

std::string value_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return "";
}

TEST(PrometheusComparison, SameSeriesAndValuesAsPrometheus242) {
  auto prometheus = testing::find_executable("prometheus");
  if (!prometheus) GTEST_SKIP() << "prometheus is not installed";
  if (!testing::python_client_installed()) GTEST_SKIP() << "python3-prometheus-client is not installed";
  testing::TempDir dir("tocsin-scrape-prom");
  auto app = testing::start_app(dir, {"--prime", "20"});
  ASSERT_TRUE(app);

  dir.write("prometheus.yml", "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n" +
                                  job_block(app->address()));
  const int port = testing::free_port();
  testing::ProcessOptions options;
  options.stdout_file = dir / "prometheus.log";
  options.stderr_file = dir / "prometheus.log";
  testing::Process server({*prometheus, "--config.file=" + (dir / "prometheus.yml").string(),
                           "--storage.tsdb.path=" + (dir / "data").string(),
                           "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                          options);
  ASSERT_TRUE(testing::wait_until([&] { return testing::port_open(port); }, 30s));
  auto query = [&](const std::string& encoded) {
    // Prometheus answers chunked: the tocsin_net client reads that.
    net::HttpClient client;
    net::HttpRequest request;
    request.method = "GET";
    request.url = "http://127.0.0.1:" + std::to_string(port) + "/api/v1/query?query=" + encoded;
    request.max_body_bytes = 16u << 20;
    auto r = client.send(request);
    if (r.status != 200) return nlohmann::json::array();  // 503 while its storage starts
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded()) {
      ADD_FAILURE() << "not JSON: " << r.body.size() << " bytes: " << r.body.substr(0, 300);
      return nlohmann::json::array();
    }
    return j["data"]["result"];
  };
  // Scraped more than once, so that scrape_series_added is 0 there too.
  ASSERT_TRUE(testing::wait_until(
      [&] {
        auto r = query("scrape_series_added%7Bjob%3D%22app%22%7D");
        return r.size() == 1 && r[0]["value"][1] == "0";
      },
      60s))
      << "Prometheus never scraped the app twice";
  const auto prom = query("%7Bjob%3D%22app%22%7D");
  std::map<std::string, std::string> theirs;
  for (const auto& s : prom)
    theirs[key_of(s["metric"].get<std::map<std::string, std::string>>())] = s["value"][1];

  auto config =
      testing::valid_config("collectors:\n  scrape:\n" + job_block(app->address()), "/tmp/tocsin.yaml");
  auto settings = testing::instances<config::ScrapeCollectorConfig>(config).at(0);
  auto collector = make_scrape_collector(
      settings, std::make_shared<spdlog::logger>("scrape", std::make_shared<spdlog::sinks::null_sink_mt>()));
  store::Batch batch;
  for (int i = 0; i < 2; ++i) {
    batch.clear();
    collector->collect({.timestamp = 0, .deadline = std::chrono::steady_clock::now() + 5s}, batch);
  }
  std::map<std::string, double> ours;
  for (const auto& s : batch.samples()) {
    std::map<std::string, std::string> labels;
    for (const auto& l : s.labels) labels[l.name] = l.value;
    ours[key_of(labels)] = s.value;
  }

  EXPECT_GT(theirs.size(), 100u);
  for (const auto& [key, text] : theirs) {
    SCOPED_TRACE(key);
    auto it = ours.find(key);
    if (it == ours.end()) {
      ADD_FAILURE() << "Prometheus has it, tocsin does not";
      continue;
    }
    if (key.find("__name__=scrape_duration_seconds") != std::string::npos) continue;
    const double v = it->second;
    if (!value_text(v).empty()) {
      EXPECT_EQ(value_text(v), text);
    } else {
      EXPECT_DOUBLE_EQ(v, std::stod(text));
    }
  }
  for (const auto& [key, v] : ours) {
    EXPECT_TRUE(theirs.contains(key)) << "tocsin has it, Prometheus does not: " << key;
  }
}

}  // namespace
}  // namespace tocsin::collectors
