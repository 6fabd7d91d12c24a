// The `remote_write:` list: Prometheus's keys and defaults, and every mistake reported at its
// position.
#include "fixtures/config.hpp"

#include <gtest/gtest.h>

#include "fixtures/process.hpp"
#include "remote_write/relabel_rules.hpp"
#include "tocsin/config/config.hpp"

namespace tocsin::remote_write {
namespace {

using namespace std::chrono_literals;

TEST(RemoteWriteConfig, PrometheusKeysAndDefaults) {
  testing::TempDir dir("tocsin-rw-config");
  dir.write("password", "s3cret\n");
  dir.write("token", "tok\n");
  const auto file = (dir / "tocsin.yaml").string();
  auto c = testing::valid_config(
      "remote_write:\n"
      "  - url: https://mimir.example:9009/api/v1/push\n"
      "    name: mimir\n"
      "    remote_timeout: 10s\n"
      "    headers: {X-Scope-OrgID: team-a}\n"
      "    basic_auth: {username: u, password_file: password}\n"
      "    tls_config: {ca_file: ca.pem, insecure_skip_verify: true}\n"
      "    write_relabel_configs:\n"
      "      - source_labels: [__name__]\n"
      "        regex: 'go_.*'\n"
      "        action: drop\n"
      "    queue_config:\n"
      "      capacity: 10000\n"
      "      max_shards: 50\n"
      "      max_samples_per_send: 2000\n"
      "      batch_send_deadline: 10s\n"
      "      min_backoff: 100ms\n"
      "      max_backoff: 10s\n"
      "      retry_on_http_429: true\n"
      "  - url: http://127.0.0.1:9090/api/v1/write\n"
      "    authorization: {credentials_file: token}\n",
      file);
  ASSERT_EQ(c.remote_write.size(), 2u);
  const auto& m = c.remote_write[0];
  EXPECT_EQ(m.name, "mimir");
  EXPECT_EQ(m.url, "https://mimir.example:9009/api/v1/push");
  EXPECT_EQ(m.remote_timeout, Duration(10s));
  EXPECT_EQ(m.headers.at("X-Scope-OrgID"), "team-a");
  EXPECT_TRUE(m.basic_auth);
  EXPECT_EQ(m.basic_auth_username, "u");
  EXPECT_EQ(m.basic_auth_password.reveal(), "s3cret");
  EXPECT_EQ(m.tls.ca_file, (dir / "ca.pem").string());
  EXPECT_TRUE(m.tls.insecure_skip_verify);
  EXPECT_EQ(m.write_relabel_configs->rules.size(), 1u);
  EXPECT_EQ(m.queue_config.capacity, 10000u);
  EXPECT_EQ(m.queue_config.max_shards, 50);
  EXPECT_EQ(m.queue_config.max_samples_per_send, 2000u);
  EXPECT_EQ(m.queue_config.batch_send_deadline, Duration(10s));
  EXPECT_EQ(m.queue_config.min_backoff, Duration(100ms));
  EXPECT_EQ(m.queue_config.max_backoff, Duration(10s));
  EXPECT_TRUE(m.queue_config.retry_on_http_429);
  const auto& p = c.remote_write[1];
  EXPECT_EQ(p.name.size(), 6u);  // a hash of the url, as Prometheus names an unnamed queue
  EXPECT_EQ(p.authorization_type, "Bearer");
  EXPECT_EQ(p.authorization_credentials.reveal(), "tok");
  // Prometheus 2.42's defaults.
  EXPECT_EQ(p.remote_timeout, Duration(30s));
  EXPECT_EQ(p.queue_config.capacity, 2500u);
  EXPECT_EQ(p.queue_config.max_shards, 200);
  EXPECT_EQ(p.queue_config.max_samples_per_send, 500u);
  EXPECT_EQ(p.queue_config.batch_send_deadline, Duration(5s));
  EXPECT_EQ(p.queue_config.min_backoff, Duration(30ms));
  EXPECT_EQ(p.queue_config.max_backoff, Duration(5s));
  EXPECT_FALSE(p.queue_config.retry_on_http_429);
  EXPECT_TRUE(p.write_relabel_configs->rules.empty());
}

TEST(RemoteWriteConfig, EveryMistakeAtItsPosition) {
  EXPECT_EQ(
      testing::config_errors("remote_write:\n"
                             "  - url: ftp://x\n"
                             "    remote_timout: 5s\n"
                             "    headers: {Content-Type: text/plain}\n"
                             "    queue_config:\n"
                             "      capacity: 0\n"
                             "      max_backoff: 1ms\n"
                             "      retries: 3\n"
                             "    write_relabel_configs:\n"
                             "      - action: nope\n"
                             "      - regex: '(['\n"
                             "  - name: b\n"
                             "  - url: http://a/w\n"
                             "    basic_auth: {username: u, password: p}\n"
                             "    authorization: {credentials: t}\n",
                             "tocsin.yaml"),
      "tocsin.yaml:2:10: remote_write[0].url: expected an http:// or https:// URL, got \"ftp://x\"\n"
      "tocsin.yaml:3:5: remote_write[0].remote_timout: unknown key\n"
      "tocsin.yaml:4:14: remote_write[0].headers: Content-Type is a reserved header. It must not be changed\n"
      "tocsin.yaml:6:17: remote_write[0].queue_config.capacity: must be at least 1\n"
      "tocsin.yaml:7:20: remote_write[0].queue_config.max_backoff: min_backoff must not be longer than "
      "max_backoff\n"
      "tocsin.yaml:8:7: remote_write[0].queue_config.retries: unknown key\n"
      "tocsin.yaml:10:17: remote_write[0].write_relabel_configs[0].action: unknown relabel action \"nope\" "
      "(replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase, "
      "uppercase)\n"
      "tocsin.yaml:11:9: remote_write[0].write_relabel_configs[1]: invalid regex \"([\": missing ]: [)$\n"
      "tocsin.yaml:12:5: remote_write[1].url: missing required key\n"
      "tocsin.yaml:15:20: remote_write[2].authorization: at most one of basic_auth and authorization must be "
      "configured\n");
}

}  // namespace
}  // namespace tocsin::remote_write
