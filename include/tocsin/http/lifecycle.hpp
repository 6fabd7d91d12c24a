#pragma once
// The lifecycle endpoints, guarded as Prometheus guards them (--web.enable-lifecycle) and as tocsin
// guards every other mutating endpoint (the API token):
//   POST|PUT /-/reload   reloads the config; 200, or 500 with every error
// A request passes with `Authorization: Bearer <alerting.api_token>`, or without it when
// web.enable_lifecycle is on; else 401 (a token is configured) or 403 (none is, and lifecycle is off).
// Reloads through HTTP are rate-limited (429 with Retry-After); SIGHUP is not.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "tocsin/http/router.hpp"

namespace tocsin::http {

struct LifecycleOptions {
  std::function<std::string()> reload;           // reloads; returns the errors, empty on success
  std::function<std::string()> api_token;        // the current API token; empty: none configured
  std::function<bool()> enabled;                 // web.enable_lifecycle (or --web.enable-lifecycle)
  std::chrono::milliseconds min_interval{1000};  // between two reloads through HTTP
};

void add_lifecycle_routes(Router& router, LifecycleOptions options);

// nullopt when `req` may use a lifecycle endpoint; else the refusal (401 or 403).
std::optional<Response> check_lifecycle_access(const Request& req, const std::string& api_token,
                                               bool lifecycle_enabled);

}  // namespace tocsin::http
