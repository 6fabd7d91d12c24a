// The plugin descriptor: decoding instances of a kind (names, static labels and their checks) and the
// identity labels the scheduler adds to every series.
#include "tocsin/collectors/kind.hpp"

#include <gtest/gtest.h>

namespace tocsin::collectors {
namespace {

struct ProbeConfig {
  config::CollectorCommon common{.name = "probe"};
  std::string address;
};

void decode(const yaml::Node& node, ProbeConfig& out) {
  yaml::MapDecoder map(node);
  config::decode_common(map, out.common);
  map.optional("address", out.address);
  map.finish();
}

class ProbeCollector : public Collector {
 public:
  explicit ProbeCollector(const ProbeConfig& config) : name_(config.common.name) {}
  std::string_view kind() const override { return "probe"; }
  const std::string& name() const override { return name_; }
  void collect(const CollectContext&, store::Batch& out) override { out.add("probe_up", {{"port", "1"}}, 1); }

 private:
  std::string name_;
};

std::unique_ptr<Collector> make_probe(const ProbeConfig& config, std::shared_ptr<spdlog::logger>) {
  return std::make_unique<ProbeCollector>(config);
}

constexpr std::string_view kProbeLabels[] = {"port"};
constexpr Kind kProbe = define_kind<ProbeConfig, make_probe>("probe", true, kProbeLabels);
constexpr Kind kHostLike = define_kind<ProbeConfig, make_probe>("hostlike", false, kProbeLabels);

struct Decoded {
  std::vector<Instance> instances;
  std::string errors;
};

Decoded decode_list(const Kind& kind, const std::string& text) {
  yaml::Diagnostics diagnostics;
  YAML::Node doc = yaml::parse_yaml_string(text, "t.yaml", diagnostics);
  yaml::DecodeContext ctx{"t.yaml", "", &diagnostics, yaml::process_environment()};
  Decoded out;
  out.instances =
      decode_instances(kind, yaml::Node(doc, std::string(kind.name), &ctx), std::chrono::seconds(15));
  out.errors = diagnostics.to_string();
  return out;
}

TEST(CollectorKind, DecodesInstancesWithTheirSettingsAndLabels) {
  auto d = decode_list(kProbe, "- {name: a, address: x, labels: {job: api, instance: 'db-1:9100'}}\n- {}\n");
  EXPECT_EQ(d.errors, "");
  ASSERT_EQ(d.instances.size(), 2u);
  EXPECT_EQ(d.instances[0].settings_as<ProbeConfig>().address, "x");
  EXPECT_EQ(d.instances[0].common().name, "a");
  EXPECT_EQ(d.instances[1].common().name, "probe");
  EXPECT_EQ(identity_labels(d.instances[0]).to_string(), R"({instance="db-1:9100", job="api", target="a"})");
  EXPECT_EQ(identity_labels(d.instances[1]).to_string(), R"({target="probe"})");
  EXPECT_THROW(d.instances[0].settings_as<int>(), std::logic_error);
}

TEST(CollectorKind, AKindWithoutTargetLabelAddsOnlyStaticLabels) {
  auto d = decode_list(kHostLike, "- {labels: {job: node}}\n- {name: b}\n");
  ASSERT_EQ(d.instances.size(), 2u);
  EXPECT_EQ(identity_labels(d.instances[0]).to_string(), R"({job="node"})");
  EXPECT_TRUE(identity_labels(d.instances[1]).empty());
  // `target` is free for a kind that does not set it.
  EXPECT_EQ(decode_list(kHostLike, "- {labels: {target: x}}\n").errors, "");
}

TEST(CollectorKind, RefusesBadStaticLabelsAndDuplicateNames) {
  EXPECT_EQ(decode_list(kProbe, "- {labels: {9x: a}}\n").errors,
            "t.yaml:1:12: probe[0].labels: invalid label name \"9x\" (must match [a-zA-Z_][a-zA-Z0-9_]*)\n");
  EXPECT_EQ(decode_list(kProbe, "- {labels: {__meta: a}}\n").errors,
            "t.yaml:1:12: probe[0].labels: label name \"__meta\" is reserved (names starting with __ are "
            "internal)\n");
  EXPECT_EQ(
      decode_list(kProbe, "- {labels: {port: '80'}}\n").errors,
      "t.yaml:1:12: probe[0].labels: label \"port\" is set by the probe collector itself; choose another "
      "name\n");
  EXPECT_EQ(
      decode_list(kProbe, "- {labels: {target: x}}\n").errors,
      "t.yaml:1:12: probe[0].labels: label \"target\" is set by the probe collector itself; choose another "
      "name\n");
  EXPECT_EQ(decode_list(kProbe, "- {name: a}\n- {name: a}\n").errors,
            "t.yaml:2:10: probe[1].name: duplicate probe collector name \"a\" (give each instance a distinct "
            "name)\n");
  EXPECT_EQ(decode_list(kProbe, "{name: a}\n").errors, "t.yaml:1:1: probe: expected a list, got a mapping\n");
}

TEST(CollectorKind, IdentityIsAddedWhereMissingAndNeverOverridesTheCollector) {
  store::Batch batch;
  batch.add("probe_up", {{"port", "1"}}, 1);
  batch.add("probe_up", {{"port", "2"}, {"target", "own"}}, 1);
  batch.add("probe_up", {{"job", "mine"}, {"zone", "z"}}, 1);
  add_identity(batch, Labels{{"job", "api"}, {"target", "a"}});
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch.samples()[0].labels.to_string(), R"(probe_up{job="api", port="1", target="a"})");
  EXPECT_EQ(batch.samples()[1].labels.to_string(), R"(probe_up{job="api", port="2", target="own"})");
  EXPECT_EQ(batch.samples()[2].labels.to_string(), R"(probe_up{job="mine", target="a", zone="z"})");
}

TEST(CollectorKind, MakeSpecTakesTheInstanceIntervalDeadlineAndIdentity) {
  auto d = decode_list(kProbe, "- {name: a, interval: 5s, labels: {job: api}}\n- {name: b, timeout: 2s}\n");
  ASSERT_EQ(d.instances.size(), 2u);
  auto specs = make_specs(d.instances, std::chrono::seconds(15), nullptr);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].interval, std::chrono::seconds(5));
  EXPECT_EQ(specs[0].timeout, std::chrono::seconds(5));
  EXPECT_EQ(specs[0].identity.to_string(), R"({job="api", target="a"})");
  EXPECT_EQ(specs[0].collector->name(), "a");
  EXPECT_EQ(specs[1].interval, std::chrono::seconds(15));
  EXPECT_EQ(specs[1].timeout, std::chrono::seconds(2));
}

}  // namespace
}  // namespace tocsin::collectors
