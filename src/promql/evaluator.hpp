#pragma once
// The evaluator's internals, shared by engine.cpp (selectors, operators, aggregations, the query
// loop) and the function library (functions_<family>.cpp, listed in functions_table.cpp).

#include <chrono>
#include <unordered_map>
#include <vector>

#include "promql/eval_value.hpp"
#include "promql/functions.hpp"
#include "tocsin/promql/engine.hpp"

namespace tocsin::promql::detail {

[[noreturn]] inline void execution_error(const std::string& message) {
  throw QueryError(QueryError::Kind::execution, message);
}

class Evaluator {
 public:
  Evaluator(const store::Querier& querier, const EngineOptions& options, Timestamp start, Timestamp end,
            Duration step);

  // Loads every selection the expression needs for evaluation times in [start, end] at once.
  void prefetch(const Expr& expr);
  EvalValue eval(const Expr& expr, Timestamp t);

  const EngineOptions& options() const { return options_; }
  Timestamp query_start() const { return start_; }
  Timestamp query_end() const { return end_; }
  bool left_open() const { return options_.compat == Compat::prometheus3; }
  void check_deadline() const;
  // Counts `n` more samples held in memory against max_samples, as Prometheus counts currentSamples;
  // `where` ends the error message ("query execution", "subquery evaluation").
  void count_samples(std::size_t n, const char* where);

  // Scratch buffer for functions (quantile_over_time sorts values), reused across calls.
  std::vector<double>& scratch() { return scratch_; }

 private:
  void prefetch(const Expr& expr, Timestamp start, Timestamp end);
  Timestamp resolve_at(const std::optional<AtModifier>& at, Timestamp t) const;
  Vector eval_selector(const VectorSelector& vs, Timestamp t);
  MatrixView eval_matrix(const MatrixSelector& ms, Timestamp t);
  MatrixView eval_subquery(const Subquery& sq, Timestamp t);
  EvalValue eval_binary(const Binary& b, Timestamp t);
  Vector eval_aggregate(const Aggregate& a, Timestamp t);
  // Evaluates the arguments and calls the function the parser resolved (no lookup by name here).
  EvalValue eval_call(const Call& call, Timestamp t);

  const store::Querier& querier_;
  const EngineOptions& options_;
  Timestamp start_, end_;
  Duration step_;
  std::chrono::steady_clock::time_point deadline_;
  std::unordered_map<const VectorSelector*, store::SeriesSet> selections_;
  std::size_t samples_loaded_ = 0;
  std::vector<double> scratch_;
};

// Prometheus's Kahan-Neumaier summation step.
inline void kahan_add(double inc, double& sum, double& c) {
  const double t = sum + inc;
  if (std::isinf(t)) {
    c = 0;
  } else if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

// quantile() over `values` (sorted in place), as Prometheus computes it.
double quantile(double q, std::vector<double>& values);

// `labels` without __name__ (the labels themselves when they have none).
Labels drop_name(const Labels& labels);

// Whether a vector holds two elements with the same label set.
void check_unique_labels(const Vector& v);

}  // namespace tocsin::promql::detail
