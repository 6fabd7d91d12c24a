// The rule manager against a real store: alert state restored from (and kept out of) a bad state file,
// writers of removed rules retired, the state file written only on changes, ring buffers sized by the
// group's interval, and unique metric series.
#include "tocsin/rules/manager.hpp"

#include <gtest/gtest.h>
#include <prometheus/metric_family.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fixtures/process.hpp"
#include "tocsin/promql/parser.hpp"

namespace tocsin::rules {
namespace {

using namespace std::chrono_literals;
using tocsin::testing::TempDir;

class ManagerTest : public ::testing::Test {
 protected:
  std::unique_ptr<RuleManager> start(const std::string& rules, bool persist = true,
                                     alerting::AlertSink* sink = nullptr) {
    dir_.write("rules.yaml", rules);
    auto m = std::make_unique<RuleManager>(io_, pool_, store_, clock_, log_, sink);
    ManagerSettings settings;
    settings.evaluation_interval = 1s;
    if (persist) settings.state_file = state_file();
    auto d = m->load({(dir_ / "rules.yaml").string()}, settings);
    EXPECT_TRUE(d.empty()) << d.to_string();
    return m;
  }
  yaml::Diagnostics reload(RuleManager& m, const std::string& rules) {
    dir_.write("rules.yaml", rules);
    ManagerSettings settings;
    settings.evaluation_interval = 1s;
    settings.state_file = state_file();
    return m.load({(dir_ / "rules.yaml").string()}, settings);
  }
  // Sets `name` (no labels) to v at the clock's time, through the store like a collector.
  void set(const std::string& name, double v) {
    if (!writer_) writer_ = store_.register_writer("test", 1s);
    store::Batch b;
    b.add(Labels{{std::string(kMetricNameLabel), name}}, v);
    store_.commit(*writer_, b, clock_.now_ms());
  }
  promql::Vector query(const std::string& q) {
    return std::get<promql::Vector>(promql::Engine().instant(store_, *promql::parse(q), clock_.now_ms()));
  }
  std::string state_file() const { return (dir_ / "alerts.json").string(); }
  std::string log() const { return log_text_.str(); }
  bool moved_aside() const {
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      if (e.path().filename().string().starts_with("alerts.json.corrupt-")) return true;
    }
    return false;
  }

  TempDir dir_{"tocsin-rules"};
  ManualClock clock_{1'000'000'000};
  store::Store store_{store::StoreOptions{1min}, clock_};
  std::optional<store::WriterId> writer_;
  boost::asio::io_context io_;
  boost::asio::thread_pool pool_{1};
  std::ostringstream log_text_;
  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("rules", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_text_));
};

const char* kTiered = R"(groups:
  - name: g
    rules:
      - alert: Full
        expr: ratio
        tiers:
          warning: { above: 0.80, for: 0s }
          critical: { above: 0.95, for: 0s }
)";

// A state file that does not fit (valid JSON of the wrong shape, a tier the rule no longer has, a file
// that cannot be read) never stops the daemon: it is moved aside and said so, or the misfit alert dropped.
TEST_F(ManagerTest, AStateFileOfTheWrongShapeIsMovedAside) {
  dir_.write("alerts.json", R"({"version":1,"groups":[1]})");
  auto m = start(kTiered);
  EXPECT_TRUE(moved_aside());
  EXPECT_NE(log().find("is corrupt; moved it to"), std::string::npos) << log();
  EXPECT_FALSE(std::filesystem::exists(state_file()));
}

TEST_F(ManagerTest, AGroupEntryOfTheWrongShapeRestoresNothing) {
  const std::string key = (dir_ / "rules.yaml").string() + ";g";
  dir_.write("alerts.json",
             R"({"version":1,"groups":[{"group":")" + key +
                 R"(","rules":[{"rule":"Full","index":0,"alerts":[{"labels":{"alertname":"Full",
                                "severity":"warning"},"state":"firing","tier":0,"tier_since":[0,null]}]}]},
                                {"group":")" +
                 key + R"(","rules":[{"rule":"Full","alerts":[{"tier":"x"}]}]}]})");
  auto m = start(kTiered);
  EXPECT_TRUE(moved_aside()) << log();
  EXPECT_EQ(m->rules_json()["data"]["groups"][0]["rules"][0]["alerts"].size(), 0u);
}

TEST_F(ManagerTest, ARestoredTierTheRuleNoLongerHasIsDropped) {
  const std::string key = (dir_ / "rules.yaml").string() + ";g";
  dir_.write("alerts.json",
             R"({"version":1,"groups":[{"group":")" + key +
                 R"(","rules":[{"rule":"Full","index":0,"alerts":[{"labels":{"alertname":"Full",
                                "severity":"page"},"state":"firing","tier":2,"tier_since":[0,0,0]}]}]}]})");
  auto m = start(kTiered);
  EXPECT_FALSE(moved_aside());
  auto rules = m->rules_json();
  EXPECT_EQ(rules["data"]["groups"][0]["rules"][0]["alerts"].size(), 0u);
  set("ratio", 0.97);
  m->evaluate_all_now();
  rules = m->rules_json();
  const auto& rule = rules["data"]["groups"][0]["rules"][0];
  EXPECT_EQ(rule["health"], "ok") << rule.dump();
  ASSERT_EQ(rule["alerts"].size(), 1u);
  EXPECT_EQ(rule["alerts"][0]["tier"], "critical");
}

TEST_F(ManagerTest, AStateFileThatCannotBeOpenedIsMovedAside) {
  std::filesystem::create_symlink("alerts.json", state_file());  // a loop: open() fails with ELOOP
  auto m = start(kTiered);
  EXPECT_TRUE(moved_aside()) << log();
  EXPECT_NE(log().find("cannot read it"), std::string::npos) << log();
}

// A rule removed by a reload stops being exported at once, though its group goes on.
TEST_F(ManagerTest, ARemovedRuleStopsBeingExported) {
  const std::string kept = "      - alert: Kept\n        expr: vector(1)\n";
  auto m = start("groups:\n  - name: g\n    rules:\n" + kept +
                 "      - alert: Removed\n        expr: vector(1)\n      - record: removed:one\n        "
                 "expr: vector(1)\n");
  m->evaluate_all_now();
  EXPECT_EQ(query("ALERTS").size(), 2u);
  EXPECT_EQ(query("removed:one").size(), 1u);
  clock_.advance(1s);
  auto d = reload(*m, "groups:\n  - name: g\n    rules:\n" + kept);
  ASSERT_TRUE(d.empty()) << d.to_string();
  auto alerts = query("ALERTS");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].labels.get("alertname"), "Kept");
  EXPECT_TRUE(query("removed:one").empty());
  m->evaluate_all_now();
  EXPECT_EQ(query("ALERTS").size(), 1u);
}

// What alerting is told: each group's alerts, and for a group a reload removed, an empty report at
// once (its alerts are gone), not silence that alerting would have to time out.
TEST_F(ManagerTest, ARemovedGroupIsReportedEmptyToAlerting) {
  struct Recorder : alerting::AlertSink {
    void send(const std::string& group, std::span<const alerting::Alert> alerts, Timestamp) override {
      reports.emplace_back(group, alerts.size());
    }
    std::vector<std::pair<std::string, std::size_t>> reports;
  } sink;
  const std::string a = "  - name: a\n    rules:\n      - alert: A\n        expr: vector(1)\n";
  const std::string b = "  - name: b\n    rules:\n      - alert: B\n        expr: vector(1)\n";
  auto m = start("groups:\n" + a + b, true, &sink);
  m->evaluate_all_now();
  const std::string file = (dir_ / "rules.yaml").string();
  EXPECT_EQ(sink.reports,
            (std::vector<std::pair<std::string, std::size_t>>{{file + ";a", 1}, {file + ";b", 1}}));
  sink.reports.clear();
  ASSERT_TRUE(reload(*m, "groups:\n" + a).empty());
  EXPECT_EQ(sink.reports, (std::vector<std::pair<std::string, std::size_t>>{{file + ";b", 0}}));
  m->stop();
}

// The state file is written when an alert changes state, not at every evaluation of a firing alert
// whose value moves.
TEST_F(ManagerTest, TheStateFileIsWrittenOnlyWhenAnAlertChanges) {
  auto m = start("groups:\n  - name: g\n    rules:\n      - alert: V\n        expr: v > 0\n");
  auto inode = [&] {
    struct stat st {};
    return ::stat(state_file().c_str(), &st) == 0 ? st.st_ino : 0;
  };
  set("v", 1);
  m->evaluate_all_now();
  ASSERT_NE(inode(), 0u);
  const auto writes = m->state_writes();
  const auto first = inode();  // a write renames a new file over it: the inode changes
  for (double v : {2.0, 3.0, 4.0}) {
    clock_.advance(1s);
    set("v", v);
    m->evaluate_all_now();
  }
  EXPECT_EQ(m->state_writes(), writes);
  EXPECT_EQ(inode(), first);
  std::ifstream in(state_file());
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_NE(content.str().find("\"firing\""), std::string::npos) << content.str();
  clock_.advance(1s);
  set("v", 0);
  m->evaluate_all_now();  // resolved: the state changes
  EXPECT_EQ(m->state_writes(), writes + 1);
  EXPECT_NE(inode(), first);
}

// A group evaluated every second keeps the whole retention (1m) of what it records.
TEST_F(ManagerTest, RecordedSeriesKeepTheRetentionOfAFastGroup) {
  auto m = start(
      "groups:\n  - name: g\n    interval: 1s\n    rules:\n      - record: rec\n        expr: vector(1)\n"
      "      - alert: A\n        expr: vector(1)\n");
  for (int i = 0; i < 90; ++i) {
    clock_.advance(1s);
    m->evaluate_all_now();
  }
  for (const char* q : {"count_over_time(rec[1m])", "count_over_time(ALERTS[1m])"}) {
    auto v = query(q);
    ASSERT_EQ(v.size(), 1u) << q;
    EXPECT_GE(v[0].v, 59) << q;
  }
}

// Two rules of one name in a group: one failures series for the name, counting both.
TEST_F(ManagerTest, FailuresOfRulesSharingANameAreOneSeries) {
  const std::string two =
      "label_replace(vector(1), \"a\", \"1\", \"\", \"\") or "
      "label_replace(vector(1), \"a\", \"2\", \"\", \"\")";
  auto m = start(
      "groups:\n  - name: g\n    limit: 1\n    rules:\n"
      "      - alert: X\n        expr: '" +
      two +
      "'\n        labels: {severity: warning}\n"
      "      - alert: X\n        expr: '" +
      two +
      "'\n        labels: {severity: critical}\n"
      "      - alert: Y\n        expr: vector(1)\n");
  m->evaluate_all_now();
  std::map<std::string, double> failures;
  for (const auto& family : m->metrics()->Collect()) {
    if (family.name != "tocsin_rule_evaluation_failures_total") continue;
    for (const auto& metric : family.metric) {
      std::string labels;
      for (const auto& l : metric.label) labels += l.name + "=" + l.value + ",";
      EXPECT_TRUE(failures.emplace(labels, metric.counter.value).second) << "repeated: " << labels;
    }
  }
  const std::string group = "rule_group=" + (dir_ / "rules.yaml").string() + ";g,";
  EXPECT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures["rule=X," + group], 2);
  EXPECT_EQ(failures["rule=Y," + group], 0);
}

// A template failing at every evaluation is logged once for the rule, not at every evaluation.
TEST_F(ManagerTest, ATemplateErrorIsLoggedOncePerRule) {
  auto m = start(
      "groups:\n  - name: g\n    rules:\n      - alert: T\n        expr: vector(1)\n"
      "        annotations: {summary: '{{ \"h:1\" | humanize }}'}\n");
  for (int i = 0; i < 3; ++i) {
    clock_.advance(1s);
    m->evaluate_all_now();
  }
  const std::string text = log();
  const std::string line = "rule T in group " + (dir_ / "rules.yaml").string() +
                           ";g: error expanding template: error executing template __alert_T: template: "
                           "__alert_T:1:123: executing \"__alert_T\" at <humanize>: error calling humanize: "
                           "strconv.ParseFloat: parsing \"h:1\": invalid syntax";
  const auto first = text.find(line);
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find(line, first + 1), std::string::npos) << text;
  EXPECT_EQ(m->rules_json()["data"]["groups"][0]["rules"][0]["health"], "ok");
}

}  // namespace
}  // namespace tocsin::rules
