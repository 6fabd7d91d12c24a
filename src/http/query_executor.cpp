#include "tocsin/http/query_executor.hpp"

#include <string>

namespace tocsin::http {

namespace {

prometheus::MetricFamily query_executor_family(std::string name, std::string help,
                                               prometheus::MetricType type, double value) {
  prometheus::MetricFamily f{std::move(name), std::move(help), type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

class QueryExecutorMetrics final : public prometheus::Collectable {
 public:
  explicit QueryExecutorMetrics(const QueryExecutor& executor) : executor_(executor) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    const QueryExecutor::Stats s = executor_.stats();
    const QueryExecutorOptions& o = executor_.options();
    return {
        query_executor_family("tocsin_query_concurrency_max",
                              "Queries that evaluate at once (query.max_concurrency).", MetricType::Gauge,
                              static_cast<double>(o.max_concurrency)),
        query_executor_family("tocsin_query_running", "Queries evaluating now.", MetricType::Gauge,
                              static_cast<double>(s.running)),
        query_executor_family("tocsin_query_queue_capacity",
                              "Queries that may wait for a thread (query.max_queued).", MetricType::Gauge,
                              static_cast<double>(o.max_queued)),
        query_executor_family("tocsin_query_queue_length", "Queries waiting for a thread.", MetricType::Gauge,
                              static_cast<double>(s.queued)),
        query_executor_family("tocsin_query_rejected_total",
                              "Query API requests answered 503 without running: queue full, waited longer "
                              "than query.timeout, or stopping.",
                              MetricType::Counter, static_cast<double>(s.rejected)),
        query_executor_family("tocsin_query_completed_total", "Query API requests run to their answer.",
                              MetricType::Counter, static_cast<double>(s.completed)),
    };
  }

 private:
  const QueryExecutor& executor_;
};

Response unavailable(const std::string& message) {
  Response r = Response::api_error(503, "unavailable", message);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace

QueryExecutor::QueryExecutor(QueryExecutorOptions options) : options_(options) {
  const std::size_t n = std::max<std::size_t>(1, options_.max_concurrency);
  threads_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { work(); });
}

QueryExecutor::~QueryExecutor() {
  stop();
  for (std::thread& t : threads_) t.join();
}

void QueryExecutor::stop() {
  std::deque<Item> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
    rejected_ += dropped.size();
  }
  wake_.notify_all();
  for (Item& item : dropped) item.task(unavailable("tocsin is stopping"));
}

std::optional<Response> QueryExecutor::submit(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ++rejected_;
      return unavailable("tocsin is stopping");
    }
    // A free thread takes the query at once; otherwise it waits, up to max_queued of them.
    const std::size_t threads = threads_.size();
    if (running_ + queue_.size() >= threads + options_.max_queued) {
      ++rejected_;
      return unavailable("too many queries: " + std::to_string(running_) + " evaluating and " +
                         std::to_string(queue_.size()) +
                         " waiting (query.max_concurrency, query.max_queued); try again later");
    }
    queue_.push_back(Item{std::move(task), std::chrono::steady_clock::now()});
  }
  wake_.notify_one();
  return std::nullopt;
}

void QueryExecutor::work() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      item = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    const bool expired = std::chrono::steady_clock::now() - item.submitted > options_.max_wait;
    if (expired) {
      item.task(Response::api_error(503, "timeout", "query timed out waiting for a free query thread"));
    } else {
      item.task(std::nullopt);
    }
    std::lock_guard lock(mutex_);
    --running_;
    ++(expired ? rejected_ : completed_);
  }
}

QueryExecutor::Stats QueryExecutor::stats() const {
  std::lock_guard lock(mutex_);
  return Stats{running_, queue_.size(), rejected_, completed_};
}

std::shared_ptr<prometheus::Collectable> QueryExecutor::metrics() const {
  return std::make_shared<QueryExecutorMetrics>(*this);
}

}  // namespace tocsin::http
