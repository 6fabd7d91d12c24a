// The Summary API converter on documents in the kubelet's format (tests/data/kubelet: a current
// kubelet with swap and a split image filesystem, an older one without them, one with PSI), on broken
// documents, and the config block.
#include "collectors/kubelet/summary.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "collectors/kubelet/config.hpp"
#include "fixtures/config.hpp"
#include "tocsin/config/config.hpp"

namespace tocsin::collectors::kubelet {
namespace {

using store::Batch;
using store::MetricType;

std::string data(const std::string& name) {
  std::ifstream in(std::string(TOCSIN_SOURCE_DIR) + "/tests/data/kubelet/" + name);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

std::optional<double> value(const Batch& batch, const Labels& labels) {
  std::optional<double> found;
  for (const auto& s : batch.samples()) {
    if (s.labels == labels) {
      EXPECT_FALSE(found.has_value()) << "twice: " << labels.to_string();
      found = s.value;
    }
  }
  return found;
}

std::set<std::string> families(const Batch& batch) {
  std::set<std::string> out;
  for (const auto& s : batch.samples()) out.insert(std::string(s.labels.metric_name()));
  return out;
}

std::size_t count(const Batch& batch, std::string_view family) {
  std::size_t n = 0;
  for (const auto& s : batch.samples()) n += s.labels.metric_name() == family;
  return n;
}

const store::FamilyMetadata* metadata(const Batch& batch, std::string_view family) {
  for (const auto& f : batch.families()) {
    if (f.name == family) return &f;
  }
  return nullptr;
}

TEST(KubeletSummary, NodeFromACurrentKubelet) {
  Batch batch;
  SummaryStats stats = convert_summary(data("summary.json"), batch);
  EXPECT_EQ(stats.pods, 3u);
  EXPECT_EQ(stats.containers, 4u);
  EXPECT_EQ(stats.skipped, 0u) << stats.first_skipped;

  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_cpu_usage_seconds_total"}}), 98765.432101234);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_working_set_bytes"}}), 2876542976);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_rss_bytes"}}), 1234567168);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_usage_bytes"}}), 5934006272);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_available_bytes"}}), 5123457024);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_page_faults_total"}}), 123456789);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_major_page_faults_total"}}), 4321);
  EXPECT_EQ(value(batch, {{"__name__", "node_swap_usage_bytes"}}), 0);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_fs_capacity_bytes"}}), 104091082752);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_fs_used_bytes"}}), 42239741952);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_fs_available_bytes"}}), 61834563584);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_fs_inodes"}}), 6463488);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_fs_inodes_free"}}), 5982716);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_fs_inodes_used"}}), 480772);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_imagefs_used_bytes"}}), 8734203904);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_imagefs_inodes_used"}}), 188532);
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_containerfs_used_bytes"}}), 8734203904);
  // systemContainers (kubelet, runtime) are not pods: nothing of theirs is exported.
  EXPECT_EQ(count(batch, "container_cpu_usage_seconds_total"), 4u);

  const auto* cpu = metadata(batch, "node_cpu_usage_seconds_total");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->type, MetricType::counter);
  EXPECT_EQ(metadata(batch, "node_memory_working_set_bytes")->type, MetricType::gauge);
  // Each family is described once, and only families with samples are described.
  std::set<std::string> described;
  for (const auto& f : batch.families()) EXPECT_TRUE(described.insert(f.name).second) << f.name;
  EXPECT_EQ(described, families(batch));
}

TEST(KubeletSummary, PodsContainersNetworkAndVolumes) {
  Batch batch;
  convert_summary(data("summary.json"), batch);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "pod_cpu_usage_seconds_total"},
                                  {"namespace", "shop"},
                                  {"pod", "web-7f9c6b8d54-qm2lx"}}),
                   7222.981);
  EXPECT_EQ(value(batch, {{"__name__", "pod_memory_working_set_bytes"},
                          {"namespace", "kube-system"},
                          {"pod", "coredns-5d78c9869d-7xk2p"}}),
            22945792);
  EXPECT_EQ(value(batch, {{"__name__", "pod_swap_usage_bytes"},
                          {"namespace", "kube-system"},
                          {"pod", "coredns-5d78c9869d-7xk2p"}}),
            0);
  const Labels web = {{"namespace", "shop"}, {"pod", "web-7f9c6b8d54-qm2lx"}};
  auto with = [](Labels base, std::string name, std::vector<Label> more = {}) {
    std::vector<Label> all(base.begin(), base.end());
    all.push_back({"__name__", std::move(name)});
    for (auto& l : more) all.push_back(l);
    return Labels::from_unsorted(std::move(all));
  };
  EXPECT_EQ(value(batch, with(web, "container_network_receive_bytes_total", {{"interface", "eth0"}})),
            9823004112);
  EXPECT_EQ(value(batch, with(web, "container_network_receive_errors_total", {{"interface", "eth0"}})), 2);
  EXPECT_EQ(value(batch, with(web, "container_network_transmit_bytes_total", {{"interface", "eth0"}})),
            14470938221);
  EXPECT_EQ(value(batch, with(web, "container_network_transmit_errors_total", {{"interface", "eth0"}})), 0);
  // The inline default interface is the list's eth0: one series, not two.
  EXPECT_EQ(count(batch, "container_network_receive_bytes_total"), 3u);
  EXPECT_EQ(value(batch, with(web, "kubelet_pod_processes")), 14);
  EXPECT_EQ(value(batch, with(web, "kubelet_pod_ephemeral_storage_used_bytes")), 64983040);
  EXPECT_EQ(value(batch, with(web, "kubelet_pod_ephemeral_storage_capacity_bytes")), 104091082752);
  EXPECT_EQ(value(batch, with(web, "kubelet_pod_ephemeral_storage_inodes_used")), 53);

  auto web_container = [&](std::string name, std::string container) {
    return with(web, std::move(name), {{"container", std::move(container)}});
  };
  EXPECT_DOUBLE_EQ(*value(batch, web_container("container_cpu_usage_seconds_total", "web")), 6820.114);
  EXPECT_EQ(value(batch, web_container("container_memory_working_set_bytes", "web")), 295690240);
  EXPECT_EQ(value(batch, web_container("container_memory_rss", "web")), 251322368);
  EXPECT_EQ(value(batch, web_container("container_memory_usage_bytes", "web")), 301916160);
  EXPECT_EQ(value(batch, web_container("container_memory_working_set_bytes", "istio-proxy")), 56897536);
  EXPECT_EQ(value(batch, web_container("kubelet_container_rootfs_used_bytes", "web")), 3375104);
  EXPECT_EQ(value(batch, web_container("kubelet_container_rootfs_inodes_used", "web")), 41);
  EXPECT_EQ(value(batch, web_container("kubelet_container_logs_used_bytes", "istio-proxy")), 9150464);
  // 2024-05-01T22:41:15.5+02:00 is 20:41:15.5 UTC.
  EXPECT_DOUBLE_EQ(*value(batch, web_container("container_start_time_seconds", "web")), 1714596075.5);
  EXPECT_EQ(value(batch, web_container("container_start_time_seconds", "istio-proxy")), 1714603269);

  // Volumes: only those backed by a PVC, under the kubelet's names; shop-uploads is mounted by two
  // pods and reported once.
  const Labels uploads = {{"namespace", "shop"}, {"persistentvolumeclaim", "shop-uploads"}};
  const Labels data_pvc = {{"namespace", "shop"}, {"persistentvolumeclaim", "data-postgres-0"}};
  EXPECT_EQ(value(batch, with(uploads, "kubelet_volume_stats_used_bytes")), 67108864);
  EXPECT_EQ(value(batch, with(data_pvc, "kubelet_volume_stats_capacity_bytes")), 21003583488);
  EXPECT_EQ(value(batch, with(data_pvc, "kubelet_volume_stats_available_bytes")), 15443968000);
  EXPECT_EQ(value(batch, with(data_pvc, "kubelet_volume_stats_inodes")), 1310720);
  EXPECT_EQ(value(batch, with(data_pvc, "kubelet_volume_stats_inodes_free")), 1310012);
  EXPECT_EQ(value(batch, with(data_pvc, "kubelet_volume_stats_inodes_used")), 708);
  EXPECT_EQ(count(batch, "kubelet_volume_stats_used_bytes"), 2u);
  // No PSI in this kubelet's summary.
  for (const auto& family : families(batch)) EXPECT_EQ(family.find("pressure"), std::string::npos) << family;
}

TEST(KubeletSummary, FieldsAnOlderKubeletLacksAreLeftOut) {
  Batch batch;
  SummaryStats stats = convert_summary(data("summary-old.json"), batch);
  EXPECT_EQ(stats.pods, 2u);
  EXPECT_EQ(stats.containers, 2u);
  EXPECT_EQ(stats.skipped, 0u) << stats.first_skipped;  // absent is not wrong
  const auto present = families(batch);
  for (const char* absent : {"node_swap_usage_bytes", "pod_swap_usage_bytes", "container_swap_usage_bytes",
                             "kubelet_node_containerfs_used_bytes", "kubelet_pod_processes",
                             "kubelet_pod_ephemeral_storage_used_bytes", "kubelet_volume_stats_used_bytes",
                             "kubelet_container_rootfs_used_bytes", "pod_cpu_usage_seconds_total",
                             "kubelet_node_imagefs_inodes", "kubelet_node_imagefs_inodes_free"}) {
    EXPECT_EQ(present.count(absent), 0u) << absent;
  }
  EXPECT_EQ(value(batch, {{"__name__", "kubelet_node_imagefs_inodes_used"}}), 90000);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_working_set_bytes"}}), 1073741824);
  // No `interfaces` list: the inline default interface.
  EXPECT_EQ(value(batch, {{"__name__", "container_network_transmit_bytes_total"},
                          {"interface", "eth0"},
                          {"namespace", "default"},
                          {"pod", "legacy-app-6d4f9"}}),
            2000);
  // A container that has only started: its start time, nothing else.
  const Labels init = {{"__name__", "container_start_time_seconds"},
                       {"container", "init-wait"},
                       {"namespace", "default"},
                       {"pod", "legacy-app-6d4f9"}};
  EXPECT_EQ(value(batch, init), 1615194001);
  EXPECT_EQ(count(batch, "container_cpu_usage_seconds_total"), 1u);
}

TEST(KubeletSummary, PressureWhereTheKubeletReportsIt) {
  Batch batch;
  SummaryStats stats = convert_summary(data("summary-psi.json"), batch);
  EXPECT_EQ(stats.skipped, 0u) << stats.first_skipped;
  // PSI totals are microseconds; some = waiting, full = stalled (node_exporter's and cAdvisor's words).
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_pressure_cpu_waiting_seconds_total"}}), 987.654321);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_pressure_cpu_stalled_seconds_total"}}), 123.456789);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_pressure_memory_stalled_seconds_total"}}), 2);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "node_pressure_io_waiting_seconds_total"}}), 50);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "pod_pressure_cpu_waiting_seconds_total"},
                                  {"namespace", "prod"},
                                  {"pod", "api-0"}}),
                   2.6);
  EXPECT_DOUBLE_EQ(*value(batch, {{"__name__", "container_pressure_cpu_stalled_seconds_total"},
                                  {"container", "api"},
                                  {"namespace", "prod"},
                                  {"pod", "api-0"}}),
                   1.5);
  EXPECT_EQ(value(batch, {{"__name__", "node_swap_usage_bytes"}}), 1048576);
  EXPECT_EQ(value(batch, {{"__name__", "container_swap_usage_bytes"},
                          {"container", "api"},
                          {"namespace", "prod"},
                          {"pod", "api-0"}}),
            4096);
  // The container reports no memory PSI: none is made up.
  EXPECT_EQ(count(batch, "container_pressure_memory_waiting_seconds_total"), 0u);
  EXPECT_EQ(metadata(batch, "node_pressure_io_waiting_seconds_total")->type, MetricType::counter);
}

std::string summary_error(std::string_view text) {
  Batch batch;
  try {
    convert_summary(text, batch);
  } catch (const SummaryError& e) {
    EXPECT_TRUE(batch.empty()) << "samples added before the error";
    return e.what();
  }
  return "no error";
}

TEST(KubeletSummary, BrokenDocumentsAreErrorsThatSayWhere) {
  const std::string whole = data("summary.json");
  const std::string truncated = summary_error(whole.substr(0, whole.size() / 2));
  EXPECT_TRUE(truncated.starts_with("not JSON: parse error at line ")) << truncated;
  EXPECT_NE(truncated.find("unexpected end of input"), std::string::npos) << truncated;
  EXPECT_EQ(summary_error(""),
            "not JSON: parse error at line 1, column 1: syntax error while parsing value - unexpected end of "
            "input; "
            "expected '[', '{', or a literal");
  EXPECT_TRUE(summary_error("<html><body>404 page not found</body></html>")
                  .starts_with("not JSON: parse error at "
                               "line 1, column 1"));
  EXPECT_EQ(summary_error("[1, 2]"), "not a kubelet summary: the document is not a JSON object");
  EXPECT_EQ(summary_error(R"({"kind":"Status","status":"Failure"})"),
            "not a kubelet summary: no \"node\" object");
  EXPECT_EQ(summary_error(R"({"node": [], "pods": []})"), "not a kubelet summary: no \"node\" object");
  EXPECT_EQ(summary_error(R"({"node": {}, "pods": {}})"), "not a kubelet summary: \"pods\" is not a list");
  // Nesting far deeper than any summary: an error or a document, never a crash.
  // The reader stops at 256 levels (a summary has under 10) and says where.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_EQ(summary_error(deep),
            "not JSON: parse error at byte 257: syntax error at byte 257: nested deeper than 256 levels");
  const std::string deep_inside = R"({"node": {"cpu": )" + deep + "}}";
  EXPECT_EQ(summary_error(deep_inside),
            "not JSON: parse error at byte 272: syntax error at byte 272: nested deeper than 256 levels");
  // A huge document of many pods converts (the HTTP body limit is what bounds the size).
  std::string many = R"({"node": {}, "pods": [)";
  for (int i = 0; i < 20000; ++i) {
    if (i > 0) many += ',';
    many += R"({"podRef": {"name": "p)" + std::to_string(i) +
            R"(", "namespace": "n"}, "memory": {"workingSetBytes": 1}})";
  }
  many += "]}";
  Batch big;
  EXPECT_EQ(convert_summary(many, big).pods, 20000u);
  EXPECT_EQ(big.size(), 20000u);
}

TEST(KubeletSummary, FieldsOfTheWrongTypeAreSkippedAndCounted) {
  Batch batch;
  SummaryStats stats = convert_summary(R"({
    "node": {"cpu": {"usageCoreNanoSeconds": "12"}, "memory": {"workingSetBytes": 5, "rssBytes": null}},
    "pods": [
      {"podRef": {"name": "a", "namespace": "n"}, "cpu": 7,
       "containers": [{"name": "c", "startTime": "yesterday", "memory": {"workingSetBytes": 3}}, {"cpu": {}}]},
      {"podRef": {"name": "", "namespace": "n"}},
      {"memory": {"workingSetBytes": 1}},
      17
    ]})",
                                       batch);
  EXPECT_EQ(stats.first_skipped, "node.cpu.usageCoreNanoSeconds");
  // cpu string, pods[0].cpu, startTime, a container without a name, an empty pod name, no podRef, 17.
  EXPECT_EQ(stats.skipped, 7u);
  EXPECT_EQ(stats.pods, 1u);
  EXPECT_EQ(stats.containers, 1u);
  EXPECT_EQ(value(batch, {{"__name__", "node_memory_working_set_bytes"}}), 5);
  EXPECT_EQ(count(batch, "node_memory_rss_bytes"), 0u);  // null is absent (Go's omitempty)
  EXPECT_EQ(value(batch, {{"__name__", "container_memory_working_set_bytes"},
                          {"container", "c"},
                          {"namespace", "n"},
                          {"pod", "a"}}),
            3);
  EXPECT_EQ(batch.size(), 2u);

  Batch second;
  stats = convert_summary(R"({"node": {}, "pods": [{"podRef": {"name": "a", "namespace": "n"},
      "containers": [{"name": "c"}, {"name": "d", "rootfs": {"usedBytes": true}}]}]})",
                          second);
  EXPECT_EQ(stats.first_skipped, "pods[0].containers[1].rootfs.usedBytes");
}

TEST(KubeletSummary, Rfc3339) {
  double s = 0;
  ASSERT_TRUE(parse_rfc3339("1970-01-01T00:00:00Z", s));
  EXPECT_EQ(s, 0);
  ASSERT_TRUE(parse_rfc3339("2024-02-29T23:59:59.125Z", s));
  EXPECT_DOUBLE_EQ(s, 1709251199.125);
  ASSERT_TRUE(parse_rfc3339("2024-03-01T01:00:00+01:00", s));
  EXPECT_EQ(s, 1709251200);
  ASSERT_TRUE(parse_rfc3339("2024-02-29T19:00:00-05:00", s));
  EXPECT_EQ(s, 1709251200);
  for (const char* bad : {"", "2024-02-29", "2024-02-29T23:59:59", "2024-13-01T00:00:00Z",
                          "2024-02-30T00:00:00Z", "2024-02-29T24:00:00Z", "2024-02-29T23:59:59.Z",
                          "2024-02-29T23:59:59Zjunk", "2024-02-29 23:59:59Z", "2024-02-29T23:59:59+0100"}) {
    EXPECT_FALSE(parse_rfc3339(bad, s)) << bad;
  }
}

// --- the config block ----------------------------------------------------------------------------

std::string errors_of(const std::string& block) {
  auto result =
      config::parse_config("collectors:\n  kubelet:\n" + block, "tocsin.yaml",
                           [](const std::string&) -> std::optional<std::string> { return "node-7"; });
  if (auto* d = std::get_if<yaml::Diagnostics>(&result)) return d->to_string();
  return "";
}

config::KubeletCollectorConfig valid(const std::string& block) {
  auto result =
      config::parse_config("collectors:\n  kubelet:\n" + block, "tocsin.yaml",
                           [](const std::string&) -> std::optional<std::string> { return "node-7"; });
  if (auto* d = std::get_if<yaml::Diagnostics>(&result)) {
    ADD_FAILURE() << d->to_string();
    return {};
  }
  return testing::instances<config::KubeletCollectorConfig>(std::get<config::Config>(result)).at(0);
}

TEST(KubeletConfig, DefaultsAreThoseOfAPodInTheCluster) {
  auto c = valid("    - {}\n");
  EXPECT_EQ(c.common.name, "kubelet");
  EXPECT_EQ(c.url, "https://localhost:10250/stats/summary");
  EXPECT_EQ(c.bearer_token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(c.tls.ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  EXPECT_FALSE(c.tls.insecure_skip_verify);
  EXPECT_EQ(c.request_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.max_response_bytes, 64u << 20);

  auto set = valid(
      "    - url: https://${NODE_NAME}:10250/stats/summary\n"
      "      bearer_token_file: \"\"\n"
      "      tls: {ca_file: /etc/kubelet-ca.pem, server_name: node-7.internal, insecure_skip_verify: true}\n"
      "      request_timeout: 3s\n"
      "      max_response_bytes: 1048576\n");
  EXPECT_EQ(set.url, "https://node-7:10250/stats/summary");
  EXPECT_EQ(set.bearer_token_file, "");
  EXPECT_EQ(set.tls.ca_file, "/etc/kubelet-ca.pem");
  EXPECT_EQ(set.tls.server_name, "node-7.internal");
  EXPECT_TRUE(set.tls.insecure_skip_verify);
  EXPECT_EQ(set.request_timeout, std::chrono::seconds(3));
  EXPECT_EQ(set.max_response_bytes, 1048576u);
}

TEST(KubeletConfig, EveryErrorAtItsPosition) {
  EXPECT_EQ(errors_of("    - url: kubelet:10250\n"
                      "      request_timeout: 0s\n"
                      "      max_response_bytes: 100\n"
                      "      tls: {ca: x}\n"
                      "      labels: {pod: x}\n"
                      "      token: x\n"),
            "tocsin.yaml:3:12: collectors.kubelet[0].url: expected an http:// or https:// URL, got "
            "\"kubelet:10250\"\n"
            "tocsin.yaml:4:24: collectors.kubelet[0].request_timeout: must be positive\n"
            "tocsin.yaml:5:27: collectors.kubelet[0].max_response_bytes: must be at least 4096\n"
            "tocsin.yaml:6:13: collectors.kubelet[0].tls.ca: unknown key\n"
            "tocsin.yaml:7:15: collectors.kubelet[0].labels: label \"pod\" is set by the kubelet collector "
            "itself; choose another name\n"
            "tocsin.yaml:8:7: collectors.kubelet[0].token: unknown key\n");
}

}  // namespace
}  // namespace tocsin::collectors::kubelet
