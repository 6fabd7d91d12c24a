#pragma once
// The HTTP server (Boost.Beast): accepts on the I/O thread, reads requests with size limits and
// deadlines, runs handlers on the worker pool, writes responses back with a timeout. Malformed or
// oversized requests get a 4xx and the connection is closed; a slow client only ever holds its own
// connections, a bounded number per client address and in all (docs/security.md).
// With a web config (web_config.hpp): TLS (Beast's ssl_stream over OpenSSL), basic authentication
// (checked on the worker pool, never on the I/O thread: bcrypt is slow) and its headers. Every
// response carries security headers (Content-Security-Policy, X-Content-Type-Options, X-Frame-Options,
// Referrer-Policy) unless its handler or the web config sets them; bodies of at least gzip_min_bytes
// are gzipped when the client accepts it (Content-Encoding, Vary).

#include <spdlog/logger.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tocsin/http/router.hpp"
#include "tocsin/http/web_config.hpp"

namespace prometheus {
class Registry;
}

namespace tocsin::http {

struct ServerOptions {
  std::size_t max_header_bytes = 16 * 1024;  // request line and headers; beyond: 431
  std::size_t max_body_bytes = 1024 * 1024;  // beyond: 413
  // Deadlines against slow clients (slowloris). A new connection has `header_timeout` for its TLS
  // handshake and its first request's line and headers; a kept-alive one may wait `idle_timeout` for
  // its next request, which then has `header_timeout` from its first byte. A body has `body_timeout`
  // after its headers.
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds header_timeout{5'000};
  std::chrono::milliseconds body_timeout{10'000};
  std::chrono::milliseconds write_timeout{30'000};  // for a whole response
  // Connections beyond a limit are closed at once. One client address may hold at most
  // `max_connections_per_client`; the last `reserved_connections` of `max_connections` go only to
  // addresses that hold none yet, so one client (or a few) can never lock a scraper out.
  std::size_t max_connections = 256;
  std::size_t max_connections_per_client = 32;
  std::size_t reserved_connections = 32;
  std::size_t gzip_min_bytes = 1024;  // smaller bodies are sent as they are
  // A request carrying `Authorization: Bearer <token>` with this token passes basic authentication
  // (the API token grants more than a basic_auth_users login; the CLI sends it). Empty: none.
  std::function<std::string()> bearer_token;
  // tocsin_http_* metrics (connections, limits, refusals) are registered here when set.
  prometheus::Registry* registry = nullptr;
};

class Server {
 public:
  Server(boost::asio::io_context& io, boost::asio::thread_pool& pool, const Router& router,
         ServerOptions options, std::shared_ptr<spdlog::logger> log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Throws std::runtime_error naming the address and the cause.
  void listen(const std::string& host, std::uint16_t port);
  std::uint16_t port() const;
  // Stops accepting; open connections finish their current exchange.
  void stop();
  // Applies a web config (TLS, basic auth, headers): new connections use its TLS settings, every
  // request from now on its users and headers. Thread-safe. The default is plain HTTP, no auth.
  void set_web_config(std::shared_ptr<const WebConfig> config);

  class Impl;  // internal; public so that connection sessions in the .cpp can name it

 private:
  std::shared_ptr<Impl> impl_;
};

// What a connection does with one request's bytes, without a socket: Beast's parser with `options`'
// header and body limits (431, 413; 400 for a malformed request), the target's path and parameters and a
// form body decoded (400 when malformed), then `router`. Not the per-connection parts (TLS, basic
// authentication, the security headers and gzip a Server adds). nullopt when the bytes end before the
// request does. A handler's exception propagates (a Server answers it with a 500). For the fuzzer
// (fuzz/http_request_fuzz.cpp) and tests.
std::optional<Response> handle_raw_request(std::string_view bytes, const Router& router,
                                           const ServerOptions& options = {});

// Percent-decodes a URL component ('+' as space when `form` is set). Returns nullopt when malformed.
std::optional<std::string> url_decode(std::string_view in, bool form);
// Parses a query string or x-www-form-urlencoded body into `out`. Returns false when malformed.
bool parse_form(std::string_view in, std::multimap<std::string, std::string>& out);

}  // namespace tocsin::http
