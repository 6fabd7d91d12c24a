#pragma once
// Configuration of a Redis collector instance (collectors.redis[i]).

#include <string>

#include "tocsin/config/common.hpp"

namespace tocsin::config {

struct RedisTargetConfig {
  CollectorCommon common{.name = "redis"};
  std::string address = "127.0.0.1:6379";  // host:port, or a unix socket path
  Secret password;                          // `password` or `password_file`
};
void decode(const Node& node, RedisTargetConfig& out);

}  // namespace tocsin::config
