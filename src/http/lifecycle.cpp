#include "tocsin/http/lifecycle.hpp"

#include <memory>

#include "http/basic_auth.hpp"

namespace tocsin::http {

namespace {

class Lifecycle {
 public:
  explicit Lifecycle(LifecycleOptions options) : options_(std::move(options)) {}

  Response reload(const Request& req) const {
    const std::string token = options_.api_token ? options_.api_token() : "";
    const bool enabled = options_.enabled && options_.enabled();
    if (auto denied = check_lifecycle_access(req, token, enabled)) return *denied;
    {
      std::lock_guard lock(mutex_);
      const auto now = std::chrono::steady_clock::now();
      if (last_ && now - *last_ < options_.min_interval) {
        const auto wait = std::chrono::duration_cast<std::chrono::seconds>(
            options_.min_interval - (now - *last_) + std::chrono::milliseconds(999));
        Response r =
            Response::text(429, "too many reloads: at most one per " +
                                    std::to_string(options_.min_interval.count()) + " ms; retry later\n");
        r.headers.emplace_back("Retry-After", std::to_string(std::max<long long>(1, wait.count())));
        return r;
      }
      last_ = now;
    }
    const std::string error = options_.reload();
    if (error.empty()) return Response::text(200, "configuration reloaded\n");
    return Response::text(500, "failed to reload config: " + error + "\n");
  }

 private:
  LifecycleOptions options_;
  mutable std::mutex mutex_;  // guards last_
  mutable std::optional<std::chrono::steady_clock::time_point> last_;
};

}  // namespace

std::optional<Response> check_lifecycle_access(const Request& req, const std::string& api_token,
                                               bool lifecycle_enabled) {
  const std::string header = req.header("authorization").value_or("");
  if (!api_token.empty() && header.starts_with("Bearer ") &&
      constant_time_equal(std::string_view(header).substr(7), api_token)) {
    return std::nullopt;
  }
  if (lifecycle_enabled) return std::nullopt;
  if (api_token.empty()) {
    return Response::text(403,
                          "the lifecycle API is disabled: set alerting.api_token_file and send the token as "
                          "\"Authorization: Bearer <token>\", or set web.enable_lifecycle: true\n");
  }
  Response r = Response::text(401, "a valid \"Authorization: Bearer <token>\" header is required\n");
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"tocsin\"");
  return r;
}

void add_lifecycle_routes(Router& router, LifecycleOptions options) {
  auto api = std::make_shared<const Lifecycle>(std::move(options));
  router.add("POST", "/-/reload", endpoint_handler(api, &Lifecycle::reload));
  router.add("PUT", "/-/reload", endpoint_handler(api, &Lifecycle::reload));
}

}  // namespace tocsin::http
