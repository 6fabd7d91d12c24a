#pragma once
// The `kubelet` collector: node, pod, container and volume usage from a kubelet's Summary API
// (GET https://NODE:10250/stats/summary), under the names of the kubelet's /metrics/resource and
// cAdvisor where they have one (src/collectors/kubelet/README.md lists every family and its field).

#include <spdlog/logger.h>

#include <memory>

#include "collectors/kubelet/config.hpp"
#include "tocsin/collectors/collector.hpp"
#include "tocsin/collectors/kind.hpp"

namespace tocsin::collectors {

// Never throws for an unreachable kubelet: collect() throws CollectError naming the URL and the cause
// (connect, TLS, 401/403 with the RBAC it needs, a body over max_response_bytes, not a summary).
// Warns once, at construction, when tls.insecure_skip_verify is set.
std::unique_ptr<Collector> make_kubelet_collector(const config::KubeletCollectorConfig& config,
                                                  std::shared_ptr<spdlog::logger> log);

// The plugin: `collectors.kubelet` in the config.
const Kind& kubelet_kind();

}  // namespace tocsin::collectors
