#include "tocsin/remote_write/remote_write.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

#include "remote_write/disk_queue.hpp"
#include "remote_write/encoder.hpp"
#include "remote_write/relabel_rules.hpp"
#include "remote_write/retry.hpp"
#include "tocsin/net/http_client.hpp"
#include "tocsin/net/retry_after.hpp"

namespace tocsin::remote_write {

using Clock = std::chrono::steady_clock;
// One commit's points, shared by the endpoints' inboxes.
struct Commit {
  store::WriterId writer;
  std::vector<store::AppendedPoint> points;
};
using PointsRef = std::shared_ptr<const Commit>;

struct RemoteWrite::Families {
  explicit Families(prometheus::Registry& r)
      : samples(counter(r, "prometheus_remote_storage_samples_total",
                        "Total number of samples sent to remote storage.")),
        failed(counter(
            r, "prometheus_remote_storage_samples_failed_total",
            "Total number of samples which failed on send to remote storage, non-recoverable errors.")),
        retried(
            counter(r, "prometheus_remote_storage_samples_retried_total",
                    "Total number of samples which failed on send to remote storage but were retried because "
                    "the send error was recoverable.")),
        dropped(
            counter(r, "prometheus_remote_storage_samples_dropped_total",
                    "Total number of samples which were dropped after being read from the WAL before being "
                    "sent via remote write, either via relabelling or unintentionally because of an unknown "
                    "reference ID.")),
        bytes(
            counter(r, "prometheus_remote_storage_bytes_total",
                    "The total number of bytes of data (not metadata) sent by the queue after compression.")),
        pending(
            gauge(r, "prometheus_remote_storage_samples_pending",
                  "The number of samples pending in the queues shards to be sent to the remote storage.")),
        highest_sent(
            gauge(r, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
                  "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, "
                  "in seconds since epoch.")),
        shards(gauge(r, "prometheus_remote_storage_shards",
                     "The number of shards used for parallel sending to the remote storage.")),
        shards_max(gauge(r, "prometheus_remote_storage_shards_max",
                         "The maximum number of shards that the queue is allowed to run.")),
        shards_min(gauge(r, "prometheus_remote_storage_shards_min",
                         "The minimum number of shards that the queue is allowed to run.")),
        shards_desired(
            gauge(r, "prometheus_remote_storage_shards_desired",
                  "The number of shards that the queues shard calculation wants to run based on the "
                  "rate of samples in vs. samples out.")),
        shard_capacity(
            gauge(r, "prometheus_remote_storage_shard_capacity",
                  "The capacity of each shard of the queue used for parallel sending to the remote "
                  "storage.")),
        max_samples_per_send(
            gauge(r, "prometheus_remote_storage_max_samples_per_send",
                  "The maximum number of samples to be sent, in a single request, to the remote "
                  "storage.")),
        duration(prometheus::BuildHistogram()
                     .Name("prometheus_remote_storage_sent_batch_duration_seconds")
                     .Help("Duration of send calls to the remote storage.")
                     .Register(r)),
        disk_bytes(gauge(r, "tocsin_remote_storage_disk_queue_bytes",
                         "Bytes of requests waiting in the remote-write queue's files in state_dir.")),
        disk_max_bytes(gauge(r, "tocsin_remote_storage_disk_queue_max_bytes",
                             "The bound of the remote-write queue's files (max_disk_bytes).")),
        disk_requests(gauge(r, "tocsin_remote_storage_disk_queue_requests",
                            "Requests waiting in the remote-write queue's files in state_dir.")),
        disk_dropped(
            counter(r, "tocsin_remote_storage_queue_dropped_samples_total",
                    "Samples dropped because the remote-write queue was at its bound (max_disk_bytes, "
                    "or capacity times max_shards in memory); also counted in "
                    "prometheus_remote_storage_samples_dropped_total.")),
        corrupt(counter(r, "tocsin_remote_storage_disk_queue_corrupt_files_total",
                        "Remote-write queue files that could not be read back and were moved aside.")),
        highest_in(
            gauge(r, "prometheus_remote_storage_highest_timestamp_in_seconds",
                  "Highest timestamp that has come into the remote storage via the Appender interface, in "
                  "seconds since epoch.")
                .Add({})) {}

  static prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& r, const char* name,
                                                          const char* help) {
    return prometheus::BuildCounter().Name(name).Help(help).Register(r);
  }
  static prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& r, const char* name,
                                                      const char* help) {
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
  }

  prometheus::Family<prometheus::Counter>& samples;
  prometheus::Family<prometheus::Counter>& failed;
  prometheus::Family<prometheus::Counter>& retried;
  prometheus::Family<prometheus::Counter>& dropped;
  prometheus::Family<prometheus::Counter>& bytes;
  prometheus::Family<prometheus::Gauge>& pending;
  prometheus::Family<prometheus::Gauge>& highest_sent;
  prometheus::Family<prometheus::Gauge>& shards;
  prometheus::Family<prometheus::Gauge>& shards_max;
  prometheus::Family<prometheus::Gauge>& shards_min;
  prometheus::Family<prometheus::Gauge>& shards_desired;
  prometheus::Family<prometheus::Gauge>& shard_capacity;
  prometheus::Family<prometheus::Gauge>& max_samples_per_send;
  prometheus::Family<prometheus::Histogram>& duration;
  prometheus::Family<prometheus::Gauge>& disk_bytes;
  prometheus::Family<prometheus::Gauge>& disk_max_bytes;
  prometheus::Family<prometheus::Gauge>& disk_requests;
  prometheus::Family<prometheus::Counter>& disk_dropped;
  prometheus::Family<prometheus::Counter>& corrupt;
  prometheus::Gauge& highest_in;
  std::atomic<Timestamp> highest_in_ms{0};
};

namespace {

std::string base64(std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out.push_back(kTable[(n >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += {kTable[(n >> 18) & 63], kTable[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {kTable[(n >> 18) & 63], kTable[(n >> 12) & 63], kTable[(n >> 6) & 63], '='};
  }
  return out;
}

}  // namespace

class RemoteWrite::Endpoint {
 public:
  Endpoint(const EndpointConfig& config, const Labels& external, const std::filesystem::path& state_dir,
           const std::string& user_agent, Families& families, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        log_(std::move(log)),
        families_(families),
        resolver_(external, config.write_relabel_configs),
        client_(config.tls, config.client_certificate),
        inbox_bound_(config.queue_config.capacity *
                     static_cast<std::size_t>(config.queue_config.max_shards)) {
    if (!state_dir.empty()) {
      disk_.emplace(state_dir / "remote_write" / config.name, config.max_disk_bytes, log_);
    }
    const prometheus::Labels labels{{"remote_name", config.name}, {"url", config.url}};
    samples_ = &families.samples.Add(labels);
    failed_ = &families.failed.Add(labels);
    retried_ = &families.retried.Add(labels);
    dropped_ = &families.dropped.Add(labels);
    bytes_ = &families.bytes.Add(labels);
    pending_ = &families.pending.Add(labels);
    highest_sent_ = &families.highest_sent.Add(labels);
    families.shards.Add(labels).Set(1);
    families.shards_max.Add(labels).Set(config.queue_config.max_shards);
    families.shards_min.Add(labels).Set(config.queue_config.min_shards);
    families.shards_desired.Add(labels).Set(1);
    families.shard_capacity.Add(labels).Set(static_cast<double>(config.queue_config.capacity));
    families.max_samples_per_send.Add(labels).Set(
        static_cast<double>(config.queue_config.max_samples_per_send));
    duration_ = &families.duration.Add(
        labels, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                                        10, 25, 60, 120, 300});
    disk_bytes_ = &families.disk_bytes.Add(labels);
    families.disk_max_bytes.Add(labels).Set(disk_ ? static_cast<double>(config.max_disk_bytes) : 0);
    disk_requests_ = &families.disk_requests.Add(labels);
    disk_dropped_ = &families.disk_dropped.Add(labels);
    corrupt_ = &families.corrupt.Add(labels);

    headers_ = {{"Content-Encoding", "snappy"},
                {"X-Prometheus-Remote-Write-Version", "0.1.0"},
                {"User-Agent", user_agent}};
    for (const auto& [name, value] : config.headers) headers_.emplace_back(name, value);
    if (config.basic_auth) {
      headers_.emplace_back("Authorization", "Basic " + base64(config.basic_auth_username + ":" +
                                                               config.basic_auth_password.reveal()));
    } else if (!config.authorization_credentials.empty()) {
      headers_.emplace_back("Authorization",
                            config.authorization_type + " " + config.authorization_credentials.reveal());
    }
  }

  ~Endpoint() { stop(); }

  std::string start() {
    if (disk_) {
      try {
        next_seq_ = disk_->open();
      } catch (const std::exception& e) {
        return "remote_write " + config_.name + ": cannot open its queue: " + e.what();
      }
      if (!disk_->empty()) {
        log_->info(
            "remote_write {}: {} request(s), {} sample(s) queued on disk from the last run; sending them "
            "first",
            config_.name, disk_->files(), disk_->samples());
      }
      update_disk_metrics();
    }
    batcher_ = std::thread([this] { batch_loop(); });
    sender_ = std::thread([this] { send_loop(); });
    return "";
  }

  void stop() {
    if (!batcher_.joinable()) return;
    {
      std::lock_guard lock(inbox_mutex_);
      stopping_ = true;
    }
    inbox_cv_.notify_all();
    batcher_.join();
    {
      std::lock_guard lock(queue_mutex_);
      sender_stop_ = true;
    }
    cancel_.cancel();
    queue_cv_.notify_all();
    sender_.join();
    std::lock_guard lock(queue_mutex_);
    spill_memory();
    update_pending_locked();
  }

  // Under the store's commit lock: one push.
  void enqueue(const PointsRef& points) {
    {
      std::lock_guard lock(inbox_mutex_);
      const std::size_t n = points->points.size();
      if (inbox_samples_ + n > inbox_bound_) {
        // The batcher is behind by capacity * max_shards samples: refuse rather than grow.
        dropped_->Increment(static_cast<double>(n));
        disk_dropped_->Increment(static_cast<double>(n));
        return;
      }
      inbox_.push_back(points);
      inbox_samples_ += n;
    }
    inbox_cv_.notify_one();
  }

 private:
  void batch_loop() {
    std::vector<WireSample> batch;
    batch.reserve(config_.queue_config.max_samples_per_send);
    Clock::time_point first{};
    std::vector<PointsRef> taken;
    for (;;) {
      bool stop = false;
      {
        std::unique_lock lock(inbox_mutex_);
        auto ready = [&] { return stopping_ || !inbox_.empty(); };
        if (batch.empty()) {
          inbox_cv_.wait(lock, ready);
        } else {
          inbox_cv_.wait_until(lock, first + config_.queue_config.batch_send_deadline, ready);
        }
        taken.swap(inbox_);
        batch_samples_ += inbox_samples_;
        inbox_samples_ = 0;
        stop = stopping_;
      }
      Timestamp highest = 0;
      for (const PointsRef& commit : taken) {
        for (std::size_t k = 0; k < commit->points.size(); ++k) {
          const store::AppendedPoint& p = commit->points[k];
          highest = std::max(highest, p.t);
          const SeriesRef& series = resolver_.resolve(commit->writer, k, p.labels);
          if (series == nullptr) {
            dropped_->Increment();
            --batch_samples_;
            continue;
          }
          if (batch.empty()) first = Clock::now();
          batch.push_back({series, p.t, p.value});
          if (batch.size() >= config_.queue_config.max_samples_per_send) flush(batch);
        }
      }
      taken.clear();
      if (highest > 0) note_highest_in(highest);
      if (!batch.empty() && (stop || Clock::now() >= first + config_.queue_config.batch_send_deadline)) {
        flush(batch);
      }
      update_pending();
      if (stop) return;
    }
  }

  void note_highest_in(Timestamp t) {
    Timestamp seen = families_.highest_in_ms.load(std::memory_order_relaxed);
    while (t > seen && !families_.highest_in_ms.compare_exchange_weak(seen, t)) {
    }
    if (t > seen) families_.highest_in.Set(static_cast<double>(t) / 1000.0);
  }

  void flush(std::vector<WireSample>& batch) {
    Request r;
    r.samples = static_cast<std::uint32_t>(batch.size());
    for (const WireSample& s : batch) r.highest = std::max(r.highest, s.t);
    r.body = encoder_.encode(batch);
    batch.clear();
    std::lock_guard lock(queue_mutex_);
    r.seq = next_seq_++;
    batch_samples_ -= r.samples;
    if (!spill_ && memory_samples_ + r.samples <= config_.queue_config.capacity) {
      memory_samples_ += r.samples;
      memory_.emplace(r.seq, std::move(r));
    } else if (disk_) {
      to_disk(r);
    } else {
      // No state_dir: memory only, bounded by capacity * max_shards; the oldest go first.
      memory_samples_ += r.samples;
      memory_.emplace(r.seq, std::move(r));
      while (memory_samples_ > inbox_bound_ && memory_.size() > 1) {
        count_queue_drop(memory_.begin()->second.samples);
        memory_samples_ -= memory_.begin()->second.samples;
        memory_.erase(memory_.begin());
      }
    }
    update_pending_locked();
    queue_cv_.notify_one();
  }

  // Under queue_mutex_.
  void to_disk(Request& r) {
    try {
      count_queue_drop(disk_->push(r));
      r.on_disk = true;
    } catch (const std::exception& e) {
      log_->error("remote_write {}: {}; the request's {} sample(s) are dropped", config_.name, e.what(),
                  r.samples);
      count_queue_drop(r.samples);
    }
    update_disk_metrics();
  }

  // Under queue_mutex_: every request waiting in memory goes to the disk queue (their order is their seq).
  void spill_memory() {
    if (!disk_) return;
    for (auto& [seq, r] : memory_) to_disk(r);
    memory_.clear();
    memory_samples_ = 0;
  }

  void count_queue_drop(std::uint64_t samples) {
    if (samples == 0) return;
    dropped_->Increment(static_cast<double>(samples));
    disk_dropped_->Increment(static_cast<double>(samples));
  }

  void update_disk_metrics() {
    if (!disk_) return;
    disk_bytes_->Set(static_cast<double>(disk_->bytes()));
    disk_requests_->Set(static_cast<double>(disk_->files()));
    const auto corrupt = static_cast<double>(disk_->corrupt_files());
    if (corrupt > corrupt_->Value()) corrupt_->Increment(corrupt - corrupt_->Value());
  }

  void update_pending_locked() {
    queued_samples_ = memory_samples_ + inflight_samples_ + (disk_ ? disk_->samples() : 0);
    update_pending();
  }
  void update_pending() {
    std::size_t inbox = 0;
    {
      std::lock_guard lock(inbox_mutex_);
      inbox = inbox_samples_;
    }
    pending_->Set(static_cast<double>(inbox + batch_samples_.load() + queued_samples_.load()));
  }

  void send_loop() {
    for (;;) {
      Request request;
      {
        std::unique_lock lock(queue_mutex_);
        queue_cv_.wait(lock, [&] { return sender_stop_ || !memory_.empty() || (disk_ && !disk_->empty()); });
        if (sender_stop_) return;
        if (disk_ && !disk_->empty() && (memory_.empty() || disk_->front_seq() < memory_.begin()->first)) {
          auto read = disk_->read_front();
          update_disk_metrics();
          if (!read) continue;
          request = std::move(*read);
        } else {
          request = std::move(memory_.begin()->second);
          memory_.erase(memory_.begin());
          memory_samples_ -= request.samples;
        }
        // A request read from disk is counted there until it is removed.
        inflight_samples_ = request.on_disk ? 0 : request.samples;
        update_pending_locked();
      }
      deliver(request);
    }
  }

  void deliver(Request& request) {
    net::HttpRequest http;
    http.method = "POST";
    http.url = config_.url;
    http.content_type = "application/x-protobuf";
    http.headers = headers_;
    http.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.remote_timeout);
    http.max_body_bytes = 64 * 1024;
    http.body = request.body;
    Backoff backoff(config_.queue_config.min_backoff, config_.queue_config.max_backoff);
    for (;;) {
      const auto began = Clock::now();
      net::HttpResponse response = client_.send(http, &cancel_);
      duration_->Observe(std::chrono::duration<double>(Clock::now() - began).count());
      if (cancel_.cancelled()) {
        keep(request);
        return;
      }
      const SendOutcome outcome = classify(response.status, config_.queue_config.retry_on_http_429);
      if (outcome == SendOutcome::sent) {
        samples_->Increment(request.samples);
        bytes_->Increment(static_cast<double>(request.body.size()));
        if (static_cast<double>(request.highest) / 1000.0 > highest_sent_->Value())
          highest_sent_->Set(static_cast<double>(request.highest) / 1000.0);
        if (failing_) {
          log_->info("remote_write {}: {} accepts samples again; sending what was queued", config_.name,
                     config_.url);
          failing_ = false;
        }
        finish(request);
        return;
      }
      std::string why = response.error.empty() ? "HTTP " + std::to_string(response.status) : response.error;
      if (!response.body.empty()) why += ": " + response.body.substr(0, 256);
      while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
      if (outcome == SendOutcome::failed) {
        failed_->Increment(request.samples);
        log_->warn("remote_write {}: {} refused {} sample(s), not retried: {}", config_.name, config_.url,
                   request.samples, why);
        finish(request);
        return;
      }
      retried_->Increment(request.samples);
      if (!failing_) {
        log_->warn(
            "remote_write {}: sending to {} failed ({}); retrying with backoff, queueing to disk meanwhile",
            config_.name, config_.url, why);
        failing_ = true;
      }
      Duration wait = backoff.next();
      if (response.status == 429) {
        if (auto after = net::parse_retry_after(response.header("Retry-After"), std::time(nullptr)))
          wait = *after;
      }
      std::unique_lock lock(queue_mutex_);
      spill_ = true;
      spill_memory();
      if (!request.on_disk && disk_) {
        to_disk(request);
        if (request.on_disk) {
          disk_->pin(request.seq);
          inflight_samples_ = 0;
        }
      }
      update_pending_locked();
      if (queue_cv_.wait_for(lock, wait, [&] { return sender_stop_; })) {
        lock.unlock();
        keep(request);
        return;
      }
    }
  }

  // Stopping with `request` unsent: it stays for the next start (on disk), or is dropped without one.
  void keep(Request& request) {
    std::lock_guard lock(queue_mutex_);
    if (!request.on_disk) {
      if (disk_) {
        to_disk(request);
      } else {
        count_queue_drop(request.samples);
      }
    }
    inflight_samples_ = 0;
    update_pending_locked();
  }

  // `request` is done with (sent, or refused for good).
  void finish(Request& request) {
    std::lock_guard lock(queue_mutex_);
    if (request.on_disk && disk_) disk_->remove(request.seq);
    spill_ = failing_;
    inflight_samples_ = 0;
    update_disk_metrics();
    update_pending_locked();
  }

  const EndpointConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  Families& families_;
  SeriesResolver resolver_;  // batcher thread only
  Encoder encoder_;          // batcher thread only
  net::HttpClient client_;
  net::Cancellation cancel_;
  std::vector<std::pair<std::string, std::string>> headers_;
  const std::size_t inbox_bound_;

  std::mutex inbox_mutex_;
  std::condition_variable inbox_cv_;
  std::vector<PointsRef> inbox_;
  std::size_t inbox_samples_ = 0;
  bool stopping_ = false;
  std::atomic<std::size_t> batch_samples_{0};

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::map<std::uint64_t, Request> memory_;
  std::size_t memory_samples_ = 0;
  std::size_t inflight_samples_ = 0;
  std::atomic<std::size_t> queued_samples_{0};
  std::optional<DiskQueue> disk_;
  std::uint64_t next_seq_ = 1;
  bool spill_ = false;
  bool sender_stop_ = false;
  bool failing_ = false;  // sender thread only

  std::thread batcher_;
  std::thread sender_;

  prometheus::Counter* samples_;
  prometheus::Counter* failed_;
  prometheus::Counter* retried_;
  prometheus::Counter* dropped_;
  prometheus::Counter* bytes_;
  prometheus::Gauge* pending_;
  prometheus::Gauge* highest_sent_;
  prometheus::Histogram* duration_;
  prometheus::Gauge* disk_bytes_;
  prometheus::Gauge* disk_requests_;
  prometheus::Counter* disk_dropped_;
  prometheus::Counter* corrupt_;
};

RemoteWrite::RemoteWrite(Options options, prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log)
    : log_(std::move(log)) {
  if (options.endpoints.empty()) return;
  families_ = std::make_unique<Families>(registry);
  std::vector<Label> external_list;
  for (const auto& [name, value] : options.external_labels) external_list.push_back({name, value});
  const Labels external = Labels::from_unsorted(std::move(external_list));
  for (const EndpointConfig& e : options.endpoints) {
    endpoints_.push_back(
        std::make_unique<Endpoint>(e, external, options.state_dir, options.user_agent, *families_, log_));
  }
}

RemoteWrite::~RemoteWrite() { stop(); }

bool RemoteWrite::empty() const { return endpoints_.empty(); }

store::AppendListener RemoteWrite::listener() {
  return [this](store::WriterId writer, std::vector<store::AppendedPoint>&& points) {
    append(writer, std::move(points));
  };
}

void RemoteWrite::append(store::WriterId writer, std::vector<store::AppendedPoint>&& points) {
  if (endpoints_.empty() || points.empty()) return;
  auto shared = std::make_shared<const Commit>(Commit{writer, std::move(points)});
  for (auto& e : endpoints_) e->enqueue(shared);
}

std::string RemoteWrite::start() {
  for (auto& e : endpoints_) {
    if (std::string error = e->start(); !error.empty()) return error;
  }
  return "";
}

void RemoteWrite::stop() {
  for (auto& e : endpoints_) e->stop();
}

}  // namespace tocsin::remote_write
