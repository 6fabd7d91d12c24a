#include "tocsin/config/postgres.hpp"

namespace tocsin::config {

void decode(const Node& node, PostgresTargetConfig& out) {
  MapDecoder map(node);
  decode_common(map, out.common);
  map.optional("dsn", out.dsn);
  map.secret("password", out.password);
  map.finish();
}

}  // namespace tocsin::config
