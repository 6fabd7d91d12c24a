#include "collectors/kubelet/config.hpp"

namespace tocsin::config {

namespace {

void decode_tls(const yaml::Node& node, KubeletTlsConfig& out) {
  yaml::MapDecoder map(node);
  map.optional("ca_file", out.ca_file);
  map.optional("server_name", out.server_name);
  map.optional("insecure_skip_verify", out.insecure_skip_verify);
  map.finish();
}

}  // namespace

void decode(const yaml::Node& node, KubeletCollectorConfig& out) {
  yaml::MapDecoder map(node);
  decode_common(map, out.common);
  if (auto n = map.get("url"); n && !n->is_null()) {
    if (decode(*n, out.url)) yaml::check_http_url(*n, out.url, false);
  }
  map.optional("bearer_token_file", out.bearer_token_file);
  if (auto n = map.get("tls"); n && !n->is_null()) decode_tls(*n, out.tls);
  map.positive("request_timeout", out.request_timeout);
  if (auto n = map.get("max_response_bytes"); n && !n->is_null()) {
    long long value = 0;
    if (decode(*n, value)) {
      if (value < 4096) {
        n->error("must be at least 4096");
      } else {
        out.max_response_bytes = static_cast<std::uint64_t>(value);
      }
    }
  }
  map.finish();
}

}  // namespace tocsin::config
