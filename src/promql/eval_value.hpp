#pragma once
// The values an expression evaluates to inside the engine, shared by the evaluator and the function
// table (whose callables take and return them).

#include <memory>
#include <span>
#include <variant>
#include <vector>

#include "tocsin/promql/engine.hpp"

namespace tocsin::promql::detail {

// A range vector during evaluation: spans into the prefetched selection (no copy per point) or into
// storage the view owns (subquery results, selections holding staleness markers).
struct MatrixView {
  struct Entry {
    const Labels* labels;
    std::span<const Point> points;
  };
  std::vector<Entry> series;
  std::vector<std::shared_ptr<const void>> storage;
  Duration range{0};
  Duration offset{0};
  Timestamp at = 0;  // the time the window ends at, before the offset is applied
};

using EvalValue = std::variant<Scalar, Vector, MatrixView, String>;

}  // namespace tocsin::promql::detail
