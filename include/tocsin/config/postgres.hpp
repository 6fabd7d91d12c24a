#pragma once
// Configuration of a Postgres collector instance (collectors.postgres[i]).

#include <string>

#include "tocsin/config/common.hpp"

namespace tocsin::config {

struct PostgresTargetConfig {
  CollectorCommon common{.name = "postgres"};
  std::string dsn;  // a libpq connection string or URI; empty fields fall back to libpq's PG* defaults
  Secret password;  // `password` or `password_file`
};
void decode(const Node& node, PostgresTargetConfig& out);

}  // namespace tocsin::config
