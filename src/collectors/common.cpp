#include "tocsin/collectors/common.hpp"

#include "tocsin/core/labels.hpp"

namespace tocsin::config {

void decode_common(yaml::MapDecoder& map, CollectorCommon& out) {
  if (auto name = map.get("name"); name && !name->is_null()) {
    std::string value;
    if (decode(*name, value)) {
      if (value.empty()) {
        name->error("must not be empty");
      } else {
        out.name = std::move(value);
      }
    }
  }
  map.positive("interval", out.interval);
  map.positive("timeout", out.timeout);
  if (auto n = map.get("sample_limit"); n && !n->is_null()) {
    long long v = 0;
    if (decode(*n, v)) {
      if (v < 0) {
        n->error("must not be negative (0 means no limit)");
      } else {
        out.sample_limit = static_cast<std::uint64_t>(v);
      }
    }
  }
  if (auto labels = map.get("labels"); labels && !labels->is_null() && decode(*labels, out.labels)) {
    for (const auto& [label, value] : out.labels) {
      if (!is_valid_label_name(label)) {
        labels->error("invalid label name \"" + label + "\" (must match [a-zA-Z_][a-zA-Z0-9_]*)");
      } else if (label.starts_with("__")) {
        labels->error("label name \"" + label + "\" is reserved (names starting with __ are internal)");
      } else if (value.empty()) {
        labels->error("label \"" + label + "\" has an empty value (an empty value means no label)");
      }
    }
  }
}

void decode_shared(yaml::MapDecoder& map, const CollectorCommon& common, SharedTarget& out) {
  map.optional("shared", out.enabled);
  if (!map.has("lease")) return;
  map.positive("lease", out.lease);
  if (!out.enabled) {
    map.get("lease")->error("a lease is for a shared target: set shared: true, or remove lease");
    return;
  }
  check_shared_lease(map.node(), common, out, Duration{0});
}

void check_shared_lease(const yaml::Node& block, const CollectorCommon& common, const SharedTarget& shared,
                        Duration default_interval) {
  if (!shared.enabled || !shared.lease) return;
  const std::optional<Duration> own = common.interval;
  if (!own && default_interval.count() == 0) return;  // checked again with the top-level interval
  if (own && default_interval.count() != 0) return;   // checked when the block was decoded
  const Duration interval = own.value_or(default_interval);
  const Duration cycle = interval + common.timeout.value_or(interval);
  if (*shared.lease > cycle) return;
  const YAML::Node lease = block.is_map() ? block.yaml()["lease"] : YAML::Node();
  (lease ? block.child(lease, "lease") : block)
      .error("must be longer than the interval plus the timeout (" + format_duration(cycle) +
             (own ? "" : ", from the top-level interval") +
             "): the holder renews its claim once a cycle, and a cycle may take until its deadline");
}

Duration lease_of(const SharedTarget& shared, Duration interval) {
  return shared.lease.value_or(interval * 3);
}

}  // namespace tocsin::config
