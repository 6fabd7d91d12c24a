#pragma once
// The daemon's configuration: one YAML file (bundled default: config/tocsin.yaml).

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "tocsin/config/alerting.hpp"
#include "tocsin/config/collectors.hpp"
#include "tocsin/config/diagnostics.hpp"

namespace tocsin::config {

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9850;
  std::string to_string() const;  // host:port, IPv6 in brackets
};
bool decode(const Node& node, ListenAddress& out);
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
};

struct Config {
  std::string file;      // where it was read from
  std::string base_dir;  // its directory; relative paths resolve against it
  ListenAddress listen;
  Duration interval = std::chrono::seconds(15);
  Duration retention = std::chrono::hours(1);
  std::string state_dir = "/var/lib/tocsin";
  LogConfig log;
  CollectorsConfig collectors;
  std::vector<std::string> rule_files;  // globs, relative to base_dir
  Duration evaluation_interval = std::chrono::seconds(15);  // rule groups without their own interval
  std::string compat = "prometheus3";  // or prometheus2: PromQL's closed range windows of Prometheus 2.x
  std::map<std::string, std::string> external_labels;  // $externalLabels in templates, added to alerts
  std::string external_url;                            // $externalURL; links in notifications
  AlertingConfig alerting;
  QueryConfig query;
};

// Reads and validates a config file. On failure returns every error found.
std::variant<Config, Diagnostics> load_config(const std::string& path, EnvLookup env = process_environment());
std::variant<Config, Diagnostics> parse_config(const std::string& text, const std::string& file,
                                               EnvLookup env = process_environment());

// The effective interval and deadline of a collector instance.
Duration effective_interval(const Config& config, const CollectorCommon& common);
Duration effective_timeout(const Config& config, const CollectorCommon& common);

}  // namespace tocsin::config
