#include <utility>

#include "collectors/cgroup/cgroup.hpp"
#include "collectors/cgroup/families.hpp"
#include "collectors/cgroup/reader.hpp"

namespace tocsin::collectors {

namespace {

using store::Batch;
using store::MetricType;

class CgroupCollector final : public Collector {
 public:
  CgroupCollector(const config::CgroupCollectorConfig& config, std::shared_ptr<spdlog::logger> log)
      : name_(config.common.name), limit_(config.max_cgroups), reader_(config, std::move(log)) {}

  std::string_view kind() const override { return "cgroup"; }
  const std::string& name() const override { return name_; }

  void collect(const CollectContext& /*ctx*/, Batch& out) override {
    const std::vector<cgroup::Target> targets = reader_.discover();
    reader_.read(targets, out);
    auto add = [&](const char* name, MetricType type, const char* help, double value) {
      out.describe(name, type, help);
      out.add(Labels::from_sorted({{std::string(kMetricNameLabel), name}}), value);
    };
    add("tocsin_cgroup_cgroups", MetricType::gauge, "Cgroups reported in this cycle.",
        static_cast<double>(targets.size()));
    add("tocsin_cgroup_cgroups_limit", MetricType::gauge,
        "The most cgroups matched by patterns and units reported in a cycle (max_cgroups).",
        static_cast<double>(limit_));
    add("tocsin_cgroup_cgroups_dropped", MetricType::gauge,
        "Cgroups matched by patterns and units beyond max_cgroups, left out in this cycle.",
        static_cast<double>(reader_.dropped()));
    add("tocsin_cgroup_read_errors_total", MetricType::counter,
        "cgroupfs files that could not be read or parsed (missing files are not errors).",
        static_cast<double>(reader_.read_errors()));
  }

 private:
  std::string name_;
  std::size_t limit_;
  cgroup::Reader reader_;
};

}  // namespace

std::unique_ptr<Collector> make_cgroup_collector(const config::CgroupCollectorConfig& config,
                                                 std::shared_ptr<spdlog::logger> log) {
  if (!log) log = std::make_shared<spdlog::logger>("cgroup");
  return std::make_unique<CgroupCollector>(config, std::move(log));
}

const Kind& cgroup_kind() {
  static constexpr Kind kind = define_kind<config::CgroupCollectorConfig, make_cgroup_collector>(
      "cgroup", false, cgroup::kOwnLabels, cgroup::kFamilies);
  return kind;
}

}  // namespace tocsin::collectors
