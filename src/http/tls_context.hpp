#pragma once
// The OpenSSL server context of a web config's tls_server_config, and the checks a handshake leaves
// to the application (client_allowed_sans). Private to http/.

#include <boost/asio/ssl/context.hpp>
#include <string>
#include <vector>

#include "tocsin/http/web_config.hpp"

namespace tocsin::http {

class TlsContext {
 public:
  TlsContext(boost::asio::ssl::context context, WebConfig::Tls settings)
      : context_(std::move(context)), settings_(std::move(settings)) {}

  // Streams take the context by non-const reference; OpenSSL's SSL_CTX is safe to share between
  // connections once configured, which it is before this object exists.
  boost::asio::ssl::context& context() const { return context_; }
  const WebConfig::Tls& settings() const { return settings_; }

  // Whether the peer's certificate of a finished handshake has a SAN in client_allowed_sans (always
  // true when the list is empty). Returns the refusal's reason in `why` otherwise.
  bool peer_allowed(SSL* ssl, std::string& why) const;

 private:
  mutable boost::asio::ssl::context context_;
  WebConfig::Tls settings_;
};

}  // namespace tocsin::http
