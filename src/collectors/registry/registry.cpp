#include "collectors/registry/registry.hpp"

#include <algorithm>

#include "collectors/cgroup/cgroup.hpp"
#include "collectors/host/host.hpp"
#include "collectors/kubelet/kubelet.hpp"
#include "collectors/postgres/postgres.hpp"
#include "collectors/queues/queues.hpp"
#include "collectors/redis/redis.hpp"
#include "collectors/scrape/scrape.hpp"

namespace tocsin::collectors {

std::span<const Kind* const> registry() {
  static const Kind* const kinds[] = {
      &host_kind(),  &cgroup_kind(), &kubelet_kind(), &postgres_kind(),
      &redis_kind(), &queues_kind(), &scrape_kind(),
  };
  return kinds;
}

const Kind* find_kind(std::string_view name) {
  auto kinds = registry();
  auto it = std::find_if(kinds.begin(), kinds.end(), [&](const Kind* kind) { return kind->name == name; });
  return it == kinds.end() ? nullptr : *it;
}

}  // namespace tocsin::collectors
