#pragma once
// Prometheus's query API over tocsin's store, so an SRE can try an expression before it goes into
// a rule and Grafana's Prometheus data source can read tocsin directly:
//   GET|POST /api/v1/query         query, time, timeout
//   GET|POST /api/v1/query_range   query, start, end, step, timeout
//   GET|POST /api/v1/series        match[], start, end
//   GET      /api/v1/labels, /api/v1/label/{name}/values
// Responses and errors in Prometheus's JSON shapes (status, data.resultType, data.result, errorType, error).

#include <functional>

#include "tocsin/core/clock.hpp"
#include "tocsin/http/router.hpp"
#include "tocsin/promql/engine.hpp"
#include "tocsin/store/querier.hpp"

namespace tocsin::http {

// `options` is asked on every request (the config can change on reload). `querier` and `clock` must
// outlive the router.
void add_query_routes(Router& router, const store::Querier& querier, const Clock& clock,
                      std::function<promql::EngineOptions()> options);

// Parses a time as the API accepts it: Unix seconds with an optional fraction, or RFC 3339.
std::optional<Timestamp> parse_api_time(std::string_view text);
// Parses a duration as the API accepts it: "15s", "1m30s" or seconds ("15", "0.5").
std::optional<Duration> parse_api_duration(std::string_view text);

}  // namespace tocsin::http
