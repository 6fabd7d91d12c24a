#include "tocsin/config/redis.hpp"

namespace tocsin::config {

void decode(const Node& node, RedisTargetConfig& out) {
  MapDecoder map(node);
  decode_common(map, out.common);
  map.optional("address", out.address);
  map.secret("password", out.password);
  map.finish();
}

}  // namespace tocsin::config
