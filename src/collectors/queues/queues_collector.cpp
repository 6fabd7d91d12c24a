#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "collectors/queues/families.hpp"
#include "collectors/queues/parsers.hpp"
#include "collectors/queues/queues.hpp"
#include "collectors/redis/connection.hpp"
#include "tocsin/collectors/problem_log.hpp"

namespace tocsin::collectors {

namespace {

using namespace queues;
using redis::Command;
using redis::Connection;
using redis::ConnectionError;
using redis::ConnectionOptions;
using store::Batch;
using store::MetricType;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string first_line(const std::string& text, std::size_t max = 200) {
  std::string out = text.substr(0, std::min(text.find_first_of("\r\n"), max));
  return out.size() < text.size() && text.size() > max ? out + "..." : out;
}

// One round trip: commands sent in one write, each reply handed to its handler in order. Handlers
// may add commands to the next round.
struct Round {
  std::vector<Command> commands;
  std::vector<std::function<void(const Reply&)>> handlers;
  void add(Command command, std::function<void(const Reply&)> handler) {
    commands.push_back(std::move(command));
    handlers.push_back(std::move(handler));
  }
  bool empty() const { return commands.empty(); }
};

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

// What one cycle learned, emitted at its end.
struct QueueValues {
  std::optional<double> length;
  std::optional<double> latency;
  std::optional<double> in_progress;
  std::optional<double> failed;
  std::optional<double> scheduled;
  std::optional<double> deferred;
};

struct SidekiqState {
  std::map<std::string, QueueValues> queues;
  std::optional<double> processed, failed, scheduled, retry, dead;
  RetrySample retry_sample;
  bool retry_sampled = false;
  bool processes_read = false;
  double processes = 0, workers = 0, busy = 0, dead_processes = 0;
  std::map<std::pair<std::string, std::string>, double> host_processes;  // (host, quiet)
  std::map<std::string, double> host_memory;
  std::map<std::string, double> queue_workers, queue_processes, queue_busy;
  std::map<std::string, double> oldest_run_at;  // queue -> earliest run_at of its in-progress jobs
  std::set<std::string> live;                   // process keys counted live this cycle
};

struct WorkersState {
  bool read = false;
  double workers = 0, busy = 0, dead = 0;
};

struct GroupValues {
  double consumers = 0, pending = 0;
  std::optional<double> lag;
  std::optional<double> oldest_pending_idle;  // 0 when none pend; unknown when XPENDING failed
};

struct CycleState {
  double now = 0;  // epoch seconds
  SidekiqState sidekiq;
  std::map<std::string, QueueValues> celery, rq, lists;
  std::optional<double> celery_unacked, celery_overdue;
  WorkersState rq_workers;
  std::map<std::string, double> stream_length;
  std::map<std::pair<std::string, std::string>, GroupValues> groups;
  // Per system: queues found, and found but not reported (over max_queues).
  std::map<std::string, std::pair<double, double>, std::less<>> discovered;
  // (system, problem) -> count this cycle, with the first key it was seen on.
  std::map<std::pair<std::string, std::string>, std::pair<double, std::string>> problems;
};

// A pattern's SCAN, one step per cycle: keys seen in the last complete pass and in the current one.
struct PatternScan {
  std::string cursor = "0";
  std::set<std::string> previous;
  std::set<std::string> current;
  bool first_pass_done = false;
};

Labels series(std::string_view name) {
  return Labels::from_sorted({{std::string(kMetricNameLabel), std::string(name)}});
}

class QueuesCollector final : public Collector {
 public:
  QueuesCollector(const config::QueuesTargetConfig& config, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        target_("queues " + config.common.name + " (" + config.endpoint.to_string() + ")"),
        log_(log),
        problems_(log, "queues collector " + config.common.name),
        connection_(ConnectionOptions{config.endpoint, config.connect_timeout, config.read_timeout,
                                      config.write_timeout}) {
    for (const auto& list : config.lists) {
      if (!list.pattern.empty()) scans_.emplace(list.pattern, PatternScan{});
    }
  }

  std::string_view kind() const override { return "queues"; }
  const std::string& name() const override { return config_.common.name; }

  void collect(const CollectContext& ctx, Batch& out) override {
    collecting_ = true;
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }
    } done{collecting_};
    const auto trips_before = connection_.round_trips();
    const auto commands_before = connection_.commands_sent();
    std::string error;
    try {
      ensure_connected(ctx);
      const auto trips_cycle = connection_.round_trips();
      const auto commands_cycle = connection_.commands_sent();
      CycleState state;
      state.now = static_cast<double>(ctx.timestamp) / 1000.0;
      Round first, second, third;
      plan_sidekiq(state, first, second);
      plan_celery(state, first, second);
      plan_rq(state, first, second, third);
      plan_lists(state, first, second);
      plan_streams(state, first, second);
      run(first, ctx);
      run(second, ctx);
      run(third, ctx);
      emit(state, out);
      remember(state);
      out.describe("tocsin_queue_round_trips", MetricType::gauge,
                   "Round trips to Redis in the last cycle (a new connection's handshake not counted).");
      out.add(series("tocsin_queue_round_trips"),
              static_cast<double>(connection_.round_trips() - trips_cycle));
      out.describe("tocsin_queue_commands", MetricType::gauge, "Redis commands sent in the last cycle.");
      out.add(series("tocsin_queue_commands"),
              static_cast<double>(connection_.commands_sent() - commands_cycle));
    } catch (const Failure& e) {
      error = e.what();
    } catch (const ConnectionError& e) {
      error = e.what();
    } catch (const redis::ReplyError& e) {
      connection_.close();
      error = e.what();
    }
    {
      std::lock_guard lock(details_mutex_);
      details_["connected"] = connection_.connected();
      details_["last_error"] = error;
      details_["round_trips_last_cycle"] = connection_.round_trips() - trips_before;
      details_["commands_last_cycle"] = connection_.commands_sent() - commands_before;
    }
    if (!error.empty()) throw CollectError(target_ + ": " + error);
  }

  void describe_down(Batch& out) override {
    out.describe("tocsin_queue_up", MetricType::gauge,
                 "Whether the queues' Redis could be read (1) or not (0).");
    out.add(series("tocsin_queue_up"), 0);
  }

  void interrupt() override {
    if (collecting_) connection_.shutdown();
  }

  nlohmann::json details() const override {
    std::lock_guard lock(details_mutex_);
    return details_;
  }

 private:
  // --- connection -----------------------------------------------------------------------------

  void ensure_connected(const CollectContext& ctx) {
    if (connection_.connected()) return;
    if (SteadyClock::now() < next_connect_) throw Failure(last_connect_error_);
    try {
      connection_.connect(ctx.deadline);
      handshake(ctx);
    } catch (const ConnectionError& e) {
      back_off(e.what());
    } catch (const Failure& e) {
      back_off(e.what());
    } catch (const redis::ReplyError& e) {
      back_off(e.what());
    }
    backoff_ = milliseconds(0);
  }

  [[noreturn]] void back_off(const std::string& error) {
    connection_.close();
    const milliseconds max = config_.max_reconnect_backoff;
    backoff_ = backoff_.count() == 0 ? std::min(milliseconds(1000), max) : std::min(backoff_ * 2, max);
    next_connect_ = SteadyClock::now() + backoff_;
    last_connect_error_ = error;
    throw Failure(error);
  }

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
    commands.push_back({"PING"});
    std::vector<Reply> replies = connection_.pipeline(commands, ctx.deadline);
    std::size_t i = 0;
    if (auth && replies[i++].is_error()) {
      // The server's text (WRONGPASS ..., ERR invalid password) never holds the password.
      throw Failure("authentication" + (config_.user.empty() ? "" : " as user " + config_.user) +
                    " failed: " + first_line(replies[i - 1].str));
    }
    if (set_name) ++i;  // a refused CLIENT SETNAME leaves the connection unnamed, nothing more
    if (select && replies[i++].is_error() && !replies[i - 1].str.starts_with("NOAUTH")) {
      throw Failure("cannot select db " + std::to_string(config_.db) + ": " + first_line(replies[i - 1].str));
    }
    const Reply& ping = replies[i];
    if (ping.is_error()) {
      if (ping.str.starts_with("NOAUTH")) {
        throw Failure("the server requires authentication (" + first_line(ping.str) +
                      "); set password or password_file, or a password in the address");
      }
      throw Failure("PING failed: " + first_line(ping.str));
    }
  }

  void run(Round& round, const CollectContext& ctx) {
    if (round.empty()) return;
    std::vector<Reply> replies = connection_.pipeline(round.commands, ctx.deadline);
    for (std::size_t i = 0; i < replies.size(); ++i) round.handlers[i](replies[i]);
  }

  // What details() serves besides the connection: per system, the queues found and left out, and the
  // problems of the last cycle with the first key each was seen at.
  void remember(const CycleState& s) {
    nlohmann::json systems = nlohmann::json::object();
    for (const auto& [system, d] : s.discovered) {
      systems[system] = {{"discovered", d.first}, {"unreported", d.second}};
    }
    nlohmann::json problems = nlohmann::json::array();
    for (const auto& [key, entry] : s.problems) {
      problems.push_back({{"system", key.first},
                          {"problem", key.second},
                          {"count", entry.first},
                          {"first_key", entry.second}});
    }
    std::lock_guard lock(details_mutex_);
    details_["systems"] = std::move(systems);
    details_["problems_last_cycle"] = std::move(problems);
  }

  // --- problems and caps ----------------------------------------------------------------------

  void problem(CycleState& s, std::string_view system, Problem p, const std::string& key) {
    auto& entry = s.problems[{std::string(system), std::string(problem_name(p))}];
    if (entry.first == 0) entry.second = key;
    entry.first += 1;
  }

  // A reply that should be a number: its value, or a counted problem.
  std::optional<double> number(CycleState& s, std::string_view system, const Reply& r,
                               const std::string& key) {
    if (is_wrong_type(r)) {
      problem(s, system, Problem::wrong_type, key);
      return std::nullopt;
    }
    auto v = reply_integer(r);
    if (!v) {
      problem(s, system, Problem::bad_reply, key);
      return std::nullopt;
    }
    return static_cast<double>(*v);
  }

  // Sorted names, cut to max_queues; the discovered and unreported counts are kept for the cycle.
  std::vector<std::string> capped(CycleState& s, std::string_view system, std::vector<std::string> names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    const double found = static_cast<double>(names.size());
    double left_out = 0;
    if (names.size() > config_.max_queues) {
      left_out = static_cast<double>(names.size() - config_.max_queues);
      names.resize(config_.max_queues);
    }
    auto& d = s.discovered[std::string(system)];
    d.first += found;
    d.second += left_out;
    return names;
  }

  std::string sk(std::string_view key) const { return config_.sidekiq.key_prefix + std::string(key); }

  // --- Sidekiq --------------------------------------------------------------------------------

  void plan_sidekiq(CycleState& s, Round& first, Round& second) {
    if (!config_.sidekiq.enabled) return;
    auto& st = s.sidekiq;
    const std::uint64_t max_bytes = config_.max_job_bytes;
    first.add({"SMEMBERS", sk("queues")}, [this, &s, &second, max_bytes](const Reply& r) {
      auto names = reply_strings(r);
      if (!names) {
        problem(s, kSidekiq, is_wrong_type(r) ? Problem::wrong_type : Problem::bad_reply, sk("queues"));
        return;
      }
      for (const std::string& name : capped(s, kSidekiq, std::move(*names))) {
        const std::string key = sk("queue:" + name);
        s.sidekiq.queues[name];
        second.add({"LLEN", key}, [this, &s, name, key](const Reply& r) {
          s.sidekiq.queues[name].length = number(s, kSidekiq, r, key);
        });
        second.add({"LINDEX", key, "-1"}, [this, &s, name, key, max_bytes](const Reply& r) {
          auto& q = s.sidekiq.queues[name];
          if (r.type == Reply::Type::nil) {
            q.latency = 0;  // empty: as Sidekiq's own Queue#latency
            return;
          }
          if (r.type != Reply::Type::string) {
            if (!is_wrong_type(r))
              problem(s, kSidekiq, Problem::bad_reply, key);  // LLEN counted a wrong type
            return;
          }
          JobTime t = sidekiq_job_time(r.str, max_bytes);
          if (t.problem != Problem::none) {
            problem(s, kSidekiq, t.problem, key);
            return;
          }
          q.latency = std::max(0.0, s.now - t.enqueued_at);
        });
      }
    });
    auto counter = [this, &s](std::string key, std::optional<double>& into) {
      return [this, &s, key = std::move(key), &into](const Reply& r) { into = number(s, kSidekiq, r, key); };
    };
    first.add({"GET", sk("stat:processed")}, counter(sk("stat:processed"), st.processed));
    first.add({"GET", sk("stat:failed")}, counter(sk("stat:failed"), st.failed));
    first.add({"ZCARD", sk("schedule")}, counter(sk("schedule"), st.scheduled));
    first.add({"ZCARD", sk("retry")}, counter(sk("retry"), st.retry));
    first.add({"ZCARD", sk("dead")}, counter(sk("dead"), st.dead));
    if (config_.sidekiq.retry_sample > 0) {
      // The tail: the jobs due latest are the most retried (Sidekiq's delay grows as retry_count^4),
      // so a lasting outage's deep retries are seen even when fresh failures outnumber the sample.
      first.add({"ZRANGE", sk("retry"), "-" + std::to_string(config_.sidekiq.retry_sample), "-1"},
                [this, &s, max_bytes](const Reply& r) {
                  auto jobs = reply_strings(r);
                  if (!jobs) {
                    if (!is_wrong_type(r)) problem(s, kSidekiq, Problem::bad_reply, sk("retry"));
                    return;  // a wrong type is counted once, by ZCARD
                  }
                  s.sidekiq.retry_sample = sidekiq_retry_sample(*jobs, max_bytes);
                  s.sidekiq.retry_sampled = true;
                  for (std::size_t i = 0; i < s.sidekiq.retry_sample.malformed; ++i) {
                    problem(s, kSidekiq, Problem::malformed_json, sk("retry"));
                  }
                  for (std::size_t i = 0; i < s.sidekiq.retry_sample.too_large; ++i) {
                    problem(s, kSidekiq, Problem::too_large, sk("retry"));
                  }
                });
    }
    if (!config_.sidekiq.processes) return;
    first.add({"SMEMBERS", sk("processes")}, [this, &s, &second, max_bytes](const Reply& r) {
      auto identities = reply_strings(r);
      if (!identities) {
        problem(s, kSidekiq, is_wrong_type(r) ? Problem::wrong_type : Problem::bad_reply, sk("processes"));
        return;
      }
      s.sidekiq.processes_read = true;
      // Processes are capped like queues, under their own system name in the discovered counts.
      for (const std::string& identity : capped(s, "sidekiq_processes", std::move(*identities))) {
        const std::string key = sk(identity);
        second.add({"HMGET", key, "info", "busy", "beat", "quiet", "rss"},
                   [this, &s, key, max_bytes](const Reply& r) { on_process(s, key, r, max_bytes); });
        for (const char* suffix : {":work", ":workers"}) {
          const std::string work_key = key + suffix;
          // After the HMGET above: a dead process's leftover work is not counted.
          second.add({"HGETALL", work_key}, [this, &s, key, work_key, max_bytes](const Reply& r) {
            if (s.sidekiq.live.contains(key)) on_work(s, work_key, r, max_bytes);
          });
        }
      }
    });
  }

  void on_process(CycleState& s, const std::string& key, const Reply& r, std::uint64_t max_bytes) {
    auto& st = s.sidekiq;
    if (is_wrong_type(r)) {
      problem(s, kSidekiq, Problem::wrong_type, key);
      st.dead_processes += 1;
      return;
    }
    SidekiqProcess p = sidekiq_process(r, max_bytes);
    if (p.problem == Problem::bad_reply) {
      problem(s, kSidekiq, Problem::bad_reply, key);
      return;
    }
    if (!p.exists) {
      // In the set, but its hash expired (60 s after its last beat): a process that died without
      // removing itself.
      st.dead_processes += 1;
      return;
    }
    if (p.problem != Problem::none) problem(s, kSidekiq, p.problem, key);
    const bool dead =
        !p.beat || s.now - *p.beat > std::chrono::duration<double>(config_.sidekiq.dead_after).count();
    if (dead) {
      st.dead_processes += 1;
      return;
    }
    st.live.insert(key);
    st.processes += 1;
    st.workers += p.concurrency;
    st.busy += p.busy;
    const std::string host = p.hostname.empty() ? "unknown" : p.hostname;
    st.host_processes[{host, p.quiet ? "true" : "false"}] += 1;
    st.host_memory[host] += p.rss_bytes;
    for (const std::string& q : p.queues) {
      st.queue_workers[q] += p.concurrency;
      st.queue_processes[q] += 1;
    }
  }

  void on_work(CycleState& s, const std::string& key, const Reply& r, std::uint64_t max_bytes) {
    if (is_wrong_type(r)) {
      problem(s, kSidekiq, Problem::wrong_type, key);
      return;
    }
    auto fields = reply_strings(r);
    if (!fields || fields->size() % 2 != 0) {
      problem(s, kSidekiq, Problem::bad_reply, key);
      return;
    }
    for (std::size_t i = 1; i < fields->size(); i += 2) {
      auto work = sidekiq_work((*fields)[i], max_bytes);
      if (!work) {
        problem(s, kSidekiq, (*fields)[i].size() > max_bytes ? Problem::too_large : Problem::malformed_json,
                key);
        continue;
      }
      s.sidekiq.queue_busy[work->queue] += 1;
      auto [it, inserted] = s.sidekiq.oldest_run_at.emplace(work->queue, work->run_at);
      if (!inserted) it->second = std::min(it->second, work->run_at);
    }
  }

  // --- Celery ---------------------------------------------------------------------------------

  void plan_celery(CycleState& s, Round& first, Round& second) {
    if (!config_.celery.enabled) return;
    const auto& cfg = config_.celery;
    auto names = std::make_shared<std::vector<std::string>>(cfg.queues);
    auto bindings_left = std::make_shared<std::size_t>(cfg.exchanges.size());
    auto plan_lengths = [this, &s, &second, names]() {
      for (const std::string& name : capped(s, kCelery, *names)) {
        s.celery[name].length = 0;
        std::vector<std::string> keys{name};
        for (int step : config_.celery.priority_steps) keys.push_back(celery_priority_list(name, step));
        for (const std::string& key : keys) {
          second.add({"LLEN", key}, [this, &s, name, key](const Reply& r) {
            auto v = number(s, kCelery, r, key);
            auto& q = s.celery[name];
            if (v && q.length) {
              *q.length += *v;
            } else {
              q.length.reset();  // one unreadable sub-list makes the sum unknown
            }
          });
        }
      }
    };
    for (const std::string& exchange : cfg.exchanges) {
      const std::string key = "_kombu.binding." + exchange;
      first.add({"SMEMBERS", key}, [this, &s, key, names, bindings_left, plan_lengths](const Reply& r) {
        if (auto members = reply_strings(r)) {
          for (const std::string& m : *members) {
            if (auto q = celery_binding_queue(m)) {
              names->push_back(*q);
            } else {
              problem(s, kCelery, Problem::bad_reply, key);
            }
          }
        } else {
          problem(s, kCelery, is_wrong_type(r) ? Problem::wrong_type : Problem::bad_reply, key);
        }
        if (--*bindings_left == 0) plan_lengths();
      });
    }
    if (cfg.exchanges.empty()) plan_lengths();
    first.add({"HLEN", cfg.unacked_key}, [this, &s](const Reply& r) {
      s.celery_unacked = number(s, kCelery, r, config_.celery.unacked_key);
    });
    const double cutoff = s.now - std::chrono::duration<double>(cfg.visibility_timeout).count();
    first.add({"ZCOUNT", cfg.unacked_index_key, "-inf", format_number(cutoff)}, [this, &s](const Reply& r) {
      s.celery_overdue = number(s, kCelery, r, config_.celery.unacked_index_key);
    });
  }

  // --- RQ -------------------------------------------------------------------------------------

  void plan_rq(CycleState& s, Round& first, Round& second, Round& third) {
    if (!config_.rq.enabled) return;
    first.add({"SMEMBERS", "rq:queues"}, [this, &s, &second, &third](const Reply& r) {
      auto keys = reply_strings(r);
      if (!keys) {
        problem(s, kRq, is_wrong_type(r) ? Problem::wrong_type : Problem::bad_reply, "rq:queues");
        return;
      }
      std::vector<std::string> names;
      constexpr std::string_view prefix = "rq:queue:";
      for (const std::string& k : *keys) {
        if (k.starts_with(prefix) && k.size() > prefix.size()) {
          names.push_back(k.substr(prefix.size()));
        } else {
          problem(s, kRq, Problem::bad_reply, "rq:queues");
        }
      }
      for (const std::string& name : capped(s, kRq, std::move(names))) {
        const std::string key = "rq:queue:" + name;
        s.rq[name];
        second.add({"LLEN", key},
                   [this, &s, name, key](const Reply& r) { s.rq[name].length = number(s, kRq, r, key); });
        second.add({"LINDEX", key, "0"}, [this, &s, &third, name, key](const Reply& r) {
          if (r.type == Reply::Type::nil) {
            s.rq[name].latency = 0;
            return;
          }
          if (r.type != Reply::Type::string) {
            if (!is_wrong_type(r)) problem(s, kRq, Problem::bad_reply, key);
            return;
          }
          const std::string job_key = "rq:job:" + r.str;
          third.add({"HGET", job_key, "enqueued_at"}, [this, &s, name, job_key](const Reply& r) {
            if (r.type == Reply::Type::nil) return;  // taken (or expired) between the two round trips
            if (r.type != Reply::Type::string) {
              problem(s, kRq, is_wrong_type(r) ? Problem::wrong_type : Problem::bad_reply, job_key);
              return;
            }
            auto t = parse_iso8601_utc(r.str);
            if (!t) {
              problem(s, kRq, Problem::no_timestamp, job_key);
              return;
            }
            s.rq[name].latency = std::max(0.0, s.now - *t);
          });
        });
        auto registry = [this, &s, name](std::string key, std::optional<double> QueueValues::*field) {
          return [this, &s, name, key = std::move(key), field](const Reply& r) {
            s.rq[name].*field = number(s, kRq, r, key);
          };
        };
        second.add({"ZCARD", "rq:wip:" + name}, registry("rq:wip:" + name, &QueueValues::in_progress));
        second.add({"ZCARD", "rq:failed:" + name}, registry("rq:failed:" + name, &QueueValues::failed));
        second.add({"ZCARD", "rq:scheduled:" + name},
                   registry("rq:scheduled:" + name, &QueueValues::scheduled));
        second.add({"ZCARD", "rq:deferred:" + name}, registry("rq:deferred:" + name, &QueueValues::deferred));
      }
    });
    first.add({"SMEMBERS", "rq:workers"}, [this, &s, &second](const Reply& r) {
      auto keys = reply_strings(r);
      if (!keys) {
        problem(s, kRq, is_wrong_type(r) ? Problem::wrong_type : Problem::bad_reply, "rq:workers");
        return;
      }
      s.rq_workers.read = true;
      for (const std::string& key : capped(s, "rq_workers", std::move(*keys))) {
        second.add({"HMGET", key, "last_heartbeat", "state"}, [this, &s, key](const Reply& r) {
          if (is_wrong_type(r)) {
            problem(s, kRq, Problem::wrong_type, key);
            return;
          }
          if (r.type != Reply::Type::array || r.elements.size() != 2) {
            problem(s, kRq, Problem::bad_reply, key);
            return;
          }
          const Reply& beat = r.elements[0];
          std::optional<double> t;
          if (beat.type == Reply::Type::string) t = parse_iso8601_utc(beat.str);
          if (beat.type == Reply::Type::nil && r.elements[1].type == Reply::Type::nil) {
            s.rq_workers.dead += 1;  // registered, but its hash expired
            return;
          }
          if (!t) {
            problem(s, kRq, Problem::malformed_process, key);
            s.rq_workers.dead += 1;
            return;
          }
          if (s.now - *t > std::chrono::duration<double>(config_.rq.dead_after).count()) {
            s.rq_workers.dead += 1;
            return;
          }
          s.rq_workers.workers += 1;
          if (r.elements[1].type == Reply::Type::string && r.elements[1].str == "busy")
            s.rq_workers.busy += 1;
        });
      }
    });
  }

  // --- lists ----------------------------------------------------------------------------------

  // `scan` is the pattern's scan for a matched list (nullptr for a named one): a matched list that is
  // gone (LLEN 0: Redis deletes empty lists) is forgotten, so its series go stale.
  void plan_list(CycleState& s, Round& round, const config::QueueListConfig& cfg, const std::string& key,
                 PatternScan* scan) {
    const std::uint64_t max_bytes = config_.max_job_bytes;
    s.lists[key];
    round.add({"LLEN", key}, [this, &s, key, scan](const Reply& r) {
      auto v = number(s, kList, r, key);
      if (scan != nullptr && v && *v == 0) {
        s.lists.erase(key);
        scan->previous.erase(key);
        scan->current.erase(key);
        return;
      }
      if (auto it = s.lists.find(key); it != s.lists.end()) it->second.length = v;
    });
    if (cfg.timestamp_field.empty()) return;
    round.add({"LINDEX", key, cfg.oldest_at_head ? "0" : "-1"}, [this, &s, &cfg, key,
                                                                 max_bytes](const Reply& r) {
      if (r.type == Reply::Type::nil) {
        if (auto it = s.lists.find(key); it != s.lists.end()) it->second.latency = 0;
        return;
      }
      if (r.type != Reply::Type::string) {
        if (!is_wrong_type(r)) problem(s, kList, Problem::bad_reply, key);
        return;
      }
      const TimeUnit unit = cfg.unit == config::QueueListConfig::Unit::seconds        ? TimeUnit::seconds
                            : cfg.unit == config::QueueListConfig::Unit::milliseconds ? TimeUnit::milliseconds
                                                                                      : TimeUnit::automatic;
      JobTime t = json_field_time(r.str, cfg.timestamp_field, unit, max_bytes);
      if (t.problem != Problem::none) {
        problem(s, kList, t.problem, key);
        return;
      }
      if (auto it = s.lists.find(key); it != s.lists.end())
        it->second.latency = std::max(0.0, s.now - t.enqueued_at);
    });
  }

  void plan_lists(CycleState& s, Round& first, Round& second) {
    std::vector<std::string> named;
    for (const auto& cfg : config_.lists) {
      if (!cfg.key.empty()) named.push_back(cfg.key);
    }
    if (!named.empty()) {
      std::vector<std::string> kept = capped(s, kList, named);
      for (const auto& cfg : config_.lists) {
        if (!cfg.key.empty() && std::binary_search(kept.begin(), kept.end(), cfg.key)) {
          plan_list(s, first, cfg, cfg.key, nullptr);
        }
      }
    }
    for (const auto& cfg : config_.lists) {
      if (cfg.pattern.empty()) continue;
      PatternScan& scan = scans_.at(cfg.pattern);
      // One SCAN step per cycle; the lists matched are those of the last full pass and of this one so far.
      first.add({"SCAN", scan.cursor, "MATCH", cfg.pattern, "COUNT", std::to_string(config_.scan_count),
                 "TYPE", "list"},
                [this, &s, &second, &cfg, &scan](const Reply& r) {
                  if (r.type != Reply::Type::array || r.elements.size() != 2 ||
                      r.elements[0].type != Reply::Type::string) {
                    problem(s, kList, Problem::bad_reply, cfg.pattern);
                    return;
                  }
                  if (auto keys = reply_strings(r.elements[1])) {
                    for (auto& k : *keys) scan.current.insert(std::move(k));
                  }
                  scan.cursor = r.elements[0].str;
                  if (scan.cursor == "0") {
                    scan.previous = std::move(scan.current);
                    scan.current.clear();
                    scan.first_pass_done = true;
                  }
                  std::vector<std::string> keys(scan.previous.begin(), scan.previous.end());
                  keys.insert(keys.end(), scan.current.begin(), scan.current.end());
                  for (const std::string& key : capped(s, kList, std::move(keys))) {
                    if (s.lists.contains(key)) continue;  // also named
                    plan_list(s, second, cfg, key, &scan);
                  }
                });
    }
  }

  // --- streams --------------------------------------------------------------------------------

  void plan_streams(CycleState& s, Round& first, Round& second) {
    std::vector<std::string> keys;
    for (const auto& cfg : config_.streams) keys.push_back(cfg.key);
    if (keys.empty()) return;
    for (const std::string& key : capped(s, kStream, std::move(keys))) {
      first.add({"XLEN", key}, [this, &s, key](const Reply& r) {
        if (auto v = number(s, kStream, r, key)) s.stream_length[key] = *v;
      });
      first.add({"XINFO", "GROUPS", key}, [this, &s, &second, key](const Reply& r) {
        if (r.is_error()) {
          // A missing stream (ERR no such key) has no groups to report; other errors are problems.
          if (is_wrong_type(r)) {
            problem(s, kStream, Problem::wrong_type, key);
          } else if (r.str.find("no such key") == std::string::npos) {
            problem(s, kStream, Problem::bad_reply, key);
          }
          return;
        }
        auto groups = stream_groups(r);
        if (!groups) {
          problem(s, kStream, Problem::bad_reply, key);
          return;
        }
        for (const StreamGroup& g : *groups) {
          auto& v = s.groups[{key, g.name}];
          v.consumers = g.consumers;
          v.pending = g.pending;
          v.lag = g.lag;
          if (g.pending <= 0) {
            v.oldest_pending_idle = 0;
            continue;
          }
          second.add({"XPENDING", key, g.name, "-", "+", "1"},
                     [this, &s, key, name = g.name](const Reply& r) {
                       if (auto idle = stream_oldest_pending_idle(r)) {
                         s.groups[{key, name}].oldest_pending_idle = *idle;
                       } else {
                         problem(s, kStream, Problem::bad_reply, key);
                       }
                     });
        }
      });
    }
  }

  // --- output ---------------------------------------------------------------------------------

  void emit(CycleState& s, Batch& out) {
    out.describe("tocsin_queue_up", MetricType::gauge,
                 "Whether the queues' Redis could be read (1) or not (0).");
    out.add(series("tocsin_queue_up"), 1);
    if (config_.sidekiq.enabled) emit_sidekiq(s, out);
    emit_generic(s, out);
    emit_meta(s, out);
  }

  void emit_sidekiq(CycleState& s, Batch& out) {
    const auto& st = s.sidekiq;
    auto scalar = [&](std::string_view name, MetricType type, const char* help, std::optional<double> v) {
      out.describe(std::string(name), type, help);
      if (v) out.add(series(name), *v);
    };
    scalar("sidekiq_processed_jobs_total", MetricType::counter, "The total number of processed jobs.",
           st.processed);
    scalar("sidekiq_failed_jobs_total", MetricType::counter, "The total number of failed jobs.", st.failed);
    scalar("sidekiq_scheduled_jobs", MetricType::gauge,
           "The number of jobs scheduled for a future execution.", st.scheduled);
    scalar("sidekiq_retry_jobs", MetricType::gauge, "The number of jobs scheduled for the next try.",
           st.retry);
    scalar("sidekiq_dead_jobs", MetricType::gauge, "The number of jobs being dead.", st.dead);
    double enqueued = 0;
    out.describe("sidekiq_queue_enqueued_jobs", MetricType::gauge,
                 "The number of enqueued jobs in the queue.");
    out.describe("sidekiq_queue_latency_seconds", MetricType::gauge,
                 "The number of seconds between oldest job being pushed to the queue and current time.");
    for (const auto& [name, q] : st.queues) {
      if (q.length) {
        out.add("sidekiq_queue_enqueued_jobs", {{"name", name}}, *q.length);
        enqueued += *q.length;
      }
      if (q.latency && q.length) out.add("sidekiq_queue_latency_seconds", {{"name", name}}, *q.latency);
    }
    scalar("sidekiq_enqueued_jobs", MetricType::gauge, "The number of enqueued jobs.", enqueued);
    if (st.retry_sampled) {
      const auto& rs = st.retry_sample;
      scalar("tocsin_sidekiq_retry_depth_max", MetricType::gauge,
             "The highest retry_count among the sampled retry-set jobs (the ones due soonest).",
             rs.sampled ? std::optional<double>(rs.max_retry_count) : std::optional<double>(0));
      scalar("tocsin_sidekiq_retry_depth_p95", MetricType::gauge,
             "The 95th percentile (nearest rank) of retry_count among the sampled retry-set jobs.",
             rs.sampled ? std::optional<double>(rs.p95_retry_count) : std::optional<double>(0));
      scalar("tocsin_sidekiq_retry_sampled_jobs", MetricType::gauge,
             "Retry-set jobs read for the retry depth.", static_cast<double>(rs.sampled));
      scalar("tocsin_sidekiq_oldest_retry_age_seconds", MetricType::gauge,
             "Seconds since the first failure (failed_at) of the oldest sampled retry-set job; 0 when none.",
             rs.oldest_failed_at ? std::max(0.0, s.now - *rs.oldest_failed_at) : 0.0);
    }
    if (!st.processes_read) return;
    scalar("sidekiq_processes", MetricType::gauge, "The number of processes.", st.processes);
    scalar("sidekiq_workers", MetricType::gauge, "The number of workers across all the processes.",
           st.workers);
    scalar("sidekiq_busy_workers", MetricType::gauge, "The number of workers performing the job.", st.busy);
    scalar("tocsin_sidekiq_dead_processes", MetricType::gauge,
           "Processes in the processes set whose beat is older than dead_after (or whose hash expired).",
           st.dead_processes);
    out.describe("sidekiq_host_processes", MetricType::gauge, "The number of processes per host.");
    for (const auto& [key, n] : st.host_processes) {
      out.add("sidekiq_host_processes", {{"host", key.first}, {"quiet", key.second}}, n);
    }
    out.describe("tocsin_sidekiq_host_memory_bytes", MetricType::gauge,
                 "Resident memory (rss) of the live processes per host.");
    for (const auto& [host, bytes] : st.host_memory)
      out.add("tocsin_sidekiq_host_memory_bytes", {{"host", host}}, bytes);
    out.describe("sidekiq_queue_workers", MetricType::gauge, "The number of workers serving the queue.");
    for (const auto& [q, n] : st.queue_workers) out.add("sidekiq_queue_workers", {{"name", q}}, n);
    out.describe("sidekiq_queue_processes", MetricType::gauge, "The number of processes serving the queue.");
    for (const auto& [q, n] : st.queue_processes) out.add("sidekiq_queue_processes", {{"name", q}}, n);
    out.describe("sidekiq_queue_busy_workers", MetricType::gauge,
                 "The number of workers performing the job for the queue.");
    for (const auto& [q, n] : st.queue_busy) out.add("sidekiq_queue_busy_workers", {{"name", q}}, n);
    out.describe("sidekiq_queue_max_processing_time_seconds", MetricType::gauge,
                 "The number of seconds between oldest job of the queue being executed and current time.");
    for (const auto& [q, run_at] : st.oldest_run_at) {
      out.add("sidekiq_queue_max_processing_time_seconds", {{"name", q}}, std::max(0.0, s.now - run_at));
    }
  }

  void emit_generic(CycleState& s, Batch& out) {
    out.describe("tocsin_queue_length", MetricType::gauge, "Jobs waiting in the queue.");
    out.describe("tocsin_queue_latency_seconds", MetricType::gauge,
                 "Seconds the oldest waiting job has waited (0 when the queue is empty).");
    out.describe("tocsin_queue_in_progress_jobs", MetricType::gauge,
                 "Jobs taken by a worker and not finished.");
    out.describe("tocsin_queue_failed_jobs", MetricType::gauge, "Jobs in the queue's failed registry.");
    out.describe("tocsin_queue_scheduled_jobs", MetricType::gauge, "Jobs scheduled for later.");
    out.describe("tocsin_queue_deferred_jobs", MetricType::gauge, "Jobs waiting for their dependencies.");
    auto queues = [&](std::string_view system, const std::map<std::string, QueueValues>& map) {
      for (const auto& [name, q] : map) {
        std::vector<Label> labels{{"system", std::string(system)}, {"queue", name}};
        auto add = [&](const char* family, const std::optional<double>& v) {
          if (v) out.add(family, labels, *v);
        };
        add("tocsin_queue_length", q.length);
        if (q.length) add("tocsin_queue_latency_seconds", q.latency);
        add("tocsin_queue_in_progress_jobs", q.in_progress);
        add("tocsin_queue_failed_jobs", q.failed);
        add("tocsin_queue_scheduled_jobs", q.scheduled);
        add("tocsin_queue_deferred_jobs", q.deferred);
      }
    };
    queues(kCelery, s.celery);
    queues(kRq, s.rq);
    queues(kList, s.lists);
    for (const auto& [key, n] : s.stream_length) {
      out.add("tocsin_queue_length", {{"system", std::string(kStream)}, {"queue", key}}, n);
    }
    if (config_.celery.enabled) {
      out.describe("tocsin_queue_unacked_tasks", MetricType::gauge,
                   "Tasks delivered to a worker and not yet acknowledged (the unacked hash).");
      out.describe("tocsin_queue_unacked_overdue_tasks", MetricType::gauge,
                   "Unacknowledged tasks older than the visibility timeout: kombu will deliver them again.");
      if (s.celery_unacked) out.add("tocsin_queue_unacked_tasks", {{"system", "celery"}}, *s.celery_unacked);
      if (s.celery_overdue)
        out.add("tocsin_queue_unacked_overdue_tasks", {{"system", "celery"}}, *s.celery_overdue);
    }
    if (s.rq_workers.read) {
      out.describe("tocsin_queue_workers", MetricType::gauge, "Live workers (heartbeat within dead_after).");
      out.describe("tocsin_queue_busy_workers", MetricType::gauge, "Live workers running a job.");
      out.describe("tocsin_queue_dead_workers", MetricType::gauge,
                   "Registered workers whose heartbeat is older than dead_after (or whose hash expired).");
      const std::vector<Label> labels{{"system", std::string(kRq)}};
      out.add("tocsin_queue_workers", labels, s.rq_workers.workers);
      out.add("tocsin_queue_busy_workers", labels, s.rq_workers.busy);
      out.add("tocsin_queue_dead_workers", labels, s.rq_workers.dead);
    }
    if (!s.groups.empty()) {
      out.describe(
          "tocsin_queue_group_lag", MetricType::gauge,
          "Entries of the stream not yet delivered to the consumer group (XINFO GROUPS lag; Redis 7+).");
      out.describe("tocsin_queue_group_pending", MetricType::gauge,
                   "Entries delivered to the group's consumers and not acknowledged.");
      out.describe("tocsin_queue_group_consumers", MetricType::gauge, "Consumers in the group.");
      out.describe("tocsin_queue_group_oldest_pending_idle_seconds", MetricType::gauge,
                   "Idle time of the oldest pending entry (XPENDING), 0 when none pend.");
    }
    for (const auto& [key, g] : s.groups) {
      std::vector<Label> labels{
          {"system", std::string(kStream)}, {"queue", key.first}, {"group", key.second}};
      if (g.lag) out.add("tocsin_queue_group_lag", labels, *g.lag);
      out.add("tocsin_queue_group_pending", labels, g.pending);
      out.add("tocsin_queue_group_consumers", labels, g.consumers);
      if (g.oldest_pending_idle) {
        out.add("tocsin_queue_group_oldest_pending_idle_seconds", labels, *g.oldest_pending_idle);
      }
    }
  }

  void emit_meta(CycleState& s, Batch& out) {
    out.describe("tocsin_queue_discovered", MetricType::gauge,
                 "Queues (or processes, workers) found in the system's registry keys this cycle.");
    out.describe("tocsin_queue_unreported", MetricType::gauge,
                 "Queues found but not reported: over max_queues (the first by name are kept).");
    for (const auto& entry : s.discovered) {
      const std::string& system = entry.first;  // named: clang 14 cannot capture a structured binding
      const auto& d = entry.second;
      out.add("tocsin_queue_discovered", {{"system", system}}, d.first);
      out.add("tocsin_queue_unreported", {{"system", system}}, d.second);
      const std::string subject = "cap " + system;
      if (d.second > 0) {
        // The same text while the cap binds, whatever the counts: said once.
        problems_.report(
            subject, spdlog::level::warn,
            system + ": more than max_queues (" + std::to_string(config_.max_queues) +
                ") found: the first by name are reported, the rest counted in tocsin_queue_unreported");
      } else {
        problems_.clear(subject, [&] { return system + ": every queue is reported again"; });
      }
    }
    for (const auto& [key, entry] : s.problems) {
      problem_totals_[key] += entry.first;
      // No counts in the text: it is logged again only when the first key it was seen at changes.
      const std::string subject = "problem " + key.first + " " + key.second;
      problems_.report(subject, spdlog::level::warn,
                       key.first + ": items skipped as " + key.second + ", first at key \"" +
                           entry.second.substr(0, 200) + "\" (counted in tocsin_queue_problems_total)");
    }
    for (const auto& totals : problem_totals_) {
      const auto& key = totals.first;
      if (!s.problems.contains(key)) {
        problems_.clear("problem " + key.first + " " + key.second,
                        [&] { return key.first + ": no more " + key.second + " items"; });
      }
    }
    out.describe(
        "tocsin_queue_problems_total", MetricType::counter,
        "Stored items skipped because they could not be read: malformed_json, no_timestamp, too_large, "
        "wrong_type, bad_reply, malformed_process.");
    for (const auto& [key, total] : problem_totals_) {
      out.add("tocsin_queue_problems_total", {{"system", key.first}, {"problem", key.second}}, total);
    }
  }

  const config::QueuesTargetConfig config_;
  const std::string target_;
  std::shared_ptr<spdlog::logger> log_;
  ProblemLog problems_;
  Connection connection_;
  std::atomic<bool> collecting_{false};
  milliseconds backoff_{0};
  SteadyClock::time_point next_connect_{};
  std::string last_connect_error_;
  std::map<std::string, PatternScan> scans_;
  std::map<std::pair<std::string, std::string>, double> problem_totals_;
  mutable std::mutex details_mutex_;
  nlohmann::json details_ = nlohmann::json::object();
};

}  // namespace

std::unique_ptr<Collector> make_queues_collector(const config::QueuesTargetConfig& config,
                                                 std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<QueuesCollector>(config, std::move(log));
}

const Kind& queues_kind() {
  static constexpr Kind kind = define_kind<config::QueuesTargetConfig, make_queues_collector>(
      "queues", true, queues::kOwnLabels, queues::kFamilies);
  return kind;
}

}  // namespace tocsin::collectors
