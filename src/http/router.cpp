#include "tocsin/http/router.hpp"

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tocsin/core/json_text.hpp"

namespace tocsin::http {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    out.emplace_back(path.substr(i, end - i));
    i = end;
  }
  return out;
}

bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
           std::map<std::string, std::string>* params) {
  if (pattern.size() != segments.size()) return false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const std::string& p = pattern[i];
    if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
      if (params) (*params)[p.substr(1, p.size() - 2)] = segments[i];
    } else if (p != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::string> Request::param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

Response Response::text(int status, std::string body) {
  return Response{status, "text/plain; charset=utf-8", std::move(body), {}};
}
Response Response::json(int status, std::string body) {
  return Response{status, "application/json", std::move(body), {}};
}
Response Response::html(int status, std::string body) {
  return Response{status, "text/html; charset=utf-8", std::move(body), {}};
}
Response Response::api_success(nlohmann::json data) {
  return json(200, json_text(nlohmann::json{{"status", "success"}, {"data", std::move(data)}}));
}
Response Response::api_error(int status, const std::string& type, const std::string& message) {
  return json(status,
              json_text(nlohmann::json{{"status", "error"}, {"errorType", type}, {"error", message}}));
}

void Router::add(std::string method, std::string path, Handler handler) {
  routes_.push_back(Route{std::move(method), split_path(path), std::move(handler), nullptr});
}

void Router::add(std::string method, std::string path, Handler handler,
                 std::shared_ptr<RouteExecutor> executor) {
  routes_.push_back(Route{std::move(method), split_path(path), std::move(handler), std::move(executor)});
}

RouteExecutor* Router::executor_for(const Request& request) const {
  const std::vector<std::string> segments = split_path(request.path);
  for (const Route& route : routes_) {
    if (!match(route.segments, segments, nullptr)) continue;
    if (route.method == request.method || (request.method == "HEAD" && route.method == "GET"))
      return route.executor.get();
  }
  return nullptr;
}

Response Router::handle(Request& request) const {
  const std::vector<std::string> segments = split_path(request.path);
  std::set<std::string> allowed;
  for (const Route& route : routes_) {
    if (!match(route.segments, segments, nullptr)) continue;
    bool same = route.method == request.method || (request.method == "HEAD" && route.method == "GET");
    if (!same) {
      allowed.insert(route.method);
      continue;
    }
    match(route.segments, segments, &request.path_params);
    return route.handler(request);
  }
  if (allowed.empty()) return Response::text(404, "404 page not found\n");
  std::string allow;
  for (const std::string& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  Response r = Response::text(405, "method " + request.method + " not allowed; use " + allow + "\n");
  r.headers.emplace_back("Allow", allow);
  return r;
}

}  // namespace tocsin::http
