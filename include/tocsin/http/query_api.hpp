#pragma once
// Prometheus's query API over tocsin's store, so an SRE can try an expression before it goes into
// a rule and Grafana's Prometheus data source can read tocsin directly:
//   GET|POST /api/v1/query         query, time, timeout
//   GET|POST /api/v1/query_range   query, start, end, step, timeout
//   GET|POST /api/v1/series        match[], start, end
//   GET      /api/v1/labels, /api/v1/label/{name}/values
//   GET      /api/v1/metadata, /api/v1/status/buildinfo (add_metadata_routes)
// Responses and errors in Prometheus's JSON shapes (status, data.resultType, data.result, errorType, error).

#include <functional>
#include <string_view>

#include "tocsin/core/clock.hpp"
#include "tocsin/http/query_executor.hpp"
#include "tocsin/http/router.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/store/querier.hpp"
#include "tocsin/store/store.hpp"

namespace tocsin::http {

// `options` is asked on every request (the config can change on reload). `querier` and `clock` must
// outlive the router. With an `executor`, query, query_range, series, labels and label values run on
// it (bounded: a full queue answers 503) and stop when it stops; without, on the worker pool.
void add_query_routes(Router& router, const store::Querier& querier, const Clock& clock,
                      std::function<promql::EngineOptions()> options,
                      std::shared_ptr<QueryExecutor> executor = nullptr);

// The Prometheus version whose HTTP API tocsin's answers: /api/v1/status/buildinfo's `version` says so
// (Grafana enables its features by it), and `tocsinVersion` is tocsin's own.
inline constexpr std::string_view kPrometheusApiVersion = "2.42.0";

// What /api/v1/status/buildinfo reports (Prometheus's field names; Grafana reads `version`).
struct BuildInfo {
  std::string version;
  std::string revision;
  std::string branch;
  std::string build_user;
  std::string build_date;
  std::string go_version;  // the compiler, in Prometheus's field
};

// GET /api/v1/metadata (metric, limit, limit_per_metric): type and help of every family a collector
// described, of the series the store holds now, in Prometheus's shape ({"name": [{"type", "help",
// "unit"}]}; untyped is "unknown"). Families nobody described (recording rules' outputs) are left out,
// as Prometheus has no metadata for them. GET /api/v1/status/buildinfo. `store` must outlive the router.
void add_metadata_routes(Router& router, const store::Store& store, BuildInfo build);

// Parses a time as the API accepts it: Unix seconds with an optional fraction, or RFC 3339.
std::optional<Timestamp> parse_api_time(std::string_view text);
// Parses a duration as the API accepts it: "15s", "1m30s" or seconds ("15", "0.5").
std::optional<Duration> parse_api_duration(std::string_view text);

}  // namespace tocsin::http
