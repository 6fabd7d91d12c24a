#include <algorithm>
#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>
#include <unordered_set>

#include "collectors/postgres/conninfo.hpp"
#include "collectors/postgres/families.hpp"
#include "collectors/postgres/metrics.hpp"
#include "collectors/postgres/postgres.hpp"
#include "collectors/postgres/queries.hpp"
#include "collectors/postgres/rows.hpp"
#include "collectors/postgres/session.hpp"
#include "collectors/postgres/watchdog.hpp"
#include "tocsin/collectors/claim.hpp"

namespace tocsin::collectors {

namespace {

using postgres::ConnParams;
using postgres::MetricColumn;
using postgres::Query;
using postgres::QueryFailure;
using postgres::QueryResult;
using postgres::Row;
using postgres::Session;
using postgres::Table;
using store::Batch;
using store::MetricType;
using SteadyClock = std::chrono::steady_clock;

// How long a statement may go on after its cancel request before the connection is closed under it:
// a server that does not act on a cancel (stopped, partitioned away) must not hold a worker thread.
constexpr Duration kAbortGrace = std::chrono::seconds(2);

// How long a missing pg_stat_statements is taken as missing before looking again: it is often
// installed while tocsin runs (CREATE EXTENSION), and looking costs one catalog query.
constexpr auto kExtensionRecheck = std::chrono::minutes(5);

// Custom queries end this share of the cycle's budget (at most kCustomMarginMax) before its
// deadline: one slow custom query fails on its own instead of taking the cycle, and every metric
// already read, down with it.
constexpr int kCustomMarginDivisor = 5;
constexpr Duration kCustomMarginMax = std::chrono::seconds(1);

// How early a cycle may come and still run a query whose interval is nearly over (the scheduler's
// timestamps jitter by milliseconds; a whole cycle early must wait, or a 5m query would run every 19
// cycles of 15 s instead of 20).
constexpr Duration kIntervalSlack = std::chrono::seconds(1);

std::string seconds_text(Duration d) { return format_duration(d); }

// Describes each family once per batch. (The scheduler adds the instance's `target` label.)
class Emitter {
 public:
  explicit Emitter(Batch& out) : out_(out) {}

  void describe(std::string_view family, MetricType type, std::string_view help) {
    if (described_.insert(std::string(family)).second)
      out_.describe(std::string(family), type, std::string(help));
  }
  void add(std::string_view name, std::vector<Label> labels, double value) {
    out_.add(name, std::move(labels), value);
  }
  void add(const Labels& labels, double value, Timestamp at = store::kCommitTime) {
    out_.add(labels, value, at);
  }
  void gauge(std::string_view name, std::string_view help, double value, std::vector<Label> labels = {}) {
    describe(name, MetricType::gauge, help);
    add(name, std::move(labels), value);
  }
  void rows(const std::vector<Row>& rows, std::span<const MetricColumn> metrics) {
    for (const Row& row : rows) {
      for (std::size_t i = 0; i < metrics.size() && i < row.values.size(); ++i) {
        if (!row.values[i]) continue;
        describe(metrics[i].metric, metrics[i].type, metrics[i].help);
        add(metrics[i].metric, row.labels, *row.values[i]);
      }
    }
  }

 private:
  Batch& out_;
  std::set<std::string, std::less<>> described_;
};

// Capped exponential backoff between connection attempts.
class Backoff {
 public:
  Backoff(Duration initial, Duration max) : initial_(initial), max_(max) {}
  bool ready(SteadyClock::time_point now) const { return now >= next_; }
  void failed(SteadyClock::time_point now) {
    Duration wait = initial_;
    for (int i = 0; i < failures_ && wait < max_; ++i) wait *= 2;
    wait = std::min(wait, max_);
    next_ = now + wait;
    ++failures_;
  }
  void reset() {
    failures_ = 0;
    next_ = {};
  }
  int failures() const { return failures_; }
  SteadyClock::time_point next() const { return next_; }

 private:
  Duration initial_;
  Duration max_;
  int failures_ = 0;
  SteadyClock::time_point next_{};
};

// A connection to one database, with its reconnection state.
struct Link {
  Link(std::string db, Duration initial, Duration max) : dbname(std::move(db)), backoff(initial, max) {}
  std::string dbname;  // empty for the main link: the database the config names (or libpq's default)
  std::string describe;
  std::unique_ptr<Session> session;
  Backoff backoff;
  std::string error;  // why the last attempt failed; repeated unchanged while backing off
  std::uint64_t connects = 0;
};

struct QueryHealth {
  bool up = true;
  double duration = 0;
  double errors = 0;
  double timeouts = 0;
  std::string error;  // the last failure's message; empty while up
  // The last failure's kind: its SQLSTATE, or what ended it ("timeout", "connection", "unexpected
  // result", ...). Logged when it changes; a new message alone (it may quote changing data) is not.
  std::string failure;
  // A failure was logged and no recovery since. Recovery is logged at the end of a cycle, so that a
  // statement that succeeds and whose result then fails to parse is not "succeeds again" each time.
  bool logged_down = false;
};

struct CustomQuery {
  config::PostgresCustomQuery config;
  SteadyClock::time_point next_run{};
  std::vector<Row> rows;  // the last successful result, reported again until the next run
  bool has_rows = false;
  bool version_skipped = false;
};

// The result of a query with an interval, reported again until its next run.
struct Cached {
  Timestamp last_run = 0;  // the cycle's timestamp of the run
  Batch batch;             // what the run emitted: families and samples
};

struct StatementsState {
  bool checked = false;
  bool available = false;
  int extension_version = 0;
  std::string schema;
  std::string reason;  // why not available
  SteadyClock::time_point recheck{};
  bool logged = false;  // the current availability has been logged
};

// Ends the cycle: the deadline passed or interrupt() was called.
class CycleOver : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class PostgresCollector final : public Collector {
 public:
  PostgresCollector(const config::PostgresTargetConfig& config, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        log_(std::move(log)),
        params_(postgres::connection_parameters(config)),
        main_("", config.reconnect_backoff, config.reconnect_backoff_max),
        top_(config.statements.limit) {
    main_.describe = postgres::describe(params_);
    parameters_.activity_labels = config.activity_labels;
    parameters_.tables_limit = config.tables_limit;
    parameters_.tables_by_size = config.tables_by_size;
    for (Query q : postgres::kAllQueries) {
      auto it = config.query_intervals.find(postgres::query_name(q));
      intervals_[static_cast<std::size_t>(q)] =
          it != config.query_intervals.end() ? it->second : postgres::default_query_interval(q);
    }
    for (const auto& query : config.queries)
      custom_.push_back(CustomQuery{.config = query, .next_run = {}, .rows = {}});
  }

  std::string_view kind() const override { return "postgres"; }
  const std::string& name() const override { return config_.common.name; }

  void collect(const CollectContext& ctx, Batch& out) override {
    interrupted_ = false;
    deadline_ = ctx.deadline;
    now_ = ctx.timestamp;
    const auto budget = std::chrono::duration_cast<Duration>(deadline_ - SteadyClock::now());
    custom_margin_ = std::clamp(budget / kCustomMarginDivisor, Duration{0}, kCustomMarginMax);
    statements_ = 0;
    seen_health_.clear();
    kept_now_.clear();
    Emitter emit(out);
    try {
      collect_cycle(emit);
    } catch (const CycleOver& e) {
      publish_details();
      throw CollectError(main_.describe + ": " + e.what());
    } catch (const CollectError&) {
      publish_details();
      throw;
    }
    mark_gone_kept(emit);
    emit_health(emit);
    publish_details();
  }

  void describe_down(Batch& out) override {
    Emitter emit(out);
    for (const Labels& l : kept_last_) emit.add(l, stale_nan());  // as every other series of the target
    kept_last_.clear();
    emit.gauge("pg_up",
               "Whether the last connection to the server and its first query succeeded (1) or not (0).", 0);
  }

  void interrupt() override {
    interrupted_ = true;
    std::lock_guard lock(links_mutex_);
    // Only a claim in flight: closing the holder's idle claim session would free its lock.
    if (claim_session_ && claiming_) claim_session_->abort();
    if (main_.session) main_.session->cancel();
    for (auto& [name, link] : databases_) {
      if (link.session) link.session->cancel();
    }
  }

  nlohmann::json details() const override {
    std::lock_guard lock(details_mutex_);
    return details_;
  }

  bool shared() const override { return config_.shared.enabled; }

  // The claim is pg_try_advisory_lock on a session of its own, which holds it as long as it lives:
  // a holder that dies closes its socket and the server frees the lock at once; one that is cut off
  // loses the session after a lease of silence (idle_session_timeout and tcp_user_timeout on the
  // server; TCP keepalives and tcp_user_timeout on this side). The holder renews by using the session
  // each cycle. Advisory locks are per database: every daemon must connect to the same one.
  ClaimResult claim(const CollectContext& ctx) override {
    interrupted_ = false;
    claiming_ = true;
    struct Done {
      std::atomic<bool>& flag;
      ~Done() { flag = false; }
    } done{claiming_};
    const Duration lease =
        config::lease_of(config_.shared, ctx.interval.count() > 0 ? ctx.interval : std::chrono::minutes(1));
    std::string error;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (interrupted_) break;
      if (!claim_session_ || !claim_session_->usable()) {
        claim_held_ = false;
        try {
          open_claim_session(lease);
        } catch (const postgres::ConnectError& e) {
          error = e.what();
          break;
        }
      }
      const std::string sql = claim_held_ ? "SELECT true" : "SELECT pg_try_advisory_lock(" + claim_key_ + ")";
      QueryResult r = claim_session_->query(sql);
      if (!r.ok()) {
        claim_held_ = false;
        error = r.error->message;
        if (r.error->kind == QueryFailure::connection) continue;  // a new session, and ask again
        break;
      }
      if (r.table.rows.size() == 1 && !r.table.rows[0].empty() && r.table.rows[0][0] == "t") {
        claim_held_ = true;
        return {ClaimAnswer::held, {}};
      }
      // Another session holds it. When it is this process's (the collector this one replaced on a
      // reload, whose session is about to close), the claim stays here: no daemon else may take it
      // while that session lives, and this one's next attempt takes the lock over.
      QueryResult who = claim_session_->query(
          "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE "
          "l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname "
          "= "
          "current_database()) AND l.classid = " +
          std::to_string(static_cast<std::uint64_t>(key_) >> 32) + " AND l.objid = " +
          std::to_string(static_cast<std::uint64_t>(key_) & 0xffffffffULL) + " AND l.objsubid = 1");
      if (who.ok() && who.table.rows.size() == 1 && !who.table.rows[0].empty() &&
          who.table.rows[0][0] == claim_application_name_) {
        return {ClaimAnswer::held, {}};
      }
      return {ClaimAnswer::taken, {}};
    }
    if (interrupted_ && error.empty()) error = "interrupted";
    {
      std::lock_guard lock(links_mutex_);
      claim_session_.reset();
    }
    return {ClaimAnswer::unreachable, "cannot ask the claim on " + main_.describe + ": " + error};
  }

 private:
  void open_claim_session(Duration lease) {
    {
      std::lock_guard lock(links_mutex_);
      claim_session_.reset();
    }
    using std::chrono::duration_cast;
    const auto lease_s = std::max<std::int64_t>(1, duration_cast<std::chrono::seconds>(lease).count());
    ConnParams params = params_;
    params["application_name"] = claim_application_name_;
    params["keepalives"] = "1";
    params["keepalives_idle"] = std::to_string(std::max<std::int64_t>(1, lease_s / 3));
    params["keepalives_interval"] = std::to_string(std::max<std::int64_t>(1, lease_s / 6));
    params["keepalives_count"] = "2";
    params["tcp_user_timeout"] = std::to_string(lease.count());
    postgres::SessionOptions options;
    options.conninfo = postgres::to_conninfo(params);
    options.describe = main_.describe;
    options.statement_timeout = config_.statement_timeout;
    options.lock_timeout = config_.lock_timeout;
    auto session = std::make_unique<Session>(options, log_);
    Session* raw = session.get();
    {
      std::lock_guard lock(links_mutex_);
      claim_session_ = std::move(session);
    }
    raw->set_up();
    // The server ends the session, and frees the lock, when the holder falls silent for a lease.
    std::string setup = "SET tcp_user_timeout = " + std::to_string(lease.count()) +
                        "; SET tcp_keepalives_idle = " + params["keepalives_idle"] +
                        "; SET tcp_keepalives_interval = " + params["keepalives_interval"] +
                        "; SET tcp_keepalives_count = 2";
    if (raw->server_version() >= 140000)
      setup += "; SET idle_session_timeout = " + std::to_string(lease.count());
    QueryResult set = raw->query(setup);
    if (!set.ok()) throw postgres::ConnectError("setting up the claim's session: " + set.error->message);
  }

  // ---- the cycle ----------------------------------------------------------------------------------

  void collect_cycle(Emitter& emit) {
    std::optional<postgres::ServerSummary> server = connect_and_probe();
    Session& session = *main_.session;
    const int version = session.server_version();
    emit.gauge("pg_up",
               "Whether the last connection to the server and its first query succeeded (1) or not (0).", 1);
    if (server) emit_server(emit, *server, version);

    cached(emit, Query::databases, {}, [&](Emitter& e) {
      auto table = run_builtin(Query::databases);
      if (!table) return;
      try {
        auto rows = postgres::parse_rows(*table, postgres::kDatabaseLabels, postgres::kDatabaseMetrics);
        e.rows(rows, postgres::kDatabaseMetrics);
        e.rows(postgres::parse_rows(*table, postgres::kDatnameLabel, postgres::kDatabaseSizeMetrics),
               postgres::kDatabaseSizeMetrics);
        std::vector<std::string> all;
        std::vector<std::string> collectable;
        for (const Row& row :
             postgres::parse_rows(*table, postgres::kDatnameLabel, postgres::kCollectableMetric)) {
          if (row.labels.empty()) continue;
          all.push_back(row.labels.front().value);
          if (row.values.front().value_or(0) != 0) collectable.push_back(row.labels.front().value);
        }
        // Kept until the next successful run (which may be cycles away, with an interval).
        databases_seen_ = std::move(all);
        collectable_ = std::move(collectable);
      } catch (const postgres::ParseError& e2) {
        parse_failed(Query::databases, e2);
      }
    });
    const std::vector<std::string>& databases = databases_seen_;  // for the activity zeros
    const std::vector<std::string>& collectable = collectable_;   // for databases: ["*"]
    cached(emit, Query::database_sizes, {}, [&](Emitter& e) {
      if (auto table = run_builtin(Query::database_sizes))
        parse_and_emit(e, Query::database_sizes, *table, postgres::kDatnameLabel,
                       postgres::kDatabaseSizeBytes);
    });

    cached(emit, Query::activity, {}, [&](Emitter& e) {
      auto table = run_builtin(Query::activity);
      if (!table) return;
      try {
        std::vector<postgres::LabelColumn> labels;
        for (const std::string& label : config_.activity_labels) labels.push_back({label, label});
        auto rows = postgres::parse_rows(*table, labels, postgres::kActivityMetrics);
        postgres::add_missing_activity_states(rows, config_.activity_labels, databases,
                                              std::size(postgres::kActivityMetrics));
        e.rows(rows, postgres::kActivityMetrics);
      } catch (const postgres::ParseError& e2) {
        parse_failed(Query::activity, e2);
      }
    });

    cached(emit, Query::process_idle, {}, [&](Emitter& e) {
      if (auto table = run_builtin(Query::process_idle)) emit_process_idle(e, *table);
    });

    cached(emit, Query::locks, {}, [&](Emitter& e) {
      if (auto table = run_builtin(Query::locks))
        parse_and_emit(e, Query::locks, *table, postgres::kLockLabels, postgres::kLockMetrics);
    });

    cached(emit, Query::settings, {}, [&](Emitter& e) {
      auto table = run_builtin(Query::settings);
      if (!table) return;
      try {
        for (const auto& setting : postgres::parse_settings(*table)) {
          e.gauge(setting.metric, "Server Parameter: " + setting.metric.substr(12), setting.value);
        }
      } catch (const postgres::ParseError& e2) {
        parse_failed(Query::settings, e2);
      }
    });

    cached(emit, Query::replication, {}, [&](Emitter& e) {
      if (auto table = run_builtin(Query::replication))
        parse_and_emit(e, Query::replication, *table, postgres::kReplicationLabels,
                       postgres::kReplicationMetrics);
    });
    cached(emit, Query::slots, {}, [&](Emitter& e) {
      if (auto table = run_builtin(Query::slots)) {
        parse_and_emit(e, Query::slots, *table, postgres::kSlotLabels, postgres::kSlotMetrics);
        emit_wal_status(e, *table);
      }
    });
    cached(emit, Query::bgwriter, {}, [&](Emitter& e) {
      auto table = run_builtin(Query::bgwriter);
      if (!table) return;
      try {
        e.rows(postgres::parse_rows(*table, {}, postgres::kBgwriterMetrics), postgres::kBgwriterMetrics);
      } catch (const postgres::ParseError& e2) {
        parse_failed(Query::bgwriter, e2);
      }
    });

    if (config_.statements.enabled)
      cached(emit, Query::statements, {}, [&](Emitter& e) { collect_statements(e); });

    if (config_.tables_limit > 0) {
      collect_tables(emit, main_, session.dbname());
      for (const std::string& db : extra_databases(collectable, session.dbname())) {
        auto it = databases_.find(db);
        if (it == databases_.end()) {
          Link link(db, config_.reconnect_backoff, config_.reconnect_backoff_max);
          ConnParams params = params_;
          params["dbname"] = db;
          link.describe = postgres::describe(params);
          std::lock_guard lock(links_mutex_);
          it = databases_.emplace(db, std::move(link)).first;
        }
        collect_tables(emit, it->second, db);
      }
    }
    close_unwanted_databases(collectable, session.dbname());

    for (CustomQuery& query : custom_) collect_custom(emit, query, version);

    emit.gauge("tocsin_pg_cycle_statements",
               "Statements the collector sent in its last cycle (connection set-up included).",
               static_cast<double>(statements_));
    emit.describe("tocsin_pg_connects_total", MetricType::counter,
                  "Connections the collector opened to the server.");
    emit.add("tocsin_pg_connects_total", {}, static_cast<double>(main_.connects));
  }

  // ---- per-query intervals ------------------------------------------------------------------------

  Duration interval_of(Query query) const { return intervals_[static_cast<std::size_t>(query)]; }

  static std::string cache_key(Query query, std::string_view datname) {
    std::string key(postgres::query_name(query));
    key += '\x1f';
    key += datname;
    return key;
  }

  // Whether a query with an interval is to run this cycle: never run, or its interval (less a tenth,
  // at most kIntervalSlack, so that a cycle a little early does not skip a whole period while one a
  // whole cycle early still waits) has passed since its last run on the cycles' clock, or that clock
  // went back.
  bool due(Query query, std::string_view datname) const {
    const Duration interval = interval_of(query);
    if (interval.count() == 0) return true;
    auto it = cache_.find(cache_key(query, datname));
    if (it == cache_.end()) return true;
    const Timestamp last = it->second.last_run;
    const std::int64_t slack = std::min<std::int64_t>(interval.count() / 10, kIntervalSlack.count());
    return now_ < last || now_ - last >= interval.count() - slack;
  }

  // Runs `body` (which runs the query and emits what it read into the Emitter it is given) when the
  // query is due, keeping what it emitted; otherwise reports the kept result of its last run again.
  // A run that fails drops the kept result, so its series turn stale as they would without an
  // interval (mark_gone_kept). A kept sample is committed again with its run's timestamp, which the
  // store keeps once (see the README's "Intervals").
  template <typename Body>
  void cached(Emitter& emit, Query query, std::string_view datname, Body&& body) {
    if (interval_of(query).count() == 0) {
      body(emit);
      return;
    }
    const std::string key = cache_key(query, datname);
    const std::string health_key = key;  // the same key as health(query, datname)
    if (due(query, datname)) {
      Cached fresh;
      fresh.last_run = now_;
      Emitter sub(fresh.batch);
      bool kept = true;
      if constexpr (std::is_same_v<decltype(body(sub)), bool>) {
        kept = body(sub);  // false: nothing read, though no failure was counted (a lost link)
      } else {
        body(sub);
      }
      auto h = health_.find(health_key);
      if (!kept || (h != health_.end() && !h->second.up)) {
        cache_.erase(key);
        return;
      }
      cache_[key] = std::move(fresh);
    } else if (health_.contains(health_key)) {
      seen_health_.insert(health_key);  // its tocsin_pg_query_* series go on between runs
    }
    auto it = cache_.find(key);
    if (it == cache_.end()) return;
    for (const auto& f : it->second.batch.families()) emit.describe(f.name, f.type, f.help);
    // At the time of its run, so rates over them are exact; the store keeps the same point once.
    for (const auto& sample : it->second.batch.samples()) {
      emit.add(sample.labels, sample.value, it->second.last_run);
      kept_now_.push_back(sample.labels);
    }
  }

  // Series of kept results carry their runs' times, so the store writes them no staleness marker of
  // its own: one that was reported last cycle and is not now (a failed run, a table gone from the
  // top N, a new connection) gets one here, as a series without an interval would.
  void mark_gone_kept(Emitter& emit) {
    struct Hash {
      std::size_t operator()(const Labels& l) const { return l.hash(); }
    };
    const std::unordered_set<Labels, Hash> now(kept_now_.begin(), kept_now_.end());
    for (const Labels& l : kept_last_) {
      if (!now.contains(l)) emit.add(l, stale_nan());
    }
    kept_last_ = std::move(kept_now_);
    kept_now_.clear();
  }

  // Connects when needed and runs the `server` query, which also proves the connection alive. A
  // connection that died while idle (server restart, idle timeout, pg_terminate_backend) gets one
  // fresh attempt within the cycle. Throws CollectError when the server cannot be reached.
  std::optional<postgres::ServerSummary> connect_and_probe() {
    for (int attempt = 0;; ++attempt) {
      const bool fresh = ensure_connected(main_);
      if (fresh) on_main_connected();
      end_open_transaction();  // one a custom query left when interrupt() ended the last cycle
      bool lost = false;
      auto table = execute(main_, health(Query::server), sql(Query::server), "server", deadline_, true, lost);
      if (table) {
        try {
          return postgres::parse_server(*table);
        } catch (const postgres::ParseError& e) {
          parse_failed(Query::server, e);
          return std::nullopt;
        }
      }
      if (!lost) return std::nullopt;  // the query failed, the connection is fine
      if (!fresh && attempt == 0 && !closed_by_watchdog_) continue;
      throw CollectError(main_.error);
    }
  }

  // Returns true when it connected just now. Throws CollectError (connection failure, or still
  // backing off after one) or CycleOver.
  bool ensure_connected(Link& link) {
    if (link.session && link.session->usable()) return false;
    if (link.session) drop(link);
    const auto now = SteadyClock::now();
    if (!link.backoff.ready(now)) throw CollectError(link.error);
    check_cycle("connecting");
    postgres::SessionOptions options;
    ConnParams params = params_;
    if (!link.dbname.empty()) params["dbname"] = link.dbname;
    options.conninfo = postgres::to_conninfo(params);
    options.describe = link.describe;
    options.statement_timeout = config_.statement_timeout;
    options.lock_timeout = config_.lock_timeout;
    options.prepared_statements = config_.prepared_statements;
    try {
      auto session = std::make_unique<Session>(options, log_);
      Session* raw = session.get();
      {
        // Published before its set-up statement, so that interrupt() reaches that too.
        std::lock_guard lock(links_mutex_);
        link.session = std::move(session);
      }
      // A server (or a proxy) that lets the login through and then answers nothing would hold the
      // set-up statement for good: the watchdog bounds it as any statement.
      std::atomic<bool> fired{false};
      arm_watchdog(raw, deadline_, fired);
      try {
        raw->set_up();
      } catch (const postgres::ConnectError& e) {
        watchdog_.disarm();
        drop(link);
        if (interrupted_) throw postgres::ConnectError("interrupted while setting up the session");
        if (fired) throw postgres::ConnectError("no answer to the session's set-up by the cycle's deadline");
        throw;
      }
      watchdog_.disarm();
      ++statements_;  // the SET statement
      ++link.connects;
      link.backoff.reset();
      if (!link.error.empty())
        log_->info("postgres {}: connected to {} again", config_.common.name, link.describe);
      link.error.clear();
      return true;
    } catch (const postgres::ConnectError& e) {
      link.error = "cannot connect to " + link.describe + ": " + e.what();
      link.backoff.failed(now);
      throw CollectError(link.error);
    }
  }

  void on_main_connected() {
    statements_state_.checked = false;
    cache_.clear();  // a new connection may be to a restarted (or another) server: read everything anew
    log_->debug("postgres {}: connected to {} (server_version_num {}, backend pid {})", config_.common.name,
                main_.describe, main_.session->server_version(), main_.session->backend_pid());
  }

  void drop(Link& link) {
    std::lock_guard lock(links_mutex_);
    link.session.reset();
  }

  void check_cycle(std::string_view during) {
    if (interrupted_) throw CycleOver("interrupted during " + std::string(during));
    if (SteadyClock::now() >= deadline_)
      throw CycleOver("the cycle's deadline passed during " + std::string(during));
  }

  std::string sql(Query query) const {
    return postgres::query_sql(query, main_.session ? main_.session->server_version() : 0, parameters_);
  }

  QueryHealth& health(Query query, std::string_view datname = {}) {
    return health(std::string(postgres::query_name(query)), datname);
  }
  QueryHealth& health(const std::string& query, std::string_view datname = {}) {
    std::string key = query;
    key += '\x1f';
    key += datname;
    seen_health_.insert(key);
    return health_[key];
  }

  std::optional<Table> run_builtin(Query query) {
    return run(main_, health(query), sql(query), std::string(postgres::query_name(query)), deadline_);
  }

  // Runs one statement on `link`: a lost main connection ends the cycle (CollectError, target
  // down); on another database's connection it returns nullopt with the session dropped.
  std::optional<Table> run(Link& link, QueryHealth& h, const std::string& sql, const std::string& what,
                           SteadyClock::time_point deadline, bool prepared = true,
                           const std::string& own_limit = {}) {
    bool lost = false;
    auto table = execute(link, h, sql, what, deadline, prepared, lost, own_limit);
    if (lost && &link == &main_) throw CollectError(main_.error);
    return table;
  }

  // Runs one statement with the watchdog armed for `deadline` (a custom query's own limit, or the
  // cycle's). A lost connection drops the session, sets `lost` and returns nullopt; other failures
  // are counted on `h`, logged once per change and return nullopt; the cycle's deadline or
  // interrupt() throws CycleOver. A statement cancelled at a `deadline` before the cycle's is that
  // statement's own timeout, reported as "cancelled when <own_limit> passed".
  std::optional<Table> execute(Link& link, QueryHealth& h, const std::string& sql, const std::string& what,
                               SteadyClock::time_point deadline, bool prepared, bool& lost,
                               const std::string& own_limit = {}) {
    check_cycle(what);
    if (!link.session) {
      lost = true;
      return std::nullopt;
    }
    Session* session = link.session.get();
    std::atomic<bool> fired{false};
    arm_watchdog(session, std::min(deadline, deadline_), fired);
    const auto started = SteadyClock::now();
    QueryResult result = session->query(sql, prepared ? what : std::string_view());
    watchdog_.disarm();
    ++statements_;
    h.duration = std::chrono::duration<double>(SteadyClock::now() - started).count();
    if (result.ok()) {
      query_succeeded(h);
      return std::move(result.table);
    }
    const postgres::QueryError& error = *result.error;
    if (error.kind == QueryFailure::connection) {
      lost = true;
      closed_by_watchdog_ = fired;
      drop(link);
      link.error = fired
                       ? "no answer to the cancel request during " + what + " (" + seconds_text(kAbortGrace) +
                             " after its deadline): connection to " + link.describe + " closed"
                       : "lost the connection to " + link.describe + " during " + what + ": " + error.message;
      query_failed(h, what, link, link.error, false, "connection");
      return std::nullopt;
    }
    const bool cycle_over =
        interrupted_ || (fired && deadline >= deadline_) || SteadyClock::now() >= deadline_;
    std::string message = error.message;
    std::string failure =
        error.sqlstate.empty() ? std::string(postgres::to_string(error.kind)) : error.sqlstate;
    bool timeout = error.kind == QueryFailure::timeout;
    if (error.kind == QueryFailure::canceled && fired && !cycle_over) {
      message = "cancelled when " + own_limit + " passed";
      failure = "own timeout";
      timeout = true;
    }
    if (cycle_over) {
      message = interrupted_ ? "interrupted during " + what : "the cycle's deadline passed during " + what;
      failure = interrupted_ ? "interrupted" : "cycle deadline";
    }
    query_failed(h, what, link, message, timeout || error.kind == QueryFailure::canceled, failure);
    if (cycle_over) throw CycleOver(message);
    return std::nullopt;
  }

  // At `when`, cancels the statement running on `session` and sets `fired`; kAbortGrace later, if
  // it still runs, shuts the connection down under it. The caller disarms before `session` goes.
  void arm_watchdog(Session* session, SteadyClock::time_point when, std::atomic<bool>& fired) {
    watchdog_.arm(when, [session, &fired, stage = 0]() mutable -> std::optional<SteadyClock::time_point> {
      fired = true;
      if (stage++ == 0) {
        session->cancel();
        return SteadyClock::now() + kAbortGrace;
      }
      session->abort();
      return std::nullopt;
    });
  }

  void query_succeeded(QueryHealth& h) {
    h.up = true;
    h.error.clear();
  }

  // Counts a failure on `h`, logged when the query was up or failed in another way (`failure`)
  // last time: a query failing the same way every cycle logs once, however its message changes.
  void query_failed(QueryHealth& h, const std::string& what, std::string_view on_database,
                    const std::string& message, bool timeout, std::string_view failure) {
    h.errors += 1;
    if (timeout) h.timeouts += 1;
    if (!h.logged_down || h.failure != failure) {
      log_->warn("postgres {}: query {}{} failed: {}", config_.common.name, what, on_database, message);
    }
    h.up = false;
    h.error = message;
    h.failure = failure;
    h.logged_down = true;
  }
  void query_failed(QueryHealth& h, const std::string& what, const Link& link, const std::string& message,
                    bool timeout, std::string_view failure) {
    query_failed(h, what, on_database(link), message, timeout, failure);
  }

  void parse_failed(Query query, const postgres::ParseError& e, std::string_view datname = {}) {
    QueryHealth& h = health(query, datname);
    query_failed(h, std::string(postgres::query_name(query)), "",
                 "unexpected result: " + std::string(e.what()), false, "unexpected result");
  }

  std::string on_database(const Link& link) const {
    return link.dbname.empty() ? std::string() : " on database " + link.dbname;
  }

  template <std::size_t L, std::size_t M>
  void parse_and_emit(Emitter& emit, Query query, const Table& table,
                      const postgres::LabelColumn (&labels)[L], const MetricColumn (&metrics)[M],
                      std::string_view datname = {}) {
    try {
      emit.rows(postgres::parse_rows(table, labels, metrics), metrics);
    } catch (const postgres::ParseError& e) {
      parse_failed(query, e, datname);
    }
  }

  // ---- what the queries say -----------------------------------------------------------------------

  void emit_server(Emitter& emit, const postgres::ServerSummary& s, int version) {
    const std::string short_version =
        std::to_string(version / 10000) + "." + std::to_string(version % 10000) + ".0";
    emit.describe("pg_static", MetricType::untyped, "Version string as reported by postgres");
    emit.add("pg_static", {{"short_version", short_version}, {"version", s.version}}, 1);
    emit.gauge("pg_postmaster_start_time_seconds", "Time at which postmaster started", s.start_time_seconds);
    emit.gauge("pg_replication_is_replica", "Indicates if the server is a replica", s.in_recovery ? 1 : 0);
    if (s.replication_lag_seconds) {
      emit.gauge("pg_replication_lag_seconds", "Replication lag behind master in seconds",
                 *s.replication_lag_seconds);
      emit.gauge("pg_replication_lag",
                 "Replication lag behind master in seconds (postgres_exporter 0.11's name)",
                 *s.replication_lag_seconds);
    }
    emit.gauge("pg_stat_activity_oldest_query_age_seconds",
               "Age of the longest-running active query of a client (0 when none runs).",
               s.oldest_query_seconds);
    emit.gauge("pg_stat_activity_oldest_idle_in_transaction_age_seconds",
               "How long the longest session idle in a transaction has been so (0 when none is).",
               s.oldest_idle_in_transaction_seconds);
    emit.gauge("pg_stat_activity_lock_waiting_sessions", "Sessions waiting for a heavyweight lock.",
               s.waiting_on_locks);
    emit.gauge("pg_stat_activity_blocking_sessions",
               "Sessions holding a lock that another session waits for (pg_blocking_pids).",
               s.blocking_sessions);
    const double reserved = s.superuser_reserved_connections + s.reserved_connections;
    emit.gauge("pg_connections_used", "Client backends connected (max_connections counts them).",
               s.client_connections);
    emit.gauge("pg_connections_max", "The server's max_connections.", s.max_connections);
    emit.gauge("pg_connections_reserved",
               "Connection slots reserved for superusers and pg_use_reserved_connections (16+).", reserved);
    emit.gauge("pg_connections_available",
               "Connection slots left for ordinary roles: max_connections minus reserved slots minus used.",
               std::max(0.0, s.max_connections - reserved - s.client_connections));
  }

  // pg_process_idle_seconds: a histogram per application of how long its idle sessions have been so.
  void emit_process_idle(Emitter& emit, const Table& table) {
    static constexpr postgres::LabelColumn kLabels[] = {{"application_name", "application_name"}};
    static constexpr std::pair<const char*, const char*> kBuckets[] = {
        {"le_1", "1"},   {"le_2", "2"},   {"le_5", "5"},     {"le_15", "15"},  {"le_30", "30"},
        {"le_60", "60"}, {"le_90", "90"}, {"le_120", "120"}, {"le_300", "300"}};
    static constexpr MetricColumn kValues[] = {
        {"count", "", MetricType::untyped, ""}, {"sum", "", MetricType::untyped, ""},
        {"le_1", "", MetricType::untyped, ""},  {"le_2", "", MetricType::untyped, ""},
        {"le_5", "", MetricType::untyped, ""},  {"le_15", "", MetricType::untyped, ""},
        {"le_30", "", MetricType::untyped, ""}, {"le_60", "", MetricType::untyped, ""},
        {"le_90", "", MetricType::untyped, ""}, {"le_120", "", MetricType::untyped, ""},
        {"le_300", "", MetricType::untyped, ""}};
    std::vector<Row> rows;
    try {
      rows = postgres::parse_rows(table, kLabels, kValues);
    } catch (const postgres::ParseError& e) {
      parse_failed(Query::process_idle, e);
      return;
    }
    emit.describe("pg_process_idle_seconds", MetricType::histogram,
                  "Idle time of server processes (client sessions in state idle), by application");
    for (const Row& row : rows) {
      const double count = row.values[0].value_or(0);
      for (std::size_t i = 0; i < std::size(kBuckets); ++i) {
        std::vector<Label> labels = row.labels;
        labels.push_back({"le", kBuckets[i].second});
        emit.add("pg_process_idle_seconds_bucket", std::move(labels), row.values[2 + i].value_or(0));
      }
      std::vector<Label> inf = row.labels;
      inf.push_back({"le", "+Inf"});
      emit.add("pg_process_idle_seconds_bucket", std::move(inf), count);
      emit.add("pg_process_idle_seconds_sum", row.labels, row.values[1].value_or(0));
      emit.add("pg_process_idle_seconds_count", row.labels, count);
    }
  }

  static void emit_wal_status(Emitter& emit, const Table& table) {
    const int slot = table.column("slot_name");
    const int type = table.column("slot_type");
    const int status = table.column("wal_status");
    if (slot < 0 || type < 0 || status < 0) return;
    for (const auto& row : table.rows) {
      const auto& value = row[static_cast<std::size_t>(status)];
      if (!value) continue;
      emit.describe("pg_replication_slot_wal_status", MetricType::gauge,
                    "Availability of the WAL files the slot claims (reserved, extended, unreserved, lost).");
      emit.add("pg_replication_slot_wal_status",
               {{"slot_name", row[static_cast<std::size_t>(slot)].value_or("")},
                {"slot_type", row[static_cast<std::size_t>(type)].value_or("")},
                {"wal_status", *value}},
               1);
    }
  }

  void collect_statements(Emitter& emit) {
    auto& st = statements_state_;
    const auto now = SteadyClock::now();
    if (!st.checked || (!st.available && now >= st.recheck)) {
      QueryHealth& h = health("statements_extension");
      if (auto table =
              run(main_, h, std::string(postgres::kExtensionSql), "statements_extension", deadline_)) {
        st.checked = true;
        if (table->rows.empty()) {
          set_statements_availability(false, "the extension is not installed in database " +
                                                 main_.session->dbname() +
                                                 " (CREATE EXTENSION pg_stat_statements)");
        } else if (table->rows[0].size() > 2 && table->rows[0][2] != "t") {
          set_statements_availability(false,
                                      "the library is not loaded (add pg_stat_statements to "
                                      "shared_preload_libraries and restart the server)");
        } else {
          st.extension_version = postgres::extension_version_number(table->rows[0][0].value_or(""));
          st.schema = table->rows[0][1].value_or("public");
          set_statements_availability(true, "");
        }
      }
    }
    if (st.available) read_statements(emit);  // may find it gone since
    emit.gauge("tocsin_pg_stat_statements_available",
               "Whether pg_stat_statements can be read (1) or is missing or not preloaded (0).",
               st.available ? 1 : 0);
  }

  // The top N statements of pg_stat_statements, known to be installed and loaded.
  void read_statements(Emitter& emit) {
    const auto& st = statements_state_;
    QueryHealth& h = health(Query::statements);
    const std::string text =
        postgres::statements_sql(st.extension_version, st.schema, static_cast<unsigned>(top_.fetch_limit()),
                                 config_.statements.compat_names);
    std::optional<Table> table = run(main_, h, text, "statements", deadline_, false);
    if (!table) {
      // Unloaded or dropped since the look at connect time ("must be loaded via
      // shared_preload_libraries", "function ... does not exist"): missing from now on, and looked for
      // again later rather than failing every cycle.
      if (main_.session && (h.error.find("shared_preload_libraries") != std::string::npos ||
                            h.error.find("does not exist") != std::string::npos)) {
        std::string reason = std::move(h.error);
        h.up = true;  // missing is reported by tocsin_pg_stat_statements_available, not as a failure
        h.errors -= 1;
        h.error.clear();
        h.failure.clear();
        h.logged_down = false;
        set_statements_availability(false, reason);
      }
      return;
    }
    postgres::StatementsSnapshot snapshot;
    try {
      snapshot = postgres::parse_statements(*table);
    } catch (const postgres::ParseError& e) {
      parse_failed(Query::statements, e);
      return;
    }
    const std::vector<std::size_t> chosen = top_.select(snapshot.ranked);
    emit.gauge("tocsin_pg_statements_tracked",
               "Entries pg_stat_statements holds (compare with pg_settings_pg_stat_statements_max).",
               snapshot.tracked);
    emit.gauge("tocsin_pg_statements_reported", "pg_stat_statements entries reported (the kept top N).",
               static_cast<double>(chosen.size()));
    struct Family {
      const char* name;
      MetricType type;
      const char* help;
      double postgres::Statement::*field;
    };
    static constexpr Family kFamilies[] = {
        {"pg_stat_statements_calls_total", MetricType::counter, "Number of times executed",
         &postgres::Statement::calls},
        {"pg_stat_statements_seconds_total", MetricType::counter,
         "Total time spent in the statement, in seconds", &postgres::Statement::total_seconds},
        {"pg_stat_statements_rows_total", MetricType::counter,
         "Total number of rows retrieved or affected by the statement", &postgres::Statement::rows},
        {"pg_stat_statements_block_read_seconds_total", MetricType::counter,
         "Total time the statement spent reading blocks, in seconds", &postgres::Statement::read_seconds},
        {"pg_stat_statements_block_write_seconds_total", MetricType::counter,
         "Total time the statement spent writing blocks, in seconds", &postgres::Statement::write_seconds},
        {"pg_stat_statements_max_exec_seconds", MetricType::gauge,
         "Maximum time spent in the statement, in seconds", &postgres::Statement::max_seconds},
    };
    for (std::size_t i : chosen) {
      const postgres::Statement& s = snapshot.ranked[i];
      std::vector<Label> labels = {{"datname", s.datname}, {"queryid", s.queryid}, {"user", s.user}};
      for (const Family& f : kFamilies) {
        emit.describe(f.name, f.type, f.help);
        emit.add(f.name, labels, s.*f.field);
      }
      emit.describe("pg_stat_statements_mean_exec_seconds", MetricType::gauge,
                    "Mean time spent in the statement, in seconds");
      emit.add("pg_stat_statements_mean_exec_seconds", labels, s.calls > 0 ? s.total_seconds / s.calls : 0);
      if (config_.statements.compat_names) emit_compat_statement(emit, s);
    }
    if (config_.statements.query_text) emit_statement_texts(emit, snapshot, chosen);
  }

  // statements.compat_names: the names, types and labels of postgres_exporter's example queries.yaml
  // pg_stat_statements query (times in seconds, label rolname), for the same top N.
  static void emit_compat_statement(Emitter& emit, const postgres::Statement& s) {
    const std::vector<Label> labels = {{"datname", s.datname}, {"queryid", s.queryid}, {"rolname", s.user}};
    struct Value {
      const char* name;
      MetricType type;
      const char* help;
      double value;
    };
    const Value values[] = {
        {"pg_stat_statements_calls", MetricType::counter, "Number of times executed", s.calls},
        {"pg_stat_statements_total_time_seconds", MetricType::counter, "Total time spent in the statement",
         s.total_seconds},
        {"pg_stat_statements_min_time_seconds", MetricType::gauge, "Minimum time spent in the statement",
         s.min_seconds},
        {"pg_stat_statements_max_time_seconds", MetricType::gauge, "Maximum time spent in the statement",
         s.max_seconds},
        {"pg_stat_statements_mean_time_seconds", MetricType::gauge, "Mean time spent in the statement",
         s.calls > 0 ? s.total_seconds / s.calls : 0},
        {"pg_stat_statements_stddev_time_seconds", MetricType::gauge,
         "Population standard deviation of time spent in the statement", s.stddev_seconds},
        {"pg_stat_statements_rows", MetricType::counter, "Total number of rows retrieved or affected",
         s.rows},
        {"pg_stat_statements_blk_read_time_seconds", MetricType::counter,
         "Total time the statement spent reading blocks", s.read_seconds},
        {"pg_stat_statements_blk_write_time_seconds", MetricType::counter,
         "Total time the statement spent writing blocks", s.write_seconds},
    };
    for (const Value& v : values) {
      emit.describe(v.name, v.type, v.help);
      emit.add(v.name, labels, v.value);
    }
    for (std::size_t i = 0; i < s.blocks.size() && i < std::size(postgres::kCompatBlockColumns); ++i) {
      const std::string name = "pg_stat_statements_" + std::string(postgres::kCompatBlockColumns[i]);
      emit.describe(name, MetricType::counter,
                    "Total number of " + std::string(postgres::kCompatBlockColumns[i]));
      emit.add(name, labels, s.blocks[i]);
    }
  }

  void set_statements_availability(bool available, const std::string& reason) {
    auto& st = statements_state_;
    const bool changed = !st.logged || st.available != available || st.reason != reason;
    st.checked = true;
    st.available = available;
    st.reason = reason;
    if (!available) {
      st.recheck = SteadyClock::now() + kExtensionRecheck;
      top_.clear();
      texts_.clear();
    }
    if (!changed) return;
    st.logged = true;
    if (available) {
      log_->info("postgres {}: reading pg_stat_statements {}.{} in schema {}", config_.common.name,
                 st.extension_version / 100, st.extension_version % 100, st.schema);
    } else {
      log_->warn("postgres {}: pg_stat_statements is not available: {}; pg_stat_statements_* left out",
                 config_.common.name, reason);
    }
  }

  void emit_statement_texts(Emitter& emit, const postgres::StatementsSnapshot& snapshot,
                            const std::vector<std::size_t>& chosen) {
    std::vector<std::string> missing;
    std::set<std::string> wanted;
    for (std::size_t i : chosen) {
      wanted.insert(snapshot.ranked[i].queryid);
      if (!texts_.contains(snapshot.ranked[i].queryid)) missing.push_back(snapshot.ranked[i].queryid);
    }
    std::erase_if(texts_, [&](const auto& entry) { return !wanted.contains(entry.first); });
    if (!missing.empty()) {
      // Reads the whole query text file, so only for statements new to the top N.
      const std::string text = postgres::statement_texts_sql(statements_state_.schema, missing,
                                                             config_.statements.query_text_length * 4);
      if (auto table = run(main_, health("statement_texts"), text, "statement_texts", deadline_, false)) {
        const int id = table->column("queryid");
        const int query = table->column("query");
        for (const auto& row : table->rows) {
          if (id < 0 || query < 0 || !row[static_cast<std::size_t>(id)]) continue;
          texts_[*row[static_cast<std::size_t>(id)]] = postgres::clean_query_text(
              row[static_cast<std::size_t>(query)].value_or(""), config_.statements.query_text_length);
        }
      }
    }
    emit.describe("pg_stat_statements_query_id", MetricType::gauge,
                  "SQL query text of a reported statement, cut short (value 1).");
    for (const auto& [id, text] : texts_)
      emit.add("pg_stat_statements_query_id", {{"queryid", id}, {"query", text}}, 1);
  }

  std::vector<std::string> extra_databases(const std::vector<std::string>& collectable,
                                           const std::string& main_db) const {
    std::vector<std::string> out;
    const bool all = config_.databases.size() == 1 && config_.databases.front() == "*";
    for (const std::string& db : all ? collectable : config_.databases) {
      if (db != main_db) out.push_back(db);
    }
    return out;
  }

  void close_unwanted_databases(const std::vector<std::string>& collectable, const std::string& main_db) {
    const std::vector<std::string> wanted = extra_databases(collectable, main_db);
    for (auto it = databases_.begin(); it != databases_.end();) {
      if (std::find(wanted.begin(), wanted.end(), it->first) != wanted.end()) {
        ++it;
        continue;
      }
      for (Query q : {Query::tables, Query::table_sizes, Query::unused_indexes})
        cache_.erase(cache_key(q, it->first));
      table_ids_.erase(it->first);
      std::lock_guard lock(links_mutex_);
      it = databases_.erase(it);
    }
  }

  // pg_stat_user_tables and friends of one database, over its own connection (or the main one),
  // each query when due. The connection to another database is made only when one of them is.
  void collect_tables(Emitter& emit, Link& link, const std::string& datname) {
    QueryHealth& tables = health(Query::tables, datname);
    QueryHealth& unused = health(Query::unused_indexes, datname);
    const bool any_due = due(Query::tables, datname) || due(Query::table_sizes, datname) ||
                         due(Query::unused_indexes, datname);
    if (&link != &main_ && any_due) {
      try {
        ensure_connected(link);
      } catch (const CollectError& e) {
        // One database out of reach is not the target down: its queries are reported failed.
        for (QueryHealth* h : {&tables, &unused}) {
          if (h == &tables && (!h->logged_down || h->failure != "connection"))
            log_->warn("postgres {}: tables of database {}: {}", config_.common.name, datname, e.what());
          h->up = false;
          h->error = e.what();
          h->failure = "connection";
          h->logged_down = true;
          h->errors += 1;
        }
        for (Query q : {Query::tables, Query::table_sizes, Query::unused_indexes})
          cache_.erase(cache_key(q, datname));
        return;
      }
    }
    cached(emit, Query::tables, datname, [&](Emitter& e) {
      if (!link.session) return false;
      const int version = link.session->server_version();
      if (auto table = run(link, tables, postgres::query_sql(Query::tables, version, parameters_), "tables",
                           deadline_)) {
        parse_and_emit(e, Query::tables, *table, postgres::kTableLabels, postgres::kTableMetrics, datname);
        std::vector<std::string>& ids = table_ids_[datname];
        ids.clear();
        if (const int relid = table->column("relid"); relid >= 0) {
          for (const auto& row : table->rows) {
            if (row[static_cast<std::size_t>(relid)]) ids.push_back(*row[static_cast<std::size_t>(relid)]);
          }
        }
        return true;
      }
      if (!link.session && &link == &main_) throw CollectError(main_.error);
      return false;
    });
    cached(emit, Query::table_sizes, datname, [&](Emitter& e) {
      if (!link.session) return false;
      postgres::QueryParameters p = parameters_;
      p.table_ids = table_ids_[datname];
      if (p.table_ids.empty()) return true;  // no table (yet): nothing to measure
      QueryHealth& h = health(Query::table_sizes, datname);
      if (auto table =
              run(link, h, postgres::query_sql(Query::table_sizes, link.session->server_version(), p),
                  "table_sizes", deadline_)) {
        parse_and_emit(e, Query::table_sizes, *table, postgres::kTableLabels, postgres::kTableSizeMetrics,
                       datname);
        return true;
      }
      if (!link.session && &link == &main_) throw CollectError(main_.error);
      return false;
    });
    cached(emit, Query::unused_indexes, datname, [&](Emitter& e) {
      if (!link.session) return false;
      const int version = link.session->server_version();
      if (auto table = run(link, unused, postgres::query_sql(Query::unused_indexes, version, parameters_),
                           "unused_indexes", deadline_)) {
        parse_and_emit(e, Query::unused_indexes, *table, postgres::kDatnameLabel,
                       postgres::kUnusedIndexMetrics, datname);
        return true;
      }
      if (!link.session && &link == &main_) throw CollectError(main_.error);
      return false;
    });
  }

  void collect_custom(Emitter& emit, CustomQuery& query, int version) {
    const std::string what = "custom:" + query.config.prefix;
    const auto now = SteadyClock::now();
    if (query.config.min_server_version > version) {
      if (!query.version_skipped) {
        log_->info("postgres {}: query {} skipped: it needs server_version_num {} or later, the server is {}",
                   config_.common.name, what, query.config.min_server_version, version);
        query.version_skipped = true;
      }
      return;
    }
    query.version_skipped = false;
    QueryHealth& h = health(what);
    if (now >= query.next_run || !query.has_rows) {
      query.next_run = now + query.config.interval.value_or(Duration{0});
      const Duration timeout = query.config.timeout.value_or(config_.statement_timeout);
      // No custom query runs into the cycle's deadline: it is cancelled custom_margin_ before, as
      // if its own timeout had passed, and the cycle keeps what it read.
      const SteadyClock::time_point cap = deadline_ - custom_margin_;
      const std::string before_deadline = seconds_text(custom_margin_) + " before the cycle's deadline";
      if (now >= cap) {
        query_failed(h, what, main_, "not run: less than " + before_deadline + " was left", true, "not run");
        query.has_rows = false;
        query.rows.clear();
        return;
      }
      // A timeout longer than the session's statement_timeout needs the server's limit raised for
      // this statement: by a SET LOCAL sent with it, in the one implicit transaction a query string
      // runs in, so that nothing is left to restore, whatever ends the query (a cancel, interrupt(),
      // a lost connection, a BEGIN in the custom SQL rolled back below). A shorter one is the
      // watchdog's job; an equal one the server's alone.
      const bool raise = timeout > config_.statement_timeout;
      const bool watch = timeout < config_.statement_timeout;
      const bool own_first = watch && now + timeout < cap;
      const std::string own_limit =
          own_first ? "its timeout of " + seconds_text(timeout) : "the point " + before_deadline;
      const std::string sql =
          raise ? "SET LOCAL statement_timeout = " + std::to_string(timeout.count()) + "; " + query.config.sql
                : query.config.sql;
      auto table = run(main_, h, sql, what, own_first ? now + timeout : cap, false, own_limit);
      if (end_open_transaction() && table) {
        query_failed(h, what, main_,
                     "left a transaction open (BEGIN without COMMIT or ROLLBACK): rolled back, its result "
                     "dropped",
                     false, "transaction left open");
        table.reset();
      }
      if (!table) {
        if (!main_.session) throw CollectError(main_.error);
        query.has_rows = false;
        query.rows.clear();
      } else {
        try {
          query.rows = postgres::parse_custom(*table, query.config);
          query.has_rows = true;
        } catch (const postgres::ParseError& e) {
          query_failed(h, what, "", "unexpected result: " + std::string(e.what()), false,
                       "unexpected result");
          query.has_rows = false;
          query.rows.clear();
        }
      }
    }
    if (!query.has_rows) return;
    std::size_t value_index = 0;
    for (const auto& column : query.config.columns) {
      if (column.usage == config::PostgresColumnUsage::label) continue;
      const std::string metric = query.config.prefix + "_" + column.name;
      const std::string help =
          column.help.empty() ? column.name + " from custom query " + query.config.prefix : column.help;
      emit.describe(
          metric,
          column.usage == config::PostgresColumnUsage::counter ? MetricType::counter : MetricType::gauge,
          help);
      for (const Row& row : query.rows) {
        if (value_index < row.values.size() && row.values[value_index])
          emit.add(metric, row.labels, *row.values[value_index]);
      }
      ++value_index;
    }
  }

  // Rolls back the transaction block a custom query left the main session in (its BEGIN without a
  // COMMIT, or a statement failing after it), which would otherwise stay open between cycles and
  // freeze the statistics the session sees. Returns whether there was one.
  bool end_open_transaction() {
    if (!main_.session || !main_.session->in_transaction()) return false;
    QueryHealth rollback;  // not reported: a failure shows in the query that left it open
    run(main_, rollback, "ROLLBACK", "rollback", deadline_, false);
    return true;
  }

  // ---- the collector's own health -----------------------------------------------------------------

  void emit_health(Emitter& emit) {
    emit.describe("tocsin_pg_query_up", MetricType::gauge,
                  "Whether the collector's query succeeded in its last run (1) or failed (0).");
    emit.describe("tocsin_pg_query_duration_seconds", MetricType::gauge,
                  "Wall time of the query's last run.");
    emit.describe("tocsin_pg_query_errors_total", MetricType::counter,
                  "Failed runs of the query, timeouts and cancellations included.");
    emit.describe(
        "tocsin_pg_query_timeouts_total", MetricType::counter,
        "Runs of the query ended by statement_timeout, lock_timeout, its own timeout or the cycle's "
        "deadline.");
    for (const std::string& key : seen_health_) {
      QueryHealth& h = health_.at(key);
      const std::size_t sep = key.find('\x1f');
      if (h.up && h.logged_down) {
        const std::string db = key.substr(sep + 1);
        log_->info("postgres {}: query {}{} succeeds again", config_.common.name, key.substr(0, sep),
                   db.empty() ? std::string() : " on database " + db);
        h.logged_down = false;
        h.failure.clear();
      }
      std::vector<Label> labels = {{"query", key.substr(0, sep)}, {"datname", key.substr(sep + 1)}};
      emit.add("tocsin_pg_query_up", labels, h.up ? 1 : 0);
      emit.add("tocsin_pg_query_duration_seconds", labels, h.duration);
      emit.add("tocsin_pg_query_errors_total", labels, h.errors);
      emit.add("tocsin_pg_query_timeouts_total", labels, h.timeouts);
    }
  }

  void publish_details() {
    nlohmann::json d;
    d["server"] = main_.describe;
    d["connected"] = main_.session != nullptr;
    if (main_.session) {
      d["server_version_num"] = main_.session->server_version();
      d["database"] = main_.session->dbname();
      d["backend_pid"] = main_.session->backend_pid();
    }
    if (!main_.error.empty()) {
      d["error"] = main_.error;
      d["reconnect_failures"] = main_.backoff.failures();
      d["next_attempt_in_seconds"] =
          std::max(0.0, std::chrono::duration<double>(main_.backoff.next() - SteadyClock::now()).count());
    }
    d["statements_last_cycle"] = statements_;
    if (config_.statements.enabled) {
      d["pg_stat_statements"] =
          statements_state_.available
              ? nlohmann::json{{"available", true}, {"reported", top_.size()}}
              : nlohmann::json{{"available", false}, {"reason", statements_state_.reason}};
    }
    nlohmann::json failing = nlohmann::json::object();
    for (const auto& [key, h] : health_) {
      if (h.up) continue;
      std::string name = key.substr(0, key.find('\x1f'));
      if (std::string db = key.substr(key.find('\x1f') + 1); !db.empty()) name += " on " + db;
      failing[name] = h.error;
    }
    d["failing_queries"] = std::move(failing);
    std::lock_guard lock(details_mutex_);
    details_ = std::move(d);
  }

  const config::PostgresTargetConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  const ConnParams params_;
  postgres::QueryParameters parameters_;

  Link main_;
  std::map<std::string, Link> databases_;  // extra databases for tables and indexes
  mutable std::mutex links_mutex_;         // guards the sessions' lifetime against interrupt()
  postgres::Watchdog watchdog_;

  std::atomic<bool> interrupted_{false};
  bool closed_by_watchdog_ = false;  // the last lost connection was the watchdog's doing
  SteadyClock::time_point deadline_{};
  Timestamp now_ = 0;              // the cycle's timestamp: the clock of the query intervals
  std::vector<Labels> kept_now_;   // kept samples reported in this cycle, at their runs' times
  std::vector<Labels> kept_last_;  // ... and in the last cycle that succeeded
  Duration custom_margin_{0};
  std::array<Duration, std::size(postgres::kAllQueries)> intervals_{};  // by Query
  static_assert(static_cast<std::size_t>(Query::unused_indexes) + 1 == std::size(postgres::kAllQueries),
                "kAllQueries lists every query, in the enum's order");
  std::map<std::string, Cached> cache_;      // by query and database
  std::vector<std::string> databases_seen_;  // every database, from the last `databases` run
  std::vector<std::string> collectable_;     // those that allow connections
  std::map<std::string, std::vector<std::string>> table_ids_;  // by database: the last `tables` run's oids
  std::size_t statements_ = 0;

  std::map<std::string, QueryHealth> health_;  // by query and database
  std::set<std::string> seen_health_;          // the keys used this cycle
  StatementsState statements_state_;
  postgres::TopStatements top_;
  std::map<std::string, std::string> texts_;  // queryid -> query text, for the reported statements
  std::vector<CustomQuery> custom_;

  mutable std::mutex details_mutex_;
  nlohmann::json details_;

  // The shared target's claim: its own session (under links_mutex_ for interrupt()), whether this
  // session holds the advisory lock, the lock's key and the name the session shows in pg_stat_activity.
  std::unique_ptr<Session> claim_session_;
  bool claim_held_ = false;
  std::atomic<bool> claiming_{false};  // claim() runs: interrupt() may abort the claim session
  const std::int64_t key_ = advisory_lock_key(config_.common.name);
  const std::string claim_key_ = std::to_string(key_);
  const std::string claim_application_name_ = "tocsin claim " + claim_owner();
};

}  // namespace

std::unique_ptr<Collector> make_postgres_collector(const config::PostgresTargetConfig& config,
                                                   std::shared_ptr<spdlog::logger> log) {
  if (!log) log = std::make_shared<spdlog::logger>("postgres");
  return std::make_unique<PostgresCollector>(config, std::move(log));
}

namespace {

// A custom query's metrics are "<prefix>_<column>".
std::vector<std::string> custom_query_families(const config::PostgresTargetConfig& config) {
  std::vector<std::string> out;
  for (const auto& query : config.queries) out.push_back(query.prefix + "_*");
  return out;
}

}  // namespace

const Kind& postgres_kind() {
  static constexpr Kind kind =
      define_kind<config::PostgresTargetConfig, make_postgres_collector, config::check_postgres_interval,
                  custom_query_families>("postgres", true, postgres::kOwnLabels, postgres::kFamilies);
  return kind;
}

}  // namespace tocsin::collectors
