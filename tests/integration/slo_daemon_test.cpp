// SLOs in the real daemon: a time-slice SLO on node_load1 (a host collector over a proc tree the test
// writes) spends budget while the load is high, pages through alerting, shows in /api/v1/slos and on the
// status page, and keeps its budget history across SIGTERM and SIGKILL restarts (state_dir/slo).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

std::string slo_source(const std::string& relative) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/" + relative);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class SloDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>("");
    const auto& dir = daemon_->dir();
    std::filesystem::create_directories(dir / "proc");
    for (const char* f : {"stat", "meminfo"})
      dir.write(std::string("proc/") + f, slo_source(std::string("tests/data/host/real/") + f));
    set_load(0.5);
    dir.write("slos.yaml", R"(slos:
  - name: load
    service: host
    objective: 99
    window: 1d
    indicator: { threshold: { expr: 'max(node_load1)', below: 1 } }
    alerting:
      page: { severity: critical }
)");
    daemon_->write_config(
        "interval: 1s\nevaluation_interval: 1s\nslo_save_interval: 1s\nrule_files: [slos.yaml]\n"
        "collectors:\n  host:\n    - name: host\n      proc_path: " +
        (dir / "proc").string() + "\n      mountpoints: []\n      pressure: false\n");
    daemon_->restart();
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
  }
  void set_load(double load) {
    daemon_->dir().write("proc/loadavg", std::to_string(load) + " 0.1 0.1 1/100 123\n");
  }
  nlohmann::json slo() {
    auto j = nlohmann::json::parse(daemon_->get("/api/v1/slos").body, nullptr, false);
    if (j.is_discarded() || !j.contains("data") || j["data"]["slos"].empty()) return nlohmann::json::object();
    return j["data"]["slos"][0];
  }
  // Good and bad seconds over the SLO's window.
  double seconds(const char* kind) {
    auto s = slo();
    if (!s.contains("events") || !s["events"].contains("1d")) return 0;  // not evaluated yet
    const auto& v = s["events"]["1d"][kind];
    return v.is_number() ? v.get<double>() : 0;
  }
  // Waits until `kind` grew by `by` seconds from `from`.
  bool wait_grown(const char* kind, double from, double by) {
    return wait_until([&] { return seconds(kind) >= from + by; }, 30s);
  }
  bool paged() {
    auto j = nlohmann::json::parse(daemon_->get("/api/v1/alerts").body, nullptr, false);
    if (j.is_discarded()) return false;
    for (const auto& a : j["data"]["alerts"]) {
      if (a["labels"].value("alertname", "") == "SLOErrorBudgetBurn" &&
          a["labels"].value("sloth_severity", "") == "page" && a["state"] == "firing")
        return true;
    }
    return false;
  }

  std::unique_ptr<Daemon> daemon_;
};

TEST_F(SloDaemon, BudgetHistorySurvivesSigtermAndSigkill) {
  ASSERT_TRUE(wait_grown("total", 0, 3)) << daemon_->log();
  EXPECT_EQ(seconds("bad"), 0);
  set_load(2.0);
  ASSERT_TRUE(wait_grown("bad", 0, 3)) << daemon_->log();
  // 3 s bad of a few: far more than 1 % of the day's slices so far, so the page fires through alerting.
  EXPECT_TRUE(wait_until([&] { return paged(); }, 20s)) << slo().dump() << daemon_->log();
  const auto s = slo();
  EXPECT_EQ(s["objective"], 99);
  EXPECT_EQ(s["window"], "1d");
  EXPECT_EQ(s["indicator"], "threshold");
  EXPECT_EQ(s["alertState"], "firing");
  EXPECT_LT(s["budget"]["remaining"].get<double>(), 0);
  // The status page lists the SLO with its (spent) budget and its firing alert.
  const std::string page = daemon_->get("/").body;
  EXPECT_NE(page.find("<h2>SLOs</h2>"), std::string::npos) << page;
  EXPECT_NE(page.find("<td>host / load</td><td>99 % over 1d</td><td><span class=\"down\">-"),
            std::string::npos)
      << page;

  // The load drops: the bad seconds stay as they are while good ones accrue (and the history is saved).
  set_load(0.5);
  const double settled = seconds("total");
  ASSERT_TRUE(wait_grown("total", settled, 3));
  const double bad = seconds("bad");
  ASSERT_TRUE(wait_grown("total", seconds("total"), 3));
  ASSERT_EQ(seconds("bad"), bad);

  daemon_->restart();  // SIGTERM: saved at the stop
  ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
  ASSERT_TRUE(wait_until([&] { return seconds("total") > 0; }, 20s)) << daemon_->log();
  EXPECT_EQ(seconds("bad"), bad) << daemon_->log();
  EXPECT_GE(seconds("total"), settled + 6);

  // More bad time, then SIGKILL: what the last periodic write (each second) held comes back.
  set_load(2.0);
  ASSERT_TRUE(wait_grown("bad", bad, 3)) << daemon_->log();
  set_load(0.5);
  ASSERT_TRUE(wait_grown("total", seconds("total"), 3));
  const double bad_before_kill = seconds("bad");
  const double total_before_kill = seconds("total");
  ASSERT_TRUE(wait_grown("total", total_before_kill, 3));
  ASSERT_EQ(seconds("bad"), bad_before_kill);
  daemon_->restart(true);
  ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
  ASSERT_TRUE(wait_until([&] { return seconds("total") > 0; }, 20s)) << daemon_->log();
  EXPECT_EQ(seconds("bad"), bad_before_kill) << daemon_->log();
  EXPECT_GE(seconds("total"), total_before_kill) << daemon_->log();
  EXPECT_TRUE(std::filesystem::exists(daemon_->dir() / "state" / "slo" / "host-load.slo"));
}

// A history that is not a regular file (a FIFO would block the read forever) or is larger than any
// history is refused unread, moved aside with one line, and the SLO starts afresh.
TEST_F(SloDaemon, AHistoryThatIsNoFileOrTooLargeIsMovedAsideUnread) {
  const std::filesystem::path history = daemon_->dir() / "state" / "slo" / "host-load.slo";
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(history); }, 20s)) << daemon_->log();
  for (const bool fifo : {true, false}) {
    SCOPED_TRACE(fifo ? "a FIFO" : "9 MiB");
    daemon_->process().stop();
    std::filesystem::remove(history);
    if (fifo) {
      ASSERT_EQ(::mkfifo(history.c_str(), 0600), 0);
    } else {
      std::ofstream(history) << std::string(9u << 20, 'x');
    }
    daemon_->restart();
    ASSERT_TRUE(daemon_->wait_ready()) << daemon_->log();
    ASSERT_TRUE(wait_until([&] { return daemon_->log().find("cannot be used") != std::string::npos; }, 10s))
        << daemon_->log();
    EXPECT_NE(daemon_->log().find(fifo ? "not a regular file" : "more than any history"), std::string::npos)
        << daemon_->log();
    bool aside = false;
    for (const auto& e : std::filesystem::directory_iterator(history.parent_path()))
      aside = aside || e.path().filename().string().starts_with("host-load.slo.corrupt-");
    EXPECT_TRUE(aside);
    for (const auto& e : std::filesystem::directory_iterator(history.parent_path())) {
      if (e.path().filename().string().starts_with("host-load.slo.corrupt-"))
        std::filesystem::remove(e.path());
    }
    ASSERT_TRUE(wait_until([&] { return slo().contains("events"); }, 20s));  // evaluating afresh
  }
}

}  // namespace
}  // namespace tocsin::testing
