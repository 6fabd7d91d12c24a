#include "tocsin/http/server.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <map>
#include <mutex>
#include <type_traits>

#include "http/basic_auth.hpp"
#include "http/gzip.hpp"
#include "http/tls_context.hpp"

namespace tocsin::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> url_decode(std::string_view in, bool form) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && form) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

bool parse_form(std::string_view in, std::multimap<std::string, std::string>& out) {
  std::size_t i = 0;
  while (i <= in.size()) {
    std::size_t end = in.find('&', i);
    if (end == std::string_view::npos) end = in.size();
    std::string_view pair = in.substr(i, end - i);
    if (!pair.empty()) {
      std::size_t eq = pair.find('=');
      auto key = url_decode(pair.substr(0, eq), true);
      auto value = url_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
      if (!key || !value) return false;
      out.emplace(std::move(*key), std::move(*value));
    }
    i = end + 1;
  }
  return true;
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Sets `name` in `headers` (names compared case-insensitively), replacing what is there; an empty
// value removes it.
void set_header(std::vector<std::pair<std::string, std::string>>& headers, const std::string& name,
                const std::string& value) {
  const std::string key = lower(name);
  std::erase_if(headers, [&](const auto& h) { return lower(h.first) == key; });
  if (!value.empty()) headers.emplace_back(name, value);
}

// The status page is inline-styled and has no script; nothing tocsin serves is meant to be framed.
constexpr const char* kHtmlPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri "
    "'none'; "
    "frame-ancestors 'none'";
constexpr const char* kOtherPolicy = "default-src 'none'; frame-ancestors 'none'";

// The 4xx a request Beast could not read gets: 413 and 431 for the limits, 400 for anything malformed.
Response read_error_response(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) return Response::text(413, "request body too large\n");
  if (ec == bhttp::error::header_limit) return Response::text(431, "request header fields too large\n");
  return Response::text(400, "bad request: " + ec.message() + "\n");
}

// The handlers' Request from the message Beast read (its body is moved out): the path percent-decoded,
// the query string's and a form body's parameters. nullopt when the target or the form is malformed.
std::optional<Request> request_from(bhttp::request<bhttp::string_body>& raw) {
  Request request;
  request.method = std::string(raw.method_string());
  request.target = std::string(raw.target());
  request.body = std::move(raw.body());
  for (const auto& field : raw)
    request.headers[lower(std::string(field.name_string()))] = std::string(field.value());
  std::string_view target = request.target;
  std::size_t q = target.find('?');
  auto path = url_decode(target.substr(0, q), false);
  bool ok = path.has_value() && !path->empty() && (*path)[0] == '/';
  if (ok && q != std::string_view::npos) ok = parse_form(target.substr(q + 1), request.params);
  if (ok && request.method == "POST") {
    auto type = request.header("content-type").value_or("");
    if (type.starts_with("application/x-www-form-urlencoded")) ok = parse_form(request.body, request.params);
  }
  if (!ok) return std::nullopt;
  request.path = std::move(*path);
  return request;
}

constexpr const char* kMalformedTarget = "bad request: malformed request target or form body\n";

asio::ip::address client_of(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());  // one client, one key
  return a;
}

}  // namespace

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(asio::io_context& io, asio::thread_pool& pool, const Router& router, ServerOptions options,
       std::shared_ptr<spdlog::logger> log)
      : io_(io),
        pool_(pool),
        router_(router),
        options_(std::move(options)),
        log_(std::move(log)),
        acceptor_(io),
        retry_timer_(io),
        web_(std::make_shared<const WebConfig>()) {
    if (options_.registry) register_metrics(*options_.registry);
  }

  void listen(const std::string& host, std::uint16_t port) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      tcp::resolver resolver(io_);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty())
        throw std::runtime_error("cannot resolve listen address " + host + ": " + ec.message());
      address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + endpoint.address().to_string() + ":" +
                               std::to_string(port) + ": " + ec.message());
    }
    accept();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void stop() {
    asio::post(io_, [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
      self->retry_timer_.cancel();
    });
  }

  void set_web(std::shared_ptr<const WebConfig> config) {
    std::lock_guard lock(web_mutex_);
    web_ = config ? std::move(config) : std::make_shared<const WebConfig>();
  }
  std::shared_ptr<const WebConfig> web() const {
    std::lock_guard lock(web_mutex_);
    return web_;
  }

  asio::thread_pool& pool() { return pool_; }
  const Router& router() const { return router_; }
  const ServerOptions& options() const { return options_; }
  spdlog::logger& log() { return *log_; }

  // Counts a connection from `client` in, or refuses it (the caller closes it).
  bool admit(const asio::ip::address& client) {
    std::lock_guard lock(connections_mutex_);
    const char* refusal = nullptr;
    auto it = per_client_.find(client);
    const std::size_t held = it == per_client_.end() ? 0 : it->second;
    if (total_ >= options_.max_connections) {
      refusal = "limit";
    } else if (held >= options_.max_connections_per_client) {
      refusal = "per_client";
    } else if (held > 0 && total_ + options_.reserved_connections >= options_.max_connections) {
      refusal = "reserved";
    }
    if (refusal) {
      if (refused_) refused_->Add({{"reason", refusal}}).Increment();
      if (!refusal_logged_) {
        refusal_logged_ = true;
        log_->warn(
            "http: refusing connections from {} ({} open, {} from it): the {} connection limit; "
            "counted in tocsin_http_connections_refused_total from now on",
            client.to_string(), total_, held, refusal);
      }
      return false;
    }
    ++per_client_[client];
    ++total_;
    if (open_) open_->Set(static_cast<double>(total_));
    return true;
  }

  // The Server is going: the registry holding the metrics may go before the sessions still queued in
  // the io_context, whose destructors release their connections.
  void detach() {
    std::lock_guard lock(connections_mutex_);
    open_ = nullptr;
    refused_ = nullptr;
    timeouts_ = nullptr;
    handshake_failures_ = nullptr;
    unauthorized_ = nullptr;
  }

  void release(const asio::ip::address& client) {
    std::lock_guard lock(connections_mutex_);
    auto it = per_client_.find(client);
    if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
    --total_;
    if (open_) open_->Set(static_cast<double>(total_));
  }

  void count_timeout(const char* phase) {
    if (timeouts_) timeouts_->Add({{"phase", phase}}).Increment();
  }
  void count_handshake_failure() {
    if (handshake_failures_) handshake_failures_->Increment();
  }

  // On the worker pool: authentication, the handler, the headers and gzip.
  Response respond(Request& request) {
    const std::shared_ptr<const WebConfig> web = this->web();
    Response response;
    if (auto denied = authenticate(*web, request)) {
      response = std::move(*denied);
    } else {
      try {
        response = router_.handle(request);
      } catch (const std::exception& e) {
        log_->error("http: {} {}: handler failed: {}", request.method, request.path, e.what());
        response = Response::text(500, "internal error: " + std::string(e.what()) + "\n");
      }
    }
    finish_headers(response, *web);
    const bool encoded = std::any_of(response.headers.begin(), response.headers.end(),
                                     [](const auto& h) { return lower(h.first) == "content-encoding"; });
    if (!encoded && response.body.size() >= options_.gzip_min_bytes) {
      response.headers.emplace_back("Vary", "Accept-Encoding");
      if (accepts_gzip(request.header("accept-encoding").value_or(""))) {
        if (auto gz = gzip_compress(response.body)) {
          response.body = std::move(*gz);
          response.headers.emplace_back("Content-Encoding", "gzip");
        }
      }
    }
    return response;
  }

  // Security headers: tocsin's defaults, then the web config's, then the handler's own.
  void finish_headers(Response& response, const WebConfig& web) const {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Security-Policy",
         response.content_type.starts_with("text/html") ? kHtmlPolicy : kOtherPolicy},
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"}};
    for (const auto& [name, value] : web.headers) set_header(headers, name, value);
    for (auto& [name, value] : response.headers) set_header(headers, name, value);
    response.headers = std::move(headers);
  }

 private:
  void accept();

  std::optional<Response> authenticate(const WebConfig& web, const Request& request) {
    if (web.basic_auth_users.empty()) return std::nullopt;
    const std::string authorization = request.header("authorization").value_or("");
    if (authorization.starts_with("Bearer ") && options_.bearer_token) {
      const std::string token = options_.bearer_token();
      if (!token.empty() && constant_time_equal(std::string_view(authorization).substr(7), token))
        return std::nullopt;
    }
    switch (basic_auth_.check(web.basic_auth_users, authorization)) {
      case BasicAuth::Result::kAllowed: return std::nullopt;
      case BasicAuth::Result::kBusy: {
        Response r = Response::text(429, "too many authentication attempts at once; retry later\n");
        r.headers.emplace_back("Retry-After", "1");
        return r;
      }
      case BasicAuth::Result::kDenied: break;
    }
    if (unauthorized_) unauthorized_->Increment();
    Response r = Response::text(401, "Unauthorized\n");
    r.headers.emplace_back("WWW-Authenticate", "Basic");
    return r;
  }

  void register_metrics(prometheus::Registry& registry) {
    open_ = &prometheus::BuildGauge()
                 .Name("tocsin_http_connections")
                 .Help("Open HTTP connections.")
                 .Register(registry)
                 .Add({});
    prometheus::BuildGauge()
        .Name("tocsin_http_connections_limit")
        .Help("The most HTTP connections open at once (web.max_connections).")
        .Register(registry)
        .Add({})
        .Set(static_cast<double>(options_.max_connections));
    prometheus::BuildGauge()
        .Name("tocsin_http_connections_per_client_limit")
        .Help("The most HTTP connections one client address may hold (web.max_connections_per_client).")
        .Register(registry)
        .Add({})
        .Set(static_cast<double>(options_.max_connections_per_client));
    refused_ =
        &prometheus::BuildCounter()
             .Name("tocsin_http_connections_refused_total")
             .Help("HTTP connections closed at accept, by the limit they hit (limit, per_client, reserved).")
             .Register(registry);
    for (const char* reason : {"limit", "per_client", "reserved"}) refused_->Add({{"reason", reason}});
    timeouts_ =
        &prometheus::BuildCounter()
             .Name("tocsin_http_request_timeouts_total")
             .Help(
                 "HTTP connections closed because a request's headers or body, or a response, took too "
                 "long (phase: header, body, write).")
             .Register(registry);
    for (const char* phase : {"header", "body", "write"}) timeouts_->Add({{"phase", phase}});
    handshake_failures_ = &prometheus::BuildCounter()
                               .Name("tocsin_http_tls_handshake_failures_total")
                               .Help(
                                   "TLS handshakes that failed or timed out, or whose client certificate was "
                                   "refused.")
                               .Register(registry)
                               .Add({});
    unauthorized_ =
        &prometheus::BuildCounter()
             .Name("tocsin_http_unauthorized_requests_total")
             .Help("HTTP requests refused with 401 for missing or wrong basic_auth_users credentials.")
             .Register(registry)
             .Add({});
  }

  asio::io_context& io_;
  asio::thread_pool& pool_;
  const Router& router_;
  ServerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;  // after a failed accept (EMFILE), so it is not retried in a busy loop
  mutable std::mutex web_mutex_;    // guards web_
  std::shared_ptr<const WebConfig> web_;
  BasicAuth basic_auth_;
  std::mutex connections_mutex_;  // guards total_, per_client_, refusal_logged_
  std::size_t total_ = 0;
  std::map<asio::ip::address, std::size_t> per_client_;
  bool refusal_logged_ = false;
  prometheus::Gauge* open_ = nullptr;
  prometheus::Family<prometheus::Counter>* refused_ = nullptr;
  prometheus::Family<prometheus::Counter>* timeouts_ = nullptr;
  prometheus::Counter* handshake_failures_ = nullptr;
  prometheus::Counter* unauthorized_ = nullptr;
};

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  template <class... StreamArgs>
  Session(std::shared_ptr<Server::Impl> server, asio::ip::address client,
          std::shared_ptr<const TlsContext> tls, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...),
        server_(std::move(server)),
        client_(client),
        tls_(std::move(tls)) {}
  ~Session() { server_->release(client_); }

  void start() {
    // One deadline for the handshake and the first request's headers.
    lowest().expires_after(server_->options().header_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
    } else {
      read_request(true);
    }
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void on_handshake(beast::error_code ec) {
    if constexpr (kTls) {
      std::string why;
      if (ec || !tls_->peer_allowed(stream_.native_handle(), why)) {
        server_->count_handshake_failure();
        server_->log().debug("http: TLS handshake with {} failed: {}", client_.to_string(),
                             ec ? ec.message() : why);
        lowest().close();
        return;
      }
      handshaken_ = true;
    }
    read_request(true);
  }

  void read_request(bool first) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options().max_header_bytes));
    parser_->body_limit(server_->options().max_body_bytes);
    if (first || buffer_.size() > 0) {
      read_header();
      return;
    }
    // Idle until the next request's first byte; its header deadline runs from there.
    lowest().expires_after(server_->options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) {
                                self->close();
                                return;
                              }
                              self->buffer_.commit(n);
                              self->lowest().expires_after(self->server_->options().header_timeout);
                              self->read_header();
                            });
  }

  void read_header() {
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_read(ec, "header");
                             });
  }

  void on_read(beast::error_code ec, const char* phase) {
    if (ec == beast::error::timeout) server_->count_timeout(phase);
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      close();
      return;
    }
    if (ec) {
      respond_error(read_error_response(ec));
      return;
    }
    if (!parser_->is_done()) {
      lowest().expires_after(server_->options().body_timeout);
      bhttp::async_read(
          stream_, buffer_, *parser_,
          [self = this->shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e, "body"); });
      return;
    }
    on_request();
  }

  void on_request() {
    auto& raw = parser_->get();
    keep_alive_ = raw.keep_alive();
    auto decoded = request_from(raw);
    if (!decoded) {
      respond_error(Response::text(400, kMalformedTarget));
      return;
    }
    auto request = std::make_shared<Request>(std::move(*decoded));
    // Authentication (bcrypt) and handlers may take a while (rendering, queries): run them on the pool,
    // or on the route's own executor (queries), and write from the stream's executor. No deadline runs
    // while the handler does.
    lowest().expires_never();
    auto task = [self = this->shared_from_this(), request](std::optional<Response> instead) {
      Response response;
      if (instead) {
        response = std::move(*instead);
        self->server_->finish_headers(response, *self->server_->web());
      } else {
        response = self->server_->respond(*request);
      }
      bool head = request->method == "HEAD";
      asio::post(self->stream_.get_executor(), [self, response = std::move(response), head]() mutable {
        self->write(std::move(response), head);
      });
    };
    if (RouteExecutor* executor = server_->router().executor_for(*request)) {
      if (auto refused = executor->submit(std::move(task))) {
        server_->finish_headers(*refused, *server_->web());
        write(std::move(*refused), request->method == "HEAD");
      }
      return;
    }
    asio::post(server_->pool(), [task = std::move(task)]() mutable { task(std::nullopt); });
  }

  void respond_error(Response response) {
    keep_alive_ = false;
    server_->finish_headers(response, *server_->web());
    write(std::move(response), false);
  }

  void write(Response response, bool head) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(static_cast<unsigned>(response.status));
    res->version(11);
    res->set(bhttp::field::server, "tocsin");
    res->set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    if (head) {
      res->content_length(response.body.size());
    } else {
      res->body() = std::move(response.body);
      res->prepare_payload();
    }
    lowest().expires_after(server_->options().write_timeout);
    bhttp::async_write(stream_, *res,
                       [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                         if (ec == beast::error::timeout) self->server_->count_timeout("write");
                         if (ec || !self->keep_alive_) {
                           self->close();
                           return;
                         }
                         self->read_request(false);
                       });
  }

  void close() {
    if constexpr (kTls) {
      if (handshaken_ && !closing_) {
        // close_notify, briefly: a client that does not answer it must not hold the connection.
        closing_ = true;
        lowest().expires_after(std::chrono::seconds(1));
        stream_.async_shutdown(
            [self = this->shared_from_this()](beast::error_code) { self->lowest().close(); });
        return;
      }
    }
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().close();
  }

  Stream stream_;
  std::shared_ptr<Server::Impl> server_;
  asio::ip::address client_;
  std::shared_ptr<const TlsContext> tls_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = false;
  bool handshaken_ = false;
  bool closing_ = false;
};

}  // namespace

void Server::Impl::accept() {
  acceptor_.async_accept(
      asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (ec) {
          // Out of descriptors, most likely: try again shortly rather than spin on the I/O thread.
          self->log_->warn("http: accept failed: {}", ec.message());
          self->retry_timer_.expires_after(std::chrono::milliseconds(100));
          self->retry_timer_.async_wait([self](beast::error_code e) {
            if (!e) self->accept();
          });
          return;
        }
        beast::error_code peer_ec;
        const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
        const asio::ip::address client = client_of(peer.address());
        if (peer_ec || !self->admit(client)) {
          beast::error_code ignored;
          socket.close(ignored);
        } else if (auto web = self->web(); web->tls_context) {
          std::make_shared<Session<TlsStream>>(self, client, web->tls_context, std::move(socket),
                                               web->tls_context->context())
              ->start();
        } else {
          std::make_shared<Session<beast::tcp_stream>>(self, client, nullptr, std::move(socket))->start();
        }
        self->accept();
      });
}

Server::Server(asio::io_context& io, asio::thread_pool& pool, const Router& router, ServerOptions options,
               std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<Impl>(io, pool, router, std::move(options), std::move(log))) {}
Server::~Server() { impl_->detach(); }
void Server::listen(const std::string& host, std::uint16_t port) { impl_->listen(host, port); }
std::uint16_t Server::port() const { return impl_->port(); }
void Server::stop() { impl_->stop(); }
void Server::set_web_config(std::shared_ptr<const WebConfig> config) { impl_->set_web(std::move(config)); }

std::optional<Response> handle_raw_request(std::string_view bytes, const Router& router,
                                           const ServerOptions& options) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
  parser.eager(true);
  beast::error_code ec;
  std::size_t used = 0;
  while (!parser.is_done()) {
    const std::size_t n = parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec && ec != bhttp::error::need_more) return read_error_response(ec);
    // The bytes end inside the request: a connection would wait for more.
    if (!parser.is_done() && (used >= bytes.size() || (n == 0 && ec))) return std::nullopt;
    ec = {};
  }
  auto request = request_from(parser.get());
  if (!request) return Response::text(400, kMalformedTarget);
  return router.handle(*request);
}

}  // namespace tocsin::http
