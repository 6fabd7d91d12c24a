#pragma once
// The HTTP server (Boost.Beast): accepts on the I/O thread, reads requests with size limits and
// timeouts, runs handlers on the worker pool, writes responses back with a timeout. Malformed or
// oversized requests get a 4xx and the connection is closed; a slow client only ever holds its own
// connection, up to a bounded number of connections.

#include <spdlog/logger.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tocsin/http/router.hpp"

namespace tocsin::http {

struct ServerOptions {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  // For a whole request, headers and body, counted from when the server starts waiting for it (so
  // also the longest a keep-alive connection may sit idle).
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{30'000};  // for a whole response
  std::size_t max_connections = 256;                // beyond it, new connections are closed at once
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

  class Impl;  // internal; public so that connection sessions in the .cpp can name it

 private:
  std::shared_ptr<Impl> impl_;
};

// Percent-decodes a URL component ('+' as space when `form` is set). Returns nullopt when malformed.
std::optional<std::string> url_decode(std::string_view in, bool form);
// Parses a query string or x-www-form-urlencoded body into `out`. Returns false when malformed.
bool parse_form(std::string_view in, std::multimap<std::string, std::string>& out);

}  // namespace tocsin::http
