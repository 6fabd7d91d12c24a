// The HTTP server's security with real clients: curl over TLS with basic auth and client
// certificates (throwaway certificates made with openssl in the test's directory), gzip decoded by
// curl and by zlib, the lifecycle endpoint's token and rate limit, connection limits per client
// address (a second loopback address as the other client), the slowloris deadline, and web config
// errors with their positions.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/null_sink.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <fstream>
#include <thread>

#include "fixtures/certificates.hpp"
#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"
#include "tocsin/http/lifecycle.hpp"
#include "tocsin/http/server.hpp"
#include "tocsin/http/web_config.hpp"

namespace tocsin::http {
namespace {

using namespace std::chrono_literals;
using testing::CommandResult;
using testing::find_executable;
using testing::run_command;
using testing::TempDir;

// bcrypt (cost 10) of "s3cret", made with libxcrypt (Python's crypt module); $2y$ as htpasswd writes it.
constexpr const char* kAliceHash = "$2y$10$/mkYJgsuuGtO6yhiWNGfi.Zb7eCYUDM4U9Dr5qsBTIc2SmRB7Bajq";

void make_certificates(const TempDir& dir) {
  const std::string error = testing::make_test_certificates(dir);
  ASSERT_EQ(error, "");
}

WebConfig load_or_fail(const TempDir& dir, const std::string& text) {
  auto loaded = load_web_config(dir.write("web.yml", text).string());
  if (auto* d = std::get_if<yaml::Diagnostics>(&loaded)) {
    ADD_FAILURE() << d->to_string();
    return {};
  }
  return std::get<WebConfig>(std::move(loaded));
}

std::string load_errors(const TempDir& dir, const std::string& text) {
  auto loaded = load_web_config(dir.write("web.yml", text).string());
  if (auto* d = std::get_if<yaml::Diagnostics>(&loaded)) return d->to_string();
  return "";
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

// A TCP connection to 127.0.0.1:port from the loopback address `from` (another client to the server).
int connect_from(const char* from, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, from, &src.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends a GET on `fd` and returns everything read until the server closes (or 10 s pass).
std::string exchange(int fd, const std::string& target) {
  const std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return "";
  std::string out;
  char buf[8192];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10'000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

double metric_value(prometheus::Registry& registry, const std::string& series) {
  const std::string text = prometheus::TextSerializer().Serialize(registry.Collect());
  std::size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

class WebSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.add("GET", "/metrics", [](const Request&) {
      std::string body;
      for (int i = 0; i < 2000; ++i) body += "tocsin_test_series{n=\"" + std::to_string(i) + "\"} 1\n";
      return Response{200, "text/plain; version=0.0.4; charset=utf-8", body, {}};
    });
    router.add("GET", "/", [](const Request&) { return Response::html(200, "<html>on call</html>"); });
    router.add("GET", "/api/v1/x", [](const Request&) { return Response::json(200, "{}"); });
    add_lifecycle_routes(router,
                         LifecycleOptions{[this] {
                                            ++reloads;
                                            return std::string();
                                          },
                                          [this] { return token; }, [this] { return lifecycle.load(); },
                                          std::chrono::milliseconds(60'000)});
  }
  void start(ServerOptions options = {}) {
    options.registry = &registry;
    options.bearer_token = [this] { return token; };
    server = std::make_unique<Server>(
        io, pool, router, options,
        std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_mt>()));
    server->listen("127.0.0.1", 0);
    port = server->port();
    io_thread = std::thread([this] { io.run(); });
  }
  void TearDown() override {
    if (server) server->stop();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    pool.join();
  }
  // curl's exit status and output: the HTTP status (%{http_code}) on the last line.
  CommandResult curl(std::vector<std::string> args, const std::string& path = "/metrics") {
    std::vector<std::string> argv = {
        *find_executable("curl"), "-sS",        "-o", (dir / "body").string(), "-w",
        "\n%{http_code}",         "--max-time", "20"};
    for (const std::string& arg : args) {
      // curl takes no --name=value: split "--cacert=FILE" in two.
      const std::size_t eq = arg.find('=');
      if (arg.starts_with("--") && eq != std::string::npos) {
        argv.push_back(arg.substr(0, eq));
        argv.push_back(arg.substr(eq + 1));
      } else {
        argv.push_back(arg);
      }
    }
    argv.push_back("https://127.0.0.1:" + std::to_string(port) + path);
    return run_command(argv);
  }
  static std::string status_of(const CommandResult& r) { return r.output.substr(r.output.rfind('\n') + 1); }

  TempDir dir{"tocsin-websec"};
  boost::asio::io_context io;
  boost::asio::thread_pool pool{4};
  Router router;
  prometheus::Registry registry;
  std::unique_ptr<Server> server;
  int port = 0;
  std::thread io_thread;
  std::string token;
  std::atomic<bool> lifecycle{false};
  std::atomic<int> reloads{0};
};

TEST_F(WebSecurityTest, CurlOverTlsWithBasicAuthRightWrongAndMissingCredentials) {
  if (!find_executable("curl") || !find_executable("openssl")) GTEST_SKIP() << "curl or openssl missing";
  make_certificates(dir);
  start();
  server->set_web_config(std::make_shared<WebConfig>(
      load_or_fail(dir, std::string("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                    "basic_auth_users:\n  alice: ") +
                            kAliceHash + "\n")));
  const std::string ca = "--cacert=" + (dir / "ca.crt").string();
  EXPECT_EQ(status_of(curl({ca, "-u", "alice:s3cret"})), "200");
  EXPECT_EQ(status_of(curl({ca, "-u", "alice:s3cret"})), "200");  // the cached verification
  EXPECT_EQ(status_of(curl({ca, "-u", "alice:wrong"})), "401");
  EXPECT_EQ(status_of(curl({ca, "-u", "mallory:s3cret"})), "401");
  CommandResult missing = curl({ca, "-i"});
  EXPECT_EQ(status_of(missing), "401");
  // The API token passes in place of a login (the CLI sends it).
  token = "the-api-token";
  EXPECT_EQ(status_of(curl({ca, "-H", "Authorization: Bearer the-api-token"})), "200");
  EXPECT_EQ(status_of(curl({ca, "-H", "Authorization: Bearer not-the-token"})), "401");
  // Plain HTTP to the TLS port gets no answer.
  EXPECT_EQ(testing::http_get(port, "/metrics").status, 0);
  EXPECT_EQ(metric_value(registry, "tocsin_http_unauthorized_requests_total"), 4);
}

TEST_F(WebSecurityTest, ClientCertificatesRequiredAndVerified) {
  if (!find_executable("curl") || !find_executable("openssl")) GTEST_SKIP() << "curl or openssl missing";
  make_certificates(dir);
  start();
  server->set_web_config(std::make_shared<WebConfig>(
      load_or_fail(dir,
                   "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n")));
  const std::string ca = "--cacert=" + (dir / "ca.crt").string();
  const std::string client = "--cert=" + (dir / "client.crt").string();
  const std::string client_key = "--key=" + (dir / "client.key").string();
  EXPECT_EQ(status_of(curl({ca, client, client_key})), "200");
  EXPECT_NE(curl({ca}).status, 0) << "no client certificate";
  EXPECT_NE(
      curl({ca, "--cert=" + (dir / "stranger.crt").string(), "--key=" + (dir / "stranger.key").string()})
          .status,
      0)
      << "a certificate the CA did not sign";
  // client_allowed_sans: the CA's client has DNS:client.example.
  server->set_web_config(std::make_shared<WebConfig>(
      load_or_fail(dir,
                   "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                   "  client_allowed_sans: [other.example]\n")));
  EXPECT_NE(curl({ca, client, client_key}).status, 0);
  server->set_web_config(std::make_shared<WebConfig>(
      load_or_fail(dir,
                   "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                   "  client_allowed_sans: [other.example, client.example]\n")));
  EXPECT_EQ(status_of(curl({ca, client, client_key})), "200");
}

TEST_F(WebSecurityTest, GzipWhenAskedDecodedByCurlAndZlib) {
  start();
  testing::HttpResult plain = testing::http_get(port, "/metrics");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.headers.count("content-encoding"), 0u);
  EXPECT_EQ(plain.headers["vary"], "Accept-Encoding");
  testing::HttpResult gz = testing::http_request(port, "GET", "/metrics", "", {{"Accept-Encoding", "gzip"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.headers["content-encoding"], "gzip");
  EXPECT_EQ(gz.headers["vary"], "Accept-Encoding");
  EXPECT_LT(gz.body.size() * 5, plain.body.size());
  EXPECT_EQ(gunzip(gz.body), plain.body);
  // q=0 refuses it; small bodies are sent as they are.
  EXPECT_EQ(testing::http_request(port, "GET", "/metrics", "", {{"Accept-Encoding", "gzip;q=0, identity"}})
                .headers.count("content-encoding"),
            0u);
  EXPECT_EQ(testing::http_request(port, "GET", "/api/v1/x", "", {{"Accept-Encoding", "gzip"}})
                .headers.count("content-encoding"),
            0u);
  if (auto curl_path = find_executable("curl")) {
    CommandResult r = run_command({*curl_path, "-sS", "--compressed", "-D", (dir / "headers").string(),
                                   "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(r.output, plain.body);
    std::ifstream in(dir / "headers");
    std::string headers((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(headers.find("Content-Encoding: gzip"), std::string::npos) << headers;
  }
}

TEST_F(WebSecurityTest, SecurityHeadersOnThePageAndTheApiAndTheWebConfigsOwn) {
  start();
  testing::HttpResult page = testing::http_get(port, "/");
  EXPECT_NE(page.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);
  EXPECT_NE(page.headers["content-security-policy"].find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(page.headers["content-security-policy"].find("script-src"), std::string::npos)
      << "no script allowed";
  EXPECT_EQ(page.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(page.headers["x-frame-options"], "DENY");
  EXPECT_EQ(page.headers["referrer-policy"], "no-referrer");
  testing::HttpResult api = testing::http_get(port, "/api/v1/x");
  EXPECT_EQ(api.headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'");
  EXPECT_EQ(api.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(testing::http_get(port, "/nope").headers["x-frame-options"], "DENY");  // the 404 too

  server->set_web_config(std::make_shared<WebConfig>(
      load_or_fail(dir,
                   "http_server_config:\n  http2: false\n  headers:\n    X-Frame-Options: sameorigin\n"
                   "    Strict-Transport-Security: max-age=31536000\n    Content-Security-Policy: \"\"\n")));
  page = testing::http_get(port, "/");
  EXPECT_EQ(page.headers["x-frame-options"], "sameorigin");
  EXPECT_EQ(page.headers["strict-transport-security"], "max-age=31536000");
  EXPECT_EQ(page.headers.count("content-security-policy"), 0u) << "blank unsets it";
}

TEST_F(WebSecurityTest, ReloadNeedsTheTokenOrLifecycleAndIsRateLimited) {
  start();
  testing::HttpResult r = testing::http_request(port, "POST", "/-/reload");
  EXPECT_EQ(r.status, 403) << "no token configured, lifecycle off";
  token = "the-api-token";
  r = testing::http_request(port, "POST", "/-/reload");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer realm=\"tocsin\"");
  EXPECT_EQ(testing::http_request(port, "POST", "/-/reload", "", {{"Authorization", "Bearer wrong"}}).status,
            401);
  EXPECT_EQ(reloads, 0);
  r = testing::http_request(port, "POST", "/-/reload", "", {{"Authorization", "Bearer the-api-token"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(reloads, 1);
  r = testing::http_request(port, "PUT", "/-/reload", "", {{"Authorization", "Bearer the-api-token"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_FALSE(r.headers["retry-after"].empty());
  EXPECT_GE(std::stoi(r.headers["retry-after"]), 1);
  EXPECT_EQ(reloads, 1);
  // Unauthenticated requests never reach the limiter.
  EXPECT_EQ(testing::http_request(port, "POST", "/-/reload").status, 401);
}

TEST(Lifecycle, EnabledLifecycleReloadsWithoutToken) {
  Router router;
  int reloads = 0;
  add_lifecycle_routes(router, LifecycleOptions{[&] {
                                                  ++reloads;
                                                  return std::string();
                                                },
                                                [] { return std::string("t"); }, [] { return true; },
                                                std::chrono::milliseconds(0)});
  Request req;
  req.method = "POST";
  req.path = "/-/reload";
  EXPECT_EQ(router.handle(req).status, 200);
  EXPECT_EQ(router.handle(req).status, 200);
  EXPECT_EQ(reloads, 2);
}

TEST_F(WebSecurityTest, ThreeHundredConnectionsFromOneClientLeaveMetricsToAnother) {
  ServerOptions options;
  options.header_timeout = 30s;  // the idle ones stay for the whole test
  start(options);
  std::vector<int> idle;
  for (int i = 0; i < 300; ++i) {
    int fd = connect_from("127.0.0.1", port);
    ASSERT_GE(fd, 0) << "connection " << i;
    idle.push_back(fd);
    if (i % 2) ::send(fd, "GET /metrics HTTP/1.1\r\nHo", 25, MSG_NOSIGNAL);  // slow ones too
  }
  // Every one the server accepted or refused (refused ones are closed at accept).
  ASSERT_TRUE(testing::wait_until(
      [&] {
        return metric_value(registry, "tocsin_http_connections") +
                   metric_value(registry, "tocsin_http_connections_refused_total{reason=\"per_client\"}") ==
               300;
      },
      20s));
  EXPECT_EQ(metric_value(registry, "tocsin_http_connections"), 32);
  const int other = connect_from("127.0.0.2", port);
  ASSERT_GE(other, 0);
  const std::string answer = exchange(other, "/metrics");
  ::close(other);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer.substr(0, 200);
  EXPECT_NE(answer.find("tocsin_test_series{n=\"1999\"} 1"), std::string::npos);
  for (int fd : idle) ::close(fd);
}

TEST_F(WebSecurityTest, TheReservedShareGoesToClientsHoldingNone) {
  ServerOptions options;
  options.header_timeout = 30s;
  options.max_connections = 8;
  options.max_connections_per_client = 8;
  options.reserved_connections = 2;
  start(options);
  std::vector<int> fds;
  for (int i = 0; i < 8; ++i) fds.push_back(connect_from("127.0.0.1", port));
  ASSERT_TRUE(testing::wait_until(
      [&] {
        return metric_value(registry, "tocsin_http_connections") +
                   metric_value(registry, "tocsin_http_connections_refused_total{reason=\"reserved\"}") ==
               8;
      },
      20s));
  EXPECT_EQ(metric_value(registry, "tocsin_http_connections"), 6);
  const int other = connect_from("127.0.0.3", port);
  EXPECT_EQ(exchange(other, "/metrics").substr(0, 12), "HTTP/1.1 200");
  ::close(other);
  for (int fd : fds) ::close(fd);
}

TEST_F(WebSecurityTest, ASlowlorisConnectionIsCutAtTheHeaderDeadline) {
  ServerOptions options;
  options.header_timeout = 1s;
  start(options);
  const int fd = connect_from("127.0.0.1", port);
  ASSERT_GE(fd, 0);
  ::send(fd, "GET /metrics HTTP/1.1\r\n", 23, MSG_NOSIGNAL);
  // One header byte every 100 ms, for up to 60 s: the server must close long before.
  bool closed = false;
  for (int i = 0; i < 600 && !closed; ++i) {
    if (::send(fd, "X", 1, MSG_NOSIGNAL) != 1) closed = true;
    pollfd p{fd, POLLIN, 0};
    if (!closed && ::poll(&p, 1, 100) > 0) {
      char c;
      closed = ::recv(fd, &c, 1, 0) <= 0;
    }
  }
  ::close(fd);
  EXPECT_TRUE(closed);
  // The stream closes the socket before the timed-out read's handler counts it: wait for the count.
  const std::string timeouts = "tocsin_http_request_timeouts_total{phase=\"header\"}";
  for (int i = 0; i < 100 && metric_value(registry, timeouts) != 1; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(metric_value(registry, timeouts), 1);
  EXPECT_EQ(testing::http_get(port, "/metrics").status, 200);
}

TEST(WebConfig, ErrorsHaveTheirPositions) {
  TempDir dir("tocsin-webcfg");
  EXPECT_EQ(
      load_errors(dir,
                  "tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n"
                  "  client_auth_type: Sometimes\n  min_version: TLS14\n"
                  "  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n"
                  "basic_auth_users:\n  alice: plaintext\n  bad:user: " +
                      std::string(kAliceHash) +
                      "\nhttp_server_config:\n  headers:\n    Set-Cookie: a\n"
                      "    X-Frame-Options: allow\nrate_limits: {}\n"),
      dir.path().string() + "/web.yml:2:14: tls_server_config.cert_file: cannot read " + dir.path().string() +
          "/nope.crt: No such file or directory\n" + dir.path().string() +
          "/web.yml:3:13: tls_server_config.key_file: cannot read " + dir.path().string() +
          "/nope.key: No such file or directory\n" + dir.path().string() +
          "/web.yml:4:21: tls_server_config.client_auth_type: invalid client_auth_type \"Sometimes\" "
          "(NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
          "RequireAndVerifyClientCert)\n" +
          dir.path().string() +
          "/web.yml:5:16: tls_server_config.min_version: unknown TLS version \"TLS14\" (TLS10, TLS11, TLS12 "
          "or TLS13)\n" +
          dir.path().string() +
          "/web.yml:6:19: tls_server_config.cipher_suites[0]: unknown or insecure cipher suite "
          "\"TLS_RSA_WITH_RC4_128_SHA\" (the names of Go's tls.CipherSuites(), e.g. "
          "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)\n" +
          dir.path().string() +
          "/web.yml:8:10: basic_auth_users.alice: not a bcrypt hash ($2y$..., e.g. from `htpasswd -nBC 10 "
          "\"\" | tr -d ':\\n'`)\n" +
          dir.path().string() +
          "/web.yml:9:13: basic_auth_users.bad:user: a user name must be non-empty and without ':' (HTTP "
          "basic authentication)\n" +
          dir.path().string() +
          "/web.yml:12:17: http_server_config.headers.Set-Cookie: HTTP header \"Set-Cookie\" can not be "
          "configured (Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection "
          "or Strict-Transport-Security)\n" +
          dir.path().string() +
          "/web.yml:13:22: http_server_config.headers.X-Frame-Options: X-Frame-Options must be deny or "
          "sameorigin\n" +
          dir.path().string() + "/web.yml:14:1: rate_limits: unknown key\n");
  EXPECT_NE(
      load_errors(dir, "tls_server_config:\n  client_ca_file: ca.crt\n").find("missing cert_file or cert"),
      std::string::npos);
  // A hash is never quoted back.
  EXPECT_EQ(load_errors(dir, "basic_auth_users:\n  bob: $2y$10$tooshort\n").find("tooshort"),
            std::string::npos);
  EXPECT_NE(load_errors(dir, "a: [\n").find("web.yml:"), std::string::npos);
  EXPECT_EQ(load_errors(dir, ""), "");
  EXPECT_NE(std::get<yaml::Diagnostics>(load_web_config((dir / "missing.yml").string()))
                .to_string()
                .find("cannot read web config file"),
            std::string::npos);
  EXPECT_NE(std::get<yaml::Diagnostics>(load_web_config("/dev/zero")).to_string().find("not a regular file"),
            std::string::npos);
}

TEST(WebConfig, AKeyThatIsNotTheCertificatesIsRefusedAtLoad) {
  if (!find_executable("openssl")) GTEST_SKIP() << "openssl missing";
  TempDir dir("tocsin-webcfg");
  make_certificates(dir);
  const std::string errors =
      load_errors(dir, "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n");
  EXPECT_EQ(
      errors,
      dir.path().string() +
          "/web.yml:3:13: tls_server_config.key_file: cannot use the private key: key values mismatch\n");
  EXPECT_NE(
      load_errors(dir,
                  "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                  "  client_auth_type: RequireAndVerifyClientCert\n")
          .find(
              "web.yml:4:21: tls_server_config.client_auth_type: client_auth_type RequireAndVerifyClientCert "
              "needs client_ca_file or client_ca"),
      std::string::npos);
  WebConfig ok = load_or_fail(dir,
                              "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                              "  min_version: TLS13\n  curve_preferences: [X25519, CurveP256]\n"
                              "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n");
  EXPECT_TRUE(ok.tls.enabled);
  EXPECT_TRUE(ok.tls_context);
}

TEST(WebConfig, BcryptHashesAreRecognised) {
  EXPECT_TRUE(is_bcrypt_hash(kAliceHash));
  EXPECT_TRUE(is_bcrypt_hash("$2b$10$vsMxgYnlAfptjhlUwwi03u0CYLTEmGOEhx3RNiR3w7k1OeEx3l72C"));
  EXPECT_FALSE(is_bcrypt_hash("$1$abc$def"));
  EXPECT_FALSE(is_bcrypt_hash("$2y$99$vsMxgYnlAfptjhlUwwi03u0CYLTEmGOEhx3RNiR3w7k1OeEx3l72C"));
}

}  // namespace
}  // namespace tocsin::http
