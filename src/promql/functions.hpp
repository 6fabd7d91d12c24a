#pragma once
// The table of PromQL functions, shared by the parser and the evaluator. Each function is one entry:
// its name, argument types, return type and the callable that evaluates it. The parser checks a call
// against the entry and stores a pointer to it in the Call node; the evaluator calls through that
// pointer, so nothing is looked up by name after parsing.
//
// The entries live with their family, one file each (functions_math.cpp, functions_over_time.cpp, ...);
// functions_table.cpp merges the families into the one table find_function() searches. Adding a
// function is adding its entry to its family's list.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "promql/eval_value.hpp"
#include "tocsin/promql/ast.hpp"

namespace tocsin::promql {

namespace detail {
class Evaluator;
}  // namespace detail

// Evaluates one call at time `t`. `args` are `call.args` evaluated at `t`, in order, each of the type the
// entry declares (a range vector arrives as a MatrixView); `call` gives the argument expressions themselves
// (absent() reads its selector's matchers). Errors are thrown as QueryError (detail::execution_error).
using FunctionEval = detail::EvalValue (*)(detail::Evaluator& ev, const Call& call,
                                           std::span<const detail::EvalValue> args, Timestamp t);

// A parse-time error in a call's arguments, at `offset` in the query text.
struct ArgumentError {
  std::size_t offset;
  std::string message;
};
// A check of a call's arguments beyond their types, run by the parser once arity and types have passed
// (label_replace() rejects a literal regex that does not compile).
using FunctionCheck = std::optional<ArgumentError> (*)(const std::vector<ExprPtr>& args);

struct Function {
  std::string_view name;
  std::vector<ValueType> args;
  // 0: exactly `args`; n > 0: the last n of `args` are optional; -1: the last may repeat (label_join).
  int variadic;
  ValueType returns;
  FunctionEval eval;
  FunctionCheck check = nullptr;  // nullptr: the types are all there is to check
};

// nullptr when there is no function of that name. The entries live for the whole program.
const Function* find_function(std::string_view name);

// Every function, sorted by name.
std::span<const Function> all_functions();

namespace detail {

// The families, each in its functions_<family>.cpp, in any order. A name appears in one family only
// (the table throws std::logic_error when it is built otherwise).
std::vector<Function> math_functions();       // abs, sqrt, sin, round, clamp, pi, ...
std::vector<Function> rate_functions();       // rate, increase, delta, irate, idelta, deriv, predict_linear
std::vector<Function> over_time_functions();  // *_over_time, changes, resets
std::vector<Function> time_functions();       // time, timestamp, year, month, hour, ...
std::vector<Function> label_functions();      // label_replace, label_join
std::vector<Function> histogram_functions();  // histogram_quantile
std::vector<Function> vector_functions();     // absent, absent_over_time, scalar, vector, sort, sort_desc

}  // namespace detail

}  // namespace tocsin::promql
