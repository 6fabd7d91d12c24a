#pragma once
// From the config to a libpq connection string: the dsn parsed by libpq itself, the config's own
// keys laid over it, and tocsin's defaults (application_name, connect_timeout, TCP keepalives) where
// neither says anything. What is still missing comes from libpq's PG* environment at connect time.

#include <map>
#include <string>

#include "collectors/postgres/config.hpp"

namespace tocsin::collectors::postgres {

using ConnParams = std::map<std::string, std::string>;

// Throws std::invalid_argument (never quoting the dsn) when libpq cannot parse it.
ConnParams connection_parameters(const config::PostgresTargetConfig& config);

// key='value' pairs, quoted and escaped as libpq reads them.
std::string to_conninfo(const ConnParams& params);

// "host:port/dbname" for messages, filling what the parameters leave out from libpq's defaults
// (PGHOST, PGPORT, PGDATABASE, PGUSER, ...). Never includes the password.
std::string describe(const ConnParams& params);

}  // namespace tocsin::collectors::postgres
