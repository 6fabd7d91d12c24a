#include "collectors/host/config.hpp"

namespace tocsin::config {

void decode(const yaml::Node& node, HostCollectorConfig& out) {
  yaml::MapDecoder map(node);
  decode_common(map, out.common);
  map.optional("proc_path", out.proc_path);
  map.optional("mounts_file", out.mounts_file);
  map.optional("mountpoints", out.mountpoints);
  map.optional("pressure", out.pressure);
  map.finish();
}

}  // namespace tocsin::config
