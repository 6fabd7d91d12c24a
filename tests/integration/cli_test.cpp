// The `tocsin` command line: exit codes and messages of check, once, version and --help.
#include <gtest/gtest.h>

#include "fixtures/process.hpp"

namespace tocsin::testing {
namespace {

CommandResult tocsin(std::vector<std::string> args) {
  args.insert(args.begin(), TOCSIN_EXECUTABLE);
  return run_command(args);
}

TEST(Cli, CheckPrintsOkForTheBundledConfig) {
  CommandResult r = tocsin({"check", "--config", std::string(TOCSIN_SOURCE_DIR) + "/config/tocsin.yaml"});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("OK: "), std::string::npos) << r.output;
}

TEST(Cli, CheckPrintsEveryErrorWithItsPositionAndExits2) {
  TempDir dir;
  auto path = dir.write(
      "bad.yaml",
      "listen: nowhere\ncollectors:\n  host:\n    - name: a\n      interval: 15x\n      bogus: 1\n");
  CommandResult r = tocsin({"check", "--config", path.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output,
            path.string() +
                ":1:9: listen: invalid address \"nowhere\": expected host:port, e.g. 127.0.0.1:9850\n" +
                path.string() +
                ":5:17: collectors.host[0].interval: invalid duration \"15x\" (use e.g. 500ms, 15s, 5m, "
                "1h30m, 2d)\n" +
                path.string() + ":6:7: collectors.host[0].bogus: unknown key\n");
}

// What the daemon refuses at start, check refuses too: an SLO excluding a time interval nobody defined.
TEST(Cli, CheckRefusesAnSloExcludingAnUndefinedTimeInterval) {
  TempDir dir;
  const auto slos = dir.write("slos.yaml", R"(slos:
  - name: api
    objective: 99.9
    window: 7d
    indicator: { threshold: { expr: 'max(up)', below: 2 } }
    exclude: [nightly-maintenance]
)");
  auto path = dir.write("tocsin.yaml", "rule_files: [slos.yaml]\n");
  CommandResult r = tocsin({"check", "--config", path.string()});
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(r.output,
            slos.string() +
                ":2:5: slos: SLO \"api\" excludes time interval \"nightly-maintenance\", which alerting's "
                "time_intervals do not define\n");
  path = dir.write("tocsin.yaml",
                   "rule_files: [slos.yaml]\ntime_intervals:\n  nightly-maintenance:\n"
                   "    - times: [{start_time: '02:00', end_time: '03:00'}]\n");
  r = tocsin({"check", "--config", path.string()});
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Cli, OncePrintsOneCycleOfMetrics) {
  TempDir dir;
  auto path = dir.write("c.yaml", "collectors:\n  host:\n    - name: h\n");
  CommandResult r = tocsin({"once", "-c", path.string()});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("# TYPE node_cpu_seconds_total counter"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("node_memory_MemTotal_bytes "), std::string::npos);
}

TEST(Cli, VersionHelpAndUsageErrors) {
  // As Prometheus's tools print it: `tocsin --version` and `tocsin version` alike.
  for (const char* word : {"version", "--version"}) {
    CommandResult v = tocsin({word});
    EXPECT_EQ(v.status, 0) << v.output;
    EXPECT_EQ(v.output.rfind("tocsin, version 0.", 0), 0u) << v.output;
    EXPECT_NE(v.output.find(" (branch: "), std::string::npos) << v.output;
    EXPECT_NE(v.output.find(", revision: "), std::string::npos) << v.output;
    for (const char* line : {"\n  build user:", "\n  build date:", "\n  compiler:         GNU 12",
                             "\n  platform:         linux/"}) {
      EXPECT_NE(v.output.find(line), std::string::npos) << line << " in " << v.output;
    }
  }
  for (const char* cmd : {"run", "check", "test", "rules", "once", "alerts", "ack", "silence", "version"}) {
    CommandResult h = tocsin({cmd, "--help"});
    EXPECT_EQ(h.status, 0) << cmd;
    EXPECT_NE(h.output.find(std::string("Usage: tocsin ") + cmd), std::string::npos) << h.output;
  }
  EXPECT_EQ(tocsin({"--help"}).status, 0);
  EXPECT_EQ(tocsin({"-h"}).status, 0);
  CommandResult top_flag = tocsin({"--verbose"});
  EXPECT_EQ(top_flag.status, 2);
  EXPECT_NE(top_flag.output.find("unknown option --verbose"), std::string::npos) << top_flag.output;
  CommandResult run_flag = tocsin({"run", "--bogus"});
  EXPECT_EQ(run_flag.status, 2);
  EXPECT_NE(run_flag.output.find("tocsin run: unknown option --bogus"), std::string::npos) << run_flag.output;
  CommandResult none = tocsin({});
  EXPECT_EQ(none.status, 2);
  CommandResult unknown = tocsin({"frobnicate"});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_NE(unknown.output.find("unknown command \"frobnicate\""), std::string::npos);
  CommandResult bad_option = tocsin({"check", "--confgi", "x"});
  EXPECT_EQ(bad_option.status, 2);
  EXPECT_NE(bad_option.output.find("unknown option --confgi"), std::string::npos);
  CommandResult missing_value = tocsin({"check", "--config"});
  EXPECT_EQ(missing_value.status, 2);
  EXPECT_NE(missing_value.output.find("option --config needs a value"), std::string::npos);
  CommandResult missing_file = tocsin({"check", "--config", "/nonexistent.yaml"});
  EXPECT_EQ(missing_file.status, 2);
  EXPECT_NE(missing_file.output.find("/nonexistent.yaml: cannot read config file"), std::string::npos);
  EXPECT_EQ(tocsin({"run", "--log-format", "xml", "--config", "/x"}).status, 2);
}

// The demo (scripts/demo.sh): the bundled config takes its API token from TOCSIN_API_TOKEN, so
// `tocsin silence` works against it with the same environment; without the token the change is refused.
TEST(Cli, TheDemoConfigsTokenLetsSilenceThrough) {
  TempDir dir;
  const std::string listen = "127.0.0.1:" + std::to_string(free_port());
  ProcessOptions daemon_env;
  daemon_env.env = {"TOCSIN_API_TOKEN=demo-token", "TOCSIN_LISTEN=" + listen,
                    "TOCSIN_STATE_DIR=" + (dir / "state").string()};
  daemon_env.stderr_file = dir / "stderr.log";
  Process daemon(
      {TOCSIN_EXECUTABLE, "run", "--config", std::string(TOCSIN_SOURCE_DIR) + "/config/tocsin.yaml"},
      daemon_env);
  const std::string url = "http://" + listen;
  ASSERT_TRUE(wait_until(
      [&] {
        return !daemon.running() || tocsin({"silence", "list", "--url", url}).status == 0;
      },
      std::chrono::seconds(20)));
  ASSERT_TRUE(daemon.running());
  const std::vector<std::string> add = {TOCSIN_EXECUTABLE, "silence", "add",  "alertname=\"PostgresDown\"",
                                        "--duration",      "1h",      "--by", "demo",
                                        "--url",           url};
  ProcessOptions no_token;
  no_token.env = {"TOCSIN_API_TOKEN="};
  CommandResult refused = run_command(add, no_token);
  EXPECT_NE(refused.status, 0) << refused.output;
  ProcessOptions with_token;
  with_token.env = {"TOCSIN_API_TOKEN=demo-token"};
  CommandResult added = run_command(add, with_token);
  EXPECT_EQ(added.status, 0) << added.output;
  CommandResult listed = tocsin({"silence", "list", "--url", url});
  EXPECT_NE(listed.output.find("alertname=\"PostgresDown\""), std::string::npos) << listed.output;
}

}  // namespace
}  // namespace tocsin::testing
