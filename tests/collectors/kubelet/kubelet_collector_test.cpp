// The kubelet collector against a loopback HTTPS server (tests/fixtures/http_receiver) whose
// certificate is signed by a throwaway CA made with the openssl command, serving summary documents in
// the kubelet's format (tests/data/kubelet): the token it sends, refusals, TLS failures, broken and
// huge bodies, slow servers and interrupt().
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "collectors/kubelet/kubelet.hpp"
#include "fixtures/http_receiver.hpp"
#include "fixtures/process.hpp"

namespace tocsin::collectors {
namespace {

using namespace std::chrono_literals;
using store::Batch;
using tocsin::testing::HttpReceiver;
using tocsin::testing::TempDir;
using tocsin::testing::TlsFiles;

std::string data(const std::string& name) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/data/kubelet/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A CA and a serving certificate it signed for 127.0.0.1, localhost and worker-1, as the kubelet's
// with serverTLSBootstrap; plus a second CA that signed nothing here.
struct Pki {
  std::string ca;        // PEM of the CA that signed the server's certificate
  std::string other_ca;  // PEM of an unrelated CA
  TlsFiles server;
};

std::optional<Pki> make_pki(const TempDir& dir) {
  auto openssl = testing::find_executable("openssl");
  if (!openssl) return std::nullopt;
  const std::string d = dir.path().string();
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), *openssl);
    auto r = testing::run_command(args);
    if (r.status != 0) ADD_FAILURE() << r.output;
    return r.status == 0;
  };
  auto make_ca = [&](const std::string& name) {
    return run({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-days", "2", "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", d + "/" + name + ".key",
                "-out", d + "/" + name + ".pem"});
  };
  dir.write("server.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:worker-1\n");
  if (!make_ca("ca") || !make_ca("other-ca") ||
      !run({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
            "/CN=system:node:worker-1", "-keyout", d + "/server.key", "-out", d + "/server.csr"}) ||
      !run({"x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", d + "/server.ext", "-out", d + "/server.pem"})) {
    return std::nullopt;
  }
  return Pki{d + "/ca.pem", d + "/other-ca.pem", {d + "/server.pem", d + "/server.key"}};
}

// Plain HTTP on 127.0.0.1 that answers one request with `response`, byte for byte, then closes: for
// bodies the HTTPS fixture cannot send (chunked, cut short).
class RawServer {
 public:
  explicit RawServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char request[8192];
      [[maybe_unused]] auto n = ::read(client, request, sizeof request);
      for (std::size_t sent = 0; sent < response_.size();) {
        const ssize_t w = ::send(client, response_.data() + sent, response_.size() - sent, MSG_NOSIGNAL);
        if (w <= 0) break;  // the client gave up (as it should on a body over the limit)
        sent += static_cast<std::size_t>(w);
      }
      ::close(client);
    });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept() when no request came
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/stats/summary"; }

 private:
  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

class KubeletCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = make_pki(dir_);
    if (!pki) GTEST_SKIP() << "openssl is not installed";
    pki_ = *pki;
    server_ = std::make_unique<HttpReceiver>(0, pki_.server);
    server_->respond(200, data("summary.json"));
    token_file_ = dir_.write("token", "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.payload.signature\n").string();
    config_.common.name = "worker-1";
    config_.url = server_->url("/stats/summary");
    config_.bearer_token_file = token_file_;
    config_.tls.ca_file = pki_.ca;
  }

  std::unique_ptr<Collector> make() {
    return make_kubelet_collector(
        config_,
        std::make_shared<spdlog::logger>("kubelet", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)));
  }

  // The CollectError's message, or "" when the cycle succeeded.
  std::string collect(Collector& collector, Batch& batch, std::chrono::milliseconds budget = 5s) {
    try {
      collector.collect(
          {.timestamp = 1'714'642'211'000, .deadline = std::chrono::steady_clock::now() + budget}, batch);
    } catch (const CollectError& e) {
      return e.what();
    }
    return "";
  }
  std::string collect_error(std::chrono::milliseconds budget = 5s) {
    auto collector = make();
    Batch batch;
    std::string error = collect(*collector, batch, budget);
    EXPECT_FALSE(error.empty()) << "the cycle succeeded";
    return error;
  }

  TempDir dir_{"tocsin-kubelet"};
  Pki pki_;
  std::unique_ptr<HttpReceiver> server_;
  std::string token_file_;
  config::KubeletCollectorConfig config_;
  std::ostringstream log_;
};

TEST_F(KubeletCollectorTest, ReadsTheSummaryWithTheTokenOverVerifiedTls) {
  auto collector = make();
  Batch batch;
  ASSERT_EQ(collect(*collector, batch), "");
  bool found = false;
  for (const auto& s : batch.samples()) {
    if (s.labels == Labels{{"__name__", "container_memory_working_set_bytes"},
                           {"container", "postgres"},
                           {"namespace", "shop"},
                           {"pod", "postgres-0"}}) {
      EXPECT_EQ(s.value, 1073741824);
      found = true;
    }
    EXPECT_FALSE(s.labels.has("target")) << "the scheduler adds the identity";
  }
  EXPECT_TRUE(found);
  EXPECT_GT(batch.size(), 100u);

  auto requests = server_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/stats/summary");
  EXPECT_EQ(requests[0].headers["authorization"],
            "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.payload.signature");
  EXPECT_EQ(requests[0].headers["accept"], "application/json");
  EXPECT_EQ(collector->details()["pods"], 3);
  EXPECT_EQ(collector->details()["tls_verified"], true);
  EXPECT_EQ(log_.str(), "");

  // A projected token rotates in place: the next cycle sends the new one.
  dir_.write("token", "rotated-token");
  Batch next;
  ASSERT_EQ(collect(*collector, next), "");
  EXPECT_EQ(server_->requests().at(1).headers["authorization"], "Bearer rotated-token");
  EXPECT_EQ(next.size(), batch.size());
}

TEST_F(KubeletCollectorTest, TheCertificateIsCheckedAgainstTheNameToo) {
  config_.tls.server_name = "worker-1";  // in the certificate
  {
    auto collector = make();
    Batch batch;
    EXPECT_EQ(collect(*collector, batch), "");
  }
  config_.tls.server_name = "worker-2";
  EXPECT_NE(collect_error().find("TLS certificate verification failed"), std::string::npos);
}

TEST_F(KubeletCollectorTest, AnUnknownCaIsATlsFailure) {
  config_.tls.ca_file = pki_.other_ca;
  const std::string error = collect_error();
  EXPECT_TRUE(error.starts_with("GET " + config_.url + ": TLS certificate verification failed")) << error;
  EXPECT_EQ(server_->count(), 0u) << "the token must not be sent to an unverified server";

  config_.tls.ca_file = (dir_ / "missing-ca.pem").string();
  EXPECT_NE(collect_error().find("cannot load the CA file " + config_.tls.ca_file), std::string::npos);
}

TEST_F(KubeletCollectorTest, InsecureSkipVerifyWorksAndSaysSoLoudly) {
  config_.tls.ca_file = pki_.other_ca;
  config_.tls.insecure_skip_verify = true;
  auto collector = make();
  EXPECT_NE(
      log_.str().find("[warning] kubelet collector worker-1: tls.insecure_skip_verify is set: the kubelet's "
                      "certificate is NOT checked"),
      std::string::npos)
      << log_.str();
  Batch batch;
  EXPECT_EQ(collect(*collector, batch), "");
  EXPECT_FALSE(batch.empty());
  EXPECT_EQ(collector->details()["tls_verified"], false);
}

TEST_F(KubeletCollectorTest, RefusedTokensSayWhatToFix) {
  server_->respond(401, "Unauthorized");
  EXPECT_EQ(
      collect_error(),
      "GET " + config_.url + ": 401 Unauthorized: the kubelet refused the bearer token from " + token_file_);
  server_->respond(403,
                   "Forbidden (user=system:serviceaccount:monitoring:tocsin, verb=get, resource=nodes, "
                   "subresource=stats)");
  EXPECT_EQ(collect_error(), "GET " + config_.url +
                                 ": 403 Forbidden: the token's user may not get nodes/stats (grant get on "
                                 "nodes/stats and nodes/proxy; README.md, Permissions): Forbidden "
                                 "(user=system:serviceaccount:monitoring:tocsin, verb=get, resource=nodes, "
                                 "subresource=stats)");
  server_->respond(503, "kubelet is starting");
  EXPECT_EQ(collect_error(), "GET " + config_.url + ": HTTP 503: kubelet is starting");
}

TEST_F(KubeletCollectorTest, AMissingTokenFileIsAnErrorThatNamesIt) {
  config_.bearer_token_file = (dir_ / "no-such-token").string();
  EXPECT_EQ(collect_error(),
            "cannot read the bearer token file " + config_.bearer_token_file + ": No such file or directory");
  dir_.write("empty-token", "\n");
  config_.bearer_token_file = (dir_ / "empty-token").string();
  EXPECT_EQ(collect_error(), "the bearer token file " + config_.bearer_token_file + " is empty");
  EXPECT_EQ(server_->count(), 0u);
}

TEST_F(KubeletCollectorTest, BrokenBodiesAreErrorsAndTheNextCycleRecovers) {
  auto collector = make();
  const std::string whole = data("summary.json");
  struct Case {
    std::string body;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {whole.substr(0, whole.size() - 40), ": not JSON: parse error at line "},
           {"{\"node\": {\"cpu\": ", ": not JSON: parse error at line 1, column 18: syntax error"},
           {"<html>not found</html>", ": not JSON: parse error at line 1, column 1"},
           {R"({"apiVersion": "v1", "kind": "Status"})", ": not a kubelet summary: no \"node\" object"},
       }) {
    server_->respond(200, c.body);
    Batch batch;
    const std::string error = collect(*collector, batch);
    EXPECT_TRUE(error.starts_with("GET " + config_.url + c.error)) << error;
    EXPECT_TRUE(batch.empty());
  }
  server_->respond(200, whole);
  Batch batch;
  EXPECT_EQ(collect(*collector, batch), "");
  EXPECT_FALSE(batch.empty());
}

TEST_F(KubeletCollectorTest, AHugeBodyIsRefusedNotRead) {
  config_.max_response_bytes = 1 << 20;
  server_->respond(200, std::string(8 << 20, ' ') + data("summary.json"));
  EXPECT_EQ(collect_error(), "GET " + config_.url + ": response body larger than 1048576 bytes");
}

TEST_F(KubeletCollectorTest, AHugeChunkedBodyIsRefusedToo) {
  config_.max_response_bytes = 1 << 20;
  std::string chunk(64 << 10, ' ');
  std::string response =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) response += "10000\r\n" + chunk + "\r\n";
  response += "0\r\n\r\n";
  RawServer raw(response);
  config_.url = raw.url();
  EXPECT_EQ(collect_error(), "GET " + config_.url + ": response body larger than 1048576 bytes");
  // And a plain-HTTP URL with a token is worth a warning.
  EXPECT_NE(log_.str().find("is plain HTTP: the bearer token is sent unencrypted"), std::string::npos);
}

TEST_F(KubeletCollectorTest, AConnectionClosedMidBodyIsAnError) {
  RawServer raw(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"node\": {");
  config_.url = raw.url();
  EXPECT_EQ(collect_error(), "GET " + config_.url + ": partial message");
}

TEST_F(KubeletCollectorTest, ASlowKubeletMeetsTheTimeoutOrTheDeadline) {
  server_->delay(5s);
  config_.request_timeout = 200ms;
  EXPECT_EQ(collect_error(), "GET " + config_.url + ": no response within request_timeout (200ms)");
  config_.request_timeout = 10s;
  EXPECT_EQ(collect_error(300ms), "GET " + config_.url + ": no response before the cycle's deadline");
  config_.request_timeout = 10s;
  EXPECT_EQ(collect_error(0ms), "the cycle's deadline passed before the request");
}

TEST_F(KubeletCollectorTest, InterruptUnblocksACollection) {
  server_->delay(30s);
  config_.request_timeout = 30s;
  auto collector = make();
  auto result = std::async(std::launch::async, [&] {
    Batch batch;
    return collect(*collector, batch, 30s);
  });
  ASSERT_TRUE(server_->wait_for(1));
  collector->interrupt();
  // Without the interrupt this would wait out the server's 30 s and time out with another message.
  EXPECT_EQ(result.get(), "GET " + config_.url + ": cancelled");
  // A late interrupt does not spoil the next cycle.
  collector->interrupt();
  server_->delay(0ms);
  Batch batch;
  EXPECT_EQ(collect(*collector, batch), "");
}

}  // namespace
}  // namespace tocsin::collectors
