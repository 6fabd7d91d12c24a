#pragma once
// The status page's "What is slow now" section, read from the store through the PromQL engine:
// the Postgres statements that took the most time in the last window (pg_stat_statements_*; the
// statement text only where the collector's `statements.query_text` put it in a label), the Redis
// slow-log entries of that window by command (the collector never stores their arguments), and
// the queues whose oldest job has waited longest (queues collector).

#include <string>

#include "tocsin/core/duration.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/store/querier.hpp"

namespace tocsin::http {

struct SlowNowOptions {
  Duration window = std::chrono::minutes(5);
  std::size_t rows = 5;  // per table
};

// HTML (an <h2> and tables, already escaped); a table whose series are absent says so. Never
// throws: a query that fails shows its error in place of its table.
std::string render_slow_now(const store::Querier& querier, const promql::EngineOptions& engine, Timestamp now,
                            const SlowNowOptions& options = {});

}  // namespace tocsin::http
