#pragma once
// INFO ALL as metrics under redis_exporter's names, types and labels (1.45, the Debian 12 package):
// a table from INFO fields to families, plus the sections with their own shapes (keyspace,
// commandstats, errorstats, latencystats, replication). Pure: no I/O.

#include <optional>
#include <string_view>
#include <vector>

#include "collectors/redis/parsers.hpp"
#include "tocsin/store/batch.hpp"

namespace tocsin::collectors::redis {

struct InfoMetricsOptions {
  // `databases` from CONFIG GET: every db below it gets redis_db_keys{db} (0 when empty), as the
  // exporter does. nullopt (CONFIG unavailable): 16, Redis's default, as the exporter does.
  std::optional<int> databases;
  // `maxclients` from CONFIG GET, for a Redis older than 7.0 whose INFO lacks it.
  std::optional<double> config_maxclients;
  std::optional<double> config_io_threads;  // `io-threads` from CONFIG GET
  double now_seconds = 0;                   // the cycle's time: start time when INFO lacks server_time_usec
};

// One row of the field table (exposed for docs and tests).
struct InfoFieldMetric {
  std::string_view field;   // INFO field
  std::string_view metric;  // family name
  store::MetricType type;
  double scale;  // multiplies the value (usec -> seconds)
  bool status;   // "ok" -> 1, anything else -> 0 (rdb_last_bgsave_status)
};
const std::vector<InfoFieldMetric>& info_field_metrics();

void add_info_metrics(const Info& info, const InfoMetricsOptions& options, store::Batch& out);

}  // namespace tocsin::collectors::redis
