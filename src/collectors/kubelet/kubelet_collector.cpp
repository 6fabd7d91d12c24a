#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "collectors/kubelet/families.hpp"
#include "collectors/kubelet/kubelet.hpp"
#include "collectors/kubelet/summary.hpp"
#include "tocsin/collectors/problem_log.hpp"
#include "tocsin/core/duration.hpp"
#include "tocsin/net/http_client.hpp"

namespace tocsin::collectors {

namespace {

using std::chrono::milliseconds;

// A service-account token is about 1 KiB; this only stops a path that points at something endless.
constexpr std::size_t kMaxTokenBytes = 64u << 10;

// The token, or an error naming the file (never the content).
std::string read_token(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot read the bearer token file " + path + ": " + std::strerror(errno);
    return {};
  }
  std::string token(kMaxTokenBytes + 1, '\0');
  std::size_t used = 0;
  while (used < token.size()) {
    const ssize_t n = ::read(fd, token.data() + used, token.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "cannot read the bearer token file " + path + ": " + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (!error.empty()) return {};
  if (used > kMaxTokenBytes) {
    error = "the bearer token file " + path + " is larger than 64 KiB";
    return {};
  }
  token.resize(used);
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' '))
    token.pop_back();
  if (token.empty()) error = "the bearer token file " + path + " is empty";
  return token;
}

// The start of a refusal's body (the kubelet says which user and verb it refused), on one line.
std::string excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

net::TlsConfig tls_of(const config::KubeletTlsConfig& tls) {
  return {.insecure_skip_verify = tls.insecure_skip_verify,
          .ca_file = tls.ca_file,
          .server_name = tls.server_name};
}

class KubeletCollector final : public Collector {
 public:
  KubeletCollector(const config::KubeletCollectorConfig& config, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        client_(std::make_unique<net::HttpClient>(tls_of(config.tls))),
        problems_(log, "kubelet collector " + config.common.name) {
    if (config.tls.insecure_skip_verify && config.url.starts_with("https://")) {
      log->warn(
          "kubelet collector {}: tls.insecure_skip_verify is set: the kubelet's certificate is NOT checked, "
          "so "
          "anyone on the path to {} can read the bearer token and forge the metrics",
          config.common.name, config.url);
    }
    if (config.url.starts_with("http://") && !config.bearer_token_file.empty()) {
      log->warn("kubelet collector {}: {} is plain HTTP: the bearer token is sent unencrypted",
                config.common.name, config.url);
    }
  }

  std::string_view kind() const override { return "kubelet"; }
  const std::string& name() const override { return config_.common.name; }

  void collect(const CollectContext& ctx, store::Batch& out) override {
    net::HttpRequest request;
    request.method = "GET";
    request.url = config_.url;
    request.headers.emplace_back("Accept", "application/json");
    if (!config_.bearer_token_file.empty()) {
      std::string error;
      std::string token = read_token(config_.bearer_token_file, error);
      if (!error.empty()) throw CollectError(error);
      request.headers.emplace_back("Authorization", "Bearer " + token);
    }
    const auto budget = ctx.budget();
    if (budget <= milliseconds(0)) throw CollectError("the cycle's deadline passed before the request");
    const bool deadline_bound = budget < config_.request_timeout;
    request.timeout = deadline_bound ? budget : config_.request_timeout;
    request.max_body_bytes = static_cast<std::size_t>(config_.max_response_bytes);

    auto cancel = std::make_shared<net::Cancellation>();
    {
      std::lock_guard lock(mutex_);
      cancel_ = cancel;
    }
    net::HttpResponse response = client_->send(request, cancel.get());
    {
      std::lock_guard lock(mutex_);
      cancel_.reset();
    }
    if (!response.error.empty()) {
      // The same text every cycle of an outage (the scheduler logs a changed error again).
      std::string error = response.error;
      if (error.starts_with("timed out")) {
        error = deadline_bound
                    ? "no response before the cycle's deadline"
                    : "no response within request_timeout (" + format_duration(config_.request_timeout) + ")";
      }
      // The CA file is read once per client: make a new one, so that a CA that appears is used.
      if (error.starts_with("TLS setup failed"))
        client_ = std::make_unique<net::HttpClient>(tls_of(config_.tls));
      throw CollectError("GET " + config_.url + ": " + error);
    }
    if (response.status == 401) {
      throw CollectError("GET " + config_.url + ": 401 Unauthorized: the kubelet refused the bearer token" +
                         (config_.bearer_token_file.empty() ? " (none is sent: set bearer_token_file)"
                                                            : " from " + config_.bearer_token_file));
    }
    if (response.status == 403) {
      throw CollectError(
          "GET " + config_.url +
          ": 403 Forbidden: the token's user may not get nodes/stats (grant get on nodes/stats "
          "and nodes/proxy; README.md, Permissions): " +
          excerpt(response.body));
    }
    if (response.status != 200) {
      throw CollectError("GET " + config_.url + ": HTTP " + std::to_string(response.status) + ": " +
                         excerpt(response.body));
    }
    kubelet::SummaryStats stats;
    try {
      stats = kubelet::convert_summary(response.body, out);
    } catch (const kubelet::SummaryError& e) {
      throw CollectError("GET " + config_.url + ": " + e.what());
    }
    if (stats.skipped > 0) {
      problems_.report("fields", spdlog::level::warn,
                       std::to_string(stats.skipped) +
                           " fields of the summary have an unexpected type and are "
                           "left out, the first at " +
                           stats.first_skipped);
    } else {
      problems_.clear("fields",
                      [] { return std::string("every field of the summary has its expected type again"); });
    }
    std::lock_guard lock(mutex_);
    last_ = stats;
  }

  void interrupt() override {
    std::lock_guard lock(mutex_);
    if (cancel_) cancel_->cancel();
  }

  nlohmann::json details() const override {
    std::lock_guard lock(mutex_);
    return {
        {"url", config_.url},
        {"tls_verified", config_.url.starts_with("https://") && !config_.tls.insecure_skip_verify},
        {"pods", last_.pods},
        {"containers", last_.containers},
        {"skipped_fields", last_.skipped},
        {"first_skipped_field", last_.first_skipped},
    };
  }

 private:
  const config::KubeletCollectorConfig config_;
  std::unique_ptr<net::HttpClient> client_;  // replaced only in collect()
  ProblemLog problems_;                      // only in collect()
  mutable std::mutex mutex_;                 // guards cancel_ and last_
  std::shared_ptr<net::Cancellation> cancel_;
  kubelet::SummaryStats last_;
};

}  // namespace

std::unique_ptr<Collector> make_kubelet_collector(const config::KubeletCollectorConfig& config,
                                                  std::shared_ptr<spdlog::logger> log) {
  return std::make_unique<KubeletCollector>(config, std::move(log));
}

const Kind& kubelet_kind() {
  static constexpr Kind kind = define_kind<config::KubeletCollectorConfig, make_kubelet_collector>(
      "kubelet", true, kubelet::kOwnLabels, kubelet::kFamilies);
  return kind;
}

}  // namespace tocsin::collectors
