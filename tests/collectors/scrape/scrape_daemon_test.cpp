// Through the real daemon: tocsin scrapes the Python client app (real HTTP traffic to its own
// endpoints, slow and failing) and the bundled rules/app.yaml fire: the sign-in latency and the error
// ratio page. The rules are the bundled file with each `for:` shortened to 2s, so that the test takes
// seconds, not the quarter hour the real holds need; the expressions and thresholds are unchanged.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "integration/daemon_fixture.hpp"
#include "scrape_servers.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

std::string bundled_rules() {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/rules/app.yaml");
  std::stringstream s;
  s << in.rdbuf();
  return std::regex_replace(s.str(), std::regex(R"(for: \d+m)"), "for: 2s");
}

TEST(ScrapeDaemon, TheBundledAppAlertsFireOnARealInstrumentedApp) {
  if (!python_client_installed()) GTEST_SKIP() << "python3-prometheus-client is not installed";
  TempDir dir("tocsin-scrape-daemon");
  // Every request takes 250 ms and one in five answers 500: auth's P95 is over twice its 100 ms.
  auto app = start_app(dir, {"--latency", "0.25", "--error-ratio", "0.2", "--traffic", "40"});
  ASSERT_TRUE(app);
  Daemon daemon("");
  daemon.dir().write("app.yaml", bundled_rules());
  daemon.write_config(
      "interval: 1s\nevaluation_interval: 1s\nrule_files: [app.yaml]\ncollectors:\n  scrape:\n"
      "    - job_name: shop\n      scrape_interval: 1s\n      targets: ['" +
      app->address() + "']\n");
  daemon.restart();
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();

  auto firing = [&](const std::string& name) -> std::string {
    auto j = nlohmann::json::parse(daemon.get("/api/v1/alerts").body, nullptr, false);
    if (j.is_discarded()) return "";
    for (const auto& a : j["data"]["alerts"]) {
      if (a["labels"].value("alertname", "") == name && a["state"] == "firing" &&
          a["labels"].value("job", "") == "shop") {
        return a["labels"].value("severity", "");
      }
    }
    return "";
  };
  EXPECT_TRUE(wait_until([&] { return firing("AppAuthLatencyHigh") == "critical"; }, 90s))
      << daemon.get("/api/v1/alerts").body << "\n"
      << daemon.log();
  EXPECT_TRUE(wait_until([&] { return firing("AppErrorRateHigh") == "critical"; }, 60s))
      << daemon.get("/api/v1/alerts").body;
  EXPECT_EQ(firing("AppReportingLatencyHigh"), "") << "250 ms is within reporting's 500 ms";
  // The scrape's own series are in the store, with Prometheus's labels.
  auto up = daemon.get("/api/v1/query?query=up%7Bjob%3D%22shop%22%7D");
  EXPECT_NE(up.body.find("\"instance\":\"" + app->address() + "\""), std::string::npos) << up.body;
}

}  // namespace
}  // namespace tocsin::testing
