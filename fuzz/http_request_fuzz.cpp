// What the HTTP server does with a raw request (handle_raw_request: Beast's parser with the server's
// limits, the target and form decoding, the router), with the real query API routes over an empty store
// and a few routes with {name} segments. Every input gets a response or needs more bytes; never a crash.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tocsin/core/clock.hpp"
#include "tocsin/http/query_api.hpp"
#include "tocsin/http/router.hpp"
#include "tocsin/http/server.hpp"
#include "tocsin/store/store.hpp"

namespace http = tocsin::http;

namespace {

http::Response echo(const http::Request& r) {
  std::string body = r.method + " " + r.path + "\n";
  for (const auto& [k, v] : r.params) body += k + "=" + v + "\n";
  for (const auto& [k, v] : r.path_params) body += k + ":" + v + "\n";
  return http::Response::text(200, body);
}

const http::Router& router() {
  static const tocsin::ManualClock clock(1'700'000'000'000);
  static tocsin::store::Store store(tocsin::store::StoreOptions{}, clock);
  static const http::Router r = [] {
    http::Router out;
    http::add_query_routes(out, store, clock, [] { return tocsin::promql::EngineOptions{}; });
    out.add("GET", "/metrics", echo);
    out.add("POST", "/api/v1/alerts/{id}/ack", echo);
    out.add("GET", "/api/v1/alerts/{id}", echo);
    out.add("DELETE", "/api/v1/silences/{id}", echo);
    return out;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  http::ServerOptions options;
  options.max_header_bytes = 4096;
  options.max_body_bytes = 64 * 1024;
  (void)http::handle_raw_request(bytes, router(), options);
  return 0;
}
