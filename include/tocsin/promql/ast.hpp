#pragma once
// The PromQL syntax tree. Nodes are immutable after parsing and shared by the rule engine between
// evaluations; evaluation never changes them.

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "tocsin/core/duration.hpp"
#include "tocsin/core/sample.hpp"
#include "tocsin/store/matcher.hpp"

namespace tocsin::promql {

enum class ValueType { scalar, vector, matrix, string };
std::string_view to_string(ValueType type);  // "scalar", "instant vector", "range vector", "string"

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Position {
  std::size_t offset = 0;  // byte offset in the query text
};

enum class BinaryOp { add, sub, mul, div, mod, pow, atan2, eql, neq, gtr, lss, gte, lte, land, lor, lunless };
std::string_view to_string(BinaryOp op);
bool is_comparison(BinaryOp op);
bool is_set_operator(BinaryOp op);

enum class AggregateOp {
  sum,
  avg,
  min,
  max,
  count,
  stddev,
  stdvar,
  topk,
  bottomk,
  quantile,
  count_values,
  group
};
std::string_view to_string(AggregateOp op);

// `@ <time>`, `@ start()`, `@ end()`.
struct AtModifier {
  enum class Kind { timestamp, start, end } kind = Kind::timestamp;
  Timestamp t = 0;
};

struct NumberLiteral {
  double value;
};
struct StringLiteral {
  std::string value;
};
struct VectorSelector {
  std::string name;                      // the metric name, or empty when only matchers are given
  std::vector<store::Matcher> matchers;  // including __name__="name" when a name is given
  Duration offset{0};
  std::optional<AtModifier> at;
};
struct MatrixSelector {
  VectorSelector selector;
  Duration range{0};
};
struct Subquery {
  ExprPtr expr;
  Duration range{0};
  Duration step{0};  // 0: the evaluation's default step
  Duration offset{0};
  std::optional<AtModifier> at;
};
struct Paren {
  ExprPtr expr;
};
struct Unary {
  bool negate;  // false for unary plus
  ExprPtr expr;
};
enum class Cardinality { one_to_one, many_to_one, one_to_many, many_to_many };
struct VectorMatching {
  Cardinality card = Cardinality::one_to_one;
  std::vector<std::string> labels;   // on(...) / ignoring(...), sorted
  bool on = false;                   // labels are the `on` list (else `ignoring`)
  std::vector<std::string> include;  // group_left(...) / group_right(...) extra labels
};
struct Binary {
  BinaryOp op;
  ExprPtr lhs;
  ExprPtr rhs;
  bool return_bool = false;
  std::optional<VectorMatching> matching;  // set when both sides are vectors
};
struct Aggregate {
  AggregateOp op;
  ExprPtr expr;
  ExprPtr param;                      // topk/bottomk/quantile/count_values
  std::vector<std::string> grouping;  // sorted
  bool without = false;
};
struct Function;
struct Call {
  const Function* function;
  std::vector<ExprPtr> args;
};

struct Expr {
  std::variant<NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, Subquery, Paren, Unary, Binary,
               Aggregate, Call>
      node;
  Position pos;
  ValueType type;
};

// The expression in PromQL syntax, normalized (as Prometheus prints it in /api/v1/rules).
std::string to_string(const Expr& expr);

}  // namespace tocsin::promql
