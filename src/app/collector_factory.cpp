#include "app/collector_factory.hpp"

#include "tocsin/collectors/host.hpp"
#include "tocsin/collectors/postgres.hpp"
#include "tocsin/collectors/redis.hpp"

namespace tocsin::app {

namespace {

template <typename Target>
collectors::CollectorSpec spec(const config::Config& config, const Target& target,
                               std::unique_ptr<collectors::Collector> collector) {
  return {std::move(collector), config::effective_interval(config, target.common),
          config::effective_timeout(config, target.common)};
}

}  // namespace

std::vector<collectors::CollectorSpec> make_collectors(const config::Config& config,
                                                       const std::shared_ptr<spdlog::logger>& log) {
  std::vector<collectors::CollectorSpec> out;
  for (const auto& target : config.collectors.host) {
    out.push_back(spec(config, target, collectors::make_host_collector(target, log)));
  }
  for (const auto& target : config.collectors.postgres) {
    out.push_back(spec(config, target, collectors::make_postgres_collector(target, log)));
  }
  for (const auto& target : config.collectors.redis) {
    out.push_back(spec(config, target, collectors::make_redis_collector(target, log)));
  }
  return out;
}

}  // namespace tocsin::app
