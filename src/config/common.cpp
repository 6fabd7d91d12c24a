#include "tocsin/config/common.hpp"

namespace tocsin::config {

void decode_common(MapDecoder& map, CollectorCommon& out) {
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
  map.optional("interval", out.interval);
  map.optional("timeout", out.timeout);
  if (out.interval && out.interval->count() <= 0) map.get("interval")->error("must be positive");
  if (out.timeout && out.timeout->count() <= 0) map.get("timeout")->error("must be positive");
}

}  // namespace tocsin::config
