#include "collectors/cgroup/config.hpp"

#include "collectors/cgroup/parsers.hpp"

namespace tocsin::config {

namespace {

// Globs are relative to the root: a leading or trailing slash is dropped, an empty pattern or a `..`
// segment (which would leave cgroupfs) is refused at the item's position.
void decode_globs(yaml::MapDecoder& map, std::string_view key, std::vector<std::string>& out) {
  auto node = map.get(key);
  if (!node || node->is_null()) return;
  if (!node->is_sequence()) {
    node->error("expected a list of glob patterns, got " + node->kind());
    return;
  }
  for (const yaml::Node& item : node->items()) {
    auto text = item.as_string();
    if (!text) continue;
    std::string glob = std::move(*text);
    while (!glob.empty() && glob.front() == '/') glob.erase(0, 1);
    while (!glob.empty() && glob.back() == '/') glob.pop_back();
    if (auto error = collectors::cgroup::check_glob(glob)) {
      item.error(*error);
      continue;
    }
    out.push_back(std::move(glob));
  }
}

}  // namespace

void decode(const yaml::Node& node, CgroupCollectorConfig& out) {
  yaml::MapDecoder map(node);
  decode_common(map, out.common);
  map.optional("root", out.root);
  map.optional("self_cgroup_file", out.self_cgroup_file);
  decode_globs(map, "patterns", out.patterns);
  decode_globs(map, "units", out.units);
  map.optional("self", out.self);
  if (auto n = map.get("max_cgroups"); n && !n->is_null()) {
    if (auto v = n->as_int()) {
      if (*v < 1 || *v > 100000) {
        n->error("must be between 1 and 100000");
      } else {
        out.max_cgroups = static_cast<std::size_t>(*v);
      }
    }
  }
  map.optional("pressure", out.pressure);
  map.optional("io", out.io);
  map.optional("block_devices_dir", out.block_devices_dir);
  if (auto n = map.get("max_open_files"); n && !n->is_null()) {
    if (auto v = n->as_int()) {
      if (*v < 0 || *v > 1000000) {
        n->error("must be between 0 and 1000000");
      } else {
        out.max_open_files = static_cast<std::size_t>(*v);
      }
    }
  }
  map.finish();
  if (out.root.empty()) node.error("root: must not be empty");
}

}  // namespace tocsin::config
