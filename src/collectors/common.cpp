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

}  // namespace tocsin::config
