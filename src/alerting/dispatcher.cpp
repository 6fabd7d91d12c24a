#include "tocsin/alerting/dispatcher.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine.hpp"
#include "receivers.hpp"
#include "tocsin/core/file_read.hpp"
#include "tocsin/core/json_text.hpp"

namespace tocsin::alerting {

namespace asio = boost::asio;
using detail::DeliveryOutcome;

namespace {

const std::vector<std::string> kResults = {"success", "failure", "rejected", "expired", "dropped"};

}  // namespace

class Dispatcher::Impl {
 public:
  struct Ingest {
    std::string group;
    std::vector<Alert> alerts;
  };
  struct Result {
    std::uint64_t id;
    std::string receiver;
    DeliveryOutcome outcome;
  };

  Impl(config::AlertingConfig config, DispatcherOptions options, const Clock& clock,
       prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log)
      : clock_(clock),
        log_(std::move(log)),
        options_(std::move(options)),
        notifications_(
            prometheus::BuildCounter()
                .Name("tocsin_notifications_total")
                .Help("Notification delivery attempts by receiver and result: success, failure (will "
                      "be retried), rejected (a permanent error), expired, dropped (outbox full or "
                      "receiver removed).")
                .Register(registry)),
        queue_length_(prometheus::BuildGauge()
                          .Name("tocsin_notification_queue_length")
                          .Help("Notifications in the outbox waiting for delivery or a retry.")
                          .Register(registry)
                          .Add({})),
        queue_capacity_(prometheus::BuildGauge()
                            .Name("tocsin_notification_queue_capacity")
                            .Help("The most notifications the outbox holds before dropping the oldest.")
                            .Register(registry)
                            .Add({})),
        latency_(
            prometheus::BuildHistogram()
                .Name("tocsin_notification_latency_seconds")
                .Help(
                    "From when a notification was queued to when its receiver accepted it, retries included.")
                .Register(registry)),
        state_write_failures_(prometheus::BuildCounter()
                                  .Name("tocsin_alerting_state_write_failures_total")
                                  .Help("Failed writes of the alert state and outbox to state_dir.")
                                  .Register(registry)
                                  .Add({})),
        peer_posts_(
            prometheus::BuildCounter()
                .Name("tocsin_alertmanager_peer_posts_total")
                .Help("Posts of notifications to each peer of an alertmanager receiver (each member of "
                      "an Alertmanager cluster), by result: success or failure.")
                .Register(registry)),
        peer_up_(prometheus::BuildGauge()
                     .Name("tocsin_alertmanager_peer_up")
                     .Help("Whether the peer of an alertmanager receiver took the last notification posted "
                           "to it (1) or not (0).")
                     .Register(registry)),
        engine_(config, options_.external_url, log_,
                [this](const std::string& receiver, const std::string& result) { count(receiver, result); }) {
    std::error_code ec;
    std::filesystem::create_directories(options_.state_dir, ec);
    if (ec) throw std::runtime_error("cannot create state_dir " + options_.state_dir + ": " + ec.message());
    state_path_ = (std::filesystem::path(options_.state_dir) / "alerting.json").string();
    setup_receivers(config);
    load();
  }

  ~Impl() { stop(); }

  void setup_receivers(const config::AlertingConfig& c) {
    auto zone = detail::TimeZone::load(c.time_zone);
    if (!zone) zone = detail::TimeZone::utc();
    detail::ReceiverContext ctx{log_, zone, {&peer_posts_, &peer_up_}};
    receivers_.clear();
    for (const auto& [name, rc] : c.receivers) {
      receivers_[name] = detail::make_receiver(rc, ctx);
      for (const auto& result : kResults) notifications_.Add({{"receiver", name}, {"result", result}});
      if (!latencies_.contains(name)) {
        latencies_[name] = &latency_.Add(
            {{"receiver", name}}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5,
                                                                          10, 30, 60, 300, 1800, 3600});
      }
    }
    queue_capacity_.Set(static_cast<double>(c.outbox.max_entries));
    concurrency_ = c.outbox.concurrency;
  }

  void load() {
    std::string why;
    auto text = read_regular_file(state_path_, kMaxStateFileBytes, why);
    if (!text) {
      if (errno != ENOENT)
        log_->error("cannot read the alert state {}: {}; starting without it", state_path_, why);
      return;
    }
    try {
      const nlohmann::json doc = parse_json_bounded(*text);
      detail::State state = detail::state_from_json(doc);
      if (const int format = detail::state_format(doc); format < detail::current_state_format()) {
        log_->info(
            "alert state {} is in format {} (an older tocsin); read it, and saving it as format {}: a "
            "tiered rule's alert keeps one id across its tiers from now on, its saved alerts move to that "
            "id as their rules report them again",
            state_path_, format, detail::current_state_format());
      }
      log_->info("alert state restored from {}: {} alert(s), {} silence(s), {} queued notification(s)",
                 state_path_, state.instances.size(), state.silences.size(), state.outbox.size());
      engine_.restore(std::move(state), clock_.now_ms());
    } catch (const std::exception& e) {
      std::string aside = state_path_ + ".corrupt-" + std::to_string(clock_.now_ms());
      std::error_code ec;
      std::filesystem::rename(state_path_, aside, ec);
      log_->error("cannot read the alert state {} ({}); moved it to {} and starting without it", state_path_,
                  e.what(), aside);
    }
    queue_length_.Set(static_cast<double>(engine_.state().outbox.size()));
  }

  void count(const std::string& receiver, const std::string& result) {
    notifications_.Add({{"receiver", receiver}, {"result", result}}).Increment();
  }

  // Under mutex_. Delivery results alone are saved at most once per second (see take_dirty).
  void persist(bool force = false) {
    auto now = std::chrono::steady_clock::now();
    if (!engine_.take_dirty(force || now - last_write_ >= std::chrono::seconds(1))) return;
    last_write_ = now;
    try {
      detail::write_file_atomically(state_path_, json_text(detail::to_json(engine_.state())));
      if (persist_failing_) log_->info("alert state written again to {}", state_path_);
      persist_failing_ = false;
    } catch (const std::exception& e) {
      state_write_failures_.Increment();
      if (!persist_failing_)
        log_->error("{}; alert state and outbox are not durable until this is fixed", e.what());
      persist_failing_ = true;
    }
  }

  void start() {
    std::lock_guard q(queue_mutex_);
    if (started_) return;
    started_ = true;
    pool_ = std::make_unique<asio::thread_pool>(concurrency_);
    loop_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard q(queue_mutex_);
      if (!started_ || stopping_) return;
      stopping_ = true;
      cv_.notify_all();
      idle_cv_.notify_all();
    }
    if (loop_.joinable()) loop_.join();
    {
      std::lock_guard lock(mutex_);
      for (auto& [id, c] : cancels_) c->cancel();
    }
    if (pool_) pool_->join();
    std::lock_guard lock(mutex_);
    persist(true);
  }

  void run() {
    std::unique_lock q(queue_mutex_);
    while (!stopping_) {
      cv_.wait_for(q, next_wait_, [&] { return stopping_ || wake_ || !inbox_.empty() || !results_.empty(); });
      if (stopping_) break;
      std::vector<Ingest> inbox = std::move(inbox_);
      std::vector<Result> results = std::move(results_);
      inbox_.clear();
      results_.clear();
      wake_ = false;
      std::uint64_t generation = requested_;
      q.unlock();
      bool idle = pass(inbox, results);
      q.lock();
      idle_ = idle && inbox_.empty() && results_.empty();
      completed_ = generation;
      ++passes_;
      idle_cv_.notify_all();
    }
  }

  // One round of decisions; returns whether nothing is in flight or due now.
  bool pass(std::vector<Ingest>& inbox, std::vector<Result>& results) {
    std::lock_guard lock(mutex_);
    Timestamp now = clock_.now_ms();
    for (Result& r : results) {
      cancels_.erase(r.id);
      switch (r.outcome.kind) {
        case DeliveryOutcome::Kind::delivered: {
          Timestamp age = engine_.delivered(r.id, now);
          count(r.receiver, "success");
          if (auto it = latencies_.find(r.receiver); it != latencies_.end()) {
            it->second->Observe(static_cast<double>(age) / 1000.0);
          }
          break;
        }
        case DeliveryOutcome::Kind::retry:
          count(r.receiver, "failure");
          engine_.failed(r.id, now, r.outcome.error, true, r.outcome.retry_after);
          break;
        case DeliveryOutcome::Kind::reject: engine_.failed(r.id, now, r.outcome.error, false); break;
      }
    }
    for (Ingest& in : inbox) engine_.ingest(in.group, in.alerts, now);
    engine_.evaluate(now);
    persist();
    // Deliver only what is durable (or what could not be made so, logged above).
    std::size_t free = concurrency_ > engine_.in_flight() ? concurrency_ - engine_.in_flight() : 0;
    for (detail::OutboxEntry& e : engine_.take_due(now, free)) {
      auto receiver = receivers_.find(e.receiver);
      if (receiver == receivers_.end()) {
        engine_.abandoned(e.id);
        continue;
      }
      auto cancel = std::make_shared<Cancellation>();
      cancels_[e.id] = cancel;
      asio::post(*pool_, [this, entry = std::move(e), r = receiver->second, cancel] {
        DeliveryOutcome outcome;
        try {
          outcome = r->deliver(entry.notification, clock_.now_ms(), *cancel);
        } catch (const std::exception& ex) {
          outcome = DeliveryOutcome::retry(ex.what());
        }
        std::lock_guard q(queue_mutex_);
        if (stopping_) return;  // stays in the outbox and goes out after a restart
        results_.push_back({entry.id, entry.receiver, std::move(outcome)});
        cv_.notify_all();
      });
    }
    queue_length_.Set(static_cast<double>(engine_.state().outbox.size()));
    Timestamp next = engine_.next_attempt(now);
    next_wait_ = options_.tick;
    if (next != 0 && next > now) next_wait_ = std::min(next_wait_, std::chrono::milliseconds(next - now));
    return engine_.in_flight() == 0 && !engine_.due_now(now);
  }

  void wake() {
    std::lock_guard q(queue_mutex_);
    wake_ = true;
    cv_.notify_all();
  }

  bool flush(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock q(queue_mutex_);
    if (!started_) return false;
    while (!stopping_) {
      std::uint64_t generation = ++requested_;
      wake_ = true;
      cv_.notify_all();
      if (!idle_cv_.wait_until(q, deadline, [&] { return stopping_ || completed_ >= generation; }))
        return false;
      if (idle_) return true;
      // Deliveries are in flight: wait for the pass their results trigger.
      std::uint64_t passes = passes_;
      if (!idle_cv_.wait_until(q, deadline, [&] { return stopping_ || passes_ > passes; })) return false;
    }
    return false;
  }

  const Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  DispatcherOptions options_;
  std::string state_path_;

  prometheus::Family<prometheus::Counter>& notifications_;
  prometheus::Gauge& queue_length_;
  prometheus::Gauge& queue_capacity_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Counter& state_write_failures_;
  prometheus::Family<prometheus::Counter>& peer_posts_;
  prometheus::Family<prometheus::Gauge>& peer_up_;

  // Guards the engine, receivers and everything decided; held while the state is written.
  mutable std::mutex mutex_;
  detail::Engine engine_;
  std::map<std::string, std::shared_ptr<detail::Receiver>> receivers_;
  std::map<std::string, prometheus::Histogram*> latencies_;
  std::map<std::uint64_t, std::shared_ptr<Cancellation>> cancels_;
  std::size_t concurrency_ = 4;
  bool persist_failing_ = false;
  std::chrono::steady_clock::time_point last_write_{};

  // Guards what other threads hand to the decision thread; never held during I/O.
  std::mutex queue_mutex_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::vector<Ingest> inbox_;
  std::vector<Result> results_;
  bool wake_ = false;
  bool started_ = false;
  bool stopping_ = false;
  bool idle_ = false;
  std::uint64_t requested_ = 0;
  std::uint64_t completed_ = 0;
  std::uint64_t passes_ = 0;
  std::chrono::milliseconds next_wait_{0};

  std::thread loop_;
  std::unique_ptr<asio::thread_pool> pool_;
};

Dispatcher::Dispatcher(config::AlertingConfig config, DispatcherOptions options, const Clock& clock,
                       prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(options), clock, registry, std::move(log))) {}

Dispatcher::~Dispatcher() = default;

void Dispatcher::start() { impl_->start(); }
void Dispatcher::stop() { impl_->stop(); }

void Dispatcher::reload(config::AlertingConfig config, std::string external_url) {
  {
    std::lock_guard lock(impl_->mutex_);
    std::size_t running = impl_->concurrency_;
    if (!external_url.empty()) impl_->options_.external_url = std::move(external_url);
    impl_->engine_.reconfigure(config, impl_->options_.external_url);
    impl_->setup_receivers(config);
    if (impl_->pool_ && config.outbox.concurrency > running) {
      impl_->log_->warn("alerting.outbox.concurrency {} takes effect after a restart (running with {})",
                        config.outbox.concurrency, running);
      impl_->concurrency_ = running;
    }
  }
  impl_->wake();
}

void Dispatcher::send(const std::string& rule_group, std::span<const Alert> alerts, Timestamp) {
  std::lock_guard q(impl_->queue_mutex_);
  impl_->inbox_.push_back({rule_group, std::vector<Alert>(alerts.begin(), alerts.end())});
  impl_->cv_.notify_all();
}

std::vector<AlertView> Dispatcher::alerts() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->engine_.views(impl_->clock_.now_ms());
}

std::optional<AlertView> Dispatcher::alert(const std::string& id) const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->engine_.view(id, impl_->clock_.now_ms());
}

std::variant<AlertView, std::string> Dispatcher::acknowledge(const std::string& id,
                                                             const AckRequest& request) {
  std::variant<AlertView, std::string> result;
  {
    std::lock_guard lock(impl_->mutex_);
    result = impl_->engine_.acknowledge(id, request, impl_->clock_.now_ms());
    impl_->persist();
  }
  impl_->wake();
  return result;
}

std::variant<AlertView, std::string> Dispatcher::unacknowledge(const std::string& id) {
  std::variant<AlertView, std::string> result;
  {
    std::lock_guard lock(impl_->mutex_);
    result = impl_->engine_.unacknowledge(id, impl_->clock_.now_ms());
    impl_->persist();
  }
  impl_->wake();
  return result;
}

std::variant<Silence, std::string> Dispatcher::create_silence(Silence silence) {
  std::variant<Silence, std::string> result;
  {
    std::lock_guard lock(impl_->mutex_);
    result = impl_->engine_.create_silence(std::move(silence), impl_->clock_.now_ms());
    impl_->persist();
  }
  impl_->wake();
  return result;
}

std::vector<Silence> Dispatcher::silences() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->engine_.silences(impl_->clock_.now_ms());
}

std::optional<std::string> Dispatcher::expire_silence(const std::string& id) {
  std::optional<std::string> result;
  {
    std::lock_guard lock(impl_->mutex_);
    result = impl_->engine_.expire_silence(id, impl_->clock_.now_ms());
    impl_->persist();
  }
  impl_->wake();
  return result;
}

OutboxStatus Dispatcher::outbox() const {
  std::lock_guard lock(impl_->mutex_);
  return {impl_->engine_.state().outbox.size(), impl_->engine_.in_flight(),
          impl_->engine_.config().outbox.max_entries};
}

std::string Dispatcher::api_token() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->engine_.config().api_token.reveal();
}

std::string Dispatcher::external_url() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->engine_.external_url();
}

std::map<std::string, std::string> Dispatcher::external_labels() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->engine_.external_labels();
}

std::string Dispatcher::display_time(Timestamp t) const {
  std::string zone_name;
  {
    std::lock_guard lock(impl_->mutex_);
    zone_name = impl_->engine_.config().time_zone;
  }
  auto zone = detail::TimeZone::load(zone_name);
  return detail::format_local(t, zone ? *zone : *detail::TimeZone::utc());
}

bool Dispatcher::flush(std::chrono::milliseconds timeout) { return impl_->flush(timeout); }

}  // namespace tocsin::alerting
