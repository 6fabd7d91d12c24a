// Hostile input through the real binary (docs/reliability.md): what `tocsin check` and a reload must
// refuse with a positioned error instead of crashing, hanging or overflowing, and secrets that no
// error may quote back.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "fixtures/process.hpp"
#include "integration/daemon_fixture.hpp"

namespace tocsin::testing {
namespace {

CommandResult check(const std::string& config) {
  return run_command({TOCSIN_EXECUTABLE, "check", "--config", config}, {}, std::chrono::seconds(60));
}

class BoundedInput : public ::testing::Test {
 protected:
  std::string write_config(const std::string& body) const {
    return dir_.write("tocsin.yaml", "state_dir: " + (dir_ / "state").string() + "\n" + body).string();
  }
  TempDir dir_{"tocsin-bounded"};
};

// Past ~292 years a timer's nanoseconds overflow and it fires back to back: refused at load.
TEST_F(BoundedInput, DurationsBeyondAHundredYearsAreRefused) {
  CommandResult r = check(write_config("interval: 1000000000d\nevaluation_interval: 101y\n"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("tocsin.yaml:2:11: interval: duration \"1000000000d\" out of range: at most 100y"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("tocsin.yaml:3:22: evaluation_interval: duration \"101y\" out of range"),
            std::string::npos)
      << r.output;
}

// A second document would be dropped unread.
TEST_F(BoundedInput, MultiDocumentYamlIsRefusedAtTheSecondDocument) {
  CommandResult r = check(write_config("interval: 15s\n---\ninterval: 1s\n"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("tocsin.yaml:4:1: a second YAML document (after ---)"), std::string::npos)
      << r.output;
  // A rule file's documents are each read (OpenSLO files hold one SLO per document): none is dropped.
  dir_.write("rules.yaml",
             "groups: []\n---\ngroups:\n- name: second\n  rules:\n  - record: r\n    expr: vector(1)\n");
  r = check(write_config("rule_files: [rules.yaml]\n"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(1 rule file(s), 1 rule(s))"), std::string::npos) << r.output;
}

// yaml-cpp stops at 500 levels; the error says so where it happens, not "bad file" at 1:1.
TEST_F(BoundedInput, DeeplyNestedYamlIsAPositionedError) {
  dir_.write("rules.yaml", "groups: " + std::string(30000, '[') + std::string(30000, ']') + "\n");
  CommandResult r = check(write_config("rule_files: [rules.yaml]\n"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rules.yaml:1:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("YAML nested deeper than 500 levels"), std::string::npos) << r.output;
}

// Devices and FIFOs named as rule files or secret files are refused unread: /dev/zero never ends, a
// FIFO blocks its reader.
TEST_F(BoundedInput, DevicesAndFifosAreNotRead) {
  const std::string fifo = (dir_ / "rules.fifo").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  CommandResult r = check(write_config("rule_files: [/dev/zero, rules.fifo]\n"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("/dev/zero: cannot read rule file: not a regular file (a character device)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("rules.fifo: cannot read rule file: not a regular file (a FIFO)"),
            std::string::npos)
      << r.output;
  r = check(
      write_config("collectors:\n  redis:\n    - address: 127.0.0.1:6379\n      password_file: /dev/zero\n"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("cannot read /dev/zero: not a regular file (a character device)"),
            std::string::npos)
      << r.output;
  // A config file that is itself a FIFO.
  r = check(fifo);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("not a regular file (a FIFO)"), std::string::npos) << r.output;
}

// Every secret key given a malformed value holding a marker: errors name the key and position but never
// the marker; a non-secret key's value is quoted as before (so the messages do quote values).
const char* kPlantedSecrets = R"(collectors:
  redis:
    - name: r1
      address: 127.0.0.1:6379
      password: "S3CRET1${x"
      client_name: "PLAIN1${x"
    - name: r2
      address: 127.0.0.1:6379
      password: 'S3CRET15"q\${x'
  postgres:
    - name: p1
      dsn: "host=127.0.0.1 password=S3CRET2 dbname=x${y"
    - name: p2
      host: 127.0.0.1
      password: "S3CRET3${x"
  queues:
    - name: q1
      address: "redis://u:S3CRET4@127.0.0.1:bad${x"
      password: "S3CRET5${x"
  scrape:
    - job_name: s1
      targets: ["127.0.0.1:1"]
      basic_auth: {username: u, password: "S3CRET7${x"}
    - job_name: s2
      targets: ["127.0.0.1:1"]
      authorization: {type: Bearer, credentials: "S3CRET8${x"}
receivers:
  hook: { type: webhook, url: "https://u:S3CRET9@example.com/${x", headers: { X-Token: "S3CRET10${x" }, bearer_token: "S3CRET11${x" }
  pd: { type: pagerduty, routing_key: "S3CRET12${x" }
  chat: { type: slack, url: "https://hooks.example/S3CRET13${x" }
alerting:
  api_token: "S3CRET14${x"
)";

TEST_F(BoundedInput, SecretsAreNeverQuotedInCheck) {
  CommandResult r = check(write_config(kPlantedSecrets));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("S3CRET"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PLAIN1${x"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("<secret>"), std::string::npos) << r.output;
}

TEST_F(BoundedInput, SecretsAreNeverQuotedInTheLogOrTheReloadResponse) {
  Daemon daemon("");
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();
  daemon.write_config(kPlantedSecrets);
  HttpResult reload = http_request(daemon.port(), "POST", "/-/reload");
  EXPECT_EQ(reload.status, 500) << reload.body;
  EXPECT_NE(reload.body.find("<secret>"), std::string::npos) << reload.body;
  EXPECT_EQ(reload.body.find("S3CRET"), std::string::npos) << reload.body;
  daemon.process().signal(SIGHUP);
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string log = daemon.log();
        std::size_t first = log.find("configuration reload failed");
        return first != std::string::npos &&
               log.find("configuration reload failed", first + 1) != std::string::npos;
      },
      std::chrono::seconds(20)))
      << daemon.log();
  EXPECT_EQ(daemon.log().find("S3CRET"), std::string::npos) << daemon.log();
  EXPECT_NE(daemon.log().find("PLAIN1${x"), std::string::npos) << daemon.log();
}

}  // namespace
}  // namespace tocsin::testing
