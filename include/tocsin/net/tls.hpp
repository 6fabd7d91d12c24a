#pragma once
// How an HTTPS client checks the server it talks to.

#include <string>

namespace tocsin::net {

struct TlsConfig {
  bool insecure_skip_verify = false;  // accept any certificate (tests, self-signed endpoints)
  std::string ca_file;                // PEM bundle to trust instead of the system's
  std::string server_name;            // SNI and the name checked; default: the URL's host
};

// A client certificate an HTTPS client presents (mutual TLS).
struct ClientCertificate {
  std::string cert_file;  // PEM, the chain; "" for none
  std::string key_file;   // its private key, PEM
};

}  // namespace tocsin::net
