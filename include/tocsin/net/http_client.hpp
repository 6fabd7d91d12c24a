#pragma once
// A small blocking HTTP(S) client (Boost.Beast + OpenSSL) for alert receivers, the CLI and collectors
// that read an HTTPS endpoint: one request per call, a deadline for the whole exchange, a bound on
// the body, certificates verified against the system's CA store (or a given bundle) with the host
// name checked, unless told otherwise. Never throws.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tocsin/net/tls.hpp"

namespace tocsin::net {

// Lets another thread abort a blocking operation (a request, a child process). Thread-safe.
class Cancellation {
 public:
  void cancel();
  bool cancelled() const;
  // `hook` runs on cancel(), or at once when already cancelled. One hook at a time. It runs under
  // the object's lock (clear_hook() waits for it), so it must be short and not call back.
  void on_cancel(std::function<void()> hook);
  void clear_hook();

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  std::function<void()> hook_;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds timeout{10'000};  // for the whole exchange, connect to last byte
  std::size_t max_body_bytes = 1024 * 1024;   // a longer response body is an error, never read whole
};

struct HttpResponse {
  int status = 0;    // 0 when no response arrived
  std::string body;  // at most HttpRequest::max_body_bytes
  // Why no (whole) response arrived: resolve, connect, TLS, timeout, cancelled, a body over the
  // limit. Empty otherwise.
  std::string error;
  // The response's header fields as received (names as the server wrote them), for callers that
  // need Content-Type, Content-Encoding or Location.
  std::vector<std::pair<std::string, std::string>> headers;
  // The value of the first header field named `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

class HttpClient {
 public:
  explicit HttpClient(TlsConfig tls = {});
  // With a client certificate, read (like the CA file) at the first HTTPS request.
  HttpClient(TlsConfig tls, ClientCertificate certificate);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Thread-safe. Blocks until the response, request.timeout, or `cancel` (from another thread).
  HttpResponse send(const HttpRequest& request, Cancellation* cancel = nullptr) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ParsedUrl {
  bool tls = false;
  std::string host;    // without brackets for IPv6
  std::string port;    // "80"/"443" when absent
  std::string target;  // path and query, "/" when empty
};
// Returns an error message, or nullopt on success.
std::optional<std::string> parse_url(const std::string& url, ParsedUrl& out);

}  // namespace tocsin::net
