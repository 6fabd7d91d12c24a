// The real daemon remote-writing to a real Prometheus 2.42 (--web.enable-remote-write-receiver):
// every point tocsin stored over a window is in Prometheus, with the external labels and the same
// values, including the points collected while Prometheus was stopped (queued on disk, sent in
// order when it was back: Prometheus refuses out-of-order samples, and nothing was refused).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "fixtures/process.hpp"
#include "integration/daemon_fixture.hpp"
#include "tocsin/net/http_client.hpp"

namespace tocsin::testing {
namespace {

using namespace std::chrono_literals;

class PrometheusReceiver {
 public:
  explicit PrometheusReceiver(std::string executable)
      : executable_(std::move(executable)), port_(free_port()) {
    dir_.write("prometheus.yml", "global: {}\n");
    start();
  }
  void start() {
    ProcessOptions options;
    options.stdout_file = dir_ / "prometheus.log";
    options.stderr_file = dir_ / "prometheus.log";
    process_ = std::make_unique<Process>(
        std::vector<std::string>{executable_, "--config.file=" + (dir_ / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir_ / "data").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--web.enable-remote-write-receiver"},
        options);
  }
  void stop() { process_->stop(10s); }
  bool ready() { return query_status("/-/ready") == 200; }
  int port() const { return port_; }
  std::string write_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/write"; }
  int query_status(const std::string& target) {
    net::HttpClient client;
    net::HttpRequest r;
    r.method = "GET";
    r.url = "http://127.0.0.1:" + std::to_string(port_) + target;
    return client.send(r).status;
  }

 private:
  std::string executable_;
  TempDir dir_{"tocsin-rw-prom"};
  int port_;
  std::unique_ptr<Process> process_;
};

// GET on 127.0.0.1:port (chunked replies read by tocsin_net's client).
nlohmann::json get_json(int port, const std::string& target) {
  net::HttpClient client;
  net::HttpRequest r;
  r.method = "GET";
  r.url = "http://127.0.0.1:" + std::to_string(port) + target;
  r.max_body_bytes = 64u << 20;
  auto response = client.send(r);
  if (response.status != 200) return nullptr;
  return nlohmann::json::parse(response.body, nullptr, false);
}

std::string encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// series (labels but those left out) -> its points as "t_ms=value".
using Points = std::map<std::string, std::vector<std::string>>;
Points matrix(const nlohmann::json& body, const std::set<std::string>& leave_out) {
  Points out;
  if (body.is_null() || body.is_discarded()) return out;
  for (const auto& s : body["data"]["result"]) {
    std::string key;
    for (const auto& [name, value] : s["metric"].items()) {
      if (!leave_out.contains(name)) key += name + "=" + value.get<std::string>() + ",";
    }
    auto& points = out[key];
    for (const auto& p : s["values"]) {
      points.push_back(std::to_string(std::llround(p[0].get<double>() * 1000)) + "=" +
                       p[1].get<std::string>());
    }
  }
  return out;
}

double metric_value(const Daemon& daemon, const std::string& name) {
  const std::string body = daemon.get("/metrics").body;
  std::regex re("\\n" + name + "(\\{[^}]*\\})? ([^\\n]+)");
  std::smatch m;
  if (!std::regex_search(body, m, re)) return -1;
  return std::stod(m[2]);
}

TEST(RemoteWritePrometheus, EverySampleLandsInPrometheusAcrossAReceiverOutage) {
  auto prometheus = find_executable("prometheus");
  if (!prometheus) GTEST_SKIP() << "prometheus is not installed";
  PrometheusReceiver receiver(*prometheus);
  ASSERT_TRUE(wait_until([&] { return receiver.ready(); }, 30s)) << "Prometheus did not start";

  Daemon daemon(
      "interval: 1s\n"
      "labels: {host: rw-test, dc: lab}\n"
      "collectors:\n"
      "  host:\n"
      "    - name: local\n"
      "remote_write:\n"
      "  - url: " +
      receiver.write_url() +
      "\n"
      "    name: prom\n"
      "    queue_config: {batch_send_deadline: 500ms, min_backoff: 50ms, max_backoff: 1s,"
      " max_samples_per_send: 200}\n");
  ASSERT_TRUE(daemon.wait_ready()) << daemon.log();
  const auto began = std::chrono::system_clock::now();
  ASSERT_TRUE(
      wait_until([&] { return metric_value(daemon, "prometheus_remote_storage_samples_total") > 500; }, 20s))
      << daemon.log();

  // The receiver goes away for 15 s: ten times max_backoff, every batch meanwhile on disk.
  receiver.stop();
  std::this_thread::sleep_for(15s);
  EXPECT_GT(metric_value(daemon, "tocsin_remote_storage_disk_queue_requests"), 3);
  EXPECT_GT(metric_value(daemon, "prometheus_remote_storage_samples_retried_total"), 0);
  receiver.start();
  ASSERT_TRUE(wait_until([&] { return receiver.ready(); }, 30s));
  const auto checked_until = std::chrono::system_clock::now();
  const double until_s = std::chrono::duration<double>(checked_until.time_since_epoch()).count();
  // Everything up to then has been sent (one sender, in order) once a later sample has.
  ASSERT_TRUE(wait_until(
      [&] {
        return metric_value(daemon, "prometheus_remote_storage_queue_highest_sent_timestamp_seconds") >
                   until_s + 2 &&
               metric_value(daemon, "tocsin_remote_storage_disk_queue_requests") == 0;
      },
      30s))
      << daemon.log();

  // Both at the same instant over the same window, tocsin's store against Prometheus's.
  const long long at_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(checked_until.time_since_epoch()).count();
  const long long window_s =
      std::chrono::duration_cast<std::chrono::seconds>(checked_until - began).count() + 5;
  char at[32];
  std::snprintf(at, sizeof at, "%lld.%03lld", at_ms / 1000, at_ms % 1000);
  const std::string range = "[" + std::to_string(window_s) + "s]";
  const Points ours = matrix(get_json(daemon.port(), "/api/v1/query?time=" + std::string(at) +
                                                         "&query=" + encode("{__name__=~\".+\"}" + range)),
                             {});
  const Points theirs = matrix(get_json(receiver.port(), "/api/v1/query?time=" + std::string(at) + "&query=" +
                                                             encode("{host=\"rw-test\"}" + range)),
                               {"host", "dc"});
  ASSERT_GT(ours.size(), 50u);
  std::size_t points = 0;
  for (const auto& [series, values] : ours) {
    SCOPED_TRACE(series);
    auto it = theirs.find(series);
    ASSERT_NE(it, theirs.end()) << "not in Prometheus";
    EXPECT_EQ(it->second, values);
    points += values.size();
  }
  EXPECT_EQ(theirs.size(), ours.size());
  EXPECT_GT(points, ours.size() * 15);  // the outage's points among them
  // Every label set carries the external labels.
  const auto unlabelled = get_json(receiver.port(), "/api/v1/query?time=" + std::string(at) + "&query=" +
                                                        encode("count({__name__=~\".+\", dc!=\"lab\"})"));
  ASSERT_TRUE(unlabelled.is_object()) << "the query failed";
  EXPECT_TRUE(unlabelled["data"]["result"].empty()) << unlabelled.dump();
  std::printf("%zu series, %zu points compared over %llds, the outage's included\n", ours.size(), points,
              window_s);
  EXPECT_EQ(metric_value(daemon, "prometheus_remote_storage_samples_failed_total"), 0);
  EXPECT_EQ(metric_value(daemon, "tocsin_remote_storage_queue_dropped_samples_total"), 0);
}

}  // namespace
}  // namespace tocsin::testing
