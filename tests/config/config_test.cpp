#include "tocsin/config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "collectors/host/config.hpp"
#include "collectors/redis/config.hpp"
#include "collectors/registry/registry.hpp"
#include "fixtures/config.hpp"
#include "fixtures/process.hpp"

namespace tocsin::config {
namespace {

using yaml::Diagnostics;
using yaml::EnvLookup;

using namespace std::chrono_literals;

using testing::env;
using testing::instances;

// Parses and returns every error, one per line; "" when the config is valid.
std::string errors_of(const std::string& yaml, yaml::EnvLookup lookup = env({})) {
  return testing::config_errors(yaml, "config/tocsin.yaml", std::move(lookup));
}

Config valid(const std::string& yaml, yaml::EnvLookup lookup = env({})) {
  return testing::valid_config(yaml, "config/tocsin.yaml", std::move(lookup));
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
  ASSERT_EQ(instances<HostCollectorConfig>(c).size(), 1u);
  EXPECT_EQ(instances<HostCollectorConfig>(c)[0].common.name, "local");
  EXPECT_EQ(effective_interval(c, instances<HostCollectorConfig>(c)[0].common), Duration(5s));
  EXPECT_EQ(effective_timeout(c, instances<HostCollectorConfig>(c)[0].common), Duration(5s));
  EXPECT_EQ(instances<HostCollectorConfig>(c)[0].mountpoints, (std::vector<std::string>{"/", "/var"}));
  EXPECT_EQ(effective_interval(c, instances<RedisTargetConfig>(c)[0].common), Duration(30s));
  EXPECT_EQ(effective_timeout(c, instances<RedisTargetConfig>(c)[0].common), Duration(2s));
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
  EXPECT_EQ(errors_of("log: verbose\n"),
            "config/tocsin.yaml:1:6: log: expected a mapping, got \"verbose\"\n");
  EXPECT_EQ(errors_of("collectors:\n  host:\n    - pressure: maybe\n"),
            "config/tocsin.yaml:3:17: collectors.host[0].pressure: expected true or false, got \"maybe\"\n");
  EXPECT_EQ(errors_of("rule_files: rules/*.yaml\n"),
            "config/tocsin.yaml:1:13: rule_files: expected a list, got \"rules/*.yaml\"\n");
}

TEST(Config, BadAddresses) {
  EXPECT_EQ(errors_of("listen: localhost\n"),
            "config/tocsin.yaml:1:9: listen: invalid address \"localhost\": expected host:port, e.g. "
            "127.0.0.1:9850\n");
  EXPECT_EQ(errors_of("listen: 127.0.0.1:99999\n"),
            "config/tocsin.yaml:1:9: listen: invalid address \"127.0.0.1:99999\": invalid port \"99999\"\n");
  EXPECT_EQ(
      errors_of("listen: \"::1:80\"\n"),
      "config/tocsin.yaml:1:9: listen: invalid address \"::1:80\": an IPv6 address must be in brackets, "
      "e.g. [::1]:9850\n");
}

TEST(Config, BadValues) {
  EXPECT_EQ(
      errors_of("log: { level: loud, format: xml }\n"),
      "config/tocsin.yaml:1:15: log.level: unknown log level \"loud\" (trace, debug, info, warn, error)\n"
      "config/tocsin.yaml:1:29: log.format: unknown log format \"xml\" (text or json)\n");
  EXPECT_EQ(errors_of("interval: 0s\n"), "config/tocsin.yaml:1:11: interval: must be positive\n");
  EXPECT_EQ(errors_of("retention: 10s\n"), "config/tocsin.yaml:1:12: retention: must be at least 1m\n");
  EXPECT_EQ(
      errors_of("collectors:\n  host:\n    - { name: a }\n    - { name: a }\n"),
      "config/tocsin.yaml:4:15: collectors.host[1].name: duplicate host collector name \"a\" (give each "
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
  EXPECT_EQ(valid("external_url: https://tocsin.example:9850/\n").external_url,
            "https://tocsin.example:9850");
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
  Config c = valid(
      "state_dir: ${STATE}/tocsin\ncollectors:\n  redis:\n    - { password: \"${PW}\", address: \"$$HOME\" "
      "}\n",
      env({{"STATE", "/srv"}, {"PW", "s3cret"}}));
  EXPECT_EQ(c.state_dir, "/srv/tocsin");
  EXPECT_EQ(instances<RedisTargetConfig>(c)[0].password.reveal(), "s3cret");
  EXPECT_EQ(instances<RedisTargetConfig>(c)[0].address, "$HOME");
  EXPECT_EQ(valid("state_dir: ${NOPE:-/var/lib/x}\n").state_dir, "/var/lib/x");
  EXPECT_EQ(errors_of("state_dir: ${NOPE}\n"),
            "config/tocsin.yaml:1:12: state_dir: environment variable NOPE is not set\n");
}

TEST(Config, SecretsFromFilesAndNeverInErrors) {
  testing::TempDir dir;
  dir.write("pw", "from-file\n");
  Config c = valid("collectors:\n  redis:\n    - password_file: " + (dir / "pw").string() + "\n");
  EXPECT_EQ(instances<RedisTargetConfig>(c)[0].password.reveal(), "from-file");
  std::ostringstream printed;
  printed << instances<RedisTargetConfig>(c)[0].password;
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

namespace tocsin::config {
namespace {

// Each kind's sample block (src/collectors/<kind>/sample.yaml, linked from its README) is a config
// that loads, so the samples cannot rot.
TEST(Config, EveryCollectorSampleLoads) {
  for (const collectors::Kind* kind : collectors::registry()) {
    const std::string path =
        std::string(TOCSIN_SOURCE_DIR) + "/src/collectors/" + std::string(kind->name) + "/sample.yaml";
    auto result = load_config(path, testing::env({{"PG_PASSWORD", "pw"}, {"REDIS_PASSWORD", "pw"}}));
    if (auto* d = std::get_if<Diagnostics>(&result)) {
      ADD_FAILURE() << path << ":\n" << d->to_string();
      continue;
    }
    const auto& instances = std::get<Config>(result).collectors.instances;
    ASSERT_EQ(instances.size(), 1u) << path;
    EXPECT_EQ(instances[0].kind, kind) << path;
  }
}

TEST(Config, HostLabelsDefaultToTheHostName) {
  Config c = valid("collectors: {}\n");
  ASSERT_FALSE(host_name().empty());
  EXPECT_EQ(c.external_labels, (std::map<std::string, std::string>{{"host", host_name()}}));
  Config named = valid("labels: {host: db-1, region: eu}\n");
  EXPECT_EQ(named.external_labels, (std::map<std::string, std::string>{{"host", "db-1"}, {"region", "eu"}}));
  Config older = valid("external_labels: {region: eu}\n");
  EXPECT_EQ(older.external_labels, (std::map<std::string, std::string>{{"region", "eu"}}));
  EXPECT_EQ(errors_of("labels: {a: b}\nexternal_labels: {c: d}\n"),
            "config/tocsin.yaml:2:18: external_labels: give labels or external_labels (its older name), not "
            "both\n");
  EXPECT_EQ(errors_of("labels: {__x: b}\n"),
            "config/tocsin.yaml:1:9: labels: label name \"__x\" is reserved (names starting with __ are "
            "internal)\n");
}

TEST(Config, CollectorLabelsAreCheckedAgainstWhatTheCollectorSets) {
  Config c = valid("collectors:\n  postgres:\n    - labels: {job: postgres, instance: 'db-1:5432'}\n");
  ASSERT_EQ(c.collectors.instances.size(), 1u);
  EXPECT_EQ(collectors::identity_labels(c.collectors.instances[0]).to_string(),
            R"({instance="db-1:5432", job="postgres", target="postgres"})");
  EXPECT_EQ(
      errors_of("collectors:\n  postgres:\n    - labels: {datname: x}\n"),
      "config/tocsin.yaml:3:15: collectors.postgres[0].labels: label \"datname\" is set by the postgres "
      "collector itself; choose another name\n");
  EXPECT_EQ(errors_of("collectors:\n  host:\n    - labels: {cpu: x}\n"),
            "config/tocsin.yaml:3:15: collectors.host[0].labels: label \"cpu\" is set by the host collector "
            "itself; "
            "choose another name\n");
  EXPECT_EQ(errors_of("collectors:\n  nosuchkind:\n    - {}\n"),
            "config/tocsin.yaml:2:3: collectors.nosuchkind: unknown key\n");
}

}  // namespace
}  // namespace tocsin::config
