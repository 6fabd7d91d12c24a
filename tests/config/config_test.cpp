#include "tocsin/config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "fixtures/process.hpp"

namespace tocsin::config {
namespace {

using namespace std::chrono_literals;

EnvLookup env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Parses and returns every error, one per line; "" when the config is valid.
std::string errors_of(const std::string& yaml, EnvLookup lookup = env({})) {
  auto result = parse_config(yaml, "config/tocsin.yaml", std::move(lookup));
  if (auto* d = std::get_if<Diagnostics>(&result)) return d->to_string();
  return "";
}

Config valid(const std::string& yaml, EnvLookup lookup = env({})) {
  auto result = parse_config(yaml, "config/tocsin.yaml", std::move(lookup));
  if (auto* d = std::get_if<Diagnostics>(&result)) ADD_FAILURE() << d->to_string();
  return std::get<Config>(std::move(result));
}

TEST(Config, DefaultsWhenKeysAreLeftOut) {
  Config c = valid("collectors: {}\n");
  EXPECT_EQ(c.listen.to_string(), "127.0.0.1:9850");
  EXPECT_EQ(c.interval, Duration(15s));
  EXPECT_EQ(c.retention, Duration(1h));
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "text");
}

TEST(Config, ReadsEveryTopLevelKey) {
  Config c = valid(R"(listen: "[::1]:9999"
interval: 30s
retention: 2h
state_dir: /tmp/state
log: { level: debug, format: json }
rule_files: ["rules/*.yaml"]
collectors:
  host:
    - { name: local, interval: 5s, mountpoints: ["/", "/var"] }
  redis:
    - { name: cache, address: "127.0.0.1:6380", timeout: 2s }
)");
  EXPECT_EQ(c.listen.host, "::1");
  EXPECT_EQ(c.listen.port, 9999);
  EXPECT_EQ(c.listen.to_string(), "[::1]:9999");
  EXPECT_EQ(c.retention, Duration(2h));
  EXPECT_EQ(c.log.format, "json");
  ASSERT_EQ(c.collectors.host.size(), 1u);
  EXPECT_EQ(c.collectors.host[0].common.name, "local");
  EXPECT_EQ(effective_interval(c, c.collectors.host[0].common), Duration(5s));
  EXPECT_EQ(effective_timeout(c, c.collectors.host[0].common), Duration(5s));
  EXPECT_EQ(c.collectors.host[0].mountpoints, (std::vector<std::string>{"/", "/var"}));
  EXPECT_EQ(effective_interval(c, c.collectors.redis[0].common), Duration(30s));
  EXPECT_EQ(effective_timeout(c, c.collectors.redis[0].common), Duration(2s));
  EXPECT_EQ(c.rule_files, (std::vector<std::string>{"rules/*.yaml"}));
  EXPECT_EQ(c.base_dir, "config");
}

TEST(Config, BadDurationNamesFileLineColumnAndKeyPath) {
  EXPECT_EQ(errors_of("collectors:\n  redis:\n    - name: a\n      interval: 15x\n"),
            "config/tocsin.yaml:4:17: collectors.redis[0].interval: invalid duration \"15x\" "
            "(use e.g. 500ms, 15s, 5m, 1h30m, 2d)\n");
}

TEST(Config, UnknownKeysAreReportedWhereTheyStand) {
  EXPECT_EQ(errors_of("listen: 127.0.0.1:1\nintervall: 5s\ncollectors:\n  host:\n    - { nmae: x }\n"),
            "config/tocsin.yaml:2:1: intervall: unknown key\n"
            "config/tocsin.yaml:5:9: collectors.host[0].nmae: unknown key\n");
}

TEST(Config, WrongTypes) {
  EXPECT_EQ(errors_of("collectors:\n  host: { name: x }\n"),
            "config/tocsin.yaml:2:9: collectors.host: expected a list, got a mapping\n");
  EXPECT_EQ(errors_of("log: verbose\n"), "config/tocsin.yaml:1:6: log: expected a mapping, got \"verbose\"\n");
  EXPECT_EQ(errors_of("collectors:\n  host:\n    - pressure: maybe\n"),
            "config/tocsin.yaml:3:17: collectors.host[0].pressure: expected true or false, got \"maybe\"\n");
  EXPECT_EQ(errors_of("rule_files: rules/*.yaml\n"),
            "config/tocsin.yaml:1:13: rule_files: expected a list, got \"rules/*.yaml\"\n");
}

TEST(Config, BadAddresses) {
  EXPECT_EQ(errors_of("listen: localhost\n"),
            "config/tocsin.yaml:1:9: listen: invalid address \"localhost\": expected host:port, e.g. 127.0.0.1:9850\n");
  EXPECT_EQ(errors_of("listen: 127.0.0.1:99999\n"),
            "config/tocsin.yaml:1:9: listen: invalid address \"127.0.0.1:99999\": invalid port \"99999\"\n");
  EXPECT_EQ(errors_of("listen: \"::1:80\"\n"),
            "config/tocsin.yaml:1:9: listen: invalid address \"::1:80\": an IPv6 address must be in brackets, "
            "e.g. [::1]:9850\n");
}

TEST(Config, BadValues) {
  EXPECT_EQ(errors_of("log: { level: loud, format: xml }\n"),
            "config/tocsin.yaml:1:15: log.level: unknown log level \"loud\" (trace, debug, info, warn, error)\n"
            "config/tocsin.yaml:1:29: log.format: unknown log format \"xml\" (text or json)\n");
  EXPECT_EQ(errors_of("interval: 0s\n"), "config/tocsin.yaml:1:11: interval: must be positive\n");
  EXPECT_EQ(errors_of("retention: 10s\n"), "config/tocsin.yaml:1:12: retention: must be at least 1m\n");
  EXPECT_EQ(errors_of("collectors:\n  host:\n    - { name: a }\n    - { name: a }\n"),
            "config/tocsin.yaml:2:3: collectors.host[1].name: duplicate host collector name \"a\" (give each "
            "instance a distinct name)\n");
}

TEST(Config, QueryEngineLimits) {
  Config defaults = valid("collectors: {}\n");
  EXPECT_EQ(defaults.query.lookback_delta, Duration(5min));
  EXPECT_EQ(defaults.query.timeout, Duration(2min));
  EXPECT_EQ(defaults.query.max_samples, 50'000'000);
  Config c = valid("query: { lookback_delta: 10m, timeout: 30s, max_samples: 1000000 }\n");
  EXPECT_EQ(c.query.lookback_delta, Duration(10min));
  EXPECT_EQ(c.query.timeout, Duration(30s));
  EXPECT_EQ(c.query.max_samples, 1'000'000);
  EXPECT_EQ(errors_of("query: { lookback_delta: 0s, timeout: 0s, max_samples: 0 }\n"),
            "config/tocsin.yaml:1:26: query.lookback_delta: must be positive\n"
            "config/tocsin.yaml:1:39: query.timeout: must be positive\n"
            "config/tocsin.yaml:1:56: query.max_samples: must be at least 1\n");
  EXPECT_EQ(errors_of("query: { lookback: 5m }\n"), "config/tocsin.yaml:1:10: query.lookback: unknown key\n");
}

TEST(Config, ExternalUrlIsAnHttpUrlWithoutTrailingSlash) {
  EXPECT_EQ(valid("external_url: https://tocsin.example:9850/\n").external_url, "https://tocsin.example:9850");
  EXPECT_EQ(valid("external_url: http://10.0.0.5/tocsin\n").external_url, "http://10.0.0.5/tocsin");
  EXPECT_EQ(errors_of("external_url: tocsin.example:9850\n"),
            "config/tocsin.yaml:1:15: external_url: expected an http:// or https:// URL, got "
            "\"tocsin.example:9850\"\n");
  EXPECT_EQ(errors_of("external_url: \"https://:9850\"\n"),
            "config/tocsin.yaml:1:15: external_url: URL has no host: \"https://:9850\"\n");
}

TEST(Config, EveryErrorIsReportedAtOnce) {
  std::string errors = errors_of("interval: 1q\nretention: x\nlisten: nope\nbogus: 1\n");
  EXPECT_EQ(std::count(errors.begin(), errors.end(), '\n'), 4) << errors;
}

TEST(Config, SyntaxErrorsHavePositions) {
  EXPECT_EQ(errors_of("collectors:\n  host: [\n"),
            "config/tocsin.yaml:3:1: YAML syntax error: end of sequence flow not found\n");
  EXPECT_EQ(errors_of(""), "config/tocsin.yaml:1:1: the config file is empty\n");
}

TEST(Config, EnvironmentExpansion) {
  Config c = valid("state_dir: ${STATE}/tocsin\ncollectors:\n  redis:\n    - { password: \"${PW}\", address: \"$$HOME\" }\n",
                   env({{"STATE", "/srv"}, {"PW", "s3cret"}}));
  EXPECT_EQ(c.state_dir, "/srv/tocsin");
  EXPECT_EQ(c.collectors.redis[0].password.reveal(), "s3cret");
  EXPECT_EQ(c.collectors.redis[0].address, "$HOME");
  EXPECT_EQ(valid("state_dir: ${NOPE:-/var/lib/x}\n").state_dir, "/var/lib/x");
  EXPECT_EQ(errors_of("state_dir: ${NOPE}\n"),
            "config/tocsin.yaml:1:12: state_dir: environment variable NOPE is not set\n");
}

TEST(Config, SecretsFromFilesAndNeverInErrors) {
  testing::TempDir dir;
  dir.write("pw", "from-file\n");
  Config c = valid("collectors:\n  redis:\n    - password_file: " + (dir / "pw").string() + "\n");
  EXPECT_EQ(c.collectors.redis[0].password.reveal(), "from-file");
  std::ostringstream printed;
  printed << c.collectors.redis[0].password;
  EXPECT_EQ(printed.str(), "<secret>");

  std::string both = errors_of("collectors:\n  redis:\n    - { password: hunter2, password_file: /x }\n");
  EXPECT_NE(both.find("give either password or password_file, not both"), std::string::npos) << both;
  EXPECT_EQ(both.find("hunter2"), std::string::npos);
  std::string wrong_type = errors_of("collectors:\n  redis:\n    - { password: [hunter2] }\n");
  EXPECT_EQ(wrong_type.find("hunter2"), std::string::npos) << wrong_type;
  std::string missing = errors_of("collectors:\n  redis:\n    - { password_file: /nonexistent/pw }\n");
  EXPECT_NE(missing.find("cannot read /nonexistent/pw"), std::string::npos) << missing;
}

TEST(Config, TheBundledConfigIsValid) {
  auto result = load_config(std::string(TOCSIN_SOURCE_DIR) + "/config/tocsin.yaml", env({}));
  if (auto* d = std::get_if<Diagnostics>(&result)) FAIL() << d->to_string();
}

TEST(Config, UnreadableFile) {
  auto result = load_config("/nonexistent/tocsin.yaml");
  ASSERT_TRUE(std::holds_alternative<Diagnostics>(result));
  EXPECT_EQ(std::get<Diagnostics>(result).to_string(),
            "/nonexistent/tocsin.yaml: cannot read config file: No such file or directory\n");
}

}  // namespace
}  // namespace tocsin::config
