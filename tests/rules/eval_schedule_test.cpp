// When the rule manager evaluates a group, and at what timestamp: on its slots (offset + k * interval,
// so `for` and keep_firing_for count whole intervals, as in Prometheus), and right after a collector
// commits a metric the group selects (at the commit's time), one evaluation at a time, triggers
// coalesced while one runs.
#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>

#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "fixtures/process.hpp"
#include "rules/selected_names.hpp"
#include "tocsin/promql/parser.hpp"
#include "tocsin/rules/manager.hpp"

namespace tocsin::rules {
namespace {

using namespace std::chrono_literals;
using tocsin::testing::TempDir;

// Every alert the manager reports, by group.
struct ScheduleSink : alerting::AlertSink {
  void send(const std::string& group, std::span<const alerting::Alert> alerts, Timestamp) override {
    std::lock_guard lock(mutex);
    for (const auto& a : alerts) reports.emplace_back(group, a);
  }
  std::vector<std::pair<std::string, alerting::Alert>> snapshot() {
    std::lock_guard lock(mutex);
    return reports;
  }
  std::mutex mutex;
  std::vector<std::pair<std::string, alerting::Alert>> reports;
};

class EvalSchedule : public ::testing::Test {
 protected:
  std::unique_ptr<RuleManager> start(const std::string& rules, const Clock& clock, store::Store& store,
                                     boost::asio::thread_pool& pool) {
    dir_.write("rules.yaml", rules);
    auto m = std::make_unique<RuleManager>(io_, pool, store, clock, log_, &sink_);
    ManagerSettings settings;
    settings.evaluation_interval = 1h;
    auto d = m->load({file()}, settings);
    EXPECT_TRUE(d.empty()) << d.to_string();
    // The group timers, and the triggers waiting out the spacing between triggered evaluations.
    io_thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
    return m;
  }
  void stop_io() {
    io_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }
  void TearDown() override { stop_io(); }
  std::string file() const { return (dir_ / "rules.yaml").string(); }
  std::string key(const std::string& group) const { return file() + ";" + group; }
  static void put(store::Store& store, store::WriterId w, const std::string& name, double v, Timestamp t) {
    store::Batch b;
    b.add(Labels{{std::string(kMetricNameLabel), name}}, v);
    store.commit(w, b, t);
  }
  static std::shared_ptr<const std::vector<std::string>> names(std::vector<std::string> n) {
    return std::make_shared<const std::vector<std::string>>(std::move(n));
  }

  TempDir dir_{"tocsin-eval-schedule"};
  boost::asio::io_context io_;
  std::thread io_thread_;
  ScheduleSink sink_;
  std::shared_ptr<spdlog::logger> log_ =
      std::make_shared<spdlog::logger>("rules", std::make_shared<spdlog::sinks::null_sink_mt>());
};

// `for` and keep_firing_for on the group's own timer: the alert becomes active at the slot whose
// evaluation first sees the sample, fires at exactly activeAt + for, and resolves exactly
// keep_firing_for after the first slot without it; every evaluation is at a slot. The samples carry
// slot timestamps written ahead of time, so which slot first sees them does not depend on when the
// evaluations happen to run.
TEST_F(EvalSchedule, ForAndKeepFiringForCountTheGroupsSlots) {
  SystemClock clock;
  store::Store store(store::StoreOptions{10min}, clock);
  boost::asio::thread_pool pool(2);
  auto m = start(R"(groups:
  - name: slots
    interval: 500ms
    rules:
      - alert: Up
        expr: v > 0
        for: 1s
        keep_firing_for: 1s
)",
                 clock, store, pool);
  const Timestamp offset = RuleManager::slot_offset(key("slots"), 500ms);
  EXPECT_GE(offset, 0);
  EXPECT_LT(offset, 500);
  const Timestamp now = clock.now_ms();
  const Timestamp first = now - ((now - offset) % 500) + 3 * 500;  // three slots ahead
  ASSERT_EQ((first - offset) % 500, 0);
  auto w = store.register_writer("test", 500ms);
  put(store, w, "v", 1, first);
  put(store, w, "v", 0, first + 2000);
  ASSERT_TRUE(tocsin::testing::wait_until(
      [&] {
        for (const auto& [g, a] : sink_.snapshot()) {
          if (a.state == alerting::AlertState::resolved) return true;
        }
        return false;
      },
      20s));
  m->stop();
  stop_io();
  pool.join();
  std::vector<alerting::AlertState> states;
  for (const auto& [g, a] : sink_.snapshot()) {
    states.push_back(a.state);
    EXPECT_EQ(a.active_at, first);
    if (a.state != alerting::AlertState::pending) {
      EXPECT_EQ(a.fired_at, first + 1000);
    }
    if (a.state == alerting::AlertState::resolved) {
      EXPECT_EQ(a.resolved_at, first + 2000 + 1000);
    }
  }
  // Pending at first and first + 500, firing at first + 1000 to first + 2500 (kept firing from
  // first + 2000 on), resolved at first + 3000: one report per slot.
  using S = alerting::AlertState;
  EXPECT_EQ(states, (std::vector<S>{S::pending, S::pending, S::firing, S::firing, S::firing, S::firing,
                                    S::resolved}));
  const auto counts = m->evaluation_counts(key("slots"));
  EXPECT_EQ((counts.last_time - offset) % 500, 0);
  EXPECT_EQ(counts.triggered, 0u);
  EXPECT_EQ(counts.max_concurrent, 1u);
}

TEST_F(EvalSchedule, SelectedNamesOfAGroup) {
  yaml::Diagnostics d;
  auto groups = parse_rule_text(R"(groups:
  - name: g
    rules:
      - record: a:rate
        expr: sum(rate(a_total[5m])) by (job) / on(job) group_left b
      - alert: R
        expr: '{__name__=~"node_.*", __name__!="node_boot_time"} > 0 or absent(c)'
)",
                                "f.yaml", d);
  ASSERT_TRUE(d.empty()) << d.to_string();
  const detail::SelectedNames names = detail::selected_names(groups.at(0));
  EXPECT_FALSE(names.any);
  EXPECT_EQ(names.names, (std::set<std::string, std::less<>>{"a_total", "b", "c"}));
  EXPECT_TRUE(names.may_select("node_load1"));
  EXPECT_FALSE(names.may_select("node_boot_time"));
  EXPECT_FALSE(names.may_select("up"));
  auto any = parse_rule_text(
      "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: '{job=\"x\"}'\n", "f.yaml", d);
  EXPECT_TRUE(detail::selected_names(any.at(0)).any);
  auto none = parse_rule_text("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: vector(1)\n",
                              "f.yaml", d);
  EXPECT_TRUE(detail::selected_names(none.at(0)).empty());
}

// A commit triggers the groups with alerting rules whose selectors may select one of its names (by
// name, by a regex on the name, or a selector without a name), not the others; and a triggered evaluation is
// at the commit's time, so `for` counts from the commit that first showed the crossing.
TEST_F(EvalSchedule, ACommitTriggersOnlyTheGroupsSelectingWhatItHeld) {
  ManualClock clock(1'000'000'000);
  store::Store store(store::StoreOptions{10min}, clock);
  boost::asio::thread_pool pool(1);
  auto m = start(R"(groups:
  - name: hot
    rules:
      - alert: High
        expr: load > 1
        for: 2s
  - name: cold
    rules:
      - alert: Other
        expr: other > 1
  - name: regex
    rules:
      - alert: Regex
        expr: '{__name__=~"lo.*"} > 1'
  - name: any
    rules:
      - alert: Any
        expr: '{job="x"}'
  - name: constant
    rules:
      - alert: Constant
        expr: vector(1)
  - name: recording
    rules:
      - record: r:load
        expr: load
)",
                 clock, store, pool);
  auto w = store.register_writer("collector/test/a", 1s);
  const auto unrelated = names({"unrelated"});
  m->samples_committed("collector/test/b", unrelated, clock.now_ms());
  const auto with_load = names({"load", "unrelated"});
  const Timestamp t0 = clock.now_ms();
  put(store, w, "load", 2, t0);
  m->samples_committed("collector/test/a", with_load, t0);
  ASSERT_TRUE(
      tocsin::testing::wait_until([&] { return m->evaluation_counts(key("regex")).evaluations == 1; }, 10s));
  // One thread in the pool, in order: had the first commit triggered `hot`, it would have run by now.
  EXPECT_EQ(m->evaluation_counts(key("hot")).triggered, 1u);
  EXPECT_EQ(m->evaluation_counts(key("regex")).triggered, 1u);
  EXPECT_EQ(m->evaluation_counts(key("cold")).evaluations, 0u);
  EXPECT_EQ(m->evaluation_counts(key("constant")).evaluations, 0u);
  EXPECT_EQ(m->evaluation_counts(key("recording")).evaluations, 0u);  // alerts nobody: on its slots only
  EXPECT_GE(m->evaluation_counts(key("any")).triggered, 1u);
  EXPECT_EQ(m->evaluation_counts(key("hot")).last_time, t0);

  // Two more commits a second apart: `for: 2s` fires at the third, at exactly t0 + 2s.
  for (int i = 1; i <= 2; ++i) {
    clock.advance(1s);
    put(store, w, "load", 2, clock.now_ms());
    m->samples_committed("collector/test/a", with_load, clock.now_ms());
    ASSERT_TRUE(tocsin::testing::wait_until(
        [&] { return m->evaluation_counts(key("hot")).evaluations == static_cast<std::uint64_t>(i + 1); },
        10s));
  }
  m->stop();
  pool.join();
  std::vector<alerting::AlertState> states;
  for (const auto& [g, a] : sink_.snapshot()) {
    if (g != key("hot")) continue;
    states.push_back(a.state);
    EXPECT_EQ(a.active_at, t0);
    if (a.state == alerting::AlertState::firing) {
      EXPECT_EQ(a.fired_at, t0 + 2000);
    }
  }
  using S = alerting::AlertState;
  EXPECT_EQ(states, (std::vector<S>{S::pending, S::pending, S::firing}));
}

// Triggers that come while the group's evaluation is queued or running make one evaluation after it,
// at the newest commit's time; a group never runs twice at once, even with commits from many threads
// and a pool that has threads to spare.
// Triggers arriving while the group evaluates are kept to the spacing too: commits every millisecond for
// a second give at most one triggered evaluation per 100 ms (they evaluated back to back before).
TEST_F(EvalSchedule, TriggersWhileBusyKeepTheSpacing) {
  ManualClock clock(1'000'000'000);
  store::Store store(store::StoreOptions{10min}, clock);
  boost::asio::thread_pool pool(2);
  auto m = start("groups:\n  - name: g\n    rules:\n      - alert: High\n        expr: load > 1\n", clock,
                 store, pool);
  auto w = store.register_writer("collector/test/a", 1s);
  const auto load = names({"load"});
  const Timestamp t0 = clock.now_ms();
  put(store, w, "load", 2, t0);
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    m->samples_committed("collector/test/a", load, t0 + i);
    std::this_thread::sleep_for(1ms);
  }
  const auto elapsed = std::chrono::steady_clock::now() - began;
  ASSERT_TRUE(
      tocsin::testing::wait_until([&] { return m->evaluation_counts(key("g")).last_time >= t0 + 999; }, 10s));
  m->stop();
  pool.join();
  const auto counts = m->evaluation_counts(key("g"));
  // The spacing bounds the count by the time the commits took (plus the one at the end).
  const auto bound = static_cast<std::uint64_t>(elapsed / 100ms) + 2;
  EXPECT_GE(counts.triggered, 2u);
  EXPECT_LE(counts.triggered, bound) << "in " << std::chrono::duration<double>(elapsed).count() << " s";
}

TEST_F(EvalSchedule, TriggersAreCoalescedAndAGroupNeverOverlapsItself) {
  ManualClock clock(1'000'000'000);
  store::Store store(store::StoreOptions{10min}, clock);
  boost::asio::thread_pool pool(4);
  auto m = start(
      "groups:\n  - name: g\n    rules:\n      - record: seen:load\n        expr: load\n"
      "      - alert: High\n        expr: load > 1\n",
      clock, store, pool);
  auto w = store.register_writer("collector/test/a", 1s);
  const auto load = names({"load"});
  const Timestamp t0 = clock.now_ms();
  put(store, w, "load", 2, t0);
  // Every pool thread busy until released: the triggers below find the group's evaluation queued.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  for (int i = 0; i < 4; ++i) boost::asio::post(pool, [released] { released.wait(); });
  for (int i = 0; i < 50; ++i) m->samples_committed("collector/test/a", load, t0 + i);
  release.set_value();
  ASSERT_TRUE(
      tocsin::testing::wait_until([&] { return m->evaluation_counts(key("g")).evaluations == 1; }, 10s));
  auto counts = m->evaluation_counts(key("g"));
  EXPECT_EQ(counts.triggered, 1u);
  EXPECT_EQ(counts.last_time, t0 + 49);

  // Many threads at once.
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 200; ++i) m->samples_committed("collector/test/a", load, t0 + 100 + i * 4 + k);
    });
  }
  for (auto& t : threads) t.join();
  // The newest commit's time, or just after (a trigger of an older commit that came once the evaluation
  // at the newest one had begun evaluates just after it).
  const Timestamp last = t0 + 100 + 199 * 4 + 3;
  ASSERT_TRUE(
      tocsin::testing::wait_until([&] { return m->evaluation_counts(key("g")).last_time >= last; }, 10s));
  m->stop();
  pool.join();
  counts = m->evaluation_counts(key("g"));
  EXPECT_EQ(counts.max_concurrent, 1u);
  EXPECT_EQ(counts.evaluations, counts.triggered);
  EXPECT_LE(counts.evaluations, 1u + 800u);
  EXPECT_LE(counts.last_time, last + 800);
  // Every evaluation wrote seen:load at its own, increasing, timestamp: none was dropped as out of order.
  const auto written = std::get<promql::Vector>(
      promql::Engine().instant(store, *promql::parse("count_over_time(seen:load[1h])"), counts.last_time));
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].v, static_cast<double>(counts.evaluations));
}

}  // namespace
}  // namespace tocsin::rules
