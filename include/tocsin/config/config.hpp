#pragma once
// The daemon's configuration: one YAML file (bundled default: config/tocsin.yaml).

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "tocsin/alerting/config.hpp"
#include "tocsin/collectors/kind.hpp"
#include "tocsin/remote_write/config.hpp"
#include "tocsin/yaml/diagnostics.hpp"

namespace tocsin::config {

// Where every command looks for the config when --config is not given.
inline constexpr const char* kDefaultConfigPath = "/etc/tocsin/tocsin.yaml";

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9850;
  std::string to_string() const;  // host:port, IPv6 in brackets
};
bool decode(const yaml::Node& node, ListenAddress& out);
// Parses "host:port", "[v6]:port" or ":port"; returns an error message or nullopt on success.
std::optional<std::string> parse_listen_address(std::string_view text, ListenAddress& out);

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error
  std::string format = "text";  // text or json
};

// PromQL engine limits for the query API and the rule engine, as Prometheus's --query.* flags.
struct QueryConfig {
  Duration lookback_delta = std::chrono::minutes(5);  // how far back an instant selector finds a sample
  Duration timeout = std::chrono::minutes(2);         // one query's evaluation
  long long max_samples = 50'000'000;                 // points one query may hold in memory
  // The query API's own threads (read at start): queries evaluating at once, and waiting beyond them
  // (more get 503 at once). docs/reliability.md.
  long long max_concurrency = 4;
  long long max_queued = 16;
};

// `web:`, the HTTP server's security (docs/security.md).
struct WebSettings {
  // A web config file in exporter-toolkit's format (TLS, basic auth, headers), as Prometheus's
  // --web.config.file; relative to the config's directory. Empty: plain HTTP, no authentication.
  std::string config_file;
  bool enable_lifecycle = false;  // POST /-/reload without the API token, as --web.enable-lifecycle
  // The runbook pages served at /runbooks (docs/runbooks/); relative to the config's directory.
  // Empty: /runbooks answers 404.
  std::string runbooks_dir;
  long long max_connections = 256;
  long long max_connections_per_client = 32;
};

// The collector instances, in the order of the registry's kinds and then of the file.
struct CollectorsConfig {
  std::vector<collectors::Instance> instances;

  // Copies of the settings of every instance whose config struct is T (for tests and tools).
  template <typename T>
  std::vector<T> of() const {
    std::vector<T> out;
    for (const auto& instance : instances) {
      if (*instance.kind->settings_type == typeid(T)) out.push_back(instance.settings_as<T>());
    }
    return out;
  }
};

struct Config {
  std::string file;      // where it was read from
  std::string base_dir;  // its directory; relative paths resolve against it
  ListenAddress listen;
  Duration interval = std::chrono::seconds(15);
  Duration retention = std::chrono::hours(1);
  // Series the store holds at most (0: no limit): new series beyond it are refused, existing ones
  // keep being appended to (docs/reliability.md). Read at start.
  long long max_series = 1'000'000;
  std::string state_dir = "/var/lib/tocsin";
  Duration snapshot_interval = std::chrono::minutes(5);  // the store's checkpoint to state_dir
  // How often each SLO's budget history is written to state_dir/slo (and at shutdown): what a SIGKILL
  // may lose of it (docs/slo.md).
  Duration slo_save_interval = std::chrono::minutes(1);
  LogConfig log;
  CollectorsConfig collectors;
  std::vector<std::string> rule_files;                      // globs, relative to base_dir
  Duration evaluation_interval = std::chrono::seconds(15);  // rule groups without their own interval
  std::string compat = "prometheus3";  // or prometheus2: PromQL's closed range windows of Prometheus 2.x
  // Who this daemon is (`labels:`, Prometheus's external_labels; default host=<host name>): added to
  // every notification, shown by the status page and `tocsin alerts`, $externalLabels in templates;
  // never added to stored series, so rules written for one host work on all.
  std::map<std::string, std::string> external_labels;
  std::string external_url;  // $externalURL; links in notifications
  AlertingConfig alerting;
  QueryConfig query;
  std::vector<remote_write::EndpointConfig> remote_write;  // `remote_write:` (docs/remote_write.md)
  WebSettings web;
};

// Reads and validates a config file. On failure returns every error found.
std::variant<Config, yaml::Diagnostics> load_config(const std::string& path,
                                                    yaml::EnvLookup env = yaml::process_environment());
std::variant<Config, yaml::Diagnostics> parse_config(const std::string& text, const std::string& file,
                                                     yaml::EnvLookup env = yaml::process_environment());

// The effective interval and deadline of a collector instance.
Duration effective_interval(const Config& config, const CollectorCommon& common);
Duration effective_timeout(const Config& config, const CollectorCommon& common);

// The host's name (gethostname), the default `host` label.
std::string host_name();

}  // namespace tocsin::config
