#include "tocsin/collectors/kind.hpp"

#include <algorithm>
#include <set>

namespace tocsin::collectors {

Labels identity_labels(const Instance& instance) {
  std::vector<Label> labels;
  const config::CollectorCommon& common = instance.common();
  for (const auto& [name, value] : common.labels) labels.push_back({name, value});
  if (instance.kind->target_label) labels.push_back({"target", common.name});
  return Labels::from_unsorted(std::move(labels));
}

void add_identity(store::Batch& batch, const Labels& identity) {
  if (identity.empty()) return;
  std::vector<Label> merged;
  for (store::Sample& sample : batch.samples()) {
    // Both sorted by name: one merge, the sample's own label winning a tie.
    merged.clear();
    merged.reserve(sample.labels.size() + identity.size());
    auto own = sample.labels.begin();
    auto extra = identity.begin();
    bool added = false;
    while (own != sample.labels.end() || extra != identity.end()) {
      if (extra == identity.end() || (own != sample.labels.end() && own->name < extra->name)) {
        merged.push_back(*own++);
      } else if (own == sample.labels.end() || extra->name < own->name) {
        merged.push_back(*extra++);
        added = true;
      } else {
        merged.push_back(*own++);
        ++extra;
      }
    }
    if (added) {
      sample.labels = Labels::from_sorted(merged);
      batch.set_labels_cached(false);  // these are new label sets, not the collector's cached ones
    }
  }
}

CollectorSpec make_spec(const Instance& instance, Duration default_interval,
                        std::shared_ptr<spdlog::logger> log) {
  const config::CollectorCommon& common = instance.common();
  const Duration interval = common.interval.value_or(default_interval);
  return CollectorSpec{
      .collector = instance.kind->make(instance.settings.get(), std::move(log)),
      .interval = interval,
      .timeout = common.timeout.value_or(interval),
      .identity = identity_labels(instance),
      .sample_limit = static_cast<std::size_t>(common.sample_limit),
  };
}

std::vector<CollectorSpec> make_specs(std::span<const Instance> instances, Duration default_interval,
                                      const std::shared_ptr<spdlog::logger>& log) {
  std::vector<CollectorSpec> out;
  out.reserve(instances.size());
  for (const Instance& instance : instances) out.push_back(make_spec(instance, default_interval, log));
  return out;
}

std::optional<std::vector<std::string>> family_patterns(const Instance& instance) {
  if (instance.kind->families.empty()) return std::nullopt;
  std::vector<std::string> out(instance.kind->families.begin(), instance.kind->families.end());
  if (instance.kind->settings_families) {
    for (std::string& f : instance.kind->settings_families(instance.settings.get()))
      out.push_back(std::move(f));
  }
  return out;
}

std::vector<Instance> decode_instances(const Kind& kind, const yaml::Node& list, Duration default_interval) {
  std::vector<Instance> out;
  if (list.is_null()) return out;
  if (!list.is_sequence()) {
    list.error("expected a list, got " + list.kind());
    return out;
  }
  std::set<std::string, std::less<>> names;
  for (const yaml::Node& block : list.items()) {
    Instance instance{&kind, kind.decode(block, default_interval), block.position(), block.path()};
    const config::CollectorCommon& common = instance.common();
    // Instance names must be unique per kind: they are the `target` label, label
    // tocsin_collector_* and key the store's writers.
    if (!names.insert(common.name).second) {
      const YAML::Node name = block.is_map() ? block.yaml()["name"] : YAML::Node();
      const yaml::Node at = name ? block.child(name, "name") : block;
      at.error("duplicate " + std::string(kind.name) + " collector name \"" + common.name +
               "\" (give each instance a distinct name)");
    }
    if (!common.labels.empty()) {
      const yaml::Node at = block.child(block.yaml()["labels"], "labels");
      for (const auto& [label, value] : common.labels) {
        const bool own =
            std::find(kind.own_labels.begin(), kind.own_labels.end(), label) != kind.own_labels.end();
        if (own || (kind.target_label && label == "target")) {
          at.error("label \"" + label + "\" is set by the " + std::string(kind.name) +
                   " collector itself; choose another name");
        }
      }
    }
    out.push_back(std::move(instance));
  }
  return out;
}

}  // namespace tocsin::collectors
