// The scheduler against collectors written for the test: a healthy one, one that hangs past its
// deadline, one that fails. The targets are not the point here; timing and isolation are.
#include "tocsin/collectors/scheduler.hpp"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "fixtures/process.hpp"
#include "tocsin/collectors/claim.hpp"

namespace tocsin::collectors {
namespace {

using namespace std::chrono_literals;

class CountingCollector : public Collector {
 public:
  explicit CountingCollector(std::string name) : name_(std::move(name)) {}
  std::string_view kind() const override { return "test"; }
  const std::string& name() const override { return name_; }
  void collect(const CollectContext&, store::Batch& out) override {
    out.describe("test_cycles_total", store::MetricType::counter, "Cycles.");
    out.add("test_cycles_total", {{"target", name_}}, static_cast<double>(++cycles));
  }
  void describe_down(store::Batch& out) override { out.add("test_up", {{"target", name_}}, 0); }
  std::atomic<int> cycles{0};

 private:
  std::string name_;
};

// Blocks in collect() until interrupted (or released), like a query on a locked table.
class HangingCollector : public CountingCollector {
 public:
  using CountingCollector::CountingCollector;
  void collect(const CollectContext& ctx, store::Batch& out) override {
    ++entered;
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return interrupted_ || !hang; });
    if (interrupted_) {
      interrupted_ = false;
      throw CollectError("query canceled");
    }
    CountingCollector::collect(ctx, out);
  }
  void interrupt() override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    ++interrupts;
    cv_.notify_all();
  }
  std::atomic<bool> hang{true};
  std::atomic<int> entered{0};
  std::atomic<int> interrupts{0};

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

class FailingCollector : public CountingCollector {
 public:
  using CountingCollector::CountingCollector;
  void collect(const CollectContext&, store::Batch&) override {
    ++cycles;
    throw CollectError("connection refused");
  }
};

// One more series each cycle: 10, 11, 12, ...
class WideningCollector : public CountingCollector {
 public:
  using CountingCollector::CountingCollector;
  void collect(const CollectContext&, store::Batch& out) override {
    const int n = 10 + cycles++;
    for (int i = 0; i < n; ++i) out.add("test_series", {{"target", name()}, {"i", std::to_string(i)}}, i);
  }
};

class SchedulerTest : public ::testing::Test {
 protected:
  static std::shared_ptr<spdlog::logger> make_log(std::ostream& out) {
    auto log =
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    log->set_pattern("%l %v");
    return log;
  }
  ~SchedulerTest() override {
    scheduler.stop();
    work.reset();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    pool.join();
  }
  void run() {
    io_thread = std::thread([this] { io.run(); });
  }
  void replace(std::vector<CollectorSpec> specs) {
    std::promise<void> done;
    boost::asio::post(io, [&] {
      scheduler.replace(std::move(specs));
      done.set_value();
    });
    done.get_future().wait();
  }
  std::string metrics() {
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, registry.Collect());
    return out.str();
  }
  // The value of one line of the self-metrics exposition, or -1.
  double metric_value(const std::string& series) {
    std::string m = metrics();
    std::size_t at = m.find(series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(m.substr(at + series.size() + 1));
  }
  double latest(const std::string& name, const std::string& target) {
    std::vector<store::Matcher> m{store::Matcher(MatchType::equal, "__name__", name),
                                  store::Matcher(MatchType::equal, "target", target)};
    auto set = store.select(m, 0, std::numeric_limits<Timestamp>::max());
    if (set.empty()) return -1;
    return set.points(0).back().v;
  }

  SystemClock clock;
  store::Store store{store::StoreOptions{1h}, clock};
  prometheus::Registry registry;
  std::ostringstream log_text;
  std::shared_ptr<spdlog::logger> log = make_log(log_text);
  boost::asio::io_context io;
  // Keeps io.run() from returning before the first replace() is posted (it returns at once when
  // the context has nothing to do, and the posted work would then never run).
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
      io.get_executor()};
  boost::asio::thread_pool pool{4};
  Scheduler scheduler{io, pool, store, clock, registry, log};
  std::thread io_thread;
};

TEST_F(SchedulerTest, AHungTargetNeverDelaysAnother) {
  auto fast = std::make_unique<CountingCollector>("fast");
  auto hanging = std::make_unique<HangingCollector>("hung");
  auto* fast_ptr = fast.get();
  auto* hanging_ptr = hanging.get();
  std::vector<CollectorSpec> specs;
  specs.push_back({std::move(fast), 50ms, 50ms});
  specs.push_back({std::move(hanging), 50ms, 100ms});
  run();
  replace(std::move(specs));

  ASSERT_TRUE(testing::wait_until([&] { return fast_ptr->cycles >= 10; }, 10s));
  ASSERT_TRUE(testing::wait_until([&] { return hanging_ptr->interrupts >= 2; }, 10s));
  // Commits run on the pool after the cycle, so the store may trail the collector by a moment.
  EXPECT_TRUE(testing::wait_until([&] { return latest("test_cycles_total", "fast") >= 9; }, 10s));
  EXPECT_TRUE(testing::wait_until([&] { return latest("test_up", "hung") == 0; },
                                  10s));  // describe_down was committed

  std::string m = metrics();
  EXPECT_NE(m.find("tocsin_collector_up{collector=\"test\",target=\"fast\"} 1"), std::string::npos) << m;
  EXPECT_NE(m.find("tocsin_collector_up{collector=\"test\",target=\"hung\"} 0"), std::string::npos) << m;
  EXPECT_NE(m.find("tocsin_collector_deadline_misses_total{collector=\"test\",target=\"hung\"}"),
            std::string::npos);

  // Down is logged once for the whole outage, not every cycle.
  std::string logged = log_text.str();
  std::size_t first = logged.find("test collector hung: down: deadline of 100ms exceeded");
  ASSERT_NE(first, std::string::npos) << logged;
  EXPECT_EQ(logged.find("test collector hung: down", first + 1), std::string::npos) << logged;

  // Recovery is logged once and reported up.
  hanging_ptr->hang = false;
  ASSERT_TRUE(testing::wait_until(
      [&] { return log_text.str().find("test collector hung: up") != std::string::npos; }, 10s));
  ASSERT_TRUE(testing::wait_until([&] { return latest("test_cycles_total", "hung") >= 1; }, 10s));
}

TEST_F(SchedulerTest, AFailingTargetIsCountedAndItsSeriesGoStale) {
  auto failing = std::make_unique<FailingCollector>("db");
  auto* ptr = failing.get();
  std::vector<CollectorSpec> specs;
  specs.push_back({std::move(failing), 30ms, 30ms});
  run();
  replace(std::move(specs));
  ASSERT_TRUE(testing::wait_until([&] { return ptr->cycles >= 3; }, 10s));
  ASSERT_TRUE(testing::wait_until(
      [&] { return metric_value("tocsin_collector_errors_total{collector=\"test\",target=\"db\"}") >= 3; },
      10s));
  EXPECT_EQ(latest("test_up", "db"), 0);
  std::string logged = log_text.str();
  EXPECT_NE(logged.find("error test collector db: down: connection refused"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("down", logged.find("down") + 1), std::string::npos)
      << "logged more than once: " << logged;
}

TEST_F(SchedulerTest, ReplaceKeepsSeriesOfKeptInstancesAndRetiresRemovedOnes) {
  auto make = [](const char* name) { return std::make_unique<CountingCollector>(name); };
  std::vector<CollectorSpec> first;
  first.push_back({make("a"), 20ms, 20ms});
  first.push_back({make("b"), 20ms, 20ms});
  run();
  replace(std::move(first));
  ASSERT_TRUE(testing::wait_until([&] { return latest("test_cycles_total", "b") >= 2; }, 10s));

  std::vector<CollectorSpec> second;
  auto a2 = make("a");
  auto* a2_ptr = a2.get();
  second.push_back({std::move(a2), 20ms, 20ms});
  replace(std::move(second));
  ASSERT_TRUE(testing::wait_until([&] { return a2_ptr->cycles >= 2; }, 10s));

  std::vector<store::Matcher> m{store::Matcher(MatchType::equal, "target", "b")};
  auto b = store.select(m, 0, std::numeric_limits<Timestamp>::max());
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(is_stale_nan(b.points(0).back().v));
  EXPECT_EQ(metrics().find("target=\"b\""), std::string::npos);
  EXPECT_EQ(scheduler.health().size(), 1u);
}

// Adds a second family from its fifth cycle on.
class GrowingCollector : public CountingCollector {
 public:
  using CountingCollector::CountingCollector;
  void collect(const CollectContext& ctx, store::Batch& out) override {
    CountingCollector::collect(ctx, out);
    if (cycles >= 5) out.add("test_extra", {{"target", "grow"}}, 1);
  }
};

// The commit listener hears every commit, right after it: the instance's writer, every metric name it
// has committed (the same vector while that set stays the same, a new one when it grows) and the
// commit's time, which is the samples' time.
TEST_F(SchedulerTest, TheCommitListenerGetsEachCommitsMetricNames) {
  struct Heard {
    std::string source;
    std::shared_ptr<const std::vector<std::string>> names;
    Timestamp t;
  };
  // Shared with the listener, which the scheduler may still call after this body returns (it stops in
  // the fixture's destructor): locals captured by reference would be gone by then.
  struct Listened {
    std::mutex mutex;
    std::vector<Heard> heard;
  };
  auto listened = std::make_shared<Listened>();
  std::mutex& mutex = listened->mutex;
  std::vector<Heard>& heard = listened->heard;
  scheduler.set_commit_listener([listened](const std::string& source,
                                           const std::shared_ptr<const std::vector<std::string>>& names,
                                           Timestamp t) {
    std::lock_guard lock(listened->mutex);
    listened->heard.push_back({source, names, t});
  });
  auto growing = std::make_unique<GrowingCollector>("grow");
  auto* ptr = growing.get();
  std::vector<CollectorSpec> specs;
  specs.push_back({std::move(growing), 20ms, 1s});
  run();
  replace(std::move(specs));
  ASSERT_TRUE(testing::wait_until([&] { return ptr->cycles >= 8; }, 10s));
  ASSERT_TRUE(testing::wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return heard.size() >= 7;
      },
      10s));
  std::lock_guard lock(mutex);
  const std::vector<std::string> first{"test_cycles_total"};
  const std::vector<std::string> grown{"test_cycles_total", "test_extra"};
  for (std::size_t i = 0; i < heard.size(); ++i) {
    EXPECT_EQ(heard[i].source, "collector/test/grow");
    ASSERT_TRUE(heard[i].names);
    EXPECT_EQ(*heard[i].names, i < 4 ? first : grown) << i;
    if (i > 0 && i != 4) {
      EXPECT_EQ(heard[i].names, heard[i - 1].names) << i << ": a new vector for the same names";
    }
    if (i > 0) {
      EXPECT_GT(heard[i].t, heard[i - 1].t);
    }
  }
  EXPECT_NE(heard[4].names, heard[3].names);
  // The commit's time is its samples' time.
  std::vector<store::Matcher> m{store::Matcher(MatchType::equal, "__name__", "test_cycles_total")};
  auto set = store.select(m, 0, std::numeric_limits<Timestamp>::max());
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set.points(0).front().t, heard[0].t);
}

// Fails its first cycle (a target down at start), then reports series that already exist in the
// store, as after a snapshot restore.
class DownAtFirstCollector : public CountingCollector {
 public:
  using CountingCollector::CountingCollector;
  void collect(const CollectContext& ctx, store::Batch& out) override {
    if (++attempts == 1) throw std::runtime_error("connection refused");
    CountingCollector::collect(ctx, out);
    out.add("test_extra", {{"target", name()}}, 1);
  }
  std::atomic<int> attempts{0};
};

// The listener's names come from every batch that could hold a name not seen yet, not only from those
// that created series: a collector down at start whose series were restored must still name them once
// it is up (groups selecting them would otherwise never be triggered).
TEST_F(SchedulerTest, TheCommitListenerNamesRestoredSeriesAfterADownStart) {
  const store::WriterId w = store.register_writer("collector/test/flaky", 20ms);
  store::Batch restored;
  restored.add("test_cycles_total", {{"target", "flaky"}}, 1);
  restored.add("test_extra", {{"target", "flaky"}}, 1);
  store.commit(w, restored, 1);
  // Shared with the listener, which outlives this body (see TheCommitListenerGetsEachCommitsMetricNames).
  struct Listened {
    std::mutex mutex;
    std::shared_ptr<const std::vector<std::string>> last;
  };
  auto listened = std::make_shared<Listened>();
  std::mutex& mutex = listened->mutex;
  std::shared_ptr<const std::vector<std::string>>& last = listened->last;
  scheduler.set_commit_listener([listened](const std::string&,
                                           const std::shared_ptr<const std::vector<std::string>>& names,
                                           Timestamp) {
    std::lock_guard lock(listened->mutex);
    listened->last = names;
  });
  auto flaky = std::make_unique<DownAtFirstCollector>("flaky");
  auto* ptr = flaky.get();
  std::vector<CollectorSpec> specs;
  specs.push_back({std::move(flaky), 20ms, 1s});
  run();
  replace(std::move(specs));
  ASSERT_TRUE(testing::wait_until([&] { return ptr->cycles >= 3; }, 10s));
  const std::vector<std::string> all{"test_cycles_total", "test_extra", "test_up"};
  ASSERT_TRUE(testing::wait_until(
      [&] {
        std::lock_guard lock(mutex);
        return last && *last == all;
      },
      10s));
}

TEST(SchedulerOnce, CollectsEveryInstanceOnceAndReportsFailure) {
  SystemClock clock;
  store::Store store(store::StoreOptions{1h}, clock);
  auto log =
      std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cerr));
  std::vector<CollectorSpec> specs;
  specs.push_back({std::make_unique<CountingCollector>("a"), 15s, 15s});
  EXPECT_TRUE(Scheduler::run_once(specs, store, clock, *log));
  specs.push_back({std::make_unique<FailingCollector>("b"), 15s, 15s});
  EXPECT_FALSE(Scheduler::run_once(specs, store, clock, *log));
  EXPECT_EQ(store.stats().series, 2u);  // test_cycles_total{a} and test_up{b}
}

// A shared target whose lock answers what the test says (the real locks: tests/integration/fleet_test).
class ClaimingCollector : public CountingCollector {
 public:
  using CountingCollector::CountingCollector;
  bool shared() const override { return true; }
  ClaimResult claim(const CollectContext& ctx) override {
    last_interval = ctx.interval;
    ++claims;
    return {answer.load(), answer.load() == ClaimAnswer::unreachable ? "connection refused" : ""};
  }
  std::atomic<ClaimAnswer> answer{ClaimAnswer::held};
  std::atomic<int> claims{0};
  std::atomic<Duration> last_interval{Duration{0}};
};

// The holder collects; a standby commits nothing (so the holder's old series go stale) and says so;
// the holder that cannot reach its target reports it down, a standby stays silent.
TEST_F(SchedulerTest, ASharedTargetIsCollectedOnlyWhileItsClaimIsHeld) {
  auto shared = std::make_unique<ClaimingCollector>("db");
  auto* ptr = shared.get();
  std::vector<CollectorSpec> specs;
  specs.push_back({std::move(shared), 30ms, 30ms});
  run();
  replace(std::move(specs));
  const std::string claimed = "tocsin_target_claimed{collector=\"test\",target=\"db\"}";
  ASSERT_TRUE(testing::wait_until([&] { return latest("test_cycles_total", "db") >= 2; }, 10s));
  EXPECT_TRUE(testing::wait_until([&] { return metric_value(claimed) == 1; }, 10s)) << metrics();
  EXPECT_EQ(ptr->last_interval.load(), Duration{30});
  EXPECT_EQ(scheduler.health().at(0).claimed, std::optional<bool>(true));

  ptr->answer = ClaimAnswer::taken;
  ASSERT_TRUE(testing::wait_until([&] { return is_stale_nan(latest("test_cycles_total", "db")); }, 10s));
  EXPECT_TRUE(testing::wait_until([&] { return metric_value(claimed) == 0; }, 10s)) << metrics();
  EXPECT_EQ(scheduler.health().at(0).claimed, std::optional<bool>(false));
  const int cycles = ptr->cycles;
  const int claims = ptr->claims;
  ASSERT_TRUE(testing::wait_until([&] { return ptr->claims >= claims + 3; }, 10s));
  EXPECT_EQ(ptr->cycles, cycles) << "a standby must not collect";
  // A standby that cannot reach the target reports nothing of it: no test_up 0.
  ptr->answer = ClaimAnswer::unreachable;
  ASSERT_TRUE(testing::wait_until([&] { return ptr->claims >= claims + 6; }, 10s));
  EXPECT_EQ(latest("test_up", "db"), -1);
  EXPECT_EQ(ptr->cycles, cycles);

  // Claimed again, then unreachable: the holder reports its target down.
  ptr->answer = ClaimAnswer::held;
  ASSERT_TRUE(testing::wait_until([&] { return latest("test_cycles_total", "db") > cycles; }, 10s));
  ptr->answer = ClaimAnswer::unreachable;
  ASSERT_TRUE(testing::wait_until([&] { return latest("test_up", "db") == 0; }, 10s));
  EXPECT_EQ(metric_value(claimed), 1);
  const std::string logged = log_text.str();
  EXPECT_NE(logged.find("test collector db: holds the shared target's claim; collecting it"),
            std::string::npos)
      << logged;
  EXPECT_NE(logged.find("test collector db: standing by: another daemon holds the shared target's claim"),
            std::string::npos)
      << logged;
}

TEST(ClaimState, HolderAndStandbyFollowTheLocksAnswers) {
  ClaimState state;
  ClaimStep s = state.step(ClaimAnswer::unreachable);
  EXPECT_EQ(s.action, ClaimStep::Action::stand_by);  // never held: silent
  EXPECT_TRUE(s.changed);                            // the first answer is news
  s = state.step(ClaimAnswer::held);
  EXPECT_EQ(s.action, ClaimStep::Action::collect);
  EXPECT_TRUE(s.changed);
  s = state.step(ClaimAnswer::held);
  EXPECT_FALSE(s.changed);
  s = state.step(ClaimAnswer::unreachable);
  EXPECT_EQ(s.action, ClaimStep::Action::report_down);  // the holder pages for its target
  EXPECT_EQ(s.role, ClaimRole::holder);
  EXPECT_FALSE(s.changed);
  s = state.step(ClaimAnswer::taken);
  EXPECT_EQ(s.action, ClaimStep::Action::stand_by);
  EXPECT_EQ(s.role, ClaimRole::standby);
  EXPECT_TRUE(s.changed);
  s = state.step(ClaimAnswer::unreachable);
  EXPECT_EQ(s.action, ClaimStep::Action::stand_by);
}

TEST(ClaimState, OwnerAndLockKeyAreStable) {
  EXPECT_EQ(&claim_owner(), &claim_owner());
  EXPECT_LE(claim_owner().size(), 40u);
  EXPECT_EQ(advisory_lock_key("orders-db"), advisory_lock_key("orders-db"));
  EXPECT_NE(advisory_lock_key("orders-db"), advisory_lock_key("orders-db2"));
}

TEST_F(SchedulerTest, ASampleLimitKeepsTheSeriesAnInstanceHadCountsTheRestAndSaysSoOnce) {
  auto growing = std::make_unique<WideningCollector>("big");
  auto* ptr = growing.get();
  std::vector<CollectorSpec> specs;
  specs.push_back({std::move(growing), 30ms, 30ms, Labels{}, 8});
  run();
  replace(std::move(specs));
  ASSERT_TRUE(testing::wait_until([&] { return ptr->cycles >= 5; }, 10s));
  const std::string dropped =
      "tocsin_collector_samples_dropped_total{collector=\"test\",reason=\"sample_limit\","
      "target=\"big\"}";
  // Cycles 1..5 produced 10..14 series, 2..6 of them over the limit: at least 20 dropped.
  ASSERT_TRUE(testing::wait_until([&] { return metric_value(dropped) >= 20; }, 10s)) << metrics();
  // The store holds the first cycle's first eight, never a new one (each cycle adds one at the end).
  std::vector<store::Matcher> m{store::Matcher(MatchType::equal, "__name__", "test_series")};
  auto set = store.select(m, 0, std::numeric_limits<Timestamp>::max());
  std::set<std::string> held;
  for (std::size_t k = 0; k < set.size(); ++k) held.insert(std::string(set.labels(k).get("i")));
  EXPECT_EQ(held, (std::set<std::string>{"0", "1", "2", "3", "4", "5", "6", "7"}));
  std::string logged = log_text.str();
  const std::string line = "test collector big: a cycle produced 10 samples, more than its sample_limit of 8";
  ASSERT_NE(logged.find(line), std::string::npos) << logged;
  EXPECT_EQ(logged.find("more than its sample_limit", logged.find(line) + line.size()), std::string::npos)
      << "logged more than once: " << logged;
}

}  // namespace
}  // namespace tocsin::collectors
