#pragma once
// The `remote_write:` list of the daemon's config, in Prometheus's words (its remote_write section of
// prometheus.yml, so an entry can be pasted): where to send, how to authenticate, which series to
// send and how to queue them. docs/remote_write.md documents every key.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/net/tls.hpp"
#include "tocsin/yaml/decoder.hpp"
#include "tocsin/yaml/secret.hpp"

namespace tocsin::remote_write {

// Prometheus 2.42's DefaultQueueConfig, except where tocsin says otherwise.
struct QueueConfig {
  std::size_t capacity = 2500;  // samples buffered in memory before batches go to the disk queue
  int max_shards = 200;         // accepted; tocsin sends over one connection (docs/remote_write.md)
  int min_shards = 1;
  std::size_t max_samples_per_send = 500;
  Duration batch_send_deadline = std::chrono::seconds(5);
  Duration min_backoff = std::chrono::milliseconds(30);
  Duration max_backoff = std::chrono::seconds(5);
  bool retry_on_http_429 = false;
};

// The compiled write_relabel_configs (Prometheus's relabelling, shared with the scrape collector);
// defined in src/remote_write.
struct RelabelRules;

struct EndpointConfig {
  std::string url;
  std::string name;  // remote_name on the metrics; default: a hash of the url
  Duration remote_timeout = std::chrono::seconds(30);
  std::map<std::string, std::string> headers;
  std::string basic_auth_username;  // basic_auth, when username or password is set
  yaml::Secret basic_auth_password;
  bool basic_auth = false;
  std::string authorization_type;  // authorization: "Bearer" unless given
  yaml::Secret authorization_credentials;
  net::TlsConfig tls;
  net::ClientCertificate client_certificate;
  std::shared_ptr<const RelabelRules> write_relabel_configs;  // never null
  QueueConfig queue_config;
  // tocsin's own: the bound of the on-disk queue in state_dir (what a receiver outage may buffer).
  std::uint64_t max_disk_bytes = 512ULL * 1024 * 1024;
};

// Decodes the `remote_write:` list, reporting every problem at its position. Two entries with the
// same remote_name are refused (their metrics and queues would mix).
void decode_remote_write(const yaml::Node& node, std::vector<EndpointConfig>& out);

}  // namespace tocsin::remote_write
