#pragma once
// Shared by the alerting tests: a Dispatcher on a ManualClock with a config written by the test,
// loopback receivers, alerts as the rule engine would report them, and metric readers.

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "fixtures/http_receiver.hpp"
#include "fixtures/process.hpp"
#include "tocsin/alerting/dispatcher.hpp"
#include "tocsin/config/config.hpp"

namespace tocsin::alerting::testing {

using namespace std::chrono_literals;
using tocsin::testing::HttpReceiver;
using tocsin::testing::TempDir;

// 2024-03-04 (a Monday) 10:00:00 UTC.
inline constexpr Timestamp kStart = 1709546400000;

inline config::AlertingConfig alerting_config(const std::string& yaml) {
  auto result = config::parse_config(yaml, "tocsin.yaml", [](const std::string&) { return std::nullopt; });
  if (auto* d = std::get_if<yaml::Diagnostics>(&result)) {
    ADD_FAILURE() << d->to_string();
    return {};
  }
  return std::get<config::Config>(std::move(result)).alerting;
}

inline Alert alert(const std::string& name, const std::string& severity, Timestamp fired_at,
                   std::initializer_list<Label> extra = {}, AlertState state = AlertState::firing) {
  LabelsBuilder b;
  b.set("alertname", name).set("severity", severity);
  for (const Label& l : extra) b.set(l.name, l.value);
  Alert a;
  a.labels = b.build();
  a.annotations =
      Labels{{"summary", name + " is happening"}, {"description", "look at the " + name + " dashboard"}};
  a.state = state;
  a.active_at = fired_at;
  a.fired_at = state == AlertState::firing ? fired_at : 0;
  a.value = 42;
  a.rule_name = name;
  a.rule_group = "rules.yaml;group";
  return a;
}

inline Alert resolved(Alert a, Timestamp at) {
  a.state = AlertState::resolved;
  a.resolved_at = at;
  return a;
}

class Harness {
 public:
  explicit Harness(std::string yaml,
                   std::shared_ptr<TempDir> dir = std::make_shared<TempDir>("tocsin-alerting"))
      : dir_(std::move(dir)), yaml_(std::move(yaml)) {
    log_stream_ = std::make_shared<std::ostringstream>();
    log_ = std::make_shared<spdlog::logger>("test",
                                            std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_stream_));
    log_->set_level(spdlog::level::debug);
    restart();
  }
  ~Harness() {
    if (dispatcher_) dispatcher_->stop();
  }

  // A new dispatcher on the same state_dir, as after a daemon restart.
  void restart() {
    if (dispatcher_) dispatcher_->stop();
    dispatcher_.reset();
    registry_ = std::make_shared<prometheus::Registry>();
    dispatcher_ = std::make_unique<Dispatcher>(
        alerting_config(yaml_),
        DispatcherOptions{(dir_->path() / "state").string(), "http://tocsin.test:9850", 1000ms}, clock,
        *registry_, log_);
    dispatcher_->start();
  }

  Dispatcher& d() { return *dispatcher_; }
  const std::shared_ptr<TempDir>& dir() const { return dir_; }

  // Reports `alerts` as one rule group's evaluation now, and waits until it is handled.
  void report(std::vector<Alert> alerts, const std::string& group = "rules.yaml;group") {
    dispatcher_->send(group, alerts, clock.now_ms());
    ASSERT_TRUE(dispatcher_->flush());
  }
  void advance(std::chrono::milliseconds by) {
    clock.advance(by);
    ASSERT_TRUE(dispatcher_->flush());
  }
  // Advances in steps of `step`, reporting `alerts` each time (as the rule engine re-evaluates).
  void run_for(std::chrono::milliseconds total, std::chrono::milliseconds step,
               const std::vector<Alert>& alerts) {
    for (auto t = 0ms; t < total; t += step) {
      clock.advance(step);
      report(alerts);
    }
  }

  double metric(const std::string& family, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& f : registry_->Collect()) {
      if (f.name != family) continue;
      for (const auto& m : f.metric) {
        bool match = std::all_of(labels.begin(), labels.end(), [&](const auto& kv) {
          return std::any_of(m.label.begin(), m.label.end(),
                             [&](const auto& l) { return l.name == kv.first && l.value == kv.second; });
        });
        if (!match) continue;
        if (f.type == prometheus::MetricType::Counter) return m.counter.value;
        if (f.type == prometheus::MetricType::Gauge) return m.gauge.value;
        if (f.type == prometheus::MetricType::Histogram) return static_cast<double>(m.histogram.sample_count);
      }
    }
    return -1;
  }

  std::string log() const { return log_stream_->str(); }

  ManualClock clock{kStart};

 private:
  std::shared_ptr<TempDir> dir_;
  std::string yaml_;
  std::shared_ptr<std::ostringstream> log_stream_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

// Every alert of every webhook request a receiver got, as (event, alertname, severity, step).
struct Seen {
  std::string status;
  std::string event;
  std::string alertname;
  std::string severity;
  int step;
  friend bool operator==(const Seen&, const Seen&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Seen& s) {
    return os << "{" << s.status << " " << s.event << " " << s.alertname << " " << s.severity << " step "
              << s.step << "}";
  }
};

inline std::vector<Seen> seen(const HttpReceiver& r) {
  std::vector<Seen> out;
  for (const auto& req : r.requests()) {
    auto j = nlohmann::json::parse(req.body);
    for (const auto& a : j.at("alerts")) {
      out.push_back({a.at("status"), a.at("event"), a.at("labels").at("alertname"), a.at("severity"),
                     a.at("escalation").at("step")});
    }
  }
  return out;
}

}  // namespace tocsin::alerting::testing
