// The real daemon keeps its window across a restart: the store's snapshot in state_dir.
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

const char* kSnapshotConfig = R"(interval: 1s
collectors:
  host:
    - name: host
      mountpoints: ["/"]
)";

// The query API's instant result as "labels=value" lines, or "" when it failed.
std::string instant(Daemon& d, const std::string& expr_encoded, const std::string& time) {
  HttpResult r = d.get("/api/v1/query?query=" + expr_encoded + "&time=" + time);
  if (r.status != 200) return "";
  const auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return "";
  std::string out;
  for (const auto& s : j["data"]["result"])
    out += s["metric"].dump() + "=" + s["value"][1].get<std::string>() + "\n";
  return out;
}

TEST(SnapshotDaemon, RateRightAfterARestartEqualsRateJustBefore) {
  Daemon d(kSnapshotConfig);
  ASSERT_TRUE(d.wait_ready()) << d.log();
  // Ten points of a counter, then a time just after its newest one.
  const std::string count = "count_over_time(node_context_switches_total%5B1m%5D)";
  auto points = [&] {
    const std::string r = instant(d, count, std::to_string(static_cast<double>(std::time(nullptr))));
    return r.empty() ? 0 : std::stoi(r.substr(r.find('=') + 1));
  };
  ASSERT_TRUE(wait_until([&] { return points() >= 10; }, 30s)) << d.log();
  HttpResult now = d.get("/api/v1/query?query=node_context_switches_total");
  const auto j = nlohmann::json::parse(now.body);
  ASSERT_FALSE(j["data"]["result"].empty());
  const double newest = j["data"]["result"][0]["value"][0].get<double>();
  const std::string at = std::to_string(newest);
  const std::string rate = "rate(node_context_switches_total%5B8s%5D)";
  const std::string before = instant(d, rate, at);
  const std::string points_before = instant(d, count, at);
  ASSERT_FALSE(before.empty());

  d.restart();  // SIGTERM: the snapshot is written at the stop
  ASSERT_TRUE(d.wait_ready()) << d.log();
  EXPECT_NE(d.log().find("store snapshot"), std::string::npos) << d.log();
  EXPECT_EQ(instant(d, rate, at), before);
  EXPECT_EQ(instant(d, count, at), points_before);
  EXPECT_NE(d.get("/metrics").body.find("tocsin_store_snapshot_bytes "), std::string::npos);
}

TEST(SnapshotDaemon, ACorruptSnapshotIsMovedAsideWithOneLine) {
  Daemon d(kSnapshotConfig);
  ASSERT_TRUE(d.wait_ready()) << d.log();
  d.process().stop();
  const auto snapshot = d.dir() / "state" / "store.snapshot";
  ASSERT_TRUE(std::filesystem::exists(snapshot));
  {
    std::fstream f(snapshot, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x5a');
    f.put('\xa5');
  }
  d.restart();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const std::string log = d.log();
  EXPECT_NE(log.find("store snapshot"), std::string::npos) << log;
  EXPECT_NE(log.find("checksum mismatch"), std::string::npos) << log;
  EXPECT_NE(log.find("store.snapshot.bad"), std::string::npos) << log;
  EXPECT_TRUE(std::filesystem::exists(d.dir() / "state" / "store.snapshot.bad"));
  EXPECT_NE(d.get("/metrics").body.find("tocsin_store_snapshot_errors_total{operation=\"read\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace tocsin::testing
