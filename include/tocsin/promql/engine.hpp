#pragma once
// Evaluates PromQL expressions over the store's read interface, as Prometheus does: instant queries
// at a time t and range queries over [start, end] by step, with a lookback delta for instant
// selectors, staleness markers, and Prometheus's rules for every operator and function.

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/core/labels.hpp"
#include "tocsin/core/sample.hpp"
#include "tocsin/promql/ast.hpp"
#include "tocsin/store/querier.hpp"

namespace tocsin::promql {

// Which Prometheus the windows follow. 3.x: range and lookback windows are open on the left,
// (t - range, t]; 2.x: closed, [t - range, t] (and 2.x's order of rate() extrapolation steps).
enum class Compat { prometheus3, prometheus2 };
// "prometheus3" / "prometheus2"; nullopt for anything else.
std::optional<Compat> parse_compat(std::string_view text);

struct EngineOptions {
  Duration lookback_delta = std::chrono::minutes(5);
  Compat compat = Compat::prometheus3;
  // Points one query holds in memory: those loaded from the store, subquery points and the points of
  // its result (a range query's output at every step). Prometheus counts the last two kinds
  // (currentSamples); tocsin also holds the loaded points for the query's lifetime, so they count too.
  std::size_t max_samples = 50'000'000;
  std::chrono::milliseconds timeout = std::chrono::minutes(2);
  Duration default_subquery_step = std::chrono::minutes(1);  // `[30m:]`: the rule group's interval
  // When set and true, evaluation stops where it checks its deadline (in every step of a range query
  // and a subquery, in every aggregation) with a QueryError of kind `cancelled`: the query API's
  // executor sets it when tocsin stops. Must outlive the query.
  const std::atomic<bool>* cancelled = nullptr;
};

// An instant-vector element. `t` is the sample's own timestamp for a plain selector (what
// timestamp() returns), the evaluation time otherwise.
struct Sample {
  Labels labels;
  double v;
  Timestamp t;
};
using Vector = std::vector<Sample>;

struct Series {
  Labels labels;
  std::vector<Point> points;
};
using Matrix = std::vector<Series>;

struct Scalar {
  double v;
  Timestamp t;
};
struct String {
  std::string value;
  Timestamp t;
};

using Value = std::variant<Scalar, Vector, Matrix, String>;
ValueType type_of(const Value& value);

// Evaluation failed: many-to-many matching, duplicate label sets, too many samples, timeout.
class QueryError : public std::runtime_error {
 public:
  enum class Kind { execution, timeout, too_many_samples, cancelled };
  QueryError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class Engine {
 public:
  explicit Engine(EngineOptions options = {}) : options_(options) {}
  const EngineOptions& options() const { return options_; }

  // Thread-safe: one engine serves concurrent queries.
  Value instant(const store::Querier& querier, const Expr& expr, Timestamp t) const;
  // For scalar and instant-vector expressions; a scalar becomes one series without labels.
  Matrix range(const store::Querier& querier, const Expr& expr, Timestamp start, Timestamp end,
               Duration step) const;

 private:
  EngineOptions options_;
};

// Sample values as Prometheus's JSON API writes them (jsonutil.MarshalValue): the shortest decimal
// that reads back as `v`, in exponent form when 0 < |v| < 1e-6 or |v| >= 1e21 ("1.5", "1e-07",
// "1e+21", "+Inf", "-Inf", "NaN").
std::string format_value(double v);

}  // namespace tocsin::promql
