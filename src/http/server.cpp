#include "tocsin/http/server.hpp"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

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

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(asio::io_context& io, asio::thread_pool& pool, const Router& router, ServerOptions options,
       std::shared_ptr<spdlog::logger> log)
      : io_(io), pool_(pool), router_(router), options_(options), log_(std::move(log)), acceptor_(io) {}

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
    });
  }

  asio::thread_pool& pool() { return pool_; }
  const Router& router() const { return router_; }
  const ServerOptions& options() const { return options_; }
  spdlog::logger& log() { return *log_; }
  std::atomic<std::size_t> connections{0};

 private:
  void accept();

  asio::io_context& io_;
  asio::thread_pool& pool_;
  const Router& router_;
  ServerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  tcp::acceptor acceptor_;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Server::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {
    ++server_->connections;
  }
  ~Session() { --server_->connections; }

  void start() { read(); }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options().max_header_bytes));
    parser_->body_limit(server_->options().max_body_bytes);
    stream_.expires_after(server_->options().read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      close();
      return;
    }
    if (ec) {
      int status = 400;
      if (ec == bhttp::error::body_limit) status = 413;
      if (ec == bhttp::error::header_limit) status = 431;
      respond_error(status, "bad request: " + ec.message() + "\n");
      return;
    }
    auto& raw = parser_->get();
    auto request = std::make_shared<Request>();
    request->method = std::string(raw.method_string());
    request->target = std::string(raw.target());
    request->body = std::move(raw.body());
    keep_alive_ = raw.keep_alive();
    for (const auto& field : raw) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request->headers[name] = std::string(field.value());
    }
    std::string_view target = request->target;
    std::size_t q = target.find('?');
    auto path = url_decode(target.substr(0, q), false);
    bool ok = path.has_value() && !path->empty() && (*path)[0] == '/';
    if (ok && q != std::string_view::npos) ok = parse_form(target.substr(q + 1), request->params);
    if (ok && request->method == "POST") {
      auto type = request->header("content-type").value_or("");
      if (type.starts_with("application/x-www-form-urlencoded"))
        ok = parse_form(request->body, request->params);
    }
    if (!ok) {
      respond_error(400, "bad request: malformed request target or form body\n");
      return;
    }
    request->path = std::move(*path);
    // Handlers may take a while (rendering, queries): run them on the pool, or on the route's own
    // executor (queries), and write from the stream's executor.
    auto task = [self = shared_from_this(), request](std::optional<Response> instead) {
      Response response;
      try {
        response = instead ? std::move(*instead) : self->server_->router().handle(*request);
      } catch (const std::exception& e) {
        self->server_->log().error("http: {} {}: handler failed: {}", request->method, request->path,
                                   e.what());
        response = Response::text(500, "internal error: " + std::string(e.what()) + "\n");
      }
      bool head = request->method == "HEAD";
      asio::post(self->stream_.get_executor(), [self, response = std::move(response), head]() mutable {
        self->write(std::move(response), head);
      });
    };
    if (RouteExecutor* executor = server_->router().executor_for(*request)) {
      if (auto refused = executor->submit(std::move(task)))
        write(std::move(*refused), request->method == "HEAD");
      return;
    }
    asio::post(server_->pool(), [task = std::move(task)]() mutable { task(std::nullopt); });
  }

  void respond_error(int status, std::string body) {
    keep_alive_ = false;
    write(Response::text(status, std::move(body)), false);
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
    stream_.expires_after(server_->options().write_timeout);
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_) {
        self->close();
        return;
      }
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Server::Impl> server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bool keep_alive_ = false;
};

}  // namespace

void Server::Impl::accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                           if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
                           if (!ec) {
                             if (self->connections.load() >= self->options_.max_connections) {
                               beast::error_code ignored;
                               socket.close(ignored);
                             } else {
                               std::make_shared<Session>(std::move(socket), self)->start();
                             }
                           }
                           self->accept();
                         });
}

Server::Server(asio::io_context& io, asio::thread_pool& pool, const Router& router, ServerOptions options,
               std::shared_ptr<spdlog::logger> log)
    : impl_(std::make_shared<Impl>(io, pool, router, options, std::move(log))) {}
Server::~Server() = default;
void Server::listen(const std::string& host, std::uint16_t port) { impl_->listen(host, port); }
std::uint16_t Server::port() const { return impl_->port(); }
void Server::stop() { impl_->stop(); }

}  // namespace tocsin::http
