#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "collectors/redis/connection.hpp"
#include "collectors/redis/families.hpp"
#include "collectors/redis/info_metrics.hpp"
#include "collectors/redis/parsers.hpp"
#include "collectors/redis/redis.hpp"
#include "collectors/redis/slowlog_tracker.hpp"
#include "tocsin/collectors/claim.hpp"
#include "tocsin/collectors/problem_log.hpp"

namespace tocsin::collectors {

namespace {

using namespace redis;
using store::Batch;
using store::MetricType;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Slow-log durations: Redis logs from slowlog-log-slower-than (10 ms by default) up.
constexpr double kSlowlogBuckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr std::size_t kSlowlogBucketCount = std::size(kSlowlogBuckets);
// Distinct `cmd` label values of redis_slowlog_entries_total; later ones count as "other". Command
// names come from Redis's command table, but modules add their own.
constexpr std::size_t kMaxSlowlogCommands = 200;
// Big keys remembered per pass for de-duplication (SCAN may return a key twice).
constexpr std::size_t kMaxBigKeysTracked = 10000;

// A failure of the whole cycle; collect() turns it into a CollectError naming the target.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

Labels series(std::string_view name) {
  return Labels::from_sorted({{std::string(kMetricNameLabel), std::string(name)}});
}

// An error reply that will not change while the connection lasts: the command is renamed, disabled
// or not granted to the user. Other errors (LOADING, BUSY) are passing.
bool is_refusal(const std::string& error) {
  return error.starts_with("NOPERM") || error.starts_with("ERR unknown command") ||
         error.starts_with("ERR unknown subcommand") || error.starts_with("ERR Unknown subcommand") ||
         error.starts_with("ERR wrong number of arguments");
}

std::string first_line(const std::string& text, std::size_t max = 200) {
  std::string out = text.substr(0, std::min(text.find_first_of("\r\n"), max));
  return out.size() < text.size() && text.size() > max ? out + "..." : out;
}

// A feature read with optional commands (CONFIG, SLOWLOG, LATENCY, MEMORY USAGE): on when configured,
// off for the rest of the connection once the server refuses it.
struct Feature {
  bool wanted = false;
  std::string refused;  // the server's refusal; empty while usable
  bool usable() const { return wanted && refused.empty(); }
};

struct SlowlogView {  // an entry as the API shows it
  std::int64_t id = 0;
  std::int64_t timestamp = 0;
  double duration_seconds = 0;
  std::string command;
  std::vector<std::string> arguments;  // empty unless show_arguments
  std::size_t argument_count = 0;
  std::string client_addr;
  std::string client_name;
};

struct KeyState {
  config::RedisKeyConfig key;
  int db = 0;
  std::string type;  // from TYPE; empty until known
  std::optional<std::int64_t> size;
  std::string error;  // why the size is unknown this cycle, when it is not the key's own doing
};

struct BigKey {
  std::string key;
  std::uint64_t bytes = 0;
};

struct BigKeyPass {
  std::uint64_t scanned = 0;
  std::uint64_t found = 0;
  std::map<std::string, std::uint64_t> keys;  // up to kMaxBigKeysTracked
  std::int64_t started_ms = 0;
  std::int64_t finished_ms = 0;
};

// What details() serves; copied under the mutex at the end of each cycle.
struct Details {
  bool connected = false;
  std::string last_error;
  std::optional<std::int64_t> next_attempt_ms;  // while disconnected: time left of the reconnect backoff
  std::string version;
  std::string role;
  std::string run_id;
  std::map<std::string, std::string> unavailable;
  std::map<std::string, std::string> config;
  std::size_t commands_last_cycle = 0;
  std::size_t round_trips_last_cycle = 0;
  std::optional<std::int64_t> slowlog_length;
  std::uint64_t slowlog_counted = 0;
  std::uint64_t slowlog_missed = 0;
  std::deque<SlowlogView> slowlog;  // newest first
  std::vector<LatencyEvent> latency;
  std::vector<KeyState> keys;
  nlohmann::json big_keys;
};

std::int64_t to_ms(SteadyClock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

class RedisCollector final : public Collector {
 public:
  RedisCollector(const config::RedisTargetConfig& config, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        target_("redis " + config.common.name + " (" + config.endpoint.to_string() + ")"),
        log_(log),
        problems_(log, "redis collector " + config.common.name),
        connection_(ConnectionOptions{config.endpoint, config.connect_timeout, config.read_timeout,
                                      config.write_timeout}) {
    config_feature_.wanted = !config.config_command.empty();
    slowlog_feature_.wanted = config.slowlog.enabled;
    latency_feature_.wanted = config.latency;
    big_keys_feature_.wanted = config.big_keys.enabled;
    for (const auto& key : config.keys) keys_.push_back({key, key.db.value_or(config.db), {}, {}, {}});
  }

  std::string_view kind() const override { return "redis"; }
  const std::string& name() const override { return config_.common.name; }

  void collect(const CollectContext& ctx, Batch& out) override {
    collecting_ = true;
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }
    } done{collecting_};
    commands_this_cycle_ = connection_.commands_sent();
    round_trips_this_cycle_ = connection_.round_trips();
    std::string error;
    try {
      collect_cycle(ctx, out);
    } catch (const Failure& e) {
      error = e.what();
    } catch (const ConnectionError& e) {
      error = e.what();
    } catch (const ReplyError& e) {
      // A reply of the wrong shape: the stream may be out of step with the commands, so start over.
      connection_.close();
      error = e.what();
    }
    finish_cycle(error);
    if (!error.empty()) throw CollectError(target_ + ": " + error);
  }

  void describe_down(Batch& out) override {
    out.describe("redis_up", MetricType::gauge, "Whether the Redis instance could be read (1) or not (0).");
    out.add(series("redis_up"), 0);
  }

  // Only a collection in flight is cut short; a late call must not break the next cycle's connection.
  void interrupt() override {
    if (collecting_) connection_.shutdown();
  }

  nlohmann::json details() const override {
    std::lock_guard lock(details_mutex_);
    return render_details(details_);
  }

  bool shared() const override { return config_.shared.enabled; }

  // The claim is a lease: SET NX PX takes the key when nobody holds it, and the script renews it
  // only while it still holds this daemon's value (a holder whose lease ran out never takes over
  // from the daemon that has it since). One round trip; the key lives in the target's db.
  ClaimResult claim(const CollectContext& ctx) override {
    collecting_ = true;
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }
    } done{collecting_};
    const Duration lease =
        config::lease_of(config_.shared, ctx.interval.count() > 0 ? ctx.interval : std::chrono::minutes(1));
    const std::string px = std::to_string(std::max<std::int64_t>(1, lease.count()));
    const std::string& owner = claim_owner();
    static constexpr const char* kRenew =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end "
        "return 0";
    std::string error;
    try {
      ensure_connected(ctx);
      std::vector<Reply> replies = connection_.pipeline(
          {{"SET", claim_key_, owner, "NX", "PX", px}, {"EVAL", kRenew, "1", claim_key_, owner, px}},
          ctx.deadline);
      if (replies.size() == 2) {
        const Reply& set = replies[0];
        const Reply& renew = replies[1];
        if (set.type == Reply::Type::status && set.str == "OK") return {ClaimAnswer::held, {}};
        if (renew.type == Reply::Type::integer && renew.integer == 1) return {ClaimAnswer::held, {}};
        if (!set.is_error() && !renew.is_error()) return {ClaimAnswer::taken, {}};
        // READONLY (a replica), NOPERM (an ACL without the key), NOSCRIPT, ...: nobody can tell.
        error = first_line(set.is_error() ? set.str : renew.str);
      } else {
        error = "unexpected replies to the claim";
      }
    } catch (const Failure& e) {
      error = e.what();
    } catch (const ConnectionError& e) {
      error = e.what();
    } catch (const ReplyError& e) {
      connection_.close();
      error = e.what();
    }
    return {ClaimAnswer::unreachable, target_ + ": cannot ask the claim: " + error};
  }

 private:
  // --- connection -----------------------------------------------------------------------------

  void ensure_connected(const CollectContext& ctx) {
    if (connection_.connected()) return;
    const auto now = SteadyClock::now();
    // The same text every cycle of an outage, so it is logged once; details() has the countdown.
    if (now < next_connect_) throw Failure(last_connect_error_);
    try {
      connection_.connect(ctx.deadline);
      handshake(ctx);
    } catch (const ConnectionError& e) {
      back_off(e.what());
    } catch (const Failure& e) {
      back_off(e.what());
    } catch (const ReplyError& e) {
      back_off(e.what());
    }
    backoff_ = milliseconds(0);
  }

  // Closes the connection and waits before the next attempt: 1 s, doubling up to
  // max_reconnect_backoff, so a down or refusing Redis is not hammered by short intervals.
  [[noreturn]] void back_off(const std::string& error) {
    connection_.close();
    const milliseconds max = config_.max_reconnect_backoff;
    backoff_ = backoff_.count() == 0 ? std::min(milliseconds(1000), max) : std::min(backoff_ * 2, max);
    next_connect_ = SteadyClock::now() + backoff_;
    last_connect_error_ = error;
    throw Failure(error);
  }

  // AUTH, CLIENT SETNAME, SELECT and INFO server in one round trip.
  void handshake(const CollectContext& ctx) {
    std::vector<Command> commands;
    const bool auth = !config_.password.empty();
    if (auth) {
      if (config_.user.empty()) {
        commands.push_back({"AUTH", config_.password.reveal()});
      } else {
        commands.push_back({"AUTH", config_.user, config_.password.reveal()});
      }
    }
    const bool set_name = !config_.client_name.empty();
    if (set_name) commands.push_back({"CLIENT", "SETNAME", config_.client_name});
    const bool select = config_.db != 0;
    if (select) commands.push_back({"SELECT", std::to_string(config_.db)});
    commands.push_back({"INFO", "server"});
    std::vector<Reply> replies = connection_.pipeline(commands, ctx.deadline);
    std::size_t i = 0;
    if (auth) {
      const Reply& r = replies[i++];
      if (r.is_error()) {
        // The server's text (WRONGPASS ..., ERR invalid password) never holds the password.
        throw Failure("authentication" + (config_.user.empty() ? "" : " as user " + config_.user) +
                      " failed: " + first_line(r.str));
      }
    }
    if (set_name) {
      const Reply& r = replies[i++];
      if (r.is_error() && !r.str.starts_with("NOAUTH")) {
        problems_.report("client setname", spdlog::level::info,
                         "CLIENT SETNAME refused (" + first_line(r.str) + "); the connection stays unnamed");
      }
    }
    if (select) {
      const Reply& r = replies[i++];
      if (r.is_error() && !r.str.starts_with("NOAUTH")) {
        throw Failure("cannot select db " + std::to_string(config_.db) + ": " + first_line(r.str));
      }
    }
    const Reply& info_reply = replies[i];
    check_info_reply(info_reply);
    Info server = parse_info(expect_string(info_reply, "INFO server"));
    const std::string version = server.text("redis_version");
    version_major_ = version.empty() ? 0 : std::atoi(version.c_str());
    // A new connection may meet a server that was restarted or reconfigured: ask again.
    config_feature_.refused.clear();
    slowlog_feature_.refused.clear();
    latency_feature_.refused.clear();
    big_keys_feature_.refused.clear();
    config_fetched_ = false;
    for (KeyState& k : keys_) k.type.clear();
    log_->debug("{}: connected to Redis {}", target_, version);
  }

  void check_info_reply(const Reply& reply) {
    if (!reply.is_error()) return;
    if (reply.str.starts_with("NOAUTH")) {
      throw Failure("the server requires authentication (" + first_line(reply.str) +
                    "); set password or password_file");
    }
    if (reply.str.starts_with("NOPERM")) {
      throw Failure("INFO refused (" + first_line(reply.str) + "); grant the user +info");
    }
    throw Failure("INFO failed: " + first_line(reply.str));
  }

  // --- the cycle ------------------------------------------------------------------------------

  struct Plan {
    std::size_t info = 0;
    std::optional<std::size_t> config;
    std::optional<std::size_t> slowlog_len;
    std::optional<std::size_t> slowlog_get;
    std::optional<std::size_t> latency;
    std::vector<std::pair<std::size_t, std::size_t>> keys;  // (key index, reply index)
    std::vector<std::pair<int, std::size_t>> selects;       // (db, reply index) of each SELECT
  };

  void collect_cycle(const CollectContext& ctx, Batch& out) {
    ensure_connected(ctx);

    std::vector<Command> commands;
    Plan plan;
    plan.info = commands.size();
    commands.push_back({"INFO", "ALL"});
    const auto now = SteadyClock::now();
    if (config_feature_.usable() &&
        (!config_fetched_ || now - config_fetched_at_ >= config_.config_refresh)) {
      plan.config = commands.size();
      if (version_major_ >= 7) {
        commands.push_back({config_.config_command, "GET", "maxclients", "io-threads", "databases",
                            "slowlog-max-len", "slowlog-log-slower-than", "latency-monitor-threshold"});
      } else {
        // Before 7.0 CONFIG GET takes one pattern: one call for all, as redis_exporter does every
        // scrape; tocsin does it once per config_refresh.
        commands.push_back({config_.config_command, "GET", "*"});
      }
    }
    const std::size_t page = std::clamp<std::size_t>(std::max<std::size_t>(config_.slowlog.entries, 10), 1,
                                                     config_.slowlog.max_fetch);
    if (slowlog_feature_.usable()) {
      plan.slowlog_len = commands.size();
      commands.push_back({"SLOWLOG", "LEN"});
      plan.slowlog_get = commands.size();
      commands.push_back({"SLOWLOG", "GET", std::to_string(page)});
    }
    if (latency_feature_.usable()) {
      plan.latency = commands.size();
      commands.push_back({"LATENCY", "LATEST"});
    }
    plan_keys(commands, plan);

    std::vector<Reply> replies = connection_.pipeline(commands, ctx.deadline);

    check_info_reply(replies[plan.info]);
    info_ = parse_info(expect_string(replies[plan.info], "INFO ALL"));
    if (info_.problems.empty()) {
      problems_.clear("info lines", [] { return "INFO reads cleanly again"; });
    } else {
      problems_.report("info lines", spdlog::level::warn,
                       "INFO: skipped " + std::to_string(info_.problems.size()) +
                           " unreadable line(s), first " + info_.problems.front());
    }
    if (plan.config) read_config(replies[*plan.config], now);

    out.describe("redis_up", MetricType::gauge, "Whether the Redis instance could be read (1) or not (0).");
    out.add(series("redis_up"), 1);
    InfoMetricsOptions options;
    options.now_seconds = static_cast<double>(ctx.timestamp) / 1000.0;
    if (auto v = config_number("databases")) options.databases = static_cast<int>(*v);
    options.config_maxclients = config_number("maxclients");
    options.config_io_threads = config_number("io-threads");
    add_info_metrics(info_, options, out);

    if (plan.slowlog_get)
      read_slowlog(ctx, replies[*plan.slowlog_len], replies[*plan.slowlog_get], page, out);
    if (plan.latency) read_latency(replies[*plan.latency], out);
    if (!plan.keys.empty()) read_keys(ctx, plan, replies, out);
    if (big_keys_feature_.usable()) scan_big_keys(ctx);
    if (big_keys_feature_.wanted) add_big_key_metrics(out);
  }

  void finish_cycle(const std::string& error) {
    std::lock_guard lock(details_mutex_);
    details_.connected = connection_.connected();
    details_.last_error = error;
    details_.next_attempt_ms.reset();
    if (!connection_.connected()) {
      details_.next_attempt_ms = std::max<std::int64_t>(0, to_ms(next_connect_ - SteadyClock::now()));
    }
    details_.commands_last_cycle = connection_.commands_sent() - commands_this_cycle_;
    details_.round_trips_last_cycle = connection_.round_trips() - round_trips_this_cycle_;
    if (!error.empty()) return;
    details_.version = info_.text("redis_version");
    details_.role = info_.text("role");
    details_.run_id = info_.text("run_id");
    details_.unavailable.clear();
    auto note = [&](const char* name, const Feature& f) {
      if (!f.refused.empty()) details_.unavailable[name] = f.refused;
    };
    note("config", config_feature_);
    note("slowlog", slowlog_feature_);
    note("latency", latency_feature_);
    note("big_keys", big_keys_feature_);
    details_.config = config_values_;
    details_.slowlog = slowlog_newest_;
    details_.slowlog_length = slowlog_length_;
    details_.slowlog_counted = slowlog_counted_;
    details_.slowlog_missed = slowlog_missed_;
    details_.latency = latency_events_;
    details_.keys = keys_;
    if (big_keys_feature_.wanted) details_.big_keys = big_keys_details();
  }

  // Leaves the feature off for the rest of the connection when the server refuses it for good;
  // reports either kind of failure once. Returns whether the reply is usable.
  bool feature_reply(Feature& feature, std::string_view name, const Reply& reply, std::string_view left_out) {
    const std::string subject(name);
    if (!reply.is_error()) {
      problems_.clear(subject, [&] { return std::string(name) + " works again"; });
      return true;
    }
    if (is_refusal(reply.str)) {
      feature.refused = first_line(reply.str);
      problems_.report(subject, spdlog::level::warn,
                       std::string(name) + " refused (" + feature.refused + "); " + std::string(left_out) +
                           " left out until the next connection");
    } else {
      problems_.report(subject, spdlog::level::warn,
                       std::string(name) + " failed (" + first_line(reply.str) + "); " +
                           std::string(left_out) + " left out this cycle");
    }
    return false;
  }

  void read_config(const Reply& reply, SteadyClock::time_point now) {
    if (!feature_reply(config_feature_, config_.config_command + " GET", reply,
                       "redis_config_io_threads and (before Redis 7) redis_config_maxclients")) {
      config_values_.clear();
      return;
    }
    auto all = parse_config_get(reply);
    config_values_.clear();
    for (const char* key : {"maxclients", "io-threads", "databases", "slowlog-max-len",
                            "slowlog-log-slower-than", "latency-monitor-threshold"}) {
      if (auto it = all.find(key); it != all.end()) config_values_[key] = it->second;
    }
    config_fetched_ = true;
    config_fetched_at_ = now;
  }

  std::optional<double> config_number(const std::string& key) const {
    auto it = config_values_.find(key);
    return it == config_values_.end() ? std::nullopt : parse_number(it->second);
  }

  // --- slow log -------------------------------------------------------------------------------

  void read_slowlog(const CollectContext& ctx, const Reply& len_reply, const Reply& get_reply,
                    std::size_t page, Batch& out) {
    if (!feature_reply(slowlog_feature_, "SLOWLOG", len_reply, "redis_slowlog_*")) return;
    if (!feature_reply(slowlog_feature_, "SLOWLOG", get_reply, "redis_slowlog_*")) return;
    const std::int64_t length = expect_integer(len_reply, "SLOWLOG LEN");
    std::vector<SlowlogEntry> entries = parse_slowlog_get(get_reply);
    const std::string run_id = info_.text("run_id");
    const SlowlogTracker::Look look{
        info_.number("uptime_in_seconds"),
        std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count()};
    if (page < config_.slowlog.max_fetch && tracker_.needs_longer_page(run_id, entries, page, length, look)) {
      // A burst: more new entries than the first page holds. One more round trip, bounded by max_fetch.
      std::vector<Reply> more =
          connection_.pipeline({{"SLOWLOG", "GET", std::to_string(config_.slowlog.max_fetch)}}, ctx.deadline);
      if (!feature_reply(slowlog_feature_, "SLOWLOG", more[0], "redis_slowlog_*")) return;
      entries = parse_slowlog_get(more[0]);
    }
    SlowlogTracker::Update update = tracker_.observe(run_id, entries, look);
    if (update.other_server) {
      log_->info(
          "{}: another server (run_id {}, up since before the last look): its slow log is history, not "
          "counted",
          target_, run_id);
    }
    for (const SlowlogEntry* e : update.fresh) count_slow_entry(*e);
    slowlog_missed_ += update.missed;
    remember_newest(entries, update);
    slowlog_length_ = length;

    out.describe("redis_slowlog_length", MetricType::gauge, "Total slowlog (SLOWLOG LEN).");
    out.add(series("redis_slowlog_length"), static_cast<double>(length));
    out.describe("redis_slowlog_last_id", MetricType::gauge,
                 "Last id of slowlog (the newest entry's id, 0 when empty).");
    out.add(series("redis_slowlog_last_id"), entries.empty() ? 0 : static_cast<double>(entries.front().id));
    out.describe("redis_last_slow_execution_duration_seconds", MetricType::gauge,
                 "The amount of time needed for last slow execution, in seconds.");
    out.add(series("redis_last_slow_execution_duration_seconds"),
            entries.empty() ? 0 : static_cast<double>(entries.front().duration_us) / 1e6);
    out.describe("redis_slowlog_entries_total", MetricType::counter,
                 "Slow-log entries by command name, each counted once when first read.");
    for (const auto& [cmd, count] : slowlog_by_command_)
      out.add("redis_slowlog_entries_total", {{"cmd", cmd}}, count);
    out.describe("redis_slowlog_entries_missed_total", MetricType::counter,
                 "Slow-log entries that left the log (rotation or SLOWLOG RESET) before they could be read.");
    out.add(series("redis_slowlog_entries_missed_total"), static_cast<double>(slowlog_missed_));
    out.describe("redis_slowlog_entry_duration_seconds", MetricType::histogram,
                 "Durations of the slow-log entries counted in redis_slowlog_entries_total.");
    double cumulative = 0;
    for (std::size_t i = 0; i < kSlowlogBucketCount; ++i) {
      cumulative += slowlog_buckets_[i];
      char le[32];
      auto [end, ec] = std::to_chars(le, le + sizeof le, kSlowlogBuckets[i]);
      out.add("redis_slowlog_entry_duration_seconds_bucket", {{"le", std::string(le, end)}}, cumulative);
    }
    out.add("redis_slowlog_entry_duration_seconds_bucket", {{"le", "+Inf"}},
            static_cast<double>(slowlog_counted_));
    out.add(series("redis_slowlog_entry_duration_seconds_sum"), slowlog_seconds_);
    out.add(series("redis_slowlog_entry_duration_seconds_count"), static_cast<double>(slowlog_counted_));
  }

  void count_slow_entry(const SlowlogEntry& e) {
    std::string cmd = e.command();
    if (cmd.empty()) cmd = "unknown";
    if (!slowlog_by_command_.contains(cmd) && slowlog_by_command_.size() >= kMaxSlowlogCommands)
      cmd = "other";
    slowlog_by_command_[cmd] += 1;
    const double seconds = static_cast<double>(e.duration_us) / 1e6;
    for (std::size_t i = 0; i < kSlowlogBucketCount; ++i) {
      if (seconds <= kSlowlogBuckets[i]) {
        slowlog_buckets_[i] += 1;
        break;
      }
    }
    slowlog_seconds_ += seconds;
    ++slowlog_counted_;
  }

  void remember_newest(const std::vector<SlowlogEntry>& newest_first, const SlowlogTracker::Update& update) {
    const std::size_t keep = config_.slowlog.entries;
    auto view = [&](const SlowlogEntry& e) {
      SlowlogView v;
      v.id = e.id;
      v.timestamp = e.timestamp;
      v.duration_seconds = static_cast<double>(e.duration_us) / 1e6;
      v.command = e.command();
      v.argument_count = e.args.empty() ? 0 : e.args.size() - 1;
      if (config_.slowlog.show_arguments && !e.args.empty())
        v.arguments.assign(e.args.begin() + 1, e.args.end());
      v.client_addr = e.client_addr;
      v.client_name = e.client_name;
      return v;
    };
    if (update.baseline || update.restarted) {
      slowlog_newest_.clear();
      for (const SlowlogEntry& e : newest_first) {
        if (slowlog_newest_.size() >= keep) break;
        slowlog_newest_.push_back(view(e));
      }
      return;
    }
    // Entries stay listed after SLOWLOG RESET: on-call wants to see what was slow, not what is left.
    for (const SlowlogEntry* e : update.fresh) slowlog_newest_.push_front(view(*e));
    while (slowlog_newest_.size() > keep) slowlog_newest_.pop_back();
  }

  // --- latency --------------------------------------------------------------------------------

  void read_latency(const Reply& reply, Batch& out) {
    if (!feature_reply(latency_feature_, "LATENCY LATEST", reply, "redis_latency_spike_*")) return;
    latency_events_ = parse_latency_latest(reply);
    if (latency_events_.empty()) return;
    out.describe("redis_latency_spike_last", MetricType::gauge,
                 "When the latency spike last occurred (LATENCY LATEST).");
    out.describe("redis_latency_spike_duration_seconds", MetricType::gauge,
                 "Length of the last latency spike in seconds (LATENCY LATEST).");
    for (const LatencyEvent& e : latency_events_) {
      out.add("redis_latency_spike_last", {{"event_name", e.event}}, static_cast<double>(e.timestamp));
      out.add("redis_latency_spike_duration_seconds", {{"event_name", e.event}},
              static_cast<double>(e.latest_ms) / 1e3);
    }
  }

  // --- named keys -----------------------------------------------------------------------------

  static const char* size_command(const std::string& type) {
    if (type == "string") return "STRLEN";
    if (type == "list") return "LLEN";
    if (type == "set") return "SCARD";
    if (type == "zset") return "ZCARD";
    if (type == "hash") return "HLEN";
    if (type == "stream") return "XLEN";
    return nullptr;
  }

  // Appends, per db, SELECT and one command per key: its size command when the type is known, else
  // TYPE (whose answer gets a second round trip). Ends back on the target's db.
  void plan_keys(std::vector<Command>& commands, Plan& plan, bool sizes_only = false) {
    if (keys_.empty()) return;
    int current = config_.db;
    std::set<int> dbs;
    for (const KeyState& k : keys_) dbs.insert(k.db);
    for (int db : dbs) {
      bool any = false;
      for (std::size_t i = 0; i < keys_.size(); ++i) {
        KeyState& k = keys_[i];
        if (k.db != db) continue;
        const char* size = size_command(k.type);
        if (sizes_only && size == nullptr) continue;
        if (!any && db != current) {
          plan.selects.emplace_back(db, commands.size());
          commands.push_back({"SELECT", std::to_string(db)});
          current = db;
        }
        any = true;
        plan.keys.emplace_back(i, commands.size());
        if (size != nullptr) {
          commands.push_back({size, k.key.key});
        } else {
          commands.push_back({"TYPE", k.key.key});
        }
      }
    }
    if (current != config_.db) {
      plan.selects.emplace_back(config_.db, commands.size());
      commands.push_back({"SELECT", std::to_string(config_.db)});
    }
  }

  // The dbs whose SELECT failed, with the reason: their keys' replies are about whichever db the
  // connection was on, so they are left out. Reported once per db (until SELECT works again). A
  // SELECT that fails while the connection is on that db already is harmless (a user without +select
  // on its own db). A failed SELECT back to the target's db would leave the connection on another db:
  // it is closed, so the next cycle's handshake starts clean.
  std::map<int, std::string> check_selects(const Plan& plan, const std::vector<Reply>& replies) {
    std::map<int, std::string> failed;
    int current = config_.db;
    for (std::size_t i = 0; i < plan.selects.size(); ++i) {
      const int db = plan.selects[i].first;
      const std::size_t reply_index = plan.selects[i].second;
      const Reply& r = replies[reply_index];
      const std::string subject = "select db " + std::to_string(db);
      if (!r.is_error()) {
        current = db;
        problems_.clear(subject, [&] { return "SELECT " + std::to_string(db) + " works again"; });
        continue;
      }
      if (current == db) continue;
      const std::string message = "SELECT " + std::to_string(db) + " failed (" + first_line(r.str) + ")";
      if (i + 1 == plan.selects.size() && db == config_.db) {
        connection_.close();
        throw Failure(message + " after reading the named keys of other dbs");
      }
      failed[db] = message;
      problems_.report(subject, spdlog::level::warn,
                       message + "; the named keys in db " + std::to_string(db) +
                           " are left out (grant +select, or check the db number)");
    }
    return failed;
  }

  void read_keys(const CollectContext& ctx, const Plan& plan, const std::vector<Reply>& replies, Batch& out) {
    bool typed = false;
    const std::map<int, std::string> unselected = check_selects(plan, replies);
    for (auto [index, reply_index] : plan.keys) {
      KeyState& k = keys_[index];
      const Reply& r = replies[reply_index];
      const std::string subject = "key " + std::to_string(k.db) + "/" + k.key.key;
      k.size.reset();
      k.error.clear();
      if (auto it = unselected.find(k.db); it != unselected.end()) {
        k.error = it->second;
        continue;
      }
      if (r.is_error()) {
        if (r.str.starts_with("WRONGTYPE")) {
          k.type.clear();  // the key was replaced by one of another type: TYPE it next cycle
        } else {
          problems_.report(subject, spdlog::level::warn,
                           "reading the size of " + subject + " failed: " + first_line(r.str));
        }
        continue;
      }
      if (size_command(k.type) != nullptr) {
        k.size = expect_integer(r, "key size");
        continue;
      }
      const std::string& type = expect_string(r, "TYPE");
      if (type == "none") {
        k.size = 0;  // a missing key (Redis deletes emptied lists, sets, ...) has size 0
      } else if (size_command(type) == nullptr) {
        problems_.report(
            subject, spdlog::level::warn,
            subject + " is a " + type + ", whose size tocsin cannot read; redis_key_size left out");
      } else {
        k.type = type;
        typed = true;
      }
    }
    if (typed) {
      Plan second;
      std::vector<Command> commands;
      plan_keys(commands, second, true);
      std::vector<Reply> sizes = connection_.pipeline(commands, ctx.deadline);
      const std::map<int, std::string> unselected_now = check_selects(second, sizes);
      for (auto [index, reply_index] : second.keys) {
        KeyState& k = keys_[index];
        const Reply& r = sizes[reply_index];
        if (auto it = unselected_now.find(k.db); it != unselected_now.end()) {
          k.size.reset();
          k.error = it->second;
          continue;
        }
        if (r.is_error()) {
          if (r.str.starts_with("WRONGTYPE")) k.type.clear();
          continue;
        }
        k.size = expect_integer(r, "key size");
      }
    }
    out.describe(
        "redis_key_size", MetricType::gauge,
        "The length or size of a configured key (LLEN, SCARD, ZCARD, HLEN, XLEN or STRLEN by type; 0 when "
        "missing).");
    for (const KeyState& k : keys_) {
      if (k.size)
        out.add("redis_key_size", {{"db", "db" + std::to_string(k.db)}, {"key", k.key.key}},
                static_cast<double>(*k.size));
    }
  }

  // --- big keys -------------------------------------------------------------------------------

  // Each round trip sizes the previous SCAN page (MEMORY USAGE ... SAMPLES n) and asks for the next
  // page, until the per-cycle budget is spent; the pass goes on next cycle from the saved cursor.
  void scan_big_keys(const CollectContext& ctx) {
    const auto start = SteadyClock::now();
    // Leave a quarter of the time to the deadline for committing the cycle.
    const auto limit = std::min(start + config_.big_keys.budget, ctx.deadline - (ctx.deadline - start) / 4);
    const std::string samples = std::to_string(config_.big_keys.samples);
    const std::string count = std::to_string(config_.big_keys.scan_count);
    // At least one round trip per cycle, so the pass progresses however slow the machine.
    do {
      if (big_pass_.started_ms == 0) big_pass_.started_ms = ctx.timestamp;
      std::vector<Command> commands;
      for (const std::string& key : pending_keys_)
        commands.push_back({"MEMORY", "USAGE", key, "SAMPLES", samples});
      const bool scan = !scan_done_;
      if (scan) commands.push_back({"SCAN", scan_cursor_, "COUNT", count});
      if (commands.empty()) {  // not reached: an empty last page completes the pass when it arrives
        finish_big_key_pass(ctx);
        break;
      }
      std::vector<Reply> replies = connection_.pipeline(commands, ctx.deadline);
      for (std::size_t i = 0; i < pending_keys_.size(); ++i) {
        const Reply& r = replies[i];
        if (r.is_error()) {
          feature_reply(big_keys_feature_, "MEMORY USAGE", r, "the big-key scan");
          if (!big_keys_feature_.usable()) return;
          continue;
        }
        if (r.type == Reply::Type::nil) continue;  // deleted since SCAN returned it
        const auto bytes =
            static_cast<std::uint64_t>(std::max<long long>(0, expect_integer(r, "MEMORY USAGE")));
        ++big_pass_.scanned;
        ++big_keys_scanned_total_;
        if (bytes < config_.big_keys.threshold_bytes) continue;
        auto it = big_pass_.keys.find(pending_keys_[i]);
        if (it != big_pass_.keys.end()) {
          it->second = bytes;  // seen before in this pass: SCAN may return a key twice
        } else {
          ++big_pass_.found;
          if (big_pass_.keys.size() < kMaxBigKeysTracked) big_pass_.keys.emplace(pending_keys_[i], bytes);
        }
      }
      pending_keys_.clear();
      if (scan) {
        const Reply& r = replies.back();
        if (r.is_error()) {
          feature_reply(big_keys_feature_, "SCAN", r, "the big-key scan");
          return;
        }
        ScanPage page = parse_scan(r);
        pending_keys_ = std::move(page.keys);
        scan_cursor_ = page.cursor;
        scan_done_ = page.cursor == "0";
        // The last page may be empty (always on an empty db; elsewhere as the hash table happens to
        // be laid out): nothing is left to size, so the pass is complete now.
        if (scan_done_ && pending_keys_.empty()) {
          finish_big_key_pass(ctx);
          break;
        }
      } else {
        // The last page is sized: the pass is complete.
        finish_big_key_pass(ctx);
        break;  // one pass per cycle at most, however small the keyspace
      }
    } while (SteadyClock::now() < limit);
  }

  void finish_big_key_pass(const CollectContext& ctx) {
    big_pass_.finished_ms = ctx.timestamp;
    last_big_pass_ = std::move(big_pass_);
    big_pass_ = BigKeyPass();
    ++big_key_passes_;
    scan_done_ = false;
    scan_cursor_ = "0";
  }

  void add_big_key_metrics(Batch& out) {
    const std::string db = "db" + std::to_string(config_.db);
    out.describe(
        "redis_big_keys", MetricType::gauge,
        "Keys at or over the big-key threshold found by the last complete sampled scan (during the first "
        "scan: found so far).");
    const BigKeyPass& shown = last_big_pass_ ? *last_big_pass_ : big_pass_;
    out.add("redis_big_keys", {{"db", db}}, static_cast<double>(shown.found));
    out.describe("redis_big_keys_threshold_bytes", MetricType::gauge,
                 "The big-key threshold (MEMORY USAGE bytes).");
    out.add(series("redis_big_keys_threshold_bytes"), static_cast<double>(config_.big_keys.threshold_bytes));
    out.describe("redis_big_keys_scanned_keys_total", MetricType::counter, "Keys sized by the big-key scan.");
    out.add(series("redis_big_keys_scanned_keys_total"), static_cast<double>(big_keys_scanned_total_));
    out.describe("redis_big_keys_scan_passes_total", MetricType::counter,
                 "Complete passes of the big-key scan.");
    out.add(series("redis_big_keys_scan_passes_total"), static_cast<double>(big_key_passes_));
  }

  nlohmann::json big_keys_details() const {
    auto pass_json = [&](const BigKeyPass& pass) {
      std::vector<BigKey> keys;
      for (const auto& [k, b] : pass.keys) keys.push_back({k, b});
      std::sort(keys.begin(), keys.end(), [](const BigKey& a, const BigKey& b) { return a.bytes > b.bytes; });
      if (keys.size() > config_.big_keys.report) keys.resize(config_.big_keys.report);
      nlohmann::json list = nlohmann::json::array();
      for (const BigKey& k : keys) list.push_back({{"key", k.key}, {"bytes", k.bytes}});
      nlohmann::json j = {{"scanned", pass.scanned}, {"found", pass.found}, {"keys", list}};
      if (pass.started_ms != 0) j["started"] = pass.started_ms / 1000;
      if (pass.finished_ms != 0) j["finished"] = pass.finished_ms / 1000;
      return j;
    };
    nlohmann::json j = {{"db", config_.db},
                        {"threshold_bytes", config_.big_keys.threshold_bytes},
                        {"passes", big_key_passes_},
                        {"current", pass_json(big_pass_)}};
    j["last_complete"] = last_big_pass_ ? pass_json(*last_big_pass_) : nlohmann::json(nullptr);
    return j;
  }

  // --- details --------------------------------------------------------------------------------

  nlohmann::json render_details(const Details& d) const {
    nlohmann::json j = {{"address", config_.endpoint.to_string()},
                        {"db", config_.db},
                        {"connected", d.connected},
                        {"commands_last_cycle", d.commands_last_cycle},
                        {"round_trips_last_cycle", d.round_trips_last_cycle}};
    if (!d.last_error.empty()) j["last_error"] = d.last_error;
    if (d.next_attempt_ms) j["next_attempt_in_seconds"] = (*d.next_attempt_ms + 999) / 1000;
    if (!d.version.empty()) j["server"] = {{"version", d.version}, {"role", d.role}, {"run_id", d.run_id}};
    j["unavailable"] = d.unavailable;
    j["config"] = d.config;
    if (config_.slowlog.enabled) {
      nlohmann::json entries = nlohmann::json::array();
      for (const SlowlogView& e : d.slowlog) {
        nlohmann::json entry = {{"id", e.id},
                                {"time", e.timestamp},
                                {"duration_seconds", e.duration_seconds},
                                {"command", e.command},
                                {"argument_count", e.argument_count},
                                {"client_addr", e.client_addr},
                                {"client_name", e.client_name}};
        if (config_.slowlog.show_arguments) entry["arguments"] = e.arguments;
        entries.push_back(std::move(entry));
      }
      j["slowlog"] = {
          {"length", d.slowlog_length ? nlohmann::json(*d.slowlog_length) : nlohmann::json(nullptr)},
          {"counted", d.slowlog_counted},
          {"missed", d.slowlog_missed},
          {"arguments_shown", config_.slowlog.show_arguments},
          {"newest", entries}};
    }
    if (config_.latency) {
      nlohmann::json events = nlohmann::json::array();
      for (const LatencyEvent& e : d.latency) {
        events.push_back(
            {{"event", e.event}, {"time", e.timestamp}, {"latest_ms", e.latest_ms}, {"max_ms", e.max_ms}});
      }
      j["latency"] = events;
    }
    if (!d.keys.empty()) {
      nlohmann::json keys = nlohmann::json::array();
      for (const KeyState& k : d.keys) {
        keys.push_back({{"db", k.db},
                        {"key", k.key.key},
                        {"type", k.type.empty() ? nlohmann::json(nullptr) : nlohmann::json(k.type)},
                        {"size", k.size ? nlohmann::json(*k.size) : nlohmann::json(nullptr)}});
        if (!k.error.empty()) keys.back()["error"] = k.error;
      }
      j["keys"] = keys;
    }
    if (!d.big_keys.is_null()) j["big_keys"] = d.big_keys;
    return j;
  }

  const config::RedisTargetConfig config_;
  const std::string target_;  // "redis <name> (<address>)": starts every error
  std::shared_ptr<spdlog::logger> log_;
  ProblemLog problems_;
  Connection connection_;
  const std::string claim_key_ = "tocsin:claim:redis:" + config_.common.name;

  milliseconds backoff_{0};
  SteadyClock::time_point next_connect_{};
  std::string last_connect_error_;
  int version_major_ = 0;

  Feature config_feature_;
  Feature slowlog_feature_;
  Feature latency_feature_;
  Feature big_keys_feature_;
  bool config_fetched_ = false;
  SteadyClock::time_point config_fetched_at_{};
  std::map<std::string, std::string> config_values_;

  Info info_;

  SlowlogTracker tracker_;
  std::map<std::string, double> slowlog_by_command_;
  double slowlog_buckets_[kSlowlogBucketCount] = {};
  double slowlog_seconds_ = 0;
  std::uint64_t slowlog_counted_ = 0;
  std::uint64_t slowlog_missed_ = 0;
  std::optional<std::int64_t> slowlog_length_;
  std::deque<SlowlogView> slowlog_newest_;

  std::vector<LatencyEvent> latency_events_;
  std::vector<KeyState> keys_;

  std::string scan_cursor_ = "0";
  bool scan_done_ = false;  // the last page of the pass is pending
  std::vector<std::string> pending_keys_;
  BigKeyPass big_pass_;
  std::optional<BigKeyPass> last_big_pass_;
  std::uint64_t big_keys_scanned_total_ = 0;
  std::uint64_t big_key_passes_ = 0;

  std::atomic<bool> collecting_{false};
  std::uint64_t commands_this_cycle_ = 0;
  std::uint64_t round_trips_this_cycle_ = 0;

  mutable std::mutex details_mutex_;
  Details details_;
};

}  // namespace

std::unique_ptr<Collector> make_redis_collector(const config::RedisTargetConfig& config,
                                                std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<RedisCollector>(config, std::move(log));
}

const Kind& redis_kind() {
  static constexpr Kind kind =
      define_kind<config::RedisTargetConfig, make_redis_collector, config::check_redis_interval>(
          "redis", true, redis::kOwnLabels, redis::kFamilies);
  return kind;
}

}  // namespace tocsin::collectors
