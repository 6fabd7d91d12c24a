// The real daemon with a web config: a real Prometheus 2.42 scraping it over TLS with basic auth (its
// scrape config's tls_config.ca_file and basic_auth), the token-guarded and rate-limited reload on the
// real wiring, a broken web config on reload (kept, with its position) and at start (refused).
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "fixtures/certificates.hpp"
#include "fixtures/http_client.hpp"
#include "fixtures/process.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

// bcrypt (cost 10) of "s3cret".
constexpr const char* kHash = "$2y$10$/mkYJgsuuGtO6yhiWNGfi.Zb7eCYUDM4U9Dr5qsBTIc2SmRB7Bajq";

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class WebDaemon {
 public:
  WebDaemon() : port_(free_port()) {
    const std::string error = make_test_certificates(dir_);
    EXPECT_EQ(error, "");
    write_web(std::string("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                          "basic_auth_users:\n  alice: ") +
              kHash + "\n");
    dir_.write("tocsin.yaml",
               "listen: 127.0.0.1:" + std::to_string(port_) + "\nstate_dir: " + (dir_ / "state").string() +
                   "\ninterval: 1s\nweb:\n  config_file: web.yml\nalerting:\n  api_token: the-token\n"
                   "collectors:\n  host:\n    - name: host\n      mountpoints: [\"/\"]\n");
  }
  void write_web(const std::string& text) const { dir_.write("web.yml", text); }
  void start() {
    ProcessOptions options;
    options.stderr_file = dir_ / "stderr.log";
    options.stdout_file = dir_ / "stdout.log";
    process_ = std::make_unique<Process>(
        std::vector<std::string>{TOCSIN_EXECUTABLE, "run", "--config", (dir_ / "tocsin.yaml").string()},
        options);
  }
  // curl over TLS (the test CA) with `args`; returns "<status>\n<body>".
  std::string curl(const std::vector<std::string>& args, const std::string& path) const {
    std::vector<std::string> argv = {*find_executable("curl"),   "-sS", "--max-time",    "20", "--cacert",
                                     (dir_ / "ca.crt").string(), "-w",  "\n%{http_code}"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("https://127.0.0.1:" + std::to_string(port_) + path);
    CommandResult r = run_command(argv);
    const std::size_t nl = r.output.rfind('\n');
    if (nl == std::string::npos) return "0\n" + r.output;
    return r.output.substr(nl + 1) + "\n" + r.output.substr(0, nl);
  }
  std::string status(const std::vector<std::string>& args, const std::string& path) const {
    const std::string out = curl(args, path);
    return out.substr(0, out.find('\n'));
  }
  bool wait_ready() {
    return wait_until(
               [&] {
                 return !process_->running() || status({"-u", "alice:s3cret"}, "/-/ready") == "200";
               },
               20s) &&
           process_->running();
  }
  std::string log() const { return read_file(dir_ / "stderr.log"); }
  const TempDir& dir() const { return dir_; }
  int port() const { return port_; }
  Process& process() { return *process_; }

 private:
  TempDir dir_{"tocsin-webd"};
  int port_;
  std::unique_ptr<Process> process_;
};

TEST(WebDaemon, Prometheus242ScrapesOverTlsWithBasicAuth) {
  auto prometheus = find_executable("prometheus");
  if (!prometheus || !find_executable("curl") || !find_executable("openssl"))
    GTEST_SKIP() << "prometheus, curl or openssl is not installed";
  WebDaemon d;
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  EXPECT_NE(d.log().find("(https, basic auth, web config"), std::string::npos) << d.log();
  EXPECT_EQ(d.status({}, "/metrics"), "401");
  EXPECT_EQ(d.status({"-u", "alice:nope"}, "/metrics"), "401");

  d.dir().write("prometheus.yml",
                "global: {scrape_interval: 1s, scrape_timeout: 1s}\nscrape_configs:\n"
                "  - job_name: tocsin\n    scheme: https\n    tls_config:\n      ca_file: " +
                    (d.dir() / "ca.crt").string() +
                    "\n    basic_auth:\n      username: alice\n      password: s3cret\n"
                    "    static_configs: [{targets: ['127.0.0.1:" +
                    std::to_string(d.port()) + "']}]\n");
  const int port = free_port();
  ProcessOptions options;
  options.stderr_file = d.dir() / "prometheus.log";
  Process server({*prometheus, "--config.file=" + (d.dir() / "prometheus.yml").string(),
                  "--storage.tsdb.path=" + (d.dir() / "prometheus-data").string(),
                  "--web.listen-address=127.0.0.1:" + std::to_string(port)},
                 options);
  auto query = [&](const std::string& expr) {
    HttpResult r = http_get(port, "/api/v1/query?query=" + expr);
    return nlohmann::json::parse(decoded_body(r), nullptr, false);
  };
  ASSERT_TRUE(wait_until(
      [&] {
        auto up = query("up%7Bjob%3D%22tocsin%22%7D");
        return !up.is_discarded() && up["data"]["result"].size() == 1 &&
               up["data"]["result"][0]["value"][1] == "1";
      },
      30s))
      << read_file(d.dir() / "prometheus.log") << d.log();
  auto build = query("tocsin_build_info%7Bjob%3D%22tocsin%22%7D");
  ASSERT_EQ(build["data"]["result"].size(), 1u) << build.dump();
  auto load = query("node_load1%7Bjob%3D%22tocsin%22%7D");
  ASSERT_EQ(load["data"]["result"].size(), 1u) << load.dump();

  // Prometheus asked for gzip (it always does) and got it: the scrape's size is the decoded one.
  const std::string metrics = d.curl({"-u", "alice:s3cret", "--compressed"}, "/metrics");
  EXPECT_EQ(metrics.substr(0, 4), "200\n");
  EXPECT_NE(metrics.find("tocsin_http_connections "), std::string::npos);
  EXPECT_EQ(server.stop(), 0);
  EXPECT_EQ(d.process().stop(), 0) << d.log();
}

TEST(WebDaemon, ReloadNeedsTheTokenIsRateLimitedAndKeepsTheOldWebConfigWhenTheNewOneIsBroken) {
  if (!find_executable("curl") || !find_executable("openssl")) GTEST_SKIP() << "curl or openssl missing";
  WebDaemon d;
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  // Logged in, but no token: lifecycle is off.
  EXPECT_EQ(d.status({"-u", "alice:s3cret", "-X", "POST"}, "/-/reload"), "401");
  EXPECT_EQ(d.status({"-H", "Authorization: Bearer the-token", "-X", "POST"}, "/-/reload"), "200");
  const std::string again =
      d.curl({"-i", "-H", "Authorization: Bearer the-token", "-X", "POST"}, "/-/reload");
  EXPECT_EQ(again.substr(0, 3), "429") << again;
  EXPECT_NE(again.find("Retry-After: 1"), std::string::npos) << again;

  d.write_web(
      "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
      "  client_auth_type: Sometimes\n");
  d.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] {
        return d.curl({"-u", "alice:s3cret"}, "/metrics").find("tocsin_config_last_reload_successful 0") !=
               std::string::npos;
      },
      10s))
      << d.log();
  EXPECT_NE(d.log().find(
                "web.yml:4:21: tls_server_config.client_auth_type: invalid client_auth_type \"Sometimes\""),
            std::string::npos)
      << d.log();
  EXPECT_EQ(d.status({}, "/metrics"), "401") << "the old web config, basic auth included, still runs";

  // A good one applies: bob replaces alice.
  d.write_web(std::string("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                          "basic_auth_users:\n  bob: ") +
              kHash + "\n");
  d.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] {
        return d.status({"-u", "bob:s3cret"}, "/metrics") == "200";
      },
      10s))
      << d.log();
  EXPECT_EQ(d.status({"-u", "alice:s3cret"}, "/metrics"), "401");
  EXPECT_EQ(d.process().stop(), 0) << d.log();
}

TEST(WebDaemon, ABadWebConfigAtStartIsRefusedWithItsPosition) {
  WebDaemon d;
  d.write_web("tls_server_config:\n  cert_file: server.crt\n  key_file: missing.key\n");
  CommandResult check =
      run_command({TOCSIN_EXECUTABLE, "check", "--config", (d.dir() / "tocsin.yaml").string()});
  EXPECT_EQ(check.status, 2) << check.output;
  const std::string expected = "web.yml:3:13: tls_server_config.key_file: cannot read " +
                               (d.dir() / "missing.key").string() + ": No such file or directory";
  EXPECT_NE(check.output.find(expected), std::string::npos) << check.output;
  d.start();
  EXPECT_EQ(d.process().wait(20s), 2) << d.log();
  EXPECT_NE(d.log().find(expected), std::string::npos) << d.log();
}

// tocsin alerts/silence against the daemon over TLS (the test CA) with basic auth on: --tls.ca-file or
// --tls.insecure-skip-verify, the token in place of a login.
TEST(WebDaemon, TheCliTalksToTheDaemonOverTls) {
  if (!find_executable("curl") || !find_executable("openssl")) GTEST_SKIP() << "curl or openssl missing";
  WebDaemon d;
  d.start();
  ASSERT_TRUE(d.wait_ready()) << d.log();
  const std::string url = "https://127.0.0.1:" + std::to_string(d.port());
  const std::string token = d.dir().write("token", "the-token\n").string();
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), TOCSIN_EXECUTABLE);
    args.insert(args.end(), {"--url", url, "--token-file", token});
    return run_command(args);
  };
  CommandResult untrusted = cli({"silence", "list"});
  EXPECT_EQ(untrusted.status, 1) << untrusted.output;
  EXPECT_NE(untrusted.output.find("cannot reach tocsin at " + url), std::string::npos) << untrusted.output;

  const std::string ca = (d.dir() / "ca.crt").string();
  CommandResult add = cli({"silence", "add", "alertname=\"Nothing\"", "--duration", "1h", "--by", "tls-test",
                           "--tls.ca-file", ca});
  EXPECT_EQ(add.status, 0) << add.output;
  CommandResult list = cli({"silence", "list", "--tls.ca-file", ca});
  EXPECT_EQ(list.status, 0) << list.output;
  EXPECT_NE(list.output.find("alertname=\"Nothing\""), std::string::npos) << list.output;
  CommandResult skip = cli({"alerts", "--tls.insecure-skip-verify"});
  EXPECT_EQ(skip.status, 0) << skip.output;
  CommandResult missing = cli({"alerts", "--tls.ca-file", (d.dir() / "nope.crt").string()});
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("cannot read the CA file"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace tocsin::testing
