#pragma once
// HTTP requests and responses as handlers see them, and the routing table. The server (Beast) owns
// sockets, limits and timeouts; a handler only maps a Request to a Response. Handlers run on the
// worker pool, never on the I/O thread, so they may block briefly (render, evaluate a query).

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tocsin::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received, e.g. /api/v1/query?query=up
  std::string path;    // percent-decoded path without the query string
  // Query-string parameters, plus the body's when it is application/x-www-form-urlencoded (as
  // Prometheus's API accepts). A repeated name keeps every value in order.
  std::multimap<std::string, std::string> params;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  // Path segments matched by `{name}` placeholders of the route.
  std::map<std::string, std::string> path_params;

  std::optional<std::string> param(const std::string& name) const;
  std::optional<std::string> header(const std::string& lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
  static Response html(int status, std::string body);
  // Prometheus's HTTP API envelope: {"status": "success", "data": ...} and
  // {"status": "error", "errorType": ..., "error": ...}.
  static Response api_success(nlohmann::json data);
  static Response api_error(int status, const std::string& type, const std::string& message);
};

using Handler = std::function<Response(const Request&)>;

// Where a route's handler runs when it must not take the worker pool's threads (the query API: an
// expensive query must not stop /metrics, collections or rule evaluation). The server hands `submit`
// a task: the executor calls task(std::nullopt) on one of its threads to run the handler and send its
// response, or task(response) to send `response` instead (e.g. a query that waited too long or a
// stop). When it cannot take the task at all, submit returns the response to send at once (a full
// queue: 503) and never calls it.
class RouteExecutor {
 public:
  using Task = std::function<void(std::optional<Response> instead)>;
  virtual ~RouteExecutor() = default;
  virtual std::optional<Response> submit(Task task) = 0;
};

// The handler of one named endpoint: `endpoint`, a const member function of the API object `api`,
// which the handler keeps alive. An API is written as one object whose member functions are its
// endpoints (as Prometheus's web/api/v1 API has query, queryRange, series, ...), all registered by
// name in one function beside them rather than as lambdas inside the registration.
template <class Api>
Handler endpoint_handler(std::shared_ptr<const Api> api, Response (Api::*endpoint)(const Request&) const) {
  return [api = std::move(api), endpoint](const Request& request) { return ((*api).*endpoint)(request); };
}

// Routes by method and path. A path may hold `{name}` segments, e.g. /api/v1/alerts/{id}/ack.
// Unknown path: 404; known path with another method: 405 with Allow. Thread-safe for lookups once
// built; routes are added before the server starts.
class Router {
 public:
  void add(std::string method, std::string path, Handler handler);
  // A route whose handler runs on `executor` (which must outlive the server) instead of the pool.
  void add(std::string method, std::string path, Handler handler, std::shared_ptr<RouteExecutor> executor);
  Response handle(Request& request) const;
  // The executor of the route `request` goes to; null for the worker pool (and for 404s and 405s).
  RouteExecutor* executor_for(const Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
    std::shared_ptr<RouteExecutor> executor;
  };
  std::vector<Route> routes_;
};

}  // namespace tocsin::http
