// One evaluation round of 1,000 typical rule expressions (rate over 5m, ratios with on(), sum by,
// histogram_quantile) over a store of 100,000 series holding 1 h of 15 s samples. Also counts heap
// allocations per round against the samples the round reads, to show there is no allocation per
// sample on the hot path. The figures go to docs/performance.md.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "tocsin/http/query_api.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/promql/parser.hpp"
#include "tocsin/store/store.hpp"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

// Counting replacements of the global allocation functions (malloc-backed on both sides).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace tocsin;
using namespace std::chrono_literals;

constexpr int kJobs = 50;
constexpr int kInstances = 10;
constexpr Timestamp kStep = 15'000;
constexpr int kPoints = 240;  // 1 h

// 100,000 series: 20,000 request counters (job x instance x code x handler), 6,000 histogram
// buckets (job x instance x le), 74,000 gauges/counters over 148 more metric names.
store::Batch make_batch(int step) {
  store::Batch b;
  const double t = step;
  static const char* kCodes[] = {"200", "201", "404", "500"};
  static const char* kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                              "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
  for (int j = 0; j < kJobs; ++j) {
    const std::string job = "job" + std::to_string(j);
    for (int i = 0; i < kInstances; ++i) {
      const std::string instance = "10.0." + std::to_string(j) + "." + std::to_string(i) + ":8080";
      for (int c = 0; c < 4; ++c) {
        for (int h = 0; h < 10; ++h) {
          b.add("http_requests_total",
                {{"job", job},
                 {"instance", instance},
                 {"code", kCodes[c]},
                 {"handler", "/h" + std::to_string(h)}},
                t * (10 + c + h) + (c == 3 ? t * 0.1 : 0));
        }
      }
      for (int l = 0; l < 12; ++l) {
        b.add("http_request_duration_seconds_bucket", {{"job", job}, {"instance", instance}, {"le", kLe[l]}},
              t * (l + 1) * 10);
      }
    }
  }
  for (int m = 0; m < 148; ++m) {
    const std::string name = "metric_" + std::to_string(m);
    for (int s = 0; s < 500; ++s) {
      b.add(name, {{"job", "job" + std::to_string(s % kJobs)}, {"instance", "i" + std::to_string(s)}},
            m % 2 ? t * s : (s % 7) + std::sin(t));
    }
  }
  return b;
}

std::vector<promql::ExprPtr> rule_expressions(int minutes) {
  const std::string w = "[" + std::to_string(minutes) + "m]";
  std::vector<std::string> text;
  for (int k = 0; k < 250; ++k) {
    const std::string job = "job" + std::to_string(k % kJobs);
    text.push_back("sum by (job, code) (rate(http_requests_total{job=\"" + job + "\"}" + w + "))");
    text.push_back("sum by (job) (rate(http_requests_total{job=\"" + job + "\",code=~\"5..\"}" + w +
                   ")) / on(job) "
                   "sum by (job) (rate(http_requests_total{job=\"" +
                   job + "\"}" + w + "))");
    text.push_back(
        "histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{job=\"" + job +
        "\"}" + w + ")))");
    text.push_back(k % 2 ? "rate(metric_" + std::to_string(k % 148) + w + ") > 1"
                         : "avg_over_time(metric_" + std::to_string(k % 148) + w + ") > 3");
  }
  std::vector<promql::ExprPtr> out;
  for (const auto& t : text) out.push_back(promql::parse(t));
  return out;
}

struct World {
  ManualClock clock{0};
  store::Store store{store::StoreOptions{1h}, clock};
  World() {
    const store::WriterId w = store.register_writer("bench", 15s);
    for (int s = 1; s <= kPoints; ++s) store.commit(w, make_batch(s), s * kStep);
  }
};

World& world() {
  static World w;
  return w;
}

void BM_RuleRound1000Expressions(benchmark::State& state) {
  World& w = world();
  const int minutes = static_cast<int>(state.range(0));
  const auto exprs = rule_expressions(minutes);
  promql::Engine engine;
  const Timestamp t = kPoints * kStep;
  std::size_t result_series = 0;
  std::uint64_t allocations = 0;
  for (auto _ : state) {
    const std::uint64_t before = g_allocations.load();
    result_series = 0;
    for (const auto& e : exprs) {
      promql::Value v = engine.instant(w.store, *e, t);
      result_series += std::get<promql::Vector>(v).size();
    }
    allocations = g_allocations.load() - before;
  }
  // Points a round reads: every selected series' window (4 points a minute). Allocations stay the
  // same whether windows hold 20 or 240 points: they are per series, not per sample.
  const double samples_read = (250.0 * 400 + 250.0 * 480 + 250.0 * 120 + 250.0 * 500) * 4 * minutes;
  state.counters["expressions"] = static_cast<double>(exprs.size());
  state.counters["result_series"] = static_cast<double>(result_series);
  state.counters["allocs_per_round"] = static_cast<double>(allocations);
  state.counters["samples_read"] = samples_read;
  state.counters["allocs_per_sample"] = static_cast<double>(allocations) / samples_read;
}
BENCHMARK(BM_RuleRound1000Expressions)->Arg(5)->Arg(60)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_ParseTypicalExpression(benchmark::State& state) {
  for (auto _ : state) {
    auto e = promql::parse(
        "sum by (job) (rate(http_requests_total{job=\"api\",code=~\"5..\"}[5m])) / on(job) "
        "sum by (job) (rate(http_requests_total{job=\"api\"}[5m])) > 0.05");
    benchmark::DoNotOptimize(e);
  }
}
BENCHMARK(BM_ParseTypicalExpression)->Unit(benchmark::kMicrosecond);

// A Grafana panel's range query through the API: 2,500 series (5 metrics x 500 instances) over the last
// hour at a 15 s step, 602,500 points, answered as JSON text. Reports the reply's size and the
// allocations per request.
void BM_RangeQueryReply(benchmark::State& state) {
  World& w = world();
  const ManualClock clock{kPoints * kStep};
  http::Router router;
  http::add_query_routes(router, w.store, clock, [] { return promql::EngineOptions{}; });
  http::Request req;
  req.method = "GET";
  req.path = req.target = "/api/v1/query_range";
  req.params = {{"query", "{__name__=~\"metric_(1|3|5|7|9)\"}"},
                {"start", std::to_string((kPoints * kStep - 3'600'000) / 1000)},
                {"end", std::to_string(kPoints * kStep / 1000)},
                {"step", "15"}};
  std::size_t bytes = 0;
  std::uint64_t allocations = 0;
  for (auto _ : state) {
    const std::uint64_t before = g_allocations.load();
    http::Response r = router.handle(req);
    allocations = g_allocations.load() - before;
    if (r.status != 200) state.SkipWithError(r.body.c_str());
    bytes = r.body.size();
  }
  state.counters["reply_bytes"] = static_cast<double>(bytes);
  state.counters["allocs"] = static_cast<double>(allocations);
}
BENCHMARK(BM_RangeQueryReply)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
