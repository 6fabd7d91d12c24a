#include "app/daemon.hpp"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "app/alert_delivery.hpp"
#include "app/config_hints.hpp"
#include "app/logging.hpp"
#include "app/prometheus_status.hpp"
#include "app/state_lock.hpp"
#include "app/store_snapshots.hpp"
#include "app/systemd_notify.hpp"
#include "app/version.hpp"
#include "tocsin/collectors/kind.hpp"
#include "tocsin/collectors/scheduler.hpp"
#include "tocsin/core/json_text.hpp"
#include "tocsin/http/lifecycle.hpp"
#include "tocsin/http/metrics_endpoint.hpp"
#include "tocsin/http/query_api.hpp"
#include "tocsin/http/runbooks.hpp"
#include "tocsin/http/server.hpp"
#include "tocsin/http/slow_now.hpp"
#include "tocsin/http/status_page.hpp"
#include "tocsin/http/web_config.hpp"
#include "tocsin/remote_write/remote_write.hpp"
#include "tocsin/rules/manager.hpp"
#include "tocsin/store/exposition.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::app {

namespace asio = boost::asio;

namespace {

constexpr auto kGcInterval = std::chrono::seconds(30);
constexpr auto kStopGrace = std::chrono::seconds(4);

std::size_t pool_size(const config::Config& config) {
  // One thread per collector instance would let every target hang at once without starving the
  // others; bounded so a large config cannot spawn hundreds of threads. Two more for HTTP handlers
  // and store maintenance.
  std::size_t instances = config.collectors.instances.size();
  return std::clamp<std::size_t>(instances + 2, 4, 32);
}

http::QueryExecutorOptions query_executor_options(const config::Config& config) {
  http::QueryExecutorOptions o;
  o.max_concurrency = static_cast<std::size_t>(config.query.max_concurrency);
  o.max_queued = static_cast<std::size_t>(config.query.max_queued);
  o.max_wait = std::chrono::duration_cast<std::chrono::milliseconds>(config.query.timeout);
  return o;
}

class Daemon {
 public:
  Daemon(const DaemonOptions& options, config::Config config)
      : options_(options),
        config_(std::move(config)),
        log_(make_logger(
            options.log_format_override.empty() ? config_.log.format : options.log_format_override,
            config_.log.level)),
        pool_(pool_size(config_)),
        remote_write_(remote_write_options(config_), *registry_, log_),
        store_(store::StoreOptions{config_.retention, static_cast<std::size_t>(config_.max_series),
                                   [log = log_](std::size_t max) {
                                     log->warn(
                                         "the store holds max_series={} series: new series are refused "
                                         "from now on, existing ones are still appended to (counted "
                                         "in tocsin_store_series_refused_total; logged once)",
                                         max);
                                   }},
               clock_),
        snapshots_(store_, config_.state_dir, *registry_, log_),
        scheduler_(io_, pool_, store_, clock_, *registry_, log_),
        alerting_(config_, options.listen_override, clock_, *registry_, log_),
        rules_(io_, pool_, store_, clock_, log_, alerting_.sink()),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        gc_timer_(io_),
        snapshot_timer_(io_),
        watchdog_timer_(io_),
        query_executor_(std::make_shared<http::QueryExecutor>(query_executor_options(config_))),
        own_metrics_{registry_, std::make_shared<http::ProcessMetrics>(),
                     std::make_shared<http::StoreMetrics>(store_), rules_.metrics(),
                     query_executor_->metrics()} {
    auto& build_info = prometheus::BuildGauge()
                           .Name("tocsin_build_info")
                           .Help("A metric with a constant '1' value labeled by version and build details.")
                           .Register(*registry_);
    build_info.Add({{"version", kVersion}, {"revision", kRevision}, {"compiler", kCompiler}}).Set(1);
    reload_ok_ = &prometheus::BuildGauge()
                      .Name("tocsin_config_last_reload_successful")
                      .Help("Whether the last configuration reload attempt was successful.")
                      .Register(*registry_)
                      .Add({});
    reload_time_ = &prometheus::BuildGauge()
                        .Name("tocsin_config_last_reload_success_timestamp_seconds")
                        .Help("Timestamp of the last successful configuration reload.")
                        .Register(*registry_)
                        .Add({});
    // Every point the store appends goes to the remote_write endpoints (none configured: no listener).
    if (!remote_write_.empty()) store_.set_append_listener(remote_write_.listener());
    // A collector's commit brings forward the evaluation of the rule groups that select what it
    // committed (docs/rules.md, Evaluation timing); collectors know nothing of rules.
    scheduler_.set_commit_listener([this](const std::string& source,
                                          const std::shared_ptr<const std::vector<std::string>>& names,
                                          Timestamp t) { rules_.samples_committed(source, names, t); });
    // First: its /api/v1/alerts has delivery state.
    http::StatusPageExtras page;
    page.rules = [this] { return rule_statuses(); };
    page.runbooks = [this] { return runbooks_ != nullptr && runbooks_->enabled(); };
    page.slow_now = [this](Timestamp now) {
      promql::EngineOptions options = engine_options();
      options.timeout = std::min<std::chrono::milliseconds>(options.timeout, std::chrono::seconds(5));
      return http::render_slow_now(store_, options, now);
    };
    alerting_.add_routes(
        router_, clock_, [this] { return collector_statuses(); }, [this] { return slo_statuses(); },
        std::move(page));
    add_routes();
    set_lifecycle(config_);
    set_runbooks(config_);
  }

  int run() {
    // The window of the last run, before any collector or rule registers its writer.
    snapshots_.restore();
    http::Server server(io_, pool_, router_, server_options(), log_);
    server_ = &server;
    std::shared_ptr<const http::WebConfig> web;
    if (std::string error = load_web_config(config_, web); !error.empty()) {
      log_->error("cannot load the web config:\n{}", error);
      return 2;
    }
    apply_web_config(std::move(web));
    config::ListenAddress listen = config_.listen;
    if (!options_.listen_override.empty()) config::parse_listen_address(options_.listen_override, listen);
    try {
      server.listen(listen.host, listen.port);
    } catch (const std::exception& e) {
      log_->error("{}", e.what());
      return 1;
    }
    if (std::string error = remote_write_.start(); !error.empty()) {
      log_->error("{}", error);
      return 1;
    }
    try {
      scheduler_.replace(collectors::make_specs(config_.collectors.instances, config_.interval, log_));
    } catch (const std::exception& e) {
      log_->error("cannot start collectors: {}", e.what());
      return 1;
    }
    if (std::string error = alerting_.start(); !error.empty()) {
      log_->error("{}", error);
      return 1;
    }
    if (std::string error = load_rules(config_); !error.empty()) {
      log_->error("cannot load rules:\n{}", error);
      return 2;
    }
    // Collectors and rules gone from the configuration since the snapshot: their series end now.
    store_.retire_unregistered_writers(clock_.now_ms());
    reload_ok_->Set(1);
    reload_time_->Set(static_cast<double>(clock_.now_ms()) / 1000.0);
    log_->info("tocsin {} listening on {}:{} ({}) with {} collector(s), config {}", kVersion, listen.host,
               server.port(), web_summary_, scheduler_.health().size(), config_.file);
    wait_signal();
    schedule_gc();
    schedule_snapshot();
    ready_ = true;
    notifier_.notify("READY=1\nSTATUS=collecting");
    if (notifier_.watchdog_interval()) schedule_watchdog();

    io_.run();

    // Stopping: nothing new starts; collections in flight were interrupted and are given a grace
    // period, after which the process exits regardless (a hung library call must not block a stop).
    std::promise<void> joined;
    auto done = joined.get_future();
    std::thread joiner([this, &joined] {
      pool_.join();
      joined.set_value();
    });
    if (done.wait_for(kStopGrace) != std::future_status::ready) {
      log_->warn("collections still running after {}s; exiting without waiting for them",
                 std::chrono::duration_cast<std::chrono::seconds>(kStopGrace).count());
      snapshots_.write();
      remote_write_.stop();
      log_->flush();
      std::_Exit(0);
    }
    joiner.join();
    snapshots_.write();    // after the last commit, so the next start continues from here
    remote_write_.stop();  // after the last commit too: what is unsent waits on disk for the next start
    log_->info("stopped");
    return 0;
  }

 private:
  static remote_write::Options remote_write_options(const config::Config& config) {
    remote_write::Options o;
    o.endpoints = config.remote_write;
    o.external_labels = config.external_labels;
    if (!config.state_dir.empty()) o.state_dir = config.state_dir;
    o.user_agent = std::string("tocsin/") + kVersion;
    return o;
  }
  static std::vector<std::string> remote_write_urls(const config::Config& config) {
    std::vector<std::string> out;
    for (const auto& e : config.remote_write) out.push_back(e.name + " " + e.url);
    return out;
  }

  // The scheduler's health as the status page shows it (http/ does not know collectors).
  std::vector<http::CollectorStatus> collector_statuses() const {
    std::vector<http::CollectorStatus> out;
    for (const auto& h : scheduler_.health()) {
      out.push_back({h.kind, h.name, h.up, h.collected, h.last_error, h.last_success, h.last_duration_seconds,
                     h.interval,
                     // a shared target's claim (docs/fleet.md)
                     h.claimed ? (*h.claimed ? "claimed" : "standby") : ""});
    }
    return out;
  }

  // The daemon's own endpoints, one named handler each (the query, metadata, alerts and status-page
  // APIs register their own in http/).
  void add_routes() {
    route("GET", "/metrics", &Daemon::serve_metrics);
    route("GET", "/-/healthy", &Daemon::healthy);
    route("GET", "/-/ready", &Daemon::ready);
    http::LifecycleOptions lifecycle;
    lifecycle.reload = [this] { return reload_over_http(); };
    lifecycle.api_token = [this] { return api_token(); };
    lifecycle.enabled = [this] { return lifecycle_enabled(); };
    http::add_lifecycle_routes(router_, std::move(lifecycle));
    route("GET", "/api/v1/rules", &Daemon::list_rules);
    route("GET", "/api/v1/slos", &Daemon::list_slos);
    route("GET", "/api/v1/collectors", &Daemon::list_collectors);
    route("GET", "/api/v1/collectors/{kind}/{name}", &Daemon::collector_details);
    route("GET", "/api/v1/targets", &Daemon::targets);
    route("GET", "/api/v1/status/flags", &Daemon::flags);
    route("GET", "/api/v1/status/runtimeinfo", &Daemon::runtime_info);
    runbooks_ = http::add_runbook_routes(router_);
    http::add_query_routes(
        router_, store_, clock_,
        [this] {
          std::lock_guard lock(engine_mutex_);
          return engine_options_;
        },
        query_executor_);
    http::BuildInfo build;
    build.version = kVersion;
    build.revision = kRevision;
    build.go_version = kCompiler;
    http::add_metadata_routes(router_, store_, std::move(build));
  }

  using Handler = http::Response (Daemon::*)(const http::Request&);
  void route(const char* method, const char* path, Handler handler) {
    router_.add(method, path, [this, handler](const http::Request& req) { return (this->*handler)(req); });
  }

  // GET /metrics: every collected series (newest point) and tocsin's own metrics.
  http::Response serve_metrics(const http::Request&) {
    return http::Response{200, store::kExpositionContentType, http::render_metrics(store_, own_metrics_), {}};
  }

  // GET /-/healthy: 200 while the process serves.
  http::Response healthy(const http::Request&) { return http::Response::text(200, "tocsin is Healthy.\n"); }

  // GET /-/ready: 200 once collectors run, 503 before and while stopping.
  http::Response ready(const http::Request&) {
    return ready_ ? http::Response::text(200, "tocsin is Ready.\n")
                  : http::Response::text(503, "tocsin is not ready.\n");
  }

  // POST|PUT /-/reload (http/lifecycle checks the token and the rate): reloads on the I/O thread.
  std::string reload_over_http() {
    std::promise<std::string> result;
    auto future = result.get_future();
    asio::post(io_, [this, &result] { result.set_value(reload_config()); });
    return future.get();
  }

  // The HTTP server's limits, from the config (they take effect at start).
  http::ServerOptions server_options() {
    http::ServerOptions options;
    options.max_connections = static_cast<std::size_t>(config_.web.max_connections);
    options.max_connections_per_client = static_cast<std::size_t>(config_.web.max_connections_per_client);
    options.reserved_connections = std::min(options.reserved_connections, options.max_connections / 8);
    options.bearer_token = [this] { return api_token(); };
    options.registry = registry_.get();
    return options;
  }

  std::string web_config_path(const config::Config& config) const {
    return options_.web_config_file_override.empty() ? config.web.config_file
                                                     : options_.web_config_file_override;
  }

  // Loads the web config `config` names (or --web.config.file's) into `out`; returns the errors, empty
  // on success.
  std::string load_web_config(const config::Config& config, std::shared_ptr<const http::WebConfig>& out) {
    auto web = std::make_shared<http::WebConfig>();
    if (const std::string path = web_config_path(config); !path.empty()) {
      auto loaded = http::load_web_config(path);
      if (auto* diagnostics = std::get_if<yaml::Diagnostics>(&loaded)) {
        std::string error = diagnostics->to_string();
        if (!error.empty() && error.back() == '\n') error.pop_back();
        return error;
      }
      *web = std::get<http::WebConfig>(std::move(loaded));
    }
    out = std::move(web);
    return "";
  }

  // Hands a loaded web config to the server: new connections and requests use it.
  void apply_web_config(std::shared_ptr<const http::WebConfig> web) {
    web_summary_ = std::string(web->tls.enabled ? "https" : "http") +
                   (web->basic_auth_users.empty() ? "" : ", basic auth") +
                   (web->file.empty() ? "" : ", web config " + web->file);
    if (server_) server_->set_web_config(std::move(web));
  }

  // The API token and web.enable_lifecycle, as request handlers read them (on the pool).
  void set_lifecycle(const config::Config& config) {
    std::lock_guard lock(web_mutex_);
    api_token_ = config.alerting.api_token.reveal();
    enable_lifecycle_ = options_.enable_lifecycle || config.web.enable_lifecycle;
  }
  // web.runbooks_dir, which /runbooks serves; a directory that is not there is said once per load.
  void set_runbooks(const config::Config& config) {
    const std::string& dir = config.web.runbooks_dir;
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      log_->warn("web.runbooks_dir {} is not a directory: /runbooks answers 404 for every page", dir);
    runbooks_->set_directory(dir);
  }
  std::string api_token() {
    std::lock_guard lock(web_mutex_);
    return api_token_;
  }
  bool lifecycle_enabled() {
    std::lock_guard lock(web_mutex_);
    return enable_lifecycle_;
  }

  // GET /api/v1/rules: Prometheus's rules API.
  http::Response list_rules(const http::Request&) {
    return http::Response::json(200, json_text(rules_.rules_json()));
  }

  // GET /api/v1/targets: the collector instances, in Prometheus's shape (docs/operations.md).
  http::Response targets(const http::Request& req) {
    const std::string state(req.param("state").value_or(""));
    auto out = targets_json(scheduler_.health(), state, req.param("scrapePool").value_or(""));
    if (!out) return http::Response::api_error(400, "bad_data", "invalid parameter \"state\": " + state);
    return http::Response::api_success(*out);
  }

  // GET /api/v1/status/flags: the command line and the settings standing in for Prometheus's flags.
  http::Response flags(const http::Request&) {
    config::ListenAddress listen = config_.listen;
    if (!options_.listen_override.empty()) config::parse_listen_address(options_.listen_override, listen);
    return http::Response::api_success(
        {{"config.file", options_.config_path},
         {"web.listen-address", listen.host + ":" + std::to_string(listen.port)},
         {"storage.tsdb.retention.time", format_duration(config_.retention)},
         {"storage.tsdb.path", config_.state_dir},
         {"log.format",
          options_.log_format_override.empty() ? config_.log.format : options_.log_format_override},
         {"log.level", config_.log.level},
         {"query.timeout", format_duration(engine_options().timeout)},
         {"query.max-samples", std::to_string(engine_options().max_samples)},
         {"web.config.file", web_config_path(config_)},
         {"web.enable-lifecycle", lifecycle_enabled() ? "true" : "false"},
         {"query.max-concurrency", std::to_string(query_executor_->options().max_concurrency)}});
  }

  // GET /api/v1/status/runtimeinfo.
  http::Response runtime_info(const http::Request&) {
    RuntimeInfo info;
    info.start_time = start_time_;
    std::error_code ec;
    info.cwd = std::filesystem::current_path(ec).string();
    info.reload_config_success = reload_ok_->Value() == 1;
    info.last_config_time = static_cast<Timestamp>(reload_time_->Value() * 1000);
    info.threads = thread_count();
    info.cpus = std::thread::hardware_concurrency();
    info.retention = config_.retention;
    return http::Response::api_success(runtime_info_json(info));
  }

  static unsigned thread_count() {
    std::error_code ec;
    unsigned n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return n;
  }

  promql::EngineOptions engine_options() {
    std::lock_guard lock(engine_mutex_);
    return engine_options_;
  }

  // Each rule's expression, thresholds and health for the status page, from the /api/v1/rules body.
  std::vector<http::RuleStatus> rule_statuses() const {
    std::vector<http::RuleStatus> out;
    const nlohmann::json j = rules_.rules_json();
    auto seconds = [](const nlohmann::json& o, const char* key) {
      auto it = o.find(key);
      return it != o.end() && it->is_number() ? it->get<double>() : 0.0;
    };
    for (const auto& g : j["data"]["groups"]) {
      for (const auto& r : g.value("rules", nlohmann::json::array())) {
        http::RuleStatus o;
        o.group = g.value("name", "");
        o.group_file = g.value("file", "");
        o.name = r.value("name", "");
        o.alerting = r.value("type", "") == "alerting";
        o.expr = r.value("query", "");
        o.for_seconds = seconds(r, "duration");
        o.last_error = r.value("lastError", "");
        const nlohmann::json annotations = r.value("annotations", nlohmann::json::object());
        const nlohmann::json labels = r.value("labels", nlohmann::json::object());
        o.unit = annotations.value("unit", labels.value("unit", ""));
        for (const auto& t : r.value("tiers", nlohmann::json::array())) {
          http::RuleTierStatus tier;
          tier.severity = t.value("severity", "");
          tier.for_seconds = seconds(t, "for");
          for (const auto& [key, op] : {std::pair{"above", "> "}, std::pair{"at_least", ">= "},
                                        std::pair{"below", "< "}, std::pair{"at_most", "<= "}}) {
            if (auto it = t.find(key); it != t.end() && it->is_number())
              tier.threshold = op + promql::format_value(it->get<double>());
          }
          o.tiers.push_back(std::move(tier));
        }
        out.push_back(std::move(o));
      }
    }
    return out;
  }

  // Each SLO's budget for the status page, from the rule engine's /api/v1/slos body.
  std::vector<http::SloStatus> slo_statuses() const {
    std::vector<http::SloStatus> out;
    const nlohmann::json j = rules_.slos_json();
    auto number = [](const nlohmann::json& v, double none) { return v.is_number() ? v.get<double>() : none; };
    for (const auto& s : j["data"]["slos"]) {
      http::SloStatus o;
      o.name = s.value("name", "");
      o.service = s.value("service", "");
      o.objective = s.value("objective", 0.0);
      o.window = s.value("window", "");
      const nlohmann::json budget = s.value("budget", nlohmann::json::object());
      o.budget_remaining = number(budget.value("remaining", nlohmann::json()), std::nan(""));
      o.exhaustion_seconds = number(budget.value("exhaustionSeconds", nlohmann::json()),
                                    std::numeric_limits<double>::infinity());
      const nlohmann::json burn = s.value("burnRate", nlohmann::json::object());
      o.burn_rate_1h = number(burn.value("1h", nlohmann::json()), std::nan(""));
      o.alert_state = s.value("alertState", "inactive");
      out.push_back(std::move(o));
    }
    return out;
  }

  // GET /api/v1/slos: each SLO's objective, SLI, budget, burn rates and alert state (docs/slo.md).
  http::Response list_slos(const http::Request&) {
    return http::Response::json(200, json_text(rules_.slos_json()));
  }

  // GET /api/v1/collectors: the health of every collector instance.
  http::Response list_collectors(const http::Request&) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : scheduler_.health()) {
      out.push_back({{"collector", h.kind},
                     {"target", h.name},
                     {"up", h.up},
                     {"collected", h.collected},
                     {"last_error", h.last_error},
                     {"interval_seconds", std::chrono::duration<double>(h.interval).count()},
                     {"last_duration_seconds", h.last_duration_seconds},
                     {"last_success", h.last_success / 1000.0}});
      if (h.claimed) out.back()["claimed"] = *h.claimed;  // shared targets only
    }
    return http::Response::api_success(out);
  }

  // GET /api/v1/collectors/{kind}/{name}: what a collector knows beyond metrics.
  http::Response collector_details(const http::Request& req) {
    nlohmann::json details = scheduler_.details(req.path_params.at("kind"), req.path_params.at("name"));
    if (details.is_null()) {
      return http::Response::api_error(404, "not_found", "no such collector or no details");
    }
    return http::Response::api_success(details);
  }

  // Settings of the rule engine from a config (and --compat).
  rules::ManagerSettings rule_settings(const config::Config& config) const {
    rules::ManagerSettings settings;
    settings.evaluation_interval = config.evaluation_interval;
    settings.engine.compat =
        *promql::parse_compat(options_.compat_override.empty() ? config.compat : options_.compat_override);
    settings.engine.default_subquery_step = config.evaluation_interval;
    settings.engine.lookback_delta = config.query.lookback_delta;
    settings.engine.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.query.timeout);
    settings.engine.max_samples = static_cast<std::size_t>(config.query.max_samples);
    LabelsBuilder external;
    for (const auto& [name, value] : config.external_labels) external.set(name, value);
    settings.eval.external_labels = external.build();
    settings.eval.external_url = external_url_for(config, options_.listen_override);
    if (!config.state_dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(config.state_dir, ec);
      if (ec) log_->warn("cannot create state_dir {}: {}", config.state_dir, ec.message());
      settings.state_file = config.state_dir + "/alerts.json";
      settings.slo_state_dir = config.state_dir + "/slo";
      settings.slo_save_interval = config.slo_save_interval;
      std::filesystem::create_directories(settings.slo_state_dir, ec);
      if (ec) log_->warn("cannot create {}: {}", settings.slo_state_dir, ec.message());
    }
    // SLOs exclude alerting's time_intervals from their budgets.
    auto intervals = std::make_shared<const std::map<std::string, config::TimeIntervalConfig>>(
        config.alerting.time_intervals);
    std::set<std::string> names;
    for (const auto& [name, interval] : *intervals) names.insert(name);
    settings.time_interval_names = std::move(names);
    settings.eval.in_time_interval = [intervals](const std::string& name, Timestamp t) {
      auto it = intervals->find(name);
      return it != intervals->end() && config::time_interval_active(it->second, t);
    };
    return settings;
  }

  // Loads the config's rule files into the rule engine; returns the errors, empty on success.
  std::string load_rules(const config::Config& config) {
    yaml::Diagnostics diagnostics;
    auto files = rules::expand_rule_globs(config.rule_files, config.base_dir, config.file, diagnostics);
    for (const auto& w : diagnostics.warnings()) log_->warn("{}", w.to_string());
    rules::ManagerSettings settings = rule_settings(config);
    if (diagnostics.empty()) diagnostics = rules_.load(files, settings);
    if (diagnostics.empty()) {
      std::lock_guard lock(engine_mutex_);
      engine_options_ = settings.engine;
      log_family_hints(config, files);
    }
    std::string error = diagnostics.to_string();
    if (!error.empty() && error.back() == '\n') error.pop_back();
    return error;
  }

  // The hints of `tocsin check` on families no collector produces or no rule reads, as warnings.
  void log_family_hints(const config::Config& config, const std::vector<std::string>& files) {
    yaml::Diagnostics loaded;
    const auto groups = rules::load_rule_files(files, loaded);
    if (!loaded.empty()) return;  // the loaded rules passed; a file changed since: the next reload says so
    yaml::Diagnostics hints;
    hint_family_coverage(config, groups, hints);
    for (const auto& w : hints.warnings()) log_->warn("{}", w.to_string());
  }

  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int signo) {
      if (ec) return;
      if (signo == SIGHUP) {
        reload_config();
        wait_signal();
        return;
      }
      log_->info("received signal {}, stopping", signo == SIGTERM ? "SIGTERM" : "SIGINT");
      stop();
    });
  }

  void stop() {
    notifier_.notify("STOPPING=1");
    ready_ = false;
    scheduler_.stop();
    query_executor_->stop();
    rules_.stop();
    alerting_.stop();
    gc_timer_.cancel();
    snapshot_timer_.cancel();
    watchdog_timer_.cancel();
    io_.stop();
  }

  // On the I/O thread. Returns an error message, empty on success; on failure the old config keeps
  // running.
  std::string reload_config() {
    notifier_.notify("RELOADING=1");
    auto loaded = config::load_config(options_.config_path);
    std::string error;
    if (auto* diagnostics = std::get_if<yaml::Diagnostics>(&loaded)) {
      error = diagnostics->to_string();
      if (!error.empty() && error.back() == '\n') error.pop_back();
    } else {
      config::Config next = std::get<config::Config>(std::move(loaded));
      try {
        auto specs = collectors::make_specs(next.collectors.instances, next.interval, log_);
        if (next.listen.to_string() != config_.listen.to_string() && options_.listen_override.empty()) {
          log_->warn("listen address changed to {}: takes effect after a restart", next.listen.to_string());
        }
        if (remote_write_urls(next) != remote_write_urls(config_)) {
          log_->warn("remote_write changed: takes effect after a restart");
        }
        if (next.web.max_connections != config_.web.max_connections ||
            next.web.max_connections_per_client != config_.web.max_connections_per_client) {
          log_->warn(
              "web.max_connections or web.max_connections_per_client changed: takes effect after a restart");
        }
        if (next.retention != config_.retention) {
          log_->warn("retention changed to {}: takes effect after a restart",
                     format_duration(next.retention));
        }
        if (next.max_series != config_.max_series) {
          log_->warn("max_series changed to {}: takes effect after a restart", next.max_series);
        }
        // The web config, then rules: a broken one rejects the whole reload before anything changes.
        std::shared_ptr<const http::WebConfig> web;
        error = load_web_config(next, web);
        if (error.empty()) error = load_rules(next);
        if (error.empty()) {
          apply_web_config(std::move(web));
          set_lifecycle(next);
          set_runbooks(next);
          set_level(*log_, next.log.level);
          scheduler_.replace(std::move(specs));
          alerting_.reload(next);
          config_ = std::move(next);
        }
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    if (error.empty()) {
      reload_ok_->Set(1);
      reload_time_->Set(static_cast<double>(clock_.now_ms()) / 1000.0);
      log_->info("configuration reloaded from {}", options_.config_path);
    } else {
      reload_ok_->Set(0);
      log_->error("configuration reload failed, keeping the running configuration:\n{}", error);
    }
    notifier_.notify("READY=1");
    return error;
  }

  void schedule_gc() {
    gc_timer_.expires_after(kGcInterval);
    gc_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      asio::post(pool_, [this] { store_.collect_garbage(); });
      schedule_gc();
    });
  }

  // A checkpoint bounds what a SIGKILL or a power loss takes away.
  void schedule_snapshot() {
    snapshot_timer_.expires_after(config_.snapshot_interval);
    snapshot_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      asio::post(pool_, [this] { snapshots_.write(); });
      schedule_snapshot();
    });
  }

  void schedule_watchdog() {
    notifier_.notify("WATCHDOG=1");
    watchdog_timer_.expires_after(*notifier_.watchdog_interval());
    watchdog_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) schedule_watchdog();
    });
  }

  DaemonOptions options_;
  config::Config config_;
  std::shared_ptr<spdlog::logger> log_;
  SystemClock clock_;
  asio::io_context io_;
  asio::thread_pool pool_;
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  remote_write::RemoteWrite remote_write_;  // before store_, whose commits hand it their points
  store::Store store_;
  StoreSnapshots snapshots_;
  collectors::Scheduler scheduler_;
  AlertDelivery alerting_;  // before rules_, which sends to it
  rules::RuleManager rules_;
  std::mutex engine_mutex_;  // guards engine_options_, read by query handlers
  const Timestamp start_time_ = SystemClock().now_ms();
  promql::EngineOptions engine_options_;
  http::Router router_;
  std::shared_ptr<http::RunbookPages> runbooks_;  // set by add_routes()
  asio::signal_set signals_;
  asio::steady_timer gc_timer_;
  asio::steady_timer snapshot_timer_;
  asio::steady_timer watchdog_timer_;
  SystemdNotifier notifier_;
  // The query API's threads, apart from pool_ (docs/reliability.md); outlives the server in run().
  std::shared_ptr<http::QueryExecutor> query_executor_;
  std::vector<std::shared_ptr<prometheus::Collectable>> own_metrics_;
  prometheus::Gauge* reload_ok_ = nullptr;
  prometheus::Gauge* reload_time_ = nullptr;
  std::atomic<bool> ready_{false};
  http::Server* server_ = nullptr;  // run()'s, while it runs
  std::string web_summary_;         // "https, basic auth, web config FILE", for the log
  std::mutex web_mutex_;            // guards api_token_ and enable_lifecycle_
  std::string api_token_;
  bool enable_lifecycle_ = false;
};

}  // namespace

int run_daemon(const DaemonOptions& options, config::Config config) {
  // Before anything reads the state: a second daemon on the directory must not even restore it.
  StateLock lock;
  if (!config.state_dir.empty()) {
    if (std::string error = lock.acquire(config.state_dir); !error.empty()) {
      make_logger(options.log_format_override.empty() ? config.log.format : options.log_format_override,
                  config.log.level)
          ->error("{}", error);
      return 1;
    }
  }
  Daemon daemon(options, std::move(config));
  return daemon.run();
}

}  // namespace tocsin::app
