#include "tocsin/http/web_config.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "http/tls_context.hpp"
#include "tocsin/yaml/decoder.hpp"

namespace tocsin::http {

namespace ssl = boost::asio::ssl;
using yaml::MapDecoder;
using yaml::Node;

namespace {

// A certificate, key or CA bundle is small; a path to /dev/zero or a FIFO must not hang the load.
constexpr std::uintmax_t kMaxPemBytes = 1 << 20;

std::optional<std::string> read_pem_file(const std::string& path, std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "cannot read " + path + ": not a regular file";
    return std::nullopt;
  }
  if (static_cast<std::uintmax_t>(st.st_size) > kMaxPemBytes) {
    error = "cannot read " + path + ": larger than 1 MiB";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string openssl_error(const boost::system::error_code& ec) {
  std::string text = ec.message();
  unsigned long code = ERR_get_error();
  if (code != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    text = buf.data();
  }
  ERR_clear_error();
  return text;
}

// A string as written (exporter-toolkit expands nothing); reports a non-scalar.
bool raw(MapDecoder& map, std::string_view key, std::string& out, std::optional<Node>* where = nullptr) {
  auto n = map.get(key);
  if (!n || n->is_null()) return false;
  if (where) *where = n;
  auto text = n->as_raw_string();
  if (!text) return false;
  out = *text;
  return true;
}

bool raw_list(MapDecoder& map, std::string_view key, std::vector<std::pair<std::string, Node>>& out) {
  auto n = map.get(key);
  if (!n || n->is_null()) return false;
  if (!n->is_sequence()) {
    n->error("expected a list, got " + n->kind());
    return false;
  }
  for (const Node& item : n->items()) {
    if (auto text = item.as_raw_string()) out.emplace_back(*text, item);
  }
  return true;
}

std::optional<int> tls_version(const std::string& name) {
  if (name == "TLS13") return TLS1_3_VERSION;
  if (name == "TLS12") return TLS1_2_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  if (name == "TLS10") return TLS1_VERSION;
  return std::nullopt;
}

// Go's names of the cipher suites crypto/tls.CipherSuites() lists (the only ones exporter-toolkit
// accepts), as OpenSSL names them. The TLS 1.3 suites are accepted and, as in Go, not configurable.
struct CipherName {
  const char* go;
  const char* openssl;  // nullptr: a TLS 1.3 suite
};
constexpr std::array kCiphers = {
    CipherName{"TLS_AES_128_GCM_SHA256", nullptr},
    CipherName{"TLS_AES_256_GCM_SHA384", nullptr},
    CipherName{"TLS_CHACHA20_POLY1305_SHA256", nullptr},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    CipherName{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    CipherName{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    CipherName{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    CipherName{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    CipherName{"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    CipherName{"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
};

std::optional<std::string> curve_group(const std::string& name) {
  if (name == "CurveP256") return "P-256";
  if (name == "CurveP384") return "P-384";
  if (name == "CurveP521") return "P-521";
  if (name == "X25519") return "X25519";
  return std::nullopt;
}

std::optional<WebConfig::ClientAuth> client_auth(const std::string& name) {
  using CA = WebConfig::ClientAuth;
  if (name == "NoClientCert") return CA::kNone;
  if (name == "RequestClientCert") return CA::kRequest;
  if (name == "RequireAnyClientCert") return CA::kRequireAny;
  if (name == "VerifyClientCertIfGiven") return CA::kVerifyIfGiven;
  if (name == "RequireAndVerifyClientCert") return CA::kRequireAndVerify;
  return std::nullopt;
}

// A PEM given inline as `key` or by file as `key_file` (relative to the web config's directory).
struct Pem {
  std::string text;
  std::optional<Node> where;
  bool given = false;
};

Pem pem_of(MapDecoder& map, const std::string& inline_key, const std::string& file_key) {
  Pem pem;
  std::optional<Node> inline_node;
  std::optional<Node> file_node;
  std::string inline_text;
  std::string file;
  const bool has_inline = raw(map, inline_key, inline_text, &inline_node);
  const bool has_file = raw(map, file_key, file, &file_node);
  if (has_inline && has_file) {
    file_node->error("at most one of " + inline_key + " and " + file_key + " must be configured");
    return pem;
  }
  if (has_inline) {
    pem = {inline_text, inline_node, true};
  } else if (has_file && !file.empty()) {
    std::string error;
    const std::string path = yaml::resolve_path(file_node->context(), file);
    if (auto text = read_pem_file(path, error)) {
      pem = {*text, file_node, true};
    } else {
      file_node->error(error);
      pem.where = file_node;
    }
  }
  return pem;
}

void decode_tls(const Node& node, WebConfig& out, std::shared_ptr<const TlsContext>& context) {
  MapDecoder map(node);
  if (!map.valid()) return;
  WebConfig::Tls& tls = out.tls;
  const std::size_t errors_before = node.context().diagnostics->size();
  Pem cert = pem_of(map, "cert", "cert_file");
  Pem key = pem_of(map, "key", "key_file");
  Pem ca = pem_of(map, "client_ca", "client_ca_file");
  std::optional<Node> auth_node;
  std::string auth_name;
  if (raw(map, "client_auth_type", auth_name, &auth_node) && !auth_name.empty()) {
    if (auto a = client_auth(auth_name)) {
      tls.client_auth = *a;
    } else {
      auth_node->error(
          "invalid client_auth_type \"" + auth_name +
          "\" (NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
          "RequireAndVerifyClientCert)");
    }
  }
  std::vector<std::pair<std::string, Node>> sans;
  if (raw_list(map, "client_allowed_sans", sans)) {
    for (auto& [san, item] : sans) tls.client_allowed_sans.push_back(san);
    if (!sans.empty() && tls.client_auth != WebConfig::ClientAuth::kRequireAny &&
        tls.client_auth != WebConfig::ClientAuth::kRequireAndVerify) {
      sans.front().second.error(
          "client_allowed_sans needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert");
    }
  }
  std::optional<Node> min_node;
  std::optional<Node> max_node;
  std::string version;
  if (raw(map, "min_version", version, &min_node)) {
    if (auto v = tls_version(version)) {
      tls.min_version = *v;
    } else {
      min_node->error("unknown TLS version \"" + version + "\" (TLS10, TLS11, TLS12 or TLS13)");
    }
  }
  if (raw(map, "max_version", version, &max_node)) {
    if (auto v = tls_version(version)) {
      tls.max_version = *v;
    } else {
      max_node->error("unknown TLS version \"" + version + "\" (TLS10, TLS11, TLS12 or TLS13)");
    }
  }
  if (tls.min_version > tls.max_version) {
    (max_node ? *max_node : *min_node).error("max_version must be greater than or equal to min_version");
  }
  std::vector<std::pair<std::string, Node>> ciphers;
  raw_list(map, "cipher_suites", ciphers);
  for (auto& [cipher, item] : ciphers) {
    const std::string& name = cipher;
    auto it =
        std::find_if(kCiphers.begin(), kCiphers.end(), [&](const CipherName& c) { return name == c.go; });
    if (it == kCiphers.end()) {
      item.error("unknown or insecure cipher suite \"" + name +
                 "\" (the names of Go's tls.CipherSuites(), e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    } else if (it->openssl) {
      tls.cipher_list += (tls.cipher_list.empty() ? "" : ":") + std::string(it->openssl);
    }
  }
  std::vector<std::pair<std::string, Node>> curves;
  raw_list(map, "curve_preferences", curves);
  for (auto& [name, item] : curves) {
    if (auto group = curve_group(name)) {
      tls.groups += (tls.groups.empty() ? "" : ":") + *group;
    } else {
      item.error("unknown curve \"" + name + "\" (CurveP256, CurveP384, CurveP521 or X25519)");
    }
  }
  if (auto n = map.get("prefer_server_cipher_suites"); n && !n->is_null()) {
    if (auto b = n->as_bool()) tls.prefer_server_cipher_suites = *b;
  }
  map.finish();

  // exporter-toolkit: nothing given means plain HTTP; anything given needs a certificate and a key.
  const bool anything = cert.given || key.given || ca.given ||
                        tls.client_auth != WebConfig::ClientAuth::kNone || cert.where || key.where ||
                        ca.where;
  if (!anything) return;
  if (!cert.given && !cert.where) node.error("missing cert_file or cert");
  if (!key.given && !key.where) node.error("missing key_file or key");
  const bool verifies = tls.client_auth == WebConfig::ClientAuth::kVerifyIfGiven ||
                        tls.client_auth == WebConfig::ClientAuth::kRequireAndVerify;
  if (ca.given && tls.client_auth == WebConfig::ClientAuth::kNone) {
    ca.where->error("a client CA is configured without a client_auth_type (use RequireAndVerifyClientCert)");
  }
  if (verifies && !ca.given && !ca.where) {
    (auth_node ? *auth_node : node)
        .error("client_auth_type " + auth_name + " needs client_ca_file or client_ca");
  }
  if (node.context().diagnostics->size() != errors_before) return;

  // Build the context now, so that everything a handshake would find wrong is found here.
  ssl::context ctx(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::single_dh_use);
  SSL_CTX* handle = ctx.native_handle();
  SSL_CTX_set_min_proto_version(handle, tls.min_version);
  SSL_CTX_set_max_proto_version(handle, tls.max_version);
  static const unsigned char kSessionContext[] = "tocsin";
  SSL_CTX_set_session_id_context(handle, kSessionContext, sizeof kSessionContext - 1);
  ctx.use_certificate_chain(boost::asio::buffer(cert.text), ec);
  if (ec) {
    cert.where->error("cannot use the certificate: " + openssl_error(ec));
    return;
  }
  ctx.use_private_key(boost::asio::buffer(key.text), ssl::context::pem, ec);
  if (ec) {
    // Never quote the key.
    key.where->error("cannot use the private key: " + openssl_error(ec));
    return;
  }
  if (SSL_CTX_check_private_key(handle) != 1) {
    ERR_clear_error();
    key.where->error("the private key does not match the certificate");
    return;
  }
  if (ca.given) {
    ctx.add_certificate_authority(boost::asio::buffer(ca.text), ec);
    if (ec) {
      ca.where->error("cannot use the client CA: " + openssl_error(ec));
      return;
    }
  }
  if (!tls.cipher_list.empty() && SSL_CTX_set_cipher_list(handle, tls.cipher_list.c_str()) != 1) {
    ERR_clear_error();
    node.error("OpenSSL accepts none of cipher_suites");
    return;
  }
  if (!tls.groups.empty() && SSL_CTX_set1_groups_list(handle, tls.groups.c_str()) != 1) {
    ERR_clear_error();
    node.error("OpenSSL accepts none of curve_preferences");
    return;
  }
  if (tls.prefer_server_cipher_suites) SSL_CTX_set_options(handle, SSL_OP_CIPHER_SERVER_PREFERENCE);
  switch (tls.client_auth) {
    case WebConfig::ClientAuth::kNone: ctx.set_verify_mode(ssl::verify_none); break;
    case WebConfig::ClientAuth::kRequest:
    case WebConfig::ClientAuth::kRequireAny:
      // Asked for (or required) but not verified, as Go's RequestClientCert and RequireAnyClientCert.
      ctx.set_verify_mode(
          ssl::verify_peer |
          (tls.client_auth == WebConfig::ClientAuth::kRequireAny ? ssl::verify_fail_if_no_peer_cert : 0));
      ctx.set_verify_callback([](bool, ssl::verify_context&) { return true; });
      break;
    case WebConfig::ClientAuth::kVerifyIfGiven: ctx.set_verify_mode(ssl::verify_peer); break;
    case WebConfig::ClientAuth::kRequireAndVerify:
      ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      break;
  }
  tls.enabled = true;
  context = std::make_shared<const TlsContext>(std::move(ctx), tls);
}

// exporter-toolkit's configurable headers, and the values it accepts for two of them.
void decode_http_server(const Node& node, WebConfig& out) {
  MapDecoder map(node);
  if (!map.valid()) return;
  if (auto n = map.get("http2"); n && !n->is_null()) n->as_bool();  // tocsin speaks HTTP/1.1 only
  if (auto headers = map.get("headers"); headers && !headers->is_null()) {
    if (!headers->is_map()) {
      headers->error("expected a mapping of header names to values, got " + headers->kind());
    } else {
      static const std::set<std::string> kAllowed = {"Content-Security-Policy", "X-Frame-Options",
                                                     "X-Content-Type-Options", "X-XSS-Protection",
                                                     "Strict-Transport-Security"};
      for (const auto& entry : headers->yaml()) {
        const std::string name = entry.first.as<std::string>("");
        Node value = headers->child(entry.second, name);
        if (!kAllowed.contains(name)) {
          value.error("HTTP header \"" + name +
                      "\" can not be configured (Content-Security-Policy, X-Frame-Options, "
                      "X-Content-Type-Options, X-XSS-Protection or Strict-Transport-Security)");
          continue;
        }
        auto text = value.is_null() ? std::optional<std::string>("") : value.as_raw_string();
        if (!text) continue;
        std::string lower = *text;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (name == "X-Frame-Options" && !lower.empty() && lower != "deny" && lower != "sameorigin") {
          value.error("X-Frame-Options must be deny or sameorigin");
        } else if (name == "X-Content-Type-Options" && !lower.empty() && lower != "nosniff") {
          value.error("X-Content-Type-Options must be nosniff");
        } else if (text->find_first_of("\r\n") != std::string::npos) {
          value.error("a header value must be one line");
        } else {
          out.headers.emplace_back(name, *text);
        }
      }
    }
  }
  map.finish();
}

void decode_users(const Node& node, WebConfig& out) {
  if (!node.is_map()) {
    node.error("expected a mapping of user names to bcrypt hashes, got " + node.kind());
    return;
  }
  for (const auto& entry : node.yaml()) {
    const std::string user = entry.first.as<std::string>("");
    Node value = node.child(entry.second, user);
    if (user.empty() || user.find(':') != std::string::npos) {
      value.error("a user name must be non-empty and without ':' (HTTP basic authentication)");
      continue;
    }
    if (!value.is_scalar()) {
      value.error("expected a bcrypt hash, got " + value.kind());
      continue;
    }
    std::string hash = value.yaml().Scalar();
    // The hash is a secret too: never quoted.
    if (!is_bcrypt_hash(hash)) {
      value.error("not a bcrypt hash ($2y$..., e.g. from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)");
      continue;
    }
    out.basic_auth_users.emplace(user, yaml::Secret(std::move(hash)));
  }
}

}  // namespace

bool is_bcrypt_hash(const std::string& hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5])))
    return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (std::size_t i = 7; i < hash.size(); ++i) {
    const char c = hash[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '/') return false;
  }
  return true;
}

bool TlsContext::peer_allowed(SSL* ssl, std::string& why) const {
  if (settings_.client_allowed_sans.empty()) return true;
  X509* cert = SSL_get_peer_certificate(ssl);
  if (!cert) {
    why = "no client certificate to match client_allowed_sans";
    return false;
  }
  bool allowed = false;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && !allowed && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string text;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* s = name->d.ia5;
      text.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = name->d.ip;
      const unsigned char* bytes = ASN1_STRING_get0_data(s);
      if (ASN1_STRING_length(s) == 4) {
        boost::asio::ip::address_v4::bytes_type b{};
        std::copy(bytes, bytes + 4, b.begin());
        text = boost::asio::ip::address_v4(b).to_string();
      } else if (ASN1_STRING_length(s) == 16) {
        boost::asio::ip::address_v6::bytes_type b{};
        std::copy(bytes, bytes + 16, b.begin());
        text = boost::asio::ip::address_v6(b).to_string();
      }
    }
    for (const std::string& want : settings_.client_allowed_sans)
      allowed = allowed || (!text.empty() && text == want);
  }
  if (names) GENERAL_NAMES_free(names);
  X509_free(cert);
  if (!allowed) why = "the client certificate has none of client_allowed_sans";
  return allowed;
}

std::variant<WebConfig, yaml::Diagnostics> parse_web_config(const std::string& text,
                                                            const std::string& file) {
  yaml::Diagnostics diagnostics;
  YAML::Node root = yaml::parse_yaml_string(text, file, diagnostics);
  if (!diagnostics.empty()) return diagnostics;
  WebConfig config;
  config.file = file;
  yaml::DecodeContext ctx{file, std::filesystem::path(file).parent_path().string(), &diagnostics,
                          [](const std::string&) { return std::optional<std::string>(); }};
  if (!root.IsNull()) {
    Node node(root, "", &ctx);
    MapDecoder map(node);
    if (auto n = map.get("tls_server_config"); n && !n->is_null()) decode_tls(*n, config, config.tls_context);
    if (auto n = map.get("http_server_config"); n && !n->is_null()) decode_http_server(*n, config);
    if (auto n = map.get("basic_auth_users"); n && !n->is_null()) decode_users(*n, config);
    map.finish();
  }
  if (!diagnostics.empty()) {
    diagnostics.sort();
    return diagnostics;
  }
  return config;
}

std::variant<WebConfig, yaml::Diagnostics> load_web_config(const std::string& path) {
  std::string error;
  auto text = read_pem_file(path, error);  // the same bounds: a web config is small
  if (!text) {
    yaml::Diagnostics diagnostics;
    diagnostics.error({path, 0, 0}, "", "cannot read web config file: " + error.substr(error.find(": ") + 2));
    return diagnostics;
  }
  return parse_web_config(*text, path);
}

}  // namespace tocsin::http
