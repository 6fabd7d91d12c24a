#pragma once
// The query API's own threads (docs/reliability.md, Queries): a fixed number of queries evaluate at
// once (query.max_concurrency, Prometheus's --query.max-concurrency), a bounded number wait for a
// thread (query.max_queued), and a query arriving while the queue is full gets 503 at once. None of
// it runs on the worker pool, so an expensive query cannot take the threads that collect, evaluate
// rules or render /metrics.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tocsin/http/router.hpp"

namespace tocsin::http {

struct QueryExecutorOptions {
  std::size_t max_concurrency = 4;  // threads, each evaluating one query at a time
  std::size_t max_queued = 16;      // queries waiting for a thread; one more is refused with 503
  // A query that waited longer than this for a thread is answered 503 (timeout) without running:
  // its client has likely given up (query.timeout).
  std::chrono::milliseconds max_wait = std::chrono::minutes(2);
};

class QueryExecutor final : public RouteExecutor {
 public:
  explicit QueryExecutor(QueryExecutorOptions options);
  // Cancels the queries still running (cancelled() turns true) and answers the queued ones with 503;
  // joins the threads.
  ~QueryExecutor() override;
  QueryExecutor(const QueryExecutor&) = delete;
  QueryExecutor& operator=(const QueryExecutor&) = delete;

  std::optional<Response> submit(Task task) override;
  // Cancels running queries and refuses new ones (idempotent); the destructor calls it.
  void stop();
  // Set once stopping: a query's evaluation checks it with its deadline (EngineOptions::cancelled).
  const std::atomic<bool>& cancelled() const { return stopping_; }
  const QueryExecutorOptions& options() const { return options_; }

  struct Stats {
    std::size_t running = 0;
    std::size_t queued = 0;
    std::uint64_t rejected = 0;  // refused with 503: queue full, waited too long, stopping
    std::uint64_t completed = 0;
  };
  Stats stats() const;

  // tocsin_query_* gauges and counters, read from the executor on Collect().
  std::shared_ptr<prometheus::Collectable> metrics() const;

 private:
  struct Item {
    Task task;
    std::chrono::steady_clock::time_point submitted;
  };
  void work();

  const QueryExecutorOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  std::size_t running_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t completed_ = 0;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace tocsin::http
