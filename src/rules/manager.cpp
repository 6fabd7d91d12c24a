#include "tocsin/rules/manager.hpp"

#include <prometheus/metric_family.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include "rules/rules_api.hpp"
#include "rules/selected_names.hpp"
#include "tocsin/core/json_text.hpp"

namespace tocsin::rules {

namespace asio = boost::asio;

namespace {
constexpr Timestamp kNoTime = std::numeric_limits<Timestamp>::min();
// Triggered evaluations of a group begin at least this far apart (a trigger sooner after the last
// evaluation began waits for the rest), so that many collectors committing what one group selects
// evaluate it at most 10 times a second.
constexpr std::chrono::milliseconds kTriggerSpacing{100};
}  // namespace

struct RuleManager::Scheduled {
  explicit Scheduled(asio::io_context& io, std::unique_ptr<Group> g)
      : group(std::move(g)), timer(io), trigger_timer(io) {}
  std::unique_ptr<Group> group;
  asio::steady_timer timer;
  asio::steady_timer trigger_timer;  // under run_mutex: a trigger waiting out kTriggerSpacing
  Timestamp next_slot = kNoTime;     // on the I/O thread: the slot the timer waits for
  // What is to be evaluated, under run_mutex: a slot whose time came, a commit's trigger (the newest
  // commit time), and whether an evaluation is running or queued on the pool (one at a time).
  std::mutex run_mutex;
  Timestamp pending_slot = kNoTime;
  Timestamp pending_trigger = kNoTime;
  bool running = false;
  Timestamp last_time = kNoTime;  // the timestamp of the last evaluation begun: they only increase
  std::chrono::steady_clock::time_point last_started{};  // when it began
  std::atomic<bool> cancelled{false};
  std::atomic<std::uint64_t> missed{0};
  std::atomic<std::uint64_t> evaluations{0};
  std::atomic<std::uint64_t> triggered{0};
  std::atomic<std::uint64_t> in_flight{0};
  std::atomic<std::uint64_t> max_in_flight{0};
  bool triggerable = false;  // has an alerting rule, selects something, and is no SLO's
  detail::SelectedNames selects;
  std::string last_state;                  // this group's saved state, to notice changes
  std::atomic<Timestamp> slo_saved_at{0};  // when this group's SLO histories were last written
  bool has_slos = false;
};

// Recording results and ALERTS go into the store, one writer per rule so that a rule's output is
// visible to the next rule at once and a series a rule stops producing turns stale.
class RuleManager::Output final : public RuleOutput {
 public:
  explicit Output(store::Store& store) : store_(store) {}
  void write(const std::string& key, const std::vector<promql::Sample>& samples, Timestamp t) override {
    store::WriterId writer;
    {
      std::lock_guard lock(mutex_);
      // An evaluation of a group replaced by a reload, finishing late: its removed rules stay retired.
      auto rule = current_.find(key);
      if (rule == current_.end()) return;
      auto it = writers_.find(key);
      if (it == writers_.end())
        it = writers_.emplace(key, store_.register_writer("rule:" + key, rule->second)).first;
      writer = it->second;
    }
    store::Batch batch;
    // A rule's output shares one name (ALERTS and ALERTS_FOR_STATE for an alerting rule, two at most).
    std::string_view described;
    for (const auto& s : samples) {
      const std::string_view name = s.labels.metric_name();
      if (name != described) {
        described = name;
        if (name == "ALERTS" || name == "ALERTS_FOR_STATE") {
          batch.describe(std::string(name), store::MetricType::gauge,
                         name == "ALERTS" ? "Alerts pending or firing, by rule and labels."
                                          : "The time an alert became active, in seconds.");
        } else if (name.find(':') != std::string_view::npos) {
          // level:metric:operations, the recording rules' naming convention; the key is file;group;rule;index
          batch.describe(std::string(name), store::MetricType::untyped,
                         "Recorded by rule group " + key.substr(0, key.rfind(';', key.rfind(';') - 1)) + ".");
        }
      }
      batch.add(s.labels, s.v);
    }
    store_.commit(writer, batch, t);
  }
  // The rules' keys after a load, with their group's interval (it sizes the ring buffers of their
  // series to the retention). The writers of every other key (rules removed, or moved within their
  // group) are retired, their series turn stale, and writes under them are ignored from now on.
  void set_rules(std::map<std::string, Duration> keys, Timestamp t) {
    std::lock_guard lock(mutex_);
    for (auto it = writers_.begin(); it != writers_.end();) {
      if (auto rule = keys.find(it->first); rule != keys.end()) {
        if (current_.at(it->first) != rule->second) store_.register_writer("rule:" + it->first, rule->second);
        ++it;
        continue;
      }
      store_.retire_writer(it->second, t);
      it = writers_.erase(it);
    }
    current_ = std::move(keys);
  }

 private:
  store::Store& store_;
  std::mutex mutex_;
  std::map<std::string, store::WriterId> writers_;
  std::map<std::string, Duration> current_;  // the rules' keys and their group's interval
};

class RuleManager::Metrics final : public prometheus::Collectable {
 public:
  explicit Metrics(const RuleManager& m) : manager_(m) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    auto family = [](const char* name, const char* help, prometheus::MetricType type) {
      prometheus::MetricFamily f;
      f.name = name;
      f.help = help;
      f.type = type;
      return f;
    };
    auto duration = family("tocsin_rule_group_duration_seconds",
                           "How long the last evaluation of the group took.", prometheus::MetricType::Gauge);
    auto last = family("tocsin_rule_group_last_evaluation_timestamp_seconds",
                       "When the group was last evaluated.", prometheus::MetricType::Gauge);
    auto interval = family("tocsin_rule_group_interval_seconds", "The group's evaluation interval.",
                           prometheus::MetricType::Gauge);
    auto rules = family("tocsin_rule_group_rules", "Rules in the group.", prometheus::MetricType::Gauge);
    auto evaluations = family("tocsin_rule_evaluations_total", "Rule evaluations, by group.",
                              prometheus::MetricType::Counter);
    auto failures =
        family("tocsin_rule_evaluation_failures_total", "Rule evaluations that failed, by group and rule.",
               prometheus::MetricType::Counter);
    auto missed = family("tocsin_rule_group_iterations_missed_total",
                         "Evaluations skipped because the previous one was still running.",
                         prometheus::MetricType::Counter);
    auto triggered = family("tocsin_rule_group_triggered_evaluations_total",
                            "Evaluations a collector's commit of a metric the group selects brought forward.",
                            prometheus::MetricType::Counter);
    auto alerts = family("tocsin_alerts", "Alert instances by state.", prometheus::MetricType::Gauge);
    auto reload = family("tocsin_rules_last_reload_successful", "Whether the last rule reload succeeded.",
                         prometheus::MetricType::Gauge);
    auto metric = [](std::vector<std::pair<std::string, std::string>> labels, double v, bool counter) {
      prometheus::ClientMetric m;
      for (auto& [k, val] : labels) m.label.push_back({k, val});
      if (counter) {
        m.counter.value = v;
      } else {
        m.gauge.value = v;
      }
      return m;
    };
    double pending = 0, firing = 0;
    {
      std::lock_guard lock(manager_.mutex_);
      for (const auto& s : manager_.groups_) {
        const Group& g = *s->group;
        const std::string key = g.key();
        duration.metric.push_back(metric({{"rule_group", key}}, g.last_duration_seconds(), false));
        last.metric.push_back(
            metric({{"rule_group", key}}, static_cast<double>(g.last_evaluation()) / 1000, false));
        interval.metric.push_back(
            metric({{"rule_group", key}}, std::chrono::duration<double>(g.interval()).count(), false));
        rules.metric.push_back(
            metric({{"rule_group", key}}, static_cast<double>(g.definition().rules.size()), false));
        missed.metric.push_back(metric({{"rule_group", key}}, static_cast<double>(s->missed.load()), true));
        triggered.metric.push_back(
            metric({{"rule_group", key}}, static_cast<double>(s->triggered.load()), true));
        const auto health = g.health();
        double evals = 0;
        // By rule name: rules of one name in a group (an alert at two severities) add up, so that
        // every series is unique.
        std::map<std::string, double> failed;
        for (std::size_t i = 0; i < health.size(); ++i) {
          evals += static_cast<double>(health[i].evaluations);
          failed[g.definition().rules[i].name] += static_cast<double>(health[i].failures);
        }
        for (const auto& [name, n] : failed)
          failures.metric.push_back(metric({{"rule", name}, {"rule_group", key}}, n, true));
        evaluations.metric.push_back(metric({{"rule_group", key}}, evals, true));
        for (const auto& [rule, a] : g.active_alerts()) {
          (a.state == alerting::AlertState::firing ? firing : pending) += 1;
        }
      }
    }
    alerts.metric.push_back(metric({{"state", "firing"}}, firing, false));
    alerts.metric.push_back(metric({{"state", "pending"}}, pending, false));
    reload.metric.push_back(metric({}, reload_ok.load() ? 1 : 0, false));
    return {duration, last, interval, rules, evaluations, failures, missed, triggered, alerts, reload};
  }
  std::atomic<bool> reload_ok{true};

 private:
  const RuleManager& manager_;
};

RuleManager::RuleManager(asio::io_context& io, asio::thread_pool& pool, store::Store& store,
                         const Clock& clock, std::shared_ptr<spdlog::logger> log, alerting::AlertSink* sink)
    : io_(io),
      pool_(pool),
      store_(store),
      clock_(clock),
      log_(std::move(log)),
      sink_(sink),
      output_(std::make_unique<Output>(store)),
      metrics_(std::make_shared<Metrics>(*this)) {}

RuleManager::~RuleManager() { stop(); }

yaml::Diagnostics RuleManager::load(const std::vector<std::string>& files, const ManagerSettings& settings) {
  yaml::Diagnostics diagnostics;
  std::vector<GroupDefinition> definitions = load_rule_files(files, diagnostics);
  if (!diagnostics.empty()) {
    diagnostics.sort();
    metrics_->reload_ok = false;
    return diagnostics;
  }
  diagnostics.sort();
  for (const auto& w : diagnostics.warnings()) log_->warn("rule files: {}", w.to_string());
  // SLOs of one id in two files would write the same series and the same history file.
  std::map<std::string, std::string> slo_ids;
  for (const auto& def : definitions) {
    for (const auto& rule : def.rules) {
      if (!rule.slo) continue;
      const slo::Definition& d = *rule.slo;
      auto [it, fresh] = slo_ids.emplace(d.id(), def.file);
      if (!fresh) {
        diagnostics.error(
            d.position, "slos",
            "SLO \"" + d.name + "\" of service \"" + d.service + "\" is also defined in " + it->second);
      }
      if (settings.time_interval_names) {
        for (const std::string& name : d.exclude) {
          if (!settings.time_interval_names->contains(name))
            diagnostics.error(d.position, "slos",
                              "SLO \"" + d.name + "\" excludes time interval \"" + name +
                                  "\", which alerting's time_intervals do not define");
        }
      }
    }
  }
  if (!diagnostics.empty()) {
    diagnostics.sort();
    metrics_->reload_ok = false;
    return diagnostics;
  }
  std::vector<std::shared_ptr<Scheduled>> next;
  for (auto& def : definitions) {
    bool has_slos = false;
    for (const auto& rule : def.rules) has_slos = has_slos || rule.slo != nullptr;
    next.push_back(std::make_shared<Scheduled>(
        io_, std::make_unique<Group>(std::move(def), settings.evaluation_interval)));
    next.back()->has_slos = has_slos;
    Scheduled& n = *next.back();
    n.selects = detail::selected_names(n.group->definition());
    // A group of recording rules only alerts nobody: it keeps to its slots (and its series to one point
    // per interval), as do SLOs, whose budgets count per interval.
    bool alerts = false;
    for (const auto& rule : n.group->definition().rules)
      alerts = alerts || rule.kind == RuleDefinition::Kind::alerting;
    n.triggerable = alerts && !has_slos && !n.selects.empty();
  }
  // The groups being replaced start no evaluation from here on (a trigger could otherwise start one
  // after their state was taken, and the transition it makes would be lost); those already running
  // are waited for, a bounded while and outside the manager's lock (an evaluation takes it), so that
  // their state is the one taken.
  {
    std::vector<std::shared_ptr<Scheduled>> current;
    {
      std::lock_guard lock(mutex_);
      current = groups_;
    }
    for (auto& o : current) {
      std::lock_guard run_lock(o->run_mutex);
      o->cancelled = true;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (auto& o : current) {
      while (o->in_flight.load() > 0 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::vector<std::shared_ptr<Scheduled>> old;
  {
    std::lock_guard lock(mutex_);
    for (auto& n : next) {
      bool carried = false;
      for (auto& o : groups_) {
        if (o->group->key() != n->group->key()) continue;
        n->group->take_state_from(*o->group);
        n->slo_saved_at = o->slo_saved_at.load();
        {
          // Its rules write under the same keys: evaluation timestamps go on increasing across the reload.
          std::lock_guard run_lock(o->run_mutex);
          n->last_time = o->last_time;
        }
        carried = true;
      }
      // An SLO new to this daemon (the first load after a start, or added by a reload) starts from the
      // history it left in the state_dir, if any.
      if (!carried && n->has_slos && !settings.slo_state_dir.empty())
        restore_slos(*n, settings.slo_state_dir);
    }
    settings_ = settings;
    if (!restored_) {
      restore_state(next);
      restored_ = true;
    }
    old = std::move(groups_);
    groups_ = next;
  }
  for (auto& o : old) {
    o->cancelled = true;
    o->timer.cancel();
    std::lock_guard run_lock(o->run_mutex);
    o->trigger_timer.cancel();
  }
  std::map<std::string, Duration> keys;
  for (auto& n : next) {
    for (std::size_t i = 0; i < n->group->definition().rules.size(); ++i) {
      // A triggered group may write up to one point per kTriggerSpacing: its series keep that many.
      keys.emplace(n->group->output_key(i), n->triggerable
                                                ? std::min<Duration>(n->group->interval(), kTriggerSpacing)
                                                : n->group->interval());
    }
  }
  output_->set_rules(std::move(keys), clock_.now_ms());
  // Alerting learns that a removed group's alerts are gone from an empty report, at once, rather than
  // by their absence over several of the group's intervals.
  if (sink_ != nullptr) {
    std::set<std::string> kept;
    for (auto& n : next) kept.insert(n->group->key());
    for (auto& o : old) {
      if (!kept.contains(o->group->key())) sink_->send(o->group->key(), {}, clock_.now_ms());
    }
  }
  metrics_->reload_ok = true;
  {
    std::lock_guard lock(trigger_mutex_);
    triggerable_.clear();
    for (auto& n : next) {
      if (n->triggerable) triggerable_.push_back(n);
    }
    ++generation_;
    triggers_.clear();  // sources that are gone do not linger; the others match again on their next commit
  }
  for (auto& n : next) schedule(n);
  std::size_t rules = 0;
  for (auto& n : next) rules += n->group->definition().rules.size();
  log_->info("loaded {} rule group(s) with {} rule(s) from {} file(s)", next.size(), rules, files.size());
  return diagnostics;
}

void RuleManager::stop() {
  {
    std::lock_guard lock(mutex_);
    for (auto& s : groups_) {
      s->cancelled = true;
      s->timer.cancel();
      std::lock_guard run_lock(s->run_mutex);
      s->trigger_timer.cancel();
    }
  }
  save_slo_histories();
}

std::size_t RuleManager::save_slo_histories() {
  std::string dir;
  std::vector<std::shared_ptr<Scheduled>> groups;
  {
    std::lock_guard lock(mutex_);
    dir = settings_.slo_state_dir;
    groups = groups_;
  }
  if (dir.empty()) return 0;
  const std::uint64_t before = slo_writes_.load();
  for (auto& s : groups) {
    if (s->has_slos) save_slos(*s, dir);
  }
  return static_cast<std::size_t>(slo_writes_.load() - before);
}

void RuleManager::save_slos(Scheduled& s, const std::string& dir) {
  std::lock_guard write_lock(slo_mutex_);
  s.slo_saved_at = clock_.now_ms();
  for (const Group::SloView& v : s.group->slos(true)) {
    if (!v.definition || !v.status.time) continue;  // never evaluated: nothing to keep
    const std::string path = dir + "/" + v.definition->id() + ".slo";
    try {
      write_file_atomically(path, v.history);
      ++slo_writes_;
    } catch (const std::exception& e) {
      log_->error("cannot save the budget history of SLO {}: {}", v.definition->name, e.what());
    }
  }
}

void RuleManager::restore_slos(Scheduled& s, const std::string& dir) {
  for (const Group::SloView& v : s.group->slos(false)) {
    const std::string path = dir + "/" + v.definition->id() + ".slo";
    std::error_code size_ec;
    if (!std::filesystem::exists(path, size_ec)) continue;  // a new SLO
    // The largest history is a 90-day window of 1-minute buckets and its 6 hours (about 3 MB): a file
    // larger than that, or not a regular file (a FIFO, a device), is refused unread.
    constexpr std::uintmax_t kMaxHistoryBytes = 8u << 20;
    std::string error;
    std::string bytes;
    if (!std::filesystem::is_regular_file(path, size_ec)) {
      error = "not a regular file";
    } else if (const auto size = std::filesystem::file_size(path, size_ec);
               size_ec || size > kMaxHistoryBytes) {
      error = size_ec ? size_ec.message() : std::to_string(size) + " bytes, more than any history";
    } else {
      std::ifstream in(path, std::ios::binary);
      bytes.resize(static_cast<std::size_t>(size));
      if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) error = "cannot read it";
    }
    if (error.empty()) error = s.group->restore_slo(v.definition->id(), bytes);
    if (error.empty()) {
      log_->info("restored the budget history of SLO {} from {}", v.definition->name, path);
      continue;
    }
    // Worth less than running: moved aside for a post-mortem, and the SLO starts afresh.
    const std::string aside = path + ".corrupt-" + std::to_string(clock_.now_ms() / 1000);
    std::error_code ec;
    std::filesystem::rename(path, aside, ec);
    log_->error("the budget history of SLO {} in {} cannot be used ({}); {} and starting without it",
                v.definition->name, path, error,
                ec ? "cannot move it aside: " + ec.message() : "moved it to " + aside);
  }
}

Timestamp RuleManager::slot_offset(const std::string& group_key, Duration interval) {
  const auto ms =
      std::max<Timestamp>(1, std::chrono::duration_cast<std::chrono::milliseconds>(interval).count());
  return static_cast<Timestamp>(std::hash<std::string>{}(group_key) % static_cast<std::size_t>(ms));
}

void RuleManager::schedule(const std::shared_ptr<Scheduled>& s) {
  if (s->cancelled) return;
  // Each group evaluates at its slots, offset + k * interval, as Prometheus spreads groups over their
  // interval; an evaluation's timestamp is its slot's, not the time it happened to run, so that `for`
  // and keep_firing_for count whole intervals. The first slot is the first after the load.
  const Timestamp interval = std::max<Timestamp>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(s->group->interval()).count());
  const Timestamp now = clock_.now_ms();
  if (s->next_slot == kNoTime) {
    const Timestamp offset = slot_offset(s->group->key(), s->group->interval());
    const Timestamp adjusted = now - offset;
    Timestamp slot = adjusted - ((adjusted % interval) + interval) % interval + offset;  // the last, <= now
    s->next_slot = slot + interval;
  }
  s->timer.expires_after(std::chrono::milliseconds(std::max<Timestamp>(0, s->next_slot - now)));
  s->timer.async_wait([this, s, interval](boost::system::error_code ec) {
    if (ec || s->cancelled) return;
    Timestamp slot = s->next_slot;
    // Slots that went by while the timer was late are skipped, as Prometheus skips them: the newest
    // one due is evaluated.
    if (const Timestamp now = clock_.now_ms(); now >= slot + interval) {
      const Timestamp skipped = (now - slot) / interval;
      s->missed += static_cast<std::uint64_t>(skipped);
      slot += skipped * interval;
    }
    s->next_slot = slot + interval;
    request_slot(s, slot);
    schedule(s);
  });
}

void RuleManager::request_slot(const std::shared_ptr<Scheduled>& s, Timestamp slot) {
  std::lock_guard lock(s->run_mutex);
  // A slot still waiting for the evaluation before it to finish is passed over for this newer one.
  if (s->pending_slot != kNoTime) ++s->missed;
  s->pending_slot = slot;
  if (!s->running) {
    s->running = true;
    asio::post(pool_, [this, s] { run_pending(s); });
  }
}

void RuleManager::trigger(const std::shared_ptr<Scheduled>& s, Timestamp t) {
  if (s->cancelled) return;
  std::lock_guard lock(s->run_mutex);
  s->pending_trigger = std::max(s->pending_trigger, t);
  if (s->running) return;  // the evaluation queued or running takes it, or the one after it
  s->running = true;
  const auto wait = s->last_started + kTriggerSpacing - std::chrono::steady_clock::now();
  if (wait <= decltype(wait)::zero()) {
    asio::post(pool_, [this, s] { run_pending(s); });
    return;
  }
  // Cancelled (a reload, stop()): run_pending sees the group cancelled and settles it.
  s->trigger_timer.expires_after(wait);
  s->trigger_timer.async_wait(
      [this, s](boost::system::error_code) { asio::post(pool_, [this, s] { run_pending(s); }); });
}

// On the pool, one call per group at a time: evaluates what is pending until nothing is.
void RuleManager::run_pending(const std::shared_ptr<Scheduled>& s) {
  for (;;) {
    Timestamp t = kNoTime;
    bool by_trigger = false;
    std::uint64_t concurrent = 0;
    {
      std::lock_guard lock(s->run_mutex);
      if (s->cancelled || (s->pending_slot == kNoTime && s->pending_trigger == kNoTime)) {
        s->running = false;
        return;
      }
      // A slot at or before the last evaluation is covered by it (a triggered evaluation went past it).
      if (s->pending_slot > s->last_time) t = s->pending_slot;
      // Only a trigger, and the last evaluation began less than the spacing ago: wait out the rest,
      // still running (so a group that is always busy is not evaluated back to back by triggers).
      if (t == kNoTime && s->pending_trigger != kNoTime) {
        const auto wait = s->last_started + kTriggerSpacing - std::chrono::steady_clock::now();
        if (wait > decltype(wait)::zero()) {
          s->pending_slot = kNoTime;
          s->trigger_timer.expires_after(wait);
          s->trigger_timer.async_wait(
              [this, s](boost::system::error_code) { asio::post(pool_, [this, s] { run_pending(s); }); });
          return;
        }
      }
      if (s->pending_trigger != kNoTime) {
        // The commit came after the last evaluation began, which may not have seen it: its time, or
        // just after the last evaluation's when that was at the commit's time or later.
        const Timestamp at = std::max(s->pending_trigger, s->last_time + 1);
        if (at > t) {
          t = at;
          by_trigger = true;
        }
      }
      s->pending_slot = s->pending_trigger = kNoTime;
      if (t == kNoTime) continue;
      s->last_time = t;
      s->last_started = std::chrono::steady_clock::now();
      concurrent = ++s->in_flight;  // under the lock: a reload that cancels the group then sees it
    }
    for (std::uint64_t seen = s->max_in_flight.load(); seen < concurrent;) {
      if (s->max_in_flight.compare_exchange_weak(seen, concurrent)) break;
    }
    evaluate(s, t);
    --s->in_flight;
    ++s->evaluations;
    if (by_trigger) ++s->triggered;
  }
}

void RuleManager::samples_committed(const std::string& source,
                                    const std::shared_ptr<const std::vector<std::string>>& metric_names,
                                    Timestamp t) {
  if (!metric_names) return;
  std::vector<std::shared_ptr<Scheduled>> groups;
  {
    std::lock_guard lock(trigger_mutex_);
    if (triggerable_.empty()) return;
    auto it = triggers_.find(source);
    if (it == triggers_.end()) it = triggers_.emplace(source, Triggers{}).first;
    Triggers& entry = it->second;
    if (entry.names != metric_names || entry.generation != generation_) {
      entry.names = metric_names;
      entry.generation = generation_;
      entry.groups.clear();
      for (const auto& s : triggerable_) {
        for (const std::string& name : *metric_names) {
          if (!s->selects.may_select(name)) continue;
          entry.groups.push_back(s);
          break;
        }
      }
    }
    groups = entry.groups;
  }
  for (const auto& s : groups) trigger(s, t);
}

RuleManager::EvaluationCounts RuleManager::evaluation_counts(const std::string& group_key) const {
  std::lock_guard lock(mutex_);
  for (const auto& s : groups_) {
    if (s->group->key() != group_key) continue;
    std::lock_guard run_lock(s->run_mutex);
    return {s->evaluations.load(), s->triggered.load(), s->max_in_flight.load(),
            s->last_time == kNoTime ? 0 : s->last_time};
  }
  return {};
}

void RuleManager::evaluate(const std::shared_ptr<Scheduled>& s, Timestamp t) {
  ManagerSettings settings;
  {
    std::lock_guard lock(mutex_);
    settings = settings_;
  }
  promql::Engine engine(settings.engine);
  std::vector<alerting::Alert> alerts =
      s->group->evaluate(EvalContext{engine, store_, *output_, t, std::move(settings.eval)});
  const auto health = s->group->health();
  for (std::size_t i = 0; i < health.size(); ++i) {
    const auto& h = health[i];
    if (!h.last_error.empty() && h.failures == 1) {
      log_->warn("rule {} in group {} failed: {}", s->group->definition().rules[i].name, s->group->key(),
                 h.last_error);
    }
    if (!h.template_error.empty() && h.template_failures == 1) {
      log_->warn("rule {} in group {}: error expanding template: {}", s->group->definition().rules[i].name,
                 s->group->key(), h.template_error);
    }
  }
  if (!settings.state_file.empty()) {
    std::string state = json_text(s->group->save_state());
    if (state != s->last_state) {
      s->last_state = std::move(state);
      persist_state();
    }
  }
  if (s->has_slos && !settings.slo_state_dir.empty() && !s->cancelled &&
      clock_.now_ms() - s->slo_saved_at.load() >= settings.slo_save_interval.count()) {
    save_slos(*s, settings.slo_state_dir);
  }
  // A group a reload replaced has handed its state on; what it found late is not news.
  if (sink_ != nullptr && !s->cancelled) sink_->send(s->group->key(), alerts, clock_.now_ms());
}

void RuleManager::evaluate_all_now() {
  std::vector<std::shared_ptr<Scheduled>> groups;
  {
    std::lock_guard lock(mutex_);
    groups = groups_;
  }
  for (auto& s : groups) {
    Timestamp t = clock_.now_ms();
    {
      std::lock_guard lock(s->run_mutex);
      s->last_time = std::max(s->last_time, t);
    }
    evaluate(s, t);
  }
}

void RuleManager::persist_state() {
  // One writer at a time, so that the newest state is the one left on disk; the manager's lock (the
  // APIs, /metrics, reloads) is not held across the write and its fsyncs.
  std::lock_guard write_lock(state_mutex_);
  std::string path;
  std::vector<std::shared_ptr<Scheduled>> groups;
  {
    std::lock_guard lock(mutex_);
    path = settings_.state_file;
    groups = groups_;
  }
  if (path.empty()) return;
  nlohmann::json saved = nlohmann::json::array();
  for (const auto& s : groups) {
    nlohmann::json g = s->group->save_state();
    if (!g["rules"].empty()) saved.push_back(std::move(g));
  }
  state_file_.set_path(std::move(path));
  try {
    if (state_file_.write(saved)) ++state_writes_;
  } catch (const std::exception& e) {
    log_->error("cannot save alert state: {}", e.what());
  }
}

void RuleManager::restore_state(std::vector<std::shared_ptr<Scheduled>>& groups) {
  state_file_.set_path(settings_.state_file);
  const std::string& path = state_file_.path();
  if (path.empty()) return;
  // A state file that cannot be used is moved aside and the daemon starts without it: alert state is
  // worth less than running.
  auto move_aside = [&](const std::string& why) {
    std::error_code ec;
    const std::string aside = state_file_.move_aside(clock_.now_ms(), ec);
    if (ec) {
      log_->error("alert state {} is corrupt ({}) and cannot be moved to {}: {}; starting without it", path,
                  why, aside, ec.message());
    } else {
      log_->error("alert state {} is corrupt; moved it to {} and starting without it: {}", path, aside, why);
    }
  };
  const AlertStateFile::Loaded loaded = state_file_.read();
  if (!loaded.found) return;
  if (!loaded.error.empty()) {
    move_aside(loaded.error);
    return;
  }
  std::size_t restored = 0;
  try {
    for (const auto& g : loaded.groups) {
      if (!g.is_object()) throw std::runtime_error("a group entry is not an object");
      const std::string key = g.value("group", "");
      for (auto& s : groups) {
        if (s->group->key() != key) continue;
        s->group->restore_state(g);
        restored += s->group->active_alerts().size();
      }
    }
  } catch (const std::exception& e) {
    // All or nothing: the groups are not scheduled yet, fresh ones replace the partly restored.
    for (auto& s : groups) s->group = std::make_unique<Group>(s->group->definition(), s->group->interval());
    move_aside(e.what());
    return;
  }
  log_->info("restored {} active alert(s) from {}", restored, path);
}

nlohmann::json RuleManager::rules_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json groups = nlohmann::json::array();
  // As Prometheus lists them: by file, then in the file's order.
  std::vector<const Group*> sorted;
  for (const auto& s : groups_) sorted.push_back(s->group.get());
  std::stable_sort(sorted.begin(), sorted.end(), [](const Group* a, const Group* b) {
    return a->definition().file < b->definition().file;
  });
  for (const Group* g : sorted) groups.push_back(detail::group_rules_json(*g));
  return {{"status", "success"}, {"data", {{"groups", groups}}}};
}

nlohmann::json RuleManager::slos_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json slos = nlohmann::json::array();
  for (const auto& s : groups_) {
    if (!s->has_slos) continue;
    for (auto& j : detail::group_slos_json(*s->group)) slos.push_back(std::move(j));
  }
  return {{"status", "success"}, {"data", {{"slos", slos}}}};
}

std::shared_ptr<prometheus::Collectable> RuleManager::metrics() const { return metrics_; }

}  // namespace tocsin::rules
