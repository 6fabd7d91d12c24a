#pragma once
// The web configuration file in the format of Prometheus's exporter-toolkit, which Prometheus and
// every official exporter read with --web.config.file (docs/security.md):
//
//   tls_server_config:   cert_file/cert, key_file/key, client_auth_type, client_ca_file/client_ca,
//                        client_allowed_sans, min_version, max_version, cipher_suites,
//                        prefer_server_cipher_suites, curve_preferences
//   http_server_config:  http2 (accepted; tocsin speaks HTTP/1.1), headers
//   basic_auth_users:    user: bcrypt hash
//
// Loading reads every file it names and builds the TLS context, so a config that loads can serve: a
// certificate that does not match its key is an error at load (file:line:column of the key), never a
// failed handshake later. Unknown keys are errors, as exporter-toolkit's strict decoding has them.
// Values are taken as written: no ${VAR} expansion (a bcrypt hash is full of `$`).

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tocsin/yaml/diagnostics.hpp"
#include "tocsin/yaml/secret.hpp"

namespace tocsin::http {

class TlsContext;  // the OpenSSL server context built from tls_server_config (server.cpp's)

struct WebConfig {
  std::string file;  // where it was read from; empty: no web config (plain HTTP, no authentication)

  // exporter-toolkit's client_auth_type, as Go's crypto/tls names it.
  enum class ClientAuth { kNone, kRequest, kRequireAny, kVerifyIfGiven, kRequireAndVerify };
  struct Tls {
    bool enabled = false;  // a certificate and key were given
    ClientAuth client_auth = ClientAuth::kNone;
    std::vector<std::string> client_allowed_sans;  // exact DNS, IP, e-mail or URI SANs; empty: any
    int min_version = 0x0303;                      // TLS 1.2 (TLS1_2_VERSION)
    int max_version = 0x0304;                      // TLS 1.3
    std::string cipher_list;                       // OpenSSL's names of cipher_suites; empty: default
    std::string groups;                            // OpenSSL's names of curve_preferences
    bool prefer_server_cipher_suites = true;
  } tls;
  // http_server_config.headers: added to every response, replacing tocsin's defaults of the same name.
  std::vector<std::pair<std::string, std::string>> headers;
  // basic_auth_users: user -> bcrypt hash. Empty: no authentication.
  std::map<std::string, yaml::Secret> basic_auth_users;

  std::shared_ptr<const TlsContext> tls_context;  // set when tls.enabled
};

// Reads and checks a web config file; relative paths in it resolve against its directory, as
// exporter-toolkit resolves them. On failure returns every error, each with its position.
std::variant<WebConfig, yaml::Diagnostics> load_web_config(const std::string& path);
std::variant<WebConfig, yaml::Diagnostics> parse_web_config(const std::string& text, const std::string& file);

// Whether `hash` is a bcrypt hash ($2a$, $2b$ or $2y$, cost 4..31, 53 characters of salt and hash).
bool is_bcrypt_hash(const std::string& hash);

}  // namespace tocsin::http
