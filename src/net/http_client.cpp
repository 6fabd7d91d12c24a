#include "tocsin/net/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <charconv>
#include <optional>

namespace tocsin::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// The hook runs under the lock, so that clear_hook() returns only once a running hook is done: send()
// clears it before its io_context goes away, and a hook that stops that context must never outlive it.
void Cancellation::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
  if (hook_) hook_();
}

bool Cancellation::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void Cancellation::on_cancel(std::function<void()> hook) {
  bool now = false;
  {
    std::lock_guard lock(mutex_);
    hook_ = hook;
    now = cancelled_;
  }
  if (now && hook) hook();
}

void Cancellation::clear_hook() {
  std::lock_guard lock(mutex_);
  hook_ = nullptr;
}

std::optional<std::string> parse_url(const std::string& url, ParsedUrl& out) {
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    out.tls = false;
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else {
    return "not an http:// or https:// URL";
  }
  std::size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : rest.substr(slash);
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (authority.find('@') != std::string_view::npos)
    return "user:password@ in URLs is not supported; use headers";
  std::string_view port;
  if (authority.starts_with('[')) {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return "unbalanced [ in the host";
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "unexpected text after the IPv6 address";
      port = after.substr(1);
    }
  } else {
    std::size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return "no host";
  if (port.empty()) {
    out.port = out.tls ? "443" : "80";
  } else {
    unsigned p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p == 0 || p > 65535) {
      return "invalid port \"" + std::string(port) + "\"";
    }
    out.port = std::string(port);
  }
  out.target = target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
  return std::nullopt;
}

struct HttpClient::Impl {
  TlsConfig tls;
  ClientCertificate certificate;
  std::once_flag ssl_once;
  std::unique_ptr<ssl::context> ssl_context;
  std::string ssl_error;

  ssl::context* context() {
    std::call_once(ssl_once, [this] {
      try {
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        if (tls.insecure_skip_verify) {
          ctx->set_verify_mode(ssl::verify_none);
        } else {
          ctx->set_verify_mode(ssl::verify_peer);
          if (tls.ca_file.empty()) {
            ctx->set_default_verify_paths();
          } else {
            boost::system::error_code ec;
            ctx->load_verify_file(tls.ca_file, ec);
            if (ec) {
              ssl_error = "TLS setup failed: cannot load the CA file " + tls.ca_file + ": " + ec.message();
              return;
            }
          }
        }
        if (!certificate.cert_file.empty()) {
          boost::system::error_code ec;
          ctx->use_certificate_chain_file(certificate.cert_file, ec);
          if (!ec) ctx->use_private_key_file(certificate.key_file, ssl::context::pem, ec);
          if (ec) {
            ssl_error = "TLS setup failed: cannot load the client certificate " + certificate.cert_file +
                        " / " + certificate.key_file + ": " + ec.message();
            return;
          }
        }
        ssl_context = std::move(ctx);
      } catch (const boost::system::system_error& e) {
        ssl_error = std::string("TLS setup failed: ") + e.what();
      }
    });
    return ssl_context.get();
  }
};

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (beast::iequals(beast::string_view(field.data(), field.size()),
                       beast::string_view(name.data(), name.size())))
      return value;
  }
  return {};
}

HttpClient::HttpClient(TlsConfig tls) : impl_(std::make_unique<Impl>()) { impl_->tls = std::move(tls); }
HttpClient::HttpClient(TlsConfig tls, ClientCertificate certificate) : impl_(std::make_unique<Impl>()) {
  impl_->tls = std::move(tls);
  impl_->certificate = std::move(certificate);
}
HttpClient::~HttpClient() = default;

namespace {

std::string describe(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    std::string reason = ec.message();
    if (reason.find("certificate verify failed") != std::string::npos) {
      return "TLS certificate verification failed (" + reason +
             "); set tls.ca_file or tls.insecure_skip_verify";
    }
    return "TLS: " + reason;
  }
  return ec.message();
}

template <typename Stream>
asio::awaitable<void> exchange(Stream& stream, const http::request<http::string_body>& req,
                               std::size_t max_body_bytes, HttpResponse& out) {
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  // Beast reads as much as the buffer has room for, and the parser empties it as it goes: without
  // room reserved a large body arrives in reads of about 512 bytes (a 1.5 MB scrape: thousands of
  // reads and 10 ms of CPU); with 64 KiB, a few dozen.
  buffer.reserve(64 * 1024);
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  // The header first: Boost 1.74's async_read parses eagerly, and a Content-Length over the limit
  // then passes unnoticed (the whole body is read); read_header checks it before any of the body.
  co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
  co_await http::async_read(stream, buffer, parser, asio::use_awaitable);
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) out.headers.emplace_back(field.name_string(), field.value());
  out.body = std::move(parser.get().body());
}

}  // namespace

HttpResponse HttpClient::send(const HttpRequest& request, Cancellation* cancel) const {
  HttpResponse out;
  ParsedUrl url;
  if (auto err = parse_url(request.url, url)) {
    out.error = "bad URL: " + *err;
    return out;
  }
  ssl::context* ssl_ctx = nullptr;
  if (url.tls) {
    ssl_ctx = impl_->context();
    if (ssl_ctx == nullptr) {
      out.error = impl_->ssl_error;
      return out;
    }
  }
  http::request<http::string_body> req{http::string_to_verb(request.method), url.target, 11};
  bool default_port = url.port == (url.tls ? "443" : "80");
  std::string host_header = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  req.set(http::field::host, default_port ? host_header : host_header + ":" + url.port);
  req.set(http::field::user_agent, "tocsin");
  req.set(http::field::connection, "close");
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    req.set(http::field::content_type, request.content_type);
  }
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  req.prepare_payload();

  std::string server_name = impl_->tls.server_name.empty() ? url.host : impl_->tls.server_name;
  bool done = false;
  std::exception_ptr failure;
  // Declared after everything the coroutine refers to: destroying the context destroys an
  // unfinished coroutine's frame, which must not outlive what it points at.
  asio::io_context ioc;
  auto run = [&]() -> asio::awaitable<void> {
    tcp::resolver resolver(ioc);
    auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
    if (!url.tls) {
      beast::tcp_stream stream(ioc);
      co_await stream.async_connect(endpoints, asio::use_awaitable);
      co_await exchange(stream, req, request.max_body_bytes, out);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    } else {
      beast::ssl_stream<beast::tcp_stream> stream(ioc, *ssl_ctx);
      boost::system::error_code ip_ec;
      asio::ip::make_address(server_name, ip_ec);
      if (ip_ec) {  // SNI only for names, never for address literals
        SSL_set_tlsext_host_name(stream.native_handle(), server_name.c_str());
      }
      if (!impl_->tls.insecure_skip_verify)
        stream.set_verify_callback(ssl::host_name_verification(server_name));
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
      co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
      co_await exchange(stream, req, request.max_body_bytes, out);
      beast::get_lowest_layer(stream).close();
    }
  };
  asio::co_spawn(ioc, run(), [&](std::exception_ptr e) {
    done = true;
    failure = e;
  });
  if (cancel != nullptr) cancel->on_cancel([&ioc] { ioc.stop(); });
  try {
    ioc.run_for(request.timeout);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  if (cancel != nullptr) cancel->clear_hook();
  if (!out.error.empty()) return out;
  if (!done) {
    out.status = 0;
    out.error = cancel != nullptr && cancel->cancelled()
                    ? "cancelled"
                    : "timed out after " + std::to_string(request.timeout.count()) + "ms";
    return out;
  }
  if (failure) {
    out.status = 0;
    try {
      std::rethrow_exception(failure);
    } catch (const boost::system::system_error& e) {
      out.error = e.code() == http::error::body_limit
                      ? "response body larger than " + std::to_string(request.max_body_bytes) + " bytes"
                      : describe(e.code());
    } catch (const std::exception& e) {
      out.error = e.what();
    }
  }
  return out;
}

}  // namespace tocsin::net
