#pragma once
// Configuration of a scrape collector instance (collectors.scrape[i]): one Prometheus scrape job, in
// prometheus.yml's own words, so a scrape_configs entry can be pasted. The keys are documented in
// src/collectors/scrape/README.md and docs/collectors/scrape.md.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collectors/scrape/relabel.hpp"
#include "tocsin/collectors/common.hpp"
#include "tocsin/yaml/secret.hpp"

namespace tocsin::config {

struct ScrapeTlsConfig {
  std::string ca_file;                // PEM bundle to trust instead of the system's
  std::string cert_file;              // client certificate (PEM), with key_file
  std::string key_file;               // its private key (PEM)
  std::string server_name;            // SNI and the name checked; default: the target's host
  bool insecure_skip_verify = false;  // accept any certificate; logged as a warning
};

struct ScrapeBasicAuth {
  std::string username;
  yaml::Secret password;  // `password` or `password_file`
};

struct ScrapeAuthorization {
  std::string type = "Bearer";
  yaml::Secret credentials;  // `credentials` or `credentials_file`
};

// Prometheus's HTTP client settings and relabel rules as a scrape job writes them, with every error at
// its position; remote_write (src/remote_write) decodes its own keys of the same names with them.
void decode_tls(const yaml::Node& node, ScrapeTlsConfig& out);
void decode_basic_auth(const yaml::Node& node, ScrapeBasicAuth& out);
void decode_authorization(const yaml::Node& node, ScrapeAuthorization& out);
void decode_relabels(const yaml::Node& node, std::vector<collectors::scrape::RelabelRule>& out);

// A static_configs entry (or the `targets:` shorthand): host:port targets and their labels.
struct ScrapeStaticConfig {
  std::vector<std::string> targets;
  std::map<std::string, std::string> labels;
};

// A file_sd_configs entry: files of target groups (JSON or YAML), re-read when they change.
struct ScrapeFileSdConfig {
  std::vector<std::string> files;  // resolved against the config's directory; `*` globs in the last part
  Duration refresh_interval = std::chrono::minutes(5);
};

struct ScrapeCollectorConfig {
  CollectorCommon common{.name = "scrape"};
  std::string job_name;  // the `job` label; default: the instance name
  std::vector<ScrapeStaticConfig> static_configs;
  std::vector<ScrapeFileSdConfig> file_sd_configs;
  std::string metrics_path = "/metrics";
  std::string scheme = "http";
  std::map<std::string, std::vector<std::string>> params;
  std::optional<ScrapeBasicAuth> basic_auth;
  std::optional<ScrapeAuthorization> authorization;
  ScrapeTlsConfig tls_config;
  bool follow_redirects = true;
  bool honor_labels = false;
  bool honor_timestamps = true;
  std::vector<collectors::scrape::RelabelRule> relabel_configs;
  std::vector<collectors::scrape::RelabelRule> metric_relabel_configs;
  std::uint64_t sample_limit = 0;  // 0: no limit, as in Prometheus
  std::uint64_t label_limit = 0;
  std::uint64_t label_name_length_limit = 0;
  std::uint64_t label_value_length_limit = 0;
  std::uint64_t body_size_limit = 0;  // bytes, uncompressed; 0: tocsin's bound, kMaxBodyBytes
  // The interval and timeout as the target labels __scrape_interval__/__scrape_timeout__ show them,
  // settled by check_scrape() once the top-level interval is known.
  mutable Duration effective_interval{0};
  mutable Duration effective_timeout{0};
};

// Without a body_size_limit a body is still bounded, so a broken exporter cannot exhaust memory.
inline constexpr std::uint64_t kMaxScrapeBodyBytes = 256ull << 20;
// Prometheus's default scrape_timeout, used when the config gives none (never beyond the interval).
inline constexpr Duration kDefaultScrapeTimeout = std::chrono::seconds(10);

void decode(const yaml::Node& node, ScrapeStaticConfig& out);
void decode(const yaml::Node& node, ScrapeFileSdConfig& out);
void decode(const yaml::Node& node, ScrapeCollectorConfig& out);
// Runs once the top-level interval is known: scrape_timeout must fit the interval.
void check_scrape(const yaml::Node& node, const ScrapeCollectorConfig& config, Duration default_interval);

// A byte size as Prometheus writes body_size_limit: a plain number of bytes or a number with B, KB,
// MB, GB, TB (base 2, as Go's units.Base2Bytes) or KiB, MiB, GiB, TiB. nullopt when malformed.
std::optional<std::uint64_t> parse_body_size(std::string_view text);

}  // namespace tocsin::config
