#include "tocsin/collectors/scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "tocsin/collectors/claim.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

struct Scheduler::Metrics {
  explicit Metrics(prometheus::Registry& registry)
      : up(prometheus::BuildGauge()
               .Name("tocsin_collector_up")
               .Help("Whether the collector instance's last cycle succeeded within its deadline (1) or not "
                     "(0).")
               .Register(registry)),
        duration(prometheus::BuildGauge()
                     .Name("tocsin_collector_duration_seconds")
                     .Help("Wall time of the collector instance's last cycle.")
                     .Register(registry)),
        samples(prometheus::BuildGauge()
                    .Name("tocsin_collector_samples")
                    .Help("Samples the collector instance's last successful cycle produced.")
                    .Register(registry)),
        errors(prometheus::BuildCounter()
                   .Name("tocsin_collector_errors_total")
                   .Help("Failed cycles of the collector instance, deadline misses included.")
                   .Register(registry)),
        deadline_misses(prometheus::BuildCounter()
                            .Name("tocsin_collector_deadline_misses_total")
                            .Help("Cycles of the collector instance that overran their deadline.")
                            .Register(registry)),
        skipped(prometheus::BuildCounter()
                    .Name("tocsin_collector_skipped_cycles_total")
                    .Help("Cycles not started because the previous one of the instance was still running.")
                    .Register(registry)),
        last_success(prometheus::BuildGauge()
                         .Name("tocsin_collector_last_success_timestamp_seconds")
                         .Help("When the collector instance last finished a cycle successfully.")
                         .Register(registry)),
        dropped(prometheus::BuildCounter()
                    .Name("tocsin_collector_samples_dropped_total")
                    .Help("Samples of the collector instance the store did not take, by reason: "
                          "sample_limit (the instance's), series_limit (the store's max_series), "
                          "invalid (names), duplicate (a label set twice in a cycle), conflict (a series "
                          "another writer owns).")
                    .Register(registry)),
        claimed(prometheus::BuildGauge()
                    .Name("tocsin_target_claimed")
                    .Help("For a shared target: whether this daemon holds its claim and collects it (1) "
                          "or stands by (0).")
                    .Register(registry)) {}

  prometheus::Family<prometheus::Gauge>& up;
  prometheus::Family<prometheus::Gauge>& duration;
  prometheus::Family<prometheus::Gauge>& samples;
  prometheus::Family<prometheus::Counter>& errors;
  prometheus::Family<prometheus::Counter>& deadline_misses;
  prometheus::Family<prometheus::Counter>& skipped;
  prometheus::Family<prometheus::Gauge>& last_success;
  prometheus::Family<prometheus::Counter>& dropped;
  prometheus::Family<prometheus::Gauge>& claimed;
};

class Scheduler::Instance : public std::enable_shared_from_this<Scheduler::Instance> {
 public:
  Instance(Scheduler& owner, CollectorSpec spec)
      : owner_(owner),
        collector_(std::move(spec.collector)),
        interval_(spec.interval),
        timeout_(spec.timeout),
        identity_(std::move(spec.identity)),
        sample_limit_(spec.sample_limit),
        labels_{{"collector", std::string(collector_->kind())}, {"target", collector_->name()}},
        timer_(owner.io_),
        deadline_timer_(owner.io_),
        up_(owner.metrics_->up.Add(labels_)),
        duration_(owner.metrics_->duration.Add(labels_)),
        samples_(owner.metrics_->samples.Add(labels_)),
        errors_(owner.metrics_->errors.Add(labels_)),
        deadline_misses_(owner.metrics_->deadline_misses.Add(labels_)),
        skipped_(owner.metrics_->skipped.Add(labels_)),
        last_success_(owner.metrics_->last_success.Add(labels_)),
        dropped_sample_limit_(dropped("sample_limit")),
        dropped_series_limit_(dropped("series_limit")),
        dropped_invalid_(dropped("invalid")),
        dropped_duplicate_(dropped("duplicate")),
        dropped_conflict_(dropped("conflict")),
        shared_(collector_->shared()),
        claimed_(shared_ ? &owner.metrics_->claimed.Add(labels_) : nullptr) {
    writer_name_ = writer_name();
    writer_ = owner.store_.register_writer(writer_name_, interval_);
    health_.kind = collector_->kind();
    health_.name = collector_->name();
    health_.interval = interval_;
    health_.timeout = timeout_;
    if (shared_) health_.claimed = false;
  }

  std::string writer_name() const {
    return "collector/" + std::string(collector_->kind()) + "/" + collector_->name();
  }
  store::WriterId writer() const { return writer_; }
  const Collector& collector() const { return *collector_; }

  // On the I/O thread.
  void start() {
    next_ = SteadyClock::now();
    schedule();
  }

  // On the I/O thread. In-flight work finishes on the pool and is discarded.
  void stop() {
    stopped_ = true;
    {
      std::lock_guard lock(settle_mutex_);
      settled_stopped_ = true;
    }
    timer_.cancel();
    deadline_timer_.cancel();
    if (running_) interrupt_async();
  }

  void remove_metrics() {
    owner_.metrics_->up.Remove(&up_);
    owner_.metrics_->duration.Remove(&duration_);
    owner_.metrics_->samples.Remove(&samples_);
    owner_.metrics_->errors.Remove(&errors_);
    owner_.metrics_->deadline_misses.Remove(&deadline_misses_);
    owner_.metrics_->skipped.Remove(&skipped_);
    owner_.metrics_->last_success.Remove(&last_success_);
    for (prometheus::Counter* c : {&dropped_sample_limit_, &dropped_series_limit_, &dropped_invalid_,
                                   &dropped_duplicate_, &dropped_conflict_})
      owner_.metrics_->dropped.Remove(c);
    if (claimed_ != nullptr) owner_.metrics_->claimed.Remove(claimed_);
  }

  CollectorHealth health() const {
    std::lock_guard lock(health_mutex_);
    return health_;
  }

 private:
  void schedule() {
    timer_.expires_at(next_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->stopped_) self->tick();
    });
  }

  void tick() {
    // Fixed rate: the next cycle is due one interval after this one was due, however long it ran.
    next_ += interval_;
    const auto now = SteadyClock::now();
    if (next_ < now) next_ = now + interval_;
    schedule();
    if (running_) {
      skipped_.Increment();
      return;
    }
    running_ = true;
    const std::uint64_t cycle = ++cycle_;
    const auto started = SteadyClock::now();
    const auto deadline = started + timeout_;
    CollectContext ctx{owner_.clock_.now_ms(), deadline, interval_};
    deadline_timer_.expires_at(deadline);
    deadline_timer_.async_wait([self = shared_from_this(), cycle](boost::system::error_code ec) {
      if (!ec) self->on_deadline(cycle);
    });
    asio::post(owner_.pool_,
               [self = shared_from_this(), ctx, cycle, started] { self->collect(ctx, cycle, started); });
  }

  // On a worker. Collects, and commits the cycle unless its deadline (or stop()) got there first.
  void collect(const CollectContext& ctx, std::uint64_t cycle, SteadyClock::time_point started) {
    store::Batch batch;
    std::string error;
    const ClaimStep::Action action = shared_ ? ask_claim(ctx, error) : ClaimStep::Action::collect;
    if (action == ClaimStep::Action::collect) {
      try {
        collector_->collect(ctx, batch);
      } catch (const std::exception& e) {
        error = e.what();
        if (error.empty()) error = "collection failed";
      } catch (...) {
        error = "collection failed with an unknown exception";
      }
    }
    const bool standby = action == ClaimStep::Action::stand_by;
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    const bool committed = settle(cycle);
    std::size_t samples = 0;
    if (committed) {
      if (standby) {
        // Nothing is collected here: an empty commit, so that what this daemon committed while it
        // held the claim gets staleness markers now, and the alerts over it resolve.
        batch.clear();
      } else if (!error.empty()) {
        batch.clear();
        collector_->describe_down(batch);
      }
      samples = batch.size();
      commit(batch, ctx.timestamp);
    }
    asio::post(owner_.io_, [self = shared_from_this(), committed, error = std::move(error), cycle, seconds,
                            samples, standby, t = ctx.timestamp] {
      self->on_done(cycle, committed, error, seconds, samples, t, standby);
    });
  }

  // On the worker, before a shared target's cycle: asks its lock and decides what the cycle does.
  ClaimStep::Action ask_claim(const CollectContext& ctx, std::string& error) {
    ClaimResult result;
    try {
      result = collector_->claim(ctx);
    } catch (const std::exception& e) {
      result = {ClaimAnswer::unreachable, e.what()};
    }
    const ClaimStep step = claim_state_.step(result.answer);
    holder_ = step.role == ClaimRole::holder;
    if (result.answer == ClaimAnswer::unreachable)
      error = result.error.empty() ? "the shared target's claim could not be asked" : result.error;
    if (step.changed) {
      if (step.role == ClaimRole::holder) {
        owner_.log_->info("{} collector {}: holds the shared target's claim; collecting it",
                          collector_->kind(), collector_->name());
      } else if (result.answer == ClaimAnswer::taken) {
        owner_.log_->info("{} collector {}: standing by: another daemon holds the shared target's claim",
                          collector_->kind(), collector_->name());
      } else {
        owner_.log_->info("{} collector {}: standing by: cannot ask the shared target's claim",
                          collector_->kind(), collector_->name());
      }
    }
    return step.action;
  }

  // Any thread. The first of the worker's finish, the deadline and stop() to settle a cycle decides
  // what becomes of it; the others then leave it alone.
  bool settle(std::uint64_t cycle) {
    std::lock_guard lock(settle_mutex_);
    if (settled_stopped_ || settled_ >= cycle) return false;
    settled_ = cycle;
    return true;
  }

  // On the I/O thread, after the worker settled (committed) or lost the cycle.
  void on_done(std::uint64_t cycle, bool committed, const std::string& error, double seconds,
               std::size_t samples, Timestamp t, bool standby) {
    running_ = false;
    if (stopped_ || cycle != cycle_ || !committed) return;  // the deadline already reported it
    deadline_timer_.cancel();
    duration_.Set(seconds);
    if (claimed_ != nullptr) {
      claimed_->Set(standby || !holder_ ? 0 : 1);
      std::lock_guard lock(health_mutex_);
      health_.claimed = !standby && holder_;
    }
    if (error.empty()) {
      samples_.Set(static_cast<double>(samples));
      last_success_.Set(static_cast<double>(t) / 1000.0);
      set_state(true, "", seconds, t);
    } else {
      errors_.Increment();
      set_state(false, error, seconds, t);
    }
  }

  // On the I/O thread.
  void on_deadline(std::uint64_t cycle) {
    if (stopped_ || !running_ || cycle != cycle_ || !settle(cycle)) return;
    errors_.Increment();
    deadline_misses_.Increment();
    const double seconds = std::chrono::duration<double>(timeout_).count();
    duration_.Set(seconds);
    auto batch = std::make_shared<store::Batch>();
    // A standby reports nothing of the target, down or not: the holder does.
    if (!shared_ || holder_) collector_->describe_down(*batch);
    const Timestamp t = owner_.clock_.now_ms();
    asio::post(owner_.pool_, [self = shared_from_this(), batch, t] { self->commit(*batch, t); });
    set_state(false, "deadline of " + format_duration(timeout_) + " exceeded", seconds, t);
    interrupt_async();
  }

  // On a worker.
  void commit(store::Batch& batch, Timestamp t) {
    add_identity(batch, identity_);
    auto result = owner_.store_.commit(writer_, batch, t, sample_limit_);
    count_drops(result, batch.samples().size());
    if (owner_.listener_) {
      std::shared_ptr<const std::vector<std::string>> names;
      {
        std::lock_guard lock(names_mutex_);
        // A name new to this writer comes with a new series, or (series that exist already: restored
        // from a snapshot, kept over a reload) with a batch larger than any before, as the first
        // successful one after a start-up `describe_down`: only then is the batch read.
        const bool larger = batch.samples().size() > largest_batch_;
        largest_batch_ = std::max(largest_batch_, batch.samples().size());
        if (!metric_names_ || result.created > 0 || larger) {
          std::set<std::string, std::less<>> all;
          if (metric_names_) all.insert(metric_names_->begin(), metric_names_->end());
          for (const auto& sample : batch.samples()) {
            const std::string_view name = sample.labels.metric_name();
            if (all.find(name) == all.end()) all.emplace(name);
          }
          if (!metric_names_ || all.size() != metric_names_->size())
            metric_names_ = std::make_shared<const std::vector<std::string>>(all.begin(), all.end());
        }
        names = metric_names_;
      }
      owner_.listener_(writer_name_, names, t);
    }
    if (result.invalid + result.conflicts + result.duplicates > 0) {
      owner_.log_->warn(
          "{} collector {}: dropped {} samples with invalid names, {} duplicates, {} owned by "
          "another collector",
          collector_->kind(), collector_->name(), result.invalid, result.duplicates, result.conflicts);
    }
  }

  prometheus::Counter& dropped(const char* reason) {
    auto labels = labels_;
    labels["reason"] = reason;
    return owner_.metrics_->dropped.Add(labels);
  }

  // On a worker: what the store did not take of a commit.
  void count_drops(const store::CommitResult& result, std::size_t samples) {
    auto add = [](prometheus::Counter& c, std::size_t n) {
      if (n > 0) c.Increment(static_cast<double>(n));
    };
    add(dropped_sample_limit_, result.over_sample_limit);
    add(dropped_series_limit_, result.over_series_limit);
    add(dropped_invalid_, result.invalid);
    add(dropped_duplicate_, result.duplicates);
    add(dropped_conflict_, result.conflicts);
    if (result.over_sample_limit > 0 && !sample_limit_logged_.exchange(true)) {
      owner_.log_->warn(
          "{} collector {}: a cycle produced {} samples, more than its sample_limit of {}: kept the series "
          "it "
          "already had and new ones up to the limit, dropped {} (counted in "
          "tocsin_collector_samples_dropped_total{{reason=\"sample_limit\"}}; logged once)",
          collector_->kind(), collector_->name(), samples, sample_limit_, result.over_sample_limit);
    }
  }

  void interrupt_async() {
    asio::post(owner_.pool_, [self = shared_from_this()] { self->collector_->interrupt(); });
  }

  void set_state(bool up, const std::string& error, double seconds, Timestamp t) {
    up_.Set(up ? 1 : 0);
    bool changed;
    {
      std::lock_guard lock(health_mutex_);
      changed = !health_.collected || health_.up != up || (!up && health_.last_error != error);
      health_.collected = true;
      health_.up = up;
      health_.last_error = error;
      health_.last_duration_seconds = seconds;
      health_.last_attempt = t;
      if (up) health_.last_success = t;
    }
    if (!changed) return;
    if (up) {
      owner_.log_->info("{} collector {}: up", collector_->kind(), collector_->name());
    } else {
      owner_.log_->error("{} collector {}: down: {}", collector_->kind(), collector_->name(), error);
    }
  }

  Scheduler& owner_;
  std::unique_ptr<Collector> collector_;
  Duration interval_;
  Duration timeout_;
  Labels identity_;
  std::size_t sample_limit_;
  std::map<std::string, std::string> labels_;
  asio::steady_timer timer_;
  asio::steady_timer deadline_timer_;
  SteadyClock::time_point next_;
  store::WriterId writer_ = 0;
  std::string writer_name_;
  // Every metric name the instance's commits have held, for the commit listener (commits of one
  // instance may overlap: a late deadline's and the next cycle's).
  std::mutex names_mutex_;
  std::shared_ptr<const std::vector<std::string>> metric_names_;
  std::size_t largest_batch_ = 0;  // samples in the largest batch committed, under names_mutex_
  // I/O-thread state.
  bool running_ = false;
  bool stopped_ = false;
  std::uint64_t cycle_ = 0;
  // Which cycle was settled last, and whether stop() settled them all; shared by the worker, the
  // deadline timer and stop().
  std::mutex settle_mutex_;
  std::uint64_t settled_ = 0;
  bool settled_stopped_ = false;

  prometheus::Gauge& up_;
  prometheus::Gauge& duration_;
  prometheus::Gauge& samples_;
  prometheus::Counter& errors_;
  prometheus::Counter& deadline_misses_;
  prometheus::Counter& skipped_;
  prometheus::Gauge& last_success_;
  prometheus::Counter& dropped_sample_limit_;  // tocsin_collector_samples_dropped_total by reason
  prometheus::Counter& dropped_series_limit_;
  prometheus::Counter& dropped_invalid_;
  prometheus::Counter& dropped_duplicate_;
  prometheus::Counter& dropped_conflict_;
  std::atomic<bool> sample_limit_logged_{false};  // the first cycle over sample_limit is logged, no other
  // A shared target's claim: asked on the worker before each cycle (one at a time); the role is read
  // by the deadline timer too.
  const bool shared_;
  prometheus::Gauge* claimed_;  // tocsin_target_claimed; null when not shared
  ClaimState claim_state_;
  std::atomic<bool> holder_{false};

  mutable std::mutex health_mutex_;
  CollectorHealth health_;
};

Scheduler::Scheduler(asio::io_context& io, asio::thread_pool& pool, store::Store& store, const Clock& clock,
                     prometheus::Registry& registry, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      pool_(pool),
      store_(store),
      clock_(clock),
      log_(std::move(log)),
      metrics_(std::make_unique<Metrics>(registry)) {}

Scheduler::~Scheduler() = default;

void Scheduler::replace(std::vector<CollectorSpec> specs) {
  std::vector<std::shared_ptr<Instance>> fresh;
  fresh.reserve(specs.size());
  std::vector<std::shared_ptr<Instance>> old;
  {
    std::lock_guard lock(mutex_);
    old.swap(instances_);
  }
  for (auto& instance : old) instance->stop();
  // New instances with the name of an old one share its metrics (prometheus-cpp's Add returns the
  // existing child), so counters do not reset on reload.
  std::set<std::string> kept;
  for (CollectorSpec& spec : specs) {
    auto instance = std::make_shared<Instance>(*this, std::move(spec));
    kept.insert(instance->writer_name());
    fresh.push_back(std::move(instance));
  }
  const Timestamp now = clock_.now_ms();
  for (auto& instance : old) {
    if (kept.contains(instance->writer_name())) continue;
    instance->remove_metrics();
    store_.retire_writer(instance->writer(), now);
  }
  for (auto& instance : fresh) instance->start();
  std::lock_guard lock(mutex_);
  instances_ = std::move(fresh);
}

void Scheduler::stop() {
  std::vector<std::shared_ptr<Instance>> old;
  {
    std::lock_guard lock(mutex_);
    old = instances_;
  }
  for (auto& instance : old) instance->stop();
}

bool Scheduler::run_once(std::vector<CollectorSpec>& specs, store::Store& store, const Clock& clock,
                         spdlog::logger& log) {
  bool all_ok = true;
  for (CollectorSpec& spec : specs) {
    Collector& c = *spec.collector;
    auto writer = store.register_writer("collector/" + std::string(c.kind()) + "/" + c.name(), spec.interval);
    store::Batch batch;
    CollectContext ctx{clock.now_ms(), SteadyClock::now() + spec.timeout, spec.interval};
    try {
      c.collect(ctx, batch);
    } catch (const std::exception& e) {
      log.error("{} collector {}: down: {}", c.kind(), c.name(), e.what());
      batch.clear();
      c.describe_down(batch);
      all_ok = false;
    }
    add_identity(batch, spec.identity);
    store.commit(writer, batch, ctx.timestamp, spec.sample_limit);
  }
  return all_ok;
}

std::vector<CollectorHealth> Scheduler::health() const {
  std::lock_guard lock(mutex_);
  std::vector<CollectorHealth> out;
  out.reserve(instances_.size());
  for (const auto& instance : instances_) out.push_back(instance->health());
  return out;
}

nlohmann::json Scheduler::details(std::string_view kind, std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& instance : instances_) {
    if (instance->collector().kind() == kind && instance->collector().name() == name) {
      return instance->collector().details();
    }
  }
  return nullptr;
}

}  // namespace tocsin::collectors
